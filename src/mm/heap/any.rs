//! The kernel heap as any of four designs, chosen at boot with `heap=`.
//!
//! ```text
//!   #[global_allocator] ── alloc::LockedHeap<AnyHeap> ──┬── Buddy     (default)
//!        grow hook: map pages at region_end()           ├── Pool
//!                                                       ├── GapTree
//!                                                       └── FirstFit
//! ```
//!
//! Every design implements [`HeapBackend`]; this enum forwards to the one in
//! use, so the kernel has one global allocator and one grow hook for all.

use super::backend::{HeapBackend, HeapStats};
use super::buddy::{BuddyHeap, HeapError};
use super::firstfit::FirstFitHeap;
use super::gaptree::{GapTreeHeap, VoidPolicy};
use super::poolheap::PoolHeap;
use crate::mm::family::AllocError;
use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

/// Which design the kernel heap uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeapKind {
    Buddy,
    Pool,
    GapTree,
    FirstFit,
}

impl HeapKind {
    /// Every kind, in the order the GRUB menu lists them.
    pub const ALL: [HeapKind; 4] = [
        HeapKind::Buddy,
        HeapKind::Pool,
        HeapKind::GapTree,
        HeapKind::FirstFit,
    ];

    /// The kind named by a `heap=` value.
    pub fn parse(s: &str) -> Result<HeapKind, &'static str> {
        match s {
            "buddy" => Ok(HeapKind::Buddy),
            "pool" => Ok(HeapKind::Pool),
            "gaptree" => Ok(HeapKind::GapTree),
            "firstfit" => Ok(HeapKind::FirstFit),
            _ => Err("heap= takes buddy, pool, gaptree or firstfit"),
        }
    }

    /// The `heap=` name.
    pub fn name(self) -> &'static str {
        match self {
            HeapKind::Buddy => "buddy",
            HeapKind::Pool => "pool",
            HeapKind::GapTree => "gaptree",
            HeapKind::FirstFit => "firstfit",
        }
    }
}

/// The buddy heap's scales as the kernel heap: 16-byte blocks up to the
/// whole arena.
pub const KERNEL_MIN_SCALE: u8 = 4;

/// One of the four heaps. It lives in one static for the whole run, so the
/// size difference between the variants costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
pub enum AnyHeap {
    Buddy(BuddyHeap),
    Pool(PoolHeap),
    GapTree(GapTreeHeap),
    FirstFit(FirstFitHeap),
}

impl AnyHeap {
    /// A heap of `kind` over `arena_len` bytes of address space at `base`,
    /// of which the first `backed` bytes are memory now (the rest comes
    /// through the grow hook).
    ///
    /// # Safety
    /// `base..base+backed` must be valid, writable memory used by nothing
    /// else for as long as the heap lives.
    pub unsafe fn new(
        kind: HeapKind,
        base: usize,
        arena_len: usize,
        backed: usize,
    ) -> Result<AnyHeap, AllocError> {
        let mut heap = match kind {
            HeapKind::Buddy => {
                let max_scale = usize::BITS as u8 - 1 - arena_len.leading_zeros() as u8;
                // SAFETY: forwarded from the caller.
                let b = unsafe {
                    BuddyHeap::with_arena(
                        base as *mut u8,
                        arena_len,
                        backed,
                        KERNEL_MIN_SCALE,
                        max_scale,
                    )
                }
                .map_err(to_alloc_error)?;
                return Ok(AnyHeap::Buddy(b));
            }
            HeapKind::Pool => AnyHeap::Pool(PoolHeap::new()),
            HeapKind::GapTree => AnyHeap::GapTree(GapTreeHeap::new(VoidPolicy::NoVoid)),
            HeapKind::FirstFit => AnyHeap::FirstFit(FirstFitHeap::new()),
        };
        // SAFETY: forwarded from the caller.
        unsafe { heap.add_region(base, backed)? };
        Ok(heap)
    }

    /// The buddy heap, when that is the design in use (for `heap`, `heapmap`...).
    pub fn as_buddy(&mut self) -> Option<&mut BuddyHeap> {
        match self {
            AnyHeap::Buddy(b) => Some(b),
            _ => None,
        }
    }

