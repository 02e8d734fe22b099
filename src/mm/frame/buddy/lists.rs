//! The buddy allocator's free lists: a block pushed and unlinked in O(1)
//! (its list links and its bit in the order's map), taken with splitting,
//! given back with merging.
//!
//! ```text
//!   take_block(0) with only an order-2 block free:
//!     [        8..12        ]  ->  [8][9][ 10..12 ]   8 taken; 9 on list 0,
//!                                                     10 on list 1
//!   give_block(8, 0): buddy 8 ^ 1 = 9 free at order 0 -> merge to 8..10;
//!     buddy 8 ^ 2 = 10 free at order 1 -> merge to 8..12; push 8 on list 2
//! ```

use super::{BuddyFrameAllocator, NIL};
use crate::mm::frame::{MAX_ORDER, ORDERS, for_each_block};

impl BuddyFrameAllocator<'_> {
    pub(super) fn is_free(&self, i: usize) -> bool {
        (0..ORDERS).any(|k| self.free_at[k].test(i >> k))
    }

    pub(super) fn push(&mut self, k: usize, i: usize) {
        let old = self.first[k];
        self.next[i] = old;
        self.prev[i] = NIL;
        if old != NIL {
            self.prev[old as usize] = i as u32;
        }
        self.first[k] = i as u32;
        self.free_at[k].set(i >> k);
        self.counts[k] += 1;
    }

    pub(super) fn unlink(&mut self, k: usize, i: usize) {
        let (n, p) = (self.next[i], self.prev[i]);
        if p == NIL {
            self.first[k] = n;
        } else {
            self.next[p as usize] = n;
        }
        if n != NIL {
            self.prev[n as usize] = p;
        }
        self.free_at[k].clear(i >> k);
        self.counts[k] -= 1;
    }

    /// Take a free block of order `k`, splitting a larger one if needed.
    pub(super) fn take_block(&mut self, k: usize) -> Option<usize> {
        let j = (k..ORDERS).find(|&j| self.first[j] != NIL)?;
        let i = self.first[j] as usize;
        self.unlink(j, i);
        // Split: keep the lower half, put each upper half on its list.
        for h in (k..j).rev() {
            self.push(h, i + (1 << h));
        }
        Some(i)
    }

    /// Put the block of order `k` at `i` back, merging with its buddy while it is free.
    pub(super) fn give_block(&mut self, mut i: usize, mut k: usize) {
        while k < MAX_ORDER {
            let buddy = i ^ (1 << k);
            if !self.free_at[k].test(buddy >> k) {
                break;
            }
            self.unlink(k, buddy);
            i = i.min(buddy);
            k += 1;
        }
        self.push(k, i);
    }

    /// Put frames `s..e` back as maximal aligned blocks.
    pub(super) fn give_range(&mut self, s: usize, e: usize) {
        for_each_block(s, e, |b, k| self.give_block(b, k));
    }
}
