//! Named regions of every address space, after FreeNOS's `MemoryMap`: what
//! each part of the 4 GiB is for, which region an address falls in, and
//! where a free stretch of a region is.
//!
//! ```text
//!  0xFFFF_FFFF +--------------------------+
//!              | recursive mapping   4 MiB|  PD[1023] -> the directory
//!  0xFFC0_0000 +--------------------------+
//!              | kernel temp map     4 MiB|  one frame at a time (frames above 768 MiB)
//!  0xFF80_0000 +--------------------------+
//!              | kernel private   120 MiB |  kernel stacks + guard pages, MMIO
//!  0xF800_0000 +--------------------------+
//!              | kernel heap      128 MiB |  grows through the VMM
//!  0xF000_0000 +--------------------------+
//!              | kernel linear    768 MiB |  physical 0..768 MiB at +0xC000_0000
//!  0xC000_0000 +==========================+  --- kernel above, shared by all spaces ---
//!              | user args          4 MiB |  argv, environment
//!  0xBFC0_0000 +--------------------------+
//!              | user stack       252 MiB |  grows down from 0xBFC0_0000
//!  0xB000_0000 +--------------------------+
//!              | user share       256 MiB |  shared memory, channels
//!  0xA000_0000 +--------------------------+
//!              | user private       1 GiB |  private mappings
//!  0x6000_0000 +--------------------------+
//!              | user heap       1280 MiB |  grows up
//!  0x1000_0000 +--------------------------+
//!              | user data        252 MiB |  program text, data, bss
//!  0x0040_0000 +--------------------------+
//!              | (no region)   4092 KiB   |  unmapped: catches small wild pointers
//!  0x0000_1000 +--------------------------+
//!              | null guard         4 KiB |  never mapped
//!  0x0000_0000 +--------------------------+
//! ```
//!
//! The table is data ([`RegionMap`]), so a kernel can move a boundary with
//! `set_range` (FreeNOS `setRange`) and every report follows.

use crate::mm::addr::VirtAddr;
use crate::mm::layout::{
    ENTRIES_PER_TABLE, KERNEL_BASE, LARGE_PAGE_SIZE, LINEAR_SPACE_END, PAGE_SIZE, PDX_SHIFT,
    RECURSIVE_BASE, USER_END,
};
use crate::mm::paging::{Mapper, RunKind, Size, TlbFlush, WalkEnd};
use crate::mm::phys::PhysMemory;
use core::fmt;

/// The regions' boundaries live with every other address in `mm::layout`.
pub use crate::mm::layout::{
    KERNEL_HEAP_START, KERNEL_PRIVATE_START, KERNEL_TEMP_MAP_START, USER_ARGS_START,
    USER_DATA_START, USER_HEAP_START, USER_PRIVATE_START, USER_SHARE_START, USER_STACK_START,
};

/// The regions, in address order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Region {
    /// Page 0: never mapped, so a null pointer faults.
    NullGuard,
    /// Program text, data and bss.
    UserData,
    /// The user heap (grows up).
    UserHeap,
    /// Private anonymous mappings.
    UserPrivate,
    /// Memory shared between address spaces (channels).
    UserShare,
    /// The user stack (grows down).
    UserStack,
    /// Program arguments and environment.
    UserArgs,
    /// Physical memory 0..768 MiB at `KERNEL_BASE` (seed 002's linear space).
    KernelLinear,
    /// The kernel heap, mapped on demand.
    KernelHeap,
    /// Kernel stacks with guard pages, device memory.
    KernelPrivate,
    /// A window where the kernel maps one frame at a time.
    KernelTempMap,
    /// PD[1023]: the page tables of the current space.
    Recursive,
}

impl Region {
    /// Every region, in address order.
    pub const ALL: [Region; 12] = [
        Region::NullGuard,
        Region::UserData,
        Region::UserHeap,
        Region::UserPrivate,
        Region::UserShare,
        Region::UserStack,
        Region::UserArgs,
        Region::KernelLinear,
        Region::KernelHeap,
        Region::KernelPrivate,
        Region::KernelTempMap,
        Region::Recursive,
    ];
    /// Number of regions.
    pub const COUNT: usize = Region::ALL.len();

