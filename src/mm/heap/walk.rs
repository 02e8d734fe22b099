//! A list heap's regions walked block by block, written once for first fit
//! and the gap tree: the first word of every block says what it is, so a
//! region can be read from its start to its end without the free list or
//! the trees. Both heaps' `check()` hold this walk against their free
//! blocks and counters, and check the poison of every free block the same
//! way ([`Walk::first_poisoned`]).
//!
//! ```text
//!   region  [free: len|1 ....][front|3 .. UsedHeader{extent|2,front,size,check}][free ...]
//!            ^ x                ^ x (front void)  ^ x + front
//!   next block at x + len (free) or x + extent (used); a block that does
//!   not move forward or runs past the region's end is malformed
//! ```

use super::poison;
use super::used::{HEADER_SIZE, TAG_FREE, TAG_FRONT, TAG_MASK, TAG_USED, UsedBlocks, UsedHeader};

/// Why the walk could not read a block (it stops that region's walk there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Malformed {
    /// The first word carries no known tag.
    Untagged,
    /// The front void is as long as a free block, or its header would lie
    /// past the region's end.
    FrontVoid,
    /// The header's tag is not a used block's, or it disagrees with the
    /// front void before it; or its check word is wrong and its extent
    /// runs past the region.
    Header,
    /// The block does not move forward, or runs past its region's end.
    PastRegion,
}

/// One block of a region, as [`Walk::for_each_block`] reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Block {
    /// A free block of `len` bytes.
    Free { start: usize, len: usize },
    /// A used block: `extent` bytes from `start`, its header `front` bytes
    /// in, `size` bytes asked for; `sealed` when its check word matches.
    Used {
        start: usize,
        extent: usize,
        front: usize,
        size: usize,
        sealed: bool,
    },
    /// What stopped the walk of a region at `at`.
    Bad { at: usize, why: Malformed },
}

/// The block walk and the poison check of a list heap, written once over
/// what [`UsedBlocks`] and [`FreeSpace`](super::inplace::FreeSpace) say about the heap.
pub(super) trait Walk: UsedBlocks {
    /// Call `f` with every block of every region in address order (regions
    /// in table order). A malformed block is passed as [`Block::Bad`] and
    /// ends its region's walk. Never reads outside the regions; changes
    /// nothing.
    fn for_each_block(&self, f: &mut dyn FnMut(Block)) {
        for r in self.regions().as_slice() {
            let mut x = r.address;
            while x < r.end() {
                let b = self.block_at(x, r.end());
                let next = match b {
                    Block::Free { len, .. } => x.saturating_add(len),
                    Block::Used { extent, .. } => x.saturating_add(extent),
                    Block::Bad { .. } => x,
                };
                if next <= x || next > r.end() {
                    let why = match b {
                        Block::Bad { why, .. } => why,
                        Block::Used { sealed: false, .. } => Malformed::Header,
                        _ => Malformed::PastRegion,
                    };
                    f(Block::Bad { at: x, why });
                    break;
                }
                f(b);
                x = next;
            }
        }
    }

    /// The block that starts at `x`, read from its first word (and its
    /// header for a used block); `end` is its region's end, past which
    /// nothing is read. Does not check where the block ends.
    fn block_at(&self, x: usize, end: usize) -> Block {
        // SAFETY: x lies inside the region (the caller's walk).
        let w = unsafe { self.at(x).cast::<usize>().read() };
        let front = match w & TAG_MASK {
            TAG_FREE => {
                return Block::Free {
                    start: x,
                    len: w & !TAG_MASK,
                };
            }
            TAG_USED => 0,
            TAG_FRONT => w & !TAG_MASK,
            _ => {
                return Block::Bad {
                    at: x,
                    why: Malformed::Untagged,
                };
            }
        };
        let h = x.saturating_add(front);
        if front >= Self::MAX_FRONT || h.saturating_add(HEADER_SIZE) > end {
            return Block::Bad {
                at: x,
                why: Malformed::FrontVoid,
            };
        }
        // SAFETY: the header lies inside the region (checked above).
        let hdr = unsafe { self.at(h).cast::<UsedHeader>().read() };
        let extent = hdr.tag & !TAG_MASK;
        if hdr.tag & TAG_MASK != TAG_USED || hdr.front != front {
            return Block::Bad {
                at: x,
                why: Malformed::Header,
            };
        }
        Block::Used {
            start: x,
            extent,
            front,
            size: hdr.size,
            sealed: hdr.check == Self::check_word(h, extent, hdr.size),
        }
    }

