//! Questions about an address space that change nothing: the MMU's walk
//! for an address, its translation, the mapping of a page, and the reverse
//! question: which page maps this frame?
//!
//! ```text
//!   find_user(frames P0x00210000.., PD[0..768))
//!     PD[0] PD[1] ... PD[64] ... PD[767]        every present PDE in the window
//!                      |
//!                      +-> PT: [0] [1] ... [5] -> P0x00211000   in the run?
//!                                                 yes: V0x10005000 maps it
//! ```

use super::{Mapper, PAGE_LIMIT, TlbFlush, read_entry};
use crate::mm::addr::{Frame, Page, PhysAddr, VirtAddr};
use crate::mm::layout::{ENTRIES_PER_TABLE, PAGE_SHIFT, PDX_SHIFT, RECURSIVE_INDEX};
use crate::mm::paging::entry::EntryFlags;
use crate::mm::paging::walk::{PageWalk, TableStep};
use crate::mm::phys::PhysMemory;
use core::ops::Range;

/// A page that maps a frame: the answer of [`Mapper::find_user`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameUser {
    /// The (first) page that maps it; for a 4 MiB page, the page over the frame.
    pub page: Page,
    /// The frame mapped, inside the run asked about.
    pub frame: Frame,
    /// The flags of the entry (a PTE, or a 4 MiB PDE with `HUGE`).
    pub flags: EntryFlags,
}

impl<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized> Mapper<'_, M, T> {
    // ---- translate ----

    /// The walk the MMU would do for `va`, step by step (never changes anything).
    pub fn trace(&self, va: VirtAddr) -> PageWalk {
        // course: lab 05
        let pde = self.read_entry(self.directory, va.pdx());
        let table = if pde.is_present() && !pde.is_large() {
            Some(TableStep {
                table: pde.frame(),
                pte: self.read_entry(pde.frame(), va.ptx()),
            })
        } else {
            None
        };
        PageWalk {
            va,
            directory: self.directory,
            pde,
            table,
        }
        // course: stub
        // // LAB 05 (1/5), the MMU's walk, read only: the directory entry of
        // // `va` is entry `va.pdx()` of `self.directory` (`self.read_entry`).
        // // When that PDE is present and is not a 4 MiB page (`is_present`,
        // // `is_large`), it names a page table (`pde.frame()`): record that
        // // table and its entry `va.ptx()` as a `TableStep`. Otherwise there
        // // is no table step. `PageWalk` (walk.rs) then works out where the
        // // walk ended and the physical address; `translate` and `mapping`
        // // are built on this. Change nothing here.
        // let _ = TableStep {
        //     table: self.directory,
        //     pte: crate::mm::paging::Entry::EMPTY,
        // };
        // PageWalk {
        //     va,
        //     directory: self.directory,
        //     pde: crate::mm::paging::Entry::EMPTY,
        //     table: None,
        // }
        // course: end
    }

    /// The physical address `va` maps to, through a PTE or a 4 MiB PDE, or
    /// `None` when it is not mapped.
    pub fn translate(&self, va: VirtAddr) -> Option<PhysAddr> {
        self.trace(va).phys()
    }

    /// The frame and flags of a page mapped by a PTE, or `None` (not mapped
    /// or inside a 4 MiB page).
    pub fn mapping(&self, page: Page) -> Option<(Frame, EntryFlags)> {
        if page.number() >= PAGE_LIMIT {
            return None;
        }
        let step = self.trace(page.start_address()).table?;
        step.pte
            .is_present()
            .then(|| (step.pte.frame(), step.pte.flags()))
    }

    // ---- reverse lookup ----

    /// The first page, in the directory slots `pdxs` (the recursive slot is
    /// never searched), whose entry maps a frame of `first..first + count`:
    /// a 4 KiB page through a PTE, or the page of a 4 MiB entry over it.
    /// `None` when no page there maps any of them ([`find_user_in`] on
    /// this mapper's directory).
    pub fn find_user(&self, first: Frame, count: usize, pdxs: Range<usize>) -> Option<FrameUser> {
        find_user_in(self.mem, self.directory, first, count, pdxs)
    }
}

/// The first page, in the slots `pdxs` of the page directory in frame
/// `directory` (the recursive slot is never searched), whose entry maps a
/// frame of `first..first + count`: a 4 KiB page through a PTE, or the
/// page of a 4 MiB entry over it. `None` when no page there maps any of
/// them. Reads every present entry in the window: 1024 PDEs and 1024 PTEs
/// per table, no heap. Changes nothing.
pub fn find_user_in<M: PhysMemory + ?Sized>(
    mem: &M,
    directory: Frame,
    first: Frame,
    count: usize,
    pdxs: Range<usize>,
) -> Option<FrameUser> {
    let lo = first.number() as u64;
    let hi = lo + count as u64;
    let inside = |f: u64| lo <= f && f < hi;
    let per_table = ENTRIES_PER_TABLE as u64;
    for pdx in pdxs.start..pdxs.end.min(ENTRIES_PER_TABLE) {
        if pdx == RECURSIVE_INDEX {
            continue;
        }
        let pde = read_entry(mem, directory, pdx);
        if !pde.is_present() {
            continue;
        }
        let base = (pdx as u64) << (PDX_SHIFT - PAGE_SHIFT);
        if pde.is_large() {
            // Frames large..large + 1024: the first of them in the run.
            let large = pde.large_addr().as_u32() as u64 >> PAGE_SHIFT;
            let hit = lo.max(large);
            if hit < hi.min(large + per_table) {
                return Some(FrameUser {
                    page: Page((base + hit - large) as u32),
                    frame: Frame(hit as u32),
                    flags: pde.flags(),
                });
            }
            continue;
        }
        for ptx in 0..ENTRIES_PER_TABLE {
            let pte = read_entry(mem, pde.frame(), ptx);
            if pte.is_present() && inside(pte.frame().number() as u64) {
                return Some(FrameUser {
                    page: Page((base + ptx as u64) as u32),
                    frame: pte.frame(),
                    flags: pte.flags(),
                });
            }
        }
    }
    None
}
