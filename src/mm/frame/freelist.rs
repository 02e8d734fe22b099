//! The free-list frame allocator: xv6's `kalloc`, seed 002's free-page markers.
//!
//! Each free frame begins with a marker that links it to the next and the
//! previous free frame, so the list costs no memory of its own; allocating
//! pops the head, freeing pushes (both O(1)):
//!
//! ```text
//!   head ──> ┌frame 0x191┐    ┌frame 0x192┐    ┌frame 0x193┐
//!            │next 0x192 │──> │next 0x193 │──> │next  NIL  │
//!            │prev  NIL  │ <──│prev 0x191 │ <──│prev 0x192 │
//!            └───────────┘    └───────────┘    └───────────┘
//!   marker = { next: u32 frame number, prev: u32 frame number } at offset 0
//! ```
//!
//! The price: the allocator must be able to write every free frame, so it
//! manages only frames below `reach` (in the kernel, the 768 MiB linear
//! space); the rest of RAM is left out and reported. Frame numbers, not
//! pointers, are stored, so the same list works over [`SimMemory`] on the
//! host. The two links make unlinking any frame O(1), which contiguous runs
//! need: a run is found in the run bitmaps (`runs.rs`), which also catch a
//! double free, a wrong run, or a frame that was never on the list, things
//! xv6's `kfree` cannot see.
//!
//! [`SimMemory`]: crate::mm::phys::SimMemory

use super::check::FrameCheckError;
use super::meta::{self, Carver, InitError};
use super::plan::{FramePlan, FrameRange, PmmChoice};
use super::runs::RunMap;
use super::{FrameAllocator, FrameError, ORDERS, normalize_align};
use crate::mm::addr::Frame;
use crate::mm::phys::PhysMemory;
use core::fmt;

/// The end of the list.
const NIL: u32 = u32::MAX;

/// Metadata bytes for a span of `span_frames` frames (2 bits per frame; the
/// list itself lives in the free frames).
pub const fn metadata_bytes(span_frames: usize) -> usize {
    meta::freelist_metadata_bytes(span_frames)
}

/// A doubly linked list of free frames, threaded through the frames themselves.
pub struct FreeListFrameAllocator<'a, M: PhysMemory> {
    plan: FramePlan,
    mem: M,
    reach: u32,
    total: usize,
    runs: RunMap<'a>,
    head: u32,
}

impl<'a, M: PhysMemory> FreeListFrameAllocator<'a, M> {
    /// An allocator over the usable frames of `plan` below `reach` (frames
    /// `mem` can write), with its run bitmaps in `meta`. Writes a marker into
    /// every managed frame: O(frames); the list starts at the lowest frame.
    pub fn new(
        plan: &FramePlan,
        meta: &'a mut [u8],
        mem: M,
        reach: Frame,
    ) -> Result<Self, InitError> {
        if plan.choice() != PmmChoice::FreeList {
            return Err(InitError::WrongPlan);
        }
        let span = plan.span().len();
        let mut carver = Carver::new(meta, metadata_bytes(span))?;
        let runs = RunMap::new(&mut carver, span, clip(plan, reach.0))?;
        let mut a = FreeListFrameAllocator {
            plan: *plan,
            mem,
            reach: reach.0,
            total: clip(plan, reach.0).map(|r| r.len()).sum(),
            runs,
            head: NIL,
        };
        // Push from the top down so the list hands out the lowest frame first.
        for r in clip(plan, reach.0).rev() {
            for f in (r.start.0..r.end.0).rev() {
                a.push(f);
            }
        }
        Ok(a)
    }

    /// The memory the markers are written to.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// The plan this allocator was built from.
    pub fn plan(&self) -> &FramePlan {
        &self.plan
    }

    /// Frames at or above this one are not managed (out of reach).
    pub fn reach(&self) -> Frame {
        Frame(self.reach)
    }

    /// Usable frames of the plan that this allocator leaves alone because it cannot reach them.
    pub fn unreachable_frames(&self) -> usize {
        self.plan.usable_frames() - self.total
    }

    /// Give back the whole allocation that starts at `start` and return its length.
    pub fn release(&mut self, start: Frame) -> Result<usize, FrameError> {
        self.check_frame(start)?;
        let len = self.runs.validate(start.0 as usize, None)?;
        self.give_back(start.0, len);
        Ok(len)
    }

    /// Number of free blocks per order if this free memory were held by a buddy allocator.
    pub fn free_blocks_per_order(&self) -> [usize; ORDERS] {
        self.runs.free_blocks_per_order()
    }

