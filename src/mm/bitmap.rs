//! A bit array over caller-given storage, with next-fit and aligned-run search.
//!
//! The storage is anything that derefs to a `[u32]` slice: a `Vec<u32>` on the
//! host, a `&'static mut [u32]` carved out of frames the PMM picked in the
//! kernel, a `[u32; N]` for a fixed pool. Bit `i` lives in word `i / 32` at
//! position `i % 32` (least significant first):
//!
//! ```text
//!   bit:    0 1 2 3 4 5 6 7 8 ...                          31 | 32 33 ...
//!   word 0: . # # . . . . # . ...                           . | word 1 ...
//!           ^ cursor                  '#' set (used), '.' clear (free)
//!
//!   find_clear(cursor=5):      5 6 .. len-1   then   0 .. 4      (wraps once)
//!   find_clear_run(3, 4, 0):   tries starts 0, 4, 8, ...; each start must be
//!                              a multiple of 4 and be followed by 3 clear bits
//! ```
//!
//! Bits past `len` in the last word are always kept clear, and the number of
//! set bits is kept up to date, so [`Bitmap::count_ones`] is O(1). Searches
//! skip whole words, so a nearly full or nearly empty map is scanned 32 bits
//! at a time. Nothing here panics on bad input: an index past the end reads as
//! clear and is ignored by `set`/`clear`; range operations return
//! [`BitmapError::OutOfRange`] and change nothing.
//!
//! Users: the bitmap frame allocator (`mm::frame::bitmap`), the buddy
//! allocator's per-order maps, and FreeNOS's `BitAllocator` in the allocator
//! family.

use core::fmt;

/// Bits per storage word.
pub const BITS_PER_WORD: usize = 32;

/// Why a bitmap operation was refused. The bitmap is unchanged after any of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitmapError {
    /// The storage holds fewer than `Bitmap::words_for(len)` words.
    StorageTooSmall,
    /// The range reaches past the last bit (or overflows).
    OutOfRange,
}

/// The first broken invariant [`Bitmap::check`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitmapCheckError {
    /// The cached count of set bits differs from the bits.
    WrongCount { cached: usize, counted: usize },
    /// A bit past the last one is set.
    BitPastEnd,
}

impl BitmapCheckError {
    /// The message, for checks that report `&'static str`.
    pub const fn as_str(self) -> &'static str {
        match self {
            BitmapCheckError::WrongCount { .. } => "bitmap: cached count of set bits is wrong",
            BitmapCheckError::BitPastEnd => "bitmap: a bit past the end is set",
        }
    }
}

impl fmt::Display for BitmapCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BitmapCheckError::WrongCount { cached, counted } => write!(
                f,
                "bitmap: cached count of set bits is {cached}, the bits hold {counted}"
            ),
            BitmapCheckError::BitPastEnd => f.write_str(self.as_str()),
        }
    }
}

impl From<BitmapCheckError> for &'static str {
    fn from(e: BitmapCheckError) -> &'static str {
        e.as_str()
    }
}

/// A fixed-length array of bits over storage `S` (`Vec<u32>`, `&mut [u32]`, `[u32; N]`).
#[derive(Clone)]
pub struct Bitmap<S> {
    words: S,
    len: usize,
    ones: usize,
}

impl<S> Bitmap<S> {
    /// Storage words needed for `len` bits.
    pub const fn words_for(len: usize) -> usize {
        len.div_ceil(BITS_PER_WORD)
    }

    /// Storage bytes needed for `len` bits (a whole number of words).
    pub const fn bytes_for(len: usize) -> usize {
        Self::words_for(len) * core::mem::size_of::<u32>()
    }
}

impl<S: AsRef<[u32]> + AsMut<[u32]>> Bitmap<S> {
    /// A bitmap of `len` bits, all clear, over `storage` (whose old contents
    /// are overwritten). Words past `words_for(len)` are left untouched.
    pub fn new(mut storage: S, len: usize) -> Result<Self, BitmapError> {
        let n = Self::words_for(len);
        let words = storage.as_mut();
        if words.len() < n {
            return Err(BitmapError::StorageTooSmall);
        }
        words[..n].fill(0);
        Ok(Bitmap {
            words: storage,
            len,
            ones: 0,
        })
    }

