//! Host tests of the buddy heap: split, coalesce, the ShompOS scenarios,
//! alignment, every bad input (with a snapshot before and after), growth,
//! in-place resizing, and the model ("soak") tests.

use super::*;
use crate::testutil::{Rng, miri_or, soak_ops};
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;

/// `len` bytes starting on the block grid (9 below a page boundary), kept
/// alive by the returned Vec.
/// (Room for the side table follows: see `heap_over`.)
fn aligned(len: usize) -> (Vec<u8>, *mut u8) {
    let mut v = vec![0u8; BuddyHeap::region_for(len, SMALLEST_SCALE) + MAX_ALIGN];
    let p = grid_base(v.as_mut_ptr());
    (v, p)
}

/// A heap whose blocks cover `len` bytes at `p`; its side table follows them.
fn heap_over(p: *mut u8, len: usize, min: u8, max: u8) -> BuddyHeap {
    // SAFETY: tests keep the buffer (sized by `aligned`) alive for the heap's
    // whole life.
    unsafe { BuddyHeap::new(p, BuddyHeap::region_for(len, min), min, max).unwrap() }
}

/// An arena of `len` bytes of blocks at a grid address, the first `backed`
/// of them handed over, behind the page(s) of side table `with_arena` keeps
/// in front: `(buffer, address of the blocks, heap)`.
fn arena_heap(len: usize, backed: usize, min: u8, max: u8) -> (Vec<u8>, *mut u8, BuddyHeap) {
    let table = BuddyHeap::arena_table_bytes(len + BuddyHeap::arena_table_bytes(len, min), min);
    let (v, p) = aligned(len + table);
    // SAFETY: the buffer outlives the heap; everything in it is memory.
    let h = unsafe { BuddyHeap::with_arena(p, len + table, backed + table, min, max).unwrap() };
    (v, p.wrapping_add(table), h)
}

/// The ShompOS heap: 1 KiB, scales 4..A.
fn shomp() -> (Vec<u8>, BuddyHeap) {
    let (v, p) = aligned(1024);
    let h = heap_over(p, 1024, 4, 10);
    (v, h)
}

type Snapshot = (Vec<BlockInfo>, Vec<Vec<u32>>, FreeCounts);

/// Everything observable about the heap's structure.
fn snapshot(h: &BuddyHeap) -> Snapshot {
    let lists = (h.min_scale().0..=h.max_scale().0)
        .map(|s| h.free_list(Scale(s)).collect())
        .collect();
    (h.blocks().collect(), lists, h.free_counts())
}

