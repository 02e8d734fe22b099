//! Demand paging, page by page: the heap grows with sbrk (which only moves
//! the break) and each first touch costs one frame; the stack grows by
//! recursion the same way; a shrinking sbrk gives the frames back.

#![no_std]
#![no_main]

use cairn_user::{entry, free_frames, println, sbrk};
use core::hint::black_box;

entry!(main);

const PAGES: usize = 64;

fn main(_: &[&str]) -> i32 {
    let mut bad = 0;
    let start = free_frames();
    let base = sbrk(0).expect("sbrk(0)");
    let mut first_touch = 0;
    for i in 0..PAGES {
        let before = free_frames();
        let p = sbrk(4096).expect("sbrk(4096)");
        if free_frames() != before {
            println!("grow: sbrk took frames: it should only move the break FAIL");
            bad += 1;
        }
        // SAFETY: sbrk just gave this page to the process.
        unsafe { core::ptr::write_volatile(p as *mut u32, i as u32) };
        let taken = before - free_frames();
        if i == 0 {
            first_touch = taken;
        } else if taken != 1 {
            println!("grow: page {i}: its first touch took {taken} frames, not 1 FAIL");
            bad += 1;
        }
    }
    let heap_frames = start - free_frames();
    println!(
        "grow: heap {:#010x}..{:#010x}: {PAGES} pages by sbrk, {heap_frames} frames taken on first touch ({} for the page table)",
        base,
        base + PAGES * 4096,
        first_touch.saturating_sub(1)
    );
    for i in 0..PAGES {
        // SAFETY: mapped above.
        let v = unsafe { core::ptr::read_volatile((base + i * 4096) as *const u32) };
        if v != i as u32 {
            println!("grow: page {i} holds {v}! FAIL");
            bad += 1;
        }
    }
    let before_stack = free_frames();
    let depth = 48;
    let sum = dig(depth);
    let stack_frames = before_stack - free_frames();
    println!("grow: stack: {depth} calls of 4 KiB each took {stack_frames} frames (sum {sum})");
    if stack_frames < depth as usize - 2 {
        println!("grow: the stack took fewer frames than pages touched FAIL");
        bad += 1;
    }
    let before_shrink = free_frames();
    sbrk(-((PAGES * 4096) as i32)).expect("shrink");
    let returned = free_frames() - before_shrink;
    println!("grow: sbrk(-{}) gave {returned} frames back", PAGES * 4096);
    // The pages, and the page table they leave empty (the mapper frees it).
    if returned != PAGES && returned != PAGES + 1 {
        println!("grow: {PAGES} frames should have come back FAIL");
        bad += 1;
    }
    println!("grow: {}", if bad == 0 { "ok" } else { "FAILED" });
    bad
}

/// One page of stack per call, touched.
fn dig(n: u32) -> u32 {
    let mut page = [0u8; 4096];
    page[4095] = n as u8;
    black_box(&mut page);
    if n == 0 {
        return 0;
    }
    dig(black_box(n - 1)) + black_box(page[4095]) as u32
}
