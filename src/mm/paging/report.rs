//! The `pagedir` report: what an address space maps, merged into runs.
//!
//! ```text
//!  pages   V0x00400000 V0x00401000 V0x00402000 V0x00403000 | V0x00404000 (gap) V0x00406000
//!  frames  P0x00123000 P0x00124000 P0x00125000 P0x00300000 | P0x00126000       P0x00127000
//!  flags   PWU         PWU         PWU         PWU         | PW-               PW-
//!          \_______ one run: 4 pages, frames scattered ___/ \ new flags /  \ after a gap /
//! ```
//!
//! Consecutive virtual pages merge into a run while their flags stay the
//! same (accessed and dirty are ignored for the comparison and reported if
//! any page of the run has them). A run says whether its frames are one
//! physical range (`P0x00100000-P0x00103fff`) or scattered (a heap grown
//! with `map_range_sparse`). 4 KiB and 4 MiB pages never share a run; the
//! recursive slot is one run of its own.

use super::entry::EntryFlags;
use super::mapper::{Mapper, TlbFlush};
use crate::mm::addr::{PhysAddr, VirtAddr};
use crate::mm::layout::{ENTRIES_PER_TABLE, LARGE_PAGE_SIZE, PAGE_SIZE, RECURSIVE_INDEX};
use crate::mm::phys::PhysMemory;
use core::fmt::{self, Write as _};

const PAGE: u64 = PAGE_SIZE as u64;
const LARGE: u64 = LARGE_PAGE_SIZE as u64;
const SPACE_END: u64 = 1 << 32;

/// What kind of entries a run is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    /// 4 KiB pages (PTEs).
    Small,
    /// 4 MiB pages (PDEs with PS).
    Large,
    /// PD[1023] pointing back at the directory: the page tables, seen as pages.
    Recursive,
}

/// A run of consecutive virtual pages with one set of flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappedRun {
    /// First virtual address.
    pub virt: VirtAddr,
    /// Physical address of the first page.
    pub phys: PhysAddr,
    /// True when the pages map one physical range from `phys`; false when
    /// the frames are scattered.
    pub contiguous: bool,
    /// Length in 4 KiB pages (a 4 MiB page counts 1024).
    pub pages: u32,
    /// Flags of the last-level entries (ACCESSED/DIRTY if any page has them).
    pub flags: EntryFlags,
    /// What entries map it.
    pub kind: RunKind,
}

impl MappedRun {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.pages as u64 * PAGE
    }
    /// True for a run of no page (never produced by [`Runs`]).
    pub fn is_empty(&self) -> bool {
        self.pages == 0
    }
    /// One past the last virtual byte.
    pub fn virt_end(&self) -> u64 {
        self.virt.as_u32() as u64 + self.len()
    }
    fn phys_end(&self) -> u64 {
        self.phys.as_u32() as u64 + self.len()
    }
    /// True when `next` continues this run.
    fn continues(&self, next: &MappedRun) -> bool {
        self.kind == next.kind
            && self.kind != RunKind::Recursive
            && self.virt_end() == next.virt.as_u32() as u64
            && self.flags - EntryFlags::CPU_SET == next.flags - EntryFlags::CPU_SET
    }
}

pub use crate::text::Size;

impl fmt::Display for MappedRun {
    /// ```text
    /// V0xc0000000-V0xc03fffff -> P0x00000000-P0x003fffff    4 MiB 4M [PW-----SG]
    /// V0xf0000000-V0xf000ffff -> 16 frames, scattered      64 KiB 4K [PW------- own]
    /// V0xffc00000-V0xffffffff -> directory P0x006e1000      4 MiB PD [PW-------]
    /// ```
    /// (`PD`: the recursive slot, the directory mapped as its own table.)
    /// Indented two columns, as `pagedir` prints it, the widest row (an
    /// owned run) fills the 80 columns.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            RunKind::Small => "4K",
            RunKind::Large => "4M",
            RunKind::Recursive => "PD",
        };
        let mut phys = crate::text::FixedStr::<32>::new();
        match self.kind {
            RunKind::Recursive => write!(phys, "directory {}", self.phys)?,
            _ if self.contiguous => write!(
                phys,
                "{}-{}",
                self.phys,
                PhysAddr((self.phys_end() - 1) as u32)
            )?,
            RunKind::Small => write!(phys, "{} frames, scattered", self.pages)?,
            RunKind::Large => write!(phys, "{} 4 MiB frames, scattered", self.pages / 1024)?,
        }
        write!(
            f,
            "{}-{} -> {:<23} {:>8} {kind} [{}]",
            self.virt,
            VirtAddr((self.virt_end() - 1) as u32),
            phys.as_str(),
            Size::new(self.len()),
            self.flags.letters()
        )
    }
}

/// Iterator over the runs of an address space, in virtual order. Reads the
/// tables as it goes; allocates nothing.
pub struct Runs<'m, 'a, M: PhysMemory + ?Sized, T: TlbFlush + ?Sized> {
    mapper: &'m Mapper<'a, M, T>,
    cursor: u64,
    end: u64,
    pending: Option<MappedRun>,
    /// Physical address that would keep the pending run contiguous.
    next_phys: u64,
}

