//! The virtual memory manager: address spaces, the region table, and the
//! pure part of page-fault handling. Built on `mm::paging`.
//!
//! ```text
//!   AddressSpace (one directory)  --mapper()-->  paging::Mapper  --> map / unmap / translate
//!        |  create: copy kernel PDEs, own PD[1023]
//!        |  destroy: free user tables (+ owned frames)
//!   RegionMap: named ranges  --region_of(va)--> Region
//!                            --find_free(size, region)--> VirtAddr (first fit, against the mappings)
//!   FaultReport::new(CR2, EIP, error code, walk, regions) --> "page fault at ..." + cause
//! ```
//!
//! The seed-003 workflow: a heap that is short asks for pages at its own end;
//! [`grow_region`] checks the range lies in the heap's region, maps fresh
//! frames there with `Mapper::map_range_sparse` (undoing everything on
//! failure), and the heap carries on; [`shrink_region`] undoes a growth.

pub mod fault;
pub mod grow;
pub mod region;
pub mod space;

#[cfg(test)]
mod tests;

pub use fault::{FaultCause, FaultReport, PageFaultCode};
pub use grow::{Grow, GrowError, ShrinkError, grow_len, grow_region, shrink_region};
pub use region::{FindFreeError, Region, RegionError, RegionMap, VirtRange};
pub use space::{
    AddressSpace, DestroyStats, SpaceError, SpaceKind, UserFrames, find_user_in_spaces,
};
