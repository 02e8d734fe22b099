use super::*;
use crate::mm::family::bit::BitAllocator;
use crate::mm::family::bubble::BubbleAllocator;
use crate::mm::family::{AllocError, FamilyCheckError, Rooted};
use crate::mm::layout::PAGE_SIZE;
use crate::testutil::Arena;
use crate::testutil::{Rng, miri_or, soak_ops};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::alloc::Layout;

/// FreeNOS's `DummyParent`: every range from the host allocator, so the
/// pools are checked against real, separate host memory.
#[derive(Default)]
struct HostParent {
    live: BTreeMap<usize, (*mut u8, Layout)>,
}

impl Allocator for HostParent {
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        let layout = Layout::from_size_align(request.size, request.alignment.max(1))
            .map_err(|_| AllocError::InvalidSize)?;
        // SAFETY: the size is non-zero for every pool.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(AllocError::OutOfMemory);
        }
        let p = ptr.addr();
        self.live.insert(p, (ptr, layout));
        Ok(Range {
            address: p,
            size: request.size,
            alignment: request.alignment,
        })
    }
    fn release(&mut self, address: usize) -> Result<(), AllocError> {
        let (ptr, layout) = self
            .live
            .remove(&address)
            .ok_or(AllocError::InvalidAddress)?;
        // SAFETY: allocated above with this layout.
        unsafe { std::alloc::dealloc(ptr, layout) };
        Ok(())
    }
    fn size(&self) -> usize {
        self.live.values().map(|(_, l)| l.size()).sum()
    }
    fn available(&self) -> usize {
        usize::MAX
    }
    fn base(&self) -> usize {
        0
    }
    fn alignment(&self) -> usize {
        1
    }
    /// The pointer the host allocator gave for the block holding `address`.
    fn pointer(&self, address: usize) -> *mut u8 {
        match self.live.range(..=address).next_back() {
            Some((_, &(ptr, layout))) if address <= ptr.addr() + layout.size() => {
                ptr.with_addr(address)
            }
            _ => core::ptr::without_provenance_mut(address),
        }
    }
}

fn host_pools() -> PoolAllocator<HostParent> {
    // SAFETY: HostParent hands out fresh host memory.
    unsafe { PoolAllocator::new(HostParent::default()) }
}

/// Pools over a bubble allocator over `pages` pages of host memory (the
/// arena: keep it alive as long as the pools).
fn bubble_pools(pages: usize) -> (Arena, PoolAllocator<Rooted<BubbleAllocator>>) {
    let arena = Arena::new(PAGE_SIZE * pages);
    let bubble = BubbleAllocator::new(Range {
        address: arena.start(),
        size: arena.len(),
        alignment: 4,
    })
    .unwrap();
    // SAFETY: the bubble hands out pieces of the arena, returned with the
    // pools so that it outlives them.
    let pa = unsafe { PoolAllocator::new(Rooted::new(bubble, arena.ptr())) };
    (arena, pa)
}

fn pools_of<P: Allocator>(pa: &PoolAllocator<P>, index: usize) -> Vec<PoolInfo> {
    let mut v = Vec::new();
    pa.for_each_pool(index, &mut |p| v.push(p));
    v
}

// FreeNOS PoolConstruct.
#[test]
fn construct() {
    let bubble = BubbleAllocator::new(Range {
        address: Rng::new(1).range(0x1000, 0x4000_0000) & !3,
        size: PAGE_SIZE * 64,
        alignment: 4,
    })
    .unwrap();
    // SAFETY: nothing is allocated in this test, so no memory is touched.
    let pa = unsafe { PoolAllocator::new(bubble) };
    assert_eq!(pa.parent().size(), PAGE_SIZE * 64);
    assert_eq!(
        (pa.base(), pa.available(), pa.size(), pa.alignment()),
        (0, 0, 0, 0)
    );
    for i in 0..=MAX_POOL_INDEX {
        assert_eq!(pa.pool_count(i), 0);
    }
    pa.check().unwrap();
}

// FreeNOS PoolUsage.
#[test]
fn usage() {
    let mut pa = host_pools();
    let r = pa.allocate(Range::request(4, 0)).unwrap();
    assert!(pa.size() > 0);
    assert!(pa.available() > 0);
    assert!(pa.available() < pa.size());
    pa.release(r.address).unwrap();
    assert_eq!((pa.size(), pa.available()), (0, 0));
    assert!(pa.parent().live.is_empty());
}

