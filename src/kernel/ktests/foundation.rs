//! In-kernel tests of the foundation: exceptions caught by probes, the
//! timer, the boot identity mapping gone, the memory map present.

use crate::arch::x86::{self, probe};
use crate::kassert;
use crate::kernel::boot::boot_info;
use crate::kernel::interrupts;
use crate::kernel::ktests::kit::Test;
use alloc::string::String;

pub static TESTS: &[Test] = &[
    Test {
        name: "probe_catches_divide_error",
        run: divide_error,
    },
    Test {
        name: "probe_catches_invalid_opcode",
        run: invalid_opcode,
    },
    Test {
        name: "probe_catches_page_fault_at_null",
        run: null_read,
    },
    Test {
        name: "probe_catches_bad_selector",
        run: bad_selector,
    },
    Test {
        name: "timer_ticks",
        run: timer_ticks,
    },
    Test {
        name: "identity_mapping_removed",
        run: identity_removed,
    },
    Test {
        name: "memory_map_present",
        run: memory_map_present,
    },
];

fn divide_error() -> Result<(), String> {
    let r = probe::quietly(|| probe::divide(7, 0));
    kassert!(
        matches!(r, Err(c) if c.vector == 0),
        "expected #DE, got {r:?}"
    );
    kassert!(probe::divide(7, 2) == Ok(3), "7 / 2 should be 3");
    Ok(())
}

fn invalid_opcode() -> Result<(), String> {
    let r = probe::quietly(probe::invalid_opcode);
    kassert!(
        matches!(r, Err(c) if c.vector == 6),
        "expected #UD, got {r:?}"
    );
    Ok(())
}

fn null_read() -> Result<(), String> {
    let r = probe::quietly(|| probe::read_u32(0));
    kassert!(
        matches!(r, Err(c) if c.vector == 14 && c.cr2 == 0 && c.error_code & 1 == 0),
        "expected a not-present #PF at 0, got {r:?}"
    );
    Ok(())
}

fn bad_selector() -> Result<(), String> {
    let r = probe::quietly(|| probe::load_fs(0xFFF8));
    kassert!(
        matches!(r, Err(c) if c.vector == 13 && c.error_code == 0xFFF8),
        "expected #GP(0xfff8), got {r:?}"
    );
    Ok(())
}

fn timer_ticks() -> Result<(), String> {
    let before = interrupts::ticks();
    for _ in 0..3 {
        x86::enable_interrupts_and_hlt();
    }
    let after = interrupts::ticks();
    kassert!(after > before, "the PIT did not tick ({before} -> {after})");
    Ok(())
}

fn identity_removed() -> Result<(), String> {
    let r = probe::quietly(|| probe::read_u32(crate::mm::layout::KERNEL_LOAD_ADDR));
    kassert!(
        r.is_err(),
        "the boot identity mapping of the first 4 MiB is still present"
    );
    Ok(())
}

fn memory_map_present() -> Result<(), String> {
    let info = boot_info();
    kassert!(info.has_memory_map, "no memory map from the loader");
    kassert!(
        info.usable_bytes() >= 8 << 20,
        "less than 8 MiB usable: {}",
        info.usable_bytes()
    );
    Ok(())
}
