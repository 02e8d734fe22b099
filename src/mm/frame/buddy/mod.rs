//! The buddy frame allocator, as seed 004 draws it: orders 0..=10 (4 KiB to
//! 4 MiB), a free list per order plus a bitmap per order, split on allocate,
//! merge with the buddy (`pfn XOR 2^order`) on free.
//!
//! ```text
//!   order 2 block at pfn 8 = frames 8..12; its buddy is 8 ^ 4 = 12 (frames 12..16)
//!
//!   allocate order 0 with only an order-2 block free:
//!     [        8..12        ]  ->  [8][9][ 10..12 ]   8 handed out,
//!                                       ^ order 0  ^ order 1   pushed on their lists
//!   free 8: buddy 9 free at order 0 -> merge to 8..10; buddy 10..12 free at
//!   order 1 -> merge to 8..12; buddy 12..16 not free -> push 8 on list 2.
//!
//!   metadata (never inside the free frames: frames above 768 MiB cannot be
//!   reached through the linear space):
//!     next[pfn], prev[pfn]  u32 links of the free list the block heading at
//!                           pfn is on; for the head of an allocation,
//!                           next[pfn] holds the run length instead
//!     free_at[k]            bit b set = block b of order k is free and on list k
//!     starts                bit pfn set = an allocation starts at pfn
//!     first[k], counts[k]   list heads and lengths
//! ```
//!
//! Every step is O(1) per order: finding a buddy's state is one bit test,
//! unlinking it is two link writes. The metadata costs 8 bytes and 3 bits
//! per frame whatever the memory size, and building it is linear in the span.
//!
//! `allocate_contiguous(n, align)` takes the block of the smallest order `k`
//! with `2^k >= max(n, align)` and gives the unused tail back at once (as
//! Linux's `alloc_pages_exact` does), so runs need not be powers of two; the
//! largest run is 1024 frames.
//!
//! One file per idea:
//!
//! ```text
//!   mod.rs         the metadata, building the lists from the plan, queries
//!   lists.rs       push, unlink, take with splitting, give back with merging
//!   allocation.rs  an allocation handed out and given back (FrameAllocator)
//!   check.rs       check()
//!   render.rs      dump, draw_orders
//! ```

mod allocation;
mod check;
mod lists;
mod render;

use super::meta::{self, Carver, InitError};
use super::plan::{FramePlan, PmmChoice};
use super::{MAX_ORDER, ORDERS};
use crate::mm::bitmap::Bitmap;

/// The end of a free list.
const NIL: u32 = u32::MAX;

/// Metadata bytes for a span of `span_frames` frames: links, per-order bitmaps, run starts.
pub const fn metadata_bytes(span_frames: usize) -> usize {
    meta::buddy_metadata_bytes(span_frames)
}

/// The smallest order whose block holds `n` frames, or `None` past `MAX_ORDER`.
pub fn order_for(n: usize) -> Option<usize> {
    let k = n.max(1).next_power_of_two().trailing_zeros() as usize;
    (k <= MAX_ORDER).then_some(k)
}

/// A binary buddy frame allocator over caller-given metadata.
pub struct BuddyFrameAllocator<'a> {
    plan: FramePlan,
    span: usize,
    next: &'a mut [u32],
    prev: &'a mut [u32],
    free_at: [Bitmap<&'a mut [u32]>; ORDERS],
    starts: Bitmap<&'a mut [u32]>,
    first: [u32; ORDERS],
    counts: [usize; ORDERS],
    free: usize,
}

impl<'a> BuddyFrameAllocator<'a> {
    /// An allocator managing the usable frames of `plan`, keeping its links
    /// and bitmaps in `meta` (at least `plan.metadata_bytes()` bytes). Every
    /// usable range is cut into maximal aligned blocks and put on the lists.
    pub fn new(plan: &FramePlan, meta: &'a mut [u8]) -> Result<Self, InitError> {
        if plan.choice() != PmmChoice::Buddy {
            return Err(InitError::WrongPlan);
        }
        let span = plan.span().len();
        let mut carver = Carver::new(meta, metadata_bytes(span))?;
        let next = carver.words(span)?;
        let prev = carver.words(span)?;
        let starts = carver.bitmap(span)?;
        let mut maps: [Option<Bitmap<&'a mut [u32]>>; ORDERS] = Default::default();
        for (k, m) in maps.iter_mut().enumerate() {
            *m = Some(carver.bitmap(span >> k)?);
        }
        let free_at = maps.map(|m| m.expect("buddy::new: every order's bitmap was carved"));
        let mut a = BuddyFrameAllocator {
            plan: *plan,
            span,
            next,
            prev,
            free_at,
            starts,
            first: [NIL; ORDERS],
            counts: [0; ORDERS],
            free: 0,
        };
        for r in plan.usable() {
            a.give_range(r.start.0 as usize, r.end.0 as usize);
        }
        a.free = plan.usable_frames();
        Ok(a)
    }

    /// The plan this allocator was built from.
    pub fn plan(&self) -> &FramePlan {
        &self.plan
    }

    /// Free blocks on each order's list (what `buddyinfo` prints).
    pub fn free_blocks_per_order(&self) -> [usize; ORDERS] {
        self.counts
    }

    /// True when block `b` of order `k` is free and on list `k`.
    pub fn is_free_block(&self, b: usize, k: usize) -> bool {
        k < ORDERS && self.free_at[k].test(b)
    }

    #[cfg(test)]
    pub(crate) fn snapshot(&self) -> alloc::vec::Vec<u32> {
        let mut v = self.next.to_vec();
        v.extend_from_slice(self.prev);
        for m in &self.free_at {
            v.extend_from_slice(m.as_words());
        }
        v.extend_from_slice(self.starts.as_words());
        v.extend_from_slice(&self.first);
        v.extend(self.counts.iter().map(|&c| c as u32));
        v.push(self.free as u32);
        v
    }

    /// The per-order bitmaps, for comparing free sets in tests (list order may differ).
    #[cfg(test)]
    pub(crate) fn free_sets(&self) -> alloc::vec::Vec<u32> {
        let mut v = alloc::vec::Vec::new();
        for m in &self.free_at {
            v.extend_from_slice(m.as_words());
        }
        v
    }
}

#[cfg(test)]
mod doc_pictures;
#[cfg(test)]
mod tests;
