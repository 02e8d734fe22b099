//! Frame ranges: whole frames `start..end` from byte ranges (rounded in or
//! out, cut at 4 GiB), and the fixed-size sorted list of disjoint ranges a
//! plan keeps, with merge on insert and split on remove.

use super::build::PlanError;
use super::{FOUR_GIB, MAX_RANGES, PAGE};
use crate::mm::addr::{Frame, PhysAddr};
use crate::mm::layout::PAGE_SHIFT;
use core::fmt;

/// Frames `start..end` (end exclusive; `end` may be `Frame(0x10_0000)`, 4 GiB).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameRange {
    /// First frame.
    pub start: Frame,
    /// One past the last frame.
    pub end: Frame,
}

impl FrameRange {
    /// Frames `start..end` by number.
    pub const fn new(start: u32, end: u32) -> FrameRange {
        FrameRange {
            start: Frame(start),
            end: Frame(end),
        }
    }
    /// The whole frames inside bytes `start..start + len`, cut at 4 GiB; `None` if none.
    pub fn inside(start: u64, len: u64) -> Option<FrameRange> {
        let end = start.saturating_add(len).min(FOUR_GIB);
        let s = start.div_ceil(PAGE);
        let e = end / PAGE;
        (s < e).then(|| FrameRange::new(s as u32, e as u32))
    }
    /// The frames touched by bytes `start..start + len`, cut at 4 GiB; `None` if none.
    pub fn covering(start: u64, len: u64) -> Option<FrameRange> {
        let end = start.saturating_add(len).min(FOUR_GIB);
        if len == 0 || start >= end {
            return None;
        }
        Some(FrameRange::new(
            (start / PAGE) as u32,
            end.div_ceil(PAGE) as u32,
        ))
    }
    /// Number of frames.
    pub const fn len(&self) -> usize {
        self.end.0.saturating_sub(self.start.0) as usize
    }
    /// True when the range holds no frame.
    pub const fn is_empty(&self) -> bool {
        self.end.0 <= self.start.0
    }
    /// True when `frame` lies inside.
    pub const fn contains(&self, frame: Frame) -> bool {
        frame.0 >= self.start.0 && frame.0 < self.end.0
    }
    /// First byte.
    pub const fn start_address(&self) -> PhysAddr {
        self.start.start_address()
    }
    /// One past the last byte (a u64: it may be 4 GiB).
    pub const fn end_address(&self) -> u64 {
        (self.end.0 as u64) << PAGE_SHIFT
    }
    /// Size in bytes.
    pub const fn bytes(&self) -> u64 {
        (self.len() as u64) << PAGE_SHIFT
    }
}

impl fmt::Debug for FrameRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frames {:#x}..{:#x}", self.start.0, self.end.0)
    }
}

impl fmt::Display for FrameRange {
    /// `P0x00100000-P0x0017ffff` (inclusive last byte).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.end_address().saturating_sub(1);
        write!(f, "P{:#010x}-P{:#010x}", self.start_address().0, last)
    }
}

/// A sorted list of disjoint, non-adjacent frame ranges with fixed capacity.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RangeList {
    items: [FrameRange; MAX_RANGES],
    len: usize,
}

impl RangeList {
    /// An empty list.
    pub(super) const fn new() -> RangeList {
        RangeList {
            items: [FrameRange::new(0, 0); MAX_RANGES],
            len: 0,
        }
    }
    /// The ranges, sorted by start.
    pub(super) fn as_slice(&self) -> &[FrameRange] {
        &self.items[..self.len]
    }
    /// Append `r` after every range held; `TooManyRanges` when full.
    fn push(&mut self, r: FrameRange) -> Result<(), PlanError> {
        if self.len == MAX_RANGES {
            return Err(PlanError::TooManyRanges);
        }
        self.items[self.len] = r;
        self.len += 1;
        Ok(())
    }
    /// Add `r`, merging it with every range it overlaps or touches.
    pub(super) fn insert(&mut self, r: FrameRange) -> Result<(), PlanError> {
        let mut out = RangeList::new();
        let mut merged = r;
        let mut placed = false;
        for &x in self.as_slice() {
            if x.end.0 < merged.start.0 {
                out.push(x)?;
            } else if x.start.0 > merged.end.0 {
                if !placed {
                    out.push(merged)?;
                    placed = true;
                }
                out.push(x)?;
            } else {
                merged.start.0 = merged.start.0.min(x.start.0);
                merged.end.0 = merged.end.0.max(x.end.0);
            }
        }
        if !placed {
            out.push(merged)?;
        }
        *self = out;
        Ok(())
    }
    /// Take `r` out of every range (a range may split in two).
    pub(super) fn remove(&mut self, r: FrameRange) -> Result<(), PlanError> {
        let mut out = RangeList::new();
        for &x in self.as_slice() {
            if x.end.0 <= r.start.0 || x.start.0 >= r.end.0 {
                out.push(x)?;
                continue;
            }
            if x.start.0 < r.start.0 {
                out.push(FrameRange::new(x.start.0, r.start.0))?;
            }
            if x.end.0 > r.end.0 {
                out.push(FrameRange::new(r.end.0, x.end.0))?;
            }
        }
        *self = out;
        Ok(())
    }
    /// Frames in all the ranges together.
    pub(super) fn frames(&self) -> usize {
        self.as_slice().iter().map(FrameRange::len).sum()
    }
}
