use super::*;
use crate::mm::family::{Allocator, Range, align_up};
use crate::mm::heap::backend::HeapBackend;
use crate::mm::heap::testkit::{Arena, Soak, heap_soak, snapshot};
use crate::mm::heap::walk::{Block, Walk};
use crate::mm::heap::{AnyHeap, KernelHeap};
use crate::testutil::soak_ops;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::GlobalAlloc;
use core::alloc::Layout;
use core::sync::atomic::{AtomicUsize, Ordering};

fn heap_on(arena: &Arena, policy: VoidPolicy) -> GapTreeHeap {
    let mut h = GapTreeHeap::new(policy);
    // SAFETY: the arena outlives the heap in every test and is used by nothing else.
    unsafe { h.add_region(arena.ptr(), arena.len()).unwrap() };
    h
}

fn addr(p: NonNull<u8>) -> usize {
    p.as_ptr().addr()
}

#[test]
fn construct_one_region_one_gap() {
    let a = Arena::new(16 * 1024);
    let h = heap_on(&a, VoidPolicy::NoVoid);
    assert_eq!(h.size(), 16 * 1024);
    assert_eq!(h.free_bytes(), 16 * 1024);
    assert_eq!(h.gaps(), [(a.start(), 16 * 1024)]);
    assert_eq!(h.largest_gap(), 16 * 1024);
    assert_eq!(
        h.counts(),
        GapTreeCounts {
            gaps: 1,
            ..GapTreeCounts::default()
        }
    );
    h.check().unwrap();
}

#[test]
fn heapdump_prints_each_gap() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a, VoidPolicy::NoVoid);
    let p = h.kmalloc(100).unwrap();
    let mut s = String::new();
    h.heapdump(&mut s).unwrap();
    let body = align_up(100, WORD).unwrap();
    let ext = align_up(HEADER_SIZE + body, GAP_SIZE).unwrap();
    let expect = alloc::format!(
        "gap [V{:#010x} , V{:#010x}] {} bytes\n1 gaps, {} free of 4096 bytes; 1 superbuffers, {} bytes of voids; largest gap {}\n",
        a.start() + ext,
        a.end() - 1,
        4096 - ext,
        4096 - ext,
        ext - HEADER_SIZE - body,
        4096 - ext
    );
    assert_eq!(s, expect);
    h.kfree(p).unwrap();
    let mut s = String::new();
    h.heapdump(&mut s).unwrap();
    assert!(s.starts_with(&alloc::format!(
        "gap [V{:#010x} , V{:#010x}] 4096 bytes\n",
        a.start(),
        a.end() - 1
    )));
}

#[test]
fn kmalloc_kfree_round_trip() {
    let a = Arena::new(8192);
    let mut h = heap_on(&a, VoidPolicy::NoVoid);
    let p = h.kmalloc(40).unwrap();
    assert_eq!(addr(p), a.start() + HEADER_SIZE);
    assert!(addr(p).is_multiple_of(KMALLOC_ALIGN));
    assert_eq!(h.size_of(p), Ok(40));
    assert_eq!(h.counts().superbuffers, 1);
    h.check().unwrap();
    h.kfree(p).unwrap();
    assert_eq!(h.gaps(), [(a.start(), 8192)]);
    assert_eq!(h.counts().superbuffers, 0);
    assert_eq!(h.counts().void_bytes, 0);
    h.check().unwrap();
}

#[test]
fn zero_and_huge_sizes_and_bad_alignments_are_refused() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a, VoidPolicy::Allow);
    assert_eq!(h.kmalloc(0), Err(AllocError::InvalidSize));
    assert_eq!(h.kmalloc(usize::MAX), Err(AllocError::InvalidSize));
    assert_eq!(h.alloc(8, 3), Err(AllocError::InvalidAlignment));
    assert_eq!(h.alloc(8, 8192), Err(AllocError::InvalidAlignment));
    assert_eq!(h.kmalloc(4096), Err(AllocError::OutOfMemory));
    assert_eq!(h.gaps(), [(a.start(), 4096)]);
}

