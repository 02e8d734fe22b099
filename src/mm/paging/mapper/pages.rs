//! Walks and single pages: find or create the page table of an address,
//! map and unmap one 4 KiB page, one 4 MiB page, and free a page table
//! that unmapping left empty.

use super::rollback::RangeOp;
use super::{
    Alloc, KERNEL_PDX, LARGE, MapError, Mapper, PAGE, PAGE_LIMIT, PteSlot, Release, Scope,
    TlbFlush, UnmapError, WalkError, ZeroFill,
};
use crate::mm::addr::{Frame, Page, PhysAddr, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{ENTRIES_PER_TABLE, KERNEL_BASE, PAGE_SHIFT, PDX_SHIFT, RECURSIVE_INDEX};
use crate::mm::paging::entry::{Entry, EntryFlags};
use crate::mm::phys::PhysMemory;

impl<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized> Mapper<'_, M, T> {
    // ---- walk ----

    /// The PTE slot for `va`: the page table the directory points at and the
    /// index in it. With `Alloc::Yes` a missing table is allocated, zeroed and
    /// entered (present, writable, user in the user half).
    pub fn walk(&mut self, va: VirtAddr, alloc: Alloc<'_>) -> Result<PteSlot, WalkError> {
        self.walk_tracked(va, alloc).map(|(slot, _)| slot)
    }

    /// `walk`, also saying whether it created the table.
    pub(super) fn walk_tracked(
        &mut self,
        va: VirtAddr,
        alloc: Alloc<'_>,
    ) -> Result<(PteSlot, bool), WalkError> {
        // course: lab 05
        let pdx = va.pdx();
        let pde = self.read_entry(self.directory, pdx);
        if pde.is_large() {
            return Err(WalkError::LargePage);
        }
        if pde.is_present() {
            let slot = PteSlot {
                table: pde.frame(),
                index: va.ptx(),
            };
            return Ok((slot, false));
        }
        let frames = match alloc {
            Alloc::No => return Err(WalkError::NoTable),
            Alloc::Yes(frames) => frames,
        };
        if self.scope == Scope::User && pdx >= KERNEL_PDX || pdx == RECURSIVE_INDEX {
            return Err(WalkError::OutOfScope);
        }
        let table = frames.allocate().ok_or(WalkError::NoFrames)?;
        self.zero_frame(table);
        self.write_entry(
            self.directory,
            pdx,
            Entry::new(table, Self::table_flags(pdx)),
        );
        let slot = PteSlot {
            table,
            index: va.ptx(),
        };
        Ok((slot, true))
        // course: stub
        // // LAB 05 (2/5), the walk that can build: find the page table that
        // // holds the PTE of `va` and return its slot (`PteSlot { table,
        // // index: va.ptx() }`) with `false`, or create that table and
        // // return `true`. The PDE is entry `va.pdx()` of `self.directory`
        // // (`self.read_entry`):
        // // - a 4 MiB page (`is_large`): `WalkError::LargePage`, no table;
        // // - present: its frame is the table;
        // // - absent: with `Alloc::No`, `WalkError::NoTable`. With
        // //   `Alloc::Yes(frames)`: refuse (`WalkError::OutOfScope`) the
        // //   recursive slot (`RECURSIVE_INDEX`) and, for a `Scope::User`
        // //   mapper, the kernel half (`pdx >= KERNEL_PDX`); else take a frame
        // //   (none: `WalkError::NoFrames`), zero it (`self.zero_frame`: a
        // //   fresh table must map nothing) and enter it in the directory
        // //   with `Self::table_flags(pdx)` (`Entry::new`, `self.write_entry`).
        // let _ = (va, alloc, Self::table_flags, KERNEL_PDX, RECURSIVE_INDEX);
        // Err(WalkError::NoTable)
        // course: end
    }

    /// The entry in a slot returned by `walk`.
    pub fn read_pte(&self, slot: PteSlot) -> Entry {
        self.read_entry(slot.table, slot.index)
    }

    /// The PDE for `va`.
    pub fn read_pde(&self, va: VirtAddr) -> Entry {
        self.read_entry(self.directory, va.pdx())
    }

    // ---- single pages ----

    /// Map `page` to `frame` with `flags` (PRESENT is added), creating its
    /// page table if needed. A page already mapped is an error, never overwritten.
    pub fn map(
        &mut self,
        page: Page,
        frame: Frame,
        flags: EntryFlags,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        let mut op = RangeOp::new(page.start_address().as_u32() as u64);
        let r = self.map_one(&mut op, page, frame, flags, frames);
        if r.is_err() {
            self.undo(op, Release::Keep, frames);
        }
        r
    }

    /// Allocate a frame, zero it if asked, and map it at `page` marked
    /// [`EntryFlags::OWNED`]; on failure the frame is given back.
    pub fn map_new(
        &mut self,
        page: Page,
        flags: EntryFlags,
        zero: ZeroFill,
        frames: &mut dyn FrameAllocator,
    ) -> Result<Frame, MapError> {
        self.check_page(page)?;
        if flags.contains(EntryFlags::HUGE) {
            return Err(MapError::BadFlags);
        }
        let frame = frames.allocate().ok_or(MapError::NoFrames)?;
        if zero == ZeroFill::Yes {
            self.zero_frame(frame);
        }
        match self.map(page, frame, flags | EntryFlags::OWNED, frames) {
            Ok(()) => Ok(frame),
            Err(e) => {
                let freed = frames.free(frame);
                debug_assert!(freed.is_ok(), "map_new: cannot return {frame:?}");
                Err(e)
            }
        }
    }

    /// One page, recorded in `op` (tables created, and `done` advanced).
    pub(super) fn map_one(
        &mut self,
        op: &mut RangeOp,
        page: Page,
        frame: Frame,
        flags: EntryFlags,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        // course: lab 05
        self.check_page(page)?;
        if frame.number() >= PAGE_LIMIT {
            return Err(MapError::BadRange);
        }
        if flags.contains(EntryFlags::HUGE) {
            return Err(MapError::BadFlags);
        }
        let va = page.start_address();
        let (slot, created) = match self.walk_tracked(va, Alloc::Yes(frames)) {
            Ok(x) => x,
            Err(WalkError::LargePage) => return Err(MapError::LargePage(page)),
            Err(WalkError::OutOfScope) => return Err(MapError::OutOfScope(page)),
            Err(WalkError::NoFrames | WalkError::NoTable) => return Err(MapError::NoFrames),
        };
        if created {
            op.created.insert(va.pdx());
        }
        if self.read_pte(slot).is_present() {
            return Err(MapError::AlreadyMapped(page));
        }
        self.write_entry(
            slot.table,
            slot.index,
            Entry::new(frame, flags | EntryFlags::PRESENT),
        );
        op.done += PAGE;
        Ok(())
        // course: stub
        // // LAB 05 (3/5), map one 4 KiB page. Refuse, changing nothing:
        // // pages this mapper must not touch (`self.check_page`), a frame
        // // number at or past `PAGE_LIMIT` (`MapError::BadRange`), and the
        // // `EntryFlags::HUGE` flag (`MapError::BadFlags`). Then walk to the
        // // page's PTE slot, creating its table (`self.walk_tracked` with
        // // `Alloc::Yes(frames)`); turn a `WalkError` into the `MapError` it
        // // means (LargePage -> `MapError::LargePage(page)`, OutOfScope ->
        // // `MapError::OutOfScope(page)`, NoFrames/NoTable -> `NoFrames`).
        // // A table the walk created goes in `op.created` (by its pdx), so
        // // a failure later can give it back. A PTE already present is
        // // `MapError::AlreadyMapped(page)`: never overwrite a mapping.
        // // Else write `Entry::new(frame, flags | EntryFlags::PRESENT)` in
        // // the slot (`self.write_entry`) and count the page: `op.done += PAGE`.
        // let _ = (op, page, frame, flags, frames, PAGE_LIMIT, PAGE);
        // Err(MapError::NoFrames)
        // course: end
    }

    /// Remove the mapping of `page` and return its frame, after flushing the
    /// TLB entry. The frame is not freed (it is the caller's); the page table,
    /// if this left it empty, is given back to `frames` (see
    /// [`free_table_if_empty`](Self::free_table_if_empty)).
    pub fn unmap(
        &mut self,
        page: Page,
        frames: &mut dyn FrameAllocator,
    ) -> Result<Frame, UnmapError> {
        // course: lab 05
        let slot = self.mapped_slot(page)?;
        let frame = self.read_pte(slot).frame();
        self.write_entry(slot.table, slot.index, Entry::EMPTY);
        self.tlb.flush_page(page);
        self.free_table_if_empty(page.start_address().pdx(), frames);
        Ok(frame)
        // course: stub
        // // LAB 05 (4/5), unmap one 4 KiB page. `self.mapped_slot(page)`
        // // finds its PTE slot, or says why there is none (its error is
        // // already an `UnmapError`: return it, nothing changed). Remember
        // // the frame the PTE names, clear the PTE (`Entry::EMPTY`), and
        // // drop the stale translation (`self.tlb.flush_page(page)`): the CPU
        // // may have cached it. Then the page table may have become empty:
        // // `self.free_table_if_empty` (5/5) for the page's pdx. Return the
        // // frame: it is the caller's to free, not yours.
        // let _ = (page, frames);
        // Err(UnmapError::NotMapped(page))
        // course: end
    }

    /// Give back the page table of PD[`pdx`] when no PTE in it is present,
    /// it is not [`EntryFlags::PINNED`] and `frames` handed it out (a table
    /// from elsewhere, say in the kernel image, is not this allocator's to
    /// free): the PDE is cleared, the TLB flushed, the frame freed. Returns
    /// the table freed, or `None` when it stays (or there is none).
    pub fn free_table_if_empty(
        &mut self,
        pdx: usize,
        frames: &mut dyn FrameAllocator,
    ) -> Option<Frame> {
        // course: lab 05
        let pde = self.read_entry(self.directory, pdx);
        if pdx == RECURSIVE_INDEX
            || !pde.is_present()
            || pde.is_large()
            || pde.flags().contains(EntryFlags::PINNED)
        {
            return None;
        }
        let table = pde.frame();
        if !frames.is_allocated(table)
            || (0..ENTRIES_PER_TABLE).any(|i| self.read_entry(table, i).is_present())
        {
            return None;
        }
        self.write_entry(self.directory, pdx, Entry::EMPTY);
        // invlpg of any address under the PDE drops the cached PDE too.
        self.tlb
            .flush_page(Page((pdx as u32) << (PDX_SHIFT - PAGE_SHIFT)));
        match frames.free(table) {
            Ok(()) => Some(table),
            Err(_) => {
                // The allocator said it handed the frame out, then refused it:
                // keep the (empty, valid) table rather than lose track of it.
                self.write_entry(self.directory, pdx, pde);
                None
            }
        }
        // course: stub
        // // LAB 05 (5/5), give an empty page table back. Keep it (return
        // // `None`) when PD[pdx] is the recursive slot, is not present, is a
        // // 4 MiB page, is `EntryFlags::PINNED` (shared by every address
        // // space), when `frames` did not hand that table out
        // // (`frames.is_allocated`: a table in the kernel image is not its
        // // to free), or when any of its `ENTRIES_PER_TABLE` PTEs is present.
        // // Else clear the PDE, flush the TLB for an address under it (a
        // // `Page` whose number is `pdx << (PDX_SHIFT - PAGE_SHIFT)`: invlpg
        // // drops the cached PDE too) and free the table's frame. If
        // // `frames.free` refuses, put the PDE back and return `None`: an
        // // empty table is better than a lost one. Return the table freed.
        // let _ = (pdx, frames, ENTRIES_PER_TABLE, PDX_SHIFT, PAGE_SHIFT);
        // None
        // course: end
    }

    /// The slot of a page mapped by a PTE, or why there is none.
    pub(super) fn mapped_slot(&mut self, page: Page) -> Result<PteSlot, UnmapError> {
        self.check_page(page).map_err(|e| match e {
            MapError::Reserved(p) => UnmapError::Reserved(p),
            MapError::OutOfScope(p) => UnmapError::OutOfScope(p),
            _ => UnmapError::BadRange,
        })?;
        let slot = match self.walk(page.start_address(), Alloc::No) {
            Ok(slot) => slot,
            Err(WalkError::LargePage) => return Err(UnmapError::LargePage(page)),
            Err(_) => return Err(UnmapError::NotMapped(page)),
        };
        if !self.read_pte(slot).is_present() {
            return Err(UnmapError::NotMapped(page));
        }
        Ok(slot)
    }

    // ---- 4 MiB pages ----

    /// Map the 4 MiB page at `va` to physical `pa` with one PDE (PS set;
    /// needs CR4.PSE). Both must be 4 MiB aligned; a PDE already present
    /// (a 4 MiB page or a page table, even an empty one) is `AlreadyMapped`.
    pub fn map_large(
        &mut self,
        va: VirtAddr,
        pa: PhysAddr,
        flags: EntryFlags,
    ) -> Result<(), MapError> {
        let page = Page::containing_address(va);
        if !(va.as_u32() as u64).is_multiple_of(LARGE)
            || !(pa.as_u32() as u64).is_multiple_of(LARGE)
        {
            return Err(MapError::Unaligned);
        }
        self.check_page(page)?;
        let pdx = va.pdx();
        if self.read_entry(self.directory, pdx).is_present() {
            return Err(MapError::AlreadyMapped(page));
        }
        self.write_entry(
            self.directory,
            pdx,
            Entry::new_large(pa, flags | EntryFlags::PRESENT),
        );
        Ok(())
    }

    /// Remove the 4 MiB mapping at `va` (4 MiB aligned) and return its
    /// physical address, after flushing the TLB.
    pub fn unmap_large(&mut self, va: VirtAddr) -> Result<PhysAddr, UnmapError> {
        let page = Page::containing_address(va);
        if !(va.as_u32() as u64).is_multiple_of(LARGE) {
            return Err(UnmapError::Unaligned);
        }
        if va.pdx() == RECURSIVE_INDEX {
            return Err(UnmapError::Reserved(page));
        }
        if self.scope == Scope::User && va.as_u32() >= KERNEL_BASE {
            return Err(UnmapError::OutOfScope(page));
        }
        let pde = self.read_entry(self.directory, va.pdx());
        if !pde.is_large() {
            return Err(UnmapError::NotMapped(page));
        }
        self.write_entry(self.directory, va.pdx(), Entry::EMPTY);
        self.tlb.flush_page(page);
        Ok(pde.large_addr())
    }
}
