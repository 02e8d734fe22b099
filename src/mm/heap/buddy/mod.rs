//! The binary buddy heap with 9-byte block headers (ShompOS module 3, kept
//! and fixed).
//!
//! Every block is `2^scale` bytes, sits at an offset that is a multiple of
//! its own size, and starts with a packed 9-byte header:
//!
//! ```text
//!   byte 0        4        8  9                                  2^scale
//!        +--------+--------+--+-------------------------------------+
//!        |  next  |  prev  |F.|  payload ...                        |
//!        +--------+--------+--+-------------------------------------+
//!         u32      u32      u8: bit 7 = free, bits 0-6 = scale
//!
//!   free block: next/prev link the free list of its scale (offsets, NIL = u32::MAX)
//!   used block: next = bytes requested, prev = alignment requested
//! ```
//!
//! Links are 32-bit offsets from the heap's origin, so the header is 9 bytes
//! on the 64-bit host too. One doubly linked list per scale, and a bitmask
//! with bit `s` set while list `s` is not empty: finding a fit is one bit scan.
//!
//! The payload is always the first byte after the header, and it is aligned:
//! the origin sits 9 bytes below a page boundary, so the whole block grid is
//! shifted by -9 and every `block + 9` falls on a multiple of the block size
//! (up to a page). A request for `align` takes a block of at least `align`
//! bytes; no byte is lost to padding.
//!
//! ```text
//!      page boundary                      page boundary
//!      v                                  v
//!   [hdr][payload of a 4 KiB block .. ][hdr][payload ..
//!   ^ origin = page - 9                ^ block at offset 4096
//! ```
//!
//! ```text
//!   allocate(1): need 1 + 9 = 10 bytes -> scale 4 (16 B)
//!
//!   |<--------------------------- scale A (1 KiB) ---------------------------->|
//!   |<------------- 9 ------------->|<------------- 9 (free) ----------------->|
//!   |<----- 8 ----->|<-- 8 free --->|
//!   |<-7->|<7 free->|
//!   ...   split keeps the lower half, frees the upper half
//!   |4|4f|5 free|6 free|  ...
//!    ^ returned: payload = block + 9
//!
//!   free: buddy = offset XOR 2^scale; while the buddy is free and of the same
//!   scale, unlink it and merge (the merged block starts at the lower offset).
//! ```
//!
//! The heap can own an arena of which only the first part is backed by
//! memory: [`BuddyHeap::add_backed`] hands newly mapped bytes to the heap as
//! free blocks, which merge with their free buddies.

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

use crate::mm::layout::PAGE_SIZE;

mod check;
mod error;
mod lookup;
mod starts;
#[cfg(test)]
mod tests;

pub use check::{BlockInfo, Blocks, CheckReport, FreeCounts, FreeList};
pub use error::{CheckError, HeapError};
use starts::Starts;
pub use starts::table_bytes;

/// Bytes of the block header; the payload of `allocate` starts right after it.
pub const HEADER_SIZE: usize = 9;
/// The largest alignment `alloc_layout` honours (one page): `origin + 9` is
/// aligned to it.
pub const MAX_ALIGN: usize = PAGE_SIZE;
/// The smallest allowed minimum scale: a 16-byte block holds the header and 7 bytes.
pub const SMALLEST_SCALE: u8 = 4;
/// The largest allowed maximum scale (1 GiB blocks); offsets stay below 2^31.
pub const LARGEST_SCALE: u8 = 30;
/// The byte freed payloads are filled with while poisoning is on (always
/// in debug builds; `poison` on the kernel command line in release).
pub use super::poison::POISON;

/// The "no block" link.
const NIL: u32 = u32::MAX;
/// The free bit of the tag byte.
const FREE: u8 = 0x80;
/// The scale bits of the tag byte.
const SCALE_MASK: u8 = 0x7F;
/// Offsets (and so the arena plus the base's misalignment) stay below this.
const OFFSET_LIMIT: usize = 1 << 31;

/// The block header: exactly 9 bytes, packed, at the lowest address of a block.
#[repr(C, packed)]
#[derive(Clone, Copy)]
struct Header {
    /// Free block: next block of the same free list. Used block: bytes requested.
    next: u32,
    /// Free block: previous block of the list. Used block: payload offset.
    prev: u32,
    /// Bit 7: free. Bits 0-6: the scale.
    tag: u8,
}