// FreeNOS PoolAllocate: 100 objects of 64 bytes from a bubble parent land
// one slot apart in the one pool of index 7.
#[test]
fn allocate_from_a_bubble() {
    let (arena, mut pa) = bubble_pools(128);
    for i in 0..100 {
        let r = pa.allocate(Range::request(64, 0)).unwrap();
        assert_eq!((r.size, r.alignment), (64, 0));
        for j in 0..=MAX_POOL_INDEX {
            assert_eq!(pa.pool_count(j), (j == 7) as usize);
        }
        let pool = pools_of(&pa, 7)[0];
        assert_eq!(pool.address, arena.start());
        assert_eq!(
            pool.payload,
            align_up(
                arena.start() + size_of::<Pool>() + pool.bitmap_size,
                POOL_ALIGN
            )
            .unwrap()
        );
        assert_eq!(
            r.address,
            pool.payload + i * 128 + size_of::<ObjectPrefix>()
        );
        assert!(r.address + 64 <= arena.end());
    }
    pa.check().unwrap();
}

// FreeNOS PoolRelease: 2,000 random objects released in random order;
// every pool goes back to the parent.
#[test]
fn release_two_thousand_in_random_order() {
    let mut pa = host_pools();
    let mut rng = Rng::new(2000);
    let mut objs = Vec::new();
    let n = miri_or(2000, 200);
    for _ in 0..n {
        let size = rng.range(1, 257) * 4;
        let r = pa.allocate(Range::request(size, 0)).unwrap();
        assert_eq!(r.size, size);
        assert!(r.address.is_multiple_of(POOL_ALIGN));
        objs.push((r.address, size));
    }
    assert_eq!(pa.objects(), n);
    pa.check().unwrap();
    for i in (1..objs.len()).rev() {
        objs.swap(i, rng.range(0, i + 1));
    }
    for (k, &(a, size)) in objs.iter().enumerate() {
        if k % 2 == 0 {
            pa.release(a).unwrap();
        } else {
            pa.release_sized(a, size).unwrap();
        }
    }
    assert_eq!((pa.size(), pa.available(), pa.objects()), (0, 0, 0));
    assert!(pa.parent().live.is_empty());
}

// FreeNOS PoolIndex.
#[test]
fn objects_go_to_the_right_pool() {
    let mut pa = host_pools();
    assert_eq!(
        pa.allocate(Range::request(0, 0)),
        Err(AllocError::InvalidSize)
    );
    for i in 2..22 {
        let size = 1usize << i;
        let actual = size + size_of::<ObjectPrefix>() + size_of::<ObjectPostfix>();
        let index = (2..28).find(|&x| (1usize << x) >= actual).unwrap();
        let r = pa.allocate(Range::request(size, 0)).unwrap();
        assert_eq!(pool_index(size), Some(index));
        let pool = pools_of(&pa, index)[0];
        // SAFETY: the prefix of a live object.
        let prefix = unsafe {
            (pa.pointer(r.address - size_of::<ObjectPrefix>()) as *const ObjectPrefix).read()
        };
        assert_eq!(prefix.signature, OBJECT_SIGNATURE);
        assert_eq!(prefix.pool.addr(), pool.address);
        assert_eq!(pool.index, index);
        pa.release(r.address).unwrap();
    }
    assert_eq!(pool_index(1 << 27), None);
    assert_eq!(
        pa.allocate(Range::request(1 << 27, 0)),
        Err(AllocError::InvalidSize)
    );
}

// FreeNOS PoolLayout.
#[test]
fn pool_layout() {
    let mut pa = host_pools();
    let r = pa.allocate(Range::request(64, 0)).unwrap();
    let pool = pools_of(&pa, 7)[0];
    // SAFETY: reading the live pool header.
    let bitmap = unsafe {
        (*pa.pointer(pool.address).cast::<Pool>())
            .bits
            .as_words()
            .as_ptr()
    }
    .addr();
    assert_eq!(bitmap, pool.address + size_of::<Pool>());
    assert!(r.address >= pool.address + size_of::<Pool>() + pool.bitmap_size);
    assert_eq!(pool.bitmap_size, pool.objects.div_ceil(32) * 4);
    pa.release(r.address).unwrap();
}

// FreeNOS PoolPrevNext.
#[test]
fn pools_link_and_unlink() {
    let mut pa = host_pools();
    let mut objs = Vec::new();
    for _ in 0..128 {
        objs.push(pa.allocate(Range::request(64, 0)).unwrap().address);
        assert_eq!(pa.pool_count(7), 1);
    }
    let first = pools_of(&pa, 7)[0];
    assert_eq!(first.objects, 128);
    let extra = pa.allocate(Range::request(64, 0)).unwrap();
    let ps = pools_of(&pa, 7);
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[1], PoolInfo { used: 128, ..first });
    // SAFETY: reading live pool headers' links.
    unsafe {
        let head = pa.pointer(ps[0].address).cast::<Pool>();
        assert!((*head).prev.is_null());
        assert_eq!((*head).next.addr(), first.address);
        assert_eq!((*(*head).next).prev, head);
        assert!((*(*head).next).next.is_null());
    }
    pa.release(extra.address).unwrap();
    assert_eq!(pools_of(&pa, 7), [first]);
    for a in objs {
        pa.release(a).unwrap();
    }
    assert_eq!(pa.pool_count(7), 0);
}

