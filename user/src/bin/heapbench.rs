//! Cairn's four heap designs compared in user space: the same random
//! actions (same seed) on each, each heap over this process's `sbrk` (pages
//! faulted in on first touch), then a table: cycles per action, the heap's
//! peak size, the frames it touched, refusals, and fragmentation at the end.
//! The heaps are the kernel's own code (`cairn::mm::heap`).

#![no_std]
#![no_main]

use cairn::mm::heap::{AnyHeap, HeapKind, KernelHeap};
use cairn::rand::Rng;
use cairn_user::{entry, free_frames, println, rdtsc, sbrk};
use core::alloc::Layout;
use core::ptr::NonNull;

entry!(main);

const ACTIONS: usize = 20_000;
const LIVE_MAX: usize = 512;
const ARENA: usize = 8 * 1024 * 1024;
const FIRST: usize = 64 * 1024;

fn main(args: &[&str]) -> i32 {
    let actions = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(ACTIONS);
    println!(
        "heapbench: {actions} random actions (3 in 5 allocate 1..=512 bytes, up to {LIVE_MAX} live), seed 42, each heap over sbrk"
    );
    println!("  design     cycles/action  peak heap  frames  refused  fragmentation");
    let mut failed = 0;
    for kind in [
        HeapKind::Buddy,
        HeapKind::FirstFit,
        HeapKind::GapTree,
        HeapKind::Pool,
    ] {
        match bench(kind, actions) {
            Ok(r) => println!(
                "  {:<9}  {:>13}  {:>9}  {:>6}  {:>7}  {:>4}.{}%",
                kind.name(),
                r.cycles / actions as u64,
                r.peak,
                r.frames,
                r.refused,
                r.frag / 10,
                r.frag % 10
            ),
            Err(e) => {
                println!("  {:<9}  cannot start: {e}", kind.name());
                failed += 1;
            }
        }
    }
    failed
}

struct Row {
    cycles: u64,
    peak: usize,
    frames: usize,
    refused: usize,
    frag: u32,
}

fn bench(kind: HeapKind, actions: usize) -> Result<Row, &'static str> {
    let base = sbrk(0).map_err(|_| "sbrk")?;
    let frames_before = free_frames();
    let first = FIRST + kind.table_bytes(ARENA);
    sbrk(first as i32).map_err(|_| "sbrk")?;
    let heap = KernelHeap::empty();
    // The address comes from the kernel's page tables (sbrk).
    let at = core::ptr::with_exposed_provenance_mut(base);
    // SAFETY: sbrk just reserved `first` bytes at `base` for this heap alone;
    // the rest of the arena comes through the grow hook (sbrk at the end).
    let h = unsafe { AnyHeap::new(kind, at, ARENA, first) }.map_err(|_| "AnyHeap::new")?;
    heap.init(h);
    heap.set_grow(cairn_user::heap::grow);
    let mut live: [(usize, usize); LIVE_MAX] = [(0, 0); LIVE_MAX];
    let mut n = 0;
    let mut rng = Rng::new(42);
    let mut refused = 0;
    let mut peak = 0;
    let start = rdtsc();
    for _ in 0..actions {
        if n < LIVE_MAX && (n == 0 || rng.chance(3, 5)) {
            let size = if rng.chance(1, 4) {
                rng.range(65, 513)
            } else {
                rng.range(1, 65)
            };
            let layout = Layout::from_size_align(size, 8).expect("layout");
            match heap.allocate(layout) {
                Ok(p) => {
                    // SAFETY: the heap just handed out `size` bytes at p.
                    unsafe { p.as_ptr().write_bytes(0x5A, size) };
                    live[n] = (p.as_ptr() as usize, size);
                    n += 1;
                }
                Err(_) => refused += 1,
            }
        } else {
            let i = rng.below(n);
            let (p, size) = live[i];
            live[i] = live[n - 1];
            n -= 1;
            let layout = Layout::from_size_align(size, 8).expect("layout");
            let ptr = NonNull::new(p as *mut u8).expect("live pointers are not null");
            if heap.deallocate(ptr, layout).is_err() {
                refused += 1;
            }
        }
        peak = peak.max(sbrk(0).unwrap_or(base) - base);
    }
    let cycles = rdtsc() - start;
    let frames = frames_before - free_frames();
    let frag = heap.stats().map_or(0, |s| s.fragmentation_permille());
    // The heap is done with: give its pages back.
    let end = sbrk(0).map_err(|_| "sbrk")?;
    sbrk(-((end - base) as i32)).map_err(|_| "sbrk")?;
    Ok(Row {
        cycles,
        peak,
        frames,
        refused,
        frag,
    })
}