const _: () = assert!(core::mem::size_of::<Header>() == HEADER_SIZE);
const _: () = assert!(MAX_ALIGN.is_power_of_two());

/// A block size as a power of two: scale `s` means `2^s` bytes.
/// Prints as upper-case hex, as ShompOS does (`scale A` is 1 KiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scale(pub u8);

impl Scale {
    /// The block size in bytes, `2^scale`.
    pub const fn bytes(self) -> usize {
        1 << self.0
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}", self.0)
    }
}

/// The first address at or above `region` that is 9 bytes below a page
/// boundary. A heap whose base is there starts with whole blocks of its
/// largest scale (a page-aligned base loses that: its first blocks are
/// 16, 32, 64 ... bytes, one of each scale).
pub fn grid_base(region: *mut u8) -> *mut u8 {
    let skip = (region.addr() + HEADER_SIZE).wrapping_neg() & (MAX_ALIGN - 1);
    region.wrapping_add(skip)
}

/// The smallest scale whose block holds `size` bytes after the header, or
/// `None` when none up to [`LARGEST_SCALE`] does (allocate's rounding rule:
/// `2^scale >= size + 9`). Ignores a heap's minimum scale.
pub const fn scale_for(size: usize) -> Option<Scale> {
    if size == 0 || size > (1 << LARGEST_SCALE) - HEADER_SIZE {
        return None;
    }
    let need = size + HEADER_SIZE;
    Some(Scale((usize::BITS - (need - 1).leading_zeros()) as u8))
}

/// Slots of the free-list heads: one per possible scale of a `u32` offset.
const SCALE_SLOTS: usize = 32;

/// The slot of scale `s` among the free-list heads. Scales never reach 32
/// (at most [`LARGEST_SCALE`]); wrapping modulo the slot count says so to
/// the compiler, so the hot path carries no bounds check.
#[inline(always)]
const fn scale_slot(s: u32) -> usize {
    s as usize % SCALE_SLOTS
}

/// Scales `min..=max` a heap accepts: `4..=30`, min not above max.
fn check_scales(min: u8, max: u8) -> Result<(), HeapError> {
    if min < SMALLEST_SCALE || max > LARGEST_SCALE || min > max {
        return Err(HeapError::BadScales { min, max });
    }
    Ok(())
}

/// A binary buddy heap over memory it is given. See the module docs.
pub struct BuddyHeap {
    /// 9 bytes below a `MAX_ALIGN` boundary, at or below the base; offsets
    /// count from here.
    origin: *mut u8,
    /// Head of the free list of each scale, NIL when empty.
    heads: [u32; SCALE_SLOTS],
    /// Bit `s` set while list `s` is not empty.
    nonempty: u32,
    min_scale: u32,
    max_scale: u32,
    /// First block offset (the base, rounded up to a minimum block).
    start: u32,
    /// End of the blocks: backed memory rounded down to a minimum block.
    end: u32,
    /// End of the backed memory.
    backed: u32,
    /// End of the arena (reserved; backed memory may grow up to here).
    limit: u32,
    /// One bit per minimum block: set where a block starts (see `starts`).
    starts: Starts,
    /// Fill freed payloads with [`POISON`] (and let `check` verify it).
    poison: bool,
}

// SAFETY: the heap owns its memory region exclusively (the constructor's
// contract); moving it to another thread moves that ownership.
unsafe impl Send for BuddyHeap {}

impl fmt::Debug for BuddyHeap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuddyHeap")
            .field("origin", &self.origin)
            .field("scales", &(self.min_scale..=self.max_scale))
            .field("blocks", &(self.start..self.end))
            .field("backed", &self.backed)
            .field("limit", &self.limit)
            .field("nonempty", &format_args!("{:#b}", self.nonempty))
            .field("side_table_bytes", &self.starts.len())
            .field("poison", &self.poison)
            .finish()
    }
}