// FreeNOS PoolObjectSize and PoolObjectCount.
#[test]
fn object_size_and_count() {
    for i in 2..=27 {
        assert_eq!(object_size(i), 1 << i);
    }
    assert_eq!(object_count(4), 4 * 1024);
    assert_eq!(object_count(32), 512);
    assert_eq!(object_count(2048), 8);
    assert_eq!(object_count(4096), 4);
    assert_eq!(object_count(16 * 1024), 1);
    assert_eq!(object_count(1024 * 1024), 1);
}

/// Later pools of one size grow: the n-th new pool holds n times as many.
#[test]
fn busy_sizes_get_bigger_pools() {
    let mut pa = host_pools();
    let mut objs = Vec::new();
    for _ in 0..(8 + 8 + 16) {
        objs.push(pa.allocate(Range::request(2000, 0)).unwrap().address);
    }
    let counts: Vec<_> = pools_of(&pa, 11).iter().map(|p| p.objects).collect();
    assert_eq!(counts, [16, 8, 8]);
    for a in objs {
        pa.release(a).unwrap();
    }
}

fn state<P: Allocator>(pa: &PoolAllocator<P>) -> (String, usize, usize, usize) {
    let mut s = String::new();
    pa.dump(&mut s).unwrap();
    (s, pa.size(), pa.available(), pa.objects())
}

#[test]
fn corruption_is_reported_not_fatal() {
    let mut pa = host_pools();
    let r = pa.allocate(Range::request(24, 0)).unwrap();
    let keep = pa.allocate(Range::request(24, 0)).unwrap();
    let before = state(&pa);
    // SAFETY: writing into (and one word past) our own live object.
    unsafe {
        let p = pa.pointer(r.address).cast::<u32>();
        for i in 0..7 {
            p.add(i).write(0xDEAD_BEEF);
        }
    }
    assert_eq!(pa.release_sized(r.address, 24), Err(AllocError::Corrupted));
    assert_eq!(state(&pa), before);
    assert_eq!(pa.check(), Ok(()), "the slot guard is still intact");
    // Repair the postfix: the object can go.
    // SAFETY: the postfix word of our object.
    unsafe {
        pa.pointer(r.address + 24)
            .cast::<u32>()
            .write(OBJECT_SIGNATURE)
    };
    pa.release_sized(r.address, 24).unwrap();
    // An underflow into the prefix.
    // SAFETY: the prefix of our live object.
    unsafe {
        pa.pointer(keep.address - size_of::<ObjectPrefix>())
            .cast::<u32>()
            .write(0)
    };
    assert_eq!(pa.release(keep.address), Err(AllocError::Corrupted));
    assert_eq!(pa.check(), Err(FamilyCheckError::PoolGuardOverwritten));
    assert_eq!(
        FamilyCheckError::PoolGuardOverwritten.to_string(),
        "pool: object guard overwritten"
    );
    // SAFETY: restore it.
    unsafe {
        pa.pointer(keep.address - size_of::<ObjectPrefix>())
            .cast::<u32>()
            .write(OBJECT_SIGNATURE)
    };
    pa.release(keep.address).unwrap();
    assert_eq!(pa.size(), 0);
}

#[test]
fn bad_releases_change_nothing() {
    let mut pa = host_pools();
    let a = pa.allocate(Range::request(40, 0)).unwrap();
    let b = pa.allocate(Range::request(40, 0)).unwrap();
    pa.release(a.address).unwrap();
    let before = state(&pa);
    assert_eq!(
        pa.release(a.address),
        Err(AllocError::InvalidAddress),
        "double free"
    );
    assert_eq!(pa.release(b.address + 4), Err(AllocError::InvalidAddress));
    assert_eq!(pa.release(b.address - 64), Err(AllocError::InvalidAddress));
    assert_eq!(pa.release(8), Err(AllocError::InvalidAddress));
    assert_eq!(pa.release(0), Err(AllocError::InvalidAddress));
    assert_eq!(
        pa.release_sized(b.address, 4000),
        Err(AllocError::InvalidSize)
    );
    assert_eq!(
        pa.allocate(Range::request(8, 64)),
        Err(AllocError::InvalidAlignment)
    );
    assert_eq!(
        pa.allocate(Range::request(8, 3)),
        Err(AllocError::InvalidAlignment)
    );
    assert_eq!(state(&pa), before);
    pa.release_sized(b.address, 40).unwrap();
}