    /// A bitmap of `len` bits, all set, over `storage`.
    pub fn new_full(storage: S, len: usize) -> Result<Self, BitmapError> {
        let mut map = Self::new(storage, len)?;
        map.set_range(0, len)?;
        Ok(map)
    }

    /// A bitmap of `len` bits that keeps what `storage` already holds (for
    /// example a map handed over from an earlier stage); stray bits past `len`
    /// in the last word are cleared and the set bits are counted (O(len/32)).
    pub fn from_storage(mut storage: S, len: usize) -> Result<Self, BitmapError> {
        let n = Self::words_for(len);
        let words = storage.as_mut();
        if words.len() < n {
            return Err(BitmapError::StorageTooSmall);
        }
        if n > 0 && !len.is_multiple_of(BITS_PER_WORD) {
            words[n - 1] &= low_mask(len % BITS_PER_WORD);
        }
        let ones = words[..n].iter().map(|w| w.count_ones() as usize).sum();
        Ok(Bitmap {
            words: storage,
            len,
            ones,
        })
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the bitmap has no bits at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of set bits (O(1)).
    pub fn count_ones(&self) -> usize {
        self.ones
    }

    /// Number of clear bits (O(1)).
    pub fn count_zeros(&self) -> usize {
        self.len - self.ones
    }

    /// The words in use (`words_for(len)` of them), for snapshots and dumps.
    pub fn as_words(&self) -> &[u32] {
        &self.words.as_ref()[..Self::words_for(self.len)]
    }

    /// Give the storage back.
    pub fn into_storage(self) -> S {
        self.words
    }

    /// True when bit `i` is set; an index past the end reads as clear.
    pub fn test(&self, i: usize) -> bool {
        i < self.len && self.words.as_ref()[i / BITS_PER_WORD] & bit_mask(i) != 0
    }

    /// Set bit `i`; returns true when it was clear before (the bit changed).
    /// An index past the end changes nothing and returns false.
    pub fn set(&mut self, i: usize) -> bool {
        if i >= self.len {
            return false;
        }
        let w = &mut self.words.as_mut()[i / BITS_PER_WORD];
        if *w & bit_mask(i) != 0 {
            return false;
        }
        *w |= bit_mask(i);
        self.ones += 1;
        true
    }

    /// Clear bit `i`; returns true when it was set before (the bit changed).
    /// An index past the end changes nothing and returns false.
    pub fn clear(&mut self, i: usize) -> bool {
        if i >= self.len {
            return false;
        }
        let w = &mut self.words.as_mut()[i / BITS_PER_WORD];
        if *w & bit_mask(i) == 0 {
            return false;
        }
        *w &= !bit_mask(i);
        self.ones -= 1;
        true
    }

    /// Set bits `start..start + count` (a word at a time). Bits already set stay set.
    pub fn set_range(&mut self, start: usize, count: usize) -> Result<(), BitmapError> {
        self.update_range(start, count, true)
    }

    /// Clear bits `start..start + count` (a word at a time). Bits already clear stay clear.
    pub fn clear_range(&mut self, start: usize, count: usize) -> Result<(), BitmapError> {
        self.update_range(start, count, false)
    }

    /// Clear every bit.
    pub fn clear_all(&mut self) {
        let n = Self::words_for(self.len);
        self.words.as_mut()[..n].fill(0);
        self.ones = 0;
    }

    /// True when bits `start..start + count` are all clear (false when the
    /// range reaches past the end; true for an empty range inside the map).
    pub fn is_range_clear(&self, start: usize, count: usize) -> bool {
        match start.checked_add(count) {
            Some(end) if end <= self.len => self.scan(start, end, true).is_none(),
            _ => false,
        }
    }

    /// True when bits `start..start + count` are all set (false when the
    /// range reaches past the end; true for an empty range inside the map).
    pub fn is_range_set(&self, start: usize, count: usize) -> bool {
        match start.checked_add(count) {
            Some(end) if end <= self.len => self.scan(start, end, false).is_none(),
            _ => false,
        }
    }

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

    /// The first index in `from..end` whose bit equals `want_set`, scanning a
    /// word at a time; `end` is cut to `len`.
    fn scan(&self, from: usize, end: usize, want_set: bool) -> Option<usize> {
        let end = end.min(self.len);
        if from >= end {
            return None;
        }
        let words = self.words.as_ref();
        let flip = if want_set { 0 } else { u32::MAX };
        let mut w = from / BITS_PER_WORD;
        let mut word = (words[w] ^ flip) & !low_mask(from % BITS_PER_WORD);
        loop {
            if word != 0 {
                let i = w * BITS_PER_WORD + word.trailing_zeros() as usize;
                return if i < end { Some(i) } else { None };
            }
            w += 1;
            if w * BITS_PER_WORD >= end {
                return None;
            }
            word = words[w] ^ flip;
        }
    }

    fn update_range(&mut self, start: usize, count: usize, value: bool) -> Result<(), BitmapError> {
        let end = start.checked_add(count).ok_or(BitmapError::OutOfRange)?;
        if end > self.len {
            return Err(BitmapError::OutOfRange);
        }
        let words = self.words.as_mut();
        let mut i = start;
        while i < end {
            let w = i / BITS_PER_WORD;
            let lo = i % BITS_PER_WORD;
            let hi = (end - w * BITS_PER_WORD).min(BITS_PER_WORD);
            let mask = low_mask(hi) & !low_mask(lo);
            let old = words[w];
            if value {
                words[w] = old | mask;
                self.ones += (mask & !old).count_ones() as usize;
            } else {
                words[w] = old & !mask;
                self.ones -= (mask & old).count_ones() as usize;
            }
            i = (w + 1) * BITS_PER_WORD;
        }
        Ok(())
    }
}

impl<S: AsRef<[u32]>> PartialEq for Bitmap<S> {
    /// Two bitmaps are equal when they have the same length and the same bits.
    fn eq(&self, other: &Self) -> bool {
        let n = Self::words_for(self.len);
        self.len == other.len && self.words.as_ref()[..n] == other.words.as_ref()[..n]
    }
}

impl<S: AsRef<[u32]>> fmt::Debug for Bitmap<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bitmap {{ len: {}, ones: {} }}", self.len, self.ones)
    }
}

