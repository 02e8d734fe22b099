//! The kernel heap: one of four designs (`heap=` at boot) behind one
//! `#[global_allocator]`, mapped at `KERNEL_HEAP_START` and grown on demand.
//!
//! ```text
//!   Box::new ──► GlobalAlloc ──► KernelHeap::allocate ── short? ──► grow hook
//!                                                                    │
//!        heap region [KERNEL_HEAP_START .. region_end) ◄── mapped ───┘
//!        (INITIAL_HEAP at boot plus the buddy heap's side table,
//!         HEAP_GROW_STEP at least per growth; nothing for a request no
//!         growth can serve)
//! ```
//!
//! Everything the kernel knows about its heap is asked of the heap itself:
//! its design ([`kind`]), how much of the arena is mapped ([`mapped_bytes`],
//! the end of its highest region), its statistics. Nothing here copies it.
//!
//! Rule: never allocate from the heap while holding the memory lock (the
//! grow hook takes it).

use crate::bootinfo::BootInfo;
use crate::kernel::halt::fatal_because;
use crate::kernel::memory;
use crate::mm::addr::VirtAddr;
use crate::mm::AllocError;
use crate::mm::heap::{AnyHeap, HeapBackend, HeapKind, HeapStats, KernelHeap};
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, Release, ZeroFill};
use crate::mm::vm::region::{KERNEL_HEAP_START, KERNEL_PRIVATE_START};
use crate::println;
use core::alloc::Layout;
use core::ptr::NonNull;

/// Bytes of heap blocks mapped at boot; the rest comes through the grow
/// hook. (The buddy heap's side table, `HeapKind::table_bytes`, is mapped
/// with them.)
pub const INITIAL_HEAP: usize = 256 * 1024;
/// The least the heap grows by at a time.
pub const HEAP_GROW_STEP: usize = 64 * 1024;
/// Bytes of address space reserved for the kernel heap.
pub const HEAP_ARENA: usize = (KERNEL_PRIVATE_START - KERNEL_HEAP_START) as usize;

/// The kernel heap: one of four designs behind one `GlobalAlloc`.
#[global_allocator]
static KERNEL_HEAP: KernelHeap = KernelHeap::empty();

/// Map the first [`INITIAL_HEAP`] bytes (and the design's side table),
/// start the design `heap=` names (buddy by default; a bad name prints why
/// and keeps buddy), turn poisoning on with `poison`, and install the grow
/// hooks. Needs `memory::init`; stops the kernel when it fails.
pub fn init(info: &BootInfo) {
    let kind = match info.option("heap").map(HeapKind::parse) {
        None => HeapKind::Buddy,
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            println!("memory: {e}; using buddy");
            HeapKind::Buddy
        }
    };
    let first_map = INITIAL_HEAP + kind.table_bytes(HEAP_ARENA);
    let mapped = memory::with(|m| {
        m.mapper().map_range_sparse(
            VirtAddr(KERNEL_HEAP_START),
            first_map,
            EntryFlags::WRITABLE | EntryFlags::GLOBAL,
            ZeroFill::No,
            &mut m.frames,
        )
    });
    if let Err(e) = mapped {
        fatal_because("memory: cannot map the first heap pages", e);
    }
    // SAFETY: `first_map` bytes at KERNEL_HEAP_START were just mapped for
    // the heap alone; the rest of the arena is mapped by `grow` before use.
    match unsafe { AnyHeap::new(kind, KERNEL_HEAP_START as usize, HEAP_ARENA, first_map) } {
        Ok(mut heap) => {
            if info.flag("poison") {
                let on = heap.set_poison(true);
                println!(
                    "memory: poison {}",
                    if on {
                        "on: freed heap memory is filled, heapcheck verifies it"
                    } else {
                        "not supported by this heap design"
                    }
                );
            }
            KERNEL_HEAP.init(heap);
        }
        Err(e) => fatal_because("memory: cannot start the heap", e),
    }
    KERNEL_HEAP.set_grow(grow);
    KERNEL_HEAP.set_ungrow(ungrow);
}

/// The heap's grow hook: map at least `min_bytes` (and at least
/// `HEAP_GROW_STEP`) at `end` from fresh frames. Called without the heap lock.
fn grow(end: usize, min_bytes: usize) -> Option<usize> {
    let room = (KERNEL_HEAP_START as usize + HEAP_ARENA).checked_sub(end)?;
    let len = min_bytes
        .max(HEAP_GROW_STEP)
        .next_multiple_of(PAGE_SIZE)
        .min(room);
    if len < min_bytes || len == 0 {
        return None;
    }
    let ok = memory::with(|m| {
        m.mapper()
            .map_range_sparse(
                VirtAddr(end as u32),
                len,
                EntryFlags::WRITABLE | EntryFlags::GLOBAL,
                ZeroFill::No,
                &mut m.frames,
            )
            .is_ok()
    });
    if ok {
        log::info!("heap grew by {len} bytes at {end:#x}");
    }
    ok.then_some(len)
}

/// The heap's ungrow hook: it refused the `len` bytes `grow` mapped at
/// `start`, so unmap them and give their frames back to the PMM.
fn ungrow(start: usize, len: usize) {
    let undone = memory::with(|m| {
        m.mapper()
            .unmap_range(
                VirtAddr(start as u32),
                len,
                Release::OwnedFrames(&mut m.frames),
            )
            .is_ok()
    });
    log::warn!("heap refused {len} bytes mapped at {start:#x}; unmapped: {undone}");
}

/// Run `f` on the kernel heap under its lock; `None` before [`init`].
/// `f` must not allocate (the lock is a spin lock).
pub fn with<R>(f: impl FnOnce(&mut AnyHeap) -> R) -> Option<R> {
    KERNEL_HEAP.with(f)
}

/// The design the kernel heap uses (buddy before [`init`]).
pub fn kind() -> HeapKind {
    KERNEL_HEAP.kind().unwrap_or(HeapKind::Buddy)
}

/// Bytes of the arena mapped for the heap so far (the boot mapping plus
/// every growth): the heap's regions run from `KERNEL_HEAP_START` up to
/// the end of its highest one.
pub fn mapped_bytes() -> usize {
    KERNEL_HEAP.with(|h| region_bytes(h)).unwrap_or(0)
}

/// Like [`mapped_bytes`], but `None` when the heap's lock is held (for
/// fault reports, which must never wait).
pub fn try_mapped_bytes() -> Option<usize> {
    KERNEL_HEAP.try_with(|h| region_bytes(h))
}

fn region_bytes(h: &AnyHeap) -> usize {
    h.region_end().saturating_sub(KERNEL_HEAP_START as usize)
}

/// The heap's usage, or `None` before [`init`].
pub fn stats() -> Option<HeapStats> {
    KERNEL_HEAP.stats()
}

/// How many frees the heap refused (bad pointer or layout).
pub fn bad_frees() -> usize {
    KERNEL_HEAP.bad_frees()
}

/// The address of the last refused free, if any.
pub fn last_bad_free() -> Option<usize> {
    KERNEL_HEAP.last_bad_free()
}

/// How many times the grow hook added memory.
pub fn times_grown() -> usize {
    KERNEL_HEAP.times_grown()
}

/// Allocate for `layout` from the kernel heap, growing it if it is short.
pub fn allocate(layout: Layout) -> Result<NonNull<u8>, AllocError> {
    KERNEL_HEAP.allocate(layout)
}

/// Give `ptr` back to the kernel heap; a refusal is counted in [`bad_frees`].
pub fn deallocate(ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
    KERNEL_HEAP.deallocate(ptr, layout)
}
