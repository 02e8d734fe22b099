//! Host tests of the slabs over the buddy heap: the classes, the O(1)
//! free check with every bad free refused and the heap unchanged, empty
//! slabs going back, resizing within a class, poisoning, the fallback to
//! the buddy heap, growth, and the model ("soak") test.

use super::*;
use crate::mm::heap::buddy::{CheckReport, FreeCounts, SMALLEST_SCALE};
use crate::mm::heap::fault::HeapCheckError;
use crate::testutil::{Arena, Rng, miri_or, soak_ops};
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;

/// A slab heap over all of `arena` (scales 4 up to the largest that fits).
fn heap_in(arena: &Arena) -> SlabBuddy {
    let len = arena.len();
    let max = (usize::BITS - 1 - len.leading_zeros()) as u8;
    // SAFETY: the arena outlives the heap in every test.
    unsafe { SlabBuddy::with_arena(arena.ptr(), len, len, SMALLEST_SCALE, max, Slabs::On) }.unwrap()
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

fn ok(h: &SlabBuddy) -> (CheckReport, SlabReport) {
    h.check().unwrap_or_else(|e| panic!("{e}"))
}

/// Everything observable: the arena's bytes and the heap's counters.
fn snap(h: &SlabBuddy, a: &Arena) -> (Vec<u8>, usize, usize, [u32; CLASSES.len()], usize) {
    (
        a.snapshot(),
        h.slabs,
        h.objects,
        h.partial,
        h.cached_blocks(),
    )
}

fn free_counts(h: &SlabBuddy) -> FreeCounts {
    h.buddy().free_counts()
}

#[test]
fn classes_fit_their_slabs_and_cover_every_small_size() {
    for (c, k) in CLASSES.iter().enumerate().take(CLASS_COUNT).skip(1) {
        assert!(k.slots >= 3 && k.slots as usize <= MAX_SLOTS, "{k:?}");
        assert!(k.size > 1024 || k.slots >= 15, "{k:?}");
        assert!(k.relist < k.slots, "{k:?}");
        assert!(k.slots * k.size <= k.meta_at, "{k:?}");
        assert!(k.meta_at as usize + META <= k.slab_bytes() - HEADER_SIZE);
        assert_eq!(k.size % k.align, 0);
        assert!(k.align >= 8);
        if c > 1 {
            assert!(k.size > CLASSES[c - 1].size);
        }
    }
    for size in 1..=CUTOFF {
        let c = class_of(size, 1).unwrap();
        assert!(CLASSES[c].size as usize >= size);
        assert!(c == 1 || (CLASSES[c - 1].size as usize) < size, "{size}");
        // At most a third of the slot is lost (above 16 bytes).
        if size > 16 {
            assert!(CLASSES[c].size as usize * 2 <= size * 3, "{size}");
        }
    }
    assert_eq!(class_of(0, 1), None);
    assert_eq!(class_of(CUTOFF + 1, 1), None);
    assert_eq!(class_of(48, 16), Some(5));
    assert_eq!(class_of(48, 32), None);
}

#[test]
fn magic_division_is_exact() {
    for k in &CLASSES[1..CLASS_COUNT] {
        for rel in (0..k.slab_bytes() as u32).step_by(miri_or(1, 97)) {
            assert_eq!(((rel as u64 * k.magic) >> 32) as u32, rel / k.size, "{k:?}");
        }
    }
}

#[test]
fn small_requests_share_a_slab_and_an_empty_slab_goes_back() {
    let a = Arena::new(miri_or(1 << 20, 128 * 1024));
    let mut h = heap_in(&a);
    let fresh = free_counts(&h);
    let l = layout(64, 8);
    let ps: Vec<_> = (0..10).map(|_| h.alloc_layout(l).unwrap()).collect();
    let ps0 = ps[0];
    for (i, p) in ps.iter().enumerate() {
        assert_eq!(p.addr().get() - ps[0].addr().get(), 64 * i, "slot {i}");
        assert_eq!(p.addr().get() % 64, 0);
    }
    assert_eq!((h.slab_count(), h.object_count()), (1, 10));
    let (b, s) = ok(&h);
    assert_eq!(b.used_blocks, 1);
    assert_eq!((s.slabs, s.objects, s.slab_bytes), (1, 10, 4096));
    let info = h.slot_info(ps[3].addr().get() + 5).unwrap();
    assert_eq!(
        (info.size, info.slot, info.live),
        (64, ps[3].addr().get(), true)
    );
    for p in ps {
        h.free_layout(p, l).unwrap();
        ok(&h);
    }
    // The empty slab stays as the class's cached one, until trimmed.
    assert_eq!(
        (h.slab_count(), h.object_count(), h.cached_empty()),
        (1, 0, 1)
    );
    let again = h.alloc_layout(l).unwrap();
    assert_eq!(again, ps0, "the cached slab is used again");
    h.free_layout(again, l).unwrap();
    assert_eq!(h.trim(), 1);
    ok(&h);
    assert_eq!((h.slab_count(), h.cached_empty()), (0, 0));
    assert_eq!(free_counts(&h), fresh, "the slab's block went back");
    // Requests above the cut-off, or with an alignment their class does
    // not give, are buddy blocks.
    let big = layout(CUTOFF + 1, 8);
    let p = h.alloc_layout(big).unwrap();
    let q = h.alloc_layout(layout(48, 64)).unwrap();
    assert_eq!(h.slab_count(), 0);
    assert!(h.slot_info(p.addr().get()).is_none());
    assert_eq!(q.addr().get() % 64, 0);
    h.free_layout(p, big).unwrap();
    h.free_layout(q, layout(48, 64)).unwrap();
    assert_eq!(free_counts(&h), fresh);
}

#[test]
fn full_slabs_leave_the_partial_list_and_come_back() {
    let a = Arena::new(miri_or(1 << 20, 128 * 1024));
    let mut h = heap_in(&a);
    let l = layout(256, 8);
    let n = CLASSES[class_of(256, 8).unwrap()].slots as usize;
    let ps: Vec<_> = (0..n * 2 + 1).map(|_| h.alloc_layout(l).unwrap()).collect();
    assert_eq!(h.slab_count(), 3);
    ok(&h);
    let k = CLASSES[class_of(256, 8).unwrap()];
    // A full slab does not come back at its first free (it would leave
    // again at the next allocation): the next slot comes from the third slab.
    h.free_layout(ps[n], l).unwrap();
    ok(&h);
    let third = h.alloc_layout(l).unwrap();
    assert_eq!(third.addr().get(), ps[2 * n].addr().get() + 256);
    // Once `relist` slots are used it is back, at the head.
    for p in &ps[n + 1..n + (n - k.relist as usize)] {
        h.free_layout(*p, l).unwrap();
    }
    ok(&h);
    let back = h.alloc_layout(l).unwrap();
    assert_eq!(
        back,
        ps[n + (n - k.relist as usize) - 1],
        "last freed, first taken"
    );
    ok(&h);
    h.free_layout(back, l).unwrap();
    h.free_layout(third, l).unwrap();
    for p in ps[..n].iter().chain(&ps[n + (n - k.relist as usize)..]) {
        h.free_layout(*p, l).unwrap();
    }
    ok(&h);
    assert_eq!(h.object_count(), 0);
    assert_eq!(
        (h.slab_count(), h.cached_empty()),
        (1, 1),
        "one empty slab cached"
    );
}

#[test]
fn every_bad_free_is_refused_and_changes_nothing() {
    let a = Arena::new(miri_or(1 << 20, 128 * 1024));
    let mut h = heap_in(&a);
    let l = layout(48, 8);
    let p = h.alloc_layout(l).unwrap();
    let q = h.alloc_layout(l).unwrap();
    let big = layout(CUTOFF + 1000, 8);
    let b = h.alloc_layout(big).unwrap();
    h.free_layout(q, l).unwrap();
    let slab = h.slot_info(p.addr().get()).unwrap().slab;
    let before = snap(&h, &a);
    let at = |x: usize| a.pointer(x);
    let pa = p.addr().get();
    let cases: Vec<(NonNull<u8>, Layout, HeapError)> = vec![
        // Wild: below and above the arena.
        (
            at(a.start() - 64),
            l,
            HeapError::OutsideHeap {
                addr: a.start() - 64,
            },
        ),
        (
            at(a.end() + 4096),
            l,
            HeapError::OutsideHeap {
                addr: a.end() + 4096,
            },
        ),
        // Interior and unaligned: inside a live slot.
        (
            at(pa + 1),
            l,
            HeapError::Interior {
                addr: pa + 1,
                payload: pa,
            },
        ),
        (
            at(pa + 8),
            l,
            HeapError::Interior {
                addr: pa + 8,
                payload: pa,
            },
        ),
        // The slab's metadata.
        (
            at(slab + 4050),
            l,
            HeapError::Interior {
                addr: slab + 4050,
                payload: slab,
            },
        ),
        // The slab's own header (9 bytes below its first slot).
        (at(slab - 4), l, HeapError::NotPayload { addr: slab - 4 }),
        // Double free, and a slot never handed out.
        (
            q,
            l,
            HeapError::DoubleFree {
                addr: q.addr().get(),
            },
        ),
        (
            at(pa + 48 * 7),
            l,
            HeapError::DoubleFree { addr: pa + 48 * 7 },
        ),
        // A size larger than the slot, an alignment the slot does not have.
        (p, layout(49, 8), HeapError::LayoutMismatch { addr: pa }),
        (p, layout(48, 32), HeapError::LayoutMismatch { addr: pa }),
        (p, layout(2000, 8), HeapError::LayoutMismatch { addr: pa }),
        // A buddy block freed with another alignment (the buddy's check).
        (
            b,
            layout(48, 16),
            HeapError::LayoutMismatch {
                addr: b.addr().get(),
            },
        ),
    ];
    for (ptr, lay, want) in cases {
        assert_eq!(h.free_layout(ptr, lay), Err(want), "{ptr:?} {lay:?}");
        assert!(snap(&h, &a) == before, "{want:?} changed the heap");
        assert_eq!(h.resize_in_place(ptr, lay, 40), Err(want));
        assert!(snap(&h, &a) == before, "{want:?} (resize) changed the heap");
    }
    assert_eq!(
        h.free(at(pa + 3)),
        Err(HeapError::Interior {
            addr: pa + 3,
            payload: pa
        })
    );
    assert!(snap(&h, &a) == before);
    // A smaller layout that fits is accepted (no per-object record; the
    // buddy heap's rule, which an in-place shrink needs).
    h.free_layout(p, layout(20, 4)).unwrap();
    h.free_layout(b, big).unwrap();
    ok(&h);
}

#[test]
fn resize_stays_in_place_within_a_class_and_buddy_blocks_resize_as_before() {
    let a = Arena::new(miri_or(1 << 20, 128 * 1024));
    let mut h = heap_in(&a);
    let l = layout(40, 8);
    let p = h.alloc_layout(l).unwrap();
    assert_eq!(h.resize_in_place(p, l, 48), Ok(true));
    assert_eq!(h.resize_in_place(p, l, 33), Ok(true));
    assert_eq!(h.resize_in_place(p, l, 49), Ok(false));
    assert_eq!(
        h.resize_in_place(p, l, 25),
        Ok(true),
        "more than half the slot"
    );
    assert_eq!(
        h.resize_in_place(p, l, 24),
        Ok(false),
        "half the slot or less moves"
    );
    ok(&h);
    h.free_layout(p, layout(48, 8)).unwrap();
    // A buddy block shrinks by giving back upper halves, and grows into
    // them again.
    let bl = layout(8000, 8);
    let b = h.alloc_layout(bl).unwrap();
    assert_eq!(h.resize_in_place(b, bl, 1500), Ok(true));
    assert_eq!(h.resize_in_place(b, layout(1500, 8), 8000), Ok(true));
    h.free_layout(b, bl).unwrap();
    ok(&h);
}

#[test]
fn poisoning_names_the_slot_written_after_its_free() {
    let a = Arena::new(miri_or(1 << 20, 128 * 1024));
    let mut h = heap_in(&a);
    let l = layout(96, 8);
    let keep = h.alloc_layout(l).unwrap();
    let p = h.alloc_layout(l).unwrap();
    h.free_layout(p, l).unwrap();
    h.set_poison(true);
    ok(&h);
    let x = p.as_ptr().wrapping_add(50);
    // SAFETY: a deliberate write after free into the arena, undone below.
    unsafe { x.write(0x5A) };
    let e = h.check().unwrap_err();
    assert_eq!(
        e,
        HeapCheckError::Slab(SlabFault::Poisoned {
            slot: p.addr().get(),
            at: x.addr()
        })
    );
    assert_eq!(e.written_after_free(), Some((p.addr().get(), x.addr())));
    // SAFETY: undo it.
    unsafe { x.write(POISON) };
    ok(&h);
    // A slot freed while poisoning is on is poisoned too.
    let q = h.alloc_layout(l).unwrap();
    h.free_layout(q, l).unwrap();
    ok(&h);
    h.free_layout(keep, l).unwrap();
    // The empty slab goes back to the buddy heap, poisoned as a free block.
    assert_eq!(h.trim(), 1);
    assert_eq!(h.slab_count(), 0);
    ok(&h);
}

#[test]
fn a_corrupt_slab_is_named_by_check() {
    let a = Arena::new(miri_or(1 << 20, 128 * 1024));
    let mut h = heap_in(&a);
    let l = layout(32, 8);
    let p = h.alloc_layout(l).unwrap();
    let _q = h.alloc_layout(l).unwrap();
    let slab = h.slot_info(p.addr().get()).unwrap().slab;
    let c = class_of(32, 8).unwrap();
    let s = (slab - h.grid) as u32;
    // SAFETY: the slab's metadata, changed and restored.
    unsafe {
        (*h.meta(s, c)).used += 1;
        assert!(matches!(
            h.check(),
            Err(HeapCheckError::Slab(SlabFault::BitmapCount { .. }))
        ));
        (*h.meta(s, c)).used -= 1;
    }
    ok(&h);
}

#[test]
fn small_requests_fall_back_to_the_buddy_heap_when_no_slab_fits() {
    // Take every buddy block of 2 KiB or more: no slab can be made, but
    // the small free blocks left still serve a 64-byte request.
    let a = Arena::new(miri_or(256 * 1024, 128 * 1024));
    let mut h = heap_in(&a);
    let mut held = Vec::new();
    for s in (11..=18).rev() {
        let l = layout((1 << s) - HEADER_SIZE, 1);
        while let Ok(p) = h.alloc_layout(l) {
            held.push((p, l));
        }
    }
    let small = layout(64, 8);
    let p = h.alloc_layout(small).unwrap();
    assert_eq!(h.slab_count(), 0, "no room for a slab");
    assert!(h.slot_info(p.addr().get()).is_none());
    ok(&h);
    h.free_layout(p, small).unwrap();
    for (p, l) in held {
        h.free_layout(p, l).unwrap();
    }
    ok(&h);
}

#[test]
fn a_short_buddy_heap_takes_the_cached_empty_slabs_back_first() {
    let a = Arena::new(256 * 1024);
    let mut h = heap_in(&a);
    // One empty slab cached in each of two classes.
    for size in [24, 700] {
        let l = layout(size, 8);
        let p = h.alloc_layout(l).unwrap();
        h.free_layout(p, l).unwrap();
    }
    assert_eq!(h.cached_empty(), 2);
    // The largest block the heap has only once those are given back.
    let mut held = Vec::new();
    let mut s = 17;
    while s >= 11 {
        match h.alloc_layout(layout((1 << s) - HEADER_SIZE, 1)) {
            Ok(p) => held.push((p, s)),
            Err(_) => s -= 1,
        }
    }
    assert_eq!(h.cached_empty(), 0, "trimmed when the buddy heap was short");
    assert_eq!(h.slab_count(), 0);
    ok(&h);
    for (p, s) in held {
        h.free_layout(p, layout((1 << s) - HEADER_SIZE, 1)).unwrap();
    }
    ok(&h);
}

#[test]
fn growth_hints_a_whole_slab_and_the_table_covers_the_arena() {
    let len = miri_or(1 << 20, 128 * 1024);
    let a = Arena::new(len);
    let table = SlabBuddy::arena_table_bytes(len, SMALLEST_SCALE);
    // SAFETY: the arena outlives the heap.
    let max = (usize::BITS - 1 - len.leading_zeros()) as u8;
    let mut h = unsafe {
        SlabBuddy::with_arena(a.ptr(), len, table, SMALLEST_SCALE, max, Slabs::On).unwrap()
    };
    let l = layout(24, 8);
    assert!(h.alloc_layout(l).is_err());
    let need = h.grow_hint(l).unwrap();
    assert!(need >= 4096, "{need}");
    // SAFETY: the arena's next bytes are memory.
    unsafe { h.add_backed(need).unwrap() };
    let p = h.alloc_layout(l).unwrap();
    assert_eq!(h.slab_count(), 1);
    // Grow to the end: slabs near the arena's end are in the table too.
    let rest = h.buddy().unbacked_bytes();
    // SAFETY: as above.
    unsafe { h.add_backed(rest).unwrap() };
    let many: Vec<_> = (0..20000)
        .map_while(|_| h.alloc_layout(layout(1024, 8)).ok())
        .collect();
    ok(&h);
    assert!(many.len() * 1024 > len / 2, "{}", many.len());
    for q in many {
        h.free_layout(q, layout(1024, 8)).unwrap();
    }
    h.free_layout(p, l).unwrap();
    ok(&h);
    h.trim();
    assert_eq!(h.slab_count(), 0);
    assert_eq!(
        h.side_table_bytes(),
        h.slab_table_bytes() + h.buddy().side_table_bytes()
    );
    let pages = h.slab_table_bytes();
    assert!(
        pages <= len / SLAB_PAGE + 1 && pages * SLAB_PAGE >= len - table,
        "{pages}"
    );
}

#[test]
fn slabs_off_sends_everything_to_the_buddy_heap() {
    let a = Arena::new(64 * 1024);
    // SAFETY: the arena outlives the heap.
    let mut h = unsafe {
        SlabBuddy::with_arena(a.ptr(), a.len(), a.len(), SMALLEST_SCALE, 16, Slabs::Off).unwrap()
    };
    let l = layout(24, 8);
    let p = h.alloc_layout(l).unwrap();
    assert_eq!(h.slab_count(), 0);
    assert_eq!(h.grow_hint(l), None);
    h.free_layout(p, l).unwrap();
    ok(&h);
}

#[derive(Clone, Copy)]
struct Live {
    size: usize,
    align: usize,
    fill: u8,
}

/// The model test: random allocations (mostly slab-sized, some buddy
/// blocks, alignments up to a page), frees, resizes and bad frees against
/// a model of the live blocks; `check()` on the way, everything freed at
/// the end leaves the buddy heap as it started.
fn soak(seed: u64, ops: usize, poison: bool) {
    let a = Arena::new(miri_or(512 * 1024, 64 * 1024));
    let mut h = heap_in(&a);
    h.set_poison(poison);
    let fresh = free_counts(&h);
    let mut rng = Rng::new(seed);
    let mut live: BTreeMap<usize, (NonNull<u8>, Live)> = BTreeMap::new();
    let mut freed: Vec<usize> = Vec::new();
    let (mut allocs, mut frees, mut in_place, mut bad, mut slabbed) = (0, 0, 0, 0, 0);
    let aligns = [1, 2, 4, 8, 8, 8, 16, 64, 4096];
    let check_every = miri_or(97, 13);
    let bad_every = miri_or(211, 17);
    for step in 0..ops {
        if step % bad_every == bad_every - 1 && !live.is_empty() {
            let keys: Vec<usize> = live.keys().copied().collect();
            let k = keys[rng.below(keys.len())];
            let (p, l) = live[&k];
            let before = snap(&h, &a);
            let (ptr, lay) = match rng.below(4) {
                0 if !freed.is_empty() => {
                    let f = freed[rng.below(freed.len())];
                    (a.pointer(f), layout(8, 8))
                }
                1 => (p, layout(l.size + 4096, l.align)),
                2 => (
                    a.pointer(k + 1 + rng.below(l.size.max(2) - 1)),
                    layout(l.size, l.align),
                ),
                _ => (a.pointer(a.end() + 1 + rng.below(1 << 16)), layout(8, 8)),
            };
            if live.contains_key(&ptr.addr().get()) {
                continue;
            }
            assert!(
                h.free_layout(ptr, lay).is_err(),
                "bad free {ptr:?} {lay:?} accepted"
            );
            assert!(snap(&h, &a) == before, "bad free {ptr:?} changed the heap");
            bad += 1;
            continue;
        }
        let act = rng.below(20);
        if act < 11 || live.is_empty() {
            let size = match rng.below(10) {
                0 => 1 + rng.below(20000),
                1..=3 => 1 + rng.below(CUTOFF),
                _ => 1 + rng.below(130),
            };
            let align = aligns[rng.below(aligns.len())];
            let l = layout(size, align);
            match h.alloc_layout(l) {
                Ok(p) => {
                    let at = p.addr().get();
                    assert_eq!(at % align, 0);
                    assert!(at >= a.start() && at + size <= a.end());
                    if let Some((&lo, &(_, ll))) = live.range(..at).next_back() {
                        assert!(lo + ll.size <= at, "overlaps the block below");
                    }
                    if let Some((&hi, _)) = live.range(at..).next() {
                        assert!(at + size <= hi, "overlaps the block above");
                    }
                    if h.slot_info(at).is_some() {
                        slabbed += 1;
                    }
                    let fill = (step % 251) as u8;
                    // SAFETY: a live block of `size` bytes.
                    unsafe { p.as_ptr().write_bytes(fill, size) };
                    live.insert(at, (p, Live { size, align, fill }));
                    freed.retain(|&f| f != at);
                    allocs += 1;
                }
                Err(HeapError::OutOfMemory { .. }) => {}
                Err(e) => panic!("alloc {l:?}: {e}"),
            }
        } else if act < 18 {
            let keys: Vec<usize> = live.keys().copied().collect();
            let k = keys[rng.below(keys.len())];
            let (p, l) = live.remove(&k).unwrap();
            // SAFETY: a live block we filled.
            let bytes = unsafe { core::slice::from_raw_parts(p.as_ptr(), l.size) };
            assert!(bytes.iter().all(|&b| b == l.fill), "block {k:#x} damaged");
            h.free_layout(p, layout(l.size, l.align)).unwrap();
            freed.push(k);
            if freed.len() > 64 {
                freed.remove(0);
            }
            frees += 1;
        } else {
            let keys: Vec<usize> = live.keys().copied().collect();
            let k = keys[rng.below(keys.len())];
            let (p, l) = live[&k];
            let new = 1 + rng.below(l.size * 2 + 16);
            let next = live.range(k + 1..).next().map_or(usize::MAX, |(&n, _)| n);
            if h.resize_in_place(p, layout(l.size, l.align), new).unwrap() {
                assert!(k + new <= next, "resized into the next block");
                // SAFETY: the block now holds `new` bytes.
                unsafe { p.as_ptr().write_bytes(l.fill, new) };
                live.insert(k, (p, Live { size: new, ..l }));
                in_place += 1;
            }
        }
        if step % check_every == 0 {
            let (_, s) = ok(&h);
            assert_eq!(s.objects, h.object_count());
        }
    }
    ok(&h);
    for (_, (p, l)) in core::mem::take(&mut live) {
        h.free_layout(p, layout(l.size, l.align)).unwrap();
    }
    ok(&h);
    assert_eq!(h.object_count(), 0);
    assert_eq!(h.slab_count(), h.cached_empty());
    h.trim();
    ok(&h);
    assert_eq!(h.slab_count(), 0);
    assert_eq!(
        free_counts(&h),
        fresh,
        "everything freed: the buddy heap as it started"
    );
    if ops >= 1000 {
        assert!(allocs > ops / 4 && frees > ops / 8, "{allocs} {frees}");
        assert!(
            slabbed > allocs / 2 && in_place > 0 && bad > 0,
            "{slabbed} {in_place} {bad}"
        );
    }
}

#[test]
fn soak_slabs_against_a_model() {
    soak(0x51AB, soak_ops(20_000), false);
}

#[test]
fn soak_slabs_poisoned_against_a_model() {
    soak(0x9015, soak_ops(10_000), true);
}

#[test]
fn freed_large_blocks_are_cached_and_every_bad_free_of_them_is_refused() {
    let a = Arena::new(miri_or(1 << 20, 256 * 1024));
    let mut h = heap_in(&a);
    h.set_poison(false); // (on by default in debug builds)
    let fresh = free_counts(&h);
    let l = layout(CUTOFF + 1000, 8);
    let p = h.alloc_layout(l).unwrap();
    let pa = p.addr().get();
    assert_eq!(pa % SLAB_PAGE, 0, "a large block's payload is page-aligned");
    h.free_layout(p, l).unwrap();
    assert_eq!((h.cached_blocks(), h.cached_block_bytes()), (1, 8192));
    assert_eq!(ok(&h).1.cached_blocks, 1);
    assert!(h.in_cached_block(pa) && h.in_cached_block(pa + 16));
    assert!(
        !h.in_cached_block(pa + SLAB_PAGE),
        "only the first page is marked"
    );
    let before = snap(&h, &a);
    let cases = [
        (p, l, HeapError::DoubleFree { addr: pa }),
        (p, layout(100, 8), HeapError::DoubleFree { addr: pa }),
        (
            a.pointer(pa + 16),
            l,
            HeapError::Interior {
                addr: pa + 16,
                payload: pa,
            },
        ),
        (a.pointer(pa - 4), l, HeapError::NotPayload { addr: pa - 4 }),
    ];
    for (ptr, lay, want) in cases {
        assert_eq!(h.free_layout(ptr, lay), Err(want), "{ptr:?} {lay:?}");
        assert!(snap(&h, &a) == before, "{want:?} changed the heap");
        assert_eq!(h.resize_in_place(ptr, lay, 40), Err(want));
        assert_eq!(h.free(ptr), Err(want));
        assert!(snap(&h, &a) == before, "{want:?} changed the heap");
    }
    // The next request of the scale takes it back, with its new layout.
    let l2 = layout(7000, 64);
    assert_eq!(h.alloc_layout(l2), Ok(p));
    assert_eq!(h.cached_blocks(), 0);
    assert!(!h.in_cached_block(pa), "a block handed out again is live");
    assert_eq!(
        h.free_layout(p, l),
        Err(HeapError::LayoutMismatch { addr: pa }),
        "checked against the layout it was handed out with"
    );
    assert_eq!(h.cached_blocks(), 0, "a refused free caches nothing");
    h.free_layout(p, l2).unwrap();
    assert_eq!(h.cached_blocks(), 1);
    // A block of a scale not cached (64 KiB) goes straight back.
    let huge = layout(40_000, 8);
    let q = h.alloc_layout(huge).unwrap();
    h.free_layout(q, huge).unwrap();
    assert_eq!(h.cached_blocks(), 1);
    // At most DEPTH per scale.
    let held: Vec<_> = (0..BLOCK_CACHE_DEPTH + 3)
        .map(|_| h.alloc_layout(l).unwrap())
        .collect();
    for &q in &held {
        h.free_layout(q, l).unwrap();
    }
    assert_eq!(h.cached_blocks(), BLOCK_CACHE_DEPTH);
    ok(&h);
    assert_eq!(h.trim(), BLOCK_CACHE_DEPTH);
    ok(&h);
    assert_eq!(free_counts(&h), fresh, "everything back in the buddy heap");
}

#[test]
fn the_block_cache_gives_way_to_a_short_heap_and_to_poisoning() {
    let a = Arena::new(256 * 1024);
    let mut h = heap_in(&a);
    h.set_poison(false); // (on by default in debug builds)
    let l = layout(20_000, 8);
    let p = h.alloc_layout(l).unwrap();
    h.free_layout(p, l).unwrap();
    assert_eq!(h.cached_blocks(), 1);
    // The largest blocks the heap has, only once the cached one is back.
    let mut held = Vec::new();
    let mut s = 17;
    while s >= 13 {
        match h.alloc_layout(layout((1 << s) - HEADER_SIZE, 1)) {
            Ok(p) => held.push((p, s)),
            Err(_) => s -= 1,
        }
    }
    assert_eq!(
        h.cached_blocks(),
        0,
        "given back when the buddy heap was short"
    );
    ok(&h);
    for (p, s) in held {
        h.free_layout(p, layout((1 << s) - HEADER_SIZE, 1)).unwrap();
    }
    assert!(h.cached_blocks() > 0);
    // Poisoning gives every cached block back (to be poisoned) and caches
    // none while on.
    h.set_poison(true);
    assert_eq!(h.cached_blocks(), 0);
    let p = h.alloc_layout(l).unwrap();
    h.free_layout(p, l).unwrap();
    assert_eq!(h.cached_blocks(), 0);
    ok(&h);
}
