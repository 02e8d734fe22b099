//! The record of one page walk, step by step, for `translate <vaddr>` and
//! for the page-fault report (seed 004's `translate_virtual_address`).
//!
//! ```text
//!   CR3 -> directory --PDX--> PDE --+-- not present ............ stop (#PF)
//!                                   +-- PS=1: 4 MiB page ....... phys = page + (va & 0x3FFFFF)
//!                                   +-- page table --PTX--> PTE --+-- not present .. stop (#PF)
//!                                                                 +-- frame ........ phys = frame + offset
//! ```

use super::entry::{Entry, EntryFlags, LARGE_RESERVED_MASK};
use crate::mm::addr::{Frame, PhysAddr, VirtAddr};
use crate::mm::layout::LARGE_PAGE_SIZE;
use core::fmt;

/// The second step of a walk: the page table and the PTE read from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableStep {
    /// The page table the PDE points at.
    pub table: Frame,
    /// The entry at `ptx` in that table.
    pub pte: Entry,
}

/// Where a walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkEnd {
    /// The PDE is not present: no page table, the walk stops at the directory.
    NoTable,
    /// The PTE is not present: the walk stops at the page table.
    NotMapped,
    /// A 4 MiB PDE with reserved bits (21..13) set: the CPU raises #PF (RSVD).
    ReservedBits,
    /// Mapped by a 4 MiB PDE, to `phys`.
    Large {
        /// The translated physical address.
        phys: PhysAddr,
    },
    /// Mapped by a PTE, to `phys`.
    Page {
        /// The translated physical address.
        phys: PhysAddr,
    },
}

/// One page walk as the MMU would do it: what it read at each level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageWalk {
    /// The address translated.
    pub va: VirtAddr,
    /// The page directory (what CR3 holds).
    pub directory: Frame,
    /// The entry at `pdx` in the directory.
    pub pde: Entry,
    /// The table step, when the PDE is present and points at a page table.
    pub table: Option<TableStep>,
}

impl PageWalk {
    /// Page-directory index of the address.
    pub const fn pdx(&self) -> usize {
        self.va.pdx()
    }
    /// Page-table index of the address.
    pub const fn ptx(&self) -> usize {
        self.va.ptx()
    }
    /// Where the walk ended.
    pub fn end(&self) -> WalkEnd {
        if !self.pde.is_present() {
            return WalkEnd::NoTable;
        }
        if self.pde.is_large() {
            if self.pde.raw() & LARGE_RESERVED_MASK != 0 {
                return WalkEnd::ReservedBits;
            }
            let offset = self.va.as_u32() & (LARGE_PAGE_SIZE as u32 - 1);
            return WalkEnd::Large {
                phys: PhysAddr(self.pde.large_addr().as_u32() + offset),
            };
        }
        match self.table {
            Some(step) if step.pte.is_present() => WalkEnd::Page {
                phys: PhysAddr(step.pte.addr().as_u32() + self.va.page_offset()),
            },
            _ => WalkEnd::NotMapped,
        }
    }
    /// The physical address, or `None` when the walk stopped.
    pub fn phys(&self) -> Option<PhysAddr> {
        match self.end() {
            WalkEnd::Large { phys } | WalkEnd::Page { phys } => Some(phys),
            _ => None,
        }
    }
    /// The access the CPU allows, combining both levels (writable only if
    /// both levels say writable, user only if both say user), or `None` when
    /// the address is not mapped. The last level's other bits are kept.
    pub fn effective_flags(&self) -> Option<EntryFlags> {
        let both = EntryFlags::WRITABLE | EntryFlags::USER;
        match self.end() {
            WalkEnd::Large { .. } => Some(self.pde.flags()),
            WalkEnd::Page { .. } => {
                let pte = self.table.map(|s| s.pte.flags()).unwrap_or_default();
                let pde = self.pde.flags();
                Some((pte - both) | (pte & pde & both))
            }
            _ => None,
        }
    }
}

impl fmt::Display for PageWalk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_indented(f, "")
    }
}

impl PageWalk {
    /// Write the walk, each line prefixed by `indent` (`Display` uses none):
    ///
    /// ```text
    /// translate V0xc0100000: PDX 0x300 (768) | PTX 0x100 (256) | offset 0x000
    ///   CR3  directory at P0x00400000
    ///   PDE  PD[768] = 0x00401003 [PW-------] -> page table at P0x00401000
    ///   PTE  PT[256] = 0x00100103 [PW------G] -> frame P0x00100000
    ///   =>   physical P0x00100000 (frame P0x00100000 + offset 0x000) [PW------G]
    /// ```
    /// The last brackets hold the access the two levels allow together
    /// (W and U only where both entries have them); the line stays within
    /// 80 columns indented by four, as exception reports print it.
    pub fn write_indented(&self, f: &mut impl fmt::Write, indent: &str) -> fmt::Result {
        let (pdx, ptx, off) = (self.pdx(), self.ptx(), self.va.page_offset());
        writeln!(
            f,
            "{indent}translate {}: PDX {pdx:#05x} ({pdx}) | PTX {ptx:#05x} ({ptx}) | offset {off:#05x}",
            self.va
        )?;
        writeln!(
            f,
            "{indent}  CR3  directory at {}",
            self.directory.start_address()
        )?;
        write!(
            f,
            "{indent}  PDE  PD[{pdx}] = {:#010x} [{}]",
            self.pde.raw(),
            self.pde.flags().letters()
        )?;
        let end = self.end();
        match end {
            WalkEnd::NoTable => {
                return writeln!(f, " not present: the walk stops here");
            }
            WalkEnd::ReservedBits => {
                return writeln!(f, " 4 MiB page with reserved bits set: a page fault (RSVD)");
            }
            WalkEnd::Large { phys } => {
                let base = self.pde.large_addr();
                writeln!(f, " -> 4 MiB page at {base}")?;
                return writeln!(
                    f,
                    "{indent}  =>   physical {phys} (4 MiB page {base} + offset {:#08x})",
                    phys.as_u32() - base.as_u32()
                );
            }
            WalkEnd::NotMapped | WalkEnd::Page { .. } => {}
        }
        let step = self.table.unwrap_or(TableStep {
            table: self.pde.frame(),
            pte: Entry::EMPTY,
        });
        writeln!(f, " -> page table at {}", step.table.start_address())?;
        write!(
            f,
            "{indent}  PTE  PT[{ptx}] = {:#010x} [{}]",
            step.pte.raw(),
            step.pte.flags().letters()
        )?;
        match end {
            WalkEnd::Page { phys } => {
                writeln!(f, " -> frame {}", step.pte.addr())?;
                write!(
                    f,
                    "{indent}  =>   physical {phys} (frame {} + offset {off:#05x})",
                    step.pte.addr()
                )?;
                match self.effective_flags() {
                    Some(e) => writeln!(f, " [{}]", e.letters()),
                    None => writeln!(f),
                }
            }
            _ => writeln!(f, " not present: the walk stops here"),
        }
    }
}
