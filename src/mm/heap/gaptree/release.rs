//! A pointer handed back to the gap-tree heap: validated against the
//! superbuffer it claims to be (tag, check word, front void, no gap
//! overlapping it), then freed (merged into the gaps, poisoned) or resized
//! in place. A pointer that fails any check changes nothing.
//!
//! ```text
//!   p ──▶ [front void][Superbuffer{tag,front,size,check}][buffer ◀── p ...][tail void]
//!          ^ start                                                          end ^
//! ```

use super::{ByAddr, GAP_SIZE, GapTreeHeap, HEADER_SIZE, Superbuffer, WORD, gap_len};
use crate::mm::family::{AllocError, align_up};
use crate::mm::heap::inplace::FreeSpace;
use crate::mm::heap::regions::Regions;
use crate::mm::heap::tree;
use crate::mm::heap::used::UsedBlocks;
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
            self.mark_used(start, new_end - start, front, new_size);
            self.requested = self.requested - old_size + new_size;
        }
        Ok(true)
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

impl UsedBlocks for GapTreeHeap {
    const MAX_FRONT: usize = GAP_SIZE;
    const MAGIC: usize = super::MAGIC;

    fn regions(&self) -> &Regions {
        &self.regions
    }
    unsafe fn free_overlaps(&self, start: usize, end: usize) -> bool {
        // SAFETY: the trees hold valid gaps (the caller's contract).
        unsafe {
            let left = tree::below::<ByAddr>(self.by_addr, start);
            let right = tree::lower_bound::<ByAddr>(self.by_addr, start);
            (!left.is_null() && left.addr() + gap_len(left) > start)
                || (!right.is_null() && right.addr() < end)
        }
    }
}
