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
//!
//! One file per idea:
//!
//! ```text
//!   mod.rs     the bits, their count, setting and clearing, the word scan
//!   search.rs  next set/clear bit, next fit, aligned clear runs
//!   check.rs   check() and the pictures (dump, Debug)
//!   error.rs   BitmapError, BitmapCheckError
//! ```

mod check;
mod error;
mod search;

pub use error::{BitmapCheckError, BitmapError};

/// Bits per storage word.
pub const BITS_PER_WORD: usize = 32;

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
mod tests;
