//! Ranges: map many pages at once (contiguous frames, fresh frames, the
//! linear space, 4 MiB pages where they fit), prepare the kernel's shared
//! tables, unmap a range. Every range operation is all or nothing.

use super::rollback::{RangeOp, TableSet};
use super::{
    Alloc, LARGE, MapError, Mapper, PAGE, PageSize, Release, SPACE_END, TlbFlush, UnmapError,
    WalkError, ZeroFill, check_range, page_at,
};
use crate::mm::addr::{Frame, PhysAddr, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{ENTRIES_PER_TABLE, KERNEL_BASE, LINEAR_SPACE_SIZE, PAGE_SIZE};
use crate::mm::paging::entry::{Entry, EntryFlags};
use crate::mm::paging::sparse::{SparseError, draw_sparse};
use crate::mm::phys::PhysMemory;

impl<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized> Mapper<'_, M, T> {
    // ---- ranges ----

    /// Map `len` bytes at `va` to the physical range at `pa`, page by page
    /// (FreeNOS `mapRangeContiguous` with the frames given). All three must be
    /// page aligned; on failure nothing stays mapped.
    pub fn map_range_contiguous(
        &mut self,
        va: VirtAddr,
        pa: PhysAddr,
        len: usize,
        flags: EntryFlags,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        let end = check_range(va.as_u32() as u64, len)?;
        if !pa.is_page_aligned() {
            return Err(MapError::Unaligned);
        }
        if pa.as_u32() as u64 + len as u64 > SPACE_END {
            return Err(MapError::BadRange);
        }
        let mut op = RangeOp::new(va.as_u32() as u64);
        let delta = (pa.as_u32() as u64).wrapping_sub(op.start);
        let r = self.map_small_until(&mut op, end, delta, flags, frames);
        if r.is_err() {
            self.undo(op, Release::Keep, frames);
        }
        r
    }

    /// Map `[op.cursor(), end)` with 4 KiB pages to `va + delta` (mod 2^64).
    fn map_small_until(
        &mut self,
        op: &mut RangeOp,
        end: u64,
        delta: u64,
        flags: EntryFlags,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        while op.cursor() < end {
            let va = op.cursor();
            let pa = va.wrapping_add(delta);
            self.map_one(op, page_at(va), Frame((pa / PAGE) as u32), flags, frames)?;
        }
        Ok(())
    }

    /// Map `len` bytes at `va` to fresh frames that need not be contiguous,
    /// drawn eight at a time through a callback (FreeNOS `mapRangeSparse`).
    /// Each page is marked [`EntryFlags::OWNED`]; on failure every frame
    /// drawn and every table created is given back.
    pub fn map_range_sparse(
        &mut self,
        va: VirtAddr,
        len: usize,
        flags: EntryFlags,
        zero: ZeroFill,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        check_range(va.as_u32() as u64, len)?;
        if flags.contains(EntryFlags::HUGE) {
            return Err(MapError::BadFlags);
        }
        let mut op = RangeOp::new(va.as_u32() as u64);
        let flags = flags | EntryFlags::OWNED;
        let r = draw_sparse(frames, len / PAGE_SIZE, |chunk, frames| {
            for (i, &frame) in chunk.iter().enumerate() {
                if zero == ZeroFill::Yes {
                    self.zero_frame(frame);
                }
                let page = page_at(op.cursor());
                if let Err(e) = self.map_one(&mut op, page, frame, flags, frames) {
                    // The chunk is ours: return the frames not mapped.
                    for &f in &chunk[i..] {
                        let freed = frames.free(f);
                        debug_assert!(freed.is_ok(), "map_range_sparse: cannot return {f:?}");
                    }
                    return Err(e);
                }
            }
            Ok(())
        });
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                self.undo(op, Release::OwnedFrames, frames);
                Err(match e {
                    SparseError::NoFrames { .. } => MapError::NoFrames,
                    SparseError::Callback(e) => e,
                })
            }
        }
    }

    /// Map physical `[phys, phys + len)` at `phys + KERNEL_BASE`, the kernel's
    /// linear space (seed 002's `pagetable_map_linear`), with 4 KiB pages or
    /// with 4 MiB pages where whole aligned 4 MiB fit. The range must be page
    /// aligned and inside the linear space; on failure nothing stays mapped.
    pub fn map_linear(
        &mut self,
        phys: PhysAddr,
        len: usize,
        flags: EntryFlags,
        size: PageSize,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        let pa = phys.as_u32() as u64;
        let pa_end = check_range(pa, len)?;
        if pa_end > LINEAR_SPACE_SIZE as u64 {
            return Err(MapError::BadRange);
        }
        let mut op = RangeOp::new(pa + KERNEL_BASE as u64);
        let r = self.map_linear_steps(&mut op, pa_end + KERNEL_BASE as u64, flags, size, frames);
        if r.is_err() {
            self.undo(op, Release::Keep, frames);
        }
        r
    }

    fn map_linear_steps(
        &mut self,
        op: &mut RangeOp,
        end: u64,
        flags: EntryFlags,
        size: PageSize,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        let delta = 0u64.wrapping_sub(KERNEL_BASE as u64);
        if size == PageSize::Small {
            return self.map_small_until(op, end, delta, flags, frames);
        }
        let head_end = op.start.next_multiple_of(LARGE).min(end);
        self.map_small_until(op, head_end, delta, flags, frames)?;
        while op.cursor() + LARGE <= end {
            let va = op.cursor();
            self.map_large(
                VirtAddr(va as u32),
                PhysAddr(va.wrapping_add(delta) as u32),
                flags,
            )?;
            op.done += LARGE;
        }
        self.map_small_until(op, end, delta, flags, frames)
    }

    /// Make sure a page table exists for every 4 MiB that `[va, va + len)`
    /// touches, without mapping pages, and mark each [`EntryFlags::PINNED`]
    /// (shared: kept when empty); returns how many were created. The kernel
    /// does this once for its whole half so that every address space, which
    /// copies the kernel PDEs when it is created, shares the same tables. On
    /// failure the tables created are freed and nothing is pinned.
    pub fn prepare_tables(
        &mut self,
        va: VirtAddr,
        len: usize,
        frames: &mut dyn FrameAllocator,
    ) -> Result<usize, MapError> {
        let end = check_range(va.as_u32() as u64, len)?;
        let mut op = RangeOp::new(va.as_u32() as u64);
        let mut created = 0;
        let step = |cur: u64| (cur / LARGE + 1) * LARGE;
        let mut cur = va.as_u32() as u64;
        while cur < end {
            let page = page_at(cur);
            let r = self.check_page(page).and_then(|()| {
                match self.walk_tracked(page.start_address(), Alloc::Yes(frames)) {
                    Ok((_, c)) => Ok(c),
                    Err(WalkError::LargePage) => Err(MapError::LargePage(page)),
                    Err(WalkError::OutOfScope) => Err(MapError::OutOfScope(page)),
                    Err(WalkError::NoFrames | WalkError::NoTable) => Err(MapError::NoFrames),
                }
            });
            match r {
                Ok(true) => {
                    op.created.insert(page.start_address().pdx());
                    created += 1;
                }
                Ok(false) => {}
                Err(e) => {
                    self.undo(op, Release::Keep, frames);
                    return Err(e);
                }
            }
            cur = step(cur);
        }
        // Every table exists: pin them all (the ones found too).
        let mut cur = va.as_u32() as u64;
        while cur < end {
            let pdx = VirtAddr(cur as u32).pdx();
            let pde = self.read_entry(self.directory, pdx);
            self.write_entry(
                self.directory,
                pdx,
                Entry::new(pde.frame(), pde.flags() | EntryFlags::PINNED),
            );
            cur = step(cur);
        }
        Ok(created)
    }

    /// Unmap every page of `[va, va + len)` (all must be mapped by PTEs, or
    /// nothing is changed), flushing each from the TLB; with
    /// `Release::OwnedFrames` the frames marked OWNED go back to `frames`.
    /// Page tables left empty go back to `frames` too
    /// ([`free_table_if_empty`](Self::free_table_if_empty)). Returns the
    /// number of pages unmapped.
    pub fn unmap_range(
        &mut self,
        va: VirtAddr,
        len: usize,
        release: Release,
        frames: &mut dyn FrameAllocator,
    ) -> Result<usize, UnmapError> {
        let end = check_range(va.as_u32() as u64, len).map_err(|e| match e {
            MapError::Unaligned => UnmapError::Unaligned,
            _ => UnmapError::BadRange,
        })?;
        let start = va.as_u32() as u64;
        let pages = || (start..end).step_by(PAGE_SIZE).map(page_at);
        for page in pages() {
            self.mapped_slot(page)?;
        }
        let mut failed = None;
        let mut touched = TableSet::new();
        for page in pages() {
            let Ok(slot) = self.mapped_slot(page) else {
                panic!("unmap_range: {page:?} vanished between the passes");
            };
            let pte = self.read_pte(slot);
            self.write_entry(slot.table, slot.index, Entry::EMPTY);
            self.tlb.flush_page(page);
            touched.insert(page.start_address().pdx());
            if release == Release::OwnedFrames
                && pte.flags().contains(EntryFlags::OWNED)
                && let Err(error) = frames.free(pte.frame())
            {
                failed.get_or_insert(UnmapError::FreeFailed { page, error });
            }
        }
        for pdx in (0..ENTRIES_PER_TABLE).filter(|&pdx| touched.contains(pdx)) {
            self.free_table_if_empty(pdx, frames);
        }
        match failed {
            None => Ok(((end - start) / PAGE) as usize),
            Some(e) => Err(e),
        }
    }
}
