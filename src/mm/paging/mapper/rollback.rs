//! Rollback: what a range operation did, so that a failure half way can be
//! taken back and leave the address space as it was.

use super::{LARGE, Mapper, PAGE, Release, TlbFlush, page_at};
use crate::mm::addr::{Page, VirtAddr};
use crate::mm::bitmap::{BITS_PER_WORD, bit_mask};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{ENTRIES_PER_TABLE, PAGE_SHIFT, PDX_SHIFT};
use crate::mm::paging::entry::{Entry, EntryFlags};
use crate::mm::phys::PhysMemory;

/// The page tables a range operation created, by PDX, so a failure can give
/// them back (a bit set on the stack: no heap).
#[derive(Clone, Copy)]
pub(super) struct TableSet([u32; ENTRIES_PER_TABLE / BITS_PER_WORD]);

impl TableSet {
    pub(super) const fn new() -> TableSet {
        TableSet([0; ENTRIES_PER_TABLE / BITS_PER_WORD])
    }
    pub(super) fn insert(&mut self, pdx: usize) {
        self.0[pdx / BITS_PER_WORD] |= bit_mask(pdx);
    }
    pub(super) fn contains(&self, pdx: usize) -> bool {
        self.0[pdx / BITS_PER_WORD] & bit_mask(pdx) != 0
    }
}

/// Bookkeeping of a range operation: `[start, start + done)` is mapped by it.
pub(super) struct RangeOp {
    pub(super) start: u64,
    pub(super) done: u64,
    pub(super) created: TableSet,
}

impl RangeOp {
    pub(super) const fn new(start: u64) -> RangeOp {
        RangeOp {
            start,
            done: 0,
            created: TableSet::new(),
        }
    }
    pub(super) fn cursor(&self) -> u64 {
        self.start + self.done
    }
}

impl<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized> Mapper<'_, M, T> {
    /// Take back what a failed range operation did: unmap `[start, start +
    /// done)` (4 KiB and 4 MiB entries), free OWNED frames if asked, and free
    /// the page tables it created (empty again by then).
    pub(super) fn undo(&mut self, op: RangeOp, owned: Release, frames: &mut dyn FrameAllocator) {
        let end = op.cursor();
        let mut va = op.start;
        while va < end {
            let v = VirtAddr(va as u32);
            let pde = self.read_entry(self.directory, v.pdx());
            if pde.is_large() {
                self.write_entry(self.directory, v.pdx(), Entry::EMPTY);
                self.tlb.flush_page(page_at(va));
                va += LARGE;
                continue;
            }
            if pde.is_present() {
                let pte = self.read_entry(pde.frame(), v.ptx());
                self.write_entry(pde.frame(), v.ptx(), Entry::EMPTY);
                self.tlb.flush_page(page_at(va));
                if owned == Release::OwnedFrames && pte.flags().contains(EntryFlags::OWNED) {
                    let freed = frames.free(pte.frame());
                    debug_assert!(freed.is_ok(), "undo: cannot return {:?}", pte.frame());
                }
            }
            va += PAGE;
        }
        for pdx in 0..ENTRIES_PER_TABLE {
            if !op.created.contains(pdx) {
                continue;
            }
            let pde = self.read_entry(self.directory, pdx);
            debug_assert!(
                (0..ENTRIES_PER_TABLE).all(|i| !self.read_entry(pde.frame(), i).is_present()),
                "undo: table {pdx} created by the operation is not empty"
            );
            self.write_entry(self.directory, pdx, Entry::EMPTY);
            self.tlb
                .flush_page(Page((pdx as u32) << (PDX_SHIFT - PAGE_SHIFT)));
            let freed = frames.free(pde.frame());
            debug_assert!(freed.is_ok(), "undo: cannot return table {:?}", pde.frame());
        }
    }
}
