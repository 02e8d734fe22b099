//! Allocation runs over two bitmaps, shared by the bitmap and free-list
//! allocators: which frames are handed out, and where each allocation starts.
//!
//! ```text
//!   frame:  0 1 2 3 4 5 6 7 8 9 ...
//!   used:   # # # # . . # # # .      # allocated or not managed
//!   head:   # # # . . . # . # .      # first frame of an allocation
//!           └┬┘ └──┬┘     └─┬─┘ └ run of 1 at 8
//!           unmanaged  run of 2 at 2 ... run of 2 at 6
//! ```
//!
//! A run ends at the first frame after its head that is free or is another
//! head, so the length of every allocation is known without storing it, and
//! freeing with a wrong start or length is detected (`BadRun`). Frames the
//! allocator does not manage are marked used and head, so no run crosses them.

use super::meta::{Carver, InitError, bitmap_bytes};
use super::plan::FrameRange;
use super::{FrameError, ORDERS, for_each_block};
use crate::mm::bitmap::{BITS_PER_WORD, Bitmap};

/// Metadata bytes for `span` frames: two bitmaps.
pub(crate) const fn metadata_bytes(span: usize) -> usize {
    2 * bitmap_bytes(span)
}

pub(crate) struct RunMap<'a> {
    used: Bitmap<&'a mut [u32]>,
    head: Bitmap<&'a mut [u32]>,
}

impl<'a> RunMap<'a> {
    /// Two bitmaps of `span` bits from `carver`; the frames of `managed` start
    /// free, every other frame is marked used and head. O(span / 32).
    pub fn new(
        carver: &mut Carver<'a>,
        span: usize,
        managed: impl Iterator<Item = FrameRange>,
    ) -> Result<RunMap<'a>, InitError> {
        let mut used = carver.bitmap(span)?;
        let mut head = carver.bitmap(span)?;
        let _ = used.set_range(0, span);
        let _ = head.set_range(0, span);
        for r in managed {
            let (s, n) = (r.start.0 as usize, r.len());
            if used.clear_range(s, n).is_err() || head.clear_range(s, n).is_err() {
                return Err(InitError::WrongPlan);
            }
        }
        Ok(RunMap { used, head })
    }

    pub fn span(&self) -> usize {
        self.used.len()
    }
    pub fn free_count(&self) -> usize {
        self.used.count_zeros()
    }
    pub fn is_used(&self, i: usize) -> bool {
        self.used.test(i)
    }
    pub fn used(&self) -> &Bitmap<&'a mut [u32]> {
        &self.used
    }

    /// Mark frames `s..s + count` allocated as one run. The caller has checked
    /// that they are managed and free.
    pub fn mark(&mut self, s: usize, count: usize) {
        let _ = self.used.set_range(s, count);
        self.head.set(s);
    }

    /// One past the last frame of the run that starts at `s`.
    pub fn run_end(&self, s: usize) -> usize {
        let n = self.span();
        let i = s + 1;
        if i >= n {
            return n;
        }
        let used = self.used.as_words();
        let head = self.head.as_words();
        let mut w = i / BITS_PER_WORD;
        // A run ends at a free frame or at the next head.
        let mut stop = (!used[w] | head[w]) & !((1u32 << (i % BITS_PER_WORD)) - 1);
        loop {
            if stop != 0 {
                return (w * BITS_PER_WORD + stop.trailing_zeros() as usize).min(n);
            }
            w += 1;
            if w * BITS_PER_WORD >= n {
                return n;
            }
            stop = !used[w] | head[w];
        }
    }

    /// The length of the allocation that starts at managed frame `s`, checked
    /// against `count` when given. Errors: `AlreadyFree` (s is free), `BadRun`
    /// (s is inside a run, or the length differs).
    pub fn validate(&self, s: usize, count: Option<usize>) -> Result<usize, FrameError> {
        if !self.used.test(s) {
            return Err(FrameError::AlreadyFree);
        }
        if !self.head.test(s) {
            return Err(FrameError::BadRun);
        }
        let len = self.run_end(s) - s;
        match count {
            Some(c) if c != len => Err(FrameError::BadRun),
            _ => Ok(len),
        }
    }

    /// Forget the run `s..s + len` (from [`validate`](Self::validate)).
    pub fn unmark(&mut self, s: usize, len: usize) {
        let _ = self.used.clear_range(s, len);
        self.head.clear(s);
    }

    /// Free blocks per buddy order, as a buddy allocator would hold this free memory.
    pub fn free_blocks_per_order(&self) -> [usize; ORDERS] {
        let mut counts = [0; ORDERS];
        let mut i = 0;
        while let Some(s) = self.used.next_clear(i) {
            let e = self.used.next_set(s).unwrap_or(self.span());
            for_each_block(s, e, |_, k| counts[k] += 1);
            i = e;
        }
        counts
    }

    /// Integrity: both bitmaps are consistent, every head is used, and every
    /// frame outside `managed` is marked used and head.
    pub fn check(&self, managed: impl Iterator<Item = FrameRange>) -> Result<(), &'static str> {
        self.used.check()?;
        self.head.check()?;
        for (u, h) in self.used.as_words().iter().zip(self.head.as_words()) {
            if h & !u != 0 {
                return Err("runs: a head frame is not marked used");
            }
        }
        let mut prev_end = 0;
        for r in managed.chain(core::iter::once(FrameRange::new(
            self.span() as u32,
            self.span() as u32,
        ))) {
            let gap = r.start.0 as usize - prev_end;
            if !self.used.is_range_set(prev_end, gap) || !self.head.is_range_set(prev_end, gap) {
                return Err("runs: an unmanaged frame is not marked used and head");
            }
            prev_end = r.end.0 as usize;
        }
        Ok(())
    }

    /// The metadata words, for snapshots in tests.
    #[cfg(test)]
    pub fn snapshot(&self) -> alloc::vec::Vec<u32> {
        let mut v = self.used.as_words().to_vec();
        v.extend_from_slice(self.head.as_words());
        v
    }
}
