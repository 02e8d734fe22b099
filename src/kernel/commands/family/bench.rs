//! `bench [operations]`: a random workload on the kernel heap, timed by
//! the PIT (and the TSC).

use crate::arch::x86;
use crate::kernel::commands::kit::{self, Outcome, at_most};
use crate::kernel::heap as kheap;
use crate::kernel::interrupts;
use crate::mm::heap::HeapBackend;
use alloc::alloc::Layout;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::ptr::NonNull;

/// Live blocks the benchmark keeps at most (as the host benchmark's (a)).
const BENCH_LIVE: usize = 300;
/// Largest block size of the benchmark.
const BENCH_MAX: usize = 1000;

/// `bench [operations]`: allocate or free at random on the kernel heap (at
/// most 300 live blocks, sizes 4..1000, alignments mostly 8), never on the
/// reserve (a dry heap counts as failed allocations); time in PIT ticks
/// (10 ms each).
pub fn bench(args: &[&str], out: &mut dyn Write) -> Outcome {
    let ops = match args {
        [] => 500_000,
        [n] => match kit::parse(n)? {
            ops @ 1..=10_000_000 => ops,
            ops => {
                return Err(format!("{ops} operations: out of range (1 to 10000000)"));
            }
        },
        _ => return at_most(args, 1),
    };
    let before = kheap::stats().unwrap_or_default();
    let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
    live.try_reserve_exact(BENCH_LIVE).map_err(|_| {
        String::from("out of memory: no room for the benchmark's table of live blocks")
    })?;
    let grown = kheap::times_grown();
    let mut rng = crate::rand::Rng::new(0x2545_F491);
    let (mut allocs, mut frees, mut failed) = (0usize, 0usize, 0usize);
    let start = interrupts::ticks();
    let tsc0 = x86::rdtsc();
    for _ in 0..ops {
        let grow = live.len() < BENCH_LIVE && (live.is_empty() || rng.next_u64().is_multiple_of(2));
        if grow {
            let top = rng.range(16, BENCH_MAX + 1);
            let size = rng.range(4, top);
            let align = match rng.next_u64() % 8 {
                0 => 16 << (rng.next_u64() % 4),
                _ => 8,
            };
            // Never fails: size > 0 and align is a small power of two.
            let layout = Layout::from_size_align(size, align).expect("bench: layout");
            match kheap::allocate(layout).ok() {
                Some(p) => {
                    // SAFETY: the block holds at least one byte.
                    unsafe { p.as_ptr().write(size as u8) };
                    live.push((p, layout));
                    allocs += 1;
                }
                None => failed += 1,
            }
        } else {
            let i = rng.range(0, live.len());
            let (p, layout) = live.swap_remove(i);
            let _ = kheap::deallocate(p, layout); // ours: never refused
            frees += 1;
        }
    }
    let tsc1 = x86::rdtsc();
    let ticks = interrupts::ticks().wrapping_sub(start);
    let peak = kheap::stats().unwrap_or_default();
    let live_end = live.len();
    for (p, layout) in live.drain(..) {
        let _ = kheap::deallocate(p, layout); // ours: never refused
    }
    drop(live);
    let after = kheap::stats().unwrap_or_default();
    // Formatted after the heap's lock is released (never allocate under it).
    let check = match kheap::with(|h| h.check()) {
        Some(r) => r.map_err(|e| format!("{e}")),
        None => Err(String::from("no heap")),
    };
    let ms = ticks as u64 * 1000 / interrupts::TIMER_HZ as u64;
    let _ = writeln!(
        out,
        "bench on {}: {ops} operations ({allocs} allocations, {frees} frees, {failed} failed)",
        kheap::kind().name()
    );
    match (ops as u64 * 1000).checked_div(ms) {
        None => {
            let _ = writeln!(
                out,
                "  took less than one timer tick (10 ms); try more operations"
            );
        }
        Some(per_second) => {
            let _ = writeln!(
                out,
                "  {ms} ms by the PIT: {per_second} operations/s, {} ns each ({} TSC cycles each)",
                ms * 1_000_000 / ops as u64,
                tsc1.wrapping_sub(tsc0) / ops as u64
            );
        }
    }
    let _ = writeln!(
        out,
        "  at the end: {} live blocks, heap size {} used {} fragmentation {}.{}%",
        live_end,
        peak.size,
        peak.used,
        peak.fragmentation_permille() / 10,
        peak.fragmentation_permille() % 10
    );
    let _ = writeln!(
        out,
        "  after freeing all: allocations {} (before {}), grown {} times during the run, check {}",
        after.allocations,
        before.allocations,
        kheap::times_grown() - grown,
        if check.is_ok() { "ok" } else { "FAILED" }
    );
    Ok(())
}
