//! The pool allocator as a kernel heap: pools for small objects, whole
//! pages straight from the arena for the rest.
//!
//! ```text
//!   alloc(layout) ── small (slot ≤ 2 KiB, align ≤ POOL_ALIGN) ──▶ PoolAllocator
//!          │                                                         │ pools
//!          └──── large or page-aligned ──▶ PageArena ◀───────────────┘
//!                                          one BitAllocator of pages per region,
//!                                          its two bit arrays in the region's first page(s)
//! ```
//!
//! A large block's size is checked at free to page granularity only (the
//! arena counts pages, not bytes): any size that rounds to the same number
//! of pages "fits", as `core::alloc::Allocator` allows.
//!
//! The arena is the "simple region" parent: a bitmap of 4 KiB pages. Every
//! region the kernel adds (at boot, or later through the grow hook) becomes
//! one more page allocator; pools and large blocks come from the first one
//! with room.
//!
//! `realloc` in place: an object stays where it is when the new size takes
//! the same slot size (the postfix signature moves), a large block when it
//! keeps the same number of pages; anything else moves (a pool slot cannot
//! grow into its neighbour, and the page arena cannot extend a run).
//! Poisoning (the `poison` boot option): a freed object's bytes between its
//! prefix and its guard word, and every free page of the arena, hold
//! [`POISON`]; the prefix (cleared at free), the guard and the pools'
//! headers and bitmaps are metadata and are not poisoned. `check()` names
//! the first free slot or page written after its free.

use super::backend::{HeapBackend, HeapStats};
use super::fault::{HeapCheckError, PoolFault};
use super::poison::{self, POISON};
use crate::mm::bitmap::Bitmap;
use crate::mm::family::bit::{BitAllocator, RawWords};
use crate::mm::family::pool::{self, POOL_ALIGN, PoolAllocator};
use crate::mm::family::{AllocError, Allocator, FamilyCheckError, Range, align_down, align_up};
use crate::mm::layout::PAGE_SIZE;
use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

/// Most regions the arena holds.
pub const MAX_ARENAS: usize = 16;
/// Largest pool index the heap uses; bigger objects take whole pages.
pub const LARGE_INDEX: usize = 11;

/// Pages of one or more regions, each tracked by a [`BitAllocator`].
pub struct PageArena {
    arenas: [Option<BitAllocator<RawWords>>; MAX_ARENAS],
}

impl Default for PageArena {
    fn default() -> Self {
        Self::new()
    }
}

impl PageArena {
    /// An arena with no memory yet.
    pub const fn new() -> PageArena {
        PageArena {
            arenas: [const { None }; MAX_ARENAS],
        }
    }

