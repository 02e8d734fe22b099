//! Faults on purpose, one per argument; each kills only this process:
//! `crash 1` reads kernel memory, `2` writes its own text, `3` executes
//! `cli`, `4` divides by zero, `5` overflows its stack.

#![no_std]
#![no_main]

use cairn_user::{cli, divide, entry, println};
use core::hint::black_box;

entry!(main);

fn main(args: &[&str]) -> i32 {
    match args.get(1).copied() {
        Some("1") => {
            let addr = 0xC010_0000usize as *const u32;
            println!("crash 1: reading kernel memory at {:#010x}", addr as usize);
            // SAFETY: not safe at all: the point is the fault.
            let v = unsafe { core::ptr::read_volatile(addr) };
            println!("crash 1: read {v:#x}: the kernel half is readable! FAIL");
        }
        Some("2") => {
            let addr = main as *const () as *mut u8;
            println!("crash 2: writing my own text at {:#010x}", addr as usize);
            // SAFETY: not safe at all: the point is the fault.
            unsafe { core::ptr::write_volatile(addr, 0xCC) };
            println!("crash 2: text is writable! FAIL");
        }
        Some("3") => {
            println!("crash 3: executing cli in ring 3");
            cli();
            println!("crash 3: cli ran in ring 3! FAIL");
        }
        Some("4") => {
            println!("crash 4: dividing by zero");
            let q = divide(black_box(7), black_box(0));
            println!("crash 4: 7 / 0 = {q}! FAIL");
        }
        Some("5") => {
            println!("crash 5: recursing until the stack overflows");
            let depth = recurse(black_box(0));
            println!("crash 5: returned from depth {depth}! FAIL");
        }
        _ => {
            println!("usage: crash 1|2|3|4|5");
            println!("  1 kernel read, 2 text write, 3 cli, 4 divide by zero, 5 stack overflow");
            return 2;
        }
    }
    1
}

/// 1 KiB of stack per call, touched, until the stack reserve runs out.
fn recurse(depth: u32) -> u32 {
    let mut frame = [0u8; 1024];
    frame[0] = depth as u8;
    black_box(&mut frame);
    if depth == u32::MAX {
        return depth;
    }
    recurse(black_box(depth + 1)) + black_box(frame[0]) as u32
}
