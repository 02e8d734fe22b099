//! The pool heap as a kernel heap ([`HeapBackend`]): small layouts go to
//! the pools, large or page-aligned ones to whole pages of the arena, and
//! a free or resize takes the route its layout gives; poisoning covers the
//! pools' freed slots and the arena's free pages, and `check()` both.

use super::{LARGE_INDEX, PoolHeap, Route, route};
use crate::mm::family::pool;
use crate::mm::family::{AllocError, Allocator, Range, align_up};
use crate::mm::heap::backend::{HeapBackend, HeapStats};
use crate::mm::heap::fault::{HeapCheckError, PoolFault};
use crate::mm::heap::poison::{self, POISON};
use crate::mm::layout::PAGE_SIZE;
use core::alloc::Layout;
use core::fmt;
use core::ptr::{self, NonNull};

impl PoolHeap {
    /// The bytes of the large block at `a`, allocated with `layout`: not a
    /// pool's own block (`InvalidAddress`), an allocation of the arena, and
    /// as many pages as `layout` takes (`InvalidSize`). The one check of a
    /// large free and a large resize; it changes nothing.
    fn large_block(&self, a: usize, layout: Layout) -> Result<usize, AllocError> {
        if self.pools.is_pool_block(a) {
            return Err(AllocError::InvalidAddress);
        }
        let have = self.pools.parent().allocation_size(a)?;
        if have != align_up(layout.size(), PAGE_SIZE).ok_or(AllocError::InvalidSize)? {
            return Err(AllocError::InvalidSize);
        }
        Ok(have)
    }
}

impl HeapBackend for PoolHeap {
    fn name(&self) -> &'static str {
        "pool"
    }
    /// Memory at an address: growth right after a region (the grow
    /// hook's) is reached through that region's pointer; memory that
    /// continues no region, through the provenance its owner exposed.
    unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
        let start = self
            .pools
            .parent()
            .at(start)
            .unwrap_or_else(|| ptr::with_exposed_provenance_mut(start));
        // SAFETY: forwarded contract.
        unsafe { self.add_region_ptr(start, len) }
    }
    unsafe fn add_region_ptr(&mut self, start: *mut u8, len: usize) -> Result<(), AllocError> {
        // SAFETY: forwarded contract.
        unsafe { self.pools.parent_mut().add_region(start, len)? };
        if self.poisoning() {
            let (start, end) = (start.addr(), start.addr() + len);
            let arena = self.pools.parent();
            arena.for_each_free_page(&mut |page| {
                if page >= start && page < end {
                    // SAFETY: a free page of the region just added.
                    unsafe { poison::fill(arena.pointer(page), PAGE_SIZE) };
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
        let arena = self.pools.parent();
        NonNull::new(arena.pointer(r.address)).ok_or(AllocError::OutOfMemory)
    }
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        let a = ptr.as_ptr().addr();
        match route(layout) {
            Route::Pool => self.pools.release_sized(a, layout.size()),
            Route::Large => {
                let have = self.large_block(a, layout)?;
                self.pools.parent_mut().release(a)?;
                self.large -= 1;
                if self.poisoning() {
                    // SAFETY: the block's pages are free arena memory now.
                    unsafe { poison::fill(self.pools.parent().pointer(a), have) };
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
        let a = ptr.as_ptr().addr();
        match route(layout) {
            Route::Pool => self.pools.resize_sized(a, layout.size(), new_size),
            Route::Large => {
                let have = self.large_block(a, layout)?;
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
            let arena = self.pools.parent();
            arena.for_each_free_page(&mut |page| {
                // SAFETY: a free page of the arena: no allocation uses it.
                unsafe { poison::fill(arena.pointer(page), PAGE_SIZE) }
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
            let arena = self.pools.parent();
            arena.for_each_free_page(&mut |page| {
                if written.is_none() {
                    // SAFETY: a free page of the arena.
                    written = unsafe { poison::first_written(arena.pointer(page), PAGE_SIZE) }
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
