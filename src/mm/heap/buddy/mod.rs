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
//!
//! One idea per file: `build` (a heap over a region or an arena, and its
//! growth), `split` (split and coalesce over the free lists), `allocate`,
//! `free` (the checked and the fast frees), `lookup` (the O(1) check of a
//! pointer), `starts` (the side table it reads), `resize`, `poisoning`,
//! `check` and `error`; this file holds the header, the scales and the
//! heap's fields.

use core::fmt;

use crate::mm::layout::PAGE_SIZE;

mod allocate;
mod build;
mod check;
mod error;
mod free;
mod lookup;
mod poisoning;
mod resize;
mod split;
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
}