    fn backend(&mut self) -> &mut dyn HeapBackend {
        match self {
            AnyHeap::Buddy(h) => h,
            AnyHeap::Pool(h) => h,
            AnyHeap::GapTree(h) => h,
            AnyHeap::FirstFit(h) => h,
        }
    }

    fn backend_ref(&self) -> &dyn HeapBackend {
        match self {
            AnyHeap::Buddy(h) => h,
            AnyHeap::Pool(h) => h,
            AnyHeap::GapTree(h) => h,
            AnyHeap::FirstFit(h) => h,
        }
    }
}

/// The buddy heap's error, in the family's terms.
pub fn to_alloc_error(e: HeapError) -> AllocError {
    match e {
        HeapError::OutOfMemory { .. } | HeapError::ArenaFull { .. } => AllocError::OutOfMemory,
        HeapError::ZeroSize | HeapError::TooBig { .. } | HeapError::LayoutMismatch { .. } => {
            AllocError::InvalidSize
        }
        HeapError::BadAlign { .. } => AllocError::InvalidAlignment,
        HeapError::Corrupt { .. } => AllocError::Corrupted,
        HeapError::BadScales { .. }
        | HeapError::BadRegion
        | HeapError::OutsideHeap { .. }
        | HeapError::NotPayload { .. }
        | HeapError::Interior { .. }
        | HeapError::DoubleFree { .. } => AllocError::InvalidAddress,
    }
}

/// The buddy heap as a family member: regions must follow each other
/// (the heap grows at its end), and frees are the checked kind.
impl HeapBackend for BuddyHeap {
    fn name(&self) -> &'static str {
        "buddy"
    }
    unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
        if start != self.backed_end_addr() {
            return Err(AllocError::InvalidAddress);
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.add_backed(len) }.map_err(to_alloc_error)
    }
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        self.alloc_layout(layout).map_err(to_alloc_error)
    }
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        self.free_layout(ptr, layout).map_err(to_alloc_error)
    }
    fn stats(&self) -> HeapStats {
        let free = self.free_counts().total_bytes();
        let report = self.check().ok();
        HeapStats {
            size: self.heap_bytes(),
            used: self.heap_bytes() - free,
            free,
            largest_free: self.largest_free().map(|s| s.bytes()).unwrap_or(0),
            allocations: report.map(|r| r.used_blocks).unwrap_or(0),
        }
    }
    fn check(&self) -> Result<(), &'static str> {
        BuddyHeap::check(self)
            .map(|_| ())
            .map_err(|_| "buddy heap check failed (run heapcheck for details)")
    }
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let mut w = DynWrite(out);
        super::report::write_report(self, &mut w)
    }
    fn grow_hint(&self, layout: Layout) -> usize {
        BuddyHeap::grow_hint(self, layout).unwrap_or(0)
    }
    fn region_end(&self) -> usize {
        self.backed_end_addr()
    }
}

impl HeapBackend for AnyHeap {
    fn name(&self) -> &'static str {
        self.backend_ref().name()
    }
    unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.backend().add_region(start, len) }
    }
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        self.backend().alloc(layout)
    }
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        self.backend().dealloc(ptr, layout)
    }
    fn stats(&self) -> HeapStats {
        self.backend_ref().stats()
    }
    fn check(&self) -> Result<(), &'static str> {
        self.backend_ref().check()
    }
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        self.backend_ref().dump(out)
    }
    fn grow_hint(&self, layout: Layout) -> usize {
        self.backend_ref().grow_hint(layout)
    }
    fn region_end(&self) -> usize {
        self.backend_ref().region_end()
    }
}

struct DynWrite<'a>(&'a mut dyn fmt::Write);

