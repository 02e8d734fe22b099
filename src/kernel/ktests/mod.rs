//! In-kernel tests, one module per layer (the foundation's live in `ktest`).

pub mod family;
pub mod frames;
pub mod heap;
pub mod paging;
