//! The integrity check of a directory and what it counts.

use super::{KERNEL_PDX, Mapper, TlbFlush};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{ENTRIES_PER_TABLE, RECURSIVE_INDEX};
use crate::mm::paging::entry::{EntryFlags, LARGE_RESERVED_MASK};
use crate::mm::phys::PhysMemory;

impl<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized> Mapper<'_, M, T> {
    // ---- integrity ----

    /// Check the directory's invariants: the recursive slot (if present)
    /// points at the directory and is kernel-only; no other PDE points at the
    /// directory; no two PDEs share a table; table PDEs are writable and user
    /// exactly in the user half; 4 MiB PDEs have no reserved bits; no PTE has
    /// the PAT bit. With `frames`, every table and every OWNED frame must be
    /// allocated there. Returns counts of what is mapped.
    pub fn check(&self, frames: Option<&dyn FrameAllocator>) -> Result<MapperCheck, CheckError> {
        let mut report = MapperCheck::default();
        for pdx in 0..ENTRIES_PER_TABLE {
            let pde = self.read_entry(self.directory, pdx);
            if !pde.is_present() {
                continue;
            }
            if pdx == RECURSIVE_INDEX && pde.frame() == self.directory {
                let bad = EntryFlags::USER | EntryFlags::HUGE;
                if pde.flags().intersects(bad) {
                    return Err(CheckError::RecursiveSlot { raw: pde.raw() });
                }
                report.recursive = true;
                continue;
            }
            if pdx == RECURSIVE_INDEX {
                return Err(CheckError::RecursiveSlot { raw: pde.raw() });
            }
            if pde.is_large() {
                if pde.raw() & LARGE_RESERVED_MASK != 0 {
                    return Err(CheckError::LargeReserved {
                        pdx,
                        raw: pde.raw(),
                    });
                }
                report.large += 1;
                continue;
            }
            if pde.frame() == self.directory {
                return Err(CheckError::DirectoryAsTable { pdx });
            }
            let user = pde.flags().contains(EntryFlags::USER);
            if !pde.flags().contains(EntryFlags::WRITABLE) || user != (pdx < KERNEL_PDX) {
                return Err(CheckError::TableFlags {
                    pdx,
                    raw: pde.raw(),
                });
            }
            for other in 0..pdx {
                let o = self.read_entry(self.directory, other);
                if o.is_present() && !o.is_large() && o.frame() == pde.frame() {
                    return Err(CheckError::SharedTable { pdx, other });
                }
            }
            if let Some(f) = frames
                && !f.is_allocated(pde.frame())
            {
                return Err(CheckError::NotAllocated { pdx, ptx: None });
            }
            report.tables += 1;
            for ptx in 0..ENTRIES_PER_TABLE {
                let pte = self.read_entry(pde.frame(), ptx);
                if !pte.is_present() {
                    continue;
                }
                if pte.flags().contains(EntryFlags::HUGE) {
                    return Err(CheckError::PteFlags {
                        pdx,
                        ptx,
                        raw: pte.raw(),
                    });
                }
                if pte.flags().contains(EntryFlags::OWNED) {
                    report.owned += 1;
                    if let Some(f) = frames
                        && !f.is_allocated(pte.frame())
                    {
                        return Err(CheckError::NotAllocated {
                            pdx,
                            ptx: Some(ptx),
                        });
                    }
                }
                report.pages += 1;
            }
        }
        Ok(report)
    }
}

/// What `Mapper::check` counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapperCheck {
    /// Page tables (not counting the recursive slot).
    pub tables: usize,
    /// 4 KiB pages mapped by PTEs.
    pub pages: usize,
    /// Of those, pages marked OWNED.
    pub owned: usize,
    /// 4 MiB pages.
    pub large: usize,
    /// True when PD[1023] is the recursive slot.
    pub recursive: bool,
}

/// A broken invariant found by `Mapper::check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckError {
    /// PD[1023] is present but is not a kernel-only entry pointing at the directory.
    RecursiveSlot {
        /// The entry.
        raw: u32,
    },
    /// A PDE other than PD[1023] points at the directory.
    DirectoryAsTable {
        /// Its index.
        pdx: usize,
    },
    /// Two PDEs point at the same page table.
    SharedTable {
        /// The later index.
        pdx: usize,
        /// The earlier index.
        other: usize,
    },
    /// A table PDE is read-only, or its user bit does not match its half.
    TableFlags {
        /// Its index.
        pdx: usize,
        /// The entry.
        raw: u32,
    },
    /// A 4 MiB PDE has reserved bits 21..13 set.
    LargeReserved {
        /// Its index.
        pdx: usize,
        /// The entry.
        raw: u32,
    },
    /// A PTE has the PAT bit (bit 7), which Cairn never sets.
    PteFlags {
        /// Directory index.
        pdx: usize,
        /// Table index.
        ptx: usize,
        /// The entry.
        raw: u32,
    },
    /// A page table (`ptx` None) or an OWNED frame is not allocated in the allocator given.
    NotAllocated {
        /// Directory index.
        pdx: usize,
        /// Table index of the OWNED page, `None` for the table itself.
        ptx: Option<usize>,
    },
}