/// A parent that refuses releases (a bubble) keeps its empty pools, as in FreeNOS.
#[test]
fn a_parent_that_never_releases_keeps_the_pool() {
    let (_arena, mut pa) = bubble_pools(8);
    let r = pa.allocate(Range::request(100, 0)).unwrap();
    pa.release(r.address).unwrap();
    assert_eq!(pa.pool_count(7), 1);
    let again = pa.allocate(Range::request(100, 0)).unwrap();
    assert_eq!(pa.pool_count(7), 1, "the kept pool is reused");
    assert_eq!(
        again.address,
        r.address + 128,
        "next fit: the following slot"
    );
    assert_eq!(
        pa.allocate(Range::request(30_000, 0)),
        Err(AllocError::OutOfMemory)
    );
}

#[test]
fn pool_soak_over_a_bit_allocator() {
    let arena = Arena::new(PAGE_SIZE * 256);
    let w = BitAllocator::<Vec<u32>>::words_needed(arena.len(), 256);
    let parent = BitAllocator::new(
        Range {
            address: arena.start(),
            size: arena.len(),
            alignment: 4,
        },
        256,
        vec![0u32; w],
        vec![0u32; w],
    )
    .unwrap();
    // SAFETY: the bit allocator hands out pieces of the arena, which outlives `pa`.
    let mut pa = unsafe { PoolAllocator::new(Rooted::new(parent, arena.ptr())) };
    let mut rng = Rng::new(0x9001);
    let mut live: BTreeMap<usize, (usize, u8)> = BTreeMap::new();
    let mut keys: Vec<usize> = Vec::new();
    let mut freed: Vec<usize> = Vec::new();
    let ops = soak_ops(30_000);
    let (mut allocs, mut bad) = (0, 0);
    for step in 0..ops {
        let r = rng.range(0, 20);
        if r == 0 {
            // Bad input: double free, interior pointer, wild pointer, wrong size.
            let before = state(&pa);
            let res = match rng.range(0, 4) {
                0 if !freed.is_empty() => {
                    let a = freed[rng.range(0, freed.len())];
                    if live.contains_key(&a) {
                        continue;
                    }
                    pa.release(a)
                }
                1 if !keys.is_empty() => {
                    pa.release(keys[rng.range(0, keys.len())] + 4 * rng.range(1, 4))
                }
                2 if !keys.is_empty() => {
                    let a = keys[rng.range(0, keys.len())];
                    let size = live[&a].0;
                    pa.release_sized(a, size * 4 + 64)
                }
                _ => pa.release(arena.end() + rng.range(0, 1 << 20)),
            };
            assert!(res.is_err());
            assert_eq!(state(&pa), before);
            bad += 1;
        } else if r < 11 && live.len() < 500 || keys.is_empty() {
            let size = if rng.chance(1, 8) {
                rng.range(1, 3000)
            } else {
                rng.range(1, 200)
            };
            match pa.allocate(Range::request(size, 0)) {
                Ok(got) => {
                    let a = got.address;
                    assert!(a.is_multiple_of(POOL_ALIGN));
                    assert!(a >= arena.start() && a + size <= arena.end());
                    if let Some((&q, &(qs, _))) = live.range(..a).next_back() {
                        assert!(q + qs <= a);
                    }
                    if let Some((&q, _)) = live.range(a..).next() {
                        assert!(a + size <= q);
                    }
                    let byte = rng.next_u64() as u8;
                    // SAFETY: our fresh object.
                    unsafe { ptr::write_bytes(pa.pointer(a), byte, size) };
                    live.insert(a, (size, byte));
                    keys.push(a);
                    freed.retain(|&f| f != a);
                    allocs += 1;
                }
                Err(e) => assert_eq!(e, AllocError::OutOfMemory),
            }
        } else {
            let a = keys.swap_remove(rng.range(0, keys.len()));
            let (size, byte) = live.remove(&a).unwrap();
            // SAFETY: our live object.
            let bytes = unsafe { core::slice::from_raw_parts(pa.pointer(a), size) };
            assert!(bytes.iter().all(|&b| b == byte), "object {a:#x} corrupted");
            if rng.chance(1, 2) {
                pa.release_sized(a, size).unwrap();
            } else {
                pa.release(a).unwrap();
            }
            freed.push(a);
            if freed.len() > 32 {
                freed.remove(0);
            }
        }
        assert_eq!(pa.objects(), live.len());
        if step % 101 == 0 {
            pa.check().unwrap();
            pa.parent().inner().check().unwrap();
        }
    }
    assert!(allocs > ops / 4 && bad > ops / 40);
    for (a, (size, _)) in live {
        pa.release_sized(a, size).unwrap();
    }
    assert_eq!((pa.size(), pa.available()), (0, 0));
    assert_eq!(pa.parent().available(), arena.len());
}
