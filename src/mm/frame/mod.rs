//! Physical frame allocators: one trait, three designs (bitmap, buddy, free list).
//!
//! The kernel turns the multiboot2 memory map into a [`FramePlan`] (which
//! frames are managed, which are reserved and why, where the allocator's own
//! metadata goes), hands the plan and the metadata bytes to
//! [`AnyFrameAllocator::new`], and from then on asks it for frames:
//!
//! ```text
//!   multiboot2 map ──plan()──> FramePlan ──AnyFrameAllocator::new(plan, choice, meta)──┐
//!   + reservations            managed ranges                                         │
//!   (low 1 MiB, kernel,       reserved ranges + reasons                              v
//!    boot info, modules)      metadata place and size        ┌────────── FrameAllocator ─────────┐
//!                                                            │ bitmap   next-fit bit array        │
//!                                                            │ buddy    orders 0..=10, lists +    │
//!                                                            │          per-order bitmaps         │
//!                                                            │ freelist links inside free frames  │
//!                                                            └────────────────────────────────────┘
//!   frame state:  (Unmanaged)   (Reserved)   (Free) <──free── (Allocated)
//!                                              └──allocate──────^
//! ```
//!
//! Every allocator rejects bad input (double free, reserved or unmanaged
//! frame, unaligned address, wrong run) with a [`FrameError`] and stays
//! unchanged; every allocator has `dump()` and `check()`.

pub mod any;
pub mod bitmap;
pub mod buddy;
pub mod check;
pub mod freelist;
mod meta;
pub mod plan;
pub mod report;
mod runs;
#[cfg(test)]
pub(crate) mod testmaps;

use super::addr::{Frame, PhysAddr};
pub use check::FrameCheckError;
use core::fmt;

pub use any::AnyFrameAllocator;
pub use bitmap::BitmapFrameAllocator;
pub use buddy::BuddyFrameAllocator;
pub use freelist::FreeListFrameAllocator;
pub use meta::InitError;
pub use plan::{
    FramePlan, FrameRange, MemoryKind, MemoryRegion, PlanError, PmmChoice, Reservation,
    ReserveReason, ReservedRange, plan,
};

/// Number of buddy orders: 0 (one 4 KiB frame) ..= 10 (1024 frames, 4 MiB).
pub const ORDERS: usize = 11;
/// The largest buddy order (a 4 MiB block).
pub const MAX_ORDER: usize = ORDERS - 1;

/// Why a frame could not be freed (or taken with `allocate_at`). The
/// allocator is unchanged after any of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The frame is already free (double free).
    AlreadyFree,
    /// The frame is reserved (kernel image, boot data, low memory, metadata).
    Reserved,
    /// The frame lies outside every range this allocator manages.
    Unmanaged,
    /// The address given is not the start of a frame.
    Unaligned,
    /// The run given does not match what was allocated (wrong start or length).
    BadRun,
    /// The frame is already allocated (`allocate_at` on a used frame).
    InUse,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameError::AlreadyFree => "frame is already free (double free)",
            FrameError::Reserved => "frame is reserved",
            FrameError::Unmanaged => "frame is not managed (no RAM there, or out of reach)",
            FrameError::Unaligned => "address is not the start of a frame",
            FrameError::BadRun => "not the start and length of an allocated run",
            FrameError::InUse => "frame is already allocated",
        })
    }
}

/// A physical frame allocator. Frames are 4 KiB; runs are counted in frames.
pub trait FrameAllocator {
    /// The allocator's short name (`bitmap`, `buddy`, `freelist`).
    fn name(&self) -> &'static str;
    /// Take one free frame, or `None` when none is left.
    fn allocate(&mut self) -> Option<Frame>;
    /// Take `count` contiguous frames whose first frame number is a multiple of
    /// `align` frames (a power of two, 1 for none), or `None`.
    fn allocate_contiguous(&mut self, count: usize, align: usize) -> Option<Frame>;
    /// Give back one frame taken with `allocate`.
    fn free(&mut self, frame: Frame) -> Result<(), FrameError>;
    /// Give back a whole run taken with `allocate_contiguous`.
    fn free_contiguous(&mut self, start: Frame, count: usize) -> Result<(), FrameError>;
    /// Frames free now.
    fn free_count(&self) -> usize;
    /// Frames this allocator manages (free + allocated, not reserved).
    fn total_count(&self) -> usize;
    /// True when `frame` is managed and currently handed out.
    fn is_allocated(&self, frame: Frame) -> bool;

    /// [`free`](Self::free) by physical address; an address that is not the
    /// first byte of a frame is [`FrameError::Unaligned`].
    fn free_address(&mut self, addr: PhysAddr) -> Result<(), FrameError> {
        if !addr.is_page_aligned() {
            return Err(FrameError::Unaligned);
        }
        self.free(Frame::containing_address(addr))
    }
    /// [`free_contiguous`](Self::free_contiguous) by physical address; an
    /// address that is not the first byte of a frame is [`FrameError::Unaligned`].
    fn free_contiguous_address(&mut self, addr: PhysAddr, count: usize) -> Result<(), FrameError> {
        if !addr.is_page_aligned() {
            return Err(FrameError::Unaligned);
        }
        self.free_contiguous(Frame::containing_address(addr), count)
    }
}

/// The alignment rule shared by the allocators: 0 counts as 1; anything that
/// is not a power of two is refused (`None`).
pub(crate) fn normalize_align(align: usize) -> Option<usize> {
    let align = align.max(1);
    align.is_power_of_two().then_some(align)
}

/// Split frames `start..end` into maximal naturally aligned blocks of order
/// 0..=MAX_ORDER, lowest first, and call `f(block_start, order)` for each.
pub(crate) fn for_each_block(mut start: usize, end: usize, mut f: impl FnMut(usize, usize)) {
    while start < end {
        let mut k = (start.trailing_zeros() as usize).min(MAX_ORDER);
        while start + (1 << k) > end {
            k -= 1;
        }
        f(start, k);
        start += 1 << k;
    }
}