/// The mask of bit `i` inside its word (bit `i` lives in word
/// `i / BITS_PER_WORD`).
pub(crate) const fn bit_mask(i: usize) -> u32 {
    1 << (i % BITS_PER_WORD)
}

/// The lowest `n` bits set (`n` in 0..=32).
const fn low_mask(n: usize) -> u32 {
    if n >= BITS_PER_WORD {
        u32::MAX
    } else {
        (1u32 << n) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Rng, miri_or, soak_ops};
    use alloc::vec;
    use alloc::vec::Vec;

    fn map(len: usize) -> Bitmap<Vec<u32>> {
        Bitmap::new(vec![0xFFFF_FFFF; Bitmap::<Vec<u32>>::words_for(len)], len).unwrap()
    }

    #[test]
    fn new_clears_and_sizes() {
        assert_eq!(Bitmap::<Vec<u32>>::words_for(0), 0);
        assert_eq!(Bitmap::<Vec<u32>>::words_for(33), 2);
        assert_eq!(Bitmap::<Vec<u32>>::bytes_for(33), 8);
        let m = map(40);
        assert_eq!(m.len(), 40);
        assert_eq!(m.count_ones(), 0);
        assert_eq!(m.count_zeros(), 40);
        assert_eq!(m.as_words(), &[0, 0]);
        assert_eq!(
            Bitmap::new(vec![0u32; 1], 33).unwrap_err(),
            BitmapError::StorageTooSmall
        );
        m.check().unwrap();
    }

    #[test]
    fn works_over_borrowed_and_array_storage() {
        let mut store = [0u32; 4];
        {
            let mut m = Bitmap::new(&mut store[..], 100).unwrap();
            assert!(m.set(99));
            assert!(m.test(99));
        }
        assert_eq!(store[3], 1 << 3);
        let mut a = Bitmap::new([0u32; 2], 64).unwrap();
        a.set_range(0, 64).unwrap();
        assert_eq!(a.count_ones(), 64);
        assert_eq!(a.into_storage(), [u32::MAX; 2]);
    }

    #[test]
    fn set_clear_test_report_changes() {
        let mut m = map(70);
        assert!(m.set(3));
        assert!(!m.set(3), "second set changes nothing");
        assert!(m.test(3));
        assert_eq!(m.count_ones(), 1);
        assert!(m.clear(3));
        assert!(!m.clear(3));
        assert!(!m.test(3));
        // Past the end: ignored, reads clear.
        assert!(!m.set(70));
        assert!(!m.test(70));
        assert!(!m.clear(1000));
        assert_eq!(m.count_ones(), 0);
        m.check().unwrap();
    }

    #[test]
    fn from_storage_keeps_bits_and_cleans_the_tail() {
        let m = Bitmap::from_storage(vec![0b1011, 0xFFFF_FFFF], 36).unwrap();
        assert_eq!(m.count_ones(), 3 + 4);
        assert_eq!(m.as_words(), &[0b1011, 0xF]);
        m.check().unwrap();
    }

    #[test]
    fn new_full_sets_exactly_len_bits() {
        let m = Bitmap::new_full(vec![0; 3], 70).unwrap();
        assert_eq!(m.count_ones(), 70);
        assert_eq!(m.as_words()[2], 0b11_1111);
        assert_eq!(m.find_clear(0), None);
        m.check().unwrap();
    }

    #[test]
    fn ranges_across_words() {
        let mut m = map(100);
        m.set_range(30, 40).unwrap();
        assert_eq!(m.count_ones(), 40);
        assert!(m.is_range_set(30, 40));
        assert!(!m.is_range_set(29, 2));
        assert!(m.is_range_clear(0, 30));
        assert!(m.is_range_clear(70, 30));
        assert!(!m.is_range_clear(69, 2));
        // Overlapping set counts only new bits.
        m.set_range(60, 20).unwrap();
        assert_eq!(m.count_ones(), 50);
        m.clear_range(0, 64).unwrap();
        assert_eq!(m.count_ones(), 16);
        assert_eq!(m.next_set(0), Some(64));
        m.check().unwrap();
    }

    #[test]
    fn range_errors_change_nothing() {
        let mut m = map(40);
        m.set(5);
        let before = m.clone();
        assert_eq!(m.set_range(35, 6), Err(BitmapError::OutOfRange));
        assert_eq!(m.clear_range(usize::MAX, 2), Err(BitmapError::OutOfRange));
        assert!(m == before);
        assert!(!m.is_range_clear(39, 2));
        assert!(m.is_range_clear(40, 0), "empty range at the end");
        m.set_range(40, 0).unwrap();
        assert!(m == before);
    }

    #[test]
    fn next_set_and_next_clear() {
        let mut m = map(200);
        assert_eq!(m.next_set(0), None);
        assert_eq!(m.next_clear(0), Some(0));
        m.set(150);
        assert_eq!(m.next_set(0), Some(150));
        assert_eq!(m.next_set(150), Some(150));
        assert_eq!(m.next_set(151), None);
        m.set_range(0, 200).unwrap();
        assert_eq!(m.next_clear(0), None);
        m.clear(199);
        assert_eq!(m.next_clear(5), Some(199));
        assert_eq!(m.next_clear(200), None);
    }

    #[test]
    fn find_clear_is_next_fit_and_wraps_once() {
        let mut m = map(64);
        m.set_range(0, 64).unwrap();
        m.clear(10);
        m.clear(40);
        assert_eq!(m.find_clear(0), Some(10));
        assert_eq!(m.find_clear(11), Some(40));
        assert_eq!(m.find_clear(41), Some(10), "wraps to the start");
        assert_eq!(
            m.find_clear(64),
            Some(10),
            "cursor past the end starts at 0"
        );
        m.set(10);
        m.set(40);
        assert_eq!(m.find_clear(30), None);
    }

    #[test]
    fn find_clear_run_respects_alignment() {
        let mut m = map(64);
        m.set(1);
        // 3 free bits aligned to 4: 0 is blocked by bit 1, so 4.
        assert_eq!(m.find_clear_run(3, 4, 0), Some(4));
        // Unaligned: first run of 3 is 2..5.
        assert_eq!(m.find_clear_run(3, 1, 0), Some(2));
        m.set(9);
        assert_eq!(m.find_clear_run(8, 8, 0), Some(16));
        // Non-power-of-two alignment works too.
        assert_eq!(m.find_clear_run(2, 3, 0), Some(3));
        assert_eq!(m.find_clear_run(0, 1, 0), None);
        assert_eq!(m.find_clear_run(65, 1, 0), None);
        assert_eq!(m.find_clear_run(64, 1, 0), None, "bit 1 is set");
    }

    #[test]
    fn find_clear_run_wraps_but_never_crosses_the_end() {
        let mut m = map(32);
        m.set_range(8, 16).unwrap(); // free: 0..8 and 24..32
        assert_eq!(m.find_clear_run(8, 8, 20), Some(24));
        assert_eq!(m.find_clear_run(8, 8, 25), Some(0), "wrapped");
        assert_eq!(
            m.find_clear_run(12, 1, 0),
            None,
            "0..8 + 24..32 is not a run"
        );
        assert_eq!(m.take_clear_run(4, 4, 26), Some(28));
        assert_eq!(m.take_clear_run(4, 4, 29), Some(0), "28..32 taken, wraps");
        assert!(m.is_range_set(0, 4));
        assert!(m.is_range_set(28, 4));
        assert_eq!(m.count_ones(), 24);
    }

    #[test]
    fn dump_draws_bits() {
        let mut m = map(10);
        m.set_range(2, 3).unwrap();
        let mut s = alloc::string::String::new();
        m.dump(&mut s, 0, 100).unwrap();
        assert_eq!(s, "       0 ..###.....\n");
    }

    #[test]
    fn check_catches_a_wrong_count() {
        let mut m = map(40);
        m.set(3);
        m.ones = 2;
        assert_eq!(
            m.check(),
            Err(BitmapCheckError::WrongCount {
                cached: 2,
                counted: 1
            })
        );
    }

    /// Model: a `Vec<bool>`. Random set/clear/ranges/searches, compared after each step.
    #[test]
    fn bitmap_soak_against_a_model() {
        let mut rng = Rng::new(0xB17);
        let ops = soak_ops(20_000);
        // Compared bit by bit after every step: a shorter map under Miri.
        let len = miri_or(300, 96);
        let mut m = map(len);
        let mut model = vec![false; len];
        for _ in 0..ops {
            let i = rng.range(0, len + 5);
            match rng.range(0, 7) {
                0 => {
                    let changed = m.set(i);
                    assert_eq!(changed, i < len && !model[i]);
                    if i < len {
                        model[i] = true;
                    }
                }
                1 => {
                    let changed = m.clear(i);
                    assert_eq!(changed, i < len && model[i]);
                    if i < len {
                        model[i] = false;
                    }
                }
                2 | 3 => {
                    let n = rng.range(0, 80);
                    let value = rng.chance(1, 2);
                    let r = if value {
                        m.set_range(i, n)
                    } else {
                        m.clear_range(i, n)
                    };
                    if i + n <= len {
                        r.unwrap();
                        model[i..i + n].fill(value);
                    } else {
                        assert_eq!(r, Err(BitmapError::OutOfRange));
                    }
                }
                4 => {
                    let cursor = if i < len { i } else { 0 };
                    let want = (cursor..len).chain(0..cursor).find(|&b| !model[b]);
                    assert_eq!(m.find_clear(i), want);
                }
                _ => {
                    let count = rng.range(1, 20);
                    let align = [1, 2, 4, 8, 3][rng.range(0, 5)];
                    let cursor = if i < len { i } else { 0 };
                    let fits = |s: usize| {
                        s.is_multiple_of(align)
                            && s + count <= len
                            && model[s..s + count].iter().all(|b| !b)
                    };
                    let want = (cursor..len)
                        .find(|&s| fits(s))
                        .or_else(|| (0..cursor).find(|&s| fits(s)));
                    assert_eq!(m.find_clear_run(count, align, i), want);
                }
            }
            assert_eq!(m.count_ones(), model.iter().filter(|&&b| b).count());
        }
        for (b, &v) in model.iter().enumerate() {
            assert_eq!(m.test(b), v);
        }
        m.check().unwrap();
    }
}
