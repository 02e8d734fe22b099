//! What the boot loader told the kernel, copied into kernel-owned storage:
//! the loader's name, the command line and the physical memory map.
//!
//! Pure code: the kernel fills a [`BootInfo`] from the multiboot2 tags; the
//! `mmap` command, the frame allocators and the tests read it here.
//!
//! ```text
//!  start        end (excl.)  size        type
//!  0x00000000   0x0009fc00   639 KiB     available
//!  0x0009fc00   0x000a0000   1 KiB       reserved
//!  ...
//! ```

use core::fmt;

pub use crate::text::{FixedStr, Size};

/// Most memory-map entries kept (QEMU gives about six; real firmware a few dozen).
pub const MAX_REGIONS: usize = 64;
/// Longest command line kept, in bytes.
pub const MAX_CMDLINE: usize = 256;
/// Longest boot-loader name kept, in bytes.
pub const MAX_LOADER_NAME: usize = 64;
/// Most boot modules remembered.
pub const MAX_MODULES: usize = 16;

/// The type of a memory-map entry (multiboot2 types 1..=5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    /// RAM free for the OS (type 1). The only kind the PMM manages.
    Available,
    /// Reserved by the firmware or a device (type 2 and unknown types).
    Reserved,
    /// ACPI tables, reusable once read (type 3). Left alone by Cairn.
    AcpiReclaimable,
    /// ACPI non-volatile storage (type 4).
    AcpiNvs,
    /// Defective RAM (type 5).
    Defective,
}

impl MemoryKind {
    /// The kind of a multiboot2 memory-map entry type; unknown types are `Reserved`.
    pub const fn from_multiboot(typ: u32) -> MemoryKind {
        match typ {
            1 => MemoryKind::Available,
            3 => MemoryKind::AcpiReclaimable,
            4 => MemoryKind::AcpiNvs,
            5 => MemoryKind::Defective,
            _ => MemoryKind::Reserved,
        }
    }

    /// A short lower-case name for tables.
    pub const fn name(self) -> &'static str {
        match self {
            MemoryKind::Available => "available",
            MemoryKind::Reserved => "reserved",
            MemoryKind::AcpiReclaimable => "ACPI reclaimable",
            MemoryKind::AcpiNvs => "ACPI NVS",
            MemoryKind::Defective => "defective",
        }
    }
}

/// One memory-map entry: `len` bytes from `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// What the firmware says the bytes are.
    pub kind: MemoryKind,
}

impl MemoryRegion {
    /// An entry of `len` bytes from `start`.
    pub const fn new(start: u64, len: u64, kind: MemoryKind) -> MemoryRegion {
        MemoryRegion { start, len, kind }
    }

    /// The first byte after the entry.
    pub const fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }
}

/// Bytes kept of a module's command line (a user program's name).
pub const MAX_MODULE_NAME: usize = 32;

/// A boot module GRUB loaded: its physical range and its command line (for
/// Cairn's user programs, the program's name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Module {
    pub start: u32,
    pub end: u32,
    pub name: FixedStr<MAX_MODULE_NAME>,
}

/// Everything Cairn keeps from the boot information.
#[derive(Clone, Copy)]
pub struct BootInfo {
    /// The boot loader's name, if it gave one.
    pub loader: Option<FixedStr<MAX_LOADER_NAME>>,
    /// The kernel command line (`test`, `heap=buddy`, `pmm=bitmap`, ...), if given.
    pub cmdline: Option<FixedStr<MAX_CMDLINE>>,
    regions: [MemoryRegion; MAX_REGIONS],
    region_count: usize,
    /// True when the loader gave a memory map at all.
    pub has_memory_map: bool,
    /// Entries dropped because the table was full.
    pub regions_dropped: usize,
    /// Physical range of the multiboot2 information structure itself.
    pub info_range: (u32, u32),
    modules: [Module; MAX_MODULES],
    module_count: usize,
}

