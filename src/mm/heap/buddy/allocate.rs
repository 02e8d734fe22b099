//! Allocation: the scale a request needs (`2^scale >= size + 9`, at least
//! the alignment), then a block of that scale from `take`.

use core::alloc::Layout;
use core::ptr::NonNull;

use super::*;

impl BuddyHeap {
    /// The scale a request of `size` bytes aligned to `align` needs: the
    /// smallest with `2^scale >= size + 9` and `2^scale >= align`.
    #[inline(always)]
    pub(super) fn request_scale(&self, size: usize, align: usize) -> Result<u32, HeapError> {
        // `align` is a power of two: it comes from a `Layout` or is 1.
        if align > MAX_ALIGN {
            return Err(HeapError::BadAlign { align });
        }
        if size == 0 {
            return Err(HeapError::ZeroSize);
        }
        let too_big = HeapError::TooBig {
            size,
            max_scale: self.max_scale(),
        };
        if size > 1 << self.max_scale {
            return Err(too_big);
        }
        let need = size + HEADER_SIZE;
        let s = (usize::BITS - (need - 1).leading_zeros())
            .max(align.trailing_zeros())
            .max(self.min_scale);
        if s > self.max_scale {
            return Err(too_big);
        }
        Ok(s)
    }

    /// Allocate `size` bytes with `align`ment (any power of two up to
    /// [`MAX_ALIGN`]): the payload follows the header of a block of the
    /// smallest scale that holds it and is at least `align` bytes.
    #[inline]
    fn alloc_raw(&mut self, size: usize, align: usize) -> Result<NonNull<u8>, HeapError> {
        let scale = self.request_scale(size, align)?;
        let Some(b) = self.take(scale) else {
            return Err(HeapError::OutOfMemory {
                size,
                scale: Scale(scale as u8),
            });
        };
        // SAFETY: `b` is a block of 2^scale >= size + 9 bytes we now own;
        // origin + 9 is MAX_ALIGN-aligned and `b` a multiple of 2^scale >=
        // align, so the payload at b + 9 is aligned.
        unsafe {
            self.hdr(b).write(Header {
                next: size as u32,
                prev: align as u32,
                tag: scale as u8,
            });
            Ok(NonNull::new_unchecked(
                self.origin.wrapping_add(b as usize + HEADER_SIZE),
            ))
        }
    }

    /// ShompOS's `allocate`: a block of the smallest scale with
    /// `2^scale >= size + 9`; the pointer is the first byte after the header.
    pub fn allocate(&mut self, size: usize) -> Result<NonNull<u8>, HeapError> {
        self.alloc_raw(size, 1)
    }

    /// Allocate for `layout` (alignment up to [`MAX_ALIGN`]). Zero-size
    /// layouts are refused with `ZeroSize`.
    #[inline]
    pub fn alloc_layout(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        self.alloc_raw(layout.size(), layout.align())
    }
}
