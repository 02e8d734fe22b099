//! In-kernel tests of the allocator family and the heap chosen at boot.
//!
//! `make test-kernel` boots these under every `heap=` (buddy, pool,
//! gaptree, firstfit), so the heap tests check whichever design is the
//! kernel's `#[global_allocator]`. The family tests run each allocator over
//! real kernel memory: blocks of the kernel heap, and (for the split
//! allocator) physical frames from the PMM mapped at a window by the VMM.
//!
//! ```text
//!   kernel heap (any design) ──▶ heap blocks ──▶ Bit, Bubble, Pool(Bit), channel pages
//!   PMM frames ──map_range_contiguous──▶ KernelPrivate window ──▶ SplitAllocator
//!   `channel on` + KEY_TAP(key) as IRQ 1 calls it ──▶ `channel` output
//! ```

use crate::arch::x86::without_interrupts;
use crate::kassert;
use crate::kernel::boot::boot_info;
use crate::kernel::heap as kheap;
use crate::kernel::ktests::kit::Test;
use crate::kernel::{commands, interrupts, memory};
use crate::mm::addr::{PhysAddr, VirtAddr};
use crate::mm::family::split::SPARSE_CHUNK_PAGES;
use crate::mm::family::{
    AllocError, Allocator, BitAllocator, BubbleAllocator, ChannelError, Consumer, PoolAllocator,
    Producer, Range, Reset, SparseError, SplitAllocator,
};
use crate::mm::frame::FrameAllocator;
use crate::mm::heap::HeapKind;
use crate::mm::heap::{HeapBackend, HeapStats};
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, Release};
use crate::mm::vm::region::Region;
use crate::shell::input::Key;
use alloc::alloc::{Layout, alloc_zeroed, dealloc};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ptr::NonNull;

pub static TESTS: &[Test] = &[
    Test {
        name: "family_heap_is_the_one_chosen_at_boot",
        run: heap_is_the_one_chosen,
    },
    Test {
        name: "family_heap_stats_are_sane",
        run: heap_stats_are_sane,
    },
    Test {
        name: "family_heap_burst_keeps_check_passing",
        run: heap_burst,
    },
    Test {
        name: "family_heap_grows_through_the_vmm",
        run: heap_grows,
    },
    Test {
        name: "family_heap_refuses_and_counts_bad_frees",
        run: heap_bad_frees,
    },
    Test {
        name: "family_bit_allocator_on_kernel_memory",
        run: bit_allocator,
    },
    Test {
        name: "family_bubble_allocator_on_kernel_memory",
        run: bubble_allocator,
    },
    Test {
        name: "family_pool_allocator_on_kernel_memory",
        run: pool_allocator,
    },
    Test {
        name: "family_split_allocator_maps_real_frames",
        run: split_allocator,
    },
    Test {
        name: "family_channel_round_trip_full_and_empty",
        run: channel_round_trip,
    },
    Test {
        name: "family_channel_command_with_the_keyboard_tap",
        run: channel_command,
    },
    Test {
        name: "family_heapinfo_names_the_heap",
        run: heapinfo_command,
    },
];

type TestResult = Result<(), String>;

/// A block of kernel heap memory, zeroed and given back when dropped.
struct HeapBlock {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl HeapBlock {
    fn new(size: usize, align: usize) -> Result<HeapBlock, String> {
        let layout = Layout::from_size_align(size, align).map_err(|e| format!("{e}"))?;
        // SAFETY: tests ask for non-zero sizes.
        let ptr = NonNull::new(unsafe { alloc_zeroed(layout) }).ok_or_else(|| {
            format!(
                "the kernel heap has no {size} bytes (grown {} times: {:?})",
                kheap::times_grown(),
                kheap::stats()
            )
        })?;
        Ok(HeapBlock { ptr, layout })
    }
    fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }
    fn range(&self) -> Range {
        Range {
            address: self.addr(),
            size: self.layout.size(),
            alignment: 0,
        }
    }
}