impl BuddyHeap {
    /// A heap with no memory: every allocation fails with `OutOfMemory`.
    /// Usable in a `static` until real memory is given with `new`.
    pub const fn empty() -> BuddyHeap {
        BuddyHeap {
            origin: core::ptr::null_mut(),
            heads: [NIL; SCALE_SLOTS],
            nonempty: 0,
            min_scale: SMALLEST_SCALE as u32,
            max_scale: SMALLEST_SCALE as u32,
            start: 0,
            end: 0,
            backed: 0,
            limit: 0,
            starts: Starts::none(),
            poison: cfg!(debug_assertions),
        }
    }

    /// A heap over `len` bytes at `base`: blocks of `2^min_scale..=2^max_scale`
    /// bytes cover the front of the region, the side table of block starts
    /// (see [`table_bytes`]) takes its last bytes. [`BuddyHeap::region_for`]
    /// says how long a region must be for a given length of blocks. The
    /// blocks are the largest aligned ones that fit, so the length need not
    /// be a power of two; a tail below one minimum block is left unused.
    ///
    /// # Safety
    /// `base..base+len` must be valid, writable memory used by nothing else for
    /// as long as the heap (or any pointer it hands out) lives.
    pub unsafe fn new(
        base: *mut u8,
        len: usize,
        min_scale: u8,
        max_scale: u8,
    ) -> Result<BuddyHeap, HeapError> {
        check_scales(min_scale, max_scale)?;
        // The largest `blocks` with blocks + table_bytes(blocks) <= len.
        let table = len.div_ceil((8usize << min_scale) + 1);
        let blocks = len - table;
        if base.is_null() || len >= OFFSET_LIMIT {
            return Err(HeapError::BadRegion);
        }
        // SAFETY: the table is the region's last `table` bytes, the blocks
        // its first `blocks`: the caller's guarantee covers both.
        unsafe {
            Self::build(
                base.wrapping_add(blocks),
                table,
                base,
                blocks,
                blocks,
                min_scale,
                max_scale,
            )
        }
    }

    /// Bytes of region [`BuddyHeap::new`] needs for `blocks_len` bytes of blocks.
    pub const fn region_for(blocks_len: usize, min_scale: u8) -> usize {
        blocks_len + table_bytes(blocks_len, min_scale)
    }

    /// Bytes at the front of an arena [`BuddyHeap::with_arena`] keeps for the
    /// side table: [`table_bytes`] rounded up to [`MAX_ALIGN`], so the blocks
    /// after it sit on the same grid as the arena's base would.
    pub const fn arena_table_bytes(arena_len: usize, min_scale: u8) -> usize {
        table_bytes(arena_len, min_scale).next_multiple_of(MAX_ALIGN)
    }

    /// A heap over an arena of `arena_len` bytes at `base` of which only the
    /// first `backed` bytes are memory now; `add_backed` adds more later. The
    /// side table of block starts, sized for the whole arena, takes the
    /// arena's first [`BuddyHeap::arena_table_bytes`] bytes, so `backed`
    /// must be at least that; the blocks follow it.
    ///
    /// # Safety
    /// `base..base+backed` must be valid, writable memory used by nothing else
    /// while the heap lives; the rest of the arena is not touched until it is
    /// handed over with `add_backed`.
    pub unsafe fn with_arena(
        base: *mut u8,
        arena_len: usize,
        backed: usize,
        min_scale: u8,
        max_scale: u8,
    ) -> Result<BuddyHeap, HeapError> {
        check_scales(min_scale, max_scale)?;
        let table = Self::arena_table_bytes(arena_len, min_scale);
        if base.is_null() || backed > arena_len || backed < table || arena_len >= OFFSET_LIMIT {
            return Err(HeapError::BadRegion);
        }
        // SAFETY: the table is the first `table` backed bytes, the blocks'
        // backed part the rest: the caller's guarantee covers both.
        unsafe {
            Self::build(
                base,
                table,
                base.wrapping_add(table),
                arena_len - table,
                backed - table,
                min_scale,
                max_scale,
            )
        }
    }

