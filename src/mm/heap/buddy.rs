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

/// Bytes of the block header; the payload of `allocate` starts right after it.
pub const HEADER_SIZE: usize = 9;
/// The largest alignment `alloc_layout` honours (one page): `origin + 9` is
/// aligned to it.
pub const MAX_ALIGN: usize = PAGE_SIZE;
/// The smallest allowed minimum scale: a 16-byte block holds the header and 7 bytes.
pub const SMALLEST_SCALE: u8 = 4;
/// The largest allowed maximum scale (1 GiB blocks); offsets stay below 2^31.
pub const LARGEST_SCALE: u8 = 30;
/// The byte freed payloads are filled with in debug builds.
pub const POISON: u8 = 0xDB;

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

/// Why the heap refused a request. After any error the heap is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeapError {
    /// Constructor: scales outside `4..=30`, or min above max.
    BadScales { min: u8, max: u8 },
    /// Constructor: null base, backed part larger than the arena, or an arena
    /// too large for 32-bit offsets.
    BadRegion,
    /// `add_backed` asked for more bytes than the arena has left.
    ArenaFull { requested: usize, room: usize },
    /// A request for zero bytes.
    ZeroSize,
    /// The request (plus header) does not fit in a block of the largest scale.
    TooBig { size: usize, max_scale: Scale },
    /// An alignment above [`MAX_ALIGN`].
    BadAlign { align: usize },
    /// No free block is large enough (the request itself is possible).
    OutOfMemory { size: usize, scale: Scale },
    /// The pointer does not point into the heap's blocks.
    OutsideHeap { addr: usize },
    /// The pointer is inside a used block's header.
    NotPayload { addr: usize },
    /// The pointer is inside a used block's payload, not at its start.
    Interior { addr: usize, payload: usize },
    /// The pointer points into memory that is already free (a double free).
    DoubleFree { addr: usize },
    /// `free_layout` with a layout the block was not allocated with.
    LayoutMismatch { addr: usize },
    /// A header the heap itself wrote is damaged (found at this offset).
    Corrupt { offset: u32 },
}

impl fmt::Display for HeapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HeapError::BadScales { min, max } => {
                write!(f, "bad scales {min}..={max} (allowed 4..=30, min <= max)")
            }
            HeapError::BadRegion => write!(f, "bad memory region for a heap"),
            HeapError::ArenaFull { requested, room } => {
                write!(
                    f,
                    "cannot grow by {requested} bytes: {room} left in the arena"
                )
            }
            HeapError::ZeroSize => write!(f, "zero-size request"),
            HeapError::TooBig { size, max_scale } => write!(
                f,
                "{size} bytes do not fit in the largest block (scale {max_scale}, {} bytes)",
                max_scale.bytes()
            ),
            HeapError::BadAlign { align } => {
                write!(f, "alignment {align} not supported (max {MAX_ALIGN})")
            }
            HeapError::OutOfMemory { size, scale } => {
                write!(
                    f,
                    "out of memory: no free block of scale {scale} for {size} bytes"
                )
            }
            HeapError::OutsideHeap { addr } => write!(f, "{addr:#x} is outside the heap"),
            HeapError::NotPayload { addr } => {
                write!(
                    f,
                    "{addr:#x} is not a payload start (inside a block header)"
                )
            }
            HeapError::Interior { addr, payload } => write!(
                f,
                "{addr:#x} points inside the block whose payload starts at {payload:#x}"
            ),
            HeapError::DoubleFree { addr } => write!(f, "{addr:#x} is already free (double free)"),
            HeapError::LayoutMismatch { addr } => {
                write!(f, "{addr:#x} was not allocated with this layout")
            }
            HeapError::Corrupt { offset } => write!(f, "heap corrupt at offset {offset:#x}"),
        }
    }
}

