//! Freed slots filled with a byte (the kernel heap's poisoning): while a
//! fill is set, a freed object's bytes between its prefix and its guard,
//! and a pool block given back, hold it; [`first_unfilled`](PoolAllocator::first_unfilled)
//! finds the first free byte written since.

use super::{MAX_POOL_INDEX, MIN_POOL_INDEX, POSTFIX, PREFIX, PoolAllocator, in_pool, object_size};
use crate::mm::family::Allocator;
use core::ptr;

impl<P: Allocator> PoolAllocator<P> {
    /// Fill freed objects with `fill` from now on (`None`: stop). Turning
    /// it on fills every free slot of every pool; a pool block given back
    /// to the parent is filled whole after the parent took it, so the
    /// parent must keep no bookkeeping inside the blocks it hands out (the
    /// kernel heap's page arena keeps its bits apart).
    pub fn set_freed_fill(&mut self, fill: Option<u8>) {
        if let Some(b) = fill
            && self.freed_fill.is_none()
        {
            self.for_each_free_slot(&mut |from, len| {
                // SAFETY: a free slot's bytes between its prefix and its
                // guard belong to the pool and no object uses them.
                unsafe { ptr::write_bytes(from, b, len) }
            });
        }
        self.freed_fill = fill;
    }

    /// The fill set by [`PoolAllocator::set_freed_fill`].
    pub fn freed_fill(&self) -> Option<u8> {
        self.freed_fill
    }

    /// While a fill is set: the first free slot (its object address) with
    /// a byte between prefix and guard that is not the fill, and that
    /// byte's address; `None` when every free slot holds the fill.
    pub fn first_unfilled(&self) -> Option<(usize, usize)> {
        let b = self.freed_fill?;
        let mut found = None;
        self.for_each_free_slot(&mut |from, len| {
            if found.is_none() {
                // SAFETY: a free slot's bytes belong to the pool.
                let bytes = unsafe { core::slice::from_raw_parts(from, len) };
                let from = from.addr();
                found = bytes.iter().position(|&x| x != b).map(|i| (from, from + i));
            }
        });
        found
    }

    /// `f(from, len)` for the bytes between prefix and guard of every free
    /// slot of every pool (`from` derived from the pool's pointer).
    fn for_each_free_slot(&self, f: &mut dyn FnMut(*mut u8, usize)) {
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            let osize = object_size(i);
            let mut p = self.pools[i];
            // SAFETY: list members are live pools; their slots lie in their block.
            unsafe {
                while !p.is_null() {
                    for s in 0..(*p).bits.len() {
                        if !(*p).bits.test(s) {
                            let slot = (*p).payload + s * osize;
                            f(in_pool(p, slot + PREFIX), osize - PREFIX - POSTFIX);
                        }
                    }
                    p = (*p).next;
                }
            }
        }
    }
}
