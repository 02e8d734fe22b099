//! The split allocator over physical frames from the PMM, mapped by the VMM
//! at a window of the kernel's private region: its two halves agree with
//! the page tables.

use crate::kassert;
use crate::kernel::ktests::kit::{TestResult, fill, holds};
use crate::kernel::memory;
use crate::mm::addr::{PhysAddr, VirtAddr};
use crate::mm::family::split::SPARSE_CHUNK_PAGES;
use crate::mm::family::{AllocError, Allocator, Range, SparseError, SplitAllocator};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, Release};
use crate::mm::vm::region::Region;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// Map 16 PMM frames at a free kernel-private window, run [`split_checks`]
/// over them, then unmap the window and free the frames whatever the outcome.
pub fn split_allocator() -> TestResult {
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

/// The split allocator over `phys` seen at `window`: `allocate_mapped`,
/// the translations both ways, `allocate_sparse` and its refusals.
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