    /// Integrity check: the run bitmaps are consistent and the list, walked
    /// from the head, holds exactly the free frames, each once, correctly linked.
    pub fn check(&self) -> Result<(), FrameCheckError> {
        self.runs.check(clip(&self.plan, self.reach))?;
        let mut f = self.head;
        let mut prev = NIL;
        let mut n = 0;
        while f != NIL {
            if n >= self.runs.free_count() {
                return Err(FrameCheckError::FreelistTooLong);
            }
            if f >= self.reach || self.plan.check_managed(Frame(f)).is_err() {
                return Err(FrameCheckError::FreelistUnmanaged);
            }
            if self.runs.is_used(f as usize) {
                return Err(FrameCheckError::FreelistAllocated);
            }
            if self.prev_of(f) != prev {
                return Err(FrameCheckError::FreelistBrokenLink);
            }
            prev = f;
            f = self.next_of(f);
            n += 1;
        }
        if n != self.runs.free_count() {
            return Err(FrameCheckError::FreelistTooShort);
        }
        Ok(())
    }

    /// Write a summary and the first `count` frames of the list.
    pub fn dump(&self, out: &mut impl fmt::Write, count: usize) -> fmt::Result {
        writeln!(
            out,
            "freelist: {} frames managed (below {}), {} free, {} out of reach",
            self.total,
            Frame(self.reach).start_address(),
            self.free_count(),
            self.unreachable_frames()
        )?;
        write!(out, "head")?;
        let mut f = self.head;
        for _ in 0..count {
            if f == NIL {
                break;
            }
            write!(out, " -> {}", Frame(f).start_address())?;
            f = self.next_of(f);
        }
        writeln!(out, "{}", if f == NIL { " -> NIL" } else { " -> ..." })
    }

    fn check_frame(&self, f: Frame) -> Result<(), FrameError> {
        self.plan.check_managed(f)?;
        if f.0 >= self.reach {
            return Err(FrameError::Unmanaged);
        }
        Ok(())
    }

    /// The marker at the start of free frame `f`: word 0 is `next`, word 1 is `prev`.
    fn marker(&self, f: u32) -> *mut u32 {
        self.mem.frame_ptr(Frame(f)).cast::<u32>()
    }
    fn next_of(&self, f: u32) -> u32 {
        // SAFETY: `f` is a managed frame below `reach`, so `frame_ptr` gives
        // PAGE_SIZE writable bytes; a free frame's first 8 bytes belong to us.
        unsafe { self.marker(f).read_unaligned() }
    }
    fn prev_of(&self, f: u32) -> u32 {
        // SAFETY: as in `next_of`; word 1 is inside the frame.
        unsafe { self.marker(f).add(1).read_unaligned() }
    }
    fn set_next(&mut self, f: u32, v: u32) {
        // SAFETY: as in `next_of`.
        unsafe { self.marker(f).write_unaligned(v) }
    }
    fn set_prev(&mut self, f: u32, v: u32) {
        // SAFETY: as in `prev_of`.
        unsafe { self.marker(f).add(1).write_unaligned(v) }
    }

    fn push(&mut self, f: u32) {
        let old = self.head;
        self.set_next(f, old);
        self.set_prev(f, NIL);
        if old != NIL {
            self.set_prev(old, f);
        }
        self.head = f;
    }

    fn unlink(&mut self, f: u32) {
        let (n, p) = (self.next_of(f), self.prev_of(f));
        if p == NIL {
            self.head = n;
        } else {
            self.set_next(p, n);
        }
        if n != NIL {
            self.set_prev(n, p);
        }
    }

    fn give_back(&mut self, s: u32, len: usize) {
        self.runs.unmark(s as usize, len);
        for f in (s..s + len as u32).rev() {
            self.push(f);
        }
    }

    #[cfg(test)]
    pub(crate) fn snapshot(&self) -> alloc::vec::Vec<u32> {
        let mut v = self.runs.snapshot();
        v.push(self.head);
        let mut f = self.head;
        while f != NIL && v.len() < 1 << 24 {
            v.push(self.prev_of(f));
            f = self.next_of(f);
            v.push(f);
        }
        v
    }
}

/// The usable ranges of `plan`, cut at frame `reach`.
fn clip(plan: &FramePlan, reach: u32) -> impl DoubleEndedIterator<Item = FrameRange> + '_ {
    plan.usable().iter().filter_map(move |r| {
        let end = r.end.0.min(reach);
        (r.start.0 < end).then(|| FrameRange::new(r.start.0, end))
    })
}