    /// Add `len` bytes at `start` (trimmed to pages); the first page(s) hold
    /// the region's bit arrays. Errors: `InvalidSize` (less than two pages
    /// after trimming), `InvalidAddress` (overlap), `OutOfMemory` (full).
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, used by nothing else,
    /// and live as long as the arena.
    pub unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
        let end = align_down(
            start.checked_add(len).ok_or(AllocError::InvalidSize)?,
            PAGE_SIZE,
        );
        let start = align_up(start, PAGE_SIZE).ok_or(AllocError::InvalidSize)?;
        if end <= start {
            return Err(AllocError::InvalidSize);
        }
        let pages = (end - start) / PAGE_SIZE;
        let words = Bitmap::<RawWords>::words_for(pages);
        let meta_pages = (2 * words * 4).div_ceil(PAGE_SIZE);
        if pages <= meta_pages {
            return Err(AllocError::InvalidSize);
        }
        if self
            .arenas
            .iter()
            .flatten()
            .any(|a| start < a.base() + a.size() && a.base() < end)
        {
            return Err(AllocError::InvalidAddress);
        }
        let slot = self
            .arenas
            .iter()
            .position(|a| a.is_none())
            .ok_or(AllocError::OutOfMemory)?;
        let managed = Range {
            address: start + meta_pages * PAGE_SIZE,
            size: (pages - meta_pages) * PAGE_SIZE,
            alignment: PAGE_SIZE,
        };
        // SAFETY: the first meta_pages pages are ours (contract) and hold
        // 2 * words words; nothing else uses them.
        let (used, starts) = unsafe {
            (
                RawWords::new(start as *mut u32, words),
                RawWords::new((start + words * 4) as *mut u32, words),
            )
        };
        self.arenas[slot] = Some(BitAllocator::new(managed, PAGE_SIZE, used, starts)?);
        Ok(())
    }

    /// The longest free run, in bytes, over all regions.
    pub fn largest_free(&self) -> usize {
        self.arenas
            .iter()
            .flatten()
            .map(|a| a.largest_free())
            .max()
            .unwrap_or(0)
    }

    /// Live allocations (pools and large blocks).
    pub fn allocations(&self) -> usize {
        self.arenas.iter().flatten().map(|a| a.allocations()).sum()
    }

    /// Bytes of the allocation starting at `address`.
    pub fn allocation_size(&self, address: usize) -> Result<usize, AllocError> {
        self.owner(address)
            .ok_or(AllocError::InvalidAddress)?
            .allocation_size(address)
    }

    fn owner(&self, address: usize) -> Option<&BitAllocator<RawWords>> {
        self.arenas
            .iter()
            .flatten()
            .find(|a| address >= a.base() && address < a.base() + a.size())
    }

    /// One past the highest region's last byte (0 with none).
    pub fn region_end(&self) -> usize {
        self.arenas
            .iter()
            .flatten()
            .map(|a| a.base() + a.size())
            .max()
            .unwrap_or(0)
    }

    /// `f(page)` for every free page of every region.
    pub fn for_each_free_page(&self, f: &mut dyn FnMut(usize)) {
        for a in self.arenas.iter().flatten() {
            for page in (a.base()..a.base() + a.size()).step_by(PAGE_SIZE) {
                if !a.is_allocated(page) {
                    f(page);
                }
            }
        }
    }

    /// Integrity check of every region's bits.
    pub fn check(&self) -> Result<(), FamilyCheckError> {
        self.arenas.iter().flatten().try_for_each(|a| a.check())
    }

    /// One summary line per region.
    pub fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        for a in self.arenas.iter().flatten() {
            writeln!(
                out,
                "arena [V{:#010x} , V{:#010x}] {} pages, {} free, {} allocations",
                a.base(),
                a.base() + a.size() - 1,
                a.chunks(),
                a.available() / PAGE_SIZE,
                a.allocations()
            )?;
        }
        Ok(())
    }
}

impl Allocator for PageArena {
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        let align = if request.alignment <= PAGE_SIZE {
            0
        } else {
            request.alignment
        };
        let req = Range {
            alignment: align,
            ..request
        };
        let mut err = AllocError::OutOfMemory;
        for a in self.arenas.iter_mut().flatten() {
            match a.allocate(req) {
                Ok(r) => return Ok(r),
                Err(AllocError::OutOfMemory) => {}
                Err(e) => err = e,
            }
        }
        Err(err)
    }
    fn release(&mut self, address: usize) -> Result<(), AllocError> {
        self.arenas
            .iter_mut()
            .flatten()
            .find(|a| address >= a.base() && address < a.base() + a.size())
            .ok_or(AllocError::InvalidAddress)?
            .release(address)
    }
    fn size(&self) -> usize {
        self.arenas.iter().flatten().map(|a| a.size()).sum()
    }
    fn available(&self) -> usize {
        self.arenas.iter().flatten().map(|a| a.available()).sum()
    }
    fn base(&self) -> usize {
        self.arenas
            .iter()
            .flatten()
            .map(|a| a.base())
            .next()
            .unwrap_or(0)
    }
    fn alignment(&self) -> usize {
        PAGE_SIZE
    }
}

/// A pointer to `addr` of the arena's memory. The family keeps addresses
/// as integers, so this takes the provenance the memory's owner exposed
/// when it handed the region over as an address.
fn arena_ptr(addr: usize) -> *mut u8 {
    core::ptr::with_exposed_provenance_mut(addr)
}

/// The pool heap: a [`PoolAllocator`] over a [`PageArena`].
pub struct PoolHeap {
    pools: PoolAllocator<PageArena>,
    large: usize,
}

