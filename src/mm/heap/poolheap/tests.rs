//! Host tests of the pool heap: pools and pages, the arena's regions, growth
//! through a hook, soaks against the model, poisoning, resize in place.

use super::*;
use crate::mm::family::{AllocError, Allocator, Range, align_up};
use crate::mm::heap::HeapBackend;
use crate::mm::heap::poison::POISON;
use crate::mm::heap::testkit::{Arena, Soak, heap_soak};
use crate::mm::layout::PAGE_SIZE;
use crate::testutil::{miri_or, soak_ops};

fn heap_on(a: &Arena) -> PoolHeap {
    let mut h = PoolHeap::new();
    // SAFETY: the arena outlives the heap and is used by nothing else.
    unsafe { HeapBackend::add_region_ptr(&mut h, a.ptr(), a.len()).unwrap() };
    h
}

#[test]
fn small_objects_in_pools_large_ones_in_pages() {
    let a = Arena::new(64 * PAGE_SIZE);
    let mut h = heap_on(&a);
    let s = h.stats();
    assert_eq!(s.size, 63 * PAGE_SIZE, "one page holds the bit arrays");
    assert_eq!((s.free, s.largest_free, s.allocations), (s.size, s.size, 0));
    let small = Layout::from_size_align(24, 8).unwrap();
    let big = Layout::from_size_align(10_000, 8).unwrap();
    let paged = Layout::from_size_align(64, 4096).unwrap();
    let p = h.alloc(small).unwrap();
    let q = h.alloc(big).unwrap();
    let r = h.alloc(paged).unwrap();
    assert!(r.as_ptr().addr().is_multiple_of(4096));
    assert!(q.as_ptr().addr().is_multiple_of(4096));
    assert_eq!(h.pools().objects(), 1);
    assert_eq!(h.large_allocations(), 2);
    assert_eq!(h.stats().allocations, 3);
    h.check().unwrap();
    // Wrong layouts are refused.
    assert_eq!(
        h.dealloc(q, Layout::from_size_align(20_000, 8).unwrap()),
        Err(AllocError::InvalidSize)
    );
    assert!(
        h.dealloc(p, Layout::from_size_align(3000, 8).unwrap())
            .is_err()
    );
    // A pool's own block cannot be freed as a large allocation.
    let pool_block = {
        let mut addr = 0;
        h.pools()
            .for_each_pool(pool::pool_index(24).unwrap(), &mut |i| addr = i.address);
        addr
    };
    let fake = a.pointer(pool_block);
    assert_eq!(
        h.dealloc(fake, Layout::from_size_align(5 * PAGE_SIZE, 8).unwrap()),
        Err(AllocError::InvalidAddress)
    );
    h.dealloc(p, small).unwrap();
    h.dealloc(q, big).unwrap();
    h.dealloc(r, paged).unwrap();
    let s = h.stats();
    assert_eq!(
        (s.free, s.allocations, s.fragmentation_permille()),
        (s.size, 0, 0)
    );
    h.check().unwrap();
}

#[test]
fn arena_regions_and_errors() {
    let a = Arena::new(8 * PAGE_SIZE);
    let mut arena = PageArena::new();
    // SAFETY: pieces of one arena that outlives `arena`.
    unsafe {
        assert_eq!(
            arena.add_region(a.ptr(), PAGE_SIZE),
            Err(AllocError::InvalidSize)
        );
        arena.add_region(a.ptr(), 4 * PAGE_SIZE).unwrap();
        assert_eq!(
            arena.add_region(a.at(a.start() + 2 * PAGE_SIZE), 4 * PAGE_SIZE),
            Err(AllocError::InvalidAddress)
        );
        arena
            .add_region(a.at(a.start() + 4 * PAGE_SIZE), 4 * PAGE_SIZE)
            .unwrap();
    }
    assert_eq!(arena.size(), 6 * PAGE_SIZE);
    let x = arena.allocate(Range::request(3 * PAGE_SIZE, 0)).unwrap();
    let y = arena.allocate(Range::request(3 * PAGE_SIZE, 0)).unwrap();
    assert!(x.address < a.start() + 4 * PAGE_SIZE && y.address > a.start() + 4 * PAGE_SIZE);
    assert_eq!(
        arena.allocate(Range::request(1, 0)),
        Err(AllocError::OutOfMemory)
    );
    assert_eq!(
        arena.release(x.address + PAGE_SIZE),
        Err(AllocError::InvalidAddress)
    );
    arena.release(x.address).unwrap();
    arena.release(y.address).unwrap();
    assert_eq!(arena.available(), 6 * PAGE_SIZE);
    arena.check().unwrap();
}

#[repr(C, align(4096))]
struct Big([u8; 1 << 20]);
static mut BIG: Big = Big([0; 1 << 20]);
static NEXT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

