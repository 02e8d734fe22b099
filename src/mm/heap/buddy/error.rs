//! Why the buddy heap refused a request, and what `check()` found wrong.

use core::fmt;

use super::{MAX_ALIGN, Scale};

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
    /// A free payload byte is not the poison: the block at `block` was
    /// written after its free (checked while poisoning is on).
    Poisoned { block: u32, offset: u32 },
    /// The side table does not mark the block starting here.
    StartUnmarked { offset: u32 },
    /// The side table marks more starts than there are blocks.
    StartCount { marked: usize, blocks: usize },
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
            CheckError::Poisoned { block, offset } => {
                write!(
                    f,
                    "free block at {block:#x} written after its free, at offset {offset:#x} (use after free)"
                )
            }
            CheckError::StartUnmarked { offset } => {
                write!(f, "block at {offset:#x} is not marked in the side table")
            }
            CheckError::StartCount { marked, blocks } => {
                write!(
                    f,
                    "side table marks {marked} block starts, the heap has {blocks} blocks"
                )
            }
        }
    }
}