/// Three gaps of 3, 5 and 9 units separated by live blocks: a request for
/// 4 units takes the 5-unit gap (best fit), not the 9-unit one (the seed's
/// largest-first choice).
#[test]
fn best_fit_takes_the_smallest_gap_that_fits() {
    let a = Arena::new(64 * GAP_SIZE);
    let mut h = heap_on(&a, VoidPolicy::NoVoid);
    let units = |n: usize| n * GAP_SIZE - HEADER_SIZE;
    let g9 = h.kmalloc(units(9)).unwrap();
    let _s1 = h.kmalloc(units(1)).unwrap();
    let g3 = h.kmalloc(units(3)).unwrap();
    let _s2 = h.kmalloc(units(1)).unwrap();
    let g5 = h.kmalloc(units(5)).unwrap();
    let _s3 = h.kmalloc(units(1)).unwrap();
    let rest = h.kmalloc(h.largest_gap() - HEADER_SIZE).unwrap();
    assert_eq!(h.free_bytes(), 0);
    h.kfree(g9).unwrap();
    h.kfree(g3).unwrap();
    h.kfree(g5).unwrap();
    assert_eq!(h.counts().gaps, 3);
    let p = h.kmalloc(units(4)).unwrap();
    assert_eq!(addr(p), addr(g5));
    // The 5-unit gap leaves one unit behind it.
    assert_eq!(h.counts().gaps, 3);
    let q = h.kmalloc(units(2)).unwrap();
    assert_eq!(addr(q), addr(g3), "two units go to the 3-unit gap");
    h.check().unwrap();
    h.kfree(rest).unwrap();
    h.check().unwrap();
}

#[test]
fn free_merges_with_both_neighbours() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a, VoidPolicy::NoVoid);
    let x = h.kmalloc(100).unwrap();
    let y = h.kmalloc(100).unwrap();
    let z = h.kmalloc(100).unwrap();
    let w = h.kmalloc(100).unwrap();
    h.kfree(x).unwrap();
    h.kfree(z).unwrap();
    assert_eq!(h.counts().gaps, 3);
    h.kfree(y).unwrap();
    // x, y, z and nothing else merged into one gap; the tail gap stays apart.
    assert_eq!(h.counts().gaps, 2);
    assert_eq!(h.gaps()[0].0, a.start());
    h.check().unwrap();
    h.kfree(w).unwrap();
    assert_eq!(h.gaps(), [(a.start(), 4096)]);
}

#[test]
fn allow_policy_leaves_a_tail_void_and_recovers_it() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a, VoidPolicy::Allow);
    // Leave exactly one word less than a gap header after the block.
    let want = 4096 - (GAP_SIZE - WORD) - HEADER_SIZE;
    let p = h.kmalloc(want).unwrap();
    assert_eq!(h.free_bytes(), 0, "the short tail cannot be a gap");
    assert_eq!(h.counts().void_bytes, GAP_SIZE - WORD);
    let mut s = String::new();
    h.blockdump(&mut s).unwrap();
    assert!(
        s.contains(&alloc::format!("void {}", GAP_SIZE - WORD)),
        "{s}"
    );
    h.check().unwrap();
    h.kfree(p).unwrap();
    assert_eq!(h.free_bytes(), 4096);
    assert_eq!(h.counts().void_bytes, 0);
}

#[test]
fn no_void_rounds_every_superbuffer_to_the_gap_size() {
    let a = Arena::new(8192);
    let mut h = heap_on(&a, VoidPolicy::NoVoid);
    let mut ps = Vec::new();
    for size in [1, 7, 13, 29, 61, 100, 255] {
        ps.push(h.kmalloc(size).unwrap());
    }
    h.for_each_gap(&mut |s, len| {
        assert!(s.is_multiple_of(GAP_SIZE) && len.is_multiple_of(GAP_SIZE));
    });
    let mut ok = true;
    h.for_each_block(&mut |b| {
        if let Block::Used { start, extent, .. } = b {
            ok &= start.is_multiple_of(GAP_SIZE) && extent.is_multiple_of(GAP_SIZE);
        }
    });
    assert!(ok);
    h.check().unwrap();
    for p in ps {
        h.kfree(p).unwrap();
    }
    assert_eq!(h.gaps(), [(a.start(), 8192)]);
}

