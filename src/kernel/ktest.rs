//! In-kernel tests: run when the command line holds `test`, each printing
//! `test NAME ... ok|FAILED`, then a closing `N passed, N failed` line, and
//! QEMU leaves through `isa-debug-exit` with the outcome.

use crate::arch::x86::{self, probe};
use crate::println;
use alloc::string::String;

/// isa-debug-exit code for success (QEMU exits with 0x21 = 33).
pub const EXIT_SUCCESS: u32 = 0x10;
/// isa-debug-exit code for failure (QEMU exits with 0x23 = 35).
pub const EXIT_FAILURE: u32 = 0x11;

/// One in-kernel test.
pub struct Test {
    pub name: &'static str,
    pub run: fn() -> Result<(), String>,
}

/// Fail the test with a message unless `cond` holds.
#[macro_export]
macro_rules! kassert {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(alloc::format!($($msg)*));
        }
    };
}

fn foundation_tests() -> &'static [Test] {
    &[
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
    ]
}

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
    let before = crate::kernel::interrupts::TICKS.load(core::sync::atomic::Ordering::Relaxed);
    for _ in 0..3 {
        x86::enable_interrupts_and_hlt();
    }
    let after = crate::kernel::interrupts::TICKS.load(core::sync::atomic::Ordering::Relaxed);
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
    let info = crate::kernel::boot_info();
    kassert!(info.has_memory_map, "no memory map from the loader");
    kassert!(
        info.usable_bytes() >= 8 << 20,
        "less than 8 MiB usable: {}",
        info.usable_bytes()
    );
    Ok(())
}

/// Every table of tests, layer by layer.
fn all() -> [&'static [Test]; 5] {
    use crate::kernel::ktests;
    [
        foundation_tests(),
        ktests::heap::TESTS,
        ktests::frames::TESTS,
        ktests::paging::TESTS,
        ktests::family::TESTS,
    ]
}

/// Run every in-kernel test, print the summary and leave QEMU.
pub fn run_all() -> ! {
    println!("running in-kernel tests");
    let (mut passed, mut failed) = (0, 0);
    for test in all().into_iter().flatten() {
        match (test.run)() {
            Ok(()) => {
                passed += 1;
                println!("test {} ... ok", test.name);
            }
            Err(msg) => {
                failed += 1;
                println!("test {} ... FAILED: {msg}", test.name);
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    x86::qemu_exit(if failed == 0 {
        EXIT_SUCCESS
    } else {
        EXIT_FAILURE
    })
}
