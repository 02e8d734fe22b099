//! The first-fit heap's integrity check and dump: the free list is
//! sorted, coalesced, inside the regions and agrees with the counters;
//! every region is tiled exactly by free and well-formed used blocks; while
//! poisoning, every free byte after a block's metadata still holds the
//! poison.

use super::{
    FREE_META, FirstFitHeap, HEADER_SIZE, Header, MIN_BLOCK, TAG_FREE, TAG_FRONT, TAG_MASK,
    TAG_USED, WORD, check_word,
};
use crate::mm::heap::fault::FirstFitFault;
use crate::mm::heap::poison;
use core::fmt;

impl FirstFitHeap {
    /// Integrity check: the list is sorted, inside the regions, fully
    /// coalesced and matches the counters; every region is tiled exactly by
    /// free blocks and well-formed used blocks; while poisoning, every free
    /// block's bytes after its metadata still hold the poison.
    pub fn check(&self) -> Result<(), FirstFitFault> {
        let (mut n, mut sum, mut prev_end) = (0, 0, 0usize);
        let mut err = None;
        self.for_each_free(&mut |s, len| {
            let in_region = self.regions.contain(s, s + len);
            if err.is_none() {
                err = if len < MIN_BLOCK || !len.is_multiple_of(WORD) {
                    Some(FirstFitFault::FreeBlockTooShort)
                } else if !in_region {
                    Some(FirstFitFault::FreeBlockOutsideRegions)
                } else if n > 0 && s < prev_end {
                    Some(FirstFitFault::FreeListUnsorted)
                } else if n > 0 && s == prev_end {
                    Some(FirstFitFault::FreeBlocksNotCoalesced)
                } else {
                    None
                };
            }
            n += 1;
            sum += len;
            prev_end = s + len;
        });
        if let Some(e) = err {
            return Err(e);
        }
        if n != self.nfree || sum != self.free {
            return Err(FirstFitFault::CountersDisagree);
        }
        let (mut walked_free, mut walked_used, mut used_blocks) = (0, 0, 0);
        for r in self.regions.as_slice() {
            let mut x = r.address;
            while x < r.end() {
                // SAFETY: x is a block start inside the region.
                let w = unsafe { self.at::<usize>(x).read() };
                let len = match w & TAG_MASK {
                    TAG_FREE => {
                        walked_free += w & !TAG_MASK;
                        w & !TAG_MASK
                    }
                    TAG_USED | TAG_FRONT => {
                        let front = if w & TAG_MASK == TAG_FRONT {
                            w & !TAG_MASK
                        } else {
                            0
                        };
                        let h = x.saturating_add(front);
                        if front >= MIN_BLOCK || h + HEADER_SIZE > r.end() {
                            return Err(FirstFitFault::BadFrontVoid);
                        }
                        // SAFETY: the header lies inside the region.
                        let hdr = unsafe { self.at::<Header>(h).read() };
                        let ext = hdr.tag & !TAG_MASK;
                        if hdr.tag & TAG_MASK != TAG_USED
                            || hdr.front != front
                            || hdr.check != check_word(h, ext, hdr.size)
                        {
                            return Err(FirstFitFault::BadUsedHeader);
                        }
                        walked_used += ext;
                        used_blocks += 1;
                        ext
                    }
                    _ => return Err(FirstFitFault::UntaggedBlock),
                };
                if len < MIN_BLOCK || x + len > r.end() {
                    return Err(FirstFitFault::BlockPastRegion);
                }
                x += len;
            }
        }
        if walked_free != self.free
            || walked_free + walked_used != self.size
            || used_blocks != self.allocations
        {
            return Err(FirstFitFault::RegionsNotTiled);
        }
        if self.poison {
            let mut written = None;
            self.for_each_free(&mut |s, len| {
                if written.is_none() {
                    // SAFETY: a free block (the list was verified above).
                    written =
                        unsafe { poison::first_written(self.at(s + FREE_META), len - FREE_META) }
                            .map(|at| FirstFitFault::Poisoned { block: s, at });
                }
            });
            if let Some(e) = written {
                return Err(e);
            }
        }
        Ok(())
    }

    /// One line `free [start , end] N bytes` per free block, then a summary.
    pub fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let mut res = Ok(());
        self.for_each_free(&mut |s, len| {
            if res.is_ok() {
                res = writeln!(
                    out,
                    "free [V{:#010x} , V{:#010x}] {} bytes",
                    s,
                    s + len - 1,
                    len
                );
            }
        });
        res?;
        writeln!(
            out,
            "{} free blocks, {} free of {} bytes; {} allocations",
            self.nfree, self.free, self.size, self.allocations
        )
    }
}