#[test]
fn page_alignment_splits_off_a_leading_gap() {
    let a = Arena::new(4 * 4096);
    let mut h = heap_on(&a, VoidPolicy::NoVoid);
    let small = h.kmalloc(16).unwrap();
    let p = h.alloc(100, 4096).unwrap();
    assert!(addr(p).is_multiple_of(4096));
    assert_eq!(addr(p), a.start() + 4096);
    // Gap between the small block and the page-aligned one, then the tail.
    assert_eq!(h.counts().gaps, 2);
    h.check().unwrap();
    h.kfree(small).unwrap();
    h.kfree(p).unwrap();
    assert_eq!(h.gaps(), [(a.start(), 4 * 4096)]);
}

#[test]
fn bad_frees_are_refused_and_change_nothing() {
    let a = Arena::new(8192);
    let mut h = heap_on(&a, VoidPolicy::Allow);
    let p = h.kmalloc(64).unwrap();
    let q = h.kmalloc(64).unwrap();
    h.kfree(p).unwrap();
    let before = snapshot(&h, &[&a]);
    let bad = |x: usize| a.pointer(x);
    // Double free.
    assert_eq!(h.kfree(p), Err(AllocError::InvalidAddress));
    // Interior and misaligned pointers.
    assert_eq!(h.kfree(bad(addr(q) + 8)), Err(AllocError::InvalidAddress));
    assert_eq!(h.kfree(bad(addr(q) + 3)), Err(AllocError::InvalidAddress));
    // Wild pointers: before, after the region, and the region's first byte.
    assert_eq!(
        h.kfree(bad(a.start() - 64)),
        Err(AllocError::InvalidAddress)
    );
    assert_eq!(h.kfree(bad(a.end() + 64)), Err(AllocError::InvalidAddress));
    assert_eq!(h.kfree(bad(a.start())), Err(AllocError::InvalidAddress));
    // Wrong layouts for a live block.
    assert_eq!(
        h.free_layout(q, Layout::from_size_align(65, 8).unwrap()),
        Err(AllocError::InvalidSize)
    );
    assert_eq!(h.release(0), Err(AllocError::InvalidAddress));
    assert!(snapshot(&h, &[&a]) == before);
    h.check().unwrap();
    h.free_layout(q, Layout::from_size_align(64, 8).unwrap())
        .unwrap();
}

#[test]
fn out_of_memory_changes_nothing() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a, VoidPolicy::NoVoid);
    let mut ps = Vec::new();
    while let Ok(p) = h.kmalloc(200) {
        ps.push(p);
    }
    let before = snapshot(&h, &[&a]);
    assert_eq!(h.kmalloc(200), Err(AllocError::OutOfMemory));
    assert!(snapshot(&h, &[&a]) == before);
    assert_eq!(
        ps.len(),
        4096 / align_up(HEADER_SIZE + 200, GAP_SIZE).unwrap()
    );
}

#[test]
fn regions_merge_when_adjacent_and_refuse_overlap() {
    let a = Arena::new(4 * 4096);
    let mut h = GapTreeHeap::new(VoidPolicy::NoVoid);
    // SAFETY: the arena outlives the heap; the pieces are disjoint.
    unsafe {
        h.add_region(a.at(a.start() + 4096), 4096).unwrap();
        h.add_region(a.at(a.start() + 3 * 4096), 4096).unwrap();
        assert_eq!(h.counts().gaps, 2);
        // The middle piece touches both: one region, one gap.
        h.add_region(a.at(a.start() + 2 * 4096), 4096).unwrap();
        assert_eq!(h.regions.len(), 1);
        assert_eq!(h.gaps(), [(a.start() + 4096, 3 * 4096)]);
        assert_eq!(
            h.add_region(a.at(a.start() + 4096 + 64), 4096),
            Err(AllocError::InvalidAddress)
        );
        assert_eq!(h.add_region(a.ptr(), 8), Err(AllocError::InvalidSize));
        // Grow downwards too.
        h.add_region(a.ptr(), 4096).unwrap();
        assert_eq!(h.gaps(), [(a.start(), 4 * 4096)]);
    }
    h.check().unwrap();
}