impl BootInfo {
    /// Nothing known yet.
    pub const fn empty() -> BootInfo {
        BootInfo {
            loader: None,
            cmdline: None,
            regions: [MemoryRegion {
                start: 0,
                len: 0,
                kind: MemoryKind::Reserved,
            }; MAX_REGIONS],
            region_count: 0,
            has_memory_map: false,
            regions_dropped: 0,
            info_range: (0, 0),
            modules: [Module {
                start: 0,
                end: 0,
                name: FixedStr::new(),
            }; MAX_MODULES],
            module_count: 0,
        }
    }

    /// Record one memory-map entry (dropped and counted if the table is full).
    pub fn push_region(&mut self, region: MemoryRegion) {
        self.has_memory_map = true;
        if self.region_count < MAX_REGIONS {
            self.regions[self.region_count] = region;
            self.region_count += 1;
        } else {
            self.regions_dropped += 1;
        }
    }

    /// Record a boot module.
    pub fn push_module(&mut self, module: Module) {
        if self.module_count < MAX_MODULES {
            self.modules[self.module_count] = module;
            self.module_count += 1;
        }
    }

    /// The memory map, in the order the loader gave it.
    pub fn regions(&self) -> &[MemoryRegion] {
        &self.regions[..self.region_count]
    }

    /// The boot modules.
    pub fn modules(&self) -> &[Module] {
        &self.modules[..self.module_count]
    }

    /// Bytes of available RAM (overlaps counted once).
    pub fn usable_bytes(&self) -> u64 {
        self.usable_bytes_below(u64::MAX)
    }

    /// Bytes of available RAM below the physical address `limit`.
    pub fn usable_bytes_below(&self, limit: u64) -> u64 {
        let mut total = 0;
        let mut covered_to = 0u64;
        let mut sorted = self.regions;
        let avail = &mut sorted[..self.region_count];
        avail.sort_unstable_by_key(|r| (r.kind != MemoryKind::Available, r.start));
        for r in avail.iter().filter(|r| r.kind == MemoryKind::Available) {
            let start = r.start.max(covered_to);
            let end = r.end().min(limit);
            if end > start {
                total += end - start;
                covered_to = end;
            }
        }
        total
    }

    /// The command line's words (an initial kernel path, if GRUB left one, is skipped).
    pub fn args(&self) -> impl Iterator<Item = &str> {
        let line = self.cmdline.as_ref().map(|c| c.as_str()).unwrap_or("");
        line.split_whitespace().filter(|w| !w.starts_with('/'))
    }

    /// True when the command line holds the word `flag` (e.g. `test`).
    pub fn flag(&self, flag: &str) -> bool {
        self.args().any(|w| w == flag)
    }

    /// The value of `key=value` on the command line (the last one wins).
    pub fn option(&self, key: &str) -> Option<&str> {
        self.args()
            .filter_map(|w| w.split_once('='))
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .last()
    }

    /// Print the memory map as a table with the total usable RAM.
    pub fn write_memory_map(&self, out: &mut impl fmt::Write) -> fmt::Result {
        if !self.has_memory_map {
            return writeln!(out, "memory map: the boot loader gave none");
        }
        writeln!(out, "memory map ({} entries):", self.region_count)?;
        writeln!(
            out,
            "  start               end (excl.)         size        type"
        )?;
        for r in self.regions() {
            writeln!(
                out,
                "  {:#018x}  {:#018x}  {:>10}  {}",
                r.start,
                r.end(),
                Size::new(r.len),
                r.kind.name()
            )?;
        }
        if self.regions_dropped > 0 {
            writeln!(
                out,
                "  ({} more entries did not fit and were ignored)",
                self.regions_dropped
            )?;
        }
        // 32-bit paging without PAE reaches physical addresses below 4 GiB only.
        let reachable = self.usable_bytes_below(FOUR_GIB);
        writeln!(
            out,
            "usable RAM: {} ({} bytes)",
            Size::new(reachable),
            reachable
        )?;
        let above = self.usable_bytes() - reachable;
        if above > 0 {
            writeln!(
                out,
                "left alone: {} above 4 GiB (32-bit paging without PAE cannot address it)",
                Size::new(above)
            )?;
        }
        Ok(())
    }
}