    /// While poisoning is on, the first free block with a byte past its
    /// metadata that no longer holds the poison, as (block start, address
    /// of that byte); `None` when all hold it or poisoning is off.
    ///
    /// The free blocks are read as `each_free` lists them: call it only
    /// once the free-block structure is known to be well formed.
    fn first_poisoned(&self) -> Option<(usize, usize)> {
        if !self.poison_flag() {
            return None;
        }
        let mut written = None;
        self.each_free(&mut |s, len| {
            if written.is_none() {
                // SAFETY: a free block of the heap, whose bytes past its
                // metadata no allocation uses (the caller checked the list).
                written =
                    unsafe { poison::first_written(self.at(s + Self::META), len - Self::META) }
                        .map(|at| (s, at));
            }
        });
        written
    }
}

impl<H: UsedBlocks> Walk for H {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::heap::fault::{FirstFitFault, GapTreeFault};
    use crate::mm::heap::firstfit::FirstFitHeap;
    use crate::mm::heap::gaptree::{GapTreeHeap, VoidPolicy};
    use crate::testutil::Arena;
    use alloc::vec::Vec;

    fn blocks<H: Walk>(h: &H) -> Vec<Block> {
        let mut v = Vec::new();
        h.for_each_block(&mut |b| v.push(b));
        v
    }

    #[test]
    fn both_heaps_walk_used_then_free_and_name_what_is_broken() {
        let (a, b) = (Arena::new(4096), Arena::new(4096));
        let mut ff = FirstFitHeap::new();
        let mut gt = GapTreeHeap::new(VoidPolicy::Allow);
        // SAFETY: each arena outlives its heap and is used by nothing else.
        unsafe {
            ff.add_region(a.ptr(), a.len()).unwrap();
            gt.add_region(b.ptr(), b.len()).unwrap();
        }
        let p = ff.alloc(100, 8).unwrap().as_ptr().addr();
        let q = gt.alloc(100, 8).unwrap().as_ptr().addr();
        for (walk, start) in [(blocks(&ff), a.start()), (blocks(&gt), b.start())] {
            assert_eq!(walk.len(), 2);
            assert!(
                matches!(walk[0], Block::Used { start: s, size: 100, front: 0, sealed: true, .. } if s == start)
            );
            assert!(matches!(walk[1], Block::Free { .. }));
        }
        // A header whose check word no longer matches: still walked, not sealed.
        // SAFETY: the check word is the last word of the header before `p`.
        unsafe { a.at(p - WORD).cast::<usize>().write(0) };
        assert!(matches!(blocks(&ff)[0], Block::Used { sealed: false, .. }));
        assert_eq!(ff.check(), Err(FirstFitFault::BadUsedHeader));
        // SAFETY: as above, in the gap tree's arena.
        unsafe { b.at(q - WORD).cast::<usize>().write(0) };
        assert_eq!(gt.check(), Err(GapTreeFault::SuperCheckWord));
        // A first word with no tag ends the region's walk.
        // SAFETY: the block's first word lies in the arena.
        unsafe { a.at(a.start()).cast::<usize>().write(0) };
        assert_eq!(
            blocks(&ff),
            [Block::Bad {
                at: a.start(),
                why: Malformed::Untagged
            }]
        );
        assert_eq!(ff.check(), Err(FirstFitFault::UntaggedBlock));
    }

    const WORD: usize = core::mem::size_of::<usize>();
}
