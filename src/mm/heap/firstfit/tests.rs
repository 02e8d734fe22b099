//! Host tests of the first-fit heap: first fit, coalescing, alignment,
//! bad frees, regions, resize in place, and the shared soak against a model.

use super::*;
use crate::mm::family::{AllocError, align_up};
use crate::mm::heap::testkit::{Arena, Soak, heap_soak, snapshot};
use crate::testutil::soak_ops;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;

fn heap_on(a: &Arena) -> FirstFitHeap {
    let mut h = FirstFitHeap::new();
    // SAFETY: the arena outlives the heap and is used by nothing else.
    unsafe { h.add_region(a.ptr(), a.len()).unwrap() };
    h
}
fn frees(h: &FirstFitHeap) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    h.for_each_free(&mut |s, l| v.push((s, l)));
    v
}
fn at(p: NonNull<u8>) -> usize {
    p.as_ptr().addr()
}

#[test]
fn construct_and_first_allocation() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a);
    assert_eq!(frees(&h), [(a.start(), 4096)]);
    let p = h.alloc(10, 8).unwrap();
    assert_eq!(at(p), a.start() + HEADER_SIZE);
    let used = HEADER_SIZE + align_up(10, WORD).unwrap();
    assert_eq!(frees(&h), [(a.start() + used, 4096 - used)]);
    h.check().unwrap();
    h.free(p).unwrap();
    assert_eq!(frees(&h), [(a.start(), 4096)]);
}

/// First fit takes the first hole in address order even when a later
/// one fits better.
#[test]
fn first_fit_takes_the_first_hole() {
    let a = Arena::new(8192);
    let mut h = heap_on(&a);
    let big = h.alloc(512, 8).unwrap();
    let _s1 = h.alloc(8, 8).unwrap();
    let small = h.alloc(64, 8).unwrap();
    let _s2 = h.alloc(8, 8).unwrap();
    h.free(big).unwrap();
    h.free(small).unwrap();
    let p = h.alloc(64, 8).unwrap();
    assert_eq!(at(p), at(big), "first fit, not best fit");
    h.check().unwrap();
}

#[test]
fn coalesces_both_sides() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a);
    let ps: Vec<_> = (0..4).map(|_| h.alloc(100, 8).unwrap()).collect();
    h.free(ps[0]).unwrap();
    h.free(ps[2]).unwrap();
    assert_eq!(h.free_blocks(), 3);
    h.free(ps[1]).unwrap();
    assert_eq!(h.free_blocks(), 2);
    h.free(ps[3]).unwrap();
    assert_eq!(frees(&h), [(a.start(), 4096)]);
    h.check().unwrap();
}

#[test]
fn page_alignment_and_small_tails() {
    let a = Arena::new(3 * 4096);
    let mut h = heap_on(&a);
    let s = h.alloc(8, 8).unwrap();
    let p = h.alloc(100, 4096).unwrap();
    assert!(at(p).is_multiple_of(4096));
    h.check().unwrap();
    // A request leaving less than MIN_BLOCK behind takes the whole block.
    let rest = h.largest_free();
    let last = frees(&h).last().copied().unwrap();
    let q = h.alloc(rest - HEADER_SIZE - WORD, 8).unwrap();
    assert!(at(q) > last.0);
    assert!(!frees(&h).iter().any(|&(b, _)| b > at(q)));
    h.check().unwrap();
    for x in [s, p, q] {
        h.free(x).unwrap();
    }
    assert_eq!(frees(&h), [(a.start(), 3 * 4096)]);
}

#[test]
fn bad_frees_change_nothing() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a);
    let p = h.alloc(48, 8).unwrap();
    let q = h.alloc(48, 8).unwrap();
    h.free(p).unwrap();
    let before = snapshot(&h, &[&a]);
    let bad = |x: usize| a.pointer(x);
    assert_eq!(h.free(p), Err(AllocError::InvalidAddress));
    assert_eq!(h.free(bad(at(q) + WORD)), Err(AllocError::InvalidAddress));
    assert_eq!(h.free(bad(at(q) + 1)), Err(AllocError::InvalidAddress));
    assert_eq!(h.free(bad(a.end() + 32)), Err(AllocError::InvalidAddress));
    assert_eq!(h.free(bad(16)), Err(AllocError::InvalidAddress));
    assert_eq!(
        h.free_layout(q, Layout::from_size_align(47, 8).unwrap()),
        Err(AllocError::InvalidSize)
    );
    assert_eq!(h.alloc(0, 8), Err(AllocError::InvalidSize));
    assert_eq!(h.alloc(8, 12), Err(AllocError::InvalidAlignment));
    assert_eq!(h.alloc(8192, 8), Err(AllocError::OutOfMemory));
    assert!(snapshot(&h, &[&a]) == before);
}

