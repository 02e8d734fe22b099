//! The family's allocators that manage a byte range (Bit, Bubble, and the
//! pools over a Bit parent), each run over a block of the kernel heap.

use crate::kassert;
use crate::kernel::ktests::kit::{HeapBlock, TestResult, fill, holds};
use crate::mm::family::{
    AllocError, Allocator, BitAllocator, BubbleAllocator, PoolAllocator, Range, Rooted,
};
use crate::mm::layout::PAGE_SIZE;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// The bit allocator over 64 KiB of heap: runs of chunks, alignment,
/// refused double and interior releases, `allocate_at`, filling up.
pub fn bit_allocator() -> TestResult {
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

/// The bubble allocator over 8 KiB of heap: it hands out in order, never
/// releases, and refuses bad sizes, alignments and overdrafts unchanged.
pub fn bubble_allocator() -> TestResult {
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

/// Pools over a bit-allocator parent on 256 KiB of heap: objects of five
/// sizes, an overflow into the postfix refused as corruption, bad
/// releases refused, empty pools given back to the parent.
pub fn pool_allocator() -> TestResult {
    const CHUNK: usize = 64;
    let block = HeapBlock::new(256 * 1024, PAGE_SIZE)?;
    let words = BitAllocator::<Vec<u32>>::words_needed(block.layout.size(), CHUNK);
    let parent = BitAllocator::new(block.range(), CHUNK, vec![0; words], vec![0; words])
        .map_err(|e| format!("parent: {e}"))?;
    // SAFETY: the parent hands out pieces of `block`, heap memory owned by
    // this test until the pools are dropped (before `block`).
    let mut pools = unsafe { PoolAllocator::new(Rooted::new(parent, block.ptr.as_ptr())) };
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
    let postfix: *mut u32 = core::ptr::with_exposed_provenance_mut(a + size.next_multiple_of(4));
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
