//! Runs over two bit arrays, the one home of "which pieces are in use, and
//! where each allocation starts": the frame allocators' run map and the
//! family's `BitAllocator` both keep their allocations here.
//!
//! ```text
//!   piece:   0 1 2 3 4 5 6 7 8 9 ...
//!   used:    # # # # . . # # # .      # in use
//!   starts:  # . # . . . # . # .      # first piece of an allocation
//!            └┬┘ └┬┘     └┬┘ └ run of 1 at 8
//!         run of 2  run of 2  run of 2
//! ```
//!
//! A run ends at the first piece after its start that is free or starts
//! another run, so the length of every allocation is known without storing
//! it, and freeing with a wrong start or length is detected.

use crate::mm::bitmap::{Bitmap, BitmapCheckError};
use core::fmt;

/// Allocations as runs of set bits in `used`, each starting at a set bit
/// of `starts` (the two arrays have the same length).
pub struct Runs<S> {
    used: Bitmap<S>,
    starts: Bitmap<S>,
}

/// Why a piece does not start a live allocation. Nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunError {
    /// The piece is free.
    Free,
    /// The piece is in use but inside an allocation, not at its start.
    Inside,
    /// The run that starts there is `actual` pieces long, not as many as given.
    Length { actual: usize },
}

/// The first broken invariant [`Runs::check`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunsCheckError {
    /// The `used` array is unsound.
    Used(BitmapCheckError),
    /// The `starts` array is unsound.
    Starts(BitmapCheckError),
    /// A start bit on a free piece.
    StartOnFree(usize),
    /// A used piece that neither starts a run nor continues one.
    Orphan(usize),
}

impl fmt::Display for RunsCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunsCheckError::Used(e) => write!(f, "runs: used bits: {e}"),
            RunsCheckError::Starts(e) => write!(f, "runs: start bits: {e}"),
            RunsCheckError::StartOnFree(i) => write!(f, "runs: a start bit on free piece {i}"),
            RunsCheckError::Orphan(i) => {
                write!(f, "runs: used piece {i} belongs to no allocation")
            }
        }
    }
}

impl<S: AsRef<[u32]> + AsMut<[u32]>> Runs<S> {
    /// Runs over `used` and `starts`, which must have the same length.
    pub fn new(used: Bitmap<S>, starts: Bitmap<S>) -> Runs<S> {
        assert_eq!(
            used.len(),
            starts.len(),
            "runs: the two bit arrays differ in length"
        );
        Runs { used, starts }
    }

    /// Pieces tracked.
    pub fn len(&self) -> usize {
        self.used.len()
    }

    /// True with no piece at all.
    pub fn is_empty(&self) -> bool {
        self.used.is_empty()
    }

    /// The in-use bits.
    pub fn used(&self) -> &Bitmap<S> {
        &self.used
    }

    /// The start bits.
    pub fn starts(&self) -> &Bitmap<S> {
        &self.starts
    }

    /// Pieces not in use.
    pub fn free_count(&self) -> usize {
        self.used.count_zeros()
    }

    /// Live allocations (runs).
    pub fn allocations(&self) -> usize {
        self.starts.count_ones()
    }

    /// True when piece `i` is in use.
    pub fn is_used(&self, i: usize) -> bool {
        self.used.test(i)
    }

    /// True when `count` pieces from `s` are all free (and inside).
    pub fn is_free(&self, s: usize, count: usize) -> bool {
        self.used.is_range_clear(s, count)
    }

    /// Mark pieces `s..s + count` in use as one allocation. The caller has
    /// checked that they are free and inside.
    pub fn mark(&mut self, s: usize, count: usize) {
        let marked = self.used.set_range(s, count);
        debug_assert!(marked.is_ok(), "runs: mark {s}+{count} past the end");
        self.starts.set(s);
    }

    /// One past the last piece of the run that starts at `s`: the first
    /// piece after `s` that is free or starts another run.
    pub fn run_end(&self, s: usize) -> usize {
        let n = self.len();
        let free = self.used.next_clear(s + 1).unwrap_or(n);
        self.starts.next_set_before(s + 1, free).unwrap_or(free)
    }

