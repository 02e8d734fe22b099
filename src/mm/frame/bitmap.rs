//! The bitmap frame allocator: FreeNOS's `BitAllocator`, one bit per frame.
//!
//! ```text
//!   frame:   0 ... 0xff 0x100 ... 0x190 0x191 ...         0x7fdf
//!   used:    ##########  #########...# ..#.##.....  ...   ......
//!            low memory  kernel, boot  free and allocated frames
//!                                      ^ cursor: start of the last allocation
//!
//!   allocate()                 first free bit from the cursor, wrapping once (next fit)
//!   allocate_contiguous(n, a)  first run of n free bits starting at a multiple of a,
//!                              from the cursor, wrapping once
//!   allocate_at(f)             take exactly frame f
//!   free_contiguous(f, n)      gives back the whole run (FreeNOS gave back only
//!                              its first chunk); a wrong start or length is BadRun
//! ```
//!
//! Like FreeNOS the search starts at the last allocated bit, so successive
//! allocations walk up through memory and freed frames are reused only after
//! the cursor wraps. Runs are tracked by a second "head" bitmap (see
//! `runs.rs`): 2 bits of metadata per frame.

use super::check::FrameCheckError;
use super::meta::{self, Carver, InitError};
use super::plan::{FramePlan, PmmChoice};
use super::runs::RunMap;
use super::{FrameAllocator, FrameError, ORDERS, normalize_align};
use crate::mm::addr::Frame;
use core::fmt;

/// Metadata bytes for a span of `span_frames` frames (2 bits per frame).
pub const fn metadata_bytes(span_frames: usize) -> usize {
    meta::bitmap_metadata_bytes(span_frames)
}

/// A next-fit bitmap frame allocator over caller-given metadata.
pub struct BitmapFrameAllocator<'a> {
    plan: FramePlan,
    runs: RunMap<'a>,
    cursor: usize,
}

impl<'a> BitmapFrameAllocator<'a> {
    /// An allocator managing the usable frames of `plan`, keeping its bitmaps
    /// in `meta` (at least `plan.metadata_bytes()` bytes, any alignment).
    pub fn new(plan: &FramePlan, meta: &'a mut [u8]) -> Result<Self, InitError> {
        if plan.choice() != PmmChoice::Bitmap {
            return Err(InitError::WrongPlan);
        }
        let span = plan.span().len();
        let mut carver = Carver::new(meta, metadata_bytes(span))?;
        let runs = RunMap::new(&mut carver, span, plan.usable().iter().copied())?;
        Ok(BitmapFrameAllocator {
            plan: *plan,
            runs,
            cursor: 0,
        })
    }

    /// The plan this allocator was built from.
    pub fn plan(&self) -> &FramePlan {
        &self.plan
    }

    /// Where the next search starts (FreeNOS's `m_lastBit`).
    pub fn cursor(&self) -> Frame {
        Frame(self.cursor as u32)
    }

    /// Take exactly `frame`. Errors: `Reserved`, `Unmanaged`, `InUse`. Does not move the cursor.
    pub fn allocate_at(&mut self, frame: Frame) -> Result<(), FrameError> {
        self.plan.check_managed(frame)?;
        let i = frame.0 as usize;
        if self.runs.is_used(i) {
            return Err(FrameError::InUse);
        }
        self.runs.mark(i, 1);
        Ok(())
    }

    /// Give back the whole allocation that starts at `start`, whatever its
    /// length, and return that length (FreeNOS's `release`, done right).
    pub fn release(&mut self, start: Frame) -> Result<usize, FrameError> {
        self.plan.check_managed(start)?;
        let len = self.runs.validate(start.0 as usize, None)?;
        self.runs.unmark(start.0 as usize, len);
        Ok(len)
    }

    /// Number of free blocks per order if this free memory were held by a buddy allocator.
    pub fn free_blocks_per_order(&self) -> [usize; ORDERS] {
        self.runs.free_blocks_per_order()
    }

    /// Integrity check: bitmap counts, heads, unmanaged frames marked, cursor in range.
    pub fn check(&self) -> Result<(), FrameCheckError> {
        if self.cursor > self.runs.span() {
            return Err(FrameCheckError::CursorPastSpan);
        }
        self.runs.check(self.plan.usable().iter().copied())
    }

