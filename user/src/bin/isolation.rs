//! Two processes, one virtual address: `isolation` starts a second instance
//! of itself; both fill the same .bss array and the same mmap'd page (same
//! addresses in both spaces) with their own pattern, give the CPU to each
//! other many times, and check they never see the other's words.

#![no_std]
#![no_main]

use cairn_user::{entry, getpid, mmap, println, spawn, wait, yield_now};

entry!(main);

const WORDS: usize = 1024;
static mut AREA: [u32; WORDS] = [0; WORDS];

fn main(args: &[&str]) -> i32 {
    let child = args.get(1).copied() == Some("B");
    let (name, pattern) = if child {
        ("B", 0xBBBB_0000u32)
    } else {
        ("A", 0xAAAA_0000u32)
    };
    let other = if child {
        None
    } else {
        match spawn("isolation", "B") {
            Ok(pid) => Some(pid),
            Err(e) => {
                println!("isolation: cannot start B: {e} FAIL");
                return 1;
            }
        }
    };
    let area = &raw mut AREA as *mut u32;
    let page = match mmap(4096) {
        Ok(p) => p as *mut u32,
        Err(e) => {
            println!("isolation {name}: mmap: {e} FAIL");
            return 1;
        }
    };
    for i in 0..WORDS {
        // SAFETY: both are this process's own memory, WORDS words long.
        unsafe {
            area.add(i).write_volatile(pattern | i as u32);
            page.add(i).write_volatile(!(pattern | i as u32));
        }
    }
    println!(
        "isolation {name} (pid {}): wrote {:#010x}.. at {:#010x} and {:#010x}",
        getpid(),
        pattern,
        area as usize,
        page as usize
    );
    let mut bad = 0;
    for _ in 0..50 {
        yield_now();
        for i in 0..WORDS {
            // SAFETY: as above.
            let (a, p) = unsafe { (area.add(i).read_volatile(), page.add(i).read_volatile()) };
            if a != pattern | i as u32 || p != !(pattern | i as u32) {
                bad += 1;
            }
        }
    }
    println!(
        "isolation {name}: after 50 switches {}",
        if bad == 0 {
            "still sees only its own words: ok"
        } else {
            "saw foreign words FAIL"
        }
    );
    let mut status = (bad != 0) as i32;
    if let Some(pid) = other {
        match wait(pid) {
            Ok(0) => {}
            Ok(s) => {
                println!("isolation: B ended with status {s} FAIL");
                status = 1;
            }
            Err(e) => {
                println!("isolation: wait: {e} FAIL");
                status = 1;
            }
        }
        println!("isolation: {}", if status == 0 { "ok" } else { "FAILED" });
    }
    status
}
