//! The gap-tree heap walked block by block: every region is tiled by gaps
//! and superbuffers whose first word says what they are (the walk of
//! [`Walk`], shared with first fit). `check()` holds that walk against
//! both trees and the counters (and the poison); the dumps print it.

use super::{ByAddr, ByLen, GAP_SIZE, GapTreeHeap, HEADER_SIZE, TAG_GAP, TAG_MASK, WORD, gap_len};
use crate::mm::family::align_up;
use crate::mm::heap::fault::GapTreeFault;
use crate::mm::heap::tree;
use crate::mm::heap::walk::{Block, Walk};
use core::fmt;

impl GapTreeHeap {
    /// Bytes of every live buffer rounded up to a word, from a walk.
    pub(super) fn requested_rounded(&self) -> usize {
        // Sum of buffer sizes rounded to a word, from a walk (exact) — the
        // counter keeps the unrounded sum, so recompute on demand.
        let mut sum = 0;
        self.for_each_block(&mut |b| {
            if let Block::Used { size, .. } = b {
                sum += align_up(size, WORD).unwrap_or(size);
            }
        });
        sum
    }

    /// Integrity check: both trees are valid AVL trees over the same gaps;
    /// gaps are in bounds, long enough, never touching (fully merged); every
    /// region is tiled exactly by gaps and well-formed superbuffers; the
    /// counters match; while poisoning, every gap past its header still
    /// holds the poison.
    pub fn check(&self) -> Result<(), GapTreeFault> {
        let limit = self.size / GAP_SIZE + 1;
        // SAFETY: the trees hold valid gaps (what we are checking; the walk
        // is bounded by `limit` so a cycle cannot hang it).
        let (na, nl) = unsafe {
            (
                tree::check::<ByAddr>(self.by_addr, limit).map_err(GapTreeFault::Tree)?,
                tree::check::<ByLen>(self.by_len, limit).map_err(GapTreeFault::Tree)?,
            )
        };
        if na != self.gaps || nl != self.gaps {
            return Err(GapTreeFault::TreeSizes);
        }
        let unit = self.unit();
        let mut prev_end = 0usize;
        let mut err = None;
        let mut gap_sum = 0;
        // SAFETY: as above.
        unsafe {
            tree::walk::<ByAddr>(self.by_addr, &mut |g| {
                let (s, len) = (g.addr(), gap_len(g));
                let e = s + len;
                let in_region = self.regions.contain(s, e);
                let found = tree::lower_bound::<ByLen>(self.by_len, (len, s));
                err = if (*g).tag & TAG_MASK != TAG_GAP {
                    Some(GapTreeFault::GapTag)
                } else if len < GAP_SIZE || !len.is_multiple_of(unit) {
                    Some(GapTreeFault::GapTooShort)
                } else if !in_region {
                    Some(GapTreeFault::GapOutsideRegions)
                } else if s < prev_end {
                    Some(GapTreeFault::GapsOverlap)
                } else if s == prev_end {
                    Some(GapTreeFault::GapsNotMerged)
                } else if found != g {
                    Some(GapTreeFault::GapNotInLengthTree)
                } else {
                    None
                };
                prev_end = e;
                gap_sum += len;
                err.is_none()
            });
        }
        if let Some(e) = err {
            return Err(e);
        }
        if gap_sum != self.free {
            return Err(GapTreeFault::FreeCounter);
        }
        let (mut walked_free, mut walked_used, mut supers, mut req) = (0, 0, 0, 0);
        let mut bad = None;
        self.for_each_block(&mut |b| match b {
            Block::Free { len, .. } => walked_free += len,
            Block::Used {
                extent,
                front,
                size,
                sealed,
                ..
            } => {
                if !sealed {
                    bad = Some(GapTreeFault::SuperCheckWord);
                } else if extent < front.saturating_add(HEADER_SIZE).saturating_add(size)
                    || extent < GAP_SIZE
                {
                    bad = Some(GapTreeFault::SuperTooShort);
                } else if !extent.is_multiple_of(unit) {
                    bad = Some(GapTreeFault::SuperNotUnitMultiple);
                }
                walked_used += extent;
                supers += 1;
                req += size;
            }
            Block::Bad { .. } => bad = Some(GapTreeFault::MalformedBlock),
        });
        if let Some(e) = bad {
            return Err(e);
        }
        if walked_free != self.free || walked_free + walked_used != self.size {
            return Err(GapTreeFault::RegionsNotTiled);
        }
        if supers != self.superbuffers || req != self.requested {
            return Err(GapTreeFault::SuperCounters);
        }
        if let Some((block, at)) = self.first_poisoned() {
            return Err(GapTreeFault::Poisoned { block, at });
        }
        Ok(())
    }

    /// `heapdump` of seed 002: one line `gap [start , end] N bytes` per gap
    /// (end inclusive), then a summary line.
    pub fn heapdump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let mut res = Ok(());
        self.for_each_gap(&mut |s, len| {
            if res.is_ok() {
                res = writeln!(
                    out,
                    "gap [V{:#010x} , V{:#010x}] {} bytes",
                    s,
                    s + len - 1,
                    len
                );
            }
        });
        res?;
        let c = self.counts();
        writeln!(
            out,
            "{} gaps, {} free of {} bytes; {} superbuffers, {} bytes of voids; largest gap {}",
            c.gaps,
            self.free,
            self.size,
            c.superbuffers,
            c.void_bytes,
            self.largest_gap()
        )
    }

    /// Every block in address order: `gap`, `super` (with its voids), one line each.
    pub fn blockdump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let mut res = Ok(());
        self.for_each_block(&mut |b| {
            if res.is_err() {
                return;
            }
            res = match b {
                Block::Free { start, len } => writeln!(
                    out,
                    "gap   [V{:#010x} , V{:#010x}] {} bytes",
                    start,
                    start + len - 1,
                    len
                ),
                Block::Used {
                    start,
                    extent,
                    front,
                    size,
                    ..
                } => writeln!(
                    out,
                    "super [V{:#010x} , V{:#010x}] {} bytes: buffer {} at V{:#010x}, void {}",
                    start,
                    start + extent - 1,
                    extent,
                    size,
                    start + front + HEADER_SIZE,
                    extent - HEADER_SIZE - align_up(size, WORD).unwrap_or(size)
                ),
                Block::Bad { at, .. } => writeln!(out, "bad block at V{:#010x}", at),
            };
        });
        res
    }

    #[cfg(test)]
    pub(super) fn gaps(&self) -> alloc::vec::Vec<(usize, usize)> {
        let mut v = alloc::vec::Vec::new();
        self.for_each_gap(&mut |s, l| v.push((s, l)));
        v
    }
}
