//! One 32-bit entry of a page directory or a page table, and the two tables.
//!
//! ```text
//!  page-table entry (PTE), maps one 4 KiB page
//!  31                                   12 11  9 8 7 6 5 4 3 2 1 0
//! +---------------------------------------+-----+-+-+-+-+-+-+-+-+-+
//! |      frame address (bits 31..12)      | AVL |G|0|D|A|C|T|U|W|P|
//! +---------------------------------------+-----+-+-+-+-+-+-+-+-+-+
//!
//!  page-directory entry (PDE) pointing at a page table (PS = 0)
//! +---------------------------------------+-----+-+-+-+-+-+-+-+-+-+
//! |  page-table address (bits 31..12)     | AVL |-|0|-|A|C|T|U|W|P|
//! +---------------------------------------+-----+-+-+-+-+-+-+-+-+-+
//!
//!  page-directory entry mapping a 4 MiB page (PS = 1, needs CR4.PSE)
//! +-------------------+-------------------+-----+-+-+-+-+-+-+-+-+-+
//! | frame (31..22)    | reserved / PAT    | AVL |G|1|D|A|C|T|U|W|P|
//! +-------------------+-------------------+-----+-+-+-+-+-+-+-+-+-+
//!
//!  P present  W writable  U user  T write-through  C cache-disable
//!  A accessed  D dirty  PS 4 MiB page  G global  AVL three bits for the OS
//! ```
//!
//! Cairn uses the first available bit as [`EntryFlags::OWNED`]: the mapping
//! owns its frame, which is freed with it (`unmap_range(.., Release::OwnedFrames, ..)`,
//! address-space destroy); and the second, in a PDE, as [`EntryFlags::PINNED`]:
//! the page table is shared by every address space and is kept when empty.

use crate::mm::addr::{Frame, PhysAddr};
use crate::mm::layout::{ENTRIES_PER_TABLE, LARGE_PAGE_SIZE, PAGE_SIZE};
use bitflags::bitflags;
use core::fmt;
use core::mem::{align_of, size_of};

bitflags! {
    /// The low 12 bits of an entry.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
    pub struct EntryFlags: u32 {
        /// The entry is valid; when clear the CPU ignores every other bit.
        const PRESENT = 1 << 0;
        /// Writes are allowed (for the kernel too when CR0.WP is set).
        const WRITABLE = 1 << 1;
        /// User mode (ring 3) may access the page.
        const USER = 1 << 2;
        /// Write-through caching instead of write-back.
        const WRITE_THROUGH = 1 << 3;
        /// The page is not cached (memory-mapped devices).
        const CACHE_DISABLE = 1 << 4;
        /// Set by the CPU on any access through this entry.
        const ACCESSED = 1 << 5;
        /// Set by the CPU on a write to the page (last level only).
        const DIRTY = 1 << 6;
        /// In a PDE: this entry maps a 4 MiB page (PS). In a PTE: PAT, unused by Cairn.
        const HUGE = 1 << 7;
        /// The TLB entry survives a CR3 reload (needs CR4.PGE; last level only).
        const GLOBAL = 1 << 8;
        /// Available to the OS, bit 9 (Cairn: [`EntryFlags::OWNED`]).
        const AVAILABLE_0 = 1 << 9;
        /// Available to the OS, bit 10 (Cairn: [`EntryFlags::PINNED`]).
        const AVAILABLE_1 = 1 << 10;
        /// Available to the OS, bit 11 (unused by Cairn).
        const AVAILABLE_2 = 1 << 11;
    }
}

impl EntryFlags {
    /// Cairn's meaning of the first available bit: the frame behind this
    /// mapping was allocated for it and is freed when the mapping is released.
    pub const OWNED: EntryFlags = EntryFlags::AVAILABLE_0;
    /// Cairn's meaning of the second available bit, in a PDE: this page
    /// table is shared by every address space (the kernel half's tables,
    /// made by `prepare_tables`) and stays when its last page is unmapped.
    pub const PINNED: EntryFlags = EntryFlags::AVAILABLE_1;
    /// The bits the CPU writes on its own; ignored when mappings are compared.
    pub const CPU_SET: EntryFlags = EntryFlags::ACCESSED.union(EntryFlags::DIRTY);

    /// The flags as fixed columns `PWUTCADSG` with `-` for a clear bit, then
    /// ` own` / ` pin` / ` avl2` for the available bits that are set.
    pub const fn letters(self) -> FlagLetters {
        FlagLetters(self)
    }
}