fn grow(end: usize, min: usize) -> Option<usize> {
    use core::sync::atomic::Ordering;
    let base = (&raw mut BIG).addr();
    let len = align_up(min, 16 * PAGE_SIZE)?;
    let off = NEXT.fetch_add(len, Ordering::Relaxed);
    (off + len <= 1 << 20 && end == base + off).then_some(len)
}

/// The pool heap as a `GlobalAlloc`, growing a region at a time.
#[test]
fn locked_pool_heap_grows() {
    use crate::mm::heap::{AnyHeap, KernelHeap};
    use core::alloc::GlobalAlloc;
    use core::sync::atomic::Ordering;
    static HEAP: KernelHeap = KernelHeap::empty();
    let mut h = PoolHeap::new();
    // SAFETY: the first 16 pages of BIG, used by nothing else.
    unsafe { HeapBackend::add_region_ptr(&mut h, (&raw mut BIG).cast(), 16 * PAGE_SIZE).unwrap() };
    NEXT.store(16 * PAGE_SIZE, Ordering::Relaxed);
    HEAP.init(AnyHeap::Pool(h));
    HEAP.set_grow(grow);
    let layouts = [
        Layout::from_size_align(40, 8).unwrap(),
        Layout::from_size_align(9000, 4096).unwrap(),
        Layout::from_size_align(700, 4).unwrap(),
    ];
    let mut ps = alloc::vec::Vec::new();
    for i in 0..150 {
        let l = layouts[i % 3];
        // SAFETY: non-zero sizes.
        let p = unsafe { HEAP.alloc(l) };
        assert!(!p.is_null() && p.addr().is_multiple_of(l.align()));
        ps.push((p, l));
    }
    assert!(HEAP.times_grown() > 0);
    assert_eq!(HEAP.with(|h| h.check()), Some(Ok(())));
    for (p, l) in ps {
        // SAFETY: allocated above with this layout.
        unsafe { HEAP.dealloc(p, l) };
    }
    assert_eq!(HEAP.bad_frees(), 0);
    let s = HEAP.stats().unwrap();
    assert_eq!((s.allocations, s.free), (0, s.size));
}

/// A heap that grows in small steps (as the kernel's grow hook would
/// give it) still reaches many times MAX_ARENAS steps' worth of memory,
/// because it asks for geometric growth.
#[test]
fn pool_heap_grows_past_max_arenas_small_steps() {
    use crate::mm::heap::{AnyHeap, KernelHeap};
    use core::sync::atomic::{AtomicUsize, Ordering};
    const LEN: usize = 16 << 20;
    const STEP: usize = 16 * PAGE_SIZE;
    static BASE: AtomicUsize = AtomicUsize::new(0);
    static USED: AtomicUsize = AtomicUsize::new(0);
    fn grow(end: usize, min: usize) -> Option<usize> {
        let len = align_up(min.max(STEP), PAGE_SIZE)?;
        let used = USED.load(Ordering::Relaxed);
        if end != BASE.load(Ordering::Relaxed) + used || used + len > LEN {
            return None;
        }
        USED.store(used + len, Ordering::Relaxed);
        Some(len)
    }
    static HEAP: KernelHeap = KernelHeap::empty();
    let a = Arena::new(LEN);
    BASE.store(a.start(), Ordering::Relaxed);
    USED.store(STEP, Ordering::Relaxed);
    let mut h = PoolHeap::new();
    // SAFETY: the first STEP bytes of the arena; `grow` hands out the rest.
    unsafe { HeapBackend::add_region_ptr(&mut h, a.ptr(), STEP).unwrap() };
    HEAP.init(AnyHeap::Pool(h));
    HEAP.set_grow(grow);
    let big = Layout::from_size_align(40_000, 8).unwrap();
    let small = Layout::from_size_align(300, 8).unwrap();
    let mut live = alloc::vec::Vec::new();
    // 4 MiB in all: 64 times the first region, 16 times MAX_ARENAS steps.
    for i in 0..100 {
        let l = if i % 2 == 0 { big } else { small };
        let p = HEAP
            .allocate(l)
            .unwrap_or_else(|e| panic!("allocation {i}: {e:?}"));
        live.push((p, l));
    }
    for _ in 0..50 {
        live.push((HEAP.allocate(big).unwrap(), big));
    }
    assert!(
        HEAP.times_grown() < MAX_ARENAS,
        "{} growths",
        HEAP.times_grown()
    );
    assert_eq!(HEAP.with(|h| h.check()), Some(Ok(())));
    for (p, l) in live {
        HEAP.deallocate(p, l).unwrap();
    }
    let s = HEAP.stats().unwrap();
    assert_eq!((s.allocations, s.free), (0, s.size));
    assert!(s.size > 4 << 20, "{s:?}");
}