impl fmt::Write for DynWrite<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::heap::backend::LockedHeap;
    use crate::mm::layout::PAGE_SIZE;
    use std::alloc::{alloc_zeroed, dealloc};

    const ARENA: usize = 1 << 20;

    fn arena() -> (*mut u8, Layout) {
        let layout = Layout::from_size_align(ARENA, PAGE_SIZE).unwrap();
        // SAFETY: non-zero size.
        (unsafe { alloc_zeroed(layout) }, layout)
    }

    #[test]
    fn kinds_parse_and_name() {
        for k in HeapKind::ALL {
            assert_eq!(HeapKind::parse(k.name()), Ok(k));
        }
        assert!(HeapKind::parse("slab").is_err());
    }

    #[test]
    fn every_kind_allocates_frees_grows_and_checks() {
        static GROWN: std::sync::Mutex<usize> = std::sync::Mutex::new(0);
        fn grow(end: usize, min: usize) -> Option<usize> {
            // The arena is already memory: hand out the next 64 KiB (or what is needed).
            *GROWN.lock().unwrap() += 1;
            let _ = end;
            Some(min.max(64 * 1024).next_multiple_of(PAGE_SIZE))
        }
        for kind in HeapKind::ALL {
            let (base, layout) = arena();
            let heap = LockedHeap::<AnyHeap>::empty();
            // SAFETY: the first 64 KiB of the arena are ours; the rest is handed over by `grow`.
            heap.init(unsafe { AnyHeap::new(kind, base as usize, ARENA, 64 * 1024) }.unwrap());
            heap.set_grow(grow);
            let mut live = Vec::new();
            for i in 0..400usize {
                let l = Layout::from_size_align(16 + (i * 37) % 900, 1 << (i % 7)).unwrap();
                let p = heap
                    .allocate(l)
                    .unwrap_or_else(|e| panic!("{kind:?}: {e:?} at {i}"));
                assert_eq!(p.as_ptr() as usize % l.align(), 0);
                // SAFETY: the block holds l.size() bytes.
                unsafe { p.as_ptr().write_bytes(i as u8, l.size()) };
                live.push((p, l, i as u8));
            }
            assert!(heap.times_grown() > 0, "{kind:?} never grew");
            assert_eq!(heap.with(|h| h.name()).unwrap(), kind.name());
            for (p, l, v) in live.drain(..) {
                // SAFETY: p holds l.size() bytes written above.
                assert!(
                    unsafe { core::slice::from_raw_parts(p.as_ptr(), l.size()) }
                        .iter()
                        .all(|&b| b == v)
                );
                heap.deallocate(p, l).unwrap();
            }
            let (p, l) = (
                heap.allocate(Layout::new::<u64>()).unwrap(),
                Layout::new::<u64>(),
            );
            heap.deallocate(p, l).unwrap();
            assert!(
                heap.deallocate(p, l).is_err(),
                "{kind:?} accepted a double free"
            );
            heap.with(|h| h.check()).unwrap().unwrap();
            let stats = heap.stats().unwrap();
            assert_eq!(stats.used + stats.free, stats.size, "{kind:?}: {stats:?}");
            // SAFETY: the heap (dropped here) is done with the arena.
            let _ = heap;
            unsafe { dealloc(base, layout) };
        }
    }

    #[test]
    fn a_growth_the_heap_refuses_is_given_back() {
        static UNGROWN: std::sync::Mutex<Vec<(usize, usize)>> = std::sync::Mutex::new(Vec::new());
        static END: std::sync::Mutex<usize> = std::sync::Mutex::new(0);
        fn grow_too_much(end: usize, _min: usize) -> Option<usize> {
            *END.lock().unwrap() = end;
            Some(2 * ARENA) // more than the arena has room for: the buddy heap refuses
        }
        fn ungrow(start: usize, len: usize) {
            UNGROWN.lock().unwrap().push((start, len));
        }
        let (base, layout) = arena();
        let heap = LockedHeap::<AnyHeap>::empty();
        // SAFETY: the first 64 KiB of the arena are ours.
        heap.init(
            unsafe { AnyHeap::new(HeapKind::Buddy, base as usize, ARENA, 64 * 1024) }.unwrap(),
        );
        heap.set_grow(grow_too_much);
        heap.set_ungrow(ungrow);
        let before = heap.stats().unwrap();
        let big = Layout::from_size_align(128 * 1024, 8).unwrap();
        assert!(
            heap.allocate(big).is_err(),
            "the refused growth cannot serve the request"
        );
        let end = *END.lock().unwrap();
        assert_eq!(
            *UNGROWN.lock().unwrap(),
            vec![(end, 2 * ARENA)],
            "the mapped range went back"
        );
        assert_eq!(heap.times_grown(), 0);
        assert_eq!(heap.stats().unwrap(), before, "the heap is unchanged");
        heap.with(|h| h.check()).unwrap().unwrap();
        let _ = heap;
        // SAFETY: the heap is done with the arena.
        unsafe { dealloc(base, layout) };
    }
}