    /// The heap over a side table of `table_len` bytes at `table` and an
    /// arena of `arena_len` bytes of blocks at `base`, `backed` of them memory.
    ///
    /// # Safety
    /// The table and the backed part of the arena are valid, writable,
    /// disjoint memory used by nothing else while the heap lives.
    unsafe fn build(
        table: *mut u8,
        table_len: usize,
        base: *mut u8,
        arena_len: usize,
        backed: usize,
        min_scale: u8,
        max_scale: u8,
    ) -> Result<BuddyHeap, HeapError> {
        let skew = (base.addr() + HEADER_SIZE) & (MAX_ALIGN - 1);
        if base.is_null() || backed > arena_len || arena_len > OFFSET_LIMIT - skew {
            return Err(HeapError::BadRegion);
        }
        let min_block = 1usize << min_scale;
        let start = (skew + min_block - 1) & !(min_block - 1);
        let mut heap = BuddyHeap {
            origin: base.wrapping_sub(skew),
            heads: [NIL; SCALE_SLOTS],
            nonempty: 0,
            min_scale: min_scale as u32,
            max_scale: max_scale as u32,
            start: start as u32,
            end: start as u32,
            backed: skew as u32,
            limit: (skew + arena_len) as u32,
            // SAFETY: the caller's guarantee for the table.
            starts: unsafe { Starts::new(table, table_len) },
            poison: cfg!(debug_assertions),
        };
        debug_assert!(heap.starts.capacity() >= (arena_len >> min_scale));
        // SAFETY: the caller guarantees the first `backed` bytes.
        unsafe { heap.add_backed(backed)? };
        Ok(heap)
    }

    /// Hand the next `bytes` of the arena (right after the backed part) to the
    /// heap as free blocks, which merge with their free buddies. Fails, changing
    /// nothing, when the arena has less room left.
    ///
    /// # Safety
    /// Those bytes must now be valid, writable memory used by nothing else.
    pub unsafe fn add_backed(&mut self, bytes: usize) -> Result<(), HeapError> {
        let room = (self.limit - self.backed) as usize;
        if bytes > room {
            return Err(HeapError::ArenaFull {
                requested: bytes,
                room,
            });
        }
        self.backed += bytes as u32;
        let min_block = 1u32 << self.min_scale;
        let new_end = self.backed & !(min_block - 1);
        while self.end < new_end {
            let at = self.end;
            let align_scale = at.trailing_zeros(); // 32 for offset 0
            let fit_scale = 31 - (new_end - at).leading_zeros();
            let s = align_scale.min(fit_scale).min(self.max_scale);
            // Write the block as used first, make it part of the heap, then free
            // it: its buddies below are genuine blocks, none above is in range.
            // SAFETY: [at, at + 2^s) lies in the newly backed memory.
            unsafe {
                self.hdr(at).write(Header {
                    next: 0,
                    prev: 1,
                    tag: s as u8,
                });
                self.end = at + (1 << s);
                self.mark_start(at);
                self.release(at, s);
            }
        }
        Ok(())
    }

    // ----- small accessors -------------------------------------------------

    /// The smallest block scale.
    pub fn min_scale(&self) -> Scale {
        Scale(self.min_scale as u8)
    }
    /// The largest block scale.
    pub fn max_scale(&self) -> Scale {
        Scale(self.max_scale as u8)
    }
    /// Address of offset 0 of the block grid (9 bytes below a page
    /// boundary): every block sits at a multiple of its own size from it.
    pub fn origin_addr(&self) -> usize {
        self.origin.addr()
    }
    /// Address of the first block.
    pub fn start_addr(&self) -> usize {
        self.origin.addr() + self.start as usize
    }
    /// Address just past the last block.
    pub fn end_addr(&self) -> usize {
        self.origin.addr() + self.end as usize
    }
    /// Address just past the backed memory (where `add_backed` continues).
    pub fn backed_end_addr(&self) -> usize {
        self.origin.addr() + self.backed as usize
    }
    /// Address just past the arena.
    pub fn arena_end_addr(&self) -> usize {
        self.origin.addr() + self.limit as usize
    }
    /// Bytes covered by blocks (free and used).
    pub fn heap_bytes(&self) -> usize {
        (self.end - self.start) as usize
    }
    /// Bytes of the arena not yet backed.
    pub fn unbacked_bytes(&self) -> usize {
        (self.limit - self.backed) as usize
    }
    /// True when `addr` lies inside the heap's blocks.
    pub fn contains(&self, addr: usize) -> bool {
        addr >= self.start_addr() && addr < self.end_addr()
    }
    /// The largest scale with a free block, if any.
    pub fn largest_free(&self) -> Option<Scale> {
        (self.nonempty != 0).then(|| Scale((31 - self.nonempty.leading_zeros()) as u8))
    }
    /// Bytes the side table of block starts occupies (`heapinfo` shows it).
    pub fn side_table_bytes(&self) -> usize {
        self.starts.len()
    }
    /// Whether freed payloads are filled with [`POISON`].
    pub fn poisoning(&self) -> bool {
        self.poison
    }
    /// Turn poisoning on or off. Turning it on poisons every free block
    /// now, so `check` can verify all of them from here on.
    pub fn set_poison(&mut self, on: bool) {
        if on && !self.poison {
            for s in self.min_scale..=self.max_scale {
                let mut at = self.heads[s as usize];
                while at != NIL {
                    // SAFETY: list nodes are free blocks of scale `s` in the heap.
                    unsafe {
                        self.fill_poison(at + HEADER_SIZE as u32, at + (1 << s));
                        at = (*self.hdr(at)).next;
                    }
                }
            }
        }
        self.poison = on;
    }

