//! The active PMM, whichever of the three the command line picked.
//!
//! ```text
//!   pmm=bitmap|buddy|freelist ─> PmmChoice ─> plan() ─> AnyFrameAllocator::new(plan, meta, mem)
//!                                                       ├ Bitmap(BitmapFrameAllocator)
//!                                                       ├ Buddy(BuddyFrameAllocator)
//!                                                       └ FreeList(FreeListFrameAllocator)
//! ```

use super::check::FrameCheckError;
use super::plan::{FramePlan, LINEAR_FRAMES, PmmChoice};
use super::report::{FrameCounts, write_buddyinfo, write_frames, write_reach_summary};
use super::{
    BitmapFrameAllocator, BuddyFrameAllocator, FrameAllocator, FrameError, FreeListFrameAllocator,
    InitError, ORDERS,
};
use crate::mm::addr::{Frame, PhysAddr};
use crate::mm::phys::PhysMemory;
use core::fmt;

/// One of the three frame allocators, chosen at boot. `M` is the memory the
/// free list writes its markers to (unused by the other two).
#[allow(
    clippy::large_enum_variant,
    reason = "one instance, built before any heap exists, so it cannot be boxed"
)]
pub enum AnyFrameAllocator<'a, M: PhysMemory> {
    /// Next-fit bitmap.
    Bitmap(BitmapFrameAllocator<'a>),
    /// Binary buddy, orders 0..=10 (the default).
    Buddy(BuddyFrameAllocator<'a>),
    /// Free list threaded through the free frames.
    FreeList(FreeListFrameAllocator<'a, M>),
}

/// Call `$body` with `$a` bound to whichever allocator is inside.
macro_rules! each {
    ($self:expr, $a:ident => $body:expr) => {
        match $self {
            AnyFrameAllocator::Bitmap($a) => $body,
            AnyFrameAllocator::Buddy($a) => $body,
            AnyFrameAllocator::FreeList($a) => $body,
        }
    };
}

impl<'a, M: PhysMemory> AnyFrameAllocator<'a, M> {
    /// Build the allocator `plan` was made for (`plan.choice()`), with its
    /// metadata in `meta` (`plan.metadata_bytes()` bytes, in the kernel the
    /// linear-space view of `plan.metadata()`). The free list manages frames
    /// below 768 MiB, the ones `mem` reaches through the linear space.
    pub fn new(plan: &FramePlan, meta: &'a mut [u8], mem: M) -> Result<Self, InitError> {
        Self::with_reach(plan, meta, mem, Frame(LINEAR_FRAMES))
    }

    /// As [`new`](Self::new), with the free list's reach given (frames at or
    /// above `reach` are left alone by the free list; ignored by the others).
    pub fn with_reach(
        plan: &FramePlan,
        meta: &'a mut [u8],
        mem: M,
        reach: Frame,
    ) -> Result<Self, InitError> {
        Ok(match plan.choice() {
            PmmChoice::Bitmap => AnyFrameAllocator::Bitmap(BitmapFrameAllocator::new(plan, meta)?),
            PmmChoice::Buddy => AnyFrameAllocator::Buddy(BuddyFrameAllocator::new(plan, meta)?),
            PmmChoice::FreeList => {
                AnyFrameAllocator::FreeList(FreeListFrameAllocator::new(plan, meta, mem, reach)?)
            }
        })
    }

    /// The plan the allocator was built from.
    pub fn plan(&self) -> &FramePlan {
        each!(self, a => a.plan())
    }

    /// Give back the whole allocation that starts at `start` (one frame or a
    /// run) and return its length in frames.
    pub fn release(&mut self, start: Frame) -> Result<usize, FrameError> {
        each!(self, a => a.release(start))
    }

    /// [`release`](Self::release) by physical address (`ffree <addr>`); an
    /// address that is not the first byte of a frame is `Unaligned`.
    pub fn release_address(&mut self, addr: PhysAddr) -> Result<usize, FrameError> {
        if !addr.is_page_aligned() {
            return Err(FrameError::Unaligned);
        }
        self.release(Frame::containing_address(addr))
    }

    /// Free blocks per order: the buddy's lists, or for the others the
    /// blocks a buddy would hold for the same free memory.
    pub fn free_blocks_per_order(&self) -> [usize; ORDERS] {
        each!(self, a => a.free_blocks_per_order())
    }

    /// Usable frames the allocator leaves alone because it cannot reach them.
    pub fn out_of_reach_frames(&self) -> usize {
        match self {
            AnyFrameAllocator::FreeList(a) => a.unreachable_frames(),
            _ => 0,
        }
    }

    /// The allocator's integrity check; `Err` names the first broken invariant.
    pub fn check(&self) -> Result<(), FrameCheckError> {
        each!(self, a => a.check())
    }

    /// The allocator's own dump (bitmap: the map of the first managed range's
    /// first 256 frames; buddy: its lists; free list: the first 8 frames of the list).
    pub fn dump(&self, out: &mut impl fmt::Write) -> fmt::Result {
        match self {
            AnyFrameAllocator::Bitmap(a) => {
                let from = a.plan().usable().first().map_or(Frame(0), |r| r.start);
                a.dump(out, from, 256)
            }
            AnyFrameAllocator::Buddy(a) => a.dump(out),
            AnyFrameAllocator::FreeList(a) => a.dump(out, 8),
        }
    }

    /// The counts the `frames` report prints.
    pub fn counts(&self) -> FrameCounts {
        FrameCounts {
            name: self.name(),
            total: self.total_count(),
            free: self.free_count(),
            out_of_reach: self.out_of_reach_frames(),
        }
    }

    /// Write the `frames` report.
    pub fn report_frames(&self, out: &mut impl fmt::Write) -> fmt::Result {
        write_frames(out, &self.counts(), self.plan())
    }

    /// Write the boot line of an allocator with memory out of its reach (the
    /// free list; see [`write_reach_summary`]); nothing for the others.
    pub fn report_reach(&self, out: &mut impl fmt::Write) -> fmt::Result {
        match self {
            AnyFrameAllocator::FreeList(_) => write_reach_summary(out, &self.counts(), self.plan()),
            _ => Ok(()),
        }
    }

    /// Write the `buddyinfo` report (Linux's /proc/buddyinfo layout).
    pub fn report_buddyinfo(&self, out: &mut impl fmt::Write) -> fmt::Result {
        write_buddyinfo(out, &self.free_blocks_per_order())
    }
}

impl<M: PhysMemory> FrameAllocator for AnyFrameAllocator<'_, M> {
    fn name(&self) -> &'static str {
        each!(self, a => a.name())
    }
    fn allocate(&mut self) -> Option<Frame> {
        each!(self, a => a.allocate())
    }
    fn allocate_contiguous(&mut self, count: usize, align: usize) -> Option<Frame> {
        each!(self, a => a.allocate_contiguous(count, align))
    }
    fn free(&mut self, frame: Frame) -> Result<(), FrameError> {
        each!(self, a => a.free(frame))
    }
    fn free_contiguous(&mut self, start: Frame, count: usize) -> Result<(), FrameError> {
        each!(self, a => a.free_contiguous(start, count))
    }
    fn free_count(&self) -> usize {
        each!(self, a => a.free_count())
    }
    fn total_count(&self) -> usize {
        each!(self, a => a.total_count())
    }
    fn is_allocated(&self, frame: Frame) -> bool {
        each!(self, a => a.is_allocated(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::frame::testmaps::*;
    use crate::mm::phys::SimMemory;
    use alloc::string::String;

    /// On a fresh 128 MiB machine (8 MiB under Miri, whose interpreter
    /// would take an hour over 32,768 frames of simulated memory) every
    /// allocator reports its plan's managed frames, and `buddyinfo` shows
    /// the maximal aligned blocks of the managed ranges (the buddy's lists;
    /// the others' buddy view).
    #[test]
    fn every_choice_reports_a_fresh_machine() {
        for choice in [PmmChoice::Bitmap, PmmChoice::Buddy, PmmChoice::FreeList] {
            let p = qemu_plan(crate::testutil::miri_or(128, 8) as u64, choice);
            let mut m = MetaBuf::new(&p);
            let mem = SimMemory::new(p.span().len());
            let mut a = AnyFrameAllocator::new(&p, m.bytes(), mem).unwrap();
            assert_eq!(a.name(), choice.name());
            a.check().unwrap();
            let mut s = String::new();
            a.report_frames(&mut s).unwrap();
            assert!(
                s.starts_with(&format!("allocator  {}\n", choice.name())),
                "{s}"
            );
            assert!(s.contains(&format!("managed    {:>7} frames", p.usable_frames())));
            let want = initial_blocks(&p);
            assert_eq!(a.free_blocks_per_order(), want, "{}", choice.name());
            let mut b = String::new();
            a.report_buddyinfo(&mut b).unwrap();
            let mut w = String::new();
            write_buddyinfo(&mut w, &want).unwrap();
            assert_eq!(b, w);
            assert!(b.starts_with("Node 0, zone   Normal "));
            // falloc 3 / ffree <addr> through the address API.
            let r = a.allocate_contiguous(3, 1).unwrap();
            assert_eq!(
                a.release_address(PhysAddr(r.start_address().0 + 8)),
                Err(FrameError::Unaligned)
            );
            assert_eq!(a.release_address(r.start_address()), Ok(3));
            assert_eq!(
                a.release_address(r.start_address()),
                Err(FrameError::AlreadyFree)
            );
            let mut d = String::new();
            a.dump(&mut d).unwrap();
            assert!(d.starts_with(choice.name()), "{d}");
        }
    }

    #[test]
    fn constructor_uses_the_plans_choice_and_checks_the_slice() {
        let p = qemu_plan(16, PmmChoice::Buddy);
        let mut small = alloc::vec![0u8; 16];
        assert!(matches!(
            AnyFrameAllocator::new(&p, &mut small, SimMemory::new(1)),
            Err(InitError::MetadataTooSmall { .. })
        ));
        let mut m = MetaBuf::new(&p);
        let a = AnyFrameAllocator::new(&p, m.bytes(), SimMemory::new(1)).unwrap();
        assert!(matches!(a, AnyFrameAllocator::Buddy(_)));
        assert_eq!(a.out_of_reach_frames(), 0);
    }
}