impl<'m, 'a, M: PhysMemory + ?Sized, T: TlbFlush + ?Sized> Runs<'m, 'a, M, T> {
    /// The next mapped piece at or after the cursor (a page, a 4 MiB page or
    /// the recursive slot), or `None` at the end; advances the cursor.
    /// Sets `gap` when unmapped space was skipped.
    fn next_piece(&mut self) -> Option<(MappedRun, bool)> {
        let mut gap = false;
        while self.cursor < self.end {
            let va = VirtAddr(self.cursor as u32);
            let pde = self.mapper.read_pde(va);
            let pde_start = self.cursor - self.cursor % LARGE;
            if !pde.is_present() {
                self.cursor = pde_start + LARGE;
                gap = true;
                continue;
            }
            if va.pdx() == RECURSIVE_INDEX
                && pde.frame() == self.mapper.directory()
                && !pde.is_large()
            {
                self.cursor = pde_start + LARGE;
                let run = MappedRun {
                    virt: VirtAddr(pde_start as u32),
                    phys: pde.addr(),
                    contiguous: true,
                    pages: ENTRIES_PER_TABLE as u32,
                    flags: pde.flags(),
                    kind: RunKind::Recursive,
                };
                return Some((run, gap));
            }
            if pde.is_large() {
                self.cursor = pde_start + LARGE;
                let run = MappedRun {
                    virt: VirtAddr(pde_start as u32),
                    phys: pde.large_addr(),
                    contiguous: true,
                    pages: ENTRIES_PER_TABLE as u32,
                    flags: pde.flags(),
                    kind: RunKind::Large,
                };
                return Some((run, gap));
            }
            // A page table: its entries from the cursor up to the table's
            // (or the walk's) end, the PDE read once for all of them.
            let table_end = (pde_start + LARGE).min(self.end);
            while self.cursor < table_end {
                let va = VirtAddr(self.cursor as u32);
                let pte = self.mapper.read_entry(pde.frame(), va.ptx());
                self.cursor += PAGE;
                if pte.is_present() {
                    let run = MappedRun {
                        virt: va,
                        phys: pte.addr(),
                        contiguous: true,
                        pages: 1,
                        flags: pte.flags(),
                        kind: RunKind::Small,
                    };
                    return Some((run, gap));
                }
                gap = true;
            }
        }
        None
    }
}

impl<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized> Iterator for Runs<'_, '_, M, T> {
    type Item = MappedRun;

    fn next(&mut self) -> Option<MappedRun> {
        loop {
            let Some((piece, gap)) = self.next_piece() else {
                return self.pending.take();
            };
            match &mut self.pending {
                Some(run) if !gap && run.continues(&piece) => {
                    run.pages += piece.pages;
                    run.flags |= piece.flags & EntryFlags::CPU_SET;
                    run.contiguous &= piece.phys.as_u32() as u64 == self.next_phys;
                    self.next_phys = piece.phys_end();
                }
                _ => {
                    self.next_phys = piece.phys_end();
                    if let Some(done) = self.pending.replace(piece) {
                        return Some(done);
                    }
                }
            }
        }
    }
}

/// Totals printed under the `pagedir` report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunTotals {
    /// Runs listed.
    pub runs: usize,
    /// 4 KiB pages mapped through PTEs.
    pub small_pages: u64,
    /// 4 MiB pages.
    pub large_pages: u64,
}

impl<'a, M: PhysMemory + ?Sized, T: TlbFlush + ?Sized> Mapper<'a, M, T> {
    /// The mapped runs of the whole address space, in virtual order.
    pub fn runs(&self) -> Runs<'_, 'a, M, T> {
        self.runs_in(VirtAddr(0), SPACE_END)
    }

    /// The mapped runs of `[start, end)` (`end` up to 2^32), pieces cut at the edges.
    pub fn runs_in(&self, start: VirtAddr, end: u64) -> Runs<'_, 'a, M, T> {
        Runs {
            mapper: self,
            cursor: start.as_u32() as u64 - start.as_u32() as u64 % PAGE,
            end: end.min(SPACE_END),
            pending: None,
            next_phys: 0,
        }
    }

    /// Write the `pagedir` report: one line per run, then the totals.
    pub fn write_pagedir(&self, w: &mut impl fmt::Write) -> Result<RunTotals, fmt::Error> {
        writeln!(
            w,
            "page directory at {}: virtual -> physical, size, page, flags",
            self.directory().start_address()
        )?;
        let mut totals = RunTotals::default();
        for run in self.runs() {
            writeln!(w, "  {run}")?;
            totals.runs += 1;
            match run.kind {
                RunKind::Small => totals.small_pages += run.pages as u64,
                RunKind::Large => totals.large_pages += run.pages as u64 / ENTRIES_PER_TABLE as u64,
                RunKind::Recursive => {}
            }
        }
        writeln!(
            w,
            "{} runs; {} pages of 4 KiB, {} pages of 4 MiB: {} mapped",
            totals.runs,
            totals.small_pages,
            totals.large_pages,
            Size::new(totals.small_pages * PAGE + totals.large_pages * LARGE)
        )?;
        Ok(totals)
    }
}
