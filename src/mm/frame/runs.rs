//! The frame allocators' allocation runs (bitmap and free-list): frames
//! handed out as runs over the shared two-bitmap [`Runs`], plus what only
//! frames have: frames the allocator does not manage are marked used and
//! start, so no run crosses them.
//!
//! ```text
//!   frame:  0 1 2 3 4 5 6 7 8 9 ...
//!   used:   # # # # . . # # # .      # allocated or not managed
//!   start:  # # # . . . # . # .      # first frame of an allocation
//!           └┬┘ └──┬┘     └─┬─┘ └ run of 1 at 8
//!           unmanaged  run of 2 at 2 ... run of 2 at 6
//! ```
//!
//! Freeing with a wrong start or length is detected (`BadRun`).

use super::check::FrameCheckError;
use super::meta::{Carver, InitError};
use super::plan::FrameRange;
use super::{FrameError, ORDERS, for_each_block};
use crate::mm::bitmap::Bitmap;
use crate::mm::runs::{RunError, Runs};

pub(crate) struct RunMap<'a> {
    runs: Runs<&'a mut [u32]>,
}

impl<'a> RunMap<'a> {
    /// Two bitmaps of `span` bits from `carver`; the frames of `managed` start
    /// free, every other frame is marked used and start. O(span / 32).
    pub fn new(
        carver: &mut Carver<'a>,
        span: usize,
        managed: impl Iterator<Item = FrameRange>,
    ) -> Result<RunMap<'a>, InitError> {
        let mut used = carver.bitmap(span)?;
        let mut start = carver.bitmap(span)?;
        let _ = used.set_range(0, span);
        let _ = start.set_range(0, span);
        for r in managed {
            let (s, n) = (r.start.0 as usize, r.len());
            if used.clear_range(s, n).is_err() || start.clear_range(s, n).is_err() {
                return Err(InitError::WrongPlan);
            }
        }
        Ok(RunMap {
            runs: Runs::new(used, start),
        })
    }

    pub fn span(&self) -> usize {
        self.runs.len()
    }
    pub fn free_count(&self) -> usize {
        self.runs.free_count()
    }
    pub fn is_used(&self, i: usize) -> bool {
        self.runs.is_used(i)
    }
    pub fn used(&self) -> &Bitmap<&'a mut [u32]> {
        self.runs.used()
    }

    /// Mark frames `s..s + count` allocated as one run. The caller has checked
    /// that they are managed and free.
    pub fn mark(&mut self, s: usize, count: usize) {
        self.runs.mark(s, count);
    }

    /// The length of the allocation that starts at managed frame `s`, checked
    /// against `count` when given. Errors: `AlreadyFree` (s is free), `BadRun`
    /// (s is inside a run, or the length differs).
    pub fn validate(&self, s: usize, count: Option<usize>) -> Result<usize, FrameError> {
        self.runs.run_at(s, count).map_err(|e| match e {
            RunError::Free => FrameError::AlreadyFree,
            RunError::Inside | RunError::Length { .. } => FrameError::BadRun,
        })
    }

    /// Forget the run `s..s + len` (from [`validate`](Self::validate)).
    pub fn unmark(&mut self, s: usize, len: usize) {
        self.runs.unmark(s, len);
    }

    /// Free blocks per buddy order, as a buddy allocator would hold this free memory.
    pub fn free_blocks_per_order(&self) -> [usize; ORDERS] {
        let used = self.runs.used();
        let mut counts = [0; ORDERS];
        let mut i = 0;
        while let Some(s) = used.next_clear(i) {
            let e = used.next_set(s).unwrap_or(self.span());
            for_each_block(s, e, |_, k| counts[k] += 1);
            i = e;
        }
        counts
    }

    /// Integrity: the runs are sound, and every frame outside `managed` is
    /// marked used and start.
    pub fn check(&self, managed: impl Iterator<Item = FrameRange>) -> Result<(), FrameCheckError> {
        self.runs.check().map_err(FrameCheckError::Runs)?;
        let (used, start) = (self.runs.used(), self.runs.starts());
        let mut prev_end = 0;
        for r in managed.chain(core::iter::once(FrameRange::new(
            self.span() as u32,
            self.span() as u32,
        ))) {
            let Some(gap) = (r.start.0 as usize).checked_sub(prev_end) else {
                return Err(FrameCheckError::RunsOutOfOrder);
            };
            if !used.is_range_set(prev_end, gap) || !start.is_range_set(prev_end, gap) {
                return Err(FrameCheckError::RunsUnmanagedNotMarked);
            }
            prev_end = r.end.0 as usize;
        }
        Ok(())
    }

    /// The metadata words, for snapshots in tests.
    #[cfg(test)]
    pub fn snapshot(&self) -> alloc::vec::Vec<u32> {
        let mut v = self.runs.used().as_words().to_vec();
        v.extend_from_slice(self.runs.starts().as_words());
        v
    }
}