#[test]
fn poolheap_soak() {
    // Under Miri, arenas a quarter the size: Miri's few hundred steps never
    // fill them, and every `check()` and snapshot walks all of them.
    let a = Arena::new(miri_or(160, 40) * PAGE_SIZE);
    let b = Arena::new(miri_or(32, 8) * PAGE_SIZE);
    let mut h = heap_on(&a);
    // SAFETY: as in heap_on.
    unsafe { HeapBackend::add_region_ptr(&mut h, b.ptr(), b.len()).unwrap() };
    let ops = soak_ops(30_000);
    let rep = heap_soak(
        &mut h,
        &[&a, &b],
        &Soak {
            seed: 0x9001_4EA9,
            ops,
            max_size: 12_000,
            aligns: &[1, 4, 8, 16, 4096],
            // Under Miri's few hundred steps, enough bad requests of each kind.
            bad_every: miri_or(53, 7),
            check_every: 83,
            max_live: 250,
            exact_sizes: false,
        },
    );
    rep.assert_busy(ops);
    assert!(rep.in_place > 0 && rep.not_in_place > 0, "{rep:?}");
    let s = h.stats();
    assert_eq!((s.free, s.allocations), (s.size, 0));
}

#[test]
fn poolheap_soak_poisoned() {
    // Under Miri, an arena a quarter the size (as in `poolheap_soak`).
    let a = Arena::new(miri_or(160, 40) * PAGE_SIZE);
    let mut h = heap_on(&a);
    assert!(h.set_poison(true));
    let ops = soak_ops(10_000);
    let rep = heap_soak(
        &mut h,
        &[&a],
        &Soak {
            seed: 0x9001_4EAA,
            ops,
            max_size: 12_000,
            aligns: &[1, 8, 4096],
            bad_every: 53,
            check_every: 29,
            max_live: 150,
            exact_sizes: false,
        },
    );
    rep.assert_busy(ops);
    assert!(h.poisoning());
}

#[test]
fn poolheap_catches_a_write_after_free() {
    let a = Arena::new(64 * PAGE_SIZE);
    let mut h = heap_on(&a);
    crate::mm::heap::testkit::catches_write_after_free(&mut h);
    // And in a freed pool slot (the pool stays: another object lives in it).
    assert!(h.set_poison(true));
    let l = Layout::from_size_align(100, 8).unwrap();
    let p = h.alloc(l).unwrap();
    let q = h.alloc(l).unwrap();
    h.dealloc(p, l).unwrap();
    h.check().unwrap();
    let at = p.as_ptr().wrapping_add(50);
    // SAFETY: a deliberate write after free, undone below.
    unsafe { at.write_volatile(1) };
    let e = h
        .check()
        .expect_err("a write into a freed slot went unnoticed");
    assert_eq!(e.written_after_free(), Some((p.as_ptr().addr(), at.addr())));
    // SAFETY: undo the write.
    unsafe { at.write_volatile(POISON) };
    h.check().unwrap();
    h.dealloc(q, l).unwrap();
    h.check().unwrap();
}

/// In place within a slot size (the postfix moves) or a page count;
/// anything else must move.
#[test]
fn resize_in_place_within_a_slot_size_or_a_page_count() {
    let a = Arena::new(64 * PAGE_SIZE);
    let mut h = heap_on(&a);
    let l = Layout::from_size_align(100, 8).unwrap();
    let p = h.alloc(l).unwrap();
    let slot = pool::object_size(pool::pool_index(100).unwrap());
    let same = (1..slot)
        .rev()
        .find(|&n| pool::pool_index(n) == pool::pool_index(100))
        .unwrap();
    assert_eq!(HeapBackend::resize_in_place(&mut h, p, l, same), Ok(true));
    let l2 = Layout::from_size_align(same, 8).unwrap();
    // The old layout is refused now, the new one frees.
    assert!(HeapBackend::resize_in_place(&mut h, p, l, 10).is_err());
    assert_eq!(
        HeapBackend::resize_in_place(&mut h, p, l2, slot * 2),
        Ok(false)
    );
    h.check().unwrap();
    h.dealloc(p, l2).unwrap();
    let big = Layout::from_size_align(5000, 8).unwrap();
    let q = h.alloc(big).unwrap();
    assert_eq!(HeapBackend::resize_in_place(&mut h, q, big, 8000), Ok(true));
    let big2 = Layout::from_size_align(8000, 8).unwrap();
    assert_eq!(
        HeapBackend::resize_in_place(&mut h, q, big2, 9000),
        Ok(false)
    );
    assert_eq!(
        HeapBackend::resize_in_place(&mut h, q, big2, 100),
        Ok(false)
    );
    h.dealloc(q, big2).unwrap();
    h.check().unwrap();
    let s = h.stats();
    assert_eq!((s.free, s.allocations), (s.size, 0));
}
