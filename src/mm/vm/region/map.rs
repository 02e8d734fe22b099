//! The region table: one range per [`Region`], Cairn's layout by default;
//! a region moved with `set_range` (FreeNOS `setRange`) only while it stays
//! page aligned, in its half and apart from every other region.
//!
//! ```text
//!   set_range(UserHeap, [0x1000_0000, 0x7000_0000)):
//!     overlaps UserPrivate [0x6000_0000, 0xA000_0000)  -> Overlaps(UserPrivate)
//! ```

use super::{Region, RegionError, VirtRange};
use crate::mm::addr::VirtAddr;
use crate::mm::layout::{
    KERNEL_BASE, KERNEL_HEAP_START, KERNEL_PRIVATE_START, KERNEL_TEMP_MAP_START, LINEAR_SPACE_END,
    PAGE_SIZE, RECURSIVE_BASE, USER_ARGS_START, USER_DATA_START, USER_END, USER_HEAP_START,
    USER_PRIVATE_START, USER_SHARE_START, USER_STACK_START,
};

/// The region table: one range per [`Region`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionMap {
    ranges: [VirtRange; Region::COUNT],
}

impl Default for RegionMap {
    fn default() -> Self {
        RegionMap::standard()
    }
}

impl RegionMap {
    /// Cairn's layout (the module diagram).
    pub const fn standard() -> RegionMap {
        const TOP: u64 = 1 << 32;
        RegionMap {
            ranges: [
                VirtRange::new(0, PAGE_SIZE as u64),
                VirtRange::new(USER_DATA_START, USER_HEAP_START as u64),
                VirtRange::new(USER_HEAP_START, USER_PRIVATE_START as u64),
                VirtRange::new(USER_PRIVATE_START, USER_SHARE_START as u64),
                VirtRange::new(USER_SHARE_START, USER_STACK_START as u64),
                VirtRange::new(USER_STACK_START, USER_ARGS_START as u64),
                VirtRange::new(USER_ARGS_START, USER_END as u64),
                VirtRange::new(KERNEL_BASE, LINEAR_SPACE_END as u64),
                VirtRange::new(KERNEL_HEAP_START, KERNEL_PRIVATE_START as u64),
                VirtRange::new(KERNEL_PRIVATE_START, KERNEL_TEMP_MAP_START as u64),
                VirtRange::new(KERNEL_TEMP_MAP_START, RECURSIVE_BASE as u64),
                VirtRange::new(RECURSIVE_BASE, TOP),
            ],
        }
    }

    /// The range of `region` (FreeNOS `MemoryMap::range`).
    pub fn range(&self, region: Region) -> VirtRange {
        self.ranges[region as usize]
    }

    /// Move `region` to `range` (FreeNOS `setRange`): page aligned, not
    /// empty, in its own half, overlapping no other region.
    pub fn set_range(&mut self, region: Region, range: VirtRange) -> Result<(), RegionError> {
        let page = PAGE_SIZE as u64;
        if !(range.start.as_u32() as u64).is_multiple_of(page)
            || !range.size.is_multiple_of(page)
            || range.size == 0
        {
            return Err(RegionError::Unaligned);
        }
        if range.size > (1 << 32) - range.start.as_u32() as u64 {
            return Err(RegionError::BadRange);
        }
        let user_half = range.end() <= KERNEL_BASE as u64;
        let kernel_half = range.start.as_u32() >= KERNEL_BASE;
        if (region.is_user() && !user_half) || (!region.is_user() && !kernel_half) {
            return Err(RegionError::WrongHalf);
        }
        for other in Region::ALL {
            if other != region && self.range(other).overlaps(&range) {
                return Err(RegionError::Overlaps(other));
            }
        }
        self.ranges[region as usize] = range;
        Ok(())
    }

    /// The region `va` falls in, or `None` for an address outside every region.
    pub fn region_of(&self, va: VirtAddr) -> Option<Region> {
        Region::ALL
            .into_iter()
            .find(|r| self.range(*r).contains(va))
    }

    /// Integrity check: the ranges are aligned, non-empty, in their half and
    /// disjoint. Returns the first region that breaks a rule.
    pub fn check(&self) -> Result<(), (Region, RegionError)> {
        let mut copy = self.clone();
        for r in Region::ALL {
            copy.set_range(r, self.range(r)).map_err(|e| (r, e))?;
        }
        Ok(())
    }
}
