//! In-kernel tests of the allocator family over real kernel memory.
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

use crate::kassert;
use crate::kernel::ktests::kit::{HeapBlock, Test, TestResult, fill, holds};
use crate::kernel::memory;
use crate::mm::addr::{PhysAddr, VirtAddr};
use crate::mm::family::split::SPARSE_CHUNK_PAGES;
use crate::mm::family::{
    AllocError, Allocator, BitAllocator, BubbleAllocator, PoolAllocator, Range, SparseError,
    SplitAllocator,
};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, Release};
use crate::mm::vm::region::Region;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

pub static TESTS: &[Test] = &[
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
];

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
    a.check().map_err(|e| format!("check: {e}"))?;
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
    a.check().map_err(|e| format!("check: {e}"))?;
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
    b.check().map_err(|e| format!("check: {e}"))?;
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
    pools.check().map_err(|e| format!("check: {e}"))?;
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
    pools.check().map_err(|e| format!("check: {e}"))?;
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
    s.check().map_err(|e| format!("check: {e}"))?;
    Ok(())
}
