//! Where the current page directory and page tables appear through the
//! recursive slot PD[1023], which points at the directory itself.
//!
//! ```text
//!   va = 0xFFC0_0000 + pdx * 4096 + ptx * 4
//!          |  PDX = 1023  |  PTX = pdx   | offset = ptx * 4 |
//!   walk:  PD[1023] -> PD (used as a page table)
//!          PD[pdx]  -> the page table of pdx (used as the page)
//!          + ptx*4  -> the PTE for (pdx, ptx)
//!
//!   0xFFC0_0000 .. 0xFFFF_EFFF  page table 0 .. 1022, one page each
//!   0xFFFF_F000 .. 0xFFFF_FFFF  the directory itself (pdx = 1023, ptx = 1023)
//! ```
//!
//! The addresses only show tables of the address space that is current
//! (CR3); another space's tables are reached through `PhysMemory`.
//! They are pure arithmetic; the kernel turns them into pointers.

use crate::mm::addr::VirtAddr;
use crate::mm::layout::{RECURSIVE_BASE, RECURSIVE_DIRECTORY};

/// Bytes per entry.
const ENTRY_BYTES: u32 = 4;
/// Bytes per page, as u32.
const PAGE: u32 = crate::mm::layout::PAGE_SIZE as u32;

/// Where the current page directory appears: `0xFFFF_F000`.
pub const fn directory() -> VirtAddr {
    VirtAddr(RECURSIVE_DIRECTORY)
}

/// Where the page table covering `va` appears: `0xFFC0_0000 + pdx * 4096`
/// (for `va` in the recursive slot itself this is the directory).
pub const fn table_of(va: VirtAddr) -> VirtAddr {
    VirtAddr(RECURSIVE_BASE + va.pdx() as u32 * PAGE)
}

/// Where the PDE for `va` appears: `0xFFFF_F000 + pdx * 4`.
pub const fn pde_of(va: VirtAddr) -> VirtAddr {
    VirtAddr(RECURSIVE_DIRECTORY + va.pdx() as u32 * ENTRY_BYTES)
}

/// Where the PTE for `va` appears: `0xFFC0_0000 + pdx * 4096 + ptx * 4`,
/// which is `0xFFC0_0000 + (va >> 12) * 4`.
pub const fn pte_of(va: VirtAddr) -> VirtAddr {
    VirtAddr(RECURSIVE_BASE + va.pdx() as u32 * PAGE + va.ptx() as u32 * ENTRY_BYTES)
}

/// True when `va` lies in the recursive window (the top 4 MiB).
pub const fn is_recursive(va: VirtAddr) -> bool {
    va.as_u32() >= RECURSIVE_BASE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::layout::{PAGE_SHIFT, RECURSIVE_INDEX};

    #[test]
    fn addresses_of_the_recursive_window() {
        assert_eq!(directory(), VirtAddr(0xFFFF_F000));
        assert_eq!(table_of(VirtAddr(0)), VirtAddr(0xFFC0_0000));
        assert_eq!(table_of(VirtAddr(0xC010_0000)), VirtAddr(0xFFF0_0000));
        assert_eq!(pde_of(VirtAddr(0xC010_0000)), VirtAddr(0xFFFF_FC00));
        assert_eq!(pte_of(VirtAddr(0xC010_0000)), VirtAddr(0xFFF0_0400));
        // The directory is the table of the recursive slot itself.
        assert_eq!(table_of(VirtAddr(0xFFC0_0000)), directory());
        assert_eq!(pte_of(VirtAddr(0xFFC0_0000)), pde_of(VirtAddr(0)));
        assert!(is_recursive(directory()));
        assert!(!is_recursive(VirtAddr(0xFFBF_FFFF)));
    }

    #[test]
    fn pte_address_is_base_plus_page_number_times_four() {
        for raw in [
            0u32,
            0x1000,
            0x0040_1234,
            0xBFFF_F000,
            0xC010_0000,
            0xFFBF_F000,
        ] {
            let va = VirtAddr(raw);
            assert_eq!(pte_of(va).0, RECURSIVE_BASE + (raw >> PAGE_SHIFT) * 4);
            // The PTE's address decodes as: pdx 1023, ptx = pdx(va), offset = ptx(va)*4.
            assert_eq!(pte_of(va).pdx(), RECURSIVE_INDEX);
            assert_eq!(pte_of(va).ptx(), va.pdx());
            assert_eq!(pte_of(va).page_offset(), va.ptx() as u32 * 4);
            // And the PDE's address: pdx 1023, ptx 1023, offset pdx*4.
            assert_eq!(pde_of(va).ptx(), RECURSIVE_INDEX);
            assert_eq!(pde_of(va).page_offset(), va.pdx() as u32 * 4);
        }
    }
}
