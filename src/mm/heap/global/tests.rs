//! Host tests of the kernel heap as the kernel installs it: every design
//! allocates, frees, grows and checks; refused growth and impossible
//! requests map nothing (a property test with a simulated grow hook);
//! `realloc` stays in place when it can; bad frees are counted.

use super::*;
use crate::mm::layout::PAGE_SIZE;
use crate::testutil::{Rng, soak_ops};
use alloc::vec;
use alloc::vec::Vec;
use std::alloc::{alloc_zeroed, dealloc};
use std::sync::Mutex;

const ARENA: usize = 1 << 20;
/// What every heap is started with (the buddy heap's side table included).
const FIRST: usize = 64 * 1024;

fn arena() -> (*mut u8, Layout) {
    let layout = Layout::from_size_align(ARENA, PAGE_SIZE).unwrap();
    // SAFETY: non-zero size.
    (unsafe { alloc_zeroed(layout) }, layout)
}

fn heap_over(kind: HeapKind, base: *mut u8, backed: usize) -> KernelHeap {
    let heap = KernelHeap::empty();
    // SAFETY: the first `backed` bytes of the arena are ours; the rest is
    // handed over by the test's grow hook.
    heap.init(unsafe { AnyHeap::new(kind, base, ARENA, backed) }.unwrap());
    heap
}

#[test]
fn every_kind_allocates_frees_grows_and_checks() {
    fn grow(_end: usize, min: usize) -> Option<usize> {
        // The arena is already memory: hand out the next 64 KiB (or what is needed).
        Some(min.max(64 * 1024).next_multiple_of(PAGE_SIZE))
    }
    for &kind in HeapKind::ALL {
        let (base, layout) = arena();
        let heap = heap_over(kind, base, FIRST);
        heap.set_grow(grow);
        let mut live = Vec::new();
        for i in 0..400usize {
            let l = Layout::from_size_align(16 + (i * 37) % 900, 1 << (i % 7)).unwrap();
            let p = heap
                .allocate(l)
                .unwrap_or_else(|e| panic!("{kind:?}: {e:?} at {i}"));
            assert_eq!(p.as_ptr().addr() % l.align(), 0);
            // SAFETY: the block holds l.size() bytes.
            unsafe { p.as_ptr().write_bytes(i as u8, l.size()) };
            live.push((p, l, i as u8));
        }
        assert!(heap.times_grown() > 0, "{kind:?} never grew");
        assert_eq!(heap.kind(), Some(kind));
        assert_eq!(heap.with(|h| h.name()).unwrap(), kind.name());
        for (p, l, v) in live.drain(..) {
            // SAFETY: p holds l.size() bytes written above.
            let bytes = unsafe { core::slice::from_raw_parts(p.as_ptr(), l.size()) };
            assert!(bytes == vec![v; l.size()].as_slice());
            heap.deallocate(p, l).unwrap();
        }
        let l = Layout::new::<u64>();
        let p = heap.allocate(l).unwrap();
        heap.deallocate(p, l).unwrap();
        let before = heap.stats().unwrap();
        assert!(
            heap.deallocate(p, l).is_err(),
            "{kind:?} accepted a double free"
        );
        assert_eq!(
            heap.stats().unwrap(),
            before,
            "{kind:?}: a refused free changed the heap"
        );
        assert_eq!(heap.bad_frees(), 1);
        assert_eq!(heap.last_bad_free(), Some(p.as_ptr().addr()));
        heap.with(|h| h.check()).unwrap().unwrap();
        let stats = heap.stats().unwrap();
        assert_eq!(stats.used + stats.free, stats.size, "{kind:?}: {stats:?}");
        // The heap (no Drop) is not used past here.
        // SAFETY: the heap is done with the arena, allocated with `layout`.
        unsafe { dealloc(base, layout) };
    }
}

