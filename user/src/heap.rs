//! The user heap: the kernel's own heap code (`cairn::mm::heap`, the same
//! source the kernel and the host tests use) as `#[global_allocator]`,
//! growing through `sbrk`. The buddy heap unless the program picks another
//! design with [`choose`] before its first allocation.
//!
//! ```text
//!   Box::new(..) -> GlobalAlloc -> KernelHeap -> heap short?
//!                                     -> grow hook -> sbrk(n) -> kernel moves the break
//!                                     -> first touch of the page -> demand fault -> zeroed frame
//! ```

use crate::sys::sbrk;
use cairn::mm::heap::{AnyHeap, HeapKind, KernelHeap};
use cairn::process::abi::USER_HEAP_MAX;
use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicBool, Ordering};

/// Bytes the heap asks `sbrk` for at a time, at least.
pub const GROW_STEP: usize = 64 * 1024;

/// The program's heap.
pub static HEAP: KernelHeap = KernelHeap::empty();

/// The global allocator: starts the heap on first use, then forwards to [`HEAP`].
pub struct UserHeap;

#[global_allocator]
static GLOBAL: UserHeap = UserHeap;

// SAFETY: forwards to `HEAP`, a `GlobalAlloc` over Cairn's heap code.
unsafe impl GlobalAlloc for UserHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ensure();
        // SAFETY: forwarded contract.
        unsafe { HEAP.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { HEAP.dealloc(ptr, layout) }
    }
}

static STARTED: AtomicBool = AtomicBool::new(false);

/// Start the heap with design `kind` (before the first allocation; later
/// calls do nothing). Returns false if the heap was already running.
pub fn choose(kind: HeapKind) -> bool {
    if STARTED.swap(true, Ordering::Relaxed) {
        return false;
    }
    let Ok(base) = sbrk(0) else {
        return false;
    };
    let arena = USER_HEAP_MAX - (base - cairn::mm::vm::region::USER_HEAP_START as usize);
    // The first step and the design's side table (the buddy heap's block starts).
    let first = GROW_STEP + kind.table_bytes(arena);
    if sbrk(first as i32).is_err() {
        return false;
    }
    // SAFETY: sbrk just reserved `first` bytes at `base` for this heap
    // alone (pages appear on first touch); the rest of the arena comes
    // through `grow`, which sbrk's exactly at the heap's end.
    // The address comes from the kernel's page tables (sbrk), not from a
    // Rust allocation: the pointer takes the provenance the mapping exposed.
    let base = core::ptr::with_exposed_provenance_mut(base);
    match unsafe { AnyHeap::new(kind, base, arena, first) } {
        Ok(h) => {
            HEAP.init(h);
            HEAP.set_grow(grow);
            true
        }
        Err(_) => false,
    }
}

/// Make sure the heap runs (the buddy heap by default).
pub fn ensure() {
    if !STARTED.load(Ordering::Relaxed) {
        choose(HeapKind::Buddy);
    }
}

/// The grow hook: extend the break at `end` by at least `min_bytes`.
pub fn grow(end: usize, min_bytes: usize) -> Option<usize> {
    let len = min_bytes.max(GROW_STEP).next_multiple_of(4096);
    let brk = sbrk(0).ok()?;
    if brk != end {
        return None; // someone else moved the break: the heap is not contiguous
    }
    sbrk(i32::try_from(len).ok()?).ok()?;
    Some(len)
}