    /// The length of the allocation that starts at `s`, checked against
    /// `count` when given.
    pub fn run_at(&self, s: usize, count: Option<usize>) -> Result<usize, RunError> {
        if !self.used.test(s) {
            return Err(RunError::Free);
        }
        if !self.starts.test(s) {
            return Err(RunError::Inside);
        }
        let len = self.run_end(s) - s;
        match count {
            Some(c) if c != len => Err(RunError::Length { actual: len }),
            _ => Ok(len),
        }
    }

    /// Forget the allocation `s..s + len` (from [`run_at`](Self::run_at)).
    pub fn unmark(&mut self, s: usize, len: usize) {
        let cleared = self.used.clear_range(s, len);
        debug_assert!(cleared.is_ok(), "runs: unmark {s}+{len} past the end");
        self.starts.clear(s);
    }

    /// Both arrays are sound, every start is in use, and every used piece
    /// starts a run or continues the one before it.
    pub fn check(&self) -> Result<(), RunsCheckError> {
        self.used.check().map_err(RunsCheckError::Used)?;
        self.starts.check().map_err(RunsCheckError::Starts)?;
        let mut i = 0;
        while let Some(s) = self.starts.next_set(i) {
            if !self.used.test(s) {
                return Err(RunsCheckError::StartOnFree(s));
            }
            i = s + 1;
        }
        let mut i = 0;
        while let Some(u) = self.used.next_set(i) {
            if !self.starts.test(u) && (u == 0 || !self.used.test(u - 1)) {
                return Err(RunsCheckError::Orphan(u));
            }
            i = u + 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn runs(n: usize) -> Runs<Vec<u32>> {
        let w = Bitmap::<Vec<u32>>::words_for(n);
        Runs::new(
            Bitmap::new(vec![0; w], n).unwrap(),
            Bitmap::new(vec![0; w], n).unwrap(),
        )
    }

    #[test]
    fn a_run_ends_at_a_free_piece_or_the_next_start() {
        let mut r = runs(100);
        r.mark(2, 2);
        r.mark(4, 40);
        r.mark(60, 1);
        assert_eq!(r.run_end(2), 4);
        assert_eq!(r.run_end(4), 44);
        assert_eq!(r.run_end(60), 61);
        r.mark(99, 1);
        assert_eq!(r.run_end(99), 100);
        assert_eq!(r.allocations(), 4);
        assert_eq!(r.free_count(), 100 - 44);
        r.check().unwrap();
    }

    #[test]
    fn run_at_names_free_inside_and_wrong_length() {
        let mut r = runs(64);
        r.mark(10, 5);
        assert_eq!(r.run_at(10, None), Ok(5));
        assert_eq!(r.run_at(10, Some(5)), Ok(5));
        assert_eq!(r.run_at(10, Some(4)), Err(RunError::Length { actual: 5 }));
        assert_eq!(r.run_at(12, None), Err(RunError::Inside));
        assert_eq!(r.run_at(20, None), Err(RunError::Free));
        r.unmark(10, 5);
        assert_eq!(r.free_count(), 64);
        assert_eq!(r.allocations(), 0);
        r.check().unwrap();
    }

    #[test]
    fn check_finds_a_start_on_a_free_piece_and_an_orphan() {
        let w = Bitmap::<Vec<u32>>::words_for(40);
        let mut used = Bitmap::new(vec![0; w], 40).unwrap();
        let mut starts = Bitmap::new(vec![0; w], 40).unwrap();
        starts.set(3);
        let r = Runs::new(used.clone(), starts.clone());
        assert_eq!(r.check(), Err(RunsCheckError::StartOnFree(3)));
        used.set(3);
        used.set(7);
        let r = Runs::new(used, starts);
        assert_eq!(r.check(), Err(RunsCheckError::Orphan(7)));
    }
}
