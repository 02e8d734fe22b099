//! In-kernel tests: run when the command line holds `test`, each printing
//! `test NAME ... ok|FAILED`, then a closing `N passed, N failed` line, and
//! QEMU leaves through `isa-debug-exit` with the outcome.
//!
//! One file per subject, each a table of [`kit::Test`]s; this runner on top.

pub mod family;
pub mod foundation;
pub mod frames;
pub mod heap;
pub mod kit;
pub mod paging;
pub mod user;

use crate::kernel::halt;
use crate::println;
use kit::Test;

/// Every test, layer by layer (the layers of later course modules are cut
/// on earlier module branches).
fn all() -> impl Iterator<Item = &'static Test> {
    [
        foundation::TESTS,
        // course: module 03
        heap::TESTS,
        // course: end
        // course: module 04
        frames::TESTS,
        // course: end
        // course: module 05
        paging::TESTS,
        // course: end
        // course: module 07
        family::TESTS,
        // course: end
        // course: module 08
        user::TESTS,
        // course: end
    ]
    .into_iter()
    .flatten()
}

/// Run every in-kernel test, print the summary and leave QEMU.
pub fn run_all() -> ! {
    println!("running in-kernel tests");
    let (mut passed, mut failed) = (0, 0);
    for test in all() {
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
    halt::exit_qemu(failed == 0)
}