#[test]
fn a_growth_the_heap_refuses_is_given_back() {
    static UNGROWN: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());
    static END: Mutex<usize> = Mutex::new(0);
    fn grow_too_much(end: usize, _min: usize) -> Option<usize> {
        *END.lock().unwrap() = end;
        Some(2 * ARENA) // more than the arena has room for: the buddy heap refuses
    }
    fn ungrow(start: usize, len: usize) {
        UNGROWN.lock().unwrap().push((start, len));
    }
    let (base, layout) = arena();
    let heap = heap_over(HeapKind::Buddy, base, FIRST);
    heap.set_grow(grow_too_much);
    heap.set_ungrow(ungrow);
    let before = heap.stats().unwrap();
    let big = Layout::from_size_align(128 * 1024, 8).unwrap();
    assert!(
        heap.allocate(big).is_err(),
        "the refused growth cannot serve the request"
    );
    let end = *END.lock().unwrap();
    assert_eq!(
        *UNGROWN.lock().unwrap(),
        vec![(end, 2 * ARENA)],
        "the mapped range went back"
    );
    assert_eq!(heap.times_grown(), 0);
    assert_eq!(heap.stats().unwrap(), before, "the heap is unchanged");
    heap.with(|h| h.check()).unwrap().unwrap();
    // The heap (no Drop) is not used past here.
    // SAFETY: the heap is done with the arena.
    unsafe { dealloc(base, layout) };
}

/// The simulated VMM of the growth property test: bytes mapped at the heap's
/// end, and the end of the arena.
static MAPPED: Mutex<(usize, usize)> = Mutex::new((0, 0));

fn sim_grow(end: usize, min: usize) -> Option<usize> {
    let mut m = MAPPED.lock().unwrap();
    let len = min.max(16 * 1024).next_multiple_of(PAGE_SIZE);
    let limit = m.1;
    // Like the kernel's hook: map nothing when the arena has no room.
    if end + len > limit {
        return None;
    }
    m.0 += len;
    Some(len)
}

fn sim_ungrow(_start: usize, len: usize) {
    MAPPED.lock().unwrap().0 -= len;
}

/// Point 4 of the heap issue: random allocations, impossible ones included
/// (larger than the arena or than the largest block), through the growable
/// heap; after every step the bytes the hooks have mapped equal what the
/// heap holds, and impossible requests fail without mapping anything.
#[test]
fn soak_growth_maps_exactly_what_the_heap_holds() {
    for &kind in HeapKind::ALL {
        let (base, layout) = arena();
        *MAPPED.lock().unwrap() = (FIRST, base.addr() + ARENA);
        let heap = heap_over(kind, base, FIRST);
        heap.set_grow(sim_grow);
        heap.set_ungrow(sim_ungrow);
        let held = |heap: &KernelHeap| heap.with(|h| h.region_end()).unwrap() - base.addr();
        let mut rng = Rng::new(0x6E0 ^ kind as u64);
        let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
        for step in 0..soak_ops(4000) {
            let r = rng.below(20);
            if r == 0 {
                // Impossible: larger than the whole arena (100 MB, as the
                // shell's `alloc 100000000`).
                let before = MAPPED.lock().unwrap().0;
                let l = Layout::from_size_align(100_000_000, 8).unwrap();
                assert!(heap.allocate(l).is_err(), "{kind:?}: step {step}");
                assert_eq!(
                    MAPPED.lock().unwrap().0,
                    before,
                    "{kind:?}: step {step} mapped"
                );
            } else if r < 12 || live.is_empty() {
                let size = 1 + rng.below(if r == 1 { 200_000 } else { 3000 });
                let l = Layout::from_size_align(size, 8 << rng.below(3)).unwrap();
                if let Ok(p) = heap.allocate(l) {
                    live.push((p, l));
                }
            } else {
                let (p, l) = live.swap_remove(rng.below(live.len()));
                heap.deallocate(p, l).unwrap();
            }
            assert_eq!(
                MAPPED.lock().unwrap().0,
                held(&heap),
                "{kind:?}: step {step}: mapped bytes differ from the heap's"
            );
        }
        for (p, l) in live {
            heap.deallocate(p, l).unwrap();
        }
        heap.with(|h| h.check()).unwrap().unwrap();
        assert_eq!(heap.bad_frees(), 0);
        // The heap (no Drop) is not used past here.
        // SAFETY: the heap is done with the arena.
        unsafe { dealloc(base, layout) };
    }
}

