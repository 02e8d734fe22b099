//! Heaps: the kernel's global allocator ([`KernelHeap`]), the four designs
//! behind it (the binary buddy heap with 9-byte block headers, ShompOS
//! module 3 kept and fixed, is the default), the hotkey playground and the
//! report helpers the shell prints.
//!
//! ```text
//!   Box / Vec / String ──► KernelHeap (GlobalAlloc, lock, grow hook)
//!                              └──► AnyHeap ──► BuddyHeap | PoolHeap | GapTreeHeap | FirstFitHeap
//!                                   (HeapBackend)                 grow hook maps pages ──┘
//!   hotkeys 1-9 a q w .. p ──► Playground ──► BuddyHeap (1 KiB, scales 4..A)
//!   heap / heapmap / heapcheck ──► report::*
//! ```

mod adapter;
pub mod any;
pub mod backend;
pub mod buddy;
pub mod fault;
pub mod firstfit;
pub mod gaptree;
pub mod global;
mod inplace;
pub mod playground;
pub mod poison;
pub mod poolheap;
pub mod regions;
pub mod report;
pub mod slab;
mod tree;
mod used;
mod walk;

#[cfg(test)]
pub(crate) mod testkit;

pub use any::{AnyHeap, HeapKind};
pub use backend::{HeapBackend, HeapStats};
pub use buddy::{
    BlockInfo, Blocks, BuddyHeap, CheckError, CheckReport, FreeCounts, FreeList, HEADER_SIZE,
    HeapError, LARGEST_SCALE, MAX_ALIGN, POISON, SMALLEST_SCALE, Scale, grid_base, scale_for,
    table_bytes,
};
pub use fault::{FirstFitFault, GapTreeFault, HeapCheckError, PoolFault, TreeFault};
pub use firstfit::FirstFitHeap;
pub use gaptree::{GapTreeHeap, VoidPolicy};
pub use global::{GrowFn, KernelHeap, UngrowFn};
pub use playground::{Playground, PlaygroundError};
pub use poolheap::{PageArena, PoolHeap};
pub use report::{Cell, CellState, Cells};
pub use slab::{SlabBuddy, SlabFault, SlabReport, Slabs, SlotInfo};
