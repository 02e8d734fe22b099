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

use super::check::FrameCheckError;
use super::meta::{self, Carver, InitError};
use super::plan::{FramePlan, PmmChoice};
use super::{FrameAllocator, FrameError, MAX_ORDER, ORDERS, for_each_block, normalize_align};
use crate::mm::addr::Frame;
use crate::mm::bitmap::Bitmap;
use core::fmt;

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

    /// Give back the whole allocation that starts at `start` and return its length.
    pub fn release(&mut self, start: Frame) -> Result<usize, FrameError> {
        let len = self.validate(start, None)?;
        self.finish_free(start.0 as usize, len);
        Ok(len)
    }

    /// True when block `b` of order `k` is free and on list `k`.
    pub fn is_free_block(&self, b: usize, k: usize) -> bool {
        k < ORDERS && self.free_at[k].test(b)
    }

    fn is_free(&self, i: usize) -> bool {
        (0..ORDERS).any(|k| self.free_at[k].test(i >> k))
    }

    fn push(&mut self, k: usize, i: usize) {
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

    fn unlink(&mut self, k: usize, i: usize) {
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
    fn take_block(&mut self, k: usize) -> Option<usize> {
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
    fn give_block(&mut self, mut i: usize, mut k: usize) {
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
    fn give_range(&mut self, s: usize, e: usize) {
        for_each_block(s, e, |b, k| self.give_block(b, k));
    }

    /// The length of the allocation starting at `start`, checked against
    /// `count` when given; the allocator is not changed.
    fn validate(&self, start: Frame, count: Option<usize>) -> Result<usize, FrameError> {
        self.plan.check_managed(start)?;
        let i = start.0 as usize;
        if !self.starts.test(i) {
            return Err(if self.is_free(i) {
                FrameError::AlreadyFree
            } else {
                FrameError::BadRun
            });
        }
        let len = self.next[i] as usize;
        match count {
            Some(c) if c != len => Err(FrameError::BadRun),
            _ => Ok(len),
        }
    }

    fn finish_free(&mut self, i: usize, len: usize) {
        self.starts.clear(i);
        self.give_range(i, i + len);
        self.free += len;
    }

    /// Integrity check: every list is well linked and matches its bitmap and
    /// count; blocks are aligned, inside managed memory, not nested in a free
    /// block of a higher order, and not left unmerged with a free buddy;
    /// allocations do not overlap free blocks or each other; the counts add up.
    pub fn check(&self) -> Result<(), FrameCheckError> {
        let mut free = 0;
        for k in 0..ORDERS {
            let mut i = self.first[k];
            let mut prev = NIL;
            let mut n = 0;
            while i != NIL {
                let b = i as usize;
                if n > self.counts[k] {
                    return Err(FrameCheckError::BuddyListTooLong);
                }
                if self.prev[b] != prev {
                    return Err(FrameCheckError::BuddyBrokenLink);
                }
                if !b.is_multiple_of(1 << k) || b + (1 << k) > self.span {
                    return Err(FrameCheckError::BuddyMisaligned);
                }
                if !self.free_at[k].test(b >> k) {
                    return Err(FrameCheckError::BuddyNotInBitmap);
                }
                if !self.plan.is_usable_run(b, 1 << k) {
                    return Err(FrameCheckError::BuddyUnmanaged);
                }
                if ((k + 1)..ORDERS).any(|j| self.free_at[j].test(b >> j)) {
                    return Err(FrameCheckError::BuddyNested);
                }
                if k < MAX_ORDER && self.free_at[k].test((b ^ (1 << k)) >> k) {
                    return Err(FrameCheckError::BuddyUnmerged);
                }
                prev = i;
                i = self.next[b];
                n += 1;
            }
            if n != self.counts[k] || self.free_at[k].count_ones() != n {
                return Err(FrameCheckError::BuddyCountMismatch);
            }
            self.free_at[k].check()?;
            free += n << k;
        }
        if free != self.free {
            return Err(FrameCheckError::BuddyFreeSum);
        }
        self.starts.check()?;
        let mut used = 0;
        let mut end = 0;
        let mut at = 0;
        while let Some(s) = self.starts.next_set(at) {
            let len = self.next[s] as usize;
            if s < end {
                return Err(FrameCheckError::BuddyOverlap);
            }
            if len == 0 || !self.plan.is_usable_run(s, len) {
                return Err(FrameCheckError::BuddyEmptyAllocation);
            }
            if (s..s + len).any(|f| self.is_free(f)) {
                return Err(FrameCheckError::BuddyAllocatedAndFree);
            }
            used += len;
            end = s + len;
            at = s + 1;
        }
        if used + self.free != self.plan.usable_frames() {
            return Err(FrameCheckError::BuddyTotal);
        }
        Ok(())
    }

    /// Write the free lists: count per order and the first blocks of each.
    pub fn dump(&self, out: &mut impl fmt::Write) -> fmt::Result {
        writeln!(
            out,
            "buddy: {} frames managed, {} free",
            self.total_count(),
            self.free
        )?;
        for k in 0..ORDERS {
            write!(
                out,
                "order {k:>2} ({:>4} KiB): {:>5} free",
                4 << k,
                self.counts[k]
            )?;
            let mut i = self.first[k];
            let mut shown = 0;
            while i != NIL && shown < 4 {
                write!(out, " {}", Frame(i).start_address())?;
                i = self.next[i as usize];
                shown += 1;
            }
            if i != NIL {
                write!(out, " ...")?;
            }
            writeln!(out)?;
        }
        Ok(())
    }

    /// Seed 004's picture: one row per order from `min_order` up, one column
    /// per `2^min_order` frames, over frames `from..from + count`. A block is
    /// `.` when it is free at this order, `x` when it lies inside a larger free
    /// block, `#` otherwise (allocated, reserved, or only partly free); the
    /// row ends with the number of blocks free at its order.
    pub fn draw_orders(
        &self,
        out: &mut impl fmt::Write,
        from: Frame,
        count: usize,
        min_order: usize,
    ) -> fmt::Result {
        let from = from.0 as usize;
        for k in min_order..ORDERS {
            let size = 1usize << k;
            let first = from / size;
            let last = (from + count).div_ceil(size);
            if k > min_order && size > count {
                break;
            }
            write!(out, "order {k:>2} ")?;
            let mut free = 0;
            for b in first..last {
                let c = if self.free_at[k].test(b) {
                    free += 1;
                    '.'
                } else if ((k + 1)..ORDERS).any(|j| self.free_at[j].test((b << k) >> j)) {
                    'x'
                } else {
                    '#'
                };
                out.write_char(c)?;
                for _ in 1..(size >> min_order) {
                    out.write_char(' ')?;
                }
            }
            writeln!(out, " {free:>3}")?;
        }
        Ok(())
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

impl FrameAllocator for BuddyFrameAllocator<'_> {
    fn name(&self) -> &'static str {
        "buddy"
    }

    fn allocate(&mut self) -> Option<Frame> {
        self.allocate_contiguous(1, 1)
    }

    fn allocate_contiguous(&mut self, count: usize, align: usize) -> Option<Frame> {
        if count == 0 {
            return None;
        }
        let k = order_for(count.max(normalize_align(align)?))?;
        let i = self.take_block(k)?;
        // Give the unused tail back at once (alloc_pages_exact).
        self.give_range(i + count, i + (1 << k));
        self.starts.set(i);
        self.next[i] = count as u32;
        self.free -= count;
        Some(Frame(i as u32))
    }

    fn free(&mut self, frame: Frame) -> Result<(), FrameError> {
        self.free_contiguous(frame, 1)
    }

    fn free_contiguous(&mut self, start: Frame, count: usize) -> Result<(), FrameError> {
        let len = self.validate(start, Some(count))?;
        self.finish_free(start.0 as usize, len);
        Ok(())
    }

    fn free_count(&self) -> usize {
        self.free
    }

    fn total_count(&self) -> usize {
        self.plan.usable_frames()
    }

    fn is_allocated(&self, frame: Frame) -> bool {
        self.plan.check_managed(frame).is_ok() && !self.is_free(frame.0 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::frame::plan::{MemoryKind, MemoryRegion, plan};
    use crate::mm::frame::testmaps::*;
    use crate::mm::frame::testmaps::{Soakable, soak};
    use crate::testutil::{miri_or, soak_ops};
    use alloc::vec::Vec;

    /// RAM at 4 MiB..8 MiB (one order-10 block) and nothing else managed.
    fn one_block_plan() -> (FramePlan, MetaBuf) {
        // The metadata for a 2048-frame span takes 5 frames: 0x3FB..0x400;
        // 0x400..0x800 is then one order-10 block.
        let map = [MemoryRegion::new(
            0x3F_B000,
            0x40_5000,
            MemoryKind::Available,
        )];
        let p = plan(&map, &[], PmmChoice::Buddy).unwrap();
        let m = MetaBuf::new(&p);
        (p, m)
    }

    #[test]
    fn metadata_cost_per_frame_is_constant() {
        let per_frame = |frames: usize| metadata_bytes(frames) as f64 / frames as f64;
        let small = per_frame(16 << 8);
        let large = per_frame(3 << 18);
        assert!((small - large).abs() < 0.01, "{small} vs {large}");
        assert!(
            large < 8.4,
            "8 bytes of links + 3 bits of bitmaps per frame"
        );
    }

    #[test]
    fn starts_as_one_maximal_block_and_splits_on_allocate() {
        let (p, mut m) = one_block_plan();
        assert_eq!(
            p.usable(),
            &[crate::mm::frame::FrameRange::new(0x400, 0x800)]
        );
        let mut a = BuddyFrameAllocator::new(&p, m.bytes()).unwrap();
        assert_eq!(a.free_blocks_per_order(), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let f = a.allocate().unwrap();
        assert_eq!(f, Frame(0x400));
        // One block of each order 0..=9 is left: the upper halves of each split.
        assert_eq!(a.free_blocks_per_order(), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
        assert_eq!(a.allocate(), Some(Frame(0x401)));
        assert_eq!(a.free_blocks_per_order(), [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
        a.check().unwrap();
        // Freeing both merges back to the single order-10 block.
        a.free(Frame(0x400)).unwrap();
        a.free(Frame(0x401)).unwrap();
        assert_eq!(a.free_blocks_per_order(), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        a.check().unwrap();
    }

    #[test]
    fn buddy_of_a_block_is_pfn_xor_size() {
        let (p, mut m) = one_block_plan();
        let mut a = BuddyFrameAllocator::new(&p, m.bytes()).unwrap();
        let x = a.allocate_contiguous(4, 4).unwrap();
        let y = a.allocate_contiguous(4, 4).unwrap();
        assert_eq!(
            x.0 ^ 4,
            y.0,
            "two order-2 blocks from one order-3 split are buddies"
        );
        a.free_contiguous(x, 4).unwrap();
        // x is free at order 2; its buddy y is not, so no merge.
        assert!(a.is_free_block(x.0 as usize >> 2, 2));
        a.free_contiguous(y, 4).unwrap();
        assert!(!a.is_free_block(x.0 as usize >> 2, 2), "merged upwards");
        assert_eq!(a.free_blocks_per_order()[10], 1);
        a.check().unwrap();
    }

    #[test]
    fn runs_that_are_not_powers_of_two_give_back_their_tail() {
        let (p, mut m) = one_block_plan();
        let mut a = BuddyFrameAllocator::new(&p, m.bytes()).unwrap();
        let r = a.allocate_contiguous(5, 1).unwrap();
        assert_eq!(r, Frame(0x400));
        assert_eq!(a.free_count(), 1024 - 5);
        // 0x405 (order 0), 0x406..0x408 (order 1) came back from the order-3 block.
        assert!(a.is_free_block(0x405, 0));
        assert!(a.is_free_block(0x406 >> 1, 1));
        assert_eq!(a.free_contiguous(r, 8), Err(FrameError::BadRun));
        assert_eq!(a.release(r), Ok(5));
        assert_eq!(a.free_blocks_per_order()[10], 1);
        // Alignment bigger than the count.
        let r = a.allocate_contiguous(3, 64).unwrap();
        assert_eq!(r.0 % 64, 0);
        assert_eq!(a.free_count(), 1021);
        a.check().unwrap();
        assert_eq!(a.allocate_contiguous(1025, 1), None, "larger than order 10");
        assert_eq!(
            a.allocate_contiguous(1, 2048),
            None,
            "alignment past order 10"
        );
        assert_eq!(
            a.allocate_contiguous(1, 3),
            None,
            "alignment not a power of two"
        );
        assert_eq!(a.allocate_contiguous(0, 1), None);
        a.free_contiguous(r, 3).unwrap();
        assert_eq!(a.allocate_contiguous(1024, 1024), Some(Frame(0x400)));
        assert_eq!(a.allocate(), None, "everything taken");
        a.check().unwrap();
    }

    #[test]
    fn qemu_128m_initial_blocks() {
        let p = qemu_plan(128, PmmChoice::Buddy);
        let mut m = MetaBuf::new(&p);
        let a = BuddyFrameAllocator::new(&p, m.bytes()).unwrap();
        a.check().unwrap();
        let counts = a.free_blocks_per_order();
        let frames: usize = counts.iter().enumerate().map(|(k, c)| c << k).sum();
        assert_eq!(frames, p.usable_frames());
        assert_eq!(a.free_count(), p.usable_frames());
        // 30 whole 4 MiB blocks from 0x400 to 0x7C00; RAM ends at 0x7FE0, so the
        // top 0x3E0 frames are blocks of orders 9, 8, 7, 6, 5.
        assert_eq!(counts[10], 30);
        assert!(a.is_free_block(0x7800 >> 10, 10));
        for (start, k) in [
            (0x7C00, 9),
            (0x7E00, 8),
            (0x7F00, 7),
            (0x7F80, 6),
            (0x7FC0, 5),
        ] {
            assert!(a.is_free_block(start >> k, k), "order {k} at {start:#x}");
        }
    }

    #[test]
    fn bad_frees_name_the_cause_and_change_nothing() {
        let p = qemu_plan(16, PmmChoice::Buddy);
        let mut m = MetaBuf::new(&p);
        let mut a = BuddyFrameAllocator::new(&p, m.bytes()).unwrap();
        let single = a.allocate().unwrap();
        let run = a.allocate_contiguous(6, 1).unwrap();
        let before = a.snapshot();
        let cases: [(&str, Result<(), FrameError>, FrameError); 9] = [
            ("double free", a.free(Frame(0xF00)), FrameError::AlreadyFree),
            ("kernel image", a.free(Frame(0x100)), FrameError::Reserved),
            ("multiboot info", a.free(Frame(0x180)), FrameError::Reserved),
            ("metadata", a.free(p.metadata().start), FrameError::Reserved),
            ("hole", a.free(Frame(0xFE0)), FrameError::Unmanaged),
            ("inside a run", a.free(Frame(run.0 + 5)), FrameError::BadRun),
            (
                "run too short",
                a.free_contiguous(run, 4),
                FrameError::BadRun,
            ),
            (
                "run too long",
                a.free_contiguous(run, 8),
                FrameError::BadRun,
            ),
            (
                "the tail given back",
                a.free(Frame(run.0 + 6)),
                FrameError::AlreadyFree,
            ),
        ];
        for (what, got, want) in cases {
            assert_eq!(got, Err(want), "{what}");
            assert!(a.snapshot() == before, "{what} changed the allocator");
        }
        assert_eq!(
            a.free_address(crate::mm::PhysAddr(single.start_address().0 | 0x10)),
            Err(FrameError::Unaligned)
        );
        assert!(a.snapshot() == before);
        a.free(single).unwrap();
        assert_eq!(a.free(single), Err(FrameError::AlreadyFree));
        a.free_contiguous(run, 6).unwrap();
        a.check().unwrap();
    }

    #[test]
    fn draw_orders_matches_the_state() {
        let (p, mut m) = one_block_plan();
        let mut a = BuddyFrameAllocator::new(&p, m.bytes()).unwrap();
        a.allocate().unwrap();
        let mut s = alloc::string::String::new();
        a.draw_orders(&mut s, Frame(0x400), 16, 0).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "order  0 #.xxxxxxxxxxxxxx   1");
        assert_eq!(lines[1], "order  1 # . x x x x x x    1");
        assert_eq!(lines[2], "order  2 #   .   x   x      1");
        assert_eq!(lines[4], "order  4 #                  0");
        assert_eq!(
            lines.len(),
            5,
            "orders whose blocks are wider than the window stop"
        );
    }

    #[test]
    fn dump_lists_each_order() {
        let p = qemu_plan(16, PmmChoice::Buddy);
        let mut m = MetaBuf::new(&p);
        let a = BuddyFrameAllocator::new(&p, m.bytes()).unwrap();
        let mut s = alloc::string::String::new();
        a.dump(&mut s).unwrap();
        assert!(s.starts_with(&format!("buddy: {} frames managed", p.usable_frames())));
        assert_eq!(s.lines().count(), 1 + ORDERS);
        assert!(s.contains("order 10 (4096 KiB):     2 free"), "{s}");
    }

    impl Soakable for BuddyFrameAllocator<'_> {
        fn snap(&self) -> Vec<u32> {
            self.snapshot()
        }
        fn integrity(&self) -> Result<(), crate::mm::frame::FrameCheckError> {
            self.check()
        }
    }

    /// Model test; at the end every free list is back to the initial maximal blocks.
    #[test]
    fn buddy_soak_against_a_model_merges_back() {
        let p = qemu_plan(16, PmmChoice::Buddy);
        let mut m = MetaBuf::new(&p);
        let mut a = BuddyFrameAllocator::new(&p, m.bytes()).unwrap();
        let initial = a.free_sets();
        let initial_counts = a.free_blocks_per_order();
        // Every time everything is free again, and at the end, the lists hold
        // exactly the initial maximal blocks.
        let st = soak(&mut a, &p, 0xB0DD7, soak_ops(150_000), true, |a| {
            assert_eq!(a.free_blocks_per_order(), initial_counts);
            assert!(a.free_sets() == initial, "free lists did not merge back");
        });
        assert!(st.drains > 0 || soak_ops(150_000) < 50_000);
    }

    #[test]
    fn qemu_3g_builds_and_merges_back() {
        // 3 GiB; 64 MiB and fewer frames under Miri.
        let p = qemu_plan(miri_or(3072, 64) as u64, PmmChoice::Buddy);
        let singles = miri_or(5000, 400);
        let mut m = MetaBuf::new(&p);
        let mut a = BuddyFrameAllocator::new(&p, m.bytes()).unwrap();
        let initial = a.free_sets();
        let mut got = Vec::new();
        for _ in 0..singles {
            got.push(a.allocate().unwrap());
        }
        got.push(a.allocate_contiguous(1000, 1024).unwrap());
        for f in got.drain(..singles) {
            a.free(f).unwrap();
        }
        a.free_contiguous(got[0], 1000).unwrap();
        assert!(a.free_sets() == initial);
        a.check().unwrap();
    }
}

/// The pictures in docs/modules/04-physical-memory.md are this code's output;
/// this test keeps them true.
#[cfg(test)]
mod doc_pictures {
    use super::*;
    use crate::mm::frame::testmaps::*;
    use alloc::string::String;

    const DOC: &str = include_str!("../../../docs/modules/04-physical-memory.md");

    fn assert_in_doc(picture: &str) {
        for line in picture.lines() {
            assert!(DOC.contains(line), "doc lacks the line {line:?}");
        }
    }

    #[test]
    fn doc_pictures_match_the_allocator() {
        let p = qemu_plan(128, PmmChoice::Buddy);
        let mut m = MetaBuf::new(&p);
        let mut a = BuddyFrameAllocator::new(&p, m.bytes()).unwrap();
        let mut s = String::new();
        a.draw_orders(&mut s, Frame(0), 1024, 4).unwrap();
        a.draw_orders(&mut s, Frame(0x1C0), 64, 0).unwrap();
        assert_eq!(a.allocate(), Some(Frame(0x1D4)));
        assert_eq!(a.allocate_contiguous(3, 1), Some(Frame(0x1D8)));
        a.draw_orders(&mut s, Frame(0x1C0), 64, 0).unwrap();
        assert_in_doc(&s);
        let mut r = String::new();
        crate::mm::frame::report::write_frames(
            &mut r,
            &crate::mm::frame::report::FrameCounts {
                name: "buddy",
                total: a.total_count(),
                free: a.total_count(),
                out_of_reach: 0,
            },
            &p,
        )
        .unwrap();
        assert_in_doc(&r);
    }
}
