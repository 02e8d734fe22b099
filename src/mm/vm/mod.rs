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
//! The seed-003 workflow: a heap that is short asks for pages; the VMM picks
//! the place with `find_free(len, Region::KernelHeap)` (or the heap's own
//! end), maps fresh frames there with `Mapper::map_range_sparse`, and the
//! heap carries on.

pub mod fault;
pub mod region;
pub mod space;

#[cfg(test)]
mod tests;

pub use fault::{FaultCause, FaultReport, PageFaultCode};
pub use region::{FindFreeError, Region, RegionError, RegionMap, VirtRange};
pub use space::{AddressSpace, DestroyStats, SpaceError, SpaceKind, UserFrames};
