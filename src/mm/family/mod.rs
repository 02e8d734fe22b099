//! The allocator family after FreeNOS's `liballoc` and the memory channel.
//! The heaps built on it (gap tree, first fit, pool heap) live in `mm::heap`.
//!
//! Every member speaks one small language, the [`Allocator`] trait: a request
//! is a [`Range`] (`size`, `alignment`; `address` ignored), the answer is the
//! [`Range`] that was reserved, and a failure is one [`AllocError`]. Members can
//! be chained: a child that runs out asks its parent for more memory, the way
//! a kernel heap asks the VMM for pages (seed 003, "heaps can be chained").
//!
//! ```text
//!   PoolAllocator<P> ──allocate(pool bytes)──▶ P: Allocator   (Bubble, Bit, a heap…)
//!        │  ▲                                    │
//!        │  └──────release(pool) when empty ◀────┘
//!        ▼
//!   objects: [prefix|object|…|postfix]
//!
//!   BitAllocator    one bit per chunk, runs of chunks         bit.rs
//!   BubbleAllocator bump pointer, never releases              bubble.rs
//!   PoolAllocator   power-of-two pools drawn from a parent    pool.rs
//!   SplitAllocator  physical range + its virtual window       split.rs
//!   MemoryChannel   producer/consumer ring over two pages     channel.rs
//! ```
//!
//! Chaining without global state: a child owns its parent as a generic
//! parameter (`PoolAllocator<P: Allocator>`), and `&mut A` is itself an
//! allocator, so a parent can also be borrowed (`PoolAllocator<&mut Bubble>`)
//! or be a trait object (`PoolAllocator<&mut dyn Allocator>`).
//!
//! Addresses are `usize`: the same allocator hands out physical addresses
//! (under [`SplitAllocator`]) or virtual ones (under a heap); the typed
//! `PhysAddr`/`VirtAddr` appear where the kind is known.

pub mod bit;
pub mod bubble;
pub mod channel;
pub mod pool;
pub mod rooted;
pub mod split;

pub use bit::{BitAllocator, RawWords};
pub use bubble::BubbleAllocator;
pub use channel::{ChannelError, Consumer, Producer, Reset};
pub use pool::{ObjectPostfix, ObjectPrefix, PoolAllocator};
pub use rooted::Rooted;
pub use split::{SparseError, SplitAllocator};

/// A piece of memory: where it starts, how long it is, and the alignment it
/// was asked with (0 means "the allocator's default").
///
/// As a request only `size` and `alignment` count; as an answer `address`
/// is the first byte and `size` the bytes actually reserved (never fewer
/// than asked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// First byte.
    pub address: usize,
    /// Length in bytes.
    pub size: usize,
    /// Power-of-two alignment of `address`, or 0 for the default.
    pub alignment: usize,
}

impl Range {
    /// A request for `size` bytes aligned to `alignment` (0: default).
    pub const fn request(size: usize, alignment: usize) -> Range {
        Range {
            address: 0,
            size,
            alignment,
        }
    }
    /// One past the last byte (saturating, so a bogus range never wraps).
    pub const fn end(&self) -> usize {
        self.address.saturating_add(self.size)
    }
    /// True when `addr` lies inside the range.
    pub const fn contains(&self, addr: usize) -> bool {
        addr >= self.address && addr < self.end()
    }
}

/// Why an allocator refused: the one error of the heaps and of the family
/// (defined with the heaps, which come first in the course).
pub use crate::mm::AllocError;

/// The first broken invariant a family member's `check()` found; `Display`
/// gives the message the member reported before these were kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FamilyCheckError {
    /// A bit array is unsound (bit allocator, split allocator, a pool).
    Bitmap(crate::mm::bitmap::BitmapCheckError),
    /// Bit allocator: a start bit on a free chunk.
    StartOnFree,
    /// Bit allocator: a used chunk belongs to no allocation.
    Orphan,
    /// Bubble allocator: the bump pointer is past the end.
    BumpPastEnd,
    /// Bubble allocator: the bump pointer is off the range's alignment.
    BumpMisaligned,
    /// Pool allocator: a pool list does not end (a cycle).
    PoolListCycle,
    /// Pool allocator: a back link or a pool's size index is wrong.
    PoolBrokenList,
    /// Pool allocator: a pool's slots run past its block.
    PoolSlotsPastBlock,
    /// Pool allocator: a live object's guard was overwritten.
    PoolGuardOverwritten,
}

impl FamilyCheckError {
    /// The message (the text `Display` writes).
    pub const fn as_str(self) -> &'static str {
        match self {
            FamilyCheckError::Bitmap(b) => b.as_str(),
            FamilyCheckError::StartOnFree => "bitalloc: a start bit on a free chunk",
            FamilyCheckError::Orphan => "bitalloc: a used chunk belongs to no allocation",
            FamilyCheckError::BumpPastEnd => "bubble: bump pointer past the end",
            FamilyCheckError::BumpMisaligned => "bubble: bump pointer not aligned",
            FamilyCheckError::PoolListCycle => "pool: list cycle",
            FamilyCheckError::PoolBrokenList => "pool: broken list or index",
            FamilyCheckError::PoolSlotsPastBlock => "pool: slots run past the block",
            FamilyCheckError::PoolGuardOverwritten => "pool: object guard overwritten",
        }
    }
}

impl core::fmt::Display for FamilyCheckError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The interface every member of the family implements (FreeNOS `Allocator`).
pub trait Allocator {
    /// Reserve `request.size` bytes aligned to `request.alignment` and return
    /// the range reserved; the allocator is unchanged on error.
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError>;
    /// Give back the range that starts at `address`; on error nothing changes.
    fn release(&mut self, address: usize) -> Result<(), AllocError>;
    /// Bytes this allocator manages (free and used).
    fn size(&self) -> usize;
    /// Bytes still free.
    fn available(&self) -> usize;
    /// First address managed (0 for allocators that draw from a parent).
    fn base(&self) -> usize;
    /// The default alignment of the ranges handed out (0 when it varies).
    fn alignment(&self) -> usize;
    /// A pointer to `address` of the memory this allocator hands out, for
    /// a caller that reads or writes through it (the pools write their
    /// headers into the blocks their parent gives). The family keeps
    /// addresses as integers; an allocator that knows the pointer its
    /// memory is reached through derives this one from it ([`Rooted`],
    /// the pool heap's arena: strict provenance). By default, the
    /// provenance the memory's owner exposed when it gave the range as an
    /// integer.
    fn pointer(&self, address: usize) -> *mut u8 {
        core::ptr::with_exposed_provenance_mut(address)
    }
}

impl<A: Allocator + ?Sized> Allocator for &mut A {
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        (**self).allocate(request)
    }
    fn release(&mut self, address: usize) -> Result<(), AllocError> {
        (**self).release(address)
    }
    fn size(&self) -> usize {
        (**self).size()
    }
    fn available(&self) -> usize {
        (**self).available()
    }
    fn base(&self) -> usize {
        (**self).base()
    }
    fn alignment(&self) -> usize {
        (**self).alignment()
    }
    fn pointer(&self, address: usize) -> *mut u8 {
        (**self).pointer(address)
    }
}

/// `addr` rounded up to a multiple of `align` (a power of two), or `None` on overflow.
pub const fn align_up(addr: usize, align: usize) -> Option<usize> {
    match addr.checked_add(align - 1) {
        Some(v) => Some(v & !(align - 1)),
        None => None,
    }
}

/// `addr` rounded down to a multiple of `align` (a power of two).
pub const fn align_down(addr: usize, align: usize) -> usize {
    addr & !(align - 1)
}