#[test]
fn over_builds_the_kernel_heap_and_realloc_stays_in_place() {
    let (base, layout) = arena();
    // On the block grid (9 bytes below a page), so the heap is whole blocks.
    let grid = crate::mm::heap::grid_base(base);
    // SAFETY: the arena is ours until freed below.
    let heap = unsafe { KernelHeap::over(HeapKind::Buddy, grid, ARENA - PAGE_SIZE) }.unwrap();
    assert_eq!(heap.kind(), Some(HeapKind::Buddy));
    // Above the slabs' cut-off: a buddy block.
    let n = 3 * crate::mm::heap::slab::CUTOFF;
    let l = Layout::from_size_align(n, 8).unwrap();
    // SAFETY: valid layouts; pointers are used only while live.
    unsafe {
        // A block whose upper buddy (16 KiB) is free (others are held
        // aside meanwhile, then freed).
        let mut aside = Vec::new();
        let p = loop {
            let p = heap.alloc(l);
            assert!(!p.is_null());
            let up = p.addr() + (1 << 14);
            let upper = heap.with(|h| h.as_buddy().unwrap().block_of(up)).unwrap();
            if upper.is_some_and(|b| b.free && b.scale.0 >= 14 && b.addr + 9 == up) {
                break p;
            }
            aside.push(p);
        };
        for a in aside {
            heap.dealloc(a, l);
        }
        p.write_bytes(0xAB, n);
        // n + 9 fits a 16 KiB block; growing to 2n needs 32 KiB: the free
        // upper buddy is absorbed, the pointer stays.
        let q = heap.realloc(p, l, 2 * n);
        assert_eq!(q, p);
        assert!((0..n).all(|i| *q.add(i) == 0xAB));
        // Shrinking stays in place and gives back the upper halves.
        let r = heap.realloc(q, Layout::from_size_align(2 * n, 8).unwrap(), n / 2);
        assert_eq!(r, p);
        // The buddy taken: growing moves and copies.
        let half = Layout::from_size_align(n / 2, 8).unwrap();
        let other = heap.alloc(half);
        let moved = heap.realloc(r, half, n);
        assert_ne!(moved, r);
        assert!((0..n / 2).all(|i| *moved.add(i) == 0xAB));
        heap.dealloc(moved, l);
        heap.dealloc(other, half);
        // A slab slot: in place within its slot (100 bytes: the 128-byte
        // class), moved and copied beyond it.
        let s = Layout::from_size_align(100, 8).unwrap();
        let a = heap.alloc(s);
        a.write_bytes(0xCD, 100);
        let b = heap.realloc(a, s, 120);
        assert_eq!(b, a);
        let c = heap.realloc(b, Layout::from_size_align(120, 8).unwrap(), 200);
        assert_ne!(c, b);
        assert!((0..100).all(|i| *c.add(i) == 0xCD));
        heap.dealloc(c, Layout::from_size_align(200, 8).unwrap());
        // A realloc of a pointer the heap did not hand out is refused and counted.
        let wild = base.add(ARENA / 2 + 3);
        assert!(heap.realloc(wild, l, 300).is_null());
        assert_eq!(heap.last_bad_free(), Some(wild.addr()));
    }
    heap.with(|h| h.check()).unwrap().unwrap();
    let free = heap.stats().unwrap();
    assert_eq!(free.allocations, 0);
    // The heap (no Drop) is not used past here.
    // SAFETY: the heap is done with the arena.
    unsafe { dealloc(base, layout) };
}

/// The kernel's form: a `static` built by the `const fn`.
static STATIC_HEAP: KernelHeap = KernelHeap::empty();

#[test]
fn a_static_heap_is_empty_until_init() {
    let l = Layout::from_size_align(8, 8).unwrap();
    // SAFETY: a valid layout; an empty heap returns null.
    assert!(unsafe { STATIC_HEAP.alloc(l) }.is_null());
    let buf: &'static mut [u8] = vec![0u8; 64 * 1024].leak();
    // SAFETY: the leaked buffer lives forever and is used by nothing else.
    STATIC_HEAP.init(
        unsafe { AnyHeap::new(HeapKind::Buddy, buf.as_mut_ptr(), buf.len(), buf.len()) }.unwrap(),
    );
    // SAFETY: a valid layout; the pointer is freed with it.
    unsafe {
        let p = STATIC_HEAP.alloc(l);
        assert!(!p.is_null() && p.addr().is_multiple_of(8));
        STATIC_HEAP.dealloc(p, l);
    }
    STATIC_HEAP.with(|h| h.check()).unwrap().unwrap();
}
