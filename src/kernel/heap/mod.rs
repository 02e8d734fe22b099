//! The kernel heap: one of four designs (`heap=` at boot) behind one
//! `#[global_allocator]`, mapped at `KERNEL_HEAP_START` and grown on demand.
//!
//! ```text
//!   Box::new ──► GlobalAlloc ──► KernelHeap::allocate ── short? ──► grow hook (here)
//!                                                                    │ memory::try_with
//!                                                                    ▼
//!                                   Memory::grow_region ──► mm::vm::grow_region
//!                                     region check, length ──► Mapper::map_range_sparse
//!                                                                ──► PMM frames
//!        heap region [KERNEL_HEAP_START .. region_end) ◄── mapped ───┘
//!        (INITIAL_HEAP at boot plus the buddy heap's side table,
//!         HEAP_GROW_STEP at least per growth; nothing for a request no
//!         growth can serve)
//! ```
//!
//! Behind the heap, a reserve ([`RESERVE_BYTES`] in the kernel image, a
//! heap of its own): Rust allocations of kernel code fall back to it when
//! the heap cannot serve them even after growing (`mm::reserve`), so the
//! shell answers when the heap and the PMM are both dry. `alloc` asks the
//! heap alone ([`allocate`]) and can never drain the reserve.
//!
//! Everything the kernel knows about its heap is asked of the heap itself:
//! its design ([`kind`]), how much of the arena is mapped ([`mapped_bytes`],
//! the end of its highest region), its statistics. Nothing here copies it.
//!
//! Locking: the grow hook never waits for the memory lock; an allocation
//! that needs growth inside `memory::with` fails with
//! [`GrowFailure::MemoryLocked`] (see "Locking" in `kernel::memory`).
// course: module 06
//!
//! Two files: `mod.rs` (the heap and its reserve: start, queries, the
//! global allocator) and `grow.rs` (the grow and ungrow hooks over the VMM).
// course: end

// course: module 06
mod grow;

pub use grow::{GrowFailure, take_grow_failure};
use grow::{grow, growth, ungrow};
// course: end

use crate::bootinfo::BootInfo;
use crate::kernel::halt::fatal_because;
// course: module 05
use crate::kernel::memory;
// course: end
use crate::mm::AllocError;
use crate::mm::heap::{AnyHeap, HeapBackend, HeapKind, HeapStats, KernelHeap, Slabs};
// course: module 05
use crate::mm::layout::KERNEL_HEAP_START;
// course: before 06
// use crate::mm::addr::VirtAddr;
// use crate::mm::paging::EntryFlags;
// course: end
// course: end
use crate::mm::reserve::WithReserve;
// course: module 06
use crate::mm::vm::Grow;
// course: end
use crate::println;
use core::alloc::Layout;
use core::ptr::NonNull;

// course: module 05
/// The kernel heap's sizes, kept with every other size in `mm::layout`.
/// (The buddy heap's side table, `HeapKind::table_bytes`, is mapped with
/// the first `INITIAL_HEAP` bytes.)
pub use crate::mm::layout::{HEAP_ARENA, HEAP_GROW_STEP, INITIAL_HEAP};
// course: end
// course: before 05
// /// Bytes of the stand-in heap's arena (see [`init`]).
// pub const STANDIN_HEAP_BYTES: usize = 2 * 1024 * 1024;
// /// The size the heap starts with: here all of it, at once.
// pub const INITIAL_HEAP: usize = STANDIN_HEAP_BYTES;
//
// /// The stand-in arena (.bss): before paging the heap cannot be mapped.
// #[repr(C, align(4096))]
// struct StandInArena([u8; STANDIN_HEAP_BYTES]);
// static mut STANDIN_ARENA: StandInArena = StandInArena([0; STANDIN_HEAP_BYTES]);
//
// /// Where the stand-in arena starts.
// fn arena_base() -> *mut u8 {
//     (&raw mut STANDIN_ARENA).cast::<u8>()
// }
// course: end

/// The kernel heap: one of four designs.
static KERNEL_HEAP: KernelHeap = KernelHeap::empty();

/// Bytes of the reserve: the largest report (8 KiB) several times over,
/// and the error messages and slot stacks of a shell that keeps answering.
pub const RESERVE_BYTES: usize = 64 * 1024;

/// The reserve's memory, in the kernel image (.bss).
#[repr(C, align(4096))]
struct ReserveBuf([u8; RESERVE_BYTES]);
static mut RESERVE_BUF: ReserveBuf = ReserveBuf([0; RESERVE_BYTES]);

/// The reserve heap (buddy, never grows).
static RESERVE: KernelHeap = KernelHeap::empty();

/// Every Rust allocation of the kernel: the heap, then the reserve.
// course: lab 03
#[global_allocator]
// course: stub
// // (Lab 3: not the global allocator here; `LAB_STANDIN` below is.)
// course: end
static ALLOCATOR: WithReserve = WithReserve::new(&KERNEL_HEAP, &RESERVE);

// course: lab 03
// course: stub
// /// Lab 3's stand-in: the kernel's own `Box`, `Vec` and `String` come
// /// from this bump allocator, not from the buddy heaps whose split and
// /// coalesce are yours to write, so the kernel boots and its shell answers
// /// whatever state your code is in. `alloc`, `free`, `heap`, `heapcheck`,
// /// the playground and its hotkeys still run your buddy heap.
// #[global_allocator]
// static LAB_STANDIN: crate::mm::bump::BumpHeap<{ 1024 * 1024 }> =
//     crate::mm::bump::BumpHeap::new();
// course: end

