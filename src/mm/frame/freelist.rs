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

    /// Put free frame `f` at the head of the list (freeing, and `new`).
    fn push(&mut self, f: u32) {
        // course: lab 04
        let old = self.head;
        self.set_next(f, old);
        self.set_prev(f, NIL);
        if old != NIL {
            self.set_prev(old, f);
        }
        self.head = f;
        // course: stub
        // // LAB 04 (free): make frame `f` the new head of the free list.
        // // Its marker (the first 8 bytes of the frame itself) gets `next` =
        // // the old head and `prev` = NIL (`self.set_next`, `self.set_prev`);
        // // the old head, if there is one (not NIL), gets `prev` = f; then
        // // `self.head` = f. `new` pushes every managed frame, so until this
        // // works the list stays empty and nothing can be allocated.
        // let _ = (f, self.head, NIL, Self::set_next, Self::set_prev);
        // course: end
    }

    /// Take free frame `f` off the list, wherever it is (for runs).
    fn unlink(&mut self, f: u32) {
        // course: lab 04
        let (n, p) = (self.next_of(f), self.prev_of(f));
        if p == NIL {
            self.head = n;
        } else {
            self.set_next(p, n);
        }
        if n != NIL {
            self.set_prev(n, p);
        }
        // course: stub
        // // LAB 04 (a run's frames): take frame `f` off the list in O(1): read
        // // its `next` and `prev` (`self.next_of`, `self.prev_of`); the frame
        // // before it (or `self.head`, when `prev` is NIL) now points to
        // // `next`, and the frame after it (unless `next` is NIL) back to
        // // `prev`.
        // let _ = (f, Self::next_of, Self::prev_of, Self::set_next);
        // course: end
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
        // course: lab 04
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
        // course: stub
        // // LAB 04 (allocate): pop the head of the free list, xv6's `kalloc`.
        // // No head (NIL): `None`. Otherwise the head's `next` becomes the
        // // head, and its `prev` (unless it is NIL) becomes NIL. Mark the
        // // frame used in the run bitmaps (`self.runs.mark(f as usize, 1)`:
        // // `free` checks them to refuse a double free) and return it.
        // let _ = (self.head, NIL);
        // None
        // course: end
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
mod tests;