impl Drop for HeapBlock {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; freed once.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

fn stats() -> Result<HeapStats, String> {
    kheap::stats().ok_or_else(|| String::from("no kernel heap"))
}

fn heap_check() -> TestResult {
    match kheap::with(|h| h.check()) {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(format!("heap check: {e}")),
        None => Err(String::from("no kernel heap")),
    }
}

/// Fill `len` bytes at `addr` with `v`.
fn fill(addr: usize, len: usize, v: u8) {
    // SAFETY: callers pass memory they own.
    unsafe { core::ptr::write_bytes(addr as *mut u8, v, len) };
}

/// True when every one of `len` bytes at `addr` is `v`.
fn holds(addr: usize, len: usize, v: u8) -> bool {
    // SAFETY: callers pass memory they own.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
        .iter()
        .all(|&b| b == v)
}

// ---- the kernel heap ----

fn heap_is_the_one_chosen() -> TestResult {
    let asked = boot_info().option("heap");
    let expect = asked
        .and_then(|v| HeapKind::parse(v).ok())
        .unwrap_or(HeapKind::Buddy);
    let kind = kheap::kind();
    kassert!(kind == expect, "heap= {asked:?} but the heap is {kind:?}");
    let name = kheap::with(|h| h.name());
    kassert!(
        name == Some(kind.name()),
        "the global allocator says {name:?}, the kernel {}",
        kind.name()
    );
    Ok(())
}

fn heap_stats_are_sane() -> TestResult {
    let before = stats()?;
    // black_box: without it the compiler may drop the allocation altogether.
    let boxed = core::hint::black_box(alloc::boxed::Box::new(0x5A5A_5A5Au32));
    let s = stats()?;
    kassert!(s.size > 0, "empty heap: {s:?}");
    kassert!(s.used + s.free == s.size, "used + free != size: {s:?}");
    kassert!(s.largest_free <= s.free, "largest free above free: {s:?}");
    kassert!(
        s.allocations == before.allocations + 1,
        "a Box did not count: {before:?} -> {s:?}"
    );
    kassert!(
        s.used > before.used,
        "a Box used nothing: {before:?} -> {s:?}"
    );
    let mapped = kheap::mapped_bytes();
    kassert!(
        s.size <= mapped,
        "the heap manages {} bytes but only {mapped} are mapped",
        s.size
    );
    kassert!(
        s.fragmentation_permille() <= 1000,
        "fragmentation {}",
        s.fragmentation_permille()
    );
    kassert!(*boxed == 0x5A5A_5A5A, "the Box lost its value");
    drop(boxed);
    let after = stats()?;
    kassert!(
        after.allocations == before.allocations,
        "the Box was not given back: {before:?} -> {after:?}"
    );
    heap_check()
}

fn heap_burst() -> TestResult {
    const N: usize = 300;
    let mut live: Vec<(NonNull<u8>, Layout, u8)> = Vec::with_capacity(N);
    let bad = kheap::bad_frees();
    let before = stats()?;
    for i in 0..N {
        let size = 1 + (i * 73) % 2000;
        let align = 1 << (i % 13).min(12);
        let layout = Layout::from_size_align(size, align).map_err(|e| format!("{e}"))?;
        // SAFETY: non-zero size.
        let p = NonNull::new(unsafe { alloc::alloc::alloc(layout) })
            .ok_or_else(|| format!("allocation {i} ({size} bytes, align {align}) failed"))?;
        kassert!(
            (p.as_ptr() as usize).is_multiple_of(align),
            "{p:?} not aligned to {align}"
        );
        fill(p.as_ptr() as usize, size, i as u8);
        live.push((p, layout, i as u8));
    }
    let mid = stats()?;
    kassert!(
        mid.allocations == before.allocations + N,
        "{N} allocations counted as {}",
        mid.allocations - before.allocations
    );
    kassert!(mid.used + mid.free == mid.size, "{mid:?}");
    heap_check()?;
    // Free every other block, check, then the rest.
    let mut i = 0;
    live.retain(|&(p, layout, v)| {
        i += 1;
        if i % 2 == 0 {
            return true;
        }
        // SAFETY: allocated above with this layout, freed once.
        unsafe { dealloc(p.as_ptr(), layout) };
        let _ = v;
        false
    });
    heap_check()?;
    for (p, layout, v) in live.drain(..) {
        kassert!(
            holds(p.as_ptr() as usize, layout.size(), v),
            "block {v} at {p:?} was overwritten"
        );
        // SAFETY: allocated above with this layout, freed once.
        unsafe { dealloc(p.as_ptr(), layout) };
    }
    let after = stats()?;
    kassert!(
        after.allocations == before.allocations,
        "allocations {} before, {} after freeing everything",
        before.allocations,
        after.allocations
    );
    kassert!(kheap::bad_frees() == bad, "a good free was refused");
    heap_check()
}

fn heap_grows() -> TestResult {
    let s = stats()?;
    let mapped = kheap::mapped_bytes();
    let grown = kheap::times_grown();
    // More than the largest free block (and more than is free): the heap
    // must ask the VMM for pages.
    let size = s.free + 64 * 1024;
    let block = HeapBlock::new(size, 8)?;
    kassert!(
        kheap::times_grown() > grown,
        "a {size}-byte block came without growing ({s:?})"
    );
    let now = kheap::mapped_bytes();
    kassert!(now > mapped, "mapped {mapped} -> {now}");
    fill(block.addr(), size, 0xC3);
    kassert!(holds(block.addr(), size, 0xC3), "the grown block lost data");
    let with = stats()?;
    kassert!(with.size > s.size, "size {} -> {}", s.size, with.size);
    drop(block);
    heap_check()
}

fn heap_bad_frees() -> TestResult {
    let bad = kheap::bad_frees();
    let layout = Layout::new::<u64>();
    let p = kheap::allocate(layout).map_err(|e| format!("allocate: {e}"))?;
    kheap::deallocate(p, layout).map_err(|e| format!("first free: {e}"))?;
    let before = stats()?;
    let twice = kheap::deallocate(p, layout);
    kassert!(twice.is_err(), "a double free was accepted");
    static OUTSIDE: u64 = 0;
    let wild = NonNull::from(&OUTSIDE).cast::<u8>();
    let r = kheap::deallocate(wild, layout);
    kassert!(r.is_err(), "a pointer outside the heap was accepted");
    kassert!(
        kheap::bad_frees() == bad + 2,
        "bad frees {} -> {}",
        bad,
        kheap::bad_frees()
    );
    let after = stats()?;
    kassert!(
        after == before,
        "a refused free changed the heap: {before:?} -> {after:?}"
    );
    heap_check()
}

// ---- the family over kernel memory ----

fn bit_allocator() -> TestResult {
    const CHUNK: usize = 256;
    let block = HeapBlock::new(64 * 1024, PAGE_SIZE)?;
    let words = BitAllocator::<Vec<u32>>::words_needed(block.layout.size(), CHUNK);
    let mut a = BitAllocator::new(block.range(), CHUNK, vec![0; words], vec![0; words])
        .map_err(|e| format!("new: {e}"))?;
    kassert!(
        a.size() == 64 * 1024 && a.available() == a.size(),
        "fresh sizes"
    );
    let mut runs = Vec::new();
    for i in 0..10usize {
        let r = a
            .allocate(Range::request(100 + i * 300, 0))
            .map_err(|e| format!("allocate {i}: {e}"))?;
        kassert!(
            r.size.is_multiple_of(CHUNK) && r.size >= 100 + i * 300,
            "{r:?}"
        );
        kassert!(
            block.range().contains(r.address) && r.end() <= block.range().end(),
            "{r:?} outside"
        );
        fill(r.address, r.size, i as u8 + 1);
        runs.push((r, i as u8 + 1));
    }
    for &(r, v) in &runs {
        kassert!(holds(r.address, r.size, v), "run {r:?} overlapped another");
    }
    let aligned = a
        .allocate(Range::request(CHUNK, 4 * CHUNK))
        .map_err(|e| format!("aligned: {e}"))?;
    kassert!(aligned.address.is_multiple_of(4 * CHUNK), "{aligned:?}");
    a.release(aligned.address).map_err(|e| format!("{e}"))?;
    // A middle run goes back whole; a double or interior release is refused.
    let (mid, _) = runs.remove(5);
    a.release(mid.address)
        .map_err(|e| format!("release: {e}"))?;
    kassert!(
        a.release(mid.address) == Err(AllocError::InvalidAddress),
        "double release accepted"
    );
    let (r0, _) = runs[0];
    let (big, _) = runs[runs.len() - 1];
    kassert!(big.size > CHUNK, "{big:?} is one chunk");
    kassert!(
        a.release(big.address + CHUNK) == Err(AllocError::InvalidAddress),
        "interior release accepted"
    );
    let at = a
        .allocate_at(mid.address, mid.size)
        .map_err(|e| format!("allocate_at the freed run: {e}"))?;
    kassert!(at.address == mid.address, "{at:?} vs {mid:?}");
    kassert!(
        a.allocate_at(r0.address, CHUNK).is_err(),
        "allocate_at over a live run accepted"
    );
    // Fill up: OutOfMemory at the end, nothing more free.
    let mut extra = Vec::new();
    loop {
        match a.allocate(Range::request(CHUNK, 0)) {
            Ok(r) => extra.push(r.address),
            Err(AllocError::OutOfMemory) => break,
            Err(e) => return Err(format!("filling: {e}")),
        }
    }
    kassert!(a.available() == 0, "full but {} available", a.available());
    a.check()?;
    for addr in extra
        .into_iter()
        .chain(runs.iter().map(|(r, _)| r.address))
        .chain([at.address])
    {
        a.release(addr)
            .map_err(|e| format!("release {addr:#x}: {e}"))?;
    }
    kassert!(
        a.available() == a.size() && a.allocations() == 0,
        "leak after release"
    );
    a.check()?;
    Ok(())
}

fn bubble_allocator() -> TestResult {
    let block = HeapBlock::new(8192, 64)?;
    let mut b = BubbleAllocator::new(Range {
        alignment: 8,
        ..block.range()
    })
    .map_err(|e| format!("new: {e}"))?;
    let r1 = b
        .allocate(Range::request(13, 0))
        .map_err(|e| format!("{e}"))?;
    kassert!(r1.address == block.addr() && r1.size == 16, "first: {r1:?}");
    let r2 = b
        .allocate(Range::request(100, 64))
        .map_err(|e| format!("{e}"))?;
    kassert!(
        r2.address.is_multiple_of(64) && r2.address >= r1.end(),
        "aligned: {r2:?}"
    );
    fill(r1.address, r1.size, 0x11);
    fill(r2.address, r2.size, 0x22);
    kassert!(holds(r1.address, r1.size, 0x11), "r1 overwritten");
    kassert!(
        b.release(r1.address) == Err(AllocError::InvalidAddress),
        "a bubble allocator released memory"
    );
    kassert!(
        b.allocate(Range::request(0, 0)) == Err(AllocError::InvalidSize),
        "size 0 accepted"
    );
    kassert!(
        b.allocate(Range::request(8, 3)) == Err(AllocError::InvalidAlignment),
        "alignment 3 accepted"
    );
    let left = b.available();
    kassert!(
        b.allocate(Range::request(left + 8, 0)) == Err(AllocError::OutOfMemory),
        "more than is left was handed out"
    );
    kassert!(
        b.available() == left,
        "a refused request changed the allocator"
    );
    let rest = b
        .allocate(Range::request(left, 0))
        .map_err(|e| format!("{e}"))?;
    kassert!(
        rest.end() == block.range().end() && b.available() == 0,
        "{rest:?}"
    );
    b.check()?;
    Ok(())
}

fn pool_allocator() -> TestResult {
    const CHUNK: usize = 64;
    let block = HeapBlock::new(256 * 1024, PAGE_SIZE)?;
    let words = BitAllocator::<Vec<u32>>::words_needed(block.layout.size(), CHUNK);
    let parent = BitAllocator::new(block.range(), CHUNK, vec![0; words], vec![0; words])
        .map_err(|e| format!("parent: {e}"))?;
    // SAFETY: the parent hands out pieces of `block`, heap memory owned by
    // this test until the pools are dropped (before `block`).
    let mut pools = unsafe { PoolAllocator::new(parent) };
    let sizes = [8usize, 24, 100, 500, 2000];
    let mut objs = Vec::new();
    for i in 0..200usize {
        let size = sizes[i % sizes.len()];
        let r = pools
            .allocate(Range::request(size, 0))
            .map_err(|e| format!("object {i} ({size} bytes): {e}"))?;
        kassert!(
            block.range().contains(r.address),
            "{r:?} outside the parent"
        );
        fill(r.address, size, i as u8);
        objs.push((r.address, size, i as u8));
    }
    kassert!(pools.objects() == 200, "objects {}", pools.objects());
    for &(a, size, v) in &objs {
        kassert!(holds(a, size, v), "object {v} at {a:#x} overwritten");
    }
    pools.check()?;
    // An overflow into the postfix is reported as corruption; nothing changes.
    let (a, size, _) = objs[7];
    let postfix = (a + size.next_multiple_of(4)) as *mut u32;
    // SAFETY: the postfix word of a live object in our block.
    let saved = unsafe { postfix.read() };
    // SAFETY: as above; restored below.
    unsafe { postfix.write(0) };
    let r = pools.release_sized(a, size);
    // SAFETY: as above.
    unsafe { postfix.write(saved) };
    kassert!(
        r == Err(AllocError::Corrupted),
        "overflow into the postfix: {r:?}"
    );
    kassert!(pools.objects() == 200, "a corrupted object was released");
    kassert!(
        pools.release(a + 4) == Err(AllocError::InvalidAddress),
        "an interior pointer was released"
    );
    kassert!(
        pools.release(block.addr() + block.layout.size() + 64) == Err(AllocError::InvalidAddress),
        "a wild pointer was released"
    );
    for (a, size, _) in objs.drain(..) {
        pools
            .release_sized(a, size)
            .map_err(|e| format!("release {a:#x}: {e}"))?;
    }
    kassert!(pools.objects() == 0, "objects left: {}", pools.objects());
    // Empty pools went back to the parent.
    let parent = pools.parent();
    kassert!(
        parent.available() == parent.size(),
        "the parent got back {} of {} bytes",
        parent.available(),
        parent.size()
    );
    pools.check()?;
    Ok(())
}

fn split_allocator() -> TestResult {
    const PAGES: usize = 16;
    const LEN: usize = PAGES * PAGE_SIZE;
    // Frames from the PMM, mapped at a free window in the kernel's private region.
    let (frame, window) = memory::with(|m| {
        let frame = m.frames.allocate_contiguous(PAGES, 1)?;
        let va = match m.regions.find_free(&m.mapper(), LEN, Region::KernelPrivate) {
            Ok(va) => va,
            Err(_) => {
                let _ = m.frames.free_contiguous(frame, PAGES);
                return None;
            }
        };
        let flags = EntryFlags::WRITABLE | EntryFlags::GLOBAL;
        if m.mapper()
            .map_range_contiguous(va, frame.start_address(), LEN, flags, &mut m.frames)
            .is_err()
        {
            let _ = m.frames.free_contiguous(frame, PAGES);
            return None;
        }
        Some((frame, va))
    })
    .ok_or_else(|| String::from("no frames or no window for the split allocator"))?;
    let r = split_checks(frame.start_address(), window);
    let undone = memory::with(|m| {
        let unmapped = m
            .mapper()
            .unmap_range(window, LEN, Release::Keep, &mut m.frames)
            .is_ok();
        unmapped && m.frames.free_contiguous(frame, PAGES).is_ok()
    });
    r?;
    kassert!(undone, "could not unmap the window or free the frames");
    Ok(())
}

fn split_checks(phys: PhysAddr, window: VirtAddr) -> TestResult {
    const LEN: usize = 16 * PAGE_SIZE;
    let p0 = phys.as_u32() as usize;
    let v0 = window.as_u32() as usize;
    let words = SplitAllocator::<Vec<u32>>::words_needed(LEN, PAGE_SIZE);
    let range = |address| Range {
        address,
        size: LEN,
        alignment: 0,
    };
    let mut s = SplitAllocator::new(
        range(p0),
        range(v0),
        PAGE_SIZE,
        vec![0; words],
        vec![0; words],
    )
    .map_err(|e| format!("new: {e}"))?;
    let translate = |va: usize| memory::with(|m| m.mapper().translate(VirtAddr(va as u32)));
    // allocate_mapped: both halves agree with the page tables.
    let (pr, vr) = s
        .allocate_mapped(Range::request(2 * PAGE_SIZE, 0))
        .map_err(|e| format!("allocate_mapped: {e}"))?;
    kassert!(vr.address - v0 == pr.address - p0, "{pr:?} vs {vr:?}");
    kassert!(
        s.to_virtual(PhysAddr(pr.address as u32)) == Some(VirtAddr(vr.address as u32)),
        "to_virtual"
    );
    kassert!(
        s.to_physical(VirtAddr(vr.address as u32 + 5)) == Some(PhysAddr(pr.address as u32 + 5)),
        "to_physical"
    );
    for page in 0..2 {
        let off = page * PAGE_SIZE;
        let t = translate(vr.address + off);
        kassert!(
            t == Some(PhysAddr((pr.address + off) as u32)),
            "the page tables map V{:#x} to {t:?}, the split allocator says P{:#x}",
            vr.address + off,
            pr.address + off
        );
    }
    fill(vr.address, vr.size, 0x5C);
    if let Some(lin) = PhysAddr(pr.address as u32).to_linear() {
        kassert!(
            holds(lin.as_u32() as usize, vr.size, 0x5C),
            "the linear space shows other bytes than the window"
        );
    }
    kassert!(
        s.to_virtual(PhysAddr((p0 + LEN) as u32)).is_none(),
        "past the range"
    );
    kassert!(
        s.to_physical(VirtAddr((v0 - 1) as u32)).is_none(),
        "below the window"
    );
    // allocate_sparse: one 8-page chunk through the callback.
    let chunk = SPARSE_CHUNK_PAGES * PAGE_SIZE;
    let mut chunks = Vec::new();
    s.allocate_sparse(chunk, |p| -> Result<(), ()> {
        chunks.push(p);
        Ok(())
    })
    .map_err(|e| format!("allocate_sparse: {e:?}"))?;
    kassert!(
        chunks.len() == 1,
        "{} chunks for one chunk's bytes",
        chunks.len()
    );
    let c = chunks[0];
    let cv = s
        .to_virtual(c)
        .ok_or_else(|| format!("{c} has no window address"))?;
    kassert!(
        translate(cv.as_u32() as usize) == Some(c),
        "chunk {c} not at {cv}"
    );
    fill(cv.as_u32() as usize, chunk, 0x7E);
    kassert!(
        holds(vr.address, vr.size, 0x5C),
        "the chunk overlapped the first pages"
    );
    // Too big now (6 pages left), then a callback that refuses.
    let r = s.allocate_sparse(chunk, |_| -> Result<(), ()> { Ok(()) });
    kassert!(
        r == Err(SparseError::Alloc {
            done: 0,
            error: AllocError::OutOfMemory
        }),
        "{r:?}"
    );
    // The chunk back: 14 pages in one run, room for a chunk the callback refuses.
    s.release(c.as_u32() as usize).map_err(|e| format!("{e}"))?;
    let avail = s.available();
    let r = s.allocate_sparse(chunk, |_| Err("refused"));
    kassert!(
        r == Err(SparseError::Callback {
            done: 0,
            error: "refused"
        }),
        "{r:?}"
    );
    kassert!(s.available() == avail, "a refused chunk was not given back");
    s.release(pr.address).map_err(|e| format!("{e}"))?;
    kassert!(s.available() == LEN, "pages left allocated");
    s.check()?;
    Ok(())
}

// ---- the memory channel ----

fn channel_round_trip() -> TestResult {
    const SIZE: usize = 64;
    let data = HeapBlock::new(PAGE_SIZE, PAGE_SIZE)?;
    let feedback = HeapBlock::new(PAGE_SIZE, PAGE_SIZE)?;
    let (d, f) = (data.ptr.as_ptr(), feedback.ptr.as_ptr());
    // SAFETY: two distinct zeroed heap pages that outlive both endpoints.
    let (mut p, mut c) = unsafe {
        (
            Producer::new(d, f, SIZE, Reset::Hard).map_err(|e| format!("{e:?}"))?,
            Consumer::new(d, f, SIZE, Reset::Hard).map_err(|e| format!("{e:?}"))?,
        )
    };
    let cap = p.capacity();
    kassert!(cap == PAGE_SIZE / SIZE - 2, "capacity {cap}");
    let mut buf = [0u8; SIZE];
    kassert!(
        c.read(&mut buf) == Err(ChannelError::Empty),
        "a fresh channel is not empty"
    );
    let msg = |i: usize| {
        let mut m = [0u8; SIZE];
        m[..8].copy_from_slice(&(i as u64 * 0x0101_0101_0101).to_le_bytes());
        m[SIZE - 1] = i as u8;
        m
    };
    for i in 0..cap {
        p.write(&msg(i)).map_err(|e| format!("write {i}: {e:?}"))?;
    }
    kassert!(
        p.write(&msg(999)) == Err(ChannelError::Full),
        "no Full at capacity {cap}"
    );
    kassert!(
        p.pending() == Ok(cap) && c.pending() == Ok(cap),
        "pending after fill"
    );
    for i in 0..cap {
        c.read(&mut buf).map_err(|e| format!("read {i}: {e:?}"))?;
        kassert!(buf == msg(i), "message {i} was overwritten or reordered");
    }
    kassert!(
        c.read(&mut buf) == Err(ChannelError::Empty),
        "no Empty after draining"
    );
    // Many times around the ring, mostly near full: order kept, Full exact.
    let (mut written, mut read) = (0usize, 0usize);
    for i in 0..20 * cap {
        if i % 4 != 3 && written - read < cap {
            p.write(&msg(written))
                .map_err(|e| format!("write {written}: {e:?}"))?;
            written += 1;
        } else {
            if written - read == cap {
                kassert!(
                    p.write(&msg(0)) == Err(ChannelError::Full),
                    "no Full at {i}"
                );
            }
            c.read(&mut buf)
                .map_err(|e| format!("read {read}: {e:?}"))?;
            kassert!(buf == msg(read), "message {read} overwritten or reordered");
            read += 1;
        }
    }
    while read < written {
        c.read(&mut buf)
            .map_err(|e| format!("read {read}: {e:?}"))?;
        kassert!(buf == msg(read), "message {read} overwritten or reordered");
        read += 1;
    }
    kassert!(
        c.read(&mut buf) == Err(ChannelError::Empty),
        "more than was written"
    );
    kassert!(
        written > 5 * cap,
        "the ring went around only {written} messages"
    );
    p.check().map_err(|e| format!("producer check: {e:?}"))?;
    c.check().map_err(|e| format!("consumer check: {e:?}"))?;
    kassert!(
        p.write(&[0; 8]) == Err(ChannelError::BadLength),
        "a short message was accepted"
    );
    Ok(())
}

/// Run a command line; its output.
fn run(line: &str) -> String {
    let mut out = String::new();
    commands::run(line, &mut out);
    out
}

/// Run a command line and check that its output holds every one of `want`
/// and none of `not` (the output is dropped before returning, so heap
/// figures taken after it do not count it).
fn expect(line: &str, want: &[&str], not: &[&str]) -> TestResult {
    let out = run(line);
    for w in want {
        kassert!(out.contains(w), "`{line}` printed no `{w}`:\n{out}");
    }
    for n in not {
        kassert!(!out.contains(n), "`{line}` printed `{n}`:\n{out}");
    }
    Ok(())
}

fn channel_command() -> TestResult {
    kassert!(
        interrupts::key_tap().is_none(),
        "a key tap is installed before `channel on`"
    );
    let before = stats()?;
    expect("channel on 3", &["error: message size `3`"], &[])?;
    kassert!(
        interrupts::key_tap().is_none(),
        "a refused `channel on` installed the tap"
    );
    expect(
        "channel on 512",
        &["512-byte messages, 7 slots, 6 usable"],
        &[],
    )?;
    expect("channel on", &["error: the channel is already on"], &[])?;
    let on = stats()?;
    kassert!(
        on.allocations == before.allocations + 2,
        "`channel on` should hold two heap pages: {before:?} -> {on:?}"
    );
    let tap = interrupts::key_tap().ok_or_else(|| String::from("no key tap installed"))?;
    // Eight keys as IRQ 1 delivers them: the ring holds six.
    without_interrupts(|| {
        for c in "abcdefgh".chars() {
            tap(Key::Char(c));
        }
    });
    {
        let mut want = Vec::new();
        for (i, c) in "abcdef".chars().enumerate() {
            want.push(format!("index   {i}: seq    {} ", i + 1));
            want.push(format!("key '{c}'"));
        }
        want.push(String::from("read 6 messages, then read() reported Empty"));
        want.push(String::from(
            "8 offered, 6 written, 2 refused as full (none overwritten)",
        ));
        let want: Vec<&str> = want.iter().map(|s| s.as_str()).collect();
        expect("channel", &want, &["key 'g'", "key 'h'"])?;
    }
    without_interrupts(|| tap(Key::Enter));
    expect("channel read", &["index   6: seq    9 ", "key Enter"], &[])?;
    expect(
        "channel fill",
        &["wrote 6 messages; the next write reported Full"],
        &[],
    )?;
    expect(
        "channel read 2",
        &["fill 0", "fill 1", "read 2 messages, 4 still waiting"],
        &["fill 2"],
    )?;
    expect("channel off", &["4 unread dropped"], &[])?;
    kassert!(
        interrupts::key_tap().is_none(),
        "the tap stayed after `channel off`"
    );
    let after = stats()?;
    kassert!(
        after.allocations == before.allocations,
        "the channel pages were not given back: {before:?} -> {after:?}"
    );
    expect("channel", &["channel: off"], &[])?;
    expect("channel off", &["error: the channel is already off"], &[])?;
    heap_check()
}

fn heapinfo_command() -> TestResult {
    let out = run("heapinfo");
    let name = kheap::kind().name();
    kassert!(
        out.starts_with(&format!("kernel heap: {name} (")),
        "heapinfo does not name {name}:\n{out}"
    );
    for field in [
        "size",
        "used",
        "free",
        "largest free",
        "allocations",
        "fragmentation",
        "mapped",
        "grown",
        "refused frees",
    ] {
        kassert!(out.contains(&format!("\n  {field} ")), "no {field}:\n{out}");
    }
    kassert!(out.contains("check                 ok"), "{out}");
    let out = run("heapinfo now");
    kassert!(
        out.starts_with("error:"),
        "an argument was accepted:\n{out}"
    );
    Ok(())
}