/// What `check()` found wrong. Offsets are from the heap origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckError {
    /// A header's scale is outside the heap's min..=max.
    BadScale { offset: u32, scale: u8 },
    /// A block is not aligned to its own size.
    Misaligned { offset: u32, scale: u8 },
    /// A block runs past the end of the heap (sizes do not add up).
    Overrun { offset: u32, scale: u8 },
    /// A used block's header holds an impossible alignment or size.
    BadUsedHeader { offset: u32 },
    /// A free list node is not a free block of that list's scale.
    BadListNode { scale: u8, offset: u32 },
    /// A free list's back link is wrong.
    BadBackLink { scale: u8, offset: u32 },
    /// A free list holds a different number of blocks than the walk found free.
    ListCount {
        scale: u8,
        listed: usize,
        free: usize,
    },
    /// The non-empty bitmask disagrees with the list head.
    BadMask { scale: u8 },
    /// Two free buddies of the same scale were left unmerged.
    Unmerged { offset: u32, scale: u8 },
    /// A free payload byte is not the poison (a write after free); debug builds.
    Poisoned { offset: u32 },
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CheckError::BadScale { offset, scale } => {
                write!(f, "block at {offset:#x}: bad scale {scale}")
            }
            CheckError::Misaligned { offset, scale } => {
                write!(f, "block at {offset:#x} not aligned to its scale {scale:X}")
            }
            CheckError::Overrun { offset, scale } => {
                write!(
                    f,
                    "block at {offset:#x} (scale {scale:X}) runs past the heap end"
                )
            }
            CheckError::BadUsedHeader { offset } => {
                write!(f, "used block at {offset:#x}: bad alignment or size")
            }
            CheckError::BadListNode { scale, offset } => {
                write!(
                    f,
                    "free list {scale:X}: {offset:#x} is not a free block of that scale"
                )
            }
            CheckError::BadBackLink { scale, offset } => {
                write!(f, "free list {scale:X}: wrong prev link at {offset:#x}")
            }
            CheckError::ListCount {
                scale,
                listed,
                free,
            } => write!(
                f,
                "free list {scale:X}: {listed} listed, {free} free blocks"
            ),
            CheckError::BadMask { scale } => {
                write!(f, "non-empty mask wrong for scale {scale:X}")
            }
            CheckError::Unmerged { offset, scale } => {
                write!(
                    f,
                    "free buddies at {offset:#x} (scale {scale:X}) not merged"
                )
            }
            CheckError::Poisoned { offset } => {
                write!(
                    f,
                    "freed memory written at offset {offset:#x} (use after free)"
                )
            }
        }
    }
}

/// What a successful `check()` counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Blocks in the heap, free and used.
    pub blocks: usize,
    /// Free blocks and their bytes (headers included).
    pub free_blocks: usize,
    pub free_bytes: usize,
    /// Used blocks, their bytes (headers included) and the bytes requested.
    pub used_blocks: usize,
    pub used_bytes: usize,
    pub requested_bytes: usize,
}

/// Number of free blocks per scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreeCounts {
    min: u8,
    max: u8,
    counts: [u32; 32],
}

impl FreeCounts {
    /// Free blocks of `scale` (0 outside the heap's scales).
    pub fn get(&self, scale: Scale) -> usize {
        self.counts.get(scale.0 as usize).map_or(0, |&c| c as usize)
    }
    /// `(scale, count)` for each scale of the heap, smallest first.
    pub fn iter(&self) -> impl Iterator<Item = (Scale, usize)> + '_ {
        (self.min..=self.max).map(|s| (Scale(s), self.counts[s as usize] as usize))
    }
    /// Free bytes in all blocks (headers included).
    pub fn total_bytes(&self) -> usize {
        self.iter().map(|(s, c)| s.bytes() * c).sum()
    }
    /// Free blocks of all scales.
    pub fn total_blocks(&self) -> usize {
        self.iter().map(|(_, c)| c).sum()
    }
}

/// One block as `blocks()` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Offset from the heap origin.
    pub offset: u32,
    /// Address of the block (of its header).
    pub addr: usize,
    pub scale: Scale,
    pub free: bool,
    /// Used blocks: bytes requested.
    pub requested: Option<usize>,
    /// Used blocks: payload address.
    pub payload: Option<usize>,
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

/// A binary buddy heap over memory it is given. See the module docs.
pub struct BuddyHeap {
    /// 9 bytes below a `MAX_ALIGN` boundary, at or below the base; offsets
    /// count from here.
    origin: *mut u8,
    /// Head of the free list of each scale, NIL when empty.
    heads: [u32; 32],
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
            .finish()
    }
}