    /// Write a summary and the bitmap of frames `from..from + count`
    /// (`#` used or not managed, `.` free).
    pub fn dump(&self, out: &mut impl fmt::Write, from: Frame, count: usize) -> fmt::Result {
        writeln!(
            out,
            "bitmap: {} frames in span, {} managed, {} free, cursor {:#x}",
            self.runs.span(),
            self.total_count(),
            self.free_count(),
            self.cursor
        )?;
        self.runs.used().dump(out, from.0 as usize, count)
    }

    #[cfg(test)]
    pub(crate) fn snapshot(&self) -> alloc::vec::Vec<u32> {
        let mut v = self.runs.snapshot();
        v.push(self.cursor as u32);
        v
    }
}

impl FrameAllocator for BitmapFrameAllocator<'_> {
    fn name(&self) -> &'static str {
        "bitmap"
    }

    fn allocate(&mut self) -> Option<Frame> {
        let i = self.runs.used().find_clear(self.cursor)?;
        self.runs.mark(i, 1);
        self.cursor = i;
        Some(Frame(i as u32))
    }

    fn allocate_contiguous(&mut self, count: usize, align: usize) -> Option<Frame> {
        let align = normalize_align(align)?;
        let s = self.runs.used().find_clear_run(count, align, self.cursor)?;
        self.runs.mark(s, count);
        self.cursor = s;
        Some(Frame(s as u32))
    }

    fn free(&mut self, frame: Frame) -> Result<(), FrameError> {
        self.free_contiguous(frame, 1)
    }

    fn free_contiguous(&mut self, start: Frame, count: usize) -> Result<(), FrameError> {
        self.plan.check_managed(start)?;
        let len = self.runs.validate(start.0 as usize, Some(count))?;
        self.runs.unmark(start.0 as usize, len);
        Ok(())
    }

    fn free_count(&self) -> usize {
        self.runs.free_count()
    }

    fn total_count(&self) -> usize {
        self.plan.usable_frames()
    }

    fn is_allocated(&self, frame: Frame) -> bool {
        self.plan.check_managed(frame).is_ok() && self.runs.is_used(frame.0 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::frame::plan::{MemoryKind, MemoryRegion, plan};
    use crate::mm::frame::testmaps::*;
    use crate::testutil::{miri_or, soak_ops};
    use alloc::vec::Vec;

    /// A small machine: RAM at 1 MiB..1 MiB + 64 frames, nothing reserved
    /// beyond low memory, metadata in the first free frame (0x100).
    fn small_plan() -> FramePlan {
        let map = [MemoryRegion::new(
            0x10_0000,
            64 * 4096,
            MemoryKind::Available,
        )];
        plan(&map, &[], PmmChoice::Bitmap).unwrap()
    }

    #[test]
    fn freenos_allocate() {
        let p = small_plan();
        let mut m = MetaBuf::new(&p);
        let mut a = BitmapFrameAllocator::new(&p, m.bytes()).unwrap();
        assert_eq!(a.total_count(), 63);
        assert_eq!(a.free_count(), 63);
        // Successive allocations walk up from the first free frame.
        for n in 0..10u32 {
            let f = a.allocate().unwrap();
            assert_eq!(f, Frame(0x101 + n));
            assert!(a.is_allocated(f));
        }
        assert_eq!(a.free_count(), 53);
        a.check().unwrap();
    }

    #[test]
    fn freenos_allocate_at() {
        let p = small_plan();
        let mut m = MetaBuf::new(&p);
        let mut a = BitmapFrameAllocator::new(&p, m.bytes()).unwrap();
        a.allocate_at(Frame(0x120)).unwrap();
        assert!(a.is_allocated(Frame(0x120)));
        assert_eq!(a.allocate_at(Frame(0x120)), Err(FrameError::InUse));
        assert_eq!(a.allocate_at(Frame(0x100)), Err(FrameError::Reserved));
        assert_eq!(a.allocate_at(Frame(0x140)), Err(FrameError::Unmanaged));
        assert_eq!(a.free_count(), 62);
        // allocate skips it.
        a.allocate_at(Frame(0x101)).unwrap();
        assert_eq!(a.allocate(), Some(Frame(0x102)));
        a.free(Frame(0x120)).unwrap();
        a.check().unwrap();
    }

    #[test]
    fn freenos_start_from_the_last_allocation() {
        let p = small_plan();
        let mut m = MetaBuf::new(&p);
        let mut a = BitmapFrameAllocator::new(&p, m.bytes()).unwrap();
        let f1 = a.allocate().unwrap();
        let f2 = a.allocate().unwrap();
        let _f3 = a.allocate().unwrap();
        // Freeing an early frame does not pull the search back: next fit.
        a.free(f1).unwrap();
        a.free(f2).unwrap();
        assert_eq!(a.cursor(), Frame(0x103));
        assert_eq!(a.allocate(), Some(Frame(0x104)));
        // Runs search from the cursor too, aligned.
        assert_eq!(a.allocate_contiguous(4, 4), Some(Frame(0x108)));
        // 0x105..0x108 stay behind the cursor; the search goes on to the top.
        for f in 0x10C..0x140 {
            assert_eq!(a.allocate(), Some(Frame(f)));
        }
        // Then it wraps once and finds the freed frames, lowest first.
        assert_eq!(a.allocate(), Some(f1));
        assert_eq!(a.allocate(), Some(f2));
        assert_eq!(a.allocate(), Some(Frame(0x105)));
        a.check().unwrap();
    }

    #[test]
    fn freenos_full() {
        let p = small_plan();
        let mut m = MetaBuf::new(&p);
        let mut a = BitmapFrameAllocator::new(&p, m.bytes()).unwrap();
        let mut got = Vec::new();
        while let Some(f) = a.allocate() {
            got.push(f);
        }
        assert_eq!(got.len(), 63);
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 63, "every frame once");
        assert_eq!(a.free_count(), 0);
        assert_eq!(a.allocate(), None);
        assert_eq!(a.allocate_contiguous(1, 1), None);
        a.check().unwrap();
    }

    #[test]
    fn freenos_release_gives_back_the_whole_run() {
        let p = small_plan();
        let mut m = MetaBuf::new(&p);
        let mut a = BitmapFrameAllocator::new(&p, m.bytes()).unwrap();
        let one = a.allocate().unwrap();
        let run = a.allocate_contiguous(16, 16).unwrap();
        assert_eq!(run, Frame(0x110));
        let after = a.allocate().unwrap();
        assert_eq!(a.free_count(), 63 - 18);
        assert_eq!(a.release(run), Ok(16));
        assert_eq!(a.free_count(), 63 - 2);
        for f in 0x110..0x120 {
            assert!(!a.is_allocated(Frame(f)));
        }
        assert!(a.is_allocated(one) && a.is_allocated(after));
        assert_eq!(a.release(one), Ok(1));
        a.check().unwrap();
    }

    #[test]
    fn bad_frees_name_the_cause_and_change_nothing() {
        let p = qemu_plan(16, PmmChoice::Bitmap);
        let mut m = MetaBuf::new(&p);
        let mut a = BitmapFrameAllocator::new(&p, m.bytes()).unwrap();
        let single = a.allocate().unwrap();
        let run = a.allocate_contiguous(8, 1).unwrap();
        let before = a.snapshot();
        let free_frame = Frame(0x800);
        let cases: [(&str, Result<(), FrameError>, FrameError); 10] = [
            ("double free", a.free(free_frame), FrameError::AlreadyFree),
            ("kernel image", a.free(Frame(0x100)), FrameError::Reserved),
            ("low memory", a.free(Frame(0x10)), FrameError::Reserved),
            ("metadata", a.free(p.metadata().start), FrameError::Reserved),
            ("above RAM", a.free(Frame(0xFE0)), FrameError::Unmanaged),
            ("far above", a.free(Frame(0xF_FFFF)), FrameError::Unmanaged),
            ("inside a run", a.free(Frame(run.0 + 1)), FrameError::BadRun),
            (
                "run too short",
                a.free_contiguous(run, 7),
                FrameError::BadRun,
            ),
            (
                "run too long",
                a.free_contiguous(run, 9),
                FrameError::BadRun,
            ),
            (
                "single as run",
                a.free_contiguous(single, 2),
                FrameError::BadRun,
            ),
        ];
        for (what, got, want) in cases {
            assert_eq!(got, Err(want), "{what}");
            assert_eq!(a.snapshot(), before, "{what} changed the allocator");
        }
        let addr = single.start_address();
        assert_eq!(
            a.free_address(crate::mm::PhysAddr(addr.0 + 4)),
            Err(FrameError::Unaligned)
        );
        assert_eq!(a.free_contiguous(run, 0), Err(FrameError::BadRun));
        assert_eq!(a.release(Frame(run.0 + 2)), Err(FrameError::BadRun));
        assert_eq!(a.snapshot(), before);
        // The right calls still work.
        a.free_address(addr).unwrap();
        a.free_contiguous(run, 8).unwrap();
        assert_eq!(a.free(single), Err(FrameError::AlreadyFree));
        a.check().unwrap();
    }

    #[test]
    fn bad_alignment_and_sizes_give_none() {
        let p = small_plan();
        let mut m = MetaBuf::new(&p);
        let mut a = BitmapFrameAllocator::new(&p, m.bytes()).unwrap();
        assert_eq!(
            a.allocate_contiguous(2, 3),
            None,
            "align not a power of two"
        );
        assert_eq!(a.allocate_contiguous(0, 1), None);
        assert_eq!(a.allocate_contiguous(64, 1), None, "only 63 frames");
        assert_eq!(
            a.allocate_contiguous(32, 64),
            None,
            "64-aligned 32 frames: 0x100 is metadata"
        );
        assert_eq!(
            a.allocate_contiguous(2, 0),
            Some(Frame(0x101)),
            "align 0 means 1"
        );
    }

    #[test]
    fn constructor_refuses_short_metadata_and_wrong_plan() {
        let p = small_plan();
        let mut short = alloc::vec![0u8; p.metadata_bytes() - 1];
        assert!(matches!(
            BitmapFrameAllocator::new(&p, &mut short),
            Err(InitError::MetadataTooSmall { .. })
        ));
        let other = qemu_plan(16, PmmChoice::Buddy);
        let mut m = MetaBuf::new(&other);
        assert_eq!(
            BitmapFrameAllocator::new(&other, m.bytes()).err(),
            Some(InitError::WrongPlan)
        );
    }

    #[test]
    fn qemu_3g_manages_every_usable_frame() {
        // 3 GiB; 64 MiB under Miri (the interpreter walks every bit).
        let p = qemu_plan(miri_or(3072, 64) as u64, PmmChoice::Bitmap);
        let mut m = MetaBuf::new(&p);
        let a = BitmapFrameAllocator::new(&p, m.bytes()).unwrap();
        assert_eq!(a.total_count(), p.usable_frames());
        assert_eq!(a.free_count(), p.usable_frames());
        a.check().unwrap();
        let mut s = alloc::string::String::new();
        // The 8 frames before the end of the metadata are used, the 8 after free.
        let from = p.metadata().end.0 - 8;
        a.dump(&mut s, Frame(from), 16).unwrap();
        assert!(s.contains("cursor 0x0"), "{s}");
        assert!(s.contains(&format!("{from:>8} ########........\n")), "{s}");
    }

    /// Model test: random allocate / allocate_contiguous / allocate_at / free /
    /// bad frees against a map of live runs.
    #[test]
    fn bitmap_soak_against_a_model() {
        let p = qemu_plan(16, PmmChoice::Bitmap);
        let mut m = MetaBuf::new(&p);
        let mut a = BitmapFrameAllocator::new(&p, m.bytes()).unwrap();
        // Empty again, the free memory is exactly the managed ranges again.
        let initial = initial_blocks(&p);
        let st = soak(&mut a, &p, 0xB17_A110C, soak_ops(150_000), true, |a| {
            assert_eq!(a.free_blocks_per_order(), initial)
        });
        assert!(st.at_calls > 0);
    }

    impl Soakable for BitmapFrameAllocator<'_> {
        fn snap(&self) -> Vec<u32> {
            self.snapshot()
        }
        fn integrity(&self) -> Result<(), crate::mm::frame::FrameCheckError> {
            self.check()
        }
        fn try_allocate_at(&mut self, frame: Frame) -> Option<Result<(), FrameError>> {
            Some(self.allocate_at(frame))
        }
    }
}
