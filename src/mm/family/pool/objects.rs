//! One object of the pool allocator: placed in a free slot of a pool of
//! its size with its prefix, postfix and guard written; found by address
//! without reading the object (so a wild or double release changes
//! nothing); checked and released, or resized in place within its slot.
//!
//! ```text
//!   slot:  [ObjectPrefix{sig,pool}][object ....][postfix sig]..[guard sig]
//!                                  ^ address                   ^ last word
//! ```

use super::{
    MAX_POOL_INDEX, MIN_POOL_INDEX, OBJECT_SIGNATURE, ObjectPrefix, POOL_ALIGN, POSTFIX, PREFIX,
    Pool, PoolAllocator, in_pool, object_size, pool_index,
};
use crate::mm::family::{AllocError, Allocator, Range, align_up};
use core::ptr;

impl<P: Allocator> PoolAllocator<P> {
    /// Resize the object at `address` (allocated with `size` bytes) to
    /// `new_size` without moving it: possible when both sizes take the same
    /// slot size, by moving the postfix signature. The object is checked
    /// as by [`PoolAllocator::release_sized`] (an error changes nothing);
    /// `Ok(false)` (nothing changed) when the new size needs another pool.
    pub fn resize_sized(
        &mut self,
        address: usize,
        size: usize,
        new_size: usize,
    ) -> Result<bool, AllocError> {
        let (p, _) = self.find(address)?;
        // SAFETY: find() proved address - PREFIX is a live slot of pool p.
        unsafe {
            self.sized_ok(p, address, size)?;
            if new_size == 0 || pool_index(new_size) != Some((*p).index) {
                return Ok(false);
            }
            let at = address + align_up(new_size, 4).ok_or(AllocError::InvalidSize)?;
            let was = address + align_up(size, 4).ok_or(AllocError::InvalidSize)?;
            // The old postfix goes (past the old bytes, so no data is lost):
            // a later free with the old size is refused. Unless it is the
            // slot's guard word, which stays.
            let guard = address - PREFIX + object_size((*p).index) - POSTFIX;
            if was != guard {
                in_pool::<u32>(p, was).write(0);
            }
            in_pool::<u32>(p, at).write(OBJECT_SIGNATURE);
        }
        Ok(true)
    }

    /// The size, postfix and guard checks of a sized release.
    ///
    /// # Safety
    /// `address - PREFIX` is a live slot of pool `p`.
    unsafe fn sized_ok(&self, p: *mut Pool, address: usize, size: usize) -> Result<(), AllocError> {
        // SAFETY: the caller's guarantee.
        unsafe {
            if pool_index(size) != Some((*p).index) {
                return Err(AllocError::InvalidSize);
            }
            let at = address + align_up(size, 4).ok_or(AllocError::InvalidSize)?;
            if in_pool::<u32>(p, at).read() != OBJECT_SIGNATURE {
                return Err(AllocError::Corrupted);
            }
            if !Self::guards_ok(p, address - PREFIX) {
                return Err(AllocError::Corrupted);
            }
        }
        Ok(())
    }