/// Display helper for [`EntryFlags::letters`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagLetters(pub EntryFlags);

impl fmt::Display for FlagLetters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const COLUMNS: [(EntryFlags, char); 9] = [
            (EntryFlags::PRESENT, 'P'),
            (EntryFlags::WRITABLE, 'W'),
            (EntryFlags::USER, 'U'),
            (EntryFlags::WRITE_THROUGH, 'T'),
            (EntryFlags::CACHE_DISABLE, 'C'),
            (EntryFlags::ACCESSED, 'A'),
            (EntryFlags::DIRTY, 'D'),
            (EntryFlags::HUGE, 'S'),
            (EntryFlags::GLOBAL, 'G'),
        ];
        for (flag, letter) in COLUMNS {
            let c = if self.0.contains(flag) { letter } else { '-' };
            fmt::Write::write_char(f, c)?;
        }
        if self.0.contains(EntryFlags::AVAILABLE_0) {
            f.write_str(" own")?;
        }
        if self.0.contains(EntryFlags::AVAILABLE_1) {
            f.write_str(" pin")?;
        }
        if self.0.contains(EntryFlags::AVAILABLE_2) {
            f.write_str(" avl2")?;
        }
        Ok(())
    }
}

/// Address bits of an entry that points at a 4 KiB frame or a page table.
const ADDR_MASK: u32 = !(PAGE_SIZE as u32 - 1);
/// Address bits of a PDE that maps a 4 MiB page.
const LARGE_ADDR_MASK: u32 = !(LARGE_PAGE_SIZE as u32 - 1);
/// Bits 21..13 of a 4 MiB PDE: physical bits 32+ (PSE-36) and a reserved bit;
/// Cairn has 32-bit physical addresses, so they must be zero.
pub const LARGE_RESERVED_MASK: u32 = LARGE_ADDR_MASK ^ ADDR_MASK ^ (1 << 12);

/// One entry of a page directory or a page table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Entry(u32);

const _: () = assert!(size_of::<Entry>() == 4);

impl Entry {
    /// The empty (not present) entry.
    pub const EMPTY: Entry = Entry(0);