    /// The region's name as reports print it.
    pub const fn name(self) -> &'static str {
        match self {
            Region::NullGuard => "null guard",
            Region::UserData => "user data",
            Region::UserHeap => "user heap",
            Region::UserPrivate => "user private",
            Region::UserShare => "user share",
            Region::UserStack => "user stack",
            Region::UserArgs => "user args",
            Region::KernelLinear => "kernel linear",
            Region::KernelHeap => "kernel heap",
            Region::KernelPrivate => "kernel private",
            Region::KernelTempMap => "kernel temp map",
            Region::Recursive => "recursive map",
        }
    }
    /// True for the regions of the user half (private to each address space).
    pub const fn is_user(self) -> bool {
        matches!(
            self,
            Region::NullGuard
                | Region::UserData
                | Region::UserHeap
                | Region::UserPrivate
                | Region::UserShare
                | Region::UserStack
                | Region::UserArgs
        )
    }
    /// False for the regions where nothing may be mapped on request (the
    /// null guard, and the recursive slot which mirrors the tables).
    pub const fn is_mappable(self) -> bool {
        !matches!(self, Region::NullGuard | Region::Recursive)
    }
    /// A short note on the region's use, for `vmregions`.
    pub const fn purpose(self) -> &'static str {
        match self {
            Region::NullGuard => "never mapped: null pointers fault",
            Region::UserData => "program text, data, bss",
            Region::UserHeap => "grows up",
            Region::UserPrivate => "private mappings",
            Region::UserShare => "shared memory, channels",
            Region::UserStack => "grows down",
            Region::UserArgs => "argv, environment",
            Region::KernelLinear => "physical 0..768 MiB",
            Region::KernelHeap => "grows through the VMM",
            Region::KernelPrivate => "kernel stacks, guard pages, MMIO",
            Region::KernelTempMap => "one frame at a time",
            Region::Recursive => "PD[1023]: the page tables",
        }
    }
}

impl Region {
    /// [`purpose`](Region::purpose) in at most 23 characters, for the last
    /// column of `vmregions` (so its rows fit 80 columns).
    pub const fn brief(self) -> &'static str {
        match self {
            Region::NullGuard => "null pointers fault",
            Region::KernelPrivate => "stacks, guards, MMIO",
            Region::Recursive => "the page tables",
            other => other.purpose(),
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

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

/// Why `set_range` refused a range. The map is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionError {
    /// Start or size not page aligned, or size zero.
    Unaligned,
    /// The range passes the end of the 32-bit space.
    BadRange,
    /// The range overlaps another region.
    Overlaps(Region),
    /// A user region would reach the kernel half, or a kernel region the user half.
    WrongHalf,
}

/// Why `find_free` found nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindFreeError {
    /// Size zero, or larger than the region.
    BadSize,
    /// Nothing may be mapped in this region (null guard, recursive slot).
    NotMappable(Region),
    /// No stretch of unmapped pages that long in the region.
    NoSpace,
}

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

    /// The lowest address of a stretch of `size` bytes (rounded up to whole
    /// pages) of unmapped pages inside `region`, first fit (FreeNOS `findFree`).
    pub fn find_free<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &self,
        mapper: &Mapper<'_, M, T>,
        size: usize,
        region: Region,
    ) -> Result<VirtAddr, FindFreeError> {
        if !region.is_mappable() {
            return Err(FindFreeError::NotMappable(region));
        }
        let range = self.range(region);
        let page = PAGE_SIZE as u64;
        let need = (size as u64).div_ceil(page) * page;
        if size == 0 || need > range.size {
            return Err(FindFreeError::BadSize);
        }
        let large = LARGE_PAGE_SIZE as u64;
        let mut run_start = range.start.as_u32() as u64;
        let mut cur = run_start;
        while cur < range.end() {
            if cur - run_start >= need {
                return Ok(VirtAddr(run_start as u32));
            }
            let walk = mapper.trace(VirtAddr(cur as u32));
            match walk.end() {
                // A missing table: the rest of its 4 MiB is free.
                WalkEnd::NoTable => cur = ((cur / large + 1) * large).min(range.end()),
                WalkEnd::NotMapped => cur += page,
                _ => {
                    cur += page;
                    run_start = cur;
                }
            }
        }
        if range.end() - run_start >= need {
            return Ok(VirtAddr(run_start as u32));
        }
        Err(FindFreeError::NoSpace)
    }

    /// 4 KiB pages mapped inside `region` (a 4 MiB page counts 1024, cut at the edges).
    pub fn mapped_pages<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &self,
        mapper: &Mapper<'_, M, T>,
        region: Region,
    ) -> u64 {
        let range = self.range(region);
        let page = PAGE_SIZE as u64;
        let mut count = 0;
        for run in mapper.runs_in(range.start, range.end()) {
            if run.kind == RunKind::Recursive {
                // A page of the window is mapped when its PDE is present.
                let present = (0..ENTRIES_PER_TABLE as u32)
                    .filter(|pdx| mapper.read_pde(VirtAddr(pdx << PDX_SHIFT)).is_present())
                    .count();
                count += present as u64;
                continue;
            }
            let lo = (run.virt.as_u32() as u64).max(range.start.as_u32() as u64);
            let hi = run.virt_end().min(range.end());
            if hi > lo {
                count += (hi - lo) / page;
            }
        }
        count
    }

    /// Write the `vmregions` report: each region with its range, size,
    /// mapped pages and use.
    pub fn write_report<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &self,
        mapper: &Mapper<'_, M, T>,
        w: &mut impl fmt::Write,
    ) -> fmt::Result {
        writeln!(
            w,
            "{:<15} {:<23} {:>8} {:>6}  use",
            "region", "start-last", "size", "mapped"
        )?;
        for r in Region::ALL {
            let range = self.range(r);
            writeln!(
                w,
                "{:<15} {}-{} {:>8} {:>6}  {}",
                r,
                range.start,
                range.last(),
                Size::new(range.size),
                self.mapped_pages(mapper, r),
                r.brief()
            )?;
        }
        Ok(())
    }
}