/// Map the first [`INITIAL_HEAP`] bytes (and the design's side table),
/// start the design `heap=` names (buddy by default; a bad name prints why
/// and keeps buddy), turn poisoning on with `poison`, and install the grow
/// hooks. Needs `memory::init`; stops the kernel when it fails.
pub fn init(info: &BootInfo) {
    let kind = match info.option("heap").map(HeapKind::parse) {
        None => HeapKind::Buddy,
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            crate::kernel::console::warn_line(format_args!("memory: {e}; using buddy"));
            HeapKind::Buddy
        }
    };
    // course: module 05
    let first_map = INITIAL_HEAP + kind.table_bytes(HEAP_ARENA);
    // course: module 06
    let first = Grow {
        step: first_map,
        ..growth(KERNEL_HEAP_START as usize, first_map)
    };
    if let Err(e) = memory::with(|m| m.grow_region(&first)) {
        fatal_because("memory: cannot map the first heap pages", e);
    }
    // course: else
    // // Before the VMM (module 6) the heap is mapped once, at boot, straight
    // // from the PMM, and never grows: 4 MiB of it, not INITIAL_HEAP.
    // let first_map = first_map.max(crate::mm::layout::LARGE_PAGE_SIZE);
    // let flags = EntryFlags::WRITABLE | EntryFlags::GLOBAL;
    // let at = VirtAddr(KERNEL_HEAP_START);
    // let mapped = memory::with(|m| m.map_fresh(at, first_map, flags));
    // if let Err(e) = mapped {
    //     fatal_because("memory: cannot map the first heap pages", e);
    // }
    // course: end
    // The arena's addresses come from the page tables, not from a Rust
    // allocation: the pointer takes whatever provenance the mapping exposed.
    let base = core::ptr::with_exposed_provenance_mut(KERNEL_HEAP_START as usize);
    let (base, arena, mapped) = (base, HEAP_ARENA, first_map);
    // course: else
    // // The stand-in before frames (module 4) and paging (module 5): nothing
    // // can map an arena yet, so the heap runs over a static array in the
    // // kernel image (.bss), all of it usable at once, and never grows.
    // let (base, arena, mapped) = (arena_base(), STANDIN_HEAP_BYTES, STANDIN_HEAP_BYTES);
    // course: end
    // SAFETY: `mapped` bytes at `base` are mapped for the heap alone (the
    // first heap pages just mapped, or the stand-in's static array, used by
    // this heap alone); the rest of the arena is mapped by `grow` before use.
    match unsafe { AnyHeap::new(kind, base, arena, mapped) } {
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
    // course: module 06
    KERNEL_HEAP.set_grow(grow);
    KERNEL_HEAP.set_ungrow(ungrow);
    // course: end
    init_reserve();
}

/// Start the reserve heap over its static buffer. Called once, by [`init`].
fn init_reserve() {
    let base = (&raw mut RESERVE_BUF).cast::<u8>();
    // SAFETY: RESERVE_BUF is used by this heap alone, for the whole run;
    // `init` runs once, before anything can fall back to the reserve.
    // No slabs: the reserve's few KiB keep whole blocks for the reports.
    match unsafe { AnyHeap::buddy(base, RESERVE_BYTES, RESERVE_BYTES, Slabs::Off) } {
        Ok(heap) => {
            RESERVE.init(heap);
            ALLOCATOR.set_reserve_range(base.addr(), RESERVE_BYTES);
        }
        Err(e) => fatal_because("memory: cannot start the reserve heap", e),
    }
}

/// Run `f` with the reserve closed ([`WithReserve::main_only`]): what it
/// allocates comes from the kernel heap alone. The playground's slot stacks
/// grow this way, so a hotkey at exhaustion says it cannot store its block
/// and the reserve stays for the shell's answers.
pub fn without_reserve<R>(f: impl FnOnce() -> R) -> R {
    ALLOCATOR.main_only(f)
}

/// The reserve's usage, or `None` before [`init`].
pub fn reserve_stats() -> Option<HeapStats> {
    RESERVE.stats()
}

/// Run `f` on the reserve heap under its lock (for `heapcheck`); `None`
/// before [`init`]. `f` must not allocate.
pub fn with_reserve<R>(f: impl FnOnce(&mut AnyHeap) -> R) -> Option<R> {
    RESERVE.with(f)
}

/// How many allocations the reserve served since boot, and how many
/// requests neither the heap nor the reserve could serve.
pub fn reserve_counts() -> (usize, usize) {
    (ALLOCATOR.served(), ALLOCATOR.refused())
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
    h.region_end().saturating_sub(arena().0)
}

/// The heap's arena: (first address, bytes), mapped or not.
pub fn arena() -> (usize, usize) {
    // course: module 05
    (KERNEL_HEAP_START as usize, HEAP_ARENA)
    // course: else
    // (arena_base().addr(), STANDIN_HEAP_BYTES)
    // course: end
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

/// Allocate for `layout` from the kernel heap, growing it if it is short;
/// never from the reserve.
pub fn allocate(layout: Layout) -> Result<NonNull<u8>, AllocError> {
    KERNEL_HEAP.allocate(layout)
}

/// Give `ptr` back to the kernel heap; a refusal is counted in [`bad_frees`].
pub fn deallocate(ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
    KERNEL_HEAP.deallocate(ptr, layout)
}