    /// The pool and slot number of the object at `address`, found without
    /// reading the object's memory.
    fn find(&self, address: usize) -> Result<(*mut Pool, usize), AllocError> {
        let slot = address
            .checked_sub(PREFIX)
            .ok_or(AllocError::InvalidAddress)?;
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            let osize = object_size(i);
            let mut p = self.pools[i];
            // SAFETY: list members are live pools.
            unsafe {
                while !p.is_null() {
                    let start = (*p).payload;
                    let end = start + (*p).bits.len() * osize;
                    if slot >= start && slot < end {
                        let off = slot - start;
                        if !off.is_multiple_of(osize) || !(*p).bits.test(off / osize) {
                            return Err(AllocError::InvalidAddress);
                        }
                        return Ok((p, off / osize));
                    }
                    p = (*p).next;
                }
            }
        }
        Err(AllocError::InvalidAddress)
    }

    /// Check the prefix and the guard of a live slot.
    ///
    /// # Safety
    /// `slot` is a live slot of pool `p`.
    pub(super) unsafe fn guards_ok(p: *mut Pool, slot: usize) -> bool {
        // SAFETY: the slot lies inside the pool's payload.
        unsafe {
            let osize = object_size((*p).index);
            let pre = in_pool::<ObjectPrefix>(p, slot).read();
            let guard = in_pool::<u32>(p, slot + osize - POSTFIX).read();
            pre.signature == OBJECT_SIGNATURE && pre.pool == p && guard == OBJECT_SIGNATURE
        }
    }

    /// Release the object at `address` after the checks a release makes
    /// (with `size`: the sized ones too); the pool goes back when empty.
    fn release_checked(&mut self, address: usize, size: Option<usize>) -> Result<(), AllocError> {
        let (p, slot_no) = self.find(address)?;
        let slot = address - PREFIX;
        // SAFETY: find() proved slot is a live slot of pool p.
        unsafe {
            if let Some(size) = size {
                self.sized_ok(p, address, size)?;
            } else if !Self::guards_ok(p, slot) {
                return Err(AllocError::Corrupted);
            }
            ObjectPrefix::store(in_pool(p, slot), 0, ptr::null_mut());
            if let Some(b) = self.freed_fill {
                let osize = object_size((*p).index);
                ptr::write_bytes(in_pool::<u8>(p, address), b, osize - PREFIX - POSTFIX);
            }
            (*p).bits.clear(slot_no);
            if (*p).bits.count_ones() == 0 {
                self.release_pool(p);
            }
        }
        Ok(())
    }

    /// Release the object at `address` that was allocated with `size`
    /// bytes: also checks the postfix right after the object and that the
    /// size belongs to this pool (`InvalidSize`).
    pub fn release_sized(&mut self, address: usize, size: usize) -> Result<(), AllocError> {
        self.release_checked(address, Some(size))
    }
}

impl<P: Allocator> Allocator for PoolAllocator<P> {
    /// `alignment` 0 or a power of two up to [`POOL_ALIGN`] (FreeNOS took only 0).
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        if request.alignment != 0
            && (!request.alignment.is_power_of_two() || request.alignment > POOL_ALIGN)
        {
            return Err(AllocError::InvalidAlignment);
        }
        if request.size == 0 {
            return Err(AllocError::InvalidSize);
        }
        let index = pool_index(request.size).ok_or(AllocError::InvalidSize)?;
        let p = self.retrieve_pool(index)?;
        let osize = object_size(index);
        // SAFETY: p is a live pool with a free slot; all writes stay in it.
        unsafe {
            let bit = (*p)
                .bits
                .find_clear((*p).cursor)
                .ok_or(AllocError::OutOfMemory)?;
            (*p).bits.set(bit);
            (*p).cursor = bit + 1;
            let slot = (*p).payload + bit * osize;
            ObjectPrefix::store(in_pool(p, slot), OBJECT_SIGNATURE, p);
            let input = align_up(request.size, 4).ok_or(AllocError::InvalidSize)?;
            in_pool::<u32>(p, slot + PREFIX + input).write(OBJECT_SIGNATURE);
            in_pool::<u32>(p, slot + osize - POSTFIX).write(OBJECT_SIGNATURE);
            Ok(Range {
                address: slot + PREFIX,
                size: request.size,
                alignment: request.alignment,
            })
        }
    }

    /// Release an object; the pool goes back to the parent when empty.
    fn release(&mut self, address: usize) -> Result<(), AllocError> {
        self.release_checked(address, None)
    }

    /// Bytes taken from the parent for pools.
    fn size(&self) -> usize {
        let mut n = 0;
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            self.for_each_pool(i, &mut |p| n += p.block_size);
        }
        n
    }

    /// Bytes of free slots.
    fn available(&self) -> usize {
        let mut n = 0;
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            self.for_each_pool(i, &mut |p| n += (p.objects - p.used) * object_size(i));
        }
        n
    }

    fn base(&self) -> usize {
        0
    }

    fn alignment(&self) -> usize {
        0
    }

    /// Objects lie in the parent's memory: the parent's pointer.
    fn pointer(&self, address: usize) -> *mut u8 {
        self.parent.pointer(address)
    }
}
