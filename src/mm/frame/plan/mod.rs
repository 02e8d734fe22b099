//! From the multiboot2 memory map to a frame plan: which frames the PMM
//! manages, which are reserved and why, and where its metadata goes.
//!
//! ```text
//!  map entries (any order, may overlap)      reservations (with a reason)
//!  Available  0x0000_0000 +0x9_FC00          low memory   0 .. 1 MiB  (always)
//!  Reserved   0x0009_FC00 +0x400             kernel image, multiboot info,
//!  Available  0x0010_0000 +0x7EE_0000        boot modules
//!  Reserved   0xFFFC_0000 +0x4_0000
//!        │                                          │
//!        v  1. Available areas, rounded inward to whole frames, merged;
//!           anything at or above 4 GiB is counted as unreachable (no PAE)
//!           2. minus every non-Available entry (a conflict means "not RAM")
//!           3. minus the reservations (rounded outward)
//!           4. metadata: size from the allocator and the span, placed in the
//!              lowest free frames below 768 MiB (reachable through the
//!              linear space), then reserved too
//!        v
//!  FramePlan { span 0..end, usable ranges, reserved ranges + reasons, metadata }
//! ```
//!
//! All of it is fixed-size (no heap): the PMM is planned before any heap exists.
//!
//! ```text
//!   range.rs    FrameRange, and the sorted list of disjoint ranges the plan keeps
//!   reserve.rs  what the caller keeps out of the allocator, and why
//!   choice.rs   which allocator (`pmm=`), and the metadata it needs
//!   build.rs    plan(): the steps above, and why a plan can fail
//!   mod.rs      FramePlan and what it answers about a frame
//! ```

mod build;
mod choice;
mod range;
mod reserve;

pub use build::{PlanError, plan};
pub use choice::PmmChoice;
pub use range::FrameRange;
pub(crate) use range::RangeList;
pub use reserve::{Reservation, ReserveReason, ReservedRange};

use crate::mm::addr::Frame;
use crate::mm::layout::{LINEAR_SPACE_SIZE, PAGE_SHIFT, PAGE_SIZE};
use core::fmt;

/// The memory map's entries, defined with the boot information (module 1).
pub use crate::bootinfo::{MemoryKind, MemoryRegion};

/// Most disjoint usable ranges a plan holds (after merging and cutting).
pub const MAX_RANGES: usize = 64;
/// Most reserved ranges a plan holds (including low memory and metadata).
pub const MAX_RESERVED: usize = 16;
/// First byte Cairn cannot address without PAE.
pub const FOUR_GIB: u64 = 1 << 32;
/// First frame that the linear space cannot reach (768 MiB).
pub const LINEAR_FRAMES: u32 = LINEAR_SPACE_SIZE >> PAGE_SHIFT;

const PAGE: u64 = PAGE_SIZE as u64;

/// What a frame is, according to the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameClass {
    /// Managed: available RAM, not reserved.
    Usable,
    /// Reserved, and why.
    Reserved(ReserveReason),
    /// Not RAM the plan knows of.
    Unmanaged,
}

/// The outcome of planning: what the PMM manages and what it must leave alone.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FramePlan {
    choice: PmmChoice,
    span: FrameRange,
    usable: RangeList,
    reserved: [ReservedRange; MAX_RESERVED],
    reserved_len: usize,
    metadata: FrameRange,
    metadata_bytes: usize,
    available_frames: usize,
    unreachable_bytes: u64,
}

impl FramePlan {
    /// The allocator this plan was sized for.
    pub fn choice(&self) -> PmmChoice {
        self.choice
    }
    /// Frames the allocator's per-frame metadata covers: `0..end of the last usable range`.
    pub fn span(&self) -> FrameRange {
        self.span
    }
    /// The managed frames: sorted, disjoint, non-adjacent ranges.
    pub fn usable(&self) -> &[FrameRange] {
        self.usable.as_slice()
    }
    /// Number of managed frames.
    pub fn usable_frames(&self) -> usize {
        self.usable.frames()
    }
    /// Frames the map says are available below 4 GiB, before any reservation.
    pub fn available_frames(&self) -> usize {
        self.available_frames
    }
    /// Reserved ranges in the order they were reserved (low memory first,
    /// the metadata last), each with its reason.
    pub fn reserved(&self) -> &[ReservedRange] {
        &self.reserved[..self.reserved_len]
    }
    /// Frames two reserved ranges both hold, with the two reasons in the
    /// order they were reserved. Each reservation is rounded out to whole
    /// frames, so two whose bytes lie side by side can share a frame: GRUB
    /// puts the multiboot2 information in the padding after the end of a
    /// kernel section, inside the last frame the kernel image reserves for
    /// it. Such a frame is never handed out; [`classify`](Self::classify)
    /// names the first reason.
    pub fn shared(&self) -> impl Iterator<Item = (FrameRange, ReserveReason, ReserveReason)> + '_ {
        let all = self.reserved();
        all.iter().enumerate().flat_map(move |(i, a)| {
            all[i + 1..].iter().filter_map(move |b| {
                let start = a.range.start.0.max(b.range.start.0);
                let end = a.range.end.0.min(b.range.end.0);
                (start < end).then_some((FrameRange::new(start, end), a.reason, b.reason))
            })
        })
    }
    /// Where the metadata lives (inside the linear space).
    pub fn metadata(&self) -> FrameRange {
        self.metadata
    }
    /// Bytes of metadata the chosen allocator needs (the slice given to its constructor).
    pub fn metadata_bytes(&self) -> usize {
        self.metadata_bytes
    }
    /// Available bytes at or above 4 GiB, which Cairn cannot reach without PAE.
    pub fn unreachable_bytes(&self) -> u64 {
        self.unreachable_bytes
    }
    /// Whether `frame` is managed, reserved (and why), or not RAM at all.
    pub fn classify(&self, frame: Frame) -> FrameClass {
        let usable = self.usable();
        let i = usable.partition_point(|r| r.end.0 <= frame.0);
        if i < usable.len() && usable[i].contains(frame) {
            return FrameClass::Usable;
        }
        match self.reserved().iter().find(|r| r.range.contains(frame)) {
            Some(r) => FrameClass::Reserved(r.reason),
            None => FrameClass::Unmanaged,
        }
    }
    /// `Ok` for a managed frame, else the [`FrameError`](super::FrameError) that names why not.
    pub fn check_managed(&self, frame: Frame) -> Result<(), super::FrameError> {
        match self.classify(frame) {
            FrameClass::Usable => Ok(()),
            FrameClass::Reserved(_) => Err(super::FrameError::Reserved),
            FrameClass::Unmanaged => Err(super::FrameError::Unmanaged),
        }
    }
    /// True when all frames of `start..start + count` are managed.
    pub fn is_usable_run(&self, start: usize, count: usize) -> bool {
        let usable = self.usable();
        let i = usable.partition_point(|r| (r.end.0 as usize) <= start);
        i < usable.len()
            && usable[i].start.0 as usize <= start
            && start + count <= usable[i].end.0 as usize
    }
}

impl fmt::Debug for FramePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramePlan")
            .field("choice", &self.choice)
            .field("span", &self.span)
            .field("usable", &self.usable())
            .field("reserved", &self.reserved())
            .field("metadata", &self.metadata)
            .field("metadata_bytes", &self.metadata_bytes)
            .field("unreachable_bytes", &self.unreachable_bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests;
