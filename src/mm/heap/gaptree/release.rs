//! A pointer handed back to the gap-tree heap: validated against the
//! superbuffer it claims to be (tag, check word, front void, no gap
//! overlapping it), then freed (merged into the gaps, poisoned) or resized
//! in place. A pointer that fails any check changes nothing.
//!
//! ```text
//!   p ──▶ [front void][Superbuffer{tag,front,size,check}][buffer ◀── p ...][tail void]
//!          ^ start                                                          end ^
//! ```

use super::{
    ByAddr, GAP_SIZE, GapTreeHeap, HEADER_SIZE, Superbuffer, TAG_FRONT, TAG_MASK, TAG_SUPER, WORD,
    check_word, gap_len,
};
use crate::mm::family::{AllocError, align_up};
use crate::mm::heap::inplace::FreeSpace;
use crate::mm::heap::tree;
use core::alloc::Layout;
use core::ptr::NonNull;

impl GapTreeHeap {
    /// Resize the allocation at `ptr` (made with `layout`) to `new_size`
    /// bytes without moving it: shrinking gives the tail back as a gap,
    /// growing takes what it needs from the gap right after. `ptr` and
    /// `layout` are checked as by `free_layout` (an error changes nothing);
    /// `Ok(false)` when it cannot stay in place, changing nothing.
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
        let (front, old_size) = unsafe { ((*h).front, (*h).size) };
        let body = align_up(new_size, WORD).ok_or(AllocError::InvalidSize)?;
        let Some(need) = align_up(front + HEADER_SIZE + body, self.unit()) else {
            return Ok(false);
        };
        let want = start + need.max(GAP_SIZE);
        // SAFETY: `[start, end)` is the validated superbuffer; writes stay
        // inside it and the gap right after it.
        unsafe {
            let Some(new_end) = self.resize_span(start, end, want) else {
                return Ok(false);
            };
            h.write(Superbuffer {
                tag: (new_end - start) | TAG_SUPER,
                front,
                size: new_size,
                check: check_word(h.addr(), new_end - start, new_size),
            });
            self.requested = self.requested - old_size + new_size;
        }
        Ok(true)
    }

    /// Find and validate the superbuffer whose buffer starts at `p`; return
    /// (block start, block end, header). Never reads outside our regions.
    fn lookup(&self, p: usize) -> Result<(usize, usize, *mut Superbuffer), AllocError> {
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
        // SAFETY: [h, p) lies inside one of our regions (checked above).
        let hdr = unsafe { self.at::<Superbuffer>(h).read() };
        if hdr.tag & TAG_MASK != TAG_SUPER {
            return Err(AllocError::InvalidAddress);
        }
        let extent = hdr.tag & !TAG_MASK;
        if hdr.check != check_word(h, extent, hdr.size) || hdr.front >= GAP_SIZE {
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
        // SAFETY: start lies in the region (checked above).
        if hdr.front > 0 && unsafe { self.at::<usize>(start).read() } != hdr.front | TAG_FRONT {
            return Err(AllocError::InvalidAddress);
        }
        // No gap may overlap the block: that would be a double free or a
        // forged header.
        // SAFETY: the trees hold valid gaps.
        unsafe {
            let left = tree::below::<ByAddr>(self.by_addr, start);
            if !left.is_null() && left.addr() + gap_len(left) > start {
                return Err(AllocError::InvalidAddress);
            }
            let right = tree::lower_bound::<ByAddr>(self.by_addr, start);
            if !right.is_null() && right.addr() < end {
                return Err(AllocError::InvalidAddress);
            }
        }
        Ok((start, end, self.at::<Superbuffer>(h)))
    }

    /// Free the buffer at `ptr`. Errors (nothing changes): `InvalidAddress`
    /// for a pointer this heap did not hand out or already freed.
    pub fn free(&mut self, ptr: NonNull<u8>) -> Result<(), AllocError> {
        let (start, end, h) = self.lookup(ptr.as_ptr().addr())?;
        // SAFETY: lookup validated the header and the block bounds.
        unsafe { self.release_block(start, end, h) };
        Ok(())
    }

    /// Give back the superbuffer `(start, end, h)`: its header cleared, the
    /// counters updated, its bytes made a gap.
    ///
    /// # Safety
    /// `(start, end, h)` came from `lookup` with no change since.
    unsafe fn release_block(&mut self, start: usize, end: usize, h: *mut Superbuffer) {
        // SAFETY: the caller's contract.
        unsafe {
            let size = (*h).size;
            (*h).check = 0;
            (*h).tag = 0;
            self.superbuffers -= 1;
            self.requested -= size;
            self.give_back(start, end);
        }
    }

    /// The superbuffer `ptr` is the buffer of, allocated with `layout`:
    /// `lookup` plus the size (`InvalidSize`) and alignment
    /// (`InvalidAlignment`) checks; the one check of `free_layout` and
    /// `resize_in_place`.
    fn checked(
        &self,
        ptr: NonNull<u8>,
        layout: Layout,
    ) -> Result<(usize, usize, *mut Superbuffer), AllocError> {
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

    /// Free `ptr` allocated with `layout`; also checks that the size and
    /// alignment match the allocation (`InvalidSize`, `InvalidAlignment`).
    pub fn free_layout(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        let (start, end, h) = self.checked(ptr, layout)?;
        // SAFETY: just validated, nothing changed since.
        unsafe { self.release_block(start, end, h) };
        Ok(())
    }

    /// The bytes the caller asked for when `ptr` was allocated.
    pub fn size_of(&self, ptr: NonNull<u8>) -> Result<usize, AllocError> {
        let (_, _, h) = self.lookup(ptr.as_ptr().addr())?;
        // SAFETY: lookup validated the header.
        Ok(unsafe { (*h).size })
    }
}
