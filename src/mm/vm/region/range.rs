//! A range of virtual addresses, `[start, start + size)` with the size
//! kept in 64 bits so that a range may end at 2^32 (the recursive slot
//! does).

use crate::mm::addr::VirtAddr;

/// A range of virtual addresses `[start, start + size)`; `size` may reach
/// the top of the 32-bit space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtRange {
    /// First address.
    pub start: VirtAddr,
    /// Length in bytes (u64: a range may end at 2^32).
    pub size: u64,
}

impl VirtRange {
    /// The range `[start, end)` (`end` up to 2^32; an `end` below `start`
    /// gives an empty range, which `set_range` refuses).
    pub const fn new(start: u32, end: u64) -> VirtRange {
        VirtRange {
            start: VirtAddr(start),
            size: end.saturating_sub(start as u64),
        }
    }
    /// One past the last byte.
    pub const fn end(&self) -> u64 {
        self.start.as_u32() as u64 + self.size
    }
    /// The last byte.
    pub const fn last(&self) -> VirtAddr {
        VirtAddr((self.end() - 1) as u32)
    }
    /// True when `va` is inside.
    pub const fn contains(&self, va: VirtAddr) -> bool {
        va.as_u32() >= self.start.as_u32() && (va.as_u32() as u64) < self.end()
    }
    /// True when the two ranges share a byte.
    pub const fn overlaps(&self, other: &VirtRange) -> bool {
        (self.start.as_u32() as u64) < other.end() && (other.start.as_u32() as u64) < self.end()
    }
}
