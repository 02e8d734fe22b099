//! The memory maps QEMU's default machine reports, as data: for host tests,
//! the benchmark, the docs, and the QEMU tests that check `frames` against
//! the `-m` QEMU was given.
//!
//! ```text
//!   qemu -m 128M (i440fx + SeaBIOS), as GRUB passes it on:
//!   0x00000000-0x0009fbff  available   low RAM (below the EBDA)
//!   0x0009fc00-0x0009ffff  reserved    EBDA
//!   0x000f0000-0x000fffff  reserved    BIOS
//!   0x00100000-0x07fdffff  available   RAM from 1 MiB
//!   0x07fe0000-0x07ffffff  reserved    kept by SeaBIOS (ACPI tables)
//!   0xfffc0000-0xffffffff  reserved    BIOS flash
//! ```

use super::plan::{MemoryKind, MemoryRegion};
use alloc::vec;
use alloc::vec::Vec;

/// Where QEMU's i440fx machine stops putting RAM below 4 GiB once the
/// guest has 3.5 GiB or more (the rest is mapped from 4 GiB up).
pub const QEMU_LOW_RAM_LIMIT: u64 = 0xC000_0000;

/// The map QEMU (`-m <mib>M`, i440fx, SeaBIOS) hands GRUB: low RAM up to the
/// EBDA, the BIOS area, RAM from 1 MiB up to 128 KiB below the top of low
/// RAM (SeaBIOS keeps the rest), the BIOS flash below 4 GiB; with 3.5 GiB or
/// more, RAM past 3 GiB is moved above 4 GiB. Entries come in a shuffled
/// order on purpose: the planner must not rely on the order. `mib` must be at
/// least 2.
pub fn qemu_map(mib: u64) -> Vec<MemoryRegion> {
    use MemoryKind::*;
    let ram = mib << 20;
    let low = if ram >= 0xE000_0000 {
        QEMU_LOW_RAM_LIMIT
    } else {
        ram
    };
    let mut map = vec![
        MemoryRegion::new(0xFFFC_0000, 0x4_0000, Reserved),
        MemoryRegion::new(0x10_0000, low - 0x2_0000 - 0x10_0000, Available),
        MemoryRegion::new(0, 0x9_FC00, Available),
        MemoryRegion::new(0x9_FC00, 0x400, Reserved),
        MemoryRegion::new(0xF_0000, 0x1_0000, Reserved),
        MemoryRegion::new(low - 0x2_0000, 0x2_0000, Reserved),
    ];
    if ram > low {
        map.push(MemoryRegion::new(1 << 32, ram - low, Available));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_guests_get_ram_above_4g() {
        let m = qemu_map(4096);
        assert_eq!(
            m.last().unwrap(),
            &MemoryRegion::new(1 << 32, 1 << 30, MemoryKind::Available)
        );
        let avail: u64 = qemu_map(128)
            .iter()
            .filter(|e| e.kind == MemoryKind::Available)
            .map(|e| e.len)
            .sum();
        assert_eq!(avail, 0x9_FC00 + 0x7FE_0000 - 0x10_0000);
    }
}