#[test]
fn region_table_full_is_reported() {
    let a = Arena::new(2 * MAX_REGIONS * 256 + 256);
    let mut h = GapTreeHeap::new(VoidPolicy::NoVoid);
    for i in 0..MAX_REGIONS {
        // SAFETY: disjoint, non-touching pieces of the arena.
        unsafe { h.add_region(a.at(a.start() + i * 512), 256).unwrap() };
    }
    // SAFETY: as above.
    let r = unsafe { h.add_region(a.at(a.start() + MAX_REGIONS * 512), 256) };
    assert_eq!(r, Err(AllocError::OutOfMemory));
    h.check().unwrap();
}

#[test]
fn works_through_the_allocator_trait() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a, VoidPolicy::NoVoid);
    let r = h.allocate(Range::request(32, 64)).unwrap();
    assert!(r.address.is_multiple_of(64));
    assert_eq!(r.size, 32);
    assert_eq!(Allocator::size(&h), 4096);
    assert!(h.available() < 4096);
    h.release(r.address).unwrap();
    assert_eq!(h.available(), 4096);
}

fn soak(policy: VoidPolicy, seed: u64) {
    let a = Arena::new(256 * 1024);
    let b = Arena::new(64 * 1024);
    let mut h = heap_on(&a, policy);
    // SAFETY: the arena outlives the heap.
    unsafe { h.add_region(b.ptr(), b.len()).unwrap() };
    let ops = soak_ops(30_000);
    let rep = heap_soak(
        &mut h,
        &[&a, &b],
        &Soak {
            seed,
            ops,
            max_size: 6000,
            aligns: &[1, 4, 8, 16, 64, 256, 4096],
            bad_every: 37,
            check_every: 97,
            max_live: 400,
            exact_sizes: true,
        },
    );
    rep.assert_busy(ops);
    assert!(rep.in_place > 0 && rep.not_in_place > 0, "{rep:?}");
    // Everything freed: each region is one gap again.
    let mut gaps = h.gaps();
    gaps.sort();
    let mut want = alloc::vec![(a.start(), a.len()), (b.start(), b.len())];
    want.sort();
    assert_eq!(gaps, want);
}

#[test]
fn gaptree_soak_no_void() {
    soak(VoidPolicy::NoVoid, 0x6A9);
}

#[test]
fn gaptree_soak_allow_voids() {
    soak(VoidPolicy::Allow, 0x701D);
}

#[test]
fn gaptree_soak_poisoned() {
    for (policy, seed) in [(VoidPolicy::NoVoid, 0x6A90), (VoidPolicy::Allow, 0x701E)] {
        let a = Arena::new(128 * 1024);
        let mut h = heap_on(&a, policy);
        crate::mm::heap::testkit::poisoned_soak(&mut h, &a, seed, soak_ops(10_000));
    }
}

#[test]
fn gaptree_catches_a_write_after_free() {
    let a = Arena::new(16 * 1024);
    let mut h = heap_on(&a, VoidPolicy::NoVoid);
    crate::mm::heap::testkit::catches_write_after_free(&mut h);
}