/// The first physical address 32-bit paging (no PAE) cannot reach.
pub const FOUR_GIB: u64 = 1 << 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_above_4_gib_is_left_alone_and_said_so() {
        // QEMU at -m 4G: 3 GiB below the PCI hole, 1 GiB above 4 GiB.
        let mut b = BootInfo::empty();
        for (start, len, typ) in [
            (0u64, 0x9FC00u64, 1u32),
            (0x100000, 0xBFEE_0000 - 0x100000, 1),
            (0xFFFC_0000, 0x40000, 2),
            (0x1_0000_0000, 0x4000_0000, 1),
        ] {
            b.push_region(MemoryRegion {
                start,
                len,
                kind: MemoryKind::from_multiboot(typ),
            });
        }
        let mut s = String::new();
        b.write_memory_map(&mut s).unwrap();
        assert!(s.contains("usable RAM: 3070.4 MiB"), "{s}");
        assert!(s.contains("left alone: 1 GiB above 4 GiB"), "{s}");
        assert_eq!(b.usable_bytes() - b.usable_bytes_below(FOUR_GIB), 1 << 30);
        assert!(!qemu_128m_map().contains("left alone"));
    }

    fn qemu_128m_map() -> String {
        let mut s = String::new();
        qemu_128m().write_memory_map(&mut s).unwrap();
        s
    }

    fn qemu_128m() -> BootInfo {
        let mut b = BootInfo::empty();
        for (start, len, typ) in [
            (0u64, 0x9FC00u64, 1u32),
            (0x9FC00, 0x400, 2),
            (0xF0000, 0x10000, 2),
            (0x100000, 0x7EE0000, 1),
            (0x7FE0000, 0x20000, 2),
            (0xFFFC0000, 0x40000, 2),
        ] {
            b.push_region(MemoryRegion {
                start,
                len,
                kind: MemoryKind::from_multiboot(typ),
            });
        }
        b
    }

    #[test]
    fn usable_ram_of_qemu_128m() {
        let b = qemu_128m();
        assert_eq!(b.usable_bytes(), 0x9FC00 + 0x7EE0000);
    }

    #[test]
    fn overlapping_available_counted_once() {
        let mut b = BootInfo::empty();
        b.push_region(MemoryRegion {
            start: 0x100000,
            len: 0x100000,
            kind: MemoryKind::Available,
        });
        b.push_region(MemoryRegion {
            start: 0x180000,
            len: 0x100000,
            kind: MemoryKind::Available,
        });
        b.push_region(MemoryRegion {
            start: 0,
            len: 0x1000,
            kind: MemoryKind::Available,
        });
        assert_eq!(b.usable_bytes(), 0x180000 + 0x1000);
    }

    #[test]
    fn memory_map_table() {
        let mut s = String::new();
        qemu_128m().write_memory_map(&mut s).unwrap();
        assert!(s.starts_with("memory map (6 entries):\n"));
        assert!(
            s.contains("  0x0000000000100000  0x0000000007fe0000   126.8 MiB  available\n"),
            "{s}"
        );
        assert!(s.contains("usable RAM: 127.4 MiB"), "{s}");
        let mut none = String::new();
        BootInfo::empty().write_memory_map(&mut none).unwrap();
        assert_eq!(none, "memory map: the boot loader gave none\n");
    }

    #[test]
    fn command_line_options() {
        let mut b = BootInfo::empty();
        b.cmdline = Some(FixedStr::from_str_truncated(
            "/boot/cairn.elf test heap=gaptree pmm=bitmap heap=pool",
        ));
        assert!(b.flag("test"));
        assert!(!b.flag("heap"));
        assert_eq!(b.option("heap"), Some("pool"));
        assert_eq!(b.option("pmm"), Some("bitmap"));
        assert_eq!(b.option("playground"), None);
    }

    #[test]
    fn full_table_counts_drops() {
        let mut b = BootInfo::empty();
        for i in 0..MAX_REGIONS + 3 {
            b.push_region(MemoryRegion {
                start: i as u64 * 0x1000,
                len: 0x1000,
                kind: MemoryKind::Available,
            });
        }
        assert_eq!(b.regions().len(), MAX_REGIONS);
        assert_eq!(b.regions_dropped, 3);
    }
}
