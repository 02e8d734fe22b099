//! ShompOS's memory module in user space: keys 1-9 allocate, a q w e r t y
//! u i free, p prints the free lists, on a 1 KiB buddy heap (the kernel's
//! own playground code) whose buffer comes from this process's heap (the
//! buddy heap over sbrk). x or Esc quits; Ctrl+C kills. In the background
//! it sleeps until killed (the keyboard belongs to the foreground).

#![no_std]
#![no_main]

extern crate alloc;

use cairn::mm::heap::playground::{DEFAULT_MAX_SCALE, Playground, buffer_bytes};
use cairn_user::io::Stdout;
use cairn_user::{Errno, entry, getpid, println, read_keys, sleep};

entry!(main);

fn main(_: &[&str]) -> i32 {
    let mut buf = alloc::vec![0u8; buffer_bytes(DEFAULT_MAX_SCALE)];
    let mut pg = match Playground::new(&mut buf, DEFAULT_MAX_SCALE) {
        Ok(p) => p,
        Err(e) => {
            println!("heapdemo: {e:?}");
            return 1;
        }
    };
    println!(
        "heapdemo (pid {}): ShompOS's keys on a 1 KiB buddy heap in ring 3",
        getpid()
    );
    println!("  1-9 allocate, a q w e r t y u i free, p free lists; x or Esc quits");
    let mut keys = [0u8; 16];
    loop {
        let n = match read_keys(&mut keys) {
            Ok(n) => n,
            Err(Errno::NotForeground) => {
                // In the background: the keyboard is someone else's; wait.
                sleep(200);
                continue;
            }
            Err(e) => {
                println!("heapdemo: read: {e}");
                return 1;
            }
        };
        for &k in &keys[..n] {
            if k == b'x' || k == 0x1b {
                println!("heapdemo: bye");
                return 0;
            }
            pg.key(k as char, &mut Stdout);
        }
    }
}
