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
//!
//! One file per idea:
//!
//! ```text
//!   mod.rs     the regions: names, halves, what each is for
//!   range.rs   VirtRange, a range that may end at 2^32
//!   map.rs     RegionMap: the table, moving a region, the region of an address
//!   pages.rs   free and mapped pages of a region, read from the page tables
//!   report.rs  the vmregions report
//!   error.rs   RegionError, FindFreeError
//! ```

mod error;
mod map;
mod pages;
mod range;
mod report;

pub use error::{FindFreeError, RegionError};
pub use map::RegionMap;
pub use range::VirtRange;

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