    /// An entry pointing at `frame` (a page or a page table) with `flags`.
    pub const fn new(frame: Frame, flags: EntryFlags) -> Entry {
        Entry((frame.start_address().as_u32() & ADDR_MASK) | flags.bits())
    }
    /// A PDE mapping the 4 MiB page at `phys` (which must be 4 MiB aligned,
    /// lower bits are dropped); `HUGE` is added to `flags`.
    pub const fn new_large(phys: PhysAddr, flags: EntryFlags) -> Entry {
        Entry((phys.as_u32() & LARGE_ADDR_MASK) | flags.union(EntryFlags::HUGE).bits())
    }
    /// The entry from its raw 32-bit value.
    pub const fn from_raw(raw: u32) -> Entry {
        Entry(raw)
    }
    /// The raw 32-bit value, as the CPU sees it.
    pub const fn raw(self) -> u32 {
        self.0
    }
    /// The flag bits (the low 12 bits).
    pub const fn flags(self) -> EntryFlags {
        EntryFlags::from_bits_truncate(self.0)
    }
    /// True when the present bit is set.
    pub const fn is_present(self) -> bool {
        self.0 & EntryFlags::PRESENT.bits() != 0
    }
    /// True when this is a PDE that maps a 4 MiB page (present and PS set).
    pub const fn is_large(self) -> bool {
        self.is_present() && self.0 & EntryFlags::HUGE.bits() != 0
    }
    /// The address in bits 31..12: the frame or page table this entry names.
    pub const fn addr(self) -> PhysAddr {
        PhysAddr(self.0 & ADDR_MASK)
    }
    /// The frame in bits 31..12.
    pub const fn frame(self) -> Frame {
        Frame::containing_address(self.addr())
    }
    /// The 4 MiB page a large PDE maps (bits 31..22).
    pub const fn large_addr(self) -> PhysAddr {
        PhysAddr(self.0 & LARGE_ADDR_MASK)
    }
    /// The same entry with `flags` in place of its flag bits.
    pub const fn with_flags(self, flags: EntryFlags) -> Entry {
        Entry((self.0 & ADDR_MASK) | flags.bits())
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Entry({:#010x} [{}])", self.0, self.flags().letters())
    }
}

/// A page table: 1024 PTEs, one page, page-aligned. Maps 4 MiB.
#[derive(Clone)]
#[repr(C, align(4096))]
pub struct PageTable {
    /// The entries, indexed by `VirtAddr::ptx()`.
    pub entries: [Entry; ENTRIES_PER_TABLE],
}

/// A page directory: 1024 PDEs, one page, page-aligned. Maps 4 GiB; its
/// physical address is what CR3 holds.
#[derive(Clone)]
#[repr(C, align(4096))]
pub struct PageDirectory {
    /// The entries, indexed by `VirtAddr::pdx()`.
    pub entries: [Entry; ENTRIES_PER_TABLE],
}

const _: () = assert!(size_of::<PageTable>() == PAGE_SIZE);
const _: () = assert!(align_of::<PageTable>() == PAGE_SIZE);
const _: () = assert!(size_of::<PageDirectory>() == PAGE_SIZE);
const _: () = assert!(align_of::<PageDirectory>() == PAGE_SIZE);

impl PageTable {
    /// A table with every entry empty.
    pub const fn new() -> PageTable {
        PageTable {
            entries: [Entry::EMPTY; ENTRIES_PER_TABLE],
        }
    }
}

impl Default for PageTable {
    fn default() -> Self {
        PageTable::new()
    }
}

impl PageDirectory {
    /// A directory with every entry empty.
    pub const fn new() -> PageDirectory {
        PageDirectory {
            entries: [Entry::EMPTY; ENTRIES_PER_TABLE],
        }
    }
}

impl Default for PageDirectory {
    fn default() -> Self {
        PageDirectory::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_packs_frame_and_flags() {
        let e = Entry::new(Frame(0x12345), EntryFlags::PRESENT | EntryFlags::WRITABLE);
        assert_eq!(e.raw(), 0x1234_5003);
        assert_eq!(e.frame(), Frame(0x12345));
        assert_eq!(e.addr(), PhysAddr(0x1234_5000));
        assert!(e.is_present());
        assert!(!e.is_large());
        assert_eq!(e.flags(), EntryFlags::PRESENT | EntryFlags::WRITABLE);
        let ro = e.with_flags(EntryFlags::PRESENT);
        assert_eq!(ro.raw(), 0x1234_5001);
    }

    #[test]
    fn large_entry_keeps_only_the_4mib_address() {
        let e = Entry::new_large(PhysAddr(0x00C1_2345), EntryFlags::PRESENT);
        assert_eq!(e.raw(), 0x00C0_0081);
        assert!(e.is_large());
        assert_eq!(e.large_addr(), PhysAddr(0x00C0_0000));
        // PS without P is not a large mapping: the CPU ignores the entry.
        assert!(!Entry::from_raw(0x80).is_large());
        assert_eq!(LARGE_RESERVED_MASK, 0x003F_E000);
    }

    #[test]
    fn flag_bits_are_the_hardware_bits() {
        assert_eq!(EntryFlags::PRESENT.bits(), 0x001);
        assert_eq!(EntryFlags::WRITABLE.bits(), 0x002);
        assert_eq!(EntryFlags::USER.bits(), 0x004);
        assert_eq!(EntryFlags::WRITE_THROUGH.bits(), 0x008);
        assert_eq!(EntryFlags::CACHE_DISABLE.bits(), 0x010);
        assert_eq!(EntryFlags::ACCESSED.bits(), 0x020);
        assert_eq!(EntryFlags::DIRTY.bits(), 0x040);
        assert_eq!(EntryFlags::HUGE.bits(), 0x080);
        assert_eq!(EntryFlags::GLOBAL.bits(), 0x100);
        assert_eq!(EntryFlags::all().bits(), 0xFFF);
        assert_eq!(EntryFlags::OWNED.bits(), 0x200);
    }

    #[test]
    fn letters_show_each_bit_in_its_column() {
        let f = EntryFlags::PRESENT | EntryFlags::USER | EntryFlags::GLOBAL;
        assert_eq!(format!("{}", f.letters()), "P-U-----G");
        let all = EntryFlags::all();
        assert_eq!(format!("{}", all.letters()), "PWUTCADSG own pin avl2");
        assert_eq!(format!("{}", EntryFlags::empty().letters()), "---------");
    }

    #[test]
    fn tables_are_one_aligned_page() {
        let t = PageTable::new();
        assert!(t.entries.iter().all(|e| *e == Entry::EMPTY));
        assert_eq!(core::mem::size_of_val(&PageDirectory::new()), PAGE_SIZE);
    }
}
