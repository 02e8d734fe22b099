//! The first-fit heap's integrity check and dump: the free list is
//! sorted, coalesced, inside the regions and agrees with the counters;
//! every region is tiled exactly by free and well-formed used blocks; while
//! poisoning, every free byte after a block's metadata still holds the
//! poison.

use super::{FirstFitHeap, MIN_BLOCK, WORD};
use crate::mm::heap::fault::FirstFitFault;
use crate::mm::heap::walk::{Block, Malformed, Walk};
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
        let mut bad = None;
        self.for_each_block(&mut |b| {
            let fault = match b {
                Block::Free { len, .. } if len >= MIN_BLOCK => {
                    walked_free += len;
                    return;
                }
                Block::Used {
                    extent,
                    sealed: true,
                    ..
                } if extent >= MIN_BLOCK => {
                    walked_used += extent;
                    used_blocks += 1;
                    return;
                }
                Block::Free { .. } | Block::Used { sealed: true, .. } => {
                    FirstFitFault::BlockPastRegion
                }
                Block::Used { .. } => FirstFitFault::BadUsedHeader,
                Block::Bad { why, .. } => match why {
                    Malformed::Untagged => FirstFitFault::UntaggedBlock,
                    Malformed::FrontVoid => FirstFitFault::BadFrontVoid,
                    Malformed::Header => FirstFitFault::BadUsedHeader,
                    Malformed::PastRegion => FirstFitFault::BlockPastRegion,
                },
            };
            bad.get_or_insert(fault);
        });
        if let Some(e) = bad {
            return Err(e);
        }
        if walked_free != self.free
            || walked_free + walked_used != self.size
            || used_blocks != self.allocations
        {
            return Err(FirstFitFault::RegionsNotTiled);
        }
        if let Some((block, at)) = self.first_poisoned() {
            return Err(FirstFitFault::Poisoned { block, at });
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