fn counts(h: &BuddyHeap) -> Vec<usize> {
    h.free_counts().iter().map(|(_, c)| c).collect()
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

#[test]
fn header_is_nine_bytes_and_payload_follows_it() {
    assert_eq!(HEADER_SIZE, 9);
    let (_v, mut h) = shomp();
    let p = h.allocate(1).unwrap();
    assert_eq!(p.addr().get(), h.start_addr() + 9);
    // The grid is shifted by -9: the payload of every block is aligned to
    // the block's size (up to a page).
    assert_eq!(p.addr().get() % MAX_ALIGN, 0);
    let q = h.allocate(100).unwrap(); // scale 7 at offset 128
    assert_eq!(q.addr().get() - p.addr().get(), 128);
}

#[test]
fn fresh_heap_is_one_free_block() {
    let (_v, h) = shomp();
    let blocks: Vec<_> = h.blocks().collect();
    assert_eq!(blocks.len(), 1);
    assert_eq!(
        (blocks[0].offset, blocks[0].scale, blocks[0].free),
        (0, Scale(10), true)
    );
    assert_eq!(counts(&h), [0, 0, 0, 0, 0, 0, 1]);
    let r = h.check().unwrap();
    assert_eq!((r.blocks, r.free_bytes, r.used_blocks), (1, 1024, 0));
}

#[test]
fn rounding_follows_size_plus_nine() {
    assert_eq!(scale_for(1), Some(Scale(4)));
    assert_eq!(scale_for(7), Some(Scale(4))); // 7 + 9 = 16
    assert_eq!(scale_for(8), Some(Scale(5)));
    assert_eq!(scale_for(23), Some(Scale(5)));
    assert_eq!(scale_for(24), Some(Scale(6)));
    assert_eq!(scale_for(248), Some(Scale(9)));
    assert_eq!(scale_for(1015), Some(Scale(10)));
    assert_eq!(scale_for(0), None);
    let (_v, mut h) = shomp();
    for (size, scale) in [(1, 4), (7, 4), (8, 5), (24, 6), (56, 7), (120, 8), (248, 9)] {
        let p = h.allocate(size).unwrap();
        assert_eq!(h.block_of(p.addr().get()).unwrap().scale, Scale(scale));
        h.free(p).unwrap();
    }
    let p = h.allocate(1015).unwrap();
    assert_eq!(h.block_of(p.addr().get()).unwrap().scale, Scale(10));
    h.free(p).unwrap();
    let before = snapshot(&h);
    assert_eq!(
        h.allocate(1016),
        Err(HeapError::TooBig {
            size: 1016,
            max_scale: Scale(10)
        })
    );
    assert_eq!(
        h.allocate(usize::MAX),
        Err(HeapError::TooBig {
            size: usize::MAX,
            max_scale: Scale(10)
        })
    );
    assert_eq!(h.allocate(0), Err(HeapError::ZeroSize));
    assert_eq!(snapshot(&h), before);
}

#[test]
fn split_keeps_the_lower_half_and_frees_the_upper() {
    let (_v, mut h) = shomp();
    let p = h.allocate(1).unwrap();
    let b: Vec<_> = h.blocks().map(|b| (b.offset, b.scale.0, b.free)).collect();
    assert_eq!(
        b,
        [
            (0, 4, false),
            (16, 4, true),
            (32, 5, true),
            (64, 6, true),
            (128, 7, true),
            (256, 8, true),
            (512, 9, true)
        ]
    );
    assert_eq!(counts(&h), [1, 1, 1, 1, 1, 1, 0]);
    let info = h.block_of(p.addr().get()).unwrap();
    assert_eq!(
        (info.requested, info.payload),
        (Some(1), Some(p.addr().get()))
    );
    h.check().unwrap();
}

#[test]
fn coalesce_merges_step_by_step() {
    let (_v, mut h) = shomp();
    let a = h.allocate(1).unwrap(); // 0, scale 4
    let b = h.allocate(1).unwrap(); // 16, its buddy
    let c = h.allocate(8).unwrap(); // 32, scale 5
    assert_eq!(b.addr().get() - a.addr().get(), 16);
    assert_eq!(c.addr().get() - a.addr().get(), 32);
    assert_eq!(counts(&h), [0, 0, 1, 1, 1, 1, 0]);
    // Free a: its buddy b is used, no merge.
    h.free(a).unwrap();
    assert_eq!(counts(&h), [1, 0, 1, 1, 1, 1, 0]);
    // Free b: merges with a into 32 bytes at 0; its buddy c is used.
    h.free(b).unwrap();
    assert_eq!(counts(&h), [0, 1, 1, 1, 1, 1, 0]);
    h.check().unwrap();
    // Free c: 0+32 -> 64, + free 64 -> 128, ... up to the whole 1 KiB.
    h.free(c).unwrap();
    assert_eq!(counts(&h), [0, 0, 0, 0, 0, 0, 1]);
    h.check().unwrap();
}

#[test]
fn shompos_scenarios() {
    // After 4 and 9: one free block at each of scales 4-8, none at 9 and A.
    let (_v, mut h) = shomp();
    h.allocate(1).unwrap();
    h.allocate(248).unwrap();
    assert_eq!(counts(&h), [1, 1, 1, 1, 1, 0, 0]);
    // 9 9 9: the third is out of memory, and changes nothing.
    let (_v2, mut h) = shomp();
    h.allocate(248).unwrap();
    h.allocate(248).unwrap();
    let before = snapshot(&h);
    assert_eq!(
        h.allocate(248),
        Err(HeapError::OutOfMemory {
            size: 248,
            scale: Scale(9)
        })
    );
    assert_eq!(snapshot(&h), before);
}

#[test]
fn heap_of_any_length_is_covered_by_aligned_blocks() {
    let (_v, p) = aligned(8192);
    let h = heap_over(p, 2048 + 1024 + 32 + 16 + 7, 4, 12);
    let b: Vec<_> = h.blocks().map(|b| (b.offset, b.scale.0)).collect();
    assert_eq!(b, [(0, 11), (2048, 10), (3072, 5), (3104, 4)]);
    assert_eq!(h.heap_bytes(), 3120);
    h.check().unwrap();
    // Max scale caps the blocks: 8 KiB with max scale 11 is four blocks.
    let h = heap_over(p, 8192, 4, 11);
    assert_eq!(h.free_counts().get(Scale(11)), 4);
    h.check().unwrap();
}

#[test]
fn off_grid_bases_start_with_small_blocks_and_keep_payloads_aligned() {
    let (_v, p) = aligned(8192);
    let page = p.wrapping_add(HEADER_SIZE); // page-aligned
    // A page-aligned base: the grid origin is 9 bytes below it, the first
    // block at offset 16, then one block of each scale.
    let h = heap_over(page, 1024, 4, 10);
    let b: Vec<_> = h.blocks().map(|b| (b.offset, b.scale.0)).collect();
    assert_eq!(b, [(16, 4), (32, 5), (64, 6), (128, 7), (256, 8), (512, 9)]);
    assert!(h.start_addr() >= page.addr());
    assert!(h.end_addr() <= page.addr() + 1024);
    h.check().unwrap();
    // Any base: blocks stay inside, every payload is aligned to its block.
    for skew in [1, 40, 4000] {
        let base = page.wrapping_add(skew);
        let mut h = heap_over(base, 3000, 4, 10);
        assert!(h.start_addr() >= base.addr() && h.end_addr() <= base.addr() + 3000);
        for b in h.blocks() {
            assert_eq!((b.addr + 9) % b.scale.bytes(), 0);
        }
        let q = h.alloc_layout(layout(10, 64)).unwrap();
        assert_eq!(q.addr().get() % 64, 0);
        h.check().unwrap();
    }
}

#[test]
fn every_alignment_up_to_a_page() {
    let (_v, p) = aligned(1 << 18);
    let mut h = heap_over(p, 1 << 18, 4, 18);
    let mut live = Vec::new();
    for shift in 0..=12 {
        let align = 1usize << shift;
        for size in [1, 3, align, 100] {
            let l = layout(size, align);
            let q = h.alloc_layout(l).unwrap();
            assert_eq!(q.addr().get() % align, 0, "align {align}");
            let b = h.block_of(q.addr().get()).unwrap();
            assert_eq!(q.addr().get() - b.addr, HEADER_SIZE);
            assert!(b.scale.bytes() >= align);
            assert!(q.addr().get() + size <= b.addr + b.scale.bytes());
            live.push((q, l));
        }
    }
    h.check().unwrap();
    for (q, l) in live {
        h.free_layout(q, l).unwrap();
    }
    assert_eq!(h.free_counts().get(Scale(18)), 1);
    let before = snapshot(&h);
    assert_eq!(
        h.alloc_layout(layout(8, 8192)),
        Err(HeapError::BadAlign { align: 8192 })
    );
    assert_eq!(snapshot(&h), before);
}

#[test]
fn bad_frees_are_reported_and_change_nothing() {
    let (_v, mut h) = shomp();
    let a = h.allocate(24).unwrap(); // scale 6 at 0
    let b = h.alloc_layout(layout(100, 32)).unwrap(); // scale 7 at 128
    let c = h.allocate(1).unwrap();
    h.free(c).unwrap();
    let before = snapshot(&h);
    // Pointers derived from a block's (the buffer's provenance), in or out of the heap.
    let at = |addr: usize| NonNull::new(a.as_ptr().with_addr(addr)).unwrap();
    let start = h.start_addr();

    let cases = [
        (at(start - 1), HeapError::OutsideHeap { addr: start - 1 }),
        (
            at(h.end_addr()),
            HeapError::OutsideHeap { addr: h.end_addr() },
        ),
        (at(0x10), HeapError::OutsideHeap { addr: 0x10 }),
        (at(start), HeapError::NotPayload { addr: start }),
        (at(start + 8), HeapError::NotPayload { addr: start + 8 }),
        // Inside b's header.
        (
            at(b.addr().get() - 5),
            HeapError::NotPayload {
                addr: b.addr().get() - 5,
            },
        ),
        (
            at(a.addr().get() + 1),
            HeapError::Interior {
                addr: a.addr().get() + 1,
                payload: a.addr().get(),
            },
        ),
        (
            at(b.addr().get() + 99),
            HeapError::Interior {
                addr: b.addr().get() + 99,
                payload: b.addr().get(),
            },
        ),
        (
            c,
            HeapError::DoubleFree {
                addr: c.addr().get(),
            },
        ),
        // Anywhere in free memory is "already free".
        (at(start + 700), HeapError::DoubleFree { addr: start + 700 }),
    ];
    for (ptr, want) in cases {
        assert_eq!(h.free(ptr), Err(want), "{ptr:?}");
        assert_eq!(snapshot(&h), before, "heap changed by {want:?}");
    }
    // free_layout also checks the layout.
    for l in [
        layout(100, 8),
        layout(100, 64),
        layout(300, 32),
        layout(1, 8192),
    ] {
        assert_eq!(
            h.free_layout(b, l),
            Err(HeapError::LayoutMismatch {
                addr: b.addr().get()
            })
        );
        assert_eq!(snapshot(&h), before);
    }
    // The unchecked fast path ignores a free block and wild pointers.
    // SAFETY: deliberately broken calls; the cheap checks make them no-ops
    // (c is free; the other pointers lie outside the heap).
    unsafe {
        h.dealloc(c, layout(1, 1));
        h.dealloc(at(start + 4096), layout(8, 8));
        h.dealloc(at(start - 64), layout(8, 8));
    }
    assert_eq!(snapshot(&h), before);
    // And the good frees still work afterwards.
    h.free(a).unwrap();
    h.free_layout(b, layout(100, 32)).unwrap();
    assert_eq!(counts(&h), [0, 0, 0, 0, 0, 0, 1]);
    h.check().unwrap();
}

#[test]
fn a_forged_header_in_a_payload_is_not_trusted() {
    let (_v, mut h) = shomp();
    let big = h.allocate(500).unwrap(); // scale 9 at 0
    // The user writes what looks like a used scale-4 header at payload+7
    // (offset 16) and frees the matching "payload".
    // SAFETY: writing inside our own 500-byte payload.
    unsafe {
        let fake = big.as_ptr().add(7);
        fake.copy_from([1, 0, 0, 0, 9, 0, 0, 0, 4].as_ptr(), 9);
    }
    let before = snapshot(&h);
    let forged = NonNull::new(big.as_ptr().wrapping_add(16)).unwrap();
    assert!(matches!(h.free(forged), Err(HeapError::Interior { .. })));
    assert_eq!(snapshot(&h), before);
    h.check().unwrap();
}

#[test]
fn freed_payloads_are_poisoned_and_writes_after_free_are_caught() {
    let (_v, mut h) = shomp();
    h.set_poison(true);
    let a = h.allocate(100).unwrap();
    let keep = h.allocate(100).unwrap(); // a's buddy stays used: no merge
    // SAFETY: our payload.
    unsafe { a.as_ptr().write_bytes(0x11, 100) };
    h.free(a).unwrap();
    // SAFETY: the freed bytes still lie in the heap's memory; reading them is fine.
    let bytes = unsafe { core::slice::from_raw_parts(a.as_ptr(), 128 - 9) };
    assert!(bytes.iter().all(|&x| x == POISON));
    h.check().unwrap();
    // A write after free is found by check().
    // SAFETY: deliberately writing freed memory of our own buffer.
    unsafe { a.as_ptr().add(5).write(0) };
    assert_eq!(
        h.check(),
        Err(CheckError::Poisoned {
            block: (a.addr().get() - HEADER_SIZE - h.start_addr()) as u32,
            offset: (a.addr().get() + 5 - h.start_addr()) as u32
        })
    );
    // SAFETY: restore the poison.
    unsafe { a.as_ptr().add(5).write(POISON) };
    h.free(keep).unwrap();
    h.check().unwrap();
}

#[test]
fn check_finds_broken_headers_and_lists() {
    let (_v, mut h) = shomp();
    let a = h.allocate(1).unwrap();
    let header = a.as_ptr().wrapping_sub(9);
    // SAFETY: editing a header of our own heap, then restoring it.
    unsafe {
        // Mark the used block free: it is on no list.
        header.add(8).write(0x84);
        assert!(matches!(
            h.check(),
            Err(CheckError::ListCount { scale: 4, .. }) | Err(CheckError::Unmerged { .. })
        ));
        // An impossible scale.
        header.add(8).write(0x1F);
        assert!(matches!(
            h.check(),
            Err(CheckError::BadScale {
                offset: 0,
                scale: 31
            })
        ));
        // A scale larger than the space it sits in.
        header.add(8).write(5);
        assert!(h.check().is_err());
        // A bad alignment in a used header.
        header.add(8).write(4);
        header.add(4).write(3);
        assert_eq!(h.check(), Err(CheckError::BadUsedHeader { offset: 0 }));
        header.add(4).write(1);
    }
    h.check().unwrap();
    // Break a free list's back link: the free block at 16 (scale 4).
    let free16 = h.start_addr() + 16;
    // SAFETY: as above.
    unsafe {
        let prev = header.with_addr(free16 + 4);
        prev.write(0x40);
        assert!(matches!(
            h.check(),
            Err(CheckError::BadBackLink { scale: 4, .. })
        ));
        prev.write(0xFF);
    }
    h.check().unwrap();
}

#[test]
fn growing_in_pieces_equals_one_big_heap() {
    const ARENA: usize = 1 << 16;
    let (_v, p) = aligned(ARENA);
    let whole = heap_over(p, ARENA, 4, 14);
    let want: Vec<_> = whole
        .blocks()
        .map(|b| (b.offset, b.scale, b.free))
        .collect();
    let (_v2, _, mut h) = arena_heap(ARENA, 100, 4, 14);
    assert_eq!(h.heap_bytes(), 96);
    let mut rng = Rng::new(7);
    while h.unbacked_bytes() > 0 {
        let n = rng.range(1, 5000).min(h.unbacked_bytes());
        // SAFETY: as above.
        unsafe { h.add_backed(n).unwrap() };
        h.check().unwrap();
    }
    let got: Vec<_> = h.blocks().map(|b| (b.offset, b.scale, b.free)).collect();
    assert_eq!(got, want);
    let before = snapshot(&h);
    // SAFETY: fails before touching memory.
    assert_eq!(
        unsafe { h.add_backed(1) },
        Err(HeapError::ArenaFull {
            requested: 1,
            room: 0
        })
    );
    assert_eq!(snapshot(&h), before);
}

#[test]
fn growth_merges_with_free_blocks_below_but_not_used_ones() {
    let (_v, _, mut h) = arena_heap(4096, 1024, 4, 12);
    let a = h.allocate(1000).unwrap(); // the whole first KiB
    // SAFETY: as above.
    unsafe { h.add_backed(1024).unwrap() };
    // The new KiB cannot merge with the used one.
    assert_eq!(h.free_counts().get(Scale(10)), 1);
    h.free(a).unwrap();
    assert_eq!(h.free_counts().get(Scale(11)), 1);
    // SAFETY: as above.
    unsafe { h.add_backed(2048).unwrap() };
    assert_eq!(h.free_counts().get(Scale(12)), 1);
    h.check().unwrap();
    // The grow hint for a request: bytes needed past the backed end.
    let (_v2, _, h) = arena_heap(1 << 16, 4096, 4, 16);
    assert_eq!(h.grow_hint(layout(5000, 8)), Some(8192 + 8192 - 4096));
    assert_eq!(h.grow_hint(layout(1 << 16, 8)), None);
}

#[test]
fn constructor_rejects_bad_arguments() {
    let (_v, p) = aligned(4096);
    // SAFETY: each call fails before touching memory.
    unsafe {
        assert_eq!(
            BuddyHeap::new(p, 4096, 3, 10).err(),
            Some(HeapError::BadScales { min: 3, max: 10 })
        );
        assert_eq!(
            BuddyHeap::new(p, 4096, 8, 7).err(),
            Some(HeapError::BadScales { min: 8, max: 7 })
        );
        assert_eq!(
            BuddyHeap::new(p, 4096, 4, 31).err(),
            Some(HeapError::BadScales { min: 4, max: 31 })
        );
        assert_eq!(
            BuddyHeap::new(core::ptr::null_mut(), 4096, 4, 10).err(),
            Some(HeapError::BadRegion)
        );
        assert_eq!(
            BuddyHeap::with_arena(p, 4096, 8192, 4, 10).err(),
            Some(HeapError::BadRegion)
        );
        assert_eq!(
            BuddyHeap::with_arena(p, (1 << 31) + 4096, 1 << 28, 4, 10).err(),
            Some(HeapError::BadRegion)
        );
        // The side table needs its page of backed memory.
        assert_eq!(
            BuddyHeap::with_arena(p, 4096, 100, 4, 10).err(),
            Some(HeapError::BadRegion)
        );
    }
    let mut e = BuddyHeap::empty();
    assert!(matches!(e.allocate(1), Err(HeapError::OutOfMemory { .. })));
    assert_eq!(e.check(), Ok(CheckReport::default()));
}

#[test]
fn resize_in_place_grows_into_free_buddies_and_shrinks() {
    let (_v, mut h) = shomp();
    let l = layout(20, 4); // 12 + 20 = 32: scale 5 at 0
    let a = h.alloc_layout(l).unwrap();
    {
        assert_eq!(h.resize_in_place(a, l, 500), Ok(true)); // absorbs 32, 64, 128, 256 at scale 9
        assert_eq!(h.block_of(a.addr().get()).unwrap().scale, Scale(9));
        assert_eq!(counts(&h), [0, 0, 0, 0, 0, 1, 0]);
        h.check().unwrap();
        assert_eq!(h.resize_in_place(a, layout(500, 4), 1100), Ok(false)); // too big
        let b = h.allocate(300).unwrap(); // takes the upper 512
        assert_eq!(h.resize_in_place(a, layout(500, 4), 600), Ok(false)); // buddy used
        let before = snapshot(&h);
        // A block in the upper half cannot grow upward.
        assert_eq!(h.resize_in_place(b, layout(300, 1), 600), Ok(false));
        assert_eq!(snapshot(&h), before);
        assert_eq!(h.resize_in_place(a, layout(500, 4), 1), Ok(true)); // back to scale 4
        assert_eq!(counts(&h), [1, 1, 1, 1, 1, 0, 0]);
        h.check().unwrap();
        h.free_layout(a, layout(1, 4)).unwrap();
        h.free(b).unwrap();
        // A pointer that is not a payload is refused, as by free.
        assert!(matches!(
            h.resize_in_place(b, layout(300, 1), 10),
            Err(HeapError::DoubleFree { .. })
        ));
    }
    assert_eq!(counts(&h), [0, 0, 0, 0, 0, 0, 1]);
}

// ----- the model tests -----------------------------------------------------

struct Live {
    ptr: NonNull<u8>,
    layout: Layout,
    fill: u8,
}

/// Random sizes (biased small, as the benchmark), random alignments.
fn random_layout(rng: &mut Rng, max: usize) -> Layout {
    let cap = rng.range(16, max);
    let size = rng.range(1, cap);
    let shift = if rng.chance(1, 2) {
        rng.range(0, 5)
    } else {
        rng.range(0, 13)
    };
    let align = 1usize << shift;
    Layout::from_size_align(size, align).unwrap()
}

/// A reference model of the buddy system, independent of the heap's
/// lists and headers: the free blocks as a map offset -> scale. It is told
/// which block each allocation got (the heap picks it; the model checks a
/// free block of at least that scale held it, and splits it the same way)
/// and does its own merging on free, so its free counts per scale must
/// equal the heap's after every step.
struct Model {
    free: BTreeMap<u32, u32>,
    /// Free blocks per scale (index: scale).
    count: [usize; 32],
    min: u32,
    max: u32,
    /// End of the blocks (offsets), as the heap tiles growth.
    end: u32,
}

impl Model {
    fn of(h: &BuddyHeap) -> Model {
        let free: BTreeMap<u32, u32> = h
            .blocks()
            .filter(|b| b.free)
            .map(|b| (b.offset, b.scale.0 as u32))
            .collect();
        let end = h.blocks().last().map_or(0, |b| b.offset + (1 << b.scale.0));
        let mut count = [0; 32];
        for &s in free.values() {
            count[s as usize] += 1;
        }
        Model {
            free,
            count,
            min: h.min_scale().0 as u32,
            max: h.max_scale().0 as u32,
            end,
        }
    }

    fn insert(&mut self, b: u32, s: u32) {
        assert!(self.free.insert(b, s).is_none(), "model: {b:#x} free twice");
        self.count[s as usize] += 1;
    }

    fn remove(&mut self, b: u32) {
        let s = self.free.remove(&b).expect("model: not free");
        self.count[s as usize] -= 1;
    }

    /// The block at `b` of scale `s` was handed out.
    fn take(&mut self, b: u32, s: u32) {
        let (&at, &big) = self
            .free
            .range(..=b)
            .next_back()
            .expect("model: no free block below the allocation");
        assert!(
            big >= s && b + (1 << s) <= at + (1 << big),
            "model: {b:#x}/{s} not inside free {at:#x}/{big}"
        );
        self.remove(at);
        // Split down to `s` around `b`: the halves not holding `b` stay free.
        let (mut at, mut k) = (at, big);
        while k > s {
            k -= 1;
            let upper = at + (1 << k);
            if b >= upper {
                self.insert(at, k);
                at = upper;
            } else {
                self.insert(upper, k);
            }
        }
        assert_eq!(at, b);
    }

    /// The block at `b` of scale `s` was freed: merge with free buddies.
    fn give(&mut self, mut b: u32, mut s: u32, start: u32) {
        while s < self.max {
            let buddy = b ^ (1 << s);
            if buddy < start || buddy + (1 << s) > self.end || self.free.get(&buddy) != Some(&s) {
                break;
            }
            self.remove(buddy);
            b = b.min(buddy);
            s += 1;
        }
        self.insert(b, s);
    }

    /// Blocks were added up to `new_end`, tiled as the heap tiles them.
    fn grow(&mut self, new_end: u32, start: u32) {
        while self.end < new_end {
            let at = self.end;
            let s = at
                .trailing_zeros()
                .min(31 - (new_end - at).leading_zeros())
                .min(self.max);
            self.end = at + (1 << s);
            self.give(at, s, start);
        }
    }

    fn counts(&self) -> Vec<usize> {
        self.count[self.min as usize..=self.max as usize].to_vec()
    }
}

/// Run `ops` random operations against a model of live allocations and
/// the reference [`Model`] of free blocks: after every step the heap's free
/// counts per scale equal the model's and `check()` passes (in every run:
/// the host suite's and the 1,000,000-operation runs of `make test`'s
/// property stage and `make soak`); with `grow`, the heap starts small and
/// is grown.
fn soak(seed: u64, ops: usize, grow: bool) {
    // Under Miri a 4 KiB arena and phases of 60 steps: a few hundred
    // steps still fill it (out of memory), drain it and grow it to the end,
    // and the `check()` after every step walks a few hundred blocks, not
    // thousands.
    const ARENA: usize = miri_or(1 << 20, 4 << 10);
    let phase = miri_or(5000, 60);
    let backed = if grow {
        miri_or(16 * 1024, 1024)
    } else {
        ARENA
    };
    let (_v, _, mut h) = arena_heap(ARENA, backed, 4, 20);
    let mut model = Model::of(&h);
    let start = h.blocks().next().map_or(0, |b| b.offset);
    let origin = h.start_addr() - start as usize;
    let initial: Vec<_> = if grow {
        Vec::new()
    } else {
        h.blocks().collect()
    };
    let mut rng = Rng::new(seed);
    let mut live: Vec<Live> = Vec::new();
    // Footprints [payload - 9, payload + size) of the live blocks, by start.
    let mut spans: BTreeMap<usize, usize> = BTreeMap::new();
    let maxes = [64, 600, miri_or(5000, 1000), miri_or(40_000, 3000)];
    let (mut allocs, mut ooms) = (0usize, 0usize);
    for step in 0..ops {
        // Phases of 5000 steps: filling (55% allocations) then draining (35%),
        // so both a nearly full heap and merges up to large blocks are seen.
        let filling = (step / phase).is_multiple_of(2);
        if live.is_empty() || rng.chance(if filling { 11 } else { 7 }, 20) {
            let max = maxes[rng.range(0, maxes.len())];
            let l = random_layout(&mut rng, max);
            match h.alloc_layout(l) {
                Ok(q) => {
                    allocs += 1;
                    let a = q.addr().get();
                    assert_eq!(a % l.align(), 0, "step {step}: alignment");
                    let (lo, hi) = (a - HEADER_SIZE, a + l.size());
                    assert!(
                        lo >= h.start_addr() && hi <= h.end_addr(),
                        "step {step}: outside"
                    );
                    if let Some((_, &end)) = spans.range(..hi).next_back() {
                        assert!(end <= lo, "step {step}: overlaps the block below");
                    }
                    spans.insert(lo, hi);
                    let s = (l.size() + HEADER_SIZE)
                        .next_power_of_two()
                        .max(l.align())
                        .max(16)
                        .trailing_zeros();
                    model.take((lo - origin) as u32, s);
                    let fill = rng.next_u64() as u8;
                    // SAFETY: our fresh payload of l.size() bytes.
                    unsafe { q.as_ptr().write_bytes(fill, l.size()) };
                    live.push(Live {
                        ptr: q,
                        layout: l,
                        fill,
                    });
                }
                Err(HeapError::OutOfMemory { scale, .. }) => {
                    ooms += 1;
                    // The model agrees: no free block of that scale or larger.
                    let need = (l.size() + HEADER_SIZE)
                        .next_power_of_two()
                        .max(l.align())
                        .max(16);
                    assert_eq!(scale.bytes(), need);
                    assert!(h.largest_free().is_none_or(|s| s < scale), "step {step}");
                    if grow && h.unbacked_bytes() > 0 {
                        let n = rng.range(1, 64 * 1024).min(h.unbacked_bytes());
                        // SAFETY: the arena is memory.
                        unsafe { h.add_backed(n).unwrap() };
                        model.grow((h.end_addr() - origin) as u32, start);
                    }
                }
                Err(e) => panic!("step {step}: unexpected {e:?} for {l:?}"),
            }
        } else {
            let i = rng.range(0, live.len());
            let Live { ptr, layout, fill } = live.swap_remove(i);
            // SAFETY: the payload is still ours until freed.
            let bytes = unsafe { core::slice::from_raw_parts(ptr.as_ptr(), layout.size()) };
            // Compared 256 bytes at a time (one `memcmp`: one step for Miri).
            let run = [fill; 256];
            assert!(
                bytes.chunks(run.len()).all(|c| c == &run[..c.len()]),
                "step {step}: contents damaged"
            );
            let lo = ptr.addr().get() - HEADER_SIZE;
            spans.remove(&lo);
            let s = h.block_of(lo).expect("a live block").scale.0 as u32;
            model.give((lo - origin) as u32, s, start);
            if rng.chance(1, 2) {
                h.free_layout(ptr, layout).unwrap();
            } else {
                // SAFETY: a live allocation with its layout.
                unsafe { h.dealloc(ptr, layout) };
            }
        }
        let counts: Vec<usize> = h.free_counts().iter().map(|(_, c)| c).collect();
        assert_eq!(counts, model.counts(), "step {step}: free counts per scale");
        let r = h.check().unwrap_or_else(|e| panic!("step {step}: {e}"));
        assert_eq!(r.used_blocks, live.len(), "step {step}: used blocks");
    }
    std::eprintln!(
        "soak: {ops} ops, {allocs} allocs, {ooms} ooms, {} live at end",
        live.len()
    );
    assert!(
        allocs > ops / 3 && ooms > 0,
        "the test exercised both paths"
    );
    for Live { ptr, layout, .. } in live.drain(..) {
        h.free_layout(ptr, layout).unwrap();
    }
    h.check().unwrap();
    if grow {
        // Backed to the end (a short run may not have grown that far), the
        // empty heap is one block.
        let rest = h.unbacked_bytes();
        if rest > 0 {
            // SAFETY: the arena is memory.
            unsafe { h.add_backed(rest).unwrap() };
        }
        h.check().unwrap();
        assert_eq!(h.free_counts().total_blocks(), 1);
    } else {
        assert_eq!(h.blocks().collect::<Vec<_>>(), initial, "merged back");
    }
}

#[test]
fn soak_random_alloc_free_against_a_model() {
    soak(0x5EED, soak_ops(20_000), false);
}

#[test]
fn soak_growing_heap_against_a_model() {
    soak(0xC0FFEE, soak_ops(20_000), true);
}

/// A second pair of seeds, short: other random walks through both heaps,
/// `check()` after every step as in every soak.
#[test]
fn short_run_checks_after_every_step() {
    soak(0x5A5A, miri_or(12_000, 150), false);
    soak(0xA5A5, miri_or(12_000, 150), true);
}
