//! Tests of the free-list frame allocator (graded by lab 4: kept apart from
//! the code the lab takes out).

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