    // ----- the side table of block starts -----------------------------------

    /// The side table's bit for the block at offset `off` (inside the heap,
    /// a multiple of the minimum block).
    #[inline(always)]
    fn start_bit(&self, off: u32) -> usize {
        ((off - self.start) >> self.min_scale) as usize
    }

    /// Record that a block starts at `off`.
    #[inline(always)]
    fn mark_start(&mut self, off: u32) {
        let i = self.start_bit(off);
        self.starts.set(i);
    }

    /// Record that no block starts at `off` any more (merged into the one below).
    #[inline(always)]
    fn unmark_start(&mut self, off: u32) {
        let i = self.start_bit(off);
        self.starts.clear(i);
    }

    /// True when a block (free or used) starts at offset `off`. O(1): one
    /// bit of the side table, never a header a heap user could have forged.
    #[inline(always)]
    fn is_start(&self, off: u32) -> bool {
        off >= self.start
            && off < self.end
            && off & ((1 << self.min_scale) - 1) == 0
            && self.starts.get(self.start_bit(off))
    }

    // ----- the hot path ------------------------------------------------------

    /// The head of the free list of scale `s` (every scale is below 32:
    /// [`scale_slot`] says so to the compiler, which drops the bounds check).
    #[inline(always)]
    fn head_mut(&mut self, s: u32) -> &mut u32 {
        &mut self.heads[scale_slot(s)]
    }

    #[inline(always)]
    fn hdr(&self, off: u32) -> *mut Header {
        self.origin.wrapping_add(off as usize).cast()
    }