impl BuddyHeap {
    /// A heap with no memory: every allocation fails with `OutOfMemory`.
    /// Usable in a `static` until real memory is given with `new`.
    pub const fn empty() -> BuddyHeap {
        BuddyHeap {
            origin: core::ptr::null_mut(),
            heads: [NIL; 32],
            nonempty: 0,
            min_scale: SMALLEST_SCALE as u32,
            max_scale: SMALLEST_SCALE as u32,
            start: 0,
            end: 0,
            backed: 0,
            limit: 0,
        }
    }

    /// A heap over `len` bytes at `base`, blocks of `2^min_scale..=2^max_scale`
    /// bytes. The region is covered with the largest aligned blocks that fit,
    /// so `len` need not be a power of two; a tail below one minimum block is
    /// left unused.
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
        // SAFETY: the caller's guarantee covers the whole arena, all backed.
        unsafe { Self::with_arena(base, len, len, min_scale, max_scale) }
    }

    /// A heap over an arena of `arena_len` bytes at `base` of which only the
    /// first `backed` bytes are memory now; `add_backed` adds more later.
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
        if min_scale < SMALLEST_SCALE || max_scale > LARGEST_SCALE || min_scale > max_scale {
            return Err(HeapError::BadScales {
                min: min_scale,
                max: max_scale,
            });
        }
        let skew = (base.addr() + HEADER_SIZE) & (MAX_ALIGN - 1);
        if base.is_null() || backed > arena_len || arena_len > OFFSET_LIMIT - skew {
            return Err(HeapError::BadRegion);
        }
        let min_block = 1usize << min_scale;
        let start = (skew + min_block - 1) & !(min_block - 1);
        let mut heap = BuddyHeap {
            origin: base.wrapping_sub(skew),
            heads: [NIL; 32],
            nonempty: 0,
            min_scale: min_scale as u32,
            max_scale: max_scale as u32,
            start: start as u32,
            end: start as u32,
            backed: skew as u32,
            limit: (skew + arena_len) as u32,
        };
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

    // ----- the hot path ------------------------------------------------------

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
        let avail = self.nonempty & (!0u32 << scale);
        if avail == 0 {
            return None;
        }
        let mut s = avail.trailing_zeros();
        // SAFETY: list heads and links are offsets of free blocks inside the
        // heap (invariant kept by push/unlink/take); headers are 9 bytes at
        // offsets aligned to at least 16.
        unsafe {
            let b = self.heads[(s & 31) as usize];
            let next = (*self.hdr(b)).next;
            self.heads[(s & 31) as usize] = next;
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
                self.heads[(s & 31) as usize] = upper;
                self.nonempty |= 1 << s;
            }
            Some(b)
        }
    }

    /// Free the block at `b` of scale `s` and merge it with its free buddies.
    ///
    /// # Safety
    /// `b` must be a genuine used block of scale `s` of this heap.
    #[inline(always)]
    unsafe fn release(&mut self, mut b: u32, mut s: u32) {
        #[cfg(debug_assertions)]
        // SAFETY: the block's bytes after its header belong to the heap.
        unsafe {
            self.poison(b + HEADER_SIZE as u32, b + (1 << s))
        };
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
                let bh = self.hdr(buddy);
                if (*bh).tag != FREE | s as u8 {
                    break;
                }
                let next = (*bh).next;
                let prev = (*bh).prev;
                if prev == NIL {
                    self.heads[(s & 31) as usize] = next;
                    if next == NIL {
                        self.nonempty &= !(1 << s);
                    }
                } else {
                    (*self.hdr(prev)).next = next;
                }
                if next != NIL {
                    (*self.hdr(next)).prev = prev;
                }
                #[cfg(debug_assertions)]
                {
                    let upper = b.max(buddy);
                    self.poison(upper, upper + HEADER_SIZE as u32);
                }
                b &= !size;
                s += 1;
            }
            let head = self.heads[(s & 31) as usize];
            self.hdr(b).write(Header {
                next: head,
                prev: NIL,
                tag: FREE | s as u8,
            });
            if head != NIL {
                (*self.hdr(head)).prev = b;
            }
            self.heads[(s & 31) as usize] = b;
            self.nonempty |= 1 << s;
        }
    }

    /// Fill offsets `from..to` with [`POISON`].
    ///
    /// # Safety
    /// The range must lie inside the heap's blocks.
    #[cfg(debug_assertions)]
    unsafe fn poison(&self, from: u32, to: u32) {
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
    /// checked: outside the heap, inside a header, inside a payload, or
    /// already free gives an error and changes nothing.
    pub fn free(&mut self, ptr: NonNull<u8>) -> Result<(), HeapError> {
        let (b, s, _) = self.classify(ptr)?;
        // SAFETY: `classify` found a genuine used block.
        unsafe { self.release(b, s) };
        Ok(())
    }

    /// Free what `alloc_layout(layout)` returned, checked like `free`, and
    /// also that the block was allocated with `layout`'s alignment and can
    /// hold its size.
    pub fn free_layout(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let (b, s, align) = self.classify(ptr)?;
        let fits = layout.size() + HEADER_SIZE <= 1 << s;
        if align as usize != layout.align() || !fits {
            return Err(HeapError::LayoutMismatch {
                addr: ptr.addr().get(),
            });
        }
        // SAFETY: `classify` found a genuine used block.
        unsafe { self.release(b, s) };
        Ok(())
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
    /// upper buddies. Returns false (changing nothing) when that is not possible.
    ///
    /// # Safety
    /// As for `dealloc`: `ptr` is a live allocation of this heap with `layout`.
    pub unsafe fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> bool {
        let Ok(target) = self.request_scale(new_size, layout.align()) else {
            return false;
        };
        let off = ptr
            .as_ptr()
            .addr()
            .wrapping_sub(self.origin.addr())
            .wrapping_sub(HEADER_SIZE);
        if off >= self.end as usize || off < self.start as usize {
            return false;
        }
        let b = off as u32;
        // SAFETY: by the contract `b` is a genuine used block; buddies are read
        // only when their range lies inside the heap.
        unsafe {
            let mut s = (*self.hdr(b)).tag as u32;
            if s & FREE as u32 != 0 || s < self.min_scale || s > self.max_scale {
                return false;
            }
            if target > s {
                // Every upper buddy up to `target` must be free and whole.
                for j in s..target {
                    let buddy = b + (1 << j);
                    if b & (1 << j) != 0
                        || buddy + (1 << j) > self.end
                        || (*self.hdr(buddy)).tag != FREE | j as u8
                    {
                        return false;
                    }
                }
                for j in s..target {
                    self.unlink(b + (1 << j), j);
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
                    self.release(upper, s);
                }
            }
            self.hdr(b).write(Header {
                next: new_size as u32,
                prev: layout.align() as u32,
                tag: target as u8,
            });
        }
        true
    }

    /// Remove the free block `o` from list `s`.
    ///
    /// # Safety
    /// `o` must be on free list `s`.
    unsafe fn unlink(&mut self, o: u32, s: u32) {
        // SAFETY: `o` and its links are free blocks of this heap.
        unsafe {
            let next = (*self.hdr(o)).next;
            let prev = (*self.hdr(o)).prev;
            if prev == NIL {
                self.heads[(s & 31) as usize] = next;
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

    // ----- checked lookups ---------------------------------------------------

    /// The genuine block containing offset `x` (inside `start..end`): start
    /// from the largest aligned region around `x` and descend through split
    /// boundaries, reading only headers the heap wrote.
    fn locate(&self, x: u32) -> Option<(u32, u32)> {
        let mut k = self.max_scale;
        let mut r;
        loop {
            r = x & !((1u32 << k) - 1);
            if r >= self.start && r + (1 << k) <= self.end {
                break;
            }
            if k == self.min_scale {
                return None;
            }
            k -= 1;
        }
        loop {
            // SAFETY: `r` is the start of a region tiled by genuine blocks, so
            // a genuine header sits there.
            let tag = unsafe { (*self.hdr(r)).tag } & SCALE_MASK;
            let s = tag as u32;
            if s == k {
                return Some((r, k));
            }
            if s > k || s < self.min_scale {
                return None;
            }
            // Split region: descend to the half holding `x`; the lower half
            // starts with the same header.
            while k > s {
                k -= 1;
                if x >= r + (1 << k) {
                    r += 1 << k;
                    break;
                }
            }
        }
    }

    /// The used block whose payload `ptr` is: `(offset, scale, alignment)`.
    fn classify(&self, ptr: NonNull<u8>) -> Result<(u32, u32, u32), HeapError> {
        let addr = ptr.addr().get();
        let x = addr.wrapping_sub(self.origin.addr());
        if x < self.start as usize || x >= self.end as usize {
            return Err(HeapError::OutsideHeap { addr });
        }
        let x = x as u32;
        let (b, s) = self.locate(x).ok_or(HeapError::Corrupt { offset: x })?;
        // SAFETY: `b` is a genuine block.
        let h = unsafe { self.hdr(b).read() };
        if h.tag & FREE != 0 {
            return Err(HeapError::DoubleFree { addr });
        }
        match (x - b).cmp(&(HEADER_SIZE as u32)) {
            core::cmp::Ordering::Equal => Ok((b, s, h.prev)),
            core::cmp::Ordering::Less => Err(HeapError::NotPayload { addr }),
            core::cmp::Ordering::Greater => Err(HeapError::Interior {
                addr,
                payload: self.origin.addr() + b as usize + HEADER_SIZE,
            }),
        }
    }

    /// The block `ptr` points into, used or free, if it lies in the heap.
    pub fn block_of(&self, addr: usize) -> Option<BlockInfo> {
        let x = addr.wrapping_sub(self.origin.addr());
        if x < self.start as usize || x >= self.end as usize {
            return None;
        }
        let (b, _) = self.locate(x as u32)?;
        Some(self.info(b))
    }

    fn info(&self, b: u32) -> BlockInfo {
        // SAFETY: callers pass genuine block offsets.
        let h = unsafe { self.hdr(b).read() };
        let free = h.tag & FREE != 0;
        let addr = self.origin.addr() + b as usize;
        BlockInfo {
            offset: b,
            addr,
            scale: Scale(h.tag & SCALE_MASK),
            free,
            requested: (!free).then_some(h.next as usize),
            payload: (!free).then_some(addr + HEADER_SIZE),
        }
    }

    // ----- reports and integrity ---------------------------------------------

    /// Every block from the lowest address up, free and used.
    pub fn blocks(&self) -> Blocks<'_> {
        Blocks {
            heap: self,
            at: self.start,
        }
    }

    /// The offsets on the free list of `scale`, head first (bounded, so a
    /// corrupt cycle cannot loop forever).
    pub fn free_list(&self, scale: Scale) -> FreeList<'_> {
        let s = scale.0 as u32;
        let in_range = s >= self.min_scale && s <= self.max_scale;
        FreeList {
            heap: self,
            at: if in_range {
                self.heads[s as usize]
            } else {
                NIL
            },
            left: self.max_list_len(),
        }
    }

    fn max_list_len(&self) -> usize {
        ((self.end - self.start) >> self.min_scale) as usize + 1
    }

    /// Free blocks per scale, counted on the free lists.
    pub fn free_counts(&self) -> FreeCounts {
        let mut counts = [0u32; 32];
        for s in self.min_scale..=self.max_scale {
            counts[s as usize] = self.free_list(Scale(s as u8)).count() as u32;
        }
        FreeCounts {
            min: self.min_scale as u8,
            max: self.max_scale as u8,
            counts,
        }
    }

    /// Walk the whole heap and verify it: blocks tile it exactly (sizes add
    /// up), each free list holds exactly the free blocks of its scale with
    /// correct links and mask bit, no two free buddies are left unmerged, and
    /// (debug builds) freed payloads still hold the poison.
    pub fn check(&self) -> Result<CheckReport, CheckError> {
        let mut rep = CheckReport::default();
        let mut free_per_scale = [0usize; 32];
        let mut at = self.start;
        while at < self.end {
            // SAFETY: `at` is the start of the next block: the walk steps by
            // block sizes from the first block, each checked to lie in the heap.
            let h = unsafe { self.hdr(at).read() };
            let scale = h.tag & SCALE_MASK;
            let s = scale as u32;
            if s < self.min_scale || s > self.max_scale {
                return Err(CheckError::BadScale { offset: at, scale });
            }
            let size = 1u32 << s;
            if at & (size - 1) != 0 {
                return Err(CheckError::Misaligned { offset: at, scale });
            }
            if at + size > self.end {
                return Err(CheckError::Overrun { offset: at, scale });
            }
            rep.blocks += 1;
            if h.tag & FREE != 0 {
                rep.free_blocks += 1;
                rep.free_bytes += size as usize;
                free_per_scale[s as usize] += 1;
                let buddy = at ^ size;
                if s < self.max_scale && buddy > at && buddy + size <= self.end {
                    // SAFETY: a buddy inside the heap starts a genuine block.
                    if unsafe { (*self.hdr(buddy)).tag } == h.tag {
                        return Err(CheckError::Unmerged { offset: at, scale });
                    }
                }
                #[cfg(debug_assertions)]
                {
                    // SAFETY: the block's payload is heap memory.
                    let payload = unsafe {
                        core::slice::from_raw_parts(
                            self.origin.wrapping_add(at as usize + HEADER_SIZE),
                            size as usize - HEADER_SIZE,
                        )
                    };
                    if let Some(i) = payload.iter().position(|&x| x != POISON) {
                        return Err(CheckError::Poisoned {
                            offset: at + (HEADER_SIZE + i) as u32,
                        });
                    }
                }
            } else {
                let (req, align) = (h.next, h.prev);
                let align_ok = align.is_power_of_two() && align <= size.min(MAX_ALIGN as u32);
                if !align_ok || req as usize > size as usize - HEADER_SIZE {
                    return Err(CheckError::BadUsedHeader { offset: at });
                }
                rep.used_blocks += 1;
                rep.used_bytes += size as usize;
                rep.requested_bytes += req as usize;
            }
            at += size;
        }
        for s in 0..32u32 {
            let head = self.heads[s as usize];
            let bit = self.nonempty & (1 << s) != 0;
            if bit != (head != NIL) {
                return Err(CheckError::BadMask { scale: s as u8 });
            }
            if s < self.min_scale || s > self.max_scale {
                if head != NIL {
                    return Err(CheckError::BadListNode {
                        scale: s as u8,
                        offset: head,
                    });
                }
                continue;
            }
            let mut listed = 0usize;
            let mut prev = NIL;
            let mut node = head;
            while node != NIL {
                let bad = CheckError::BadListNode {
                    scale: s as u8,
                    offset: node,
                };
                if node < self.start || node >= self.end || self.locate(node) != Some((node, s)) {
                    return Err(bad);
                }
                // SAFETY: `locate` confirmed a genuine block at `node`.
                let h = unsafe { self.hdr(node).read() };
                if h.tag != FREE | s as u8 {
                    return Err(bad);
                }
                if h.prev != prev {
                    return Err(CheckError::BadBackLink {
                        scale: s as u8,
                        offset: node,
                    });
                }
                listed += 1;
                if listed > free_per_scale[s as usize] {
                    break;
                }
                prev = node;
                node = h.next;
            }
            if listed != free_per_scale[s as usize] {
                return Err(CheckError::ListCount {
                    scale: s as u8,
                    listed,
                    free: free_per_scale[s as usize],
                });
            }
        }
        Ok(rep)
    }
}

/// Iterator over the blocks of a heap, lowest address first.
pub struct Blocks<'a> {
    heap: &'a BuddyHeap,
    at: u32,
}

impl Iterator for Blocks<'_> {
    type Item = BlockInfo;
    fn next(&mut self) -> Option<BlockInfo> {
        if self.at >= self.heap.end {
            return None;
        }
        let info = self.heap.info(self.at);
        let s = info.scale.0 as u32;
        if s < self.heap.min_scale || s > self.heap.max_scale {
            self.at = self.heap.end; // corrupt: stop (check() reports it)
            return None;
        }
        self.at += 1 << s;
        Some(info)
    }
}

/// Iterator over the offsets on one free list.
pub struct FreeList<'a> {
    heap: &'a BuddyHeap,
    at: u32,
    left: usize,
}

impl Iterator for FreeList<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let heap = self.heap;
        if self.at == NIL || self.left == 0 || self.at < heap.start || self.at >= heap.end {
            return None;
        }
        self.left -= 1;
        let here = self.at;
        // SAFETY: `here` is inside the heap; list nodes are free blocks.
        self.at = unsafe { (*heap.hdr(here)).next };
        Some(here)
    }
}
