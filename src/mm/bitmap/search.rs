//! Searches over a bitmap: the next set or clear bit, next fit (a clear
//! bit from a cursor, wrapping once) and the aligned run of clear bits
//! the frame allocators take. Each one skips whole words through
//! [`Bitmap::scan`], so a nearly full or nearly empty map is read 32 bits
//! at a time.
//!
//! ```text
//!   find_clear(cursor=5):      5 6 .. len-1   then   0 .. 4      (wraps once)
//!   find_clear_run(3, 4, 0):   tries starts 0, 4, 8, ...; each start must be
//!                              a multiple of 4 and be followed by 3 clear bits
//! ```

use super::Bitmap;

impl<S: AsRef<[u32]> + AsMut<[u32]>> Bitmap<S> {
    /// The first set bit at or after `from`, or `None` (no wrap).
    pub fn next_set(&self, from: usize) -> Option<usize> {
        self.scan(from, self.len, true)
    }

    /// The first clear bit at or after `from`, or `None` (no wrap).
    pub fn next_clear(&self, from: usize) -> Option<usize> {
        self.scan(from, self.len, false)
    }

    /// The first set bit in `from..end`, or `None`: a search that stops at
    /// `end` instead of running to the last bit.
    pub fn next_set_before(&self, from: usize, end: usize) -> Option<usize> {
        self.scan(from, end, true)
    }

    /// Next fit: the first clear bit at or after `cursor`, else the first clear
    /// bit before it (the search wraps once). `None` when every bit is set.
    pub fn find_clear(&self, cursor: usize) -> Option<usize> {
        let cursor = if cursor < self.len { cursor } else { 0 };
        self.scan(cursor, self.len, false)
            .or_else(|| self.scan(0, cursor, false))
    }

    /// Next fit for a run: the first start `s >= cursor` with `s % align == 0`
    /// and bits `s..s + count` all clear, else the first such start below
    /// `cursor` (wraps once; a run never wraps past the end). `align` 0 counts
    /// as 1 and need not be a power of two. `None` when there is no such run or
    /// `count` is 0.
    pub fn find_clear_run(&self, count: usize, align: usize, cursor: usize) -> Option<usize> {
        if count == 0 || count > self.len {
            return None;
        }
        let align = align.max(1);
        let cursor = if cursor < self.len { cursor } else { 0 };
        self.run_between(count, align, cursor, self.len)
            .or_else(|| self.run_between(count, align, 0, cursor))
    }

    /// [`find_clear_run`](Self::find_clear_run) and then set the run; returns its start.
    pub fn take_clear_run(&mut self, count: usize, align: usize, cursor: usize) -> Option<usize> {
        let start = self.find_clear_run(count, align, cursor)?;
        self.update_range(start, count, true).ok()?;
        Some(start)
    }

    /// Starts in `lo..hi` (aligned to `align`) of a clear run of `count` bits.
    fn run_between(&self, count: usize, align: usize, lo: usize, hi: usize) -> Option<usize> {
        let mut s = lo.checked_next_multiple_of(align)?;
        loop {
            if s >= hi || s.checked_add(count)? > self.len {
                return None;
            }
            // Skip set bits quickly: the run must start at a clear bit.
            let c = self.scan(s, self.len, false)?;
            if c != s {
                s = c.checked_next_multiple_of(align)?;
                continue;
            }
            match self.scan(s, s + count, true) {
                None => return Some(s),
                Some(used) => s = (used + 1).checked_next_multiple_of(align)?,
            }
        }
    }
}
