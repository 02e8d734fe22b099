//! The heap design `heap=` chose is the global allocator, and its figures
//! add up before, during and after a burst of allocations.

use crate::kassert;
use crate::kernel::boot::boot_info;
use crate::kernel::heap as kheap;
use crate::kernel::ktests::kit::{TestResult, fill, heap_stats, holds, kernel_heap_ok};
use crate::mm::heap::{HeapBackend, HeapKind};
use alloc::alloc::{Layout, dealloc};
use alloc::format;
use alloc::vec::Vec;
use core::ptr::NonNull;

/// The design the kernel runs is the one `heap=` named (buddy without it),
/// and the global allocator calls itself by that name.
pub fn heap_is_the_one_chosen() -> TestResult {
    let asked = boot_info().option("heap");
    let expect = asked
        .and_then(|v| HeapKind::parse(v).ok())
        .unwrap_or(HeapKind::Buddy);
    let kind = kheap::kind();
    kassert!(kind == expect, "heap= {asked:?} but the heap is {kind:?}");
    let name = kheap::with(|h| h.name());
    kassert!(
        name == Some(kind.name()),
        "the global allocator says {name:?}, the kernel {}",
        kind.name()
    );
    Ok(())
}

/// One `Box` counts as one allocation and some bytes used; used + free is
/// the size, the size is mapped, and freeing the `Box` gives it all back.
pub fn heap_stats_are_sane() -> TestResult {
    let before = heap_stats()?;
    // black_box: without it the compiler may drop the allocation altogether.
    let boxed = core::hint::black_box(alloc::boxed::Box::new(0x5A5A_5A5Au32));
    let s = heap_stats()?;
    kassert!(s.size > 0, "empty heap: {s:?}");
    kassert!(s.used + s.free == s.size, "used + free != size: {s:?}");
    kassert!(s.largest_free <= s.free, "largest free above free: {s:?}");
    kassert!(
        s.allocations == before.allocations + 1,
        "a Box did not count: {before:?} -> {s:?}"
    );
    kassert!(
        s.used > before.used,
        "a Box used nothing: {before:?} -> {s:?}"
    );
    let mapped = kheap::mapped_bytes();
    kassert!(
        s.size <= mapped,
        "the heap manages {} bytes but only {mapped} are mapped",
        s.size
    );
    kassert!(
        s.fragmentation_permille() <= 1000,
        "fragmentation {}",
        s.fragmentation_permille()
    );
    kassert!(*boxed == 0x5A5A_5A5A, "the Box lost its value");
    drop(boxed);
    let after = heap_stats()?;
    kassert!(
        after.allocations == before.allocations,
        "the Box was not given back: {before:?} -> {after:?}"
    );
    kernel_heap_ok()
}

/// 300 blocks of mixed sizes and alignments, freed every other one then
/// the rest: counted, aligned, never overwritten, and no good free refused.
pub fn heap_burst() -> TestResult {
    const N: usize = 300;
    let mut live: Vec<(NonNull<u8>, Layout, u8)> = Vec::with_capacity(N);
    let bad = kheap::bad_frees();
    let before = heap_stats()?;
    for i in 0..N {
        let size = 1 + (i * 73) % 2000;
        let align = 1 << (i % 13).min(12);
        let layout = Layout::from_size_align(size, align).map_err(|e| format!("{e}"))?;
        // SAFETY: non-zero size.
        let p = NonNull::new(unsafe { alloc::alloc::alloc(layout) })
            .ok_or_else(|| format!("allocation {i} ({size} bytes, align {align}) failed"))?;
        kassert!(
            p.as_ptr().addr().is_multiple_of(align),
            "{p:?} not aligned to {align}"
        );
        fill(p.as_ptr().expose_provenance(), size, i as u8);
        live.push((p, layout, i as u8));
    }
    let mid = heap_stats()?;
    kassert!(
        mid.allocations == before.allocations + N,
        "{N} allocations counted as {}",
        mid.allocations - before.allocations
    );
    kassert!(mid.used + mid.free == mid.size, "{mid:?}");
    kernel_heap_ok()?;
    // Free every other block, check, then the rest.
    let mut i = 0;
    live.retain(|&(p, layout, v)| {
        i += 1;
        if i % 2 == 0 {
            return true;
        }
        // SAFETY: allocated above with this layout, freed once.
        unsafe { dealloc(p.as_ptr(), layout) };
        let _ = v;
        false
    });
    kernel_heap_ok()?;
    for (p, layout, v) in live.drain(..) {
        kassert!(
            holds(p.as_ptr().expose_provenance(), layout.size(), v),
            "block {v} at {p:?} was overwritten"
        );
        // SAFETY: allocated above with this layout, freed once.
        unsafe { dealloc(p.as_ptr(), layout) };
    }
    let after = heap_stats()?;
    kassert!(
        after.allocations == before.allocations,
        "allocations {} before, {} after freeing everything",
        before.allocations,
        after.allocations
    );
    kassert!(kheap::bad_frees() == bad, "a good free was refused");
    kernel_heap_ok()
}
