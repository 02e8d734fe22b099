//! Memory management, one layer per module, bottom to top.
//!
//! `alloc(5)` asks the heap; a heap that is short asks the VMM for pages;
//! the VMM asks the PMM (`frame`) for frames and maps them (`paging`).

pub mod addr;
pub mod alloc_error;
pub mod bitmap;
pub mod bump;
pub mod family;
pub mod frame;
pub mod heap;
pub mod layout;
pub mod paging;
pub mod phys;
pub mod reserve;
pub mod runs;
pub mod segment;
pub mod vm;

pub use addr::{Frame, Page, PhysAddr, VirtAddr};
pub use alloc_error::AllocError;
