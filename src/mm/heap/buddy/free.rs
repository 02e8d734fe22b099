//! Freeing: the checked frees (`free`, `free_layout`, through the O(1)
//! check of `lookup`), the unchecked fast path (`dealloc`), and the pieces
//! a layer over the heap uses to keep freed blocks aside (the slab layer's
//! block cache).

use core::alloc::Layout;
use core::ptr::NonNull;

use super::*;

impl BuddyHeap {
    /// Free what `allocate` (or `alloc_layout`) returned. Every pointer is
    /// checked, in constant time: outside the heap, inside a header, inside
    /// a payload, or already free gives an error and changes nothing.
    pub fn free(&mut self, ptr: NonNull<u8>) -> Result<(), HeapError> {
        let (b, s, _) = self.classify(ptr)?;
        // SAFETY: `classify` found a genuine used block.
        unsafe { self.release(b, s) };
        Ok(())
    }

    /// Free what `alloc_layout(layout)` returned, checked like `free`, and
    /// also that the block was allocated with `layout`'s alignment and can
    /// hold its size. This is the kernel's free (`GlobalAlloc::dealloc`).
    #[inline]
    pub fn free_layout(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let (b, s) = self.checked_block(ptr, layout)?;
        // SAFETY: `checked_block` found a genuine used block.
        unsafe { self.release(b, s) };
        Ok(())
    }

    /// The used block `ptr` is the payload of, allocated with `layout`:
    /// `(offset, scale)`. The one check behind `free_layout` and
    /// `resize_in_place`.
    #[inline(always)]
    pub(super) fn checked_block(
        &self,
        ptr: NonNull<u8>,
        layout: Layout,
    ) -> Result<(u32, u32), HeapError> {
        let (b, s, align) = self.classify(ptr)?;
        let fits = layout.size() + HEADER_SIZE <= 1 << s;
        if align as usize != layout.align() || !fits {
            return Err(HeapError::LayoutMismatch {
                addr: ptr.addr().get(),
            });
        }
        Ok((b, s))
    }

    /// Free without the full check: the fast path behind `GlobalAlloc`.
    /// Cheap sanity checks (inside the heap, block in use) make obviously
    /// bad pointers a no-op instead of corruption.
    ///
    /// # Safety
    /// `ptr` must come from `alloc_layout(layout)` (or a resize to `layout`) on
    /// this heap and not be freed yet.
    #[inline]
    pub unsafe fn dealloc(&mut self, ptr: NonNull<u8>, _layout: Layout) {
        let off = ptr
            .as_ptr()
            .addr()
            .wrapping_sub(self.origin.addr())
            .wrapping_sub(HEADER_SIZE);
        if off >= self.end as usize || off < self.start as usize {
            return;
        }
        let off = off as u32;
        // SAFETY: `off` is inside the heap; by the contract it is a used block.
        unsafe {
            let tag = (*self.hdr(off)).tag as u32;
            // One compare rejects free blocks (bit 7) and impossible scales.
            if tag.wrapping_sub(self.min_scale) > self.max_scale - self.min_scale {
                return;
            }
            self.release(off, tag);
        }
    }

    /// The used block `ptr` is the payload of, checked as `free_layout`
    /// checks it, without freeing it: `(offset, scale)`.
    #[inline(always)]
    pub(crate) fn used_block(
        &self,
        ptr: NonNull<u8>,
        layout: Layout,
    ) -> Result<(u32, u32), HeapError> {
        self.checked_block(ptr, layout)
    }

    /// Free the used block at `b` of scale `s`, as `free_layout` does after its check.
    ///
    /// # Safety
    /// `used_block` returned `(b, s)` and the block was not freed since.
    #[inline(always)]
    pub(crate) unsafe fn free_block(&mut self, b: u32, s: u32) {
        // SAFETY: the caller's guarantee.
        unsafe { self.release(b, s) }
    }

    /// Hand out again the used block at `b` (kept aside by its owner after
    /// `used_block`) for `size` bytes aligned to `align`: its header's
    /// request fields are rewritten; its scale stays.
    ///
    /// # Safety
    /// `b` is a used block whose scale fits `size` and `align`.
    #[inline(always)]
    pub(crate) unsafe fn reissue(&mut self, b: u32, size: usize, align: usize) -> NonNull<u8> {
        // SAFETY: the caller's guarantee: a genuine used block.
        unsafe {
            let h = self.hdr(b);
            (*h).next = size as u32;
            (*h).prev = align as u32;
            NonNull::new_unchecked(self.origin.wrapping_add(b as usize + HEADER_SIZE))
        }
    }
}
