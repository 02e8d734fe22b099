//! Pools drawn from the parent and given back: a request finds a pool of
//! its slot size with a free slot, or takes a new block from the parent
//! (bigger as more pools of that size exist); a pool whose last object
//! goes is unlinked and its block released (FreeNOS's rule: a refusal by
//! the parent keeps it).

use super::{POOL_ALIGN, Pool, PoolAllocator, in_pool, object_count, object_size, pool_bytes};
use crate::mm::bitmap::Bitmap;
use crate::mm::family::bit::RawWords;
use crate::mm::family::{AllocError, Allocator, Range, align_up};
use core::mem::size_of;
use core::ptr;

impl<P: Allocator> PoolAllocator<P> {
    /// A pool of `2^index` slots with a free slot: an existing one or a new
    /// one from the parent.
    pub(super) fn retrieve_pool(&mut self, index: usize) -> Result<*mut Pool, AllocError> {
        let mut n = 0;
        let mut p = self.pools[index];
        // SAFETY: list members are live pools.
        unsafe {
            while !p.is_null() {
                if (*p).bits.count_zeros() > 0 {
                    return Ok(p);
                }
                n += 1;
                p = (*p).next;
            }
        }
        self.allocate_pool(index, object_count(object_size(index)) * n.max(1))
    }

    /// Take a block for a pool of `objects` slots from the parent, use all
    /// of what it gives, and link the pool first in its list.
    fn allocate_pool(&mut self, index: usize, objects: usize) -> Result<*mut Pool, AllocError> {
        let osize = object_size(index);
        let want = pool_bytes(objects, osize).ok_or(AllocError::OutOfMemory)?;
        let r = self.parent.allocate(Range::request(want, POOL_ALIGN))?;
        if r.size < want || !r.address.is_multiple_of(POOL_ALIGN) {
            // A parent breaking its contract: give the block back, refuse.
            let _ = self.parent.release(r.address);
            return Err(AllocError::OutOfMemory);
        }
        // The parent may give more than asked: fit as many slots as we can.
        let mut n = (r.size - size_of::<Pool>()) / osize;
        while n > objects && pool_bytes(n, osize).is_none_or(|b| b > r.size) {
            n -= 1;
        }
        let words = Bitmap::<RawWords>::words_for(n);
        let bitmap = r.address + size_of::<Pool>();
        let payload = align_up(bitmap + words * 4, POOL_ALIGN).ok_or(AllocError::OutOfMemory)?;
        let p = self.parent.pointer(r.address).cast::<Pool>();
        // SAFETY: [r.address, r.end()) is ours (contract of `new`) and holds
        // the header, the bitmap words and n slots (pool_bytes(n) <= r.size).
        unsafe {
            let raw = RawWords::new(in_pool(p, bitmap), words);
            let bits = match Bitmap::new(raw, n) {
                Ok(b) => b,
                Err(_) => {
                    let _ = self.parent.release(r.address);
                    return Err(AllocError::OutOfMemory);
                }
            };
            p.write(Pool {
                prev: ptr::null_mut(),
                next: self.pools[index],
                index,
                block: r,
                payload,
                bitmap_size: words * 4,
                cursor: 0,
                bits,
            });
            if !self.pools[index].is_null() {
                (*self.pools[index]).prev = p;
            }
        }
        self.pools[index] = p;
        Ok(p)
    }

    /// Unlink pool `p` and give its block back to the parent; a refusal by
    /// the parent keeps the pool (FreeNOS's rule).
    ///
    /// # Safety
    /// `p` is a live pool with no objects.
    pub(super) unsafe fn release_pool(&mut self, p: *mut Pool) {
        // SAFETY: p is live; its neighbours are live pools.
        unsafe {
            let (prev, next, index, block) = ((*p).prev, (*p).next, (*p).index, (*p).block);
            if self.parent.release(block.address).is_err() {
                return;
            }
            if let Some(b) = self.freed_fill {
                // The header is gone with the pool; the links were read above.
                ptr::write_bytes(p.cast::<u8>(), b, block.size);
            }
            if !prev.is_null() {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            if self.pools[index] == p {
                self.pools[index] = next;
            }
        }
    }
}
