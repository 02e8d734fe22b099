//! The kernel heap grows through the VMM when it runs out, and a growth
//! under the memory lock fails with a named error instead of hanging.

use crate::kassert;
use crate::kernel::heap as kheap;
use crate::kernel::heap::{GrowFailure, INITIAL_HEAP};
use crate::kernel::ktests::kit::{HeapBlock, TestResult, fill, heap_stats, holds, kernel_heap_ok};
use crate::kernel::memory;
use crate::mm::layout::PAGE_SIZE;
use alloc::alloc::Layout;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A block larger than the first heap, then 16 KiB pieces past all that was
/// mapped: the heap grows, the grow hook runs, and no byte changes.
pub fn grows() -> Result<(), String> {
    let before = kheap::mapped_bytes();
    let grown_before = kheap::times_grown();
    // One block larger than the whole first heap, then 16 KiB pieces until
    // more than everything mapped so far is in use: the heap must grow.
    let mut big = alloc::vec![0u8; INITIAL_HEAP + PAGE_SIZE];
    for (i, b) in big.iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    let piece = 16 * 1024 - 64;
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let mut total = big.len();
    while total <= before + INITIAL_HEAP {
        let n = pieces.len() as u8;
        pieces.push(alloc::vec![n; piece]);
        total += piece;
    }
    let after = kheap::mapped_bytes();
    kassert!(
        after > before && after >= total,
        "heap mapped {before} -> {after} bytes with {total} bytes live"
    );
    kassert!(
        kheap::times_grown() > grown_before,
        "the grow hook was never called"
    );
    kassert!(
        big.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8),
        "the big block changed while the heap grew"
    );
    for (n, p) in pieces.iter().enumerate() {
        kassert!(p.iter().all(|&b| b == n as u8), "piece {n} changed");
    }
    drop((big, pieces));
    kernel_heap_ok()
}

/// The old hang: an allocation that needs the heap to grow, made inside
/// `memory::with`, spun for ever on the memory lock its own caller held.
/// Now the grow hook does not wait: the allocation fails, the failure is
/// `GrowFailure::MemoryLocked`, and the heap is intact.
pub fn growth_under_memory_lock() -> Result<(), String> {
    let _ = kheap::take_grow_failure();
    // Larger than all the heap has mapped: no free block can hold it.
    let size = (kheap::mapped_bytes() + PAGE_SIZE).next_power_of_two();
    let layout = Layout::from_size_align(size, PAGE_SIZE).map_err(|e| format!("{e}"))?;
    let r = memory::with(|_| kheap::allocate(layout));
    let failure = kheap::take_grow_failure();
    if let Ok(p) = r {
        let _ = kheap::deallocate(p, layout);
        return Err(format!("{size} bytes were allocated under the memory lock"));
    }
    kassert!(
        failure == Some(GrowFailure::MemoryLocked),
        "the growth under the memory lock failed with {failure:?}, not MemoryLocked"
    );
    kernel_heap_ok()
}

/// One block larger than all that is free: the heap grows, maps more,
/// manages more, and the block keeps its bytes.
pub fn heap_grows() -> TestResult {
    let s = heap_stats()?;
    let mapped = kheap::mapped_bytes();
    let grown = kheap::times_grown();
    // More than the largest free block (and more than is free): the heap
    // must ask the VMM for pages.
    let size = s.free + 64 * 1024;
    let block = HeapBlock::new(size, 8)?;
    kassert!(
        kheap::times_grown() > grown,
        "a {size}-byte block came without growing ({s:?})"
    );
    let now = kheap::mapped_bytes();
    kassert!(now > mapped, "mapped {mapped} -> {now}");
    fill(block.addr(), size, 0xC3);
    kassert!(holds(block.addr(), size, 0xC3), "the grown block lost data");
    let with = heap_stats()?;
    kassert!(with.size > s.size, "size {} -> {}", s.size, with.size);
    drop(block);
    kernel_heap_ok()
}
