//! A bitmap's integrity check (the cached count of set bits, the bits
//! past the end) and its pictures: the `#`/`.` dump and the `Debug` line.

use super::{BITS_PER_WORD, Bitmap, BitmapCheckError, low_mask};
use core::fmt;

impl<S: AsRef<[u32]> + AsMut<[u32]>> Bitmap<S> {
    /// Write bits `start..start + count` as `#` (set) and `.` (clear), 64 to a
    /// line, each line prefixed with its first index; the range is cut at the end.
    pub fn dump(&self, out: &mut impl fmt::Write, start: usize, count: usize) -> fmt::Result {
        let end = start.saturating_add(count).min(self.len);
        let mut i = start;
        while i < end {
            let line_end = (i + 64).min(end);
            write!(out, "{i:>8} ")?;
            for b in i..line_end {
                out.write_char(if self.test(b) { '#' } else { '.' })?;
            }
            out.write_char('\n')?;
            i = line_end;
        }
        Ok(())
    }

    /// Recount the set bits and compare with the cached count; also checks that
    /// bits past `len` are clear. `Err` names the first broken invariant.
    pub fn check(&self) -> Result<(), BitmapCheckError> {
        let words = self.as_words();
        let counted: usize = words.iter().map(|w| w.count_ones() as usize).sum();
        if counted != self.ones {
            return Err(BitmapCheckError::WrongCount {
                cached: self.ones,
                counted,
            });
        }
        if let Some(last) = words.last()
            && !self.len.is_multiple_of(BITS_PER_WORD)
            && last & !low_mask(self.len % BITS_PER_WORD) != 0
        {
            return Err(BitmapCheckError::BitPastEnd);
        }
        Ok(())
    }
}

impl<S: AsRef<[u32]>> fmt::Debug for Bitmap<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bitmap {{ len: {}, ones: {} }}", self.len, self.ones)
    }
}