/// Growing takes from the gap right after (the rest stays a gap);
/// shrinking gives the tail back; a superbuffer right after means "move".
#[test]
fn resize_in_place_grows_into_the_next_gap_and_shrinks() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a, VoidPolicy::NoVoid);
    let l = Layout::from_size_align(100, 8).unwrap();
    let p = h.alloc(100, 8).unwrap();
    // SAFETY: a live block of 100 bytes.
    unsafe { p.as_ptr().write_bytes(0xAB, 100) };
    assert_eq!(h.resize_in_place(p, l, 1000), Ok(true));
    // SAFETY: the block now holds 1000 bytes, the first 100 kept.
    assert!((0..100).all(|i| unsafe { *p.as_ptr().add(i) } == 0xAB));
    let grown = align_up(HEADER_SIZE + 1000, GAP_SIZE).unwrap();
    assert_eq!(h.gaps(), [(a.start() + grown, 4096 - grown)]);
    assert_eq!(h.counts().requested, 1000);
    h.check().unwrap();
    let big = Layout::from_size_align(1000, 8).unwrap();
    assert_eq!(h.resize_in_place(p, big, 40), Ok(true));
    let shrunk = align_up(HEADER_SIZE + 40, GAP_SIZE).unwrap();
    assert_eq!(h.gaps(), [(a.start() + shrunk, 4096 - shrunk)]);
    h.check().unwrap();
    // A superbuffer right after: growing cannot stay in place.
    let small = Layout::from_size_align(40, 8).unwrap();
    let q = h.alloc(8, 8).unwrap();
    let snap = snapshot(&h, &[&a]);
    assert_eq!(h.resize_in_place(p, small, 100), Ok(false));
    assert!(snapshot(&h, &[&a]) == snap);
    // The wrong layout is refused as by free.
    assert_eq!(
        h.resize_in_place(p, Layout::from_size_align(41, 8).unwrap(), 10),
        Err(AllocError::InvalidSize)
    );
    assert!(snapshot(&h, &[&a]) == snap);
    h.free(q).unwrap();
    // Growing into the whole gap after it (no gap left).
    assert_eq!(h.resize_in_place(p, small, 4096 - HEADER_SIZE), Ok(true));
    assert_eq!(h.counts().gaps, 0);
    h.check().unwrap();
    h.free(p).unwrap();
    assert_eq!(h.gaps(), [(a.start(), 4096)]);
}

#[repr(C, align(4096))]
struct Big([u8; 1 << 20]);
static mut BIG: Big = Big([0; 1 << 20]);
static BIG_NEXT: AtomicUsize = AtomicUsize::new(0);

/// Maps (hands out) the next piece of BIG, which must start at `end`.
fn grow_from_big(end: usize, min: usize) -> Option<usize> {
    let base = (&raw mut BIG).addr();
    let len = align_up(min, 64 * 1024)?;
    let off = BIG_NEXT.fetch_add(len, Ordering::Relaxed);
    if off + len > 1 << 20 || (off > 0 && end != base + off) {
        return None;
    }
    Some(len)
}

/// The kernel heap over this design is a working `GlobalAlloc` and grows through its hook.
#[test]
fn locked_heap_grows_through_the_hook() {
    static HEAP: KernelHeap = KernelHeap::empty();
    let layout = Layout::from_size_align(1000, 8).unwrap();
    // SAFETY: GlobalAlloc contract: non-zero size.
    assert!(unsafe { HEAP.alloc(layout) }.is_null(), "no heap yet");
    let mut h = GapTreeHeap::new(VoidPolicy::NoVoid);
    // SAFETY: the first 64 KiB of BIG, used by nothing else.
    unsafe {
        h.add_region((&raw mut BIG).cast::<u8>(), 64 * 1024)
            .unwrap()
    };
    BIG_NEXT.store(64 * 1024, Ordering::Relaxed);
    HEAP.init(AnyHeap::GapTree(h));
    HEAP.set_grow(grow_from_big);
    let mut ps = Vec::new();
    for _ in 0..200 {
        // SAFETY: as above.
        let p = unsafe { HEAP.alloc(layout) };
        assert!(!p.is_null());
        // SAFETY: p is 1000 bytes of fresh memory.
        unsafe { p.write_bytes(0xAB, 1000) };
        ps.push(p);
    }
    assert!(HEAP.times_grown() >= 3);
    let s = HEAP.stats().unwrap();
    assert_eq!(s.allocations, 200);
    assert_eq!(HEAP.with(|h| h.check()), Some(Ok(())));
    for p in ps {
        // SAFETY: p came from HEAP.alloc with this layout.
        unsafe { HEAP.dealloc(p, layout) };
    }
    assert_eq!(HEAP.bad_frees(), 0);
    // SAFETY: a bad free through GlobalAlloc is counted, not fatal.
    unsafe { HEAP.dealloc(core::ptr::without_provenance_mut(8), layout) };
    assert_eq!(HEAP.bad_frees(), 1);
    let s = HEAP.stats().unwrap();
    assert_eq!(
        (s.allocations, s.free, s.fragmentation_permille()),
        (0, s.size, 0)
    );
}
