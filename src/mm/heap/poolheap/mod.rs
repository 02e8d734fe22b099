//! The pool allocator as a kernel heap: pools for small objects, whole
//! pages straight from the arena for the rest.
//!
//! ```text
//!   alloc(layout) ── small (slot ≤ 2 KiB, align ≤ POOL_ALIGN) ──▶ PoolAllocator
//!          │                                                         │ pools
//!          └──── large or page-aligned ──▶ PageArena ◀───────────────┘
//!                                          one BitAllocator of pages per region,
//!                                          its two bit arrays in the region's first page(s)
//! ```
//!
//! A large block's size is checked at free to page granularity only (the
//! arena counts pages, not bytes): any size that rounds to the same number
//! of pages "fits", as `core::alloc::Allocator` allows.
//!
//! The arena is the "simple region" parent: a bitmap of 4 KiB pages. Every
//! region the kernel adds (at boot, or later through the grow hook) becomes
//! one more page allocator; pools and large blocks come from the first one
//! with room.
//!
//! `realloc` in place: an object stays where it is when the new size takes
//! the same slot size (the postfix signature moves), a large block when it
//! keeps the same number of pages; anything else moves (a pool slot cannot
//! grow into its neighbour, and the page arena cannot extend a run).
//! Poisoning (the `poison` boot option): a freed object's bytes between its
//! prefix and its guard word, and every free page of the arena, hold
//! [`POISON`]; the prefix (cleared at free), the guard and the pools'
//! headers and bitmaps are metadata and are not poisoned. `check()` names
//! the first free slot or page written after its free.
//!
//! One file per idea:
//!
//! ```text
//!   arena.rs    PageArena: the pages of every region, one bitmap allocator each
//!   backend.rs  the pool heap as a kernel heap: each call routed to the pools
//!               or to the arena, poisoning, check, figures
//!   mod.rs      PoolHeap and the route a layout takes
//! ```

mod arena;
mod backend;

pub use arena::{MAX_ARENAS, PageArena};

use crate::mm::family::pool::{self, POOL_ALIGN, PoolAllocator};
use core::alloc::Layout;

/// Largest pool index the heap uses; bigger objects take whole pages.
pub const LARGE_INDEX: usize = 11;

/// The pool heap: a [`PoolAllocator`] over a [`PageArena`].
pub struct PoolHeap {
    pools: PoolAllocator<PageArena>,
    large: usize,
}

/// Where a layout is served: a pool slot, or whole pages of the arena.
enum Route {
    Pool,
    Large,
}

/// The route of `layout`: pools for what a slot of at most 2 KiB holds
/// at the pools' alignment, pages for the rest.
fn route(layout: Layout) -> Route {
    match pool::pool_index(layout.size()) {
        Some(i) if i <= LARGE_INDEX && layout.align() <= POOL_ALIGN => Route::Pool,
        _ => Route::Large,
    }
}

impl Default for PoolHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl PoolHeap {
    /// A pool heap with no memory; add regions with `add_region`.
    pub const fn new() -> PoolHeap {
        PoolHeap {
            // SAFETY: the arena only hands out memory given to it through
            // the unsafe `add_region`, whose contract is what `new` needs.
            pools: unsafe { PoolAllocator::new(PageArena::new()) },
            large: 0,
        }
    }

    /// The pools (for reports).
    pub fn pools(&self) -> &PoolAllocator<PageArena> {
        &self.pools
    }

    /// Live large (page) allocations.
    pub fn large_allocations(&self) -> usize {
        self.large
    }
}

#[cfg(test)]
mod tests;
