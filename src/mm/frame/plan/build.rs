//! Building a plan from a memory map, step by step (see the diagram in
//! [`super`]), and why no plan could be made.

use super::{
    FOUR_GIB, FramePlan, FrameRange, LINEAR_FRAMES, MAX_RESERVED, MemoryKind, MemoryRegion,
    PmmChoice, RangeList, Reservation, ReserveReason, ReservedRange,
};
use crate::mm::layout::{LOW_MEMORY_END, PAGE_SIZE};
use core::fmt;

/// Why no plan could be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// The usable memory splits into more than `MAX_RANGES` pieces.
    TooManyRanges,
    /// More than `MAX_RESERVED` reservations (counting low memory and metadata).
    TooManyReservations,
    /// No available frame below 4 GiB is left after the reservations.
    NoUsableMemory,
    /// No free run below 768 MiB is large enough for the metadata.
    NoRoomForMetadata {
        /// Bytes the metadata needs.
        bytes: usize,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::TooManyRanges => write!(f, "memory map splits into too many ranges"),
            PlanError::TooManyReservations => write!(f, "too many reserved ranges"),
            PlanError::NoUsableMemory => write!(f, "no usable memory below 4 GiB"),
            PlanError::NoRoomForMetadata { bytes } => {
                write!(
                    f,
                    "no free room below 768 MiB for {bytes} bytes of metadata"
                )
            }
        }
    }
}

/// Plan the PMM from a memory map and the caller's reservations.
///
/// `map` may be unsorted and overlapping; only `Available` entries count and
/// any other entry wins over them. Low memory (below 1 MiB) is always
/// reserved. The metadata for `choice` is sized from the span (frame 0 to
/// the end of the last usable range) and placed in the lowest free frames
/// below 768 MiB. Available memory at or above 4 GiB is counted in
/// [`FramePlan::unreachable_bytes`] and left alone.
pub fn plan(
    map: &[MemoryRegion],
    reservations: &[Reservation],
    choice: PmmChoice,
) -> Result<FramePlan, PlanError> {
    let mut usable = RangeList::new();
    let mut unreachable_bytes = 0u64;
    for e in map.iter().filter(|e| e.kind == MemoryKind::Available) {
        let end = e.start.saturating_add(e.len);
        unreachable_bytes += end.saturating_sub(e.start.max(FOUR_GIB));
        if let Some(r) = FrameRange::inside(e.start, e.len) {
            usable.insert(r)?;
        }
    }
    for e in map.iter().filter(|e| e.kind != MemoryKind::Available) {
        if let Some(r) = FrameRange::covering(e.start, e.len) {
            usable.remove(r)?;
        }
    }
    let available_frames = usable.frames();

    let mut plan = FramePlan {
        choice,
        span: FrameRange::default(),
        usable,
        reserved: [ReservedRange {
            range: FrameRange::default(),
            reason: ReserveReason::LowMemory,
        }; MAX_RESERVED],
        reserved_len: 0,
        metadata: FrameRange::default(),
        metadata_bytes: 0,
        available_frames,
        unreachable_bytes,
    };
    let low = Reservation::new(0, LOW_MEMORY_END as u64, ReserveReason::LowMemory);
    for r in core::iter::once(&low).chain(reservations) {
        if let Some(range) = FrameRange::covering(r.start, r.len) {
            plan.reserve(range, r.reason)?;
        }
    }
    let last = *plan
        .usable
        .as_slice()
        .last()
        .ok_or(PlanError::NoUsableMemory)?;
    plan.span = FrameRange::new(0, last.end.0);

    let bytes = choice.metadata_bytes(plan.span.len());
    let frames = bytes.div_ceil(PAGE_SIZE) as u32;
    let place = plan
        .usable
        .as_slice()
        .iter()
        .find(|r| r.start.0 + frames <= r.end.0.min(LINEAR_FRAMES))
        .map(|r| FrameRange::new(r.start.0, r.start.0 + frames))
        .ok_or(PlanError::NoRoomForMetadata { bytes })?;
    if frames > 0 {
        plan.reserve(place, ReserveReason::Metadata)?;
    }
    plan.metadata = place;
    plan.metadata_bytes = bytes;
    if plan.usable.as_slice().is_empty() {
        return Err(PlanError::NoUsableMemory);
    }
    Ok(plan)
}

impl FramePlan {
    /// Reserve `range` for `reason`: taken out of the usable ranges and
    /// recorded; `TooManyReservations` when the table is full.
    fn reserve(&mut self, range: FrameRange, reason: ReserveReason) -> Result<(), PlanError> {
        if self.reserved_len == MAX_RESERVED {
            return Err(PlanError::TooManyReservations);
        }
        self.usable.remove(range)?;
        self.reserved[self.reserved_len] = ReservedRange { range, reason };
        self.reserved_len += 1;
        Ok(())
    }
}
