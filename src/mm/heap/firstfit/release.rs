//! A pointer handed back to the first-fit heap: validated against the
//! block it claims to be (tag, check word, front void, the free blocks
//! around it), then freed (given back, coalesced, poisoned) or resized in
//! place. A pointer that fails any check changes nothing.
//!
//! ```text
//!   p ──▶ [front void][Header{tag,front,size,check}][buffer ◀── p ...][tail]
//!          ^ start                                                    end ^
//! ```

use super::{FirstFitHeap, HEADER_SIZE, Header, MIN_BLOCK, TAG_FRONT, TAG_MASK, TAG_USED, WORD};
use super::{block_len, check_word};
use crate::mm::family::{AllocError, align_up};
use crate::mm::heap::inplace::FreeSpace;
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
            h.write(Header {
                tag: (new_end - start) | TAG_USED,
                front,
                size: new_size,
                check: check_word(h.addr(), new_end - start, new_size),
            });
        }
        Ok(true)
    }

    /// Validate the used block whose buffer is `p`: (start, end, header).
    fn lookup(&self, p: usize) -> Result<(usize, usize, *mut Header), AllocError> {
        if !p.is_multiple_of(WORD) {
            return Err(AllocError::InvalidAddress);
        }
        let region = self
            .regions
            .as_slice()
            .iter()
            .find(|r| p >= r.address + HEADER_SIZE && p < r.end())
            .ok_or(AllocError::InvalidAddress)?;
        let h = p - HEADER_SIZE;
        // SAFETY: the header lies inside the region (checked above).
        let hdr = unsafe { self.at::<Header>(h).read() };
        let extent = hdr.tag & !TAG_MASK;
        if hdr.tag & TAG_MASK != TAG_USED
            || hdr.check != check_word(h, extent, hdr.size)
            || hdr.front >= MIN_BLOCK
        {
            return Err(AllocError::InvalidAddress);
        }
        let start = h.checked_sub(hdr.front).ok_or(AllocError::InvalidAddress)?;
        let end = start
            .checked_add(extent)
            .ok_or(AllocError::InvalidAddress)?;
        let need = hdr
            .front
            .saturating_add(HEADER_SIZE)
            .saturating_add(hdr.size);
        if start < region.address || end > region.end() || extent < need {
            return Err(AllocError::InvalidAddress);
        }
        // SAFETY: start lies in the region.
        if hdr.front > 0 && unsafe { self.at::<usize>(start).read() } != hdr.front | TAG_FRONT {
            return Err(AllocError::InvalidAddress);
        }
        // SAFETY: the list is well formed.
        let (prev, next) = unsafe { self.neighbours(start) };
        // SAFETY: prev is a valid free block when non-null.
        if !prev.is_null() && prev.addr() + unsafe { block_len(prev) } > start {
            return Err(AllocError::InvalidAddress);
        }
        if !next.is_null() && next.addr() < end {
            return Err(AllocError::InvalidAddress);
        }
        Ok((start, end, self.at::<Header>(h)))
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

    /// The used block `ptr` is the buffer of, allocated with `layout`:
    /// `lookup` plus the size (`InvalidSize`) and alignment
    /// (`InvalidAlignment`) checks; the one check of `free_layout` and
    /// `resize_in_place`.
    fn checked(
        &self,
        ptr: NonNull<u8>,
        layout: Layout,
    ) -> Result<(usize, usize, *mut Header), AllocError> {
        let found = self.lookup(ptr.as_ptr().addr())?;
        // SAFETY: lookup validated the header.
        if unsafe { (*found.2).size } != layout.size() {
            return Err(AllocError::InvalidSize);
        }
        if !ptr.as_ptr().addr().is_multiple_of(layout.align()) {
            return Err(AllocError::InvalidAlignment);
        }
        Ok(found)
    }

    /// Free `ptr` allocated with `layout`, checking size (`InvalidSize`) and
    /// alignment (`InvalidAlignment`) first.
    pub fn free_layout(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        self.checked(ptr, layout)?;
        self.free(ptr)
    }
}
