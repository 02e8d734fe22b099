//! The table of memory regions a list heap (first fit, gap tree) owns:
//! adding a region refuses overlap and merges with the regions it touches,
//! so the table lists maximal, disjoint ranges. Written once for both heaps.
//!
//! Each region keeps the pointer its memory was handed over with (its
//! *root*): the heaps turn the addresses they compute into pointers with
//! [`Regions::at`], derived from the root of the region they lie in, so
//! every pointer a heap reads or writes through keeps the provenance of the
//! memory it was given (strict provenance; Miri checks it). Regions that
//! merge keep the lower one's root: memory that touches is one allocation
//! (an arena the heap grows into, the kernel's heap mapped page by page).
//!
//! ```text
//!   [A.........)        [B.........)          add [A.end, B.start):
//!   [A...........................................B.........)   one region
//! ```

use crate::mm::family::{AllocError, Range, align_down, align_up};
use core::ptr;

/// Most memory regions a heap can hold (adjacent regions merge into one).
pub const MAX_REGIONS: usize = 16;

/// Up to [`MAX_REGIONS`] disjoint ranges, none touching another.
#[derive(Clone, Copy, Debug)]
pub struct Regions {
    list: [Range; MAX_REGIONS],
    /// Per region, the pointer its bytes are reached through.
    roots: [*mut u8; MAX_REGIONS],
    len: usize,
}

impl Default for Regions {
    fn default() -> Self {
        Self::new()
    }
}

impl Regions {
    /// No regions.
    pub const fn new() -> Regions {
        Regions {
            list: [Range {
                address: 0,
                size: 0,
                alignment: 0,
            }; MAX_REGIONS],
            roots: [ptr::null_mut(); MAX_REGIONS],
            len: 0,
        }
    }

    /// The regions, in the order they were made.
    pub fn as_slice(&self) -> &[Range] {
        &self.list[..self.len]
    }

    /// How many regions there are (after merging).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first region.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when `[start, end)` lies inside one region.
    pub fn contain(&self, start: usize, end: usize) -> bool {
        self.as_slice()
            .iter()
            .any(|r| start >= r.address && end <= r.end())
    }

    /// One past the highest byte of any region (0 with none).
    pub fn end(&self) -> usize {
        self.as_slice().iter().map(|r| r.end()).max().unwrap_or(0)
    }

    /// A pointer to `addr` with the provenance of the region that holds it
    /// (or ends at it: growth continues a region). An address outside every
    /// region gets a pointer with no provenance at all: a heap only ever
    /// compares such an address (a wild pointer it refuses), never reads it.
    pub fn at<T>(&self, addr: usize) -> *mut T {
        let region = self
            .as_slice()
            .iter()
            .position(|r| r.address <= addr && addr <= r.end());
        match region {
            Some(i) => self.roots[i].with_addr(addr).cast(),
            None => ptr::without_provenance_mut(addr),
        }
    }

    /// Record the `len` bytes at `start` trimmed inward to multiples of
    /// `unit` (a power of two), as [`add`](Self::add) does, and return the
    /// trimmed `[start, end)`: the one way a list heap takes a region.
    /// `InvalidSize` when the range wraps, or holds less than `min` bytes
    /// once trimmed (or starts at 0); `add`'s errors otherwise. Unchanged
    /// on error.
    pub fn add_trimmed(
        &mut self,
        start: *mut u8,
        len: usize,
        unit: usize,
        min: usize,
    ) -> Result<(usize, usize), AllocError> {
        let (root, start) = (start, start.addr());
        let end = align_down(start.checked_add(len).ok_or(AllocError::InvalidSize)?, unit);
        let start = align_up(start, unit).ok_or(AllocError::InvalidSize)?;
        if start == 0 || end <= start || end - start < min {
            return Err(AllocError::InvalidSize);
        }
        self.add(root.with_addr(start), end, unit)?;
        Ok((start, end))
    }

    /// Record `[start, end)` (`start < end`, aligned to `alignment`; `start`
    /// the pointer its bytes are reached through):
    /// `InvalidAddress` if it overlaps a region, `OutOfMemory` when it
    /// touches none and the table is full; merged with the regions it
    /// touches otherwise. Unchanged on error.
    pub fn add(&mut self, start: *mut u8, end: usize, alignment: usize) -> Result<(), AllocError> {
        let (root, start) = (start, start.addr());
        let regions = self.as_slice();
        if regions.iter().any(|r| start < r.end() && r.address < end) {
            return Err(AllocError::InvalidAddress);
        }
        let before = regions.iter().position(|r| r.end() == start);
        let after = regions.iter().position(|r| r.address == end);
        match (before, after) {
            (Some(b), Some(a)) => {
                self.list[b].size += end - start + self.list[a].size;
                self.list[a] = self.list[self.len - 1];
                self.roots[a] = self.roots[self.len - 1];
                self.len -= 1;
            }
            (Some(b), None) => self.list[b].size += end - start,
            (None, Some(a)) => {
                self.list[a].address = start;
                self.list[a].size += end - start;
                self.roots[a] = root;
            }
            (None, None) => {
                if self.len == MAX_REGIONS {
                    return Err(AllocError::OutOfMemory);
                }
                self.list[self.len] = Range {
                    address: start,
                    size: end - start,
                    alignment,
                };
                self.roots[self.len] = root;
                self.len += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pointer to `addr` with no provenance: these regions are never read.
    fn p(addr: usize) -> *mut u8 {
        ptr::without_provenance_mut(addr)
    }

    #[test]
    fn touching_regions_merge_overlap_and_a_full_table_are_refused() {
        let mut r = Regions::new();
        r.add(p(0x1000), 0x2000, 8).unwrap();
        r.add(p(0x3000), 0x4000, 8).unwrap();
        assert_eq!(r.len(), 2);
        r.add(p(0x2000), 0x3000, 8).unwrap(); // touches both
        assert_eq!(r.len(), 1);
        assert_eq!((r.as_slice()[0].address, r.end()), (0x1000, 0x4000));
        assert_eq!(r.add(p(0x1800), 0x1900, 8), Err(AllocError::InvalidAddress));
        r.add(p(0x800), 0x1000, 8).unwrap(); // grows downwards
        assert!(r.contain(0x800, 0x4000) && !r.contain(0x700, 0x900));
        for i in 1..MAX_REGIONS {
            r.add(p(0x10000 * (i + 1)), 0x10000 * (i + 1) + 0x100, 8)
                .unwrap();
        }
        assert_eq!(
            r.add(p(0x900000), 0x900100, 8),
            Err(AllocError::OutOfMemory)
        );
        assert_eq!(r.len(), MAX_REGIONS);
    }

    #[test]
    fn a_trimmed_region_is_aligned_inward_and_refused_when_too_small() {
        let mut r = Regions::new();
        assert_eq!(r.add_trimmed(p(0x1003), 0x100, 8, 16), Ok((0x1008, 0x1100)));
        assert_eq!((r.as_slice()[0].address, r.end()), (0x1008, 0x1100));
        assert_eq!(
            r.add_trimmed(p(0x2001), 20, 8, 16),
            Err(AllocError::InvalidSize)
        );
        assert_eq!(
            r.add_trimmed(p(usize::MAX - 4), 8, 8, 16),
            Err(AllocError::InvalidSize)
        );
        assert_eq!(
            r.add_trimmed(p(0x1080), 0x100, 8, 16),
            Err(AllocError::InvalidAddress)
        );
        assert_eq!(r.len(), 1);
    }
}
