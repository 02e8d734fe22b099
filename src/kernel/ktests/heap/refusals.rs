//! Bad frees are refused, counted and change nothing; a write after free is
//! found by `check()` and the `heapcheck` command.

use crate::kassert;
use crate::kernel::heap as kheap;
use crate::kernel::ktests::kit::{TestResult, heap_stats, kernel_heap_ok, run_command};
use crate::mm::heap::HeapBackend;
use crate::mm::layout::PAGE_SIZE;
use alloc::alloc::Layout;
use alloc::format;
use alloc::string::String;
use core::ptr::NonNull;

/// An interior pointer, a pointer outside the heap and a double free are
/// refused, leave the figures as they were, and count as three bad frees.
pub fn bad_free() -> Result<(), String> {
    let l = Layout::from_size_align(64, 8).map_err(|e| format!("{e}"))?;
    let p = kheap::allocate(l).map_err(|e| format!("{e}"))?;
    let bad_before = kheap::bad_frees();
    let s0 = kheap::stats();
    // SAFETY: p + 8 lies inside the 64-byte block.
    let interior = unsafe { NonNull::new_unchecked(p.as_ptr().add(8)) };
    let r_interior = kheap::deallocate(interior, l);
    let outside = NonNull::new(core::ptr::without_provenance_mut::<u8>(PAGE_SIZE)).ok_or("null")?;
    let r_outside = kheap::deallocate(outside, l);
    let s1 = kheap::stats();
    kheap::deallocate(p, l).map_err(|e| format!("the good free failed: {e}"))?;
    let s2 = kheap::stats();
    let r_double = kheap::deallocate(p, l);
    let s3 = kheap::stats();
    kassert!(
        r_interior.is_err(),
        "an interior pointer was accepted: {r_interior:?}"
    );
    kassert!(
        r_outside.is_err(),
        "a pointer outside the heap was accepted"
    );
    kassert!(r_double.is_err(), "a double free was accepted");
    kassert!(s0 == s1, "bad frees changed the heap: {s0:?} -> {s1:?}");
    kassert!(
        s2 == s3,
        "the double free changed the heap: {s2:?} -> {s3:?}"
    );
    kassert!(
        kheap::bad_frees() == bad_before + 3,
        "bad_frees {} -> {}",
        bad_before,
        kheap::bad_frees()
    );
    kernel_heap_ok()
}

/// Poison on (as the `poison` boot option does), free a block, write into
/// it: `check()` and the `heapcheck` command name the block; with the byte
/// restored the heap checks clean again. Every design poisons: the buddy
/// heap names the block by offset, the others by address.
pub fn write_after_free() -> Result<(), String> {
    use crate::mm::heap::{BuddyHeap, CheckError, POISON};
    let was = kheap::with(|h| h.poisoning()).ok_or("no kernel heap")?;
    let on = kheap::with(|h| h.set_poison(true)).unwrap_or(false);
    kassert!(on, "the heap design does not poison");
    // 64 KiB: the small allocations `heapcheck` makes take smaller free
    // blocks (or the front of this one), never its last byte.
    let l = Layout::from_size_align(64 * 1024 - 64, 8).map_err(|e| format!("{e}"))?;
    let p = kheap::allocate(l).map_err(|e| format!("{e}"))?;
    kheap::deallocate(p, l).map_err(|e| format!("{e}"))?;
    // SAFETY: a deliberate write after free, into heap memory that stays
    // mapped; it is undone below.
    let last = unsafe { p.as_ptr().add(l.size() - 1) };
    // SAFETY: as above.
    unsafe { last.write_volatile(0x5A) };
    // The check, and (buddy) the free block holding the written byte.
    let found = kheap::with(|h| {
        let buddy = h.as_buddy().map(|b| {
            (
                BuddyHeap::check(b),
                b.block_of(last.addr()).map(|i| i.offset),
            )
        });
        (h.check(), buddy)
    });
    let out = run_command("heapcheck");
    // SAFETY: undo the write: the byte is the poison again.
    unsafe { last.write_volatile(POISON) };
    let clean = kernel_heap_ok();
    kheap::with(|h| h.set_poison(was));
    let Some((verdict, buddy)) = found else {
        return Err("the kernel heap went away".into());
    };
    match buddy {
        Some((verdict, holder)) => kassert!(
            matches!(verdict, Err(CheckError::Poisoned { block, .. }) if Some(block) == holder),
            "check() did not name the written block {holder:?}: {verdict:?}"
        ),
        None => {
            let named = verdict.as_ref().err().and_then(|e| e.written_after_free());
            kassert!(
                matches!(named, Some((block, at)) if at == last.addr() && block <= at),
                "check() did not name the write at {last:p}: {verdict:?}"
            );
        }
    }
    kassert!(
        out.contains("written after its free") && out.contains("CORRUPT"),
        "heapcheck missed the write after free:\n{out}"
    );
    clean
}

/// A double free and a pointer to a static outside the heap are refused,
/// counted as two bad frees, and leave the figures as they were.
pub fn heap_bad_frees() -> TestResult {
    let bad = kheap::bad_frees();
    let layout = Layout::new::<u64>();
    let p = kheap::allocate(layout).map_err(|e| format!("allocate: {e}"))?;
    kheap::deallocate(p, layout).map_err(|e| format!("first free: {e}"))?;
    let before = heap_stats()?;
    let twice = kheap::deallocate(p, layout);
    kassert!(twice.is_err(), "a double free was accepted");
    static OUTSIDE: u64 = 0;
    let wild = NonNull::from(&OUTSIDE).cast::<u8>();
    let r = kheap::deallocate(wild, layout);
    kassert!(r.is_err(), "a pointer outside the heap was accepted");
    kassert!(
        kheap::bad_frees() == bad + 2,
        "bad frees {} -> {}",
        bad,
        kheap::bad_frees()
    );
    let after = heap_stats()?;
    kassert!(
        after == before,
        "a refused free changed the heap: {before:?} -> {after:?}"
    );
    kernel_heap_ok()
}
