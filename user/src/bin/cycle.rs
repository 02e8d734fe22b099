//! One short life for the leak tests (1,000 of them in the in-kernel
//! tests): allocate on the heap (sbrk, demand faults), fault in stack
//! pages, map and unmap anonymous memory, attach shared region 2, exit 0.
//! `cycle firstfit` (or `gaptree`, `pool`, `buddy`) picks the heap design
//! its allocations use.

#![no_std]
#![no_main]

extern crate alloc;

use cairn_user::{entry, mmap, munmap, share};
use core::hint::black_box;

entry!(main);

fn main(args: &[&str]) -> i32 {
    if let Some(name) = args.get(1) {
        match cairn::mm::heap::HeapKind::parse(name) {
            Ok(kind) => {
                cairn_user::heap::choose(kind);
            }
            Err(_) => return 4,
        }
    }
    let v: alloc::vec::Vec<u32> = (0..3000).collect();
    let sum: u32 = v.iter().sum();
    let depth = dig(black_box(3));
    let m = match mmap(8192) {
        Ok(m) => m,
        Err(_) => return 1,
    };
    // SAFETY: mmap just mapped two pages at m.
    unsafe { (m as *mut u32).write_volatile(sum) };
    if munmap(m, 8192).is_err() {
        return 2;
    }
    let s = match share(2, 4096) {
        Ok(s) => s,
        Err(e) => {
            cairn_user::println!("cycle: share: {e}");
            return 3;
        }
    };
    // SAFETY: the shared page is mapped at s.
    unsafe { (s as *mut u32).write_volatile(depth) };
    0
}

fn dig(n: u32) -> u32 {
    let mut page = [0u8; 4096];
    page[0] = n as u8;
    black_box(&mut page);
    if n == 0 {
        0
    } else {
        dig(black_box(n - 1)) + black_box(page[0]) as u32
    }
}
