//! Physical frame allocators: one trait, three designs (bitmap, buddy, free list).
//!
//! Filled in by the physical-memory work; the trait below is the contract the
//! paging layer and the kernel rely on.

use super::addr::Frame;

/// Why a frame could not be freed. The allocator is unchanged after any of these.
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
}