    /// The scale a request of `size` bytes aligned to `align` needs: the
    /// smallest with `2^scale >= size + 9` and `2^scale >= align`.
    #[inline(always)]
    fn request_scale(&self, size: usize, align: usize) -> Result<u32, HeapError> {
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

    /// Take a free block of exactly `scale`, splitting a larger one if needed
    /// (the lower half is kept, upper halves go to their free lists).
    #[inline(always)]
    fn take(&mut self, scale: u32) -> Option<u32> {
        // course: lab 03
        let avail = self.nonempty & (!0u32 << scale);
        if avail == 0 {
            return None;
        }
        let mut s = avail.trailing_zeros();
        // SAFETY: list heads and links are offsets of free blocks inside the
        // heap (invariant kept by push/unlink/take); headers are 9 bytes at
        // offsets aligned to at least 16.
        unsafe {
            let b = *self.head_mut(s);
            let next = (*self.hdr(b)).next;
            *self.head_mut(s) = next;
            if next == NIL {
                self.nonempty &= !(1 << s);
            } else {
                (*self.hdr(next)).prev = NIL;
            }
            // The lists between `scale` and `s` are empty: each upper half
            // becomes the only block of its list.
            while s > scale {
                s -= 1;
                let upper = b + (1 << s);
                self.hdr(upper).write(Header {
                    next: NIL,
                    prev: NIL,
                    tag: FREE | s as u8,
                });
                self.mark_start(upper);
                *self.head_mut(s) = upper;
                self.nonempty |= 1 << s;
            }
            Some(b)
        }
        // course: stub
        // // LAB 03 (split): return the offset of a free block of exactly
        // // 2^scale bytes, taken off the free lists, or `None` when there is
        // // no free block of scale `scale` or more.
        // //   1. Bit s of `self.nonempty` is set when free list s is not
        // //      empty: find the smallest s >= scale with a free block (a
        // //      mask and `trailing_zeros` do it in one step).
        // //   2. Take that list's head, `self.heads[s]`, off its list
        // //      (`self.unlink(b, s)`).
        // //   3. While s > scale, halve the block: it keeps its lower half;
        // //      the upper half, at b + 2^(s-1), becomes a free block of
        // //      scale s - 1: `self.mark_start(upper)` (the side table of
        // //      block starts), then `self.push(upper, s - 1)`.
        // //   4. Return the lower block's offset; the caller writes its header.
        // // Until then every allocation fails with "out of memory".
        // let _ = (scale, self.nonempty, self.heads);
        // let _ = (Self::unlink, Self::mark_start, Self::push);
        // None
        // course: end
    }

    /// Free the block at `b` of scale `s` and merge it with its free buddies.
    ///
    /// # Safety
    /// `b` must be a genuine used block of scale `s` of this heap.
    #[inline(always)]
    unsafe fn release(&mut self, b: u32, s: u32) {
        if self.poison {
            // SAFETY: the block's bytes after its header belong to the heap.
            unsafe { self.fill_poison(b + HEADER_SIZE as u32, b + (1 << s)) };
        }
        // course: lab 03
        let (mut b, mut s) = (b, s);
        // SAFETY: the buddy's range is checked to lie inside the heap, where
        // every buddy position of a genuine block is a genuine block start;
        // list links are offsets of free blocks.
        unsafe {
            while s < self.max_scale {
                let size = 1u32 << s;
                let buddy = b ^ size;
                if buddy < self.start || buddy + size > self.end {
                    break;
                }
                if (*self.hdr(buddy)).tag != FREE | s as u8 {
                    break;
                }
                self.unlink(buddy, s);
                let upper = b.max(buddy);
                self.unmark_start(upper);
                if self.poison {
                    self.fill_poison(upper, upper + HEADER_SIZE as u32);
                }
                b &= !size;
                s += 1;
            }
            self.push(b, s);
        }
        // course: stub
        // // LAB 03 (coalesce): the block at offset `b`, of scale `s`, is free
        // // now (its payload already poisoned above when poisoning is on).
        // // Merge it with its buddy for as long as the buddy is free and
        // // whole, then put the result on its free list.
        // //   1. The buddy of b at scale s is at `b ^ (1 << s)`. Stop at
        // //      `self.max_scale`, when the buddy's range is not inside
        // //      `self.start..self.end`, or when the buddy's header
        // //      (`*self.hdr(buddy)`) is not `tag == FREE | s as u8` (free,
        // //      of the same scale: a used or a split buddy does not merge).
        // //   2. To merge: take the buddy off its list (`self.unlink`); the
        // //      upper of the two is no block start any more
        // //      (`self.unmark_start(upper)`; with `self.poison` on, poison
        // //      its old header too: `self.fill_poison(upper, upper + 9)`);
        // //      keep the lower offset (`b & !(1 << s)`) and go up one scale.
        // //   3. Put the merged block on list s: `self.push(b, s)`.
        // // Until then a freed block is lost, and a new heap (which frees
        // // its memory into itself) has no free block at all.
        // let _ = (b, s, self.start, self.end, self.max_scale);
        // let _ = (Self::unlink, Self::unmark_start, Self::push, Self::hdr);
        // course: end
    }

    /// Put the free block `b` of scale `s` at the head of free list `s`:
    /// its header becomes free, scale `s`, linked to the old head.
    ///
    /// # Safety
    /// `b` must be a block start of scale `s` of this heap (marked in the
    /// side table) that nobody uses and that is on no free list.
    #[inline(always)]
    unsafe fn push(&mut self, b: u32, s: u32) {
        // SAFETY: `b` is a block of this heap (the caller's guarantee); the
        // old head is a free block.
        unsafe {
            let head = *self.head_mut(s);
            self.hdr(b).write(Header {
                next: head,
                prev: NIL,
                tag: FREE | s as u8,
            });
            if head != NIL {
                (*self.hdr(head)).prev = b;
            }
            *self.head_mut(s) = b;
            self.nonempty |= 1 << s;
        }
    }

    /// Fill offsets `from..to` with [`POISON`].
    ///
    /// # Safety
    /// The range must lie inside the heap's blocks.
    unsafe fn fill_poison(&self, from: u32, to: u32) {
        // SAFETY: the caller guarantees the range is heap memory.
        unsafe {
            core::ptr::write_bytes(
                self.origin.wrapping_add(from as usize),
                POISON,
                (to - from) as usize,
            )
        };
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
    fn checked_block(&self, ptr: NonNull<u8>, layout: Layout) -> Result<(u32, u32), HeapError> {
        let (b, s, align) = self.classify(ptr)?;
        let fits = layout.size() + HEADER_SIZE <= 1 << s;
        if align as usize != layout.align() || !fits {
            return Err(HeapError::LayoutMismatch {
                addr: ptr.addr().get(),
            });
        }
        Ok((b, s))
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

    /// Resize the allocation at `ptr` (made with `layout`) to `new_size` bytes
    /// without moving it: shrinking frees upper halves, growing absorbs free
    /// upper buddies. `ptr` and `layout` are checked as by `free_layout`
    /// (an error changes nothing); `Ok(false)` when the block cannot be
    /// resized in place (the caller moves it), also changing nothing.
    pub fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<bool, HeapError> {
        let (b, s) = self.checked_block(ptr, layout)?;
        let Ok(target) = self.request_scale(new_size, layout.align()) else {
            return Ok(false);
        };
        // SAFETY: `checked_block` found a genuine used block of scale `s`;
        // buddies are read only when their range lies inside the heap.
        unsafe {
            let mut s = s;
            if target > s {
                // Every upper buddy up to `target` must be free and whole.
                for j in s..target {
                    let buddy = b + (1 << j);
                    if b & (1 << j) != 0
                        || buddy + (1 << j) > self.end
                        || (*self.hdr(buddy)).tag != FREE | j as u8
                    {
                        return Ok(false);
                    }
                }
                for j in s..target {
                    self.unlink(b + (1 << j), j);
                    self.unmark_start(b + (1 << j));
                }
            } else {
                while s > target {
                    s -= 1;
                    let upper = b + (1 << s);
                    self.hdr(upper).write(Header {
                        next: 0,
                        prev: 1,
                        tag: s as u8,
                    });
                    self.mark_start(upper);
                    self.release(upper, s);
                }
            }
            self.hdr(b).write(Header {
                next: new_size as u32,
                prev: layout.align() as u32,
                tag: target as u8,
            });
        }
        Ok(true)
    }

    /// Remove the free block `o` from list `s`.
    ///
    /// # Safety
    /// `o` must be on free list `s`.
    #[inline(always)]
    unsafe fn unlink(&mut self, o: u32, s: u32) {
        // SAFETY: `o` and its links are free blocks of this heap.
        unsafe {
            let next = (*self.hdr(o)).next;
            let prev = (*self.hdr(o)).prev;
            if prev == NIL {
                *self.head_mut(s) = next;
                if next == NIL {
                    self.nonempty &= !(1 << s);
                }
            } else {
                (*self.hdr(prev)).next = next;
            }
            if next != NIL {
                (*self.hdr(next)).prev = prev;
            }
        }
    }

    /// Bytes `add_backed` must add before a request for `layout` can succeed,
    /// or `None` when the request is impossible or the arena is too small.
    pub fn grow_hint(&self, layout: Layout) -> Option<usize> {
        let s = self.request_scale(layout.size(), layout.align()).ok()?;
        let size = 1usize << s;
        let at = (self.end as usize + size - 1) & !(size - 1);
        let need_end = at + size;
        (need_end <= self.limit as usize).then(|| need_end - self.backed as usize)
    }
}
