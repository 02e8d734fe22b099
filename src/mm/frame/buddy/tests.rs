//! Host tests of the buddy frame allocator: splitting and merging, runs
//! that are not powers of two, bad frees, the pictures, QEMU's memory maps
//! and a soak against a model.

use super::*;
use crate::mm::addr::Frame;
use crate::mm::frame::plan::{MemoryKind, MemoryRegion, plan};
use crate::mm::frame::testmaps::*;
use crate::mm::frame::testmaps::{Soakable, soak};
use crate::mm::frame::{FrameAllocator, FrameError};
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