enum Route {
    Pool,
    Large,
}

fn route(layout: Layout) -> Route {
    match pool::pool_index(layout.size()) {
        Some(i) if i <= LARGE_INDEX && layout.align() <= POOL_ALIGN => Route::Pool,
        _ => Route::Large,
    }
}

impl Default for PoolHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl PoolHeap {
    /// A pool heap with no memory; add regions with `add_region`.
    pub const fn new() -> PoolHeap {
        PoolHeap {
            // SAFETY: the arena only hands out memory given to it through
            // the unsafe `add_region`, whose contract is what `new` needs.
            pools: unsafe { PoolAllocator::new(PageArena::new()) },
            large: 0,
        }
    }

    /// The pools (for reports).
    pub fn pools(&self) -> &PoolAllocator<PageArena> {
        &self.pools
    }

    /// Live large (page) allocations.
    pub fn large_allocations(&self) -> usize {
        self.large
    }
}

impl HeapBackend for PoolHeap {
    fn name(&self) -> &'static str {
        "pool"
    }
    unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
        // SAFETY: forwarded contract.
        unsafe { self.pools.parent_mut().add_region(start, len)? };
        if self.poisoning() {
            let end = start + len;
            self.pools.parent().for_each_free_page(&mut |page| {
                if page >= start && page < end {
                    // SAFETY: a free page of the region just added.
                    unsafe { poison::fill(arena_ptr(page), PAGE_SIZE) };
                }
            });
        }
        Ok(())
    }
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        if layout.size() == 0 {
            return Err(AllocError::InvalidSize);
        }
        if layout.align() > PAGE_SIZE {
            return Err(AllocError::InvalidAlignment);
        }
        let r = match route(layout) {
            Route::Pool => self.pools.allocate(Range::request(layout.size(), 0))?,
            Route::Large => {
                let r = self
                    .pools
                    .parent_mut()
                    .allocate(Range::request(layout.size(), 0))?;
                self.large += 1;
                r
            }
        };
        NonNull::new(r.address as *mut u8).ok_or(AllocError::OutOfMemory)
    }
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        let a = ptr.as_ptr() as usize;
        match route(layout) {
            Route::Pool => self.pools.release_sized(a, layout.size()),
            Route::Large => {
                if self.pools.is_pool_block(a) {
                    return Err(AllocError::InvalidAddress);
                }
                let have = self.pools.parent().allocation_size(a)?;
                if have != align_up(layout.size(), PAGE_SIZE).ok_or(AllocError::InvalidSize)? {
                    return Err(AllocError::InvalidSize);
                }
                self.pools.parent_mut().release(a)?;
                self.large -= 1;
                if self.poisoning() {
                    // SAFETY: the block's pages are free arena memory now.
                    unsafe { poison::fill(arena_ptr(a), have) };
                }
                Ok(())
            }
        }
    }
    fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<bool, AllocError> {
        let a = ptr.as_ptr() as usize;
        match route(layout) {
            Route::Pool => self.pools.resize_sized(a, layout.size(), new_size),
            Route::Large => {
                if self.pools.is_pool_block(a) {
                    return Err(AllocError::InvalidAddress);
                }
                let have = self.pools.parent().allocation_size(a)?;
                if have != align_up(layout.size(), PAGE_SIZE).ok_or(AllocError::InvalidSize)? {
                    return Err(AllocError::InvalidSize);
                }
                let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
                    return Ok(false);
                };
                Ok(new_size > 0
                    && matches!(route(new), Route::Large)
                    && align_up(new_size, PAGE_SIZE) == Some(have))
            }
        }
    }
    fn set_poison(&mut self, on: bool) -> bool {
        if on && !self.poisoning() {
            self.pools.parent().for_each_free_page(&mut |page| {
                // SAFETY: a free page of the arena: no allocation uses it.
                unsafe { poison::fill(arena_ptr(page), PAGE_SIZE) }
            });
        }
        self.pools.set_freed_fill(on.then_some(POISON));
        true
    }
    fn poisoning(&self) -> bool {
        self.pools.freed_fill().is_some()
    }
    fn stats(&self) -> HeapStats {
        let arena = self.pools.parent();
        let free = arena.available() + self.pools.available();
        HeapStats {
            size: arena.size(),
            used: arena.size() - free,
            free,
            largest_free: arena.largest_free().max(self.pools.largest_free_slot()),
            allocations: self.pools.objects() + self.large,
        }
    }
    fn check(&self) -> Result<(), HeapCheckError> {
        let family = |e| HeapCheckError::Pool(PoolFault::Family(e));
        self.pools.parent().check().map_err(family)?;
        self.pools.check().map_err(family)?;
        let mut pools = 0;
        for i in pool::MIN_POOL_INDEX..=pool::MAX_POOL_INDEX {
            pools += self.pools.pool_count(i);
        }
        if self.pools.parent().allocations() != pools + self.large {
            return Err(HeapCheckError::Pool(PoolFault::ArenaCount));
        }
        if self.poisoning() {
            if let Some((block, at)) = self.pools.first_unfilled() {
                return Err(HeapCheckError::Pool(PoolFault::Poisoned { block, at }));
            }
            let mut written = None;
            self.pools.parent().for_each_free_page(&mut |page| {
                if written.is_none() {
                    // SAFETY: a free page of the arena.
                    written = unsafe { poison::first_written(arena_ptr(page), PAGE_SIZE) }
                        .map(|at| PoolFault::Poisoned { block: page, at });
                }
            });
            if let Some(e) = written {
                return Err(HeapCheckError::Pool(e));
            }
        }
        Ok(())
    }
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        self.pools.parent().dump(out)?;
        self.pools.dump(out)?;
        writeln!(out, "{} large allocations", self.large)
    }
    fn grow_hint(&self, layout: Layout) -> Option<usize> {
        let need = match route(layout) {
            Route::Pool => {
                let i = pool::pool_index(layout.size()).unwrap_or(LARGE_INDEX);
                let osize = pool::object_size(i);
                // A new pool may be several times the first one's size.
                osize * pool::object_count(osize) * (self.pools.pool_count(i) + 1) + PAGE_SIZE
            }
            Route::Large => layout.size(),
        };
        // Grow geometrically (at least doubling): the arena holds at most
        // MAX_ARENAS regions and a block cannot span two, so fixed small steps
        // would stop the heap after MAX_ARENAS - 1 growths.
        let need = need
            .saturating_add(2 * PAGE_SIZE)
            .max(self.pools.parent().size());
        align_up(need, PAGE_SIZE)
    }
    fn region_end(&self) -> usize {
        self.pools.parent().region_end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::heap::testkit::{Arena, Soak, heap_soak};
    use crate::testutil::{miri_or, soak_ops};

    fn heap_on(a: &Arena) -> PoolHeap {
        let mut h = PoolHeap::new();
        // SAFETY: the arena outlives the heap and is used by nothing else.
        unsafe { HeapBackend::add_region(&mut h, a.start(), a.len()).unwrap() };
        h
    }

    #[test]
    fn small_objects_in_pools_large_ones_in_pages() {
        let a = Arena::new(64 * PAGE_SIZE);
        let mut h = heap_on(&a);
        let s = h.stats();
        assert_eq!(s.size, 63 * PAGE_SIZE, "one page holds the bit arrays");
        assert_eq!((s.free, s.largest_free, s.allocations), (s.size, s.size, 0));
        let small = Layout::from_size_align(24, 8).unwrap();
        let big = Layout::from_size_align(10_000, 8).unwrap();
        let paged = Layout::from_size_align(64, 4096).unwrap();
        let p = h.alloc(small).unwrap();
        let q = h.alloc(big).unwrap();
        let r = h.alloc(paged).unwrap();
        assert!((r.as_ptr() as usize).is_multiple_of(4096));
        assert!((q.as_ptr() as usize).is_multiple_of(4096));
        assert_eq!(h.pools().objects(), 1);
        assert_eq!(h.large_allocations(), 2);
        assert_eq!(h.stats().allocations, 3);
        h.check().unwrap();
        // Wrong layouts are refused.
        assert_eq!(
            h.dealloc(q, Layout::from_size_align(20_000, 8).unwrap()),
            Err(AllocError::InvalidSize)
        );
        assert!(
            h.dealloc(p, Layout::from_size_align(3000, 8).unwrap())
                .is_err()
        );
        // A pool's own block cannot be freed as a large allocation.
        let pool_block = {
            let mut addr = 0;
            h.pools()
                .for_each_pool(pool::pool_index(24).unwrap(), &mut |i| addr = i.address);
            addr
        };
        let fake = NonNull::new(pool_block as *mut u8).unwrap();
        assert_eq!(
            h.dealloc(fake, Layout::from_size_align(5 * PAGE_SIZE, 8).unwrap()),
            Err(AllocError::InvalidAddress)
        );
        h.dealloc(p, small).unwrap();
        h.dealloc(q, big).unwrap();
        h.dealloc(r, paged).unwrap();
        let s = h.stats();
        assert_eq!(
            (s.free, s.allocations, s.fragmentation_permille()),
            (s.size, 0, 0)
        );
        h.check().unwrap();
    }

    #[test]
    fn arena_regions_and_errors() {
        let a = Arena::new(8 * PAGE_SIZE);
        let mut arena = PageArena::new();
        // SAFETY: pieces of one arena that outlives `arena`.
        unsafe {
            assert_eq!(
                arena.add_region(a.start(), PAGE_SIZE),
                Err(AllocError::InvalidSize)
            );
            arena.add_region(a.start(), 4 * PAGE_SIZE).unwrap();
            assert_eq!(
                arena.add_region(a.start() + 2 * PAGE_SIZE, 4 * PAGE_SIZE),
                Err(AllocError::InvalidAddress)
            );
            arena
                .add_region(a.start() + 4 * PAGE_SIZE, 4 * PAGE_SIZE)
                .unwrap();
        }
        assert_eq!(arena.size(), 6 * PAGE_SIZE);
        let x = arena.allocate(Range::request(3 * PAGE_SIZE, 0)).unwrap();
        let y = arena.allocate(Range::request(3 * PAGE_SIZE, 0)).unwrap();
        assert!(x.address < a.start() + 4 * PAGE_SIZE && y.address > a.start() + 4 * PAGE_SIZE);
        assert_eq!(
            arena.allocate(Range::request(1, 0)),
            Err(AllocError::OutOfMemory)
        );
        assert_eq!(
            arena.release(x.address + PAGE_SIZE),
            Err(AllocError::InvalidAddress)
        );
        arena.release(x.address).unwrap();
        arena.release(y.address).unwrap();
        assert_eq!(arena.available(), 6 * PAGE_SIZE);
        arena.check().unwrap();
    }

    #[repr(C, align(4096))]
    struct Big([u8; 1 << 20]);
    static mut BIG: Big = Big([0; 1 << 20]);
    static NEXT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

    fn grow(end: usize, min: usize) -> Option<usize> {
        use core::sync::atomic::Ordering;
        let base = &raw mut BIG as usize;
        let len = align_up(min, 16 * PAGE_SIZE)?;
        let off = NEXT.fetch_add(len, Ordering::Relaxed);
        (off + len <= 1 << 20 && end == base + off).then_some(len)
    }

    /// The pool heap as a `GlobalAlloc`, growing a region at a time.
    #[test]
    fn locked_pool_heap_grows() {
        use crate::mm::heap::{AnyHeap, KernelHeap};
        use core::alloc::GlobalAlloc;
        use core::sync::atomic::Ordering;
        static HEAP: KernelHeap = KernelHeap::empty();
        let mut h = PoolHeap::new();
        // SAFETY: the first 16 pages of BIG, used by nothing else.
        unsafe { HeapBackend::add_region(&mut h, &raw mut BIG as usize, 16 * PAGE_SIZE).unwrap() };
        NEXT.store(16 * PAGE_SIZE, Ordering::Relaxed);
        HEAP.init(AnyHeap::Pool(h));
        HEAP.set_grow(grow);
        let layouts = [
            Layout::from_size_align(40, 8).unwrap(),
            Layout::from_size_align(9000, 4096).unwrap(),
            Layout::from_size_align(700, 4).unwrap(),
        ];
        let mut ps = alloc::vec::Vec::new();
        for i in 0..150 {
            let l = layouts[i % 3];
            // SAFETY: non-zero sizes.
            let p = unsafe { HEAP.alloc(l) };
            assert!(!p.is_null() && (p as usize).is_multiple_of(l.align()));
            ps.push((p, l));
        }
        assert!(HEAP.times_grown() > 0);
        assert_eq!(HEAP.with(|h| h.check()), Some(Ok(())));
        for (p, l) in ps {
            // SAFETY: allocated above with this layout.
            unsafe { HEAP.dealloc(p, l) };
        }
        assert_eq!(HEAP.bad_frees(), 0);
        let s = HEAP.stats().unwrap();
        assert_eq!((s.allocations, s.free), (0, s.size));
    }

    /// A heap that grows in small steps (as the kernel's grow hook would
    /// give it) still reaches many times MAX_ARENAS steps' worth of memory,
    /// because it asks for geometric growth.
    #[test]
    fn pool_heap_grows_past_max_arenas_small_steps() {
        use crate::mm::heap::{AnyHeap, KernelHeap};
        use core::sync::atomic::{AtomicUsize, Ordering};
        const LEN: usize = 16 << 20;
        const STEP: usize = 16 * PAGE_SIZE;
        static BASE: AtomicUsize = AtomicUsize::new(0);
        static USED: AtomicUsize = AtomicUsize::new(0);
        fn grow(end: usize, min: usize) -> Option<usize> {
            let len = align_up(min.max(STEP), PAGE_SIZE)?;
            let used = USED.load(Ordering::Relaxed);
            if end != BASE.load(Ordering::Relaxed) + used || used + len > LEN {
                return None;
            }
            USED.store(used + len, Ordering::Relaxed);
            Some(len)
        }
        static HEAP: KernelHeap = KernelHeap::empty();
        let a = Arena::new(LEN);
        BASE.store(a.start(), Ordering::Relaxed);
        USED.store(STEP, Ordering::Relaxed);
        let mut h = PoolHeap::new();
        // SAFETY: the first STEP bytes of the arena; `grow` hands out the rest.
        unsafe { HeapBackend::add_region(&mut h, a.start(), STEP).unwrap() };
        HEAP.init(AnyHeap::Pool(h));
        HEAP.set_grow(grow);
        let big = Layout::from_size_align(40_000, 8).unwrap();
        let small = Layout::from_size_align(300, 8).unwrap();
        let mut live = alloc::vec::Vec::new();
        // 4 MiB in all: 64 times the first region, 16 times MAX_ARENAS steps.
        for i in 0..100 {
            let l = if i % 2 == 0 { big } else { small };
            let p = HEAP
                .allocate(l)
                .unwrap_or_else(|e| panic!("allocation {i}: {e:?}"));
            live.push((p, l));
        }
        for _ in 0..50 {
            live.push((HEAP.allocate(big).unwrap(), big));
        }
        assert!(
            HEAP.times_grown() < MAX_ARENAS,
            "{} growths",
            HEAP.times_grown()
        );
        assert_eq!(HEAP.with(|h| h.check()), Some(Ok(())));
        for (p, l) in live {
            HEAP.deallocate(p, l).unwrap();
        }
        let s = HEAP.stats().unwrap();
        assert_eq!((s.allocations, s.free), (0, s.size));
        assert!(s.size > 4 << 20, "{s:?}");
    }

    #[test]
    fn poolheap_soak() {
        let a = Arena::new(160 * PAGE_SIZE);
        let b = Arena::new(32 * PAGE_SIZE);
        let mut h = heap_on(&a);
        // SAFETY: as in heap_on.
        unsafe { HeapBackend::add_region(&mut h, b.start(), b.len()).unwrap() };
        let ops = soak_ops(30_000);
        let rep = heap_soak(
            &mut h,
            &[&a, &b],
            &Soak {
                seed: 0x9001_4EA9,
                ops,
                max_size: 12_000,
                aligns: &[1, 4, 8, 16, 4096],
                // Under Miri's few hundred steps, enough bad requests of each kind.
                bad_every: miri_or(53, 7),
                check_every: 83,
                max_live: 250,
                exact_sizes: false,
            },
        );
        rep.assert_busy(ops);
        assert!(rep.in_place > 0 && rep.not_in_place > 0, "{rep:?}");
        let s = h.stats();
        assert_eq!((s.free, s.allocations), (s.size, 0));
    }

    #[test]
    fn poolheap_soak_poisoned() {
        let a = Arena::new(160 * PAGE_SIZE);
        let mut h = heap_on(&a);
        assert!(h.set_poison(true));
        let ops = soak_ops(10_000);
        let rep = heap_soak(
            &mut h,
            &[&a],
            &Soak {
                seed: 0x9001_4EAA,
                ops,
                max_size: 12_000,
                aligns: &[1, 8, 4096],
                bad_every: 53,
                check_every: 29,
                max_live: 150,
                exact_sizes: false,
            },
        );
        rep.assert_busy(ops);
        assert!(h.poisoning());
    }

    #[test]
    fn poolheap_catches_a_write_after_free() {
        let a = Arena::new(64 * PAGE_SIZE);
        let mut h = heap_on(&a);
        crate::mm::heap::testkit::catches_write_after_free(&mut h);
        // And in a freed pool slot (the pool stays: another object lives in it).
        assert!(h.set_poison(true));
        let l = Layout::from_size_align(100, 8).unwrap();
        let p = h.alloc(l).unwrap();
        let q = h.alloc(l).unwrap();
        h.dealloc(p, l).unwrap();
        h.check().unwrap();
        let at = p.as_ptr().wrapping_add(50);
        // SAFETY: a deliberate write after free, undone below.
        unsafe { at.write_volatile(1) };
        let e = h
            .check()
            .expect_err("a write into a freed slot went unnoticed");
        assert_eq!(
            e.written_after_free(),
            Some((p.as_ptr() as usize, at as usize))
        );
        // SAFETY: undo the write.
        unsafe { at.write_volatile(POISON) };
        h.check().unwrap();
        h.dealloc(q, l).unwrap();
        h.check().unwrap();
    }

    /// In place within a slot size (the postfix moves) or a page count;
    /// anything else must move.
    #[test]
    fn resize_in_place_within_a_slot_size_or_a_page_count() {
        let a = Arena::new(64 * PAGE_SIZE);
        let mut h = heap_on(&a);
        let l = Layout::from_size_align(100, 8).unwrap();
        let p = h.alloc(l).unwrap();
        let slot = pool::object_size(pool::pool_index(100).unwrap());
        let same = (1..slot)
            .rev()
            .find(|&n| pool::pool_index(n) == pool::pool_index(100))
            .unwrap();
        assert_eq!(HeapBackend::resize_in_place(&mut h, p, l, same), Ok(true));
        let l2 = Layout::from_size_align(same, 8).unwrap();
        // The old layout is refused now, the new one frees.
        assert!(HeapBackend::resize_in_place(&mut h, p, l, 10).is_err());
        assert_eq!(
            HeapBackend::resize_in_place(&mut h, p, l2, slot * 2),
            Ok(false)
        );
        h.check().unwrap();
        h.dealloc(p, l2).unwrap();
        let big = Layout::from_size_align(5000, 8).unwrap();
        let q = h.alloc(big).unwrap();
        assert_eq!(HeapBackend::resize_in_place(&mut h, q, big, 8000), Ok(true));
        let big2 = Layout::from_size_align(8000, 8).unwrap();
        assert_eq!(
            HeapBackend::resize_in_place(&mut h, q, big2, 9000),
            Ok(false)
        );
        assert_eq!(
            HeapBackend::resize_in_place(&mut h, q, big2, 100),
            Ok(false)
        );
        h.dealloc(q, big2).unwrap();
        h.check().unwrap();
        let s = h.stats();
        assert_eq!((s.free, s.allocations), (s.size, 0));
    }
}
