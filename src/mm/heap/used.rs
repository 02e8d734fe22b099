//! The used block of a list heap (first fit, gap tree), written once: the
//! header in front of every buffer handed out, and the validation of a
//! pointer handed back against it. Each heap says what differs
//! ([`UsedBlocks`]'s required items: its check word, how long a front void
//! may be, how it finds a free block overlapping a range); the lookup is
//! here.
//!
//! ```text
//!   p ──▶ [front void][UsedHeader{tag,front,size,check}][buffer ◀── p ...][tail]
//!          ^ start: `front | 3`                                        end ^
//!   valid: in one region; tag `extent | 2`; the check word matches; the
//!          front void is short and says so; the block holds the size;
//!          no free block overlaps [start, end)
//! ```

use super::inplace::FreeSpace;
use super::regions::Regions;
use crate::mm::family::AllocError;
use core::alloc::Layout;
use core::mem::size_of;
use core::ptr::NonNull;

/// The low two bits of a block's first word: what the block is.
pub(super) const TAG_MASK: usize = 3;
/// The tag of a free block's first word (`length | 1`).
pub(super) const TAG_FREE: usize = 1;
/// The tag of a used block's header (`extent | 2`).
pub(super) const TAG_USED: usize = 2;
/// The tag of a front void (`front | 3`), pointing at the header after it.
pub(super) const TAG_FRONT: usize = 3;

/// The header in front of every buffer a list heap hands out.
#[repr(C)]
pub(super) struct UsedHeader {
    /// Bytes from block start to block end, `| TAG_USED`.
    pub(super) tag: usize,
    /// Bytes of front void between the block start and this header.
    pub(super) front: usize,
    /// Bytes the caller asked for.
    pub(super) size: usize,
    /// The heap's check word of (header address, extent, size): catches
    /// wild and double frees.
    pub(super) check: usize,
}

/// Bytes of a used block's header.
pub(super) const HEADER_SIZE: usize = size_of::<UsedHeader>();
const WORD: usize = size_of::<usize>();
const _: () = assert!(HEADER_SIZE == 4 * WORD);

/// The checks of a request, written once for the list heaps: `align` is
/// a power of two up to `max_align` (`InvalidAlignment`), `size` is neither
/// 0 nor over half the address space (`InvalidSize`). Returns the
/// alignment served (at least a word) and the buffer's bytes rounded up to
/// a word.
pub(super) fn request(
    size: usize,
    align: usize,
    max_align: usize,
) -> Result<(usize, usize), AllocError> {
    if !align.is_power_of_two() || align > max_align {
        return Err(AllocError::InvalidAlignment);
    }
    if size == 0 || size > isize::MAX as usize / 2 {
        return Err(AllocError::InvalidSize);
    }
    let body = size.next_multiple_of(WORD);
    Ok((align.max(WORD), body))
}

/// A list heap's used blocks: what differs per heap, and the lookup of a
/// pointer handed back, written once over it.
pub(super) trait UsedBlocks: FreeSpace {
    /// A front void is shorter than this (a longer one would be free space
    /// of its own).
    const MAX_FRONT: usize;

    /// The heap's own constant in every check word, so that one heap's
    /// header does not pass for another's.
    const MAGIC: usize;

    /// The heap's regions.
    fn regions(&self) -> &Regions;

    /// The check word a header at `h` with `extent` and `size` holds: the
    /// three mixed with the heap's magic, so a stale or forged header does
    /// not match.
    fn check_word(h: usize, extent: usize, size: usize) -> usize {
        Self::MAGIC ^ h ^ extent.rotate_left(5) ^ size.rotate_left(11)
    }

    /// Make the `extent` bytes at `b` a used block whose header sits
    /// `front` bytes in and whose buffer holds `size` bytes: the front
    /// void's word (when `front > 0`) and the sealed header are written.
    /// Returns the buffer.
    ///
    /// # Safety
    /// `[b, b + extent)` lies in the heap's regions, overlaps no free
    /// block, and holds `front + HEADER_SIZE + size` bytes; `b` and
    /// `front` are multiples of a word.
    unsafe fn mark_used(&self, b: usize, extent: usize, front: usize, size: usize) -> NonNull<u8> {
        let h = b + front;
        // SAFETY: the caller's contract: both words and the header lie in
        // the block, aligned, and no free block's metadata is there.
        unsafe {
            if front > 0 {
                self.at(b).cast::<usize>().write(front | TAG_FRONT);
            }
            self.at(h).cast::<UsedHeader>().write(UsedHeader {
                tag: extent | TAG_USED,
                front,
                size,
                check: Self::check_word(h, extent, size),
            });
            NonNull::new_unchecked(self.at(h + HEADER_SIZE))
        }
    }

    /// Whether a free block overlaps `[start, end)` (a double free, or a
    /// forged header).
    ///
    /// # Safety
    /// The heap's free-block structure is well formed.
    unsafe fn free_overlaps(&self, start: usize, end: usize) -> bool;

    /// Find and validate the used block whose buffer starts at `p` (see the
    /// module docs): (block start, block end, header), or `InvalidAddress`.
    /// Never reads outside the heap's regions; changes nothing.
    fn lookup(&self, p: usize) -> Result<(usize, usize, *mut UsedHeader), AllocError> {
        if !p.is_multiple_of(WORD) {
            return Err(AllocError::InvalidAddress);
        }
        let region = *self
            .regions()
            .as_slice()
            .iter()
            .find(|r| p >= r.address + HEADER_SIZE && p < r.end())
            .ok_or(AllocError::InvalidAddress)?;
        let h = p - HEADER_SIZE;
        // SAFETY: [h, p) lies inside one of the regions (checked above).
        let hdr = unsafe { self.at(h).cast::<UsedHeader>().read() };
        let extent = hdr.tag & !TAG_MASK;
        if hdr.tag & TAG_MASK != TAG_USED
            || hdr.check != Self::check_word(h, extent, hdr.size)
            || hdr.front >= Self::MAX_FRONT
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
        // SAFETY: start lies in the region (checked above).
        if hdr.front > 0
            && unsafe { self.at(start).cast::<usize>().read() } != hdr.front | TAG_FRONT
        {
            return Err(AllocError::InvalidAddress);
        }
        // SAFETY: the free-block structure is well formed (the heap's invariant).
        if unsafe { self.free_overlaps(start, end) } {
            return Err(AllocError::InvalidAddress);
        }
        Ok((start, end, self.at(h).cast()))
    }

    /// The used block `ptr` is the buffer of, allocated with `layout`:
    /// [`lookup`](Self::lookup) plus the size (`InvalidSize`) and alignment
    /// (`InvalidAlignment`) checks; the one check of a sized free and of a
    /// resize in place. Changes nothing.
    fn checked(
        &self,
        ptr: NonNull<u8>,
        layout: Layout,
    ) -> Result<(usize, usize, *mut UsedHeader), AllocError> {
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
}
