//! Two-level i386 paging: page directory, page tables, and the walk that
//! turns a virtual address into a physical one (no PAE).
//!
//! ```text
//!  virtual address (32 bits)
//!  31            22 21            12 11                 0
//! +----------------+----------------+--------------------+
//! |   PDX (10)     |   PTX (10)     |   offset (12)      |
//! +----------------+----------------+--------------------+
//!         |                |                  |
//!         |                |                  +-------------------------+
//!   CR3   v                |                                            |
//!  +-----------+           |        page table                          |
//!  | directory |           |       +-----------+       frame (4 KiB)    |
//!  |  [PDX] ---+--> PDE ---+------>|  [PTX] ---+--> PTE --> +--------+  |
//!  +-----------+    |              +-----------+            | byte <-+--+
//!                   |                                       +--------+
//!                   +-- PS=1: the PDE maps a 4 MiB page itself;
//!                       bits 21..0 of the address are the offset.
//! ```
//!
//! 1024 PDEs x 1024 PTEs x 4 KiB = 4 GiB. PD[1023] points at the directory
//! itself (the recursive slot), so the current tables appear at
//! `0xFFC0_0000` ([`recursive`]).
//!
//! The code here is pure: a [`Mapper`] reaches table frames through
//! [`crate::mm::phys::PhysMemory`] and gets new tables from a
//! [`crate::mm::frame::FrameAllocator`], so it runs over `SimMemory` in host
//! tests and over real RAM in the kernel, on the current address space or
//! on any other.

pub mod entry;
pub mod mapper;
pub mod recursive;
pub mod report;
pub mod sparse;
pub mod walk;

#[cfg(test)]
pub(crate) mod testframes;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod unmap_tests;

pub use entry::{Entry, EntryFlags, PageDirectory, PageTable};
pub use mapper::{
    Alloc, CheckError, FrameUser, KERNEL_PDX, MapError, Mapper, MapperCheck, NoFlush, PageSize,
    PteSlot, Release, Scope, TlbFlush, UnmapError, WalkError, ZeroFill,
};
pub use report::{MappedRun, RunKind, RunTotals, Runs, Size};
pub use sparse::{SPARSE_CHUNK, SparseError, draw_sparse};
pub use walk::{PageWalk, TableStep, WalkEnd};