impl<M: PhysMemory> FrameAllocator for FreeListFrameAllocator<'_, M> {
    fn name(&self) -> &'static str {
        "freelist"
    }

    fn allocate(&mut self) -> Option<Frame> {
        let f = self.head;
        if f == NIL {
            return None;
        }
        let n = self.next_of(f);
        self.head = n;
        if n != NIL {
            self.set_prev(n, NIL);
        }
        self.runs.mark(f as usize, 1);
        Some(Frame(f))
    }

    /// Runs are found first-fit in the run bitmap (the list has no order),
    /// then each frame is unlinked in O(1).
    fn allocate_contiguous(&mut self, count: usize, align: usize) -> Option<Frame> {
        let align = normalize_align(align)?;
        if count == 1 && align == 1 {
            return self.allocate();
        }
        let s = self.runs.used().find_clear_run(count, align, 0)?;
        for f in s..s + count {
            self.unlink(f as u32);
        }
        self.runs.mark(s, count);
        Some(Frame(s as u32))
    }

    fn free(&mut self, frame: Frame) -> Result<(), FrameError> {
        self.free_contiguous(frame, 1)
    }

    fn free_contiguous(&mut self, start: Frame, count: usize) -> Result<(), FrameError> {
        self.check_frame(start)?;
        let len = self.runs.validate(start.0 as usize, Some(count))?;
        self.give_back(start.0, len);
        Ok(())
    }

    fn free_count(&self) -> usize {
        self.runs.free_count()
    }

    fn total_count(&self) -> usize {
        self.total
    }

    fn is_allocated(&self, frame: Frame) -> bool {
        self.check_frame(frame).is_ok() && self.runs.is_used(frame.0 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::PhysAddr;
    use crate::mm::frame::testmaps::*;
    use crate::mm::frame::testmaps::{Soakable, soak};
    use crate::mm::phys::SimMemory;
    use crate::testutil::{miri_or, soak_ops};
    use alloc::vec::Vec;

    fn build(mib: u64, sim_frames: usize) -> (FramePlan, MetaBuf, SimMemory) {
        let p = qemu_plan(mib, PmmChoice::FreeList);
        let m = MetaBuf::new(&p);
        (p, m, SimMemory::new(sim_frames))
    }

    #[test]
    fn pops_lowest_first_and_links_live_in_the_frames() {
        let (p, mut m, mem) = build(16, 0xFE0);
        let mut a = FreeListFrameAllocator::new(&p, m.bytes(), mem, Frame(0xFE0)).unwrap();
        let first = p.usable()[0].start;
        assert_eq!(a.total_count(), p.usable_frames());
        // The marker of the first free frame points at the next one.
        let at = first.start_address();
        assert_eq!(a.memory().read_u32(at), first.0 + 1);
        assert_eq!(a.memory().read_u32(PhysAddr(at.0 + 4)), NIL);
        assert_eq!(a.allocate(), Some(first));
        assert_eq!(a.allocate(), Some(Frame(first.0 + 1)));
        // LIFO: a freed frame comes back first.
        a.free(first).unwrap();
        assert_eq!(a.allocate(), Some(first));
        a.check().unwrap();
    }

    #[test]
    fn runs_are_unlinked_from_the_middle() {
        let (p, mut m, mem) = build(16, 0xFE0);
        let mut a = FreeListFrameAllocator::new(&p, m.bytes(), mem, Frame(0xFE0)).unwrap();
        let r = a.allocate_contiguous(16, 16).unwrap();
        assert_eq!(r.0 % 16, 0);
        assert_eq!(a.free_count(), p.usable_frames() - 16);
        a.check().unwrap();
        assert_eq!(a.free_contiguous(r, 15), Err(FrameError::BadRun));
        assert_eq!(a.release(r), Ok(16));
        a.check().unwrap();
        assert_eq!(a.allocate_contiguous(4, 3), None);
    }

    #[test]
    fn takes_every_frame_then_none() {
        let (p, mut m, mem) = build(16, 0xFE0);
        let mut a = FreeListFrameAllocator::new(&p, m.bytes(), mem, Frame(0xFE0)).unwrap();
        let mut got: Vec<Frame> = core::iter::from_fn(|| a.allocate()).collect();
        assert_eq!(got.len(), p.usable_frames());
        got.dedup();
        assert_eq!(got.len(), p.usable_frames());
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "handed out in address order"
        );
        assert_eq!(a.free_count(), 0);
        a.check().unwrap();
        for f in got {
            a.free(f).unwrap();
        }
        assert_eq!(a.free_count(), p.usable_frames());
        a.check().unwrap();
    }

    #[test]
    fn manages_only_frames_it_can_reach() {
        // 3 GiB of RAM but only the first 32 MiB writable (under Miri, 64
        // MiB of RAM and the first 8 MiB: every reachable frame is walked).
        let reach = miri_or(0x2000, 0x800) as u32;
        let (p, mut m, mem) = build(miri_or(3072, 64) as u64, reach as usize);
        let mut a = FreeListFrameAllocator::new(&p, m.bytes(), mem, Frame(reach)).unwrap();
        let below: usize = p
            .usable()
            .iter()
            .map(|r| r.len().min((reach.saturating_sub(r.start.0)) as usize))
            .sum();
        assert_eq!(a.total_count(), below);
        assert_eq!(a.unreachable_frames(), p.usable_frames() - below);
        assert_eq!(a.free(Frame(reach)), Err(FrameError::Unmanaged));
        assert!(!a.is_allocated(Frame(reach + 5)));
        let all: Vec<Frame> = core::iter::from_fn(|| a.allocate()).collect();
        assert!(all.iter().all(|f| f.0 < reach));
        assert_eq!(a.allocate_contiguous(2, 1), None);
        a.check().unwrap();
    }

    #[test]
    fn bad_frees_name_the_cause_and_change_nothing() {
        // Frames below 0xF00 reached (0x400 under Miri: every check walks them).
        let reach = miri_or(0xF00, 0x400) as u32;
        let (p, mut m, mem) = build(16, 0xFE0);
        let mut a = FreeListFrameAllocator::new(&p, m.bytes(), mem, Frame(reach)).unwrap();
        let single = a.allocate().unwrap();
        let run = a.allocate_contiguous(3, 1).unwrap();
        let before = a.snapshot();
        let cases: [(&str, Result<(), FrameError>, FrameError); 8] = [
            (
                "double free",
                a.free(Frame(reach - 0x100)),
                FrameError::AlreadyFree,
            ),
            ("kernel image", a.free(Frame(0x120)), FrameError::Reserved),
            ("boot module", a.free(Frame(0x185)), FrameError::Reserved),
            (
                "out of reach",
                a.free(Frame(reach + 0x10)),
                FrameError::Unmanaged,
            ),
            ("hole", a.free(Frame(0x2000)), FrameError::Unmanaged),
            ("inside a run", a.free(Frame(run.0 + 2)), FrameError::BadRun),
            (
                "run too long",
                a.free_contiguous(run, 4),
                FrameError::BadRun,
            ),
            (
                "single as run",
                a.free_contiguous(single, 3),
                FrameError::BadRun,
            ),
        ];
        for (what, got, want) in cases {
            assert_eq!(got, Err(want), "{what}");
            assert!(a.snapshot() == before, "{what} changed the allocator");
        }
        assert_eq!(
            a.free_contiguous_address(PhysAddr(run.start_address().0 + 1), 3),
            Err(FrameError::Unaligned)
        );
        assert!(a.snapshot() == before);
        a.free_contiguous_address(run.start_address(), 3).unwrap();
        a.free(single).unwrap();
        a.check().unwrap();
    }

    impl<M: PhysMemory> Soakable for FreeListFrameAllocator<'_, M> {
        fn snap(&self) -> Vec<u32> {
            self.snapshot()
        }
        fn integrity(&self) -> Result<(), crate::mm::frame::FrameCheckError> {
            self.check()
        }
        fn limit(&self) -> u32 {
            self.reach
        }
    }

    #[test]
    fn freelist_soak_against_a_model() {
        // Reach cut below the top of RAM so the out-of-reach path is
        // exercised (lower under Miri: a bad free compares snapshots of the
        // whole list).
        let reach = miri_or(0xE00, 0x300) as u32;
        let (p, mut m, mem) = build(16, 0xFE0);
        let mut a = FreeListFrameAllocator::new(&p, m.bytes(), mem, Frame(reach)).unwrap();
        let total = a.total_count();
        soak(&mut a, &p, 0xF1EE, soak_ops(150_000), true, |a| {
            // Everything is back on the list.
            assert_eq!(a.free_count(), total);
            a.check().unwrap();
        });
    }
}
