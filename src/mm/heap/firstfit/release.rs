//! A pointer handed back to the first-fit heap: validated against the
//! block it claims to be (tag, check word, front void, the free blocks
//! around it), then freed (given back, coalesced, poisoned) or resized in
//! place. A pointer that fails any check changes nothing.
//!
//! ```text
//!   p ──▶ [front void][Header{tag,front,size,check}][buffer ◀── p ...][tail]
//!          ^ start                                                    end ^
//! ```

use super::{FirstFitHeap, HEADER_SIZE, MIN_BLOCK, WORD, block_len};
use crate::mm::family::{AllocError, align_up};
use crate::mm::heap::inplace::FreeSpace;
use crate::mm::heap::regions::Regions;
use crate::mm::heap::used::UsedBlocks;
use core::alloc::Layout;
use core::ptr::NonNull;

impl FirstFitHeap {
    /// Resize the allocation at `ptr` (made with `layout`) to `new_size`
    /// bytes without moving it: shrinking gives the tail back as a free
    /// block, growing takes what it needs from the free block right after.
    /// `ptr` and `layout` are checked as by `free_layout` (an error changes
    /// nothing); `Ok(false)` when it cannot stay in place, changing nothing.
    pub fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<bool, AllocError> {
        let (start, end, h) = self.checked(ptr, layout)?;
        if new_size == 0 || new_size > isize::MAX as usize / 2 {
            return Ok(false);
        }
        // SAFETY: `checked` validated the header.
        let front = unsafe { (*h).front };
        let Some(body) = align_up(new_size, WORD) else {
            return Ok(false);
        };
        let want = start + (front + HEADER_SIZE + body).max(MIN_BLOCK);
        // SAFETY: `[start, end)` is the validated used block; writes stay
        // inside it and the free block right after it.
        unsafe {
            let Some(new_end) = self.resize_span(start, end, want) else {
                return Ok(false);
            };
            self.mark_used(start, new_end - start, front, new_size);
        }
        Ok(true)
    }

    /// Free the buffer at `ptr`. Errors (nothing changes): `InvalidAddress`
    /// for a pointer not handed out by this heap or already freed.
    pub fn free(&mut self, ptr: NonNull<u8>) -> Result<(), AllocError> {
        let (start, end, h) = self.lookup(ptr.as_ptr().addr())?;
        // SAFETY: lookup validated the block.
        unsafe {
            (*h).check = 0;
            (*h).tag = 0;
            self.allocations -= 1;
            self.give_back(start, end);
        }
        Ok(())
    }

    /// Free `ptr` allocated with `layout`, checking size (`InvalidSize`) and
    /// alignment (`InvalidAlignment`) first.
    pub fn free_layout(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        self.checked(ptr, layout)?;
        self.free(ptr)
    }
}

impl UsedBlocks for FirstFitHeap {
    const MAX_FRONT: usize = MIN_BLOCK;
    const MAGIC: usize = super::MAGIC;

    fn regions(&self) -> &Regions {
        &self.regions
    }
    unsafe fn free_overlaps(&self, start: usize, end: usize) -> bool {
        // SAFETY: the list is well formed (the caller's contract); `prev`
        // is a valid free block when non-null.
        unsafe {
            let (prev, next) = self.neighbours(start);
            (!prev.is_null() && prev.addr() + block_len(prev) > start)
                || (!next.is_null() && next.addr() < end)
        }
    }
}
