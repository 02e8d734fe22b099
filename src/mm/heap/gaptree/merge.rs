//! Free space becomes a gap in the gap tree: `[start, end)` merges with
//! the gap that ends at `start` and the gap that begins at `end` (each
//! found in the address tree in O(log n)), and the merged gap goes back
//! into both trees; growing a block in place takes the front of the gap
//! right after it. The shared algorithms over these (give back, poison,
//! resize) are [`FreeSpace`]'s.
//!
//! ```text
//!   [gap L][start ..... end)[gap R]   ->   [gap L ..................... R]
//! ```

use super::{ByAddr, ByLen, GAP_META, GAP_SIZE, Gap, GapTreeHeap, TAG_GAP, gap_len};
use crate::mm::heap::inplace::FreeSpace;
use crate::mm::heap::tree::{self, Links, TreeKind};
use core::ptr;

impl GapTreeHeap {
    /// Turn `[start, end)` into free space, merging with the gap that ends at
    /// `start` and the gap that begins at `end`. O(log n).
    ///
    /// # Safety
    /// `[start, end)` lies in a region, is not free, and overlaps no gap.
    // course: lab 07
    unsafe fn free_block(&mut self, start: usize, end: usize) {
        // SAFETY: all gaps in the trees are valid headers inside our regions.
        unsafe {
            let left = tree::below::<ByAddr>(self.by_addr, start);
            let right = tree::lower_bound::<ByAddr>(self.by_addr, end);
            let mut lo = start;
            let mut hi = end;
            let mut node: *mut Gap = ptr::null_mut();
            if !left.is_null() && left.addr() + gap_len(left) == start {
                self.by_len = tree::remove::<ByLen>(self.by_len, ByLen::key(left)).0;
                lo = left.addr();
                node = left;
                self.gaps -= 1;
            }
            let mut placed = !node.is_null();
            if !right.is_null() && right.addr() == end {
                self.by_len = tree::remove::<ByLen>(self.by_len, ByLen::key(right)).0;
                hi = end + gap_len(right);
                self.gaps -= 1;
                if placed {
                    self.by_addr = tree::remove::<ByAddr>(self.by_addr, end).0;
                } else {
                    // The new gap takes the right gap's place in the address
                    // tree: no gap lies between `start` and `end`.
                    node = self.at::<Gap>(lo);
                    node.write(Gap {
                        tag: 0,
                        by_addr: Links::new(),
                        by_len: Links::new(),
                    });
                    self.by_addr = tree::replace::<ByAddr>(self.by_addr, end, node);
                    placed = true;
                }
            }
            if !placed {
                node = self.at::<Gap>(lo);
                node.write(Gap {
                    tag: 0,
                    by_addr: Links::new(),
                    by_len: Links::new(),
                });
                self.by_addr = tree::insert::<ByAddr>(self.by_addr, node);
            }
            (*node).tag = (hi - lo) | TAG_GAP;
            self.by_len = tree::insert::<ByLen>(self.by_len, node);
            self.gaps += 1;
            self.free += end - start;
        }
    }
    // course: stub
    // unsafe fn free_block(&mut self, start: usize, end: usize) {
    //     // LAB 07 (4/4): make [start, end) one gap, merged with its neighbours.
    //     // - the gap just before: `tree::below::<ByAddr>(self.by_addr, start)`;
    //     //   it touches when `left.addr() + gap_len(left) == start`;
    //     // - the gap just after: `tree::lower_bound::<ByAddr>(self.by_addr, end)`;
    //     //   it touches when `right.addr() == end`.
    //     // A gap that touches leaves the length tree (its length changes);
    //     // the merged gap starts at the lowest address: write a fresh `Gap`
    //     // header there (`self.at::<Gap>(lo)` points at it) when it is a new node, keep the address tree's node
    //     // when the left neighbour already is it (`tree::replace` swaps the
    //     // right neighbour's node for a new one at the same place in order).
    //     // Then: tag = length | TAG_GAP, insert into `by_len`, and keep the
    //     // `gaps` and `free` counters true. `check()` tells you what is off.
    //     let _ = (start, end, TAG_GAP, Links::<Gap>::new, gap_len);
    //     let _ = (tree::insert::<ByLen>, tree::remove::<ByLen>, tree::replace::<ByAddr>);
    // }
    // course: end
}

impl FreeSpace for GapTreeHeap {
    const META: usize = GAP_META;
    const MIN_FREE: usize = GAP_SIZE;

    fn at(&self, addr: usize) -> *mut u8 {
        GapTreeHeap::at(self, addr)
    }

    fn poison_flag(&self) -> bool {
        self.poison
    }
    fn store_poison_flag(&mut self, on: bool) {
        self.poison = on;
    }
    unsafe fn insert_free(&mut self, start: usize, end: usize) {
        // SAFETY: forwarded contract.
        unsafe { self.free_block(start, end) }
    }
    unsafe fn free_starts_at(&self, at: usize) -> bool {
        // SAFETY: the address tree holds valid gaps (the caller's contract).
        let right = unsafe { tree::lower_bound::<ByAddr>(self.by_addr, at) };
        !right.is_null() && right.addr() == at
    }
    fn each_free(&self, f: &mut dyn FnMut(usize, usize)) {
        self.for_each_gap(f);
    }
    unsafe fn take_from_next(&mut self, end: usize, want: usize) -> Option<usize> {
        // SAFETY: the caller's contract: the gap at `end` is in both trees;
        // the writes stay inside it.
        unsafe {
            let right = tree::lower_bound::<ByAddr>(self.by_addr, end);
            if right.is_null() || right.addr() != end || end + gap_len(right) < want {
                return None;
            }
            let gap_end = end + gap_len(right);
            self.by_len = tree::remove::<ByLen>(self.by_len, ByLen::key(right)).0;
            self.by_addr = tree::remove::<ByAddr>(self.by_addr, end).0;
            let new_end = if gap_end - want >= GAP_SIZE {
                let t = self.at::<Gap>(want);
                t.write(Gap {
                    tag: (gap_end - want) | TAG_GAP,
                    by_addr: Links::new(),
                    by_len: Links::new(),
                });
                self.by_addr = tree::insert::<ByAddr>(self.by_addr, t);
                self.by_len = tree::insert::<ByLen>(self.by_len, t);
                want
            } else {
                self.gaps -= 1;
                gap_end
            };
            self.free -= new_end - end;
            Some(new_end)
        }
    }
}
