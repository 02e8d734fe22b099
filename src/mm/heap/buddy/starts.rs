//! The side table of block starts: one bit per minimum block, set exactly
//! where a block (free or used) begins, in the style of Linux's per-page
//! order. It turns "is this pointer a block's payload?" into one bit test,
//! so a checked free costs the same at any heap size.
//!
//! ```text
//!   offset   start                                               end
//!   blocks   |16 |16 | 32    |  64           | 128 (free)                  |
//!   bits      1   1   1   0   1   0   0   0   1   0   0   0   0   0   0   0
//!             ^ bit i = (offset - start) >> min_scale
//!
//!   split of a 2^s block at b:  set   bit(b + 2^(s-1))   (the new upper half)
//!   merge with the buddy:       clear bit(upper of the two)
//! ```
//!
//! The table holds no pointers and no headers: heap users cannot forge it
//! by writing into a payload, which is why a free can trust it. Memory: one
//! bit per `2^min_scale` bytes of arena, 1/128 of it with 16-byte blocks.

/// Bytes of side table for `blocks_len` bytes of blocks of at least
/// `2^min_scale` bytes (one bit per minimum block, rounded up).
pub const fn table_bytes(blocks_len: usize, min_scale: u8) -> usize {
    (blocks_len >> min_scale).div_ceil(8)
}

/// The table: a bit array in memory the heap owns.
#[derive(Debug)]
pub(super) struct Starts {
    bits: *mut u8,
    len: usize,
}

impl Starts {
    /// No table (the empty heap).
    pub(super) const fn none() -> Starts {
        Starts {
            bits: core::ptr::null_mut(),
            len: 0,
        }
    }

    /// A table of `len` bytes at `bits`, cleared.
    ///
    /// # Safety
    /// `bits..bits+len` is valid, writable memory owned by the heap.
    pub(super) unsafe fn new(bits: *mut u8, len: usize) -> Starts {
        // SAFETY: the caller's guarantee.
        unsafe { bits.write_bytes(0, len) };
        Starts { bits, len }
    }

    /// Bytes the table occupies.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Bits the table holds (minimum blocks it can describe).
    pub(super) fn capacity(&self) -> usize {
        self.len * 8
    }

    /// Whether bit `i` is set. `i` must be below `capacity()`.
    #[inline(always)]
    pub(super) fn get(&self, i: usize) -> bool {
        debug_assert!(i < self.capacity());
        // SAFETY: `i / 8 < len` (the heap only asks about offsets inside its
        // blocks, which the table was sized for).
        unsafe { *self.bits.add(byte_of(i)) & mask_of(i) != 0 }
    }

    /// Set bit `i` (below `capacity()`).
    #[inline(always)]
    pub(super) fn set(&mut self, i: usize) {
        debug_assert!(i < self.capacity());
        // SAFETY: as in `get`.
        unsafe { *self.bits.add(byte_of(i)) |= mask_of(i) };
    }

    /// Clear bit `i` (below `capacity()`).
    #[inline(always)]
    pub(super) fn clear(&mut self, i: usize) {
        debug_assert!(i < self.capacity());
        // SAFETY: as in `get`.
        unsafe { *self.bits.add(byte_of(i)) &= !mask_of(i) };
    }

    /// How many bits are set in the whole table.
    ///
    /// The table is sized for the whole arena (rounded up to a page), so
    /// most of it is often zero: runs of 64 zero bytes are skipped with one
    /// compare each (one `memcmp`, a single step for Miri), and only the
    /// runs that hold a set bit are counted byte by byte.
    pub(super) fn count(&self) -> usize {
        const RUN: usize = 64;
        const ZERO: [u8; RUN] = [0; RUN];
        if self.len == 0 {
            return 0;
        }
        // SAFETY: the table's bytes are valid for its whole life.
        let bytes = unsafe { core::slice::from_raw_parts(self.bits, self.len) };
        bytes
            .chunks(RUN)
            .filter(|run| *run != &ZERO[..run.len()])
            .map(|run| run.iter().map(|b| b.count_ones() as usize).sum::<usize>())
            .sum()
    }
}

/// The byte of the table that holds bit `i`.
#[inline(always)]
const fn byte_of(i: usize) -> usize {
    i / 8
}

/// The mask of bit `i` inside its byte (least significant first).
#[inline(always)]
const fn mask_of(i: usize) -> u8 {
    1 << (i % 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bit_per_minimum_block() {
        assert_eq!(table_bytes(1024, 4), 8);
        assert_eq!(table_bytes(1025, 4), 8);
        assert_eq!(table_bytes(1024 + 128, 4), 9);
        assert_eq!(table_bytes(128 << 20, 4), 1 << 20);
        let mut buf = [0xFFu8; 4];
        // SAFETY: the buffer outlives the table.
        let mut t = unsafe { Starts::new(buf.as_mut_ptr(), 4) };
        assert_eq!(t.count(), 0);
        t.set(0);
        t.set(9);
        t.set(31);
        assert!(t.get(0) && t.get(9) && t.get(31) && !t.get(8));
        t.clear(9);
        assert_eq!(t.count(), 2);
    }
}
