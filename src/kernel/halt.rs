//! How the kernel stops: the test flag, QEMU's exit codes and [`fatal`].
//!
//! ```text
//!   test mode (command line `test`) ──► qemu_exit(EXIT_SUCCESS | EXIT_FAILURE)
//!   normal boot ──────────────────────► halt with the report on screen
//! ```
//!
//! Every layer above may stop the kernel through here, so it depends on the
//! console alone.

use crate::arch::x86;
use crate::println;
use crate::term::style::{ERROR, RESET};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use spin::Mutex;

/// isa-debug-exit code for success (QEMU exits with 0x21 = 33).
pub const EXIT_SUCCESS: u32 = 0x10;
/// isa-debug-exit code for failure (QEMU exits with 0x23 = 35).
pub const EXIT_FAILURE: u32 = 0x11;

static TEST_MODE: AtomicBool = AtomicBool::new(false);

/// Record whether the command line asked for the in-kernel tests (once, at boot).
pub fn set_test_mode(on: bool) {
    TEST_MODE.store(on, Ordering::Relaxed);
}

/// True when the command line asked for the in-kernel tests.
pub fn test_mode() -> bool {
    TEST_MODE.load(Ordering::Relaxed)
}

/// The in-kernel tests' progress, kept here so a fatal fault in the middle
/// of a test can still print the true totals and name the test.
static TESTS_PASSED: AtomicU32 = AtomicU32::new(0);
static TESTS_FAILED: AtomicU32 = AtomicU32::new(0);
static CURRENT_TEST: Mutex<Option<&'static str>> = Mutex::new(None);

/// The test runner starts `name` (`None`: between tests).
pub fn test_started(name: Option<&'static str>) {
    *CURRENT_TEST.lock() = name;
}

/// The test runner finished a test with this outcome.
pub fn test_finished(ok: bool) {
    let counter = if ok { &TESTS_PASSED } else { &TESTS_FAILED };
    counter.fetch_add(1, Ordering::Relaxed);
    *CURRENT_TEST.lock() = None;
}

/// Tests passed and failed so far.
pub fn test_counts() -> (u32, u32) {
    (
        TESTS_PASSED.load(Ordering::Relaxed),
        TESTS_FAILED.load(Ordering::Relaxed),
    )
}

/// Leave QEMU with the outcome of the in-kernel tests.
pub fn exit_qemu(passed: bool) -> ! {
    x86::qemu_exit(if passed { EXIT_SUCCESS } else { EXIT_FAILURE })
}

/// Print why the kernel stops, then stop: in test mode QEMU exits with the
/// failure code, otherwise the CPU halts with the report on screen.
pub fn fatal(why: &str) -> ! {
    println!("{ERROR}cairn: halted: {why}{RESET}");
    if test_mode() {
        // The test that was running counts as failed; the ones before keep
        // their outcome. (Never wait for the lock: the fault may hold it.)
        let current = CURRENT_TEST.try_lock().and_then(|t| *t);
        let (passed, failed) = test_counts();
        match current {
            Some(name) => {
                println!("{ERROR}test {name} ... FAILED: the kernel stopped in it ({why}){RESET}")
            }
            None => println!("(between tests)"),
        }
        println!("{passed} passed, {} failed", failed + 1);
        exit_qemu(false);
    }
    x86::halt_forever()
}

/// [`fatal`] with `what: cause` as the reason, formatted without the heap
/// (it may not exist yet, or be what failed).
pub fn fatal_because(what: &str, cause: impl core::fmt::Display) -> ! {
    use core::fmt::Write;
    let mut why = crate::bootinfo::FixedStr::<160>::new();
    let _ = write!(why, "{what}: {cause}");
    fatal(why.as_str())
}