#[test]
fn dump_lists_free_blocks() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a);
    let _p = h.alloc(8, 8).unwrap();
    let mut s = String::new();
    h.dump(&mut s).unwrap();
    let b = a.start() + HEADER_SIZE + 8;
    assert_eq!(
        s,
        alloc::format!(
            "free [V{:#010x} , V{:#010x}] {} bytes\n1 free blocks, {} free of 4096 bytes; 1 allocations\n",
            b,
            a.end() - 1,
            a.end() - b,
            a.end() - b
        )
    );
}

#[test]
fn regions_merge_when_adjacent() {
    let a = Arena::new(3 * 4096);
    let mut h = FirstFitHeap::new();
    // SAFETY: disjoint pieces of one arena that outlives the heap.
    unsafe {
        h.add_region(a.ptr(), 4096).unwrap();
        h.add_region(a.at(a.start() + 2 * 4096), 4096).unwrap();
        h.add_region(a.at(a.start() + 4096), 4096).unwrap();
        assert_eq!(
            h.add_region(a.at(a.start() + 8), 64),
            Err(AllocError::InvalidAddress)
        );
    }
    assert_eq!(frees(&h), [(a.start(), 3 * 4096)]);
    h.check().unwrap();
}

#[test]
fn firstfit_soak() {
    let a = Arena::new(128 * 1024);
    let b = Arena::new(32 * 1024);
    let mut h = heap_on(&a);
    // SAFETY: as in heap_on.
    unsafe { h.add_region(b.ptr(), b.len()).unwrap() };
    let ops = soak_ops(30_000);
    let rep = heap_soak(
        &mut h,
        &[&a, &b],
        &Soak {
            seed: 0xF1F,
            ops,
            max_size: 4000,
            aligns: &[1, 8, 32, 128, 4096],
            bad_every: 41,
            check_every: 89,
            max_live: 300,
            exact_sizes: true,
        },
    );
    rep.assert_busy(ops);
    assert!(rep.in_place > 0 && rep.not_in_place > 0, "{rep:?}");
    let mut f = frees(&h);
    f.sort();
    let mut want = alloc::vec![(a.start(), a.len()), (b.start(), b.len())];
    want.sort();
    assert_eq!(f, want);
}

#[test]
fn firstfit_soak_poisoned() {
    let a = Arena::new(128 * 1024);
    let mut h = heap_on(&a);
    crate::mm::heap::testkit::poisoned_soak(&mut h, &a, 0xF1F0, soak_ops(10_000));
}

#[test]
fn firstfit_catches_a_write_after_free() {
    let a = Arena::new(16 * 1024);
    let mut h = heap_on(&a);
    crate::mm::heap::testkit::catches_write_after_free(&mut h);
}

/// Growing takes from the free block right after; shrinking gives the
/// tail back; a used neighbour or a short free one means "move".
#[test]
fn resize_in_place_grows_into_the_next_free_block_and_shrinks() {
    let a = Arena::new(4096);
    let mut h = heap_on(&a);
    let l = Layout::from_size_align(100, 8).unwrap();
    let p = h.alloc(100, 8).unwrap();
    // SAFETY: a live block of 100 bytes.
    unsafe { p.as_ptr().write_bytes(0xAB, 100) };
    assert_eq!(h.resize_in_place(p, l, 1000), Ok(true));
    // SAFETY: the block now holds 1000 bytes, the first 100 kept.
    assert!((0..100).all(|i| unsafe { *p.as_ptr().add(i) } == 0xAB));
    let grown = HEADER_SIZE + 1000;
    assert_eq!(frees(&h), [(a.start() + grown, 4096 - grown)]);
    h.check().unwrap();
    let big = Layout::from_size_align(1000, 8).unwrap();
    assert_eq!(h.resize_in_place(p, big, 40), Ok(true));
    let shrunk = HEADER_SIZE + 40;
    assert_eq!(frees(&h), [(a.start() + shrunk, 4096 - shrunk)]);
    h.check().unwrap();
    // A used block right after: growing cannot stay in place.
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
    // Growing into all of the free space after it (no tail left).
    let rest = 4096 - HEADER_SIZE;
    assert_eq!(h.resize_in_place(p, small, rest), Ok(true));
    assert_eq!(h.free_blocks(), 0);
    h.check().unwrap();
    h.free(p).unwrap();
    assert_eq!(frees(&h), [(a.start(), 4096)]);
}
