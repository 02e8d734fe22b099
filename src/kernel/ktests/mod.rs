//! In-kernel tests: run when the command line holds `test`, each printing
//! `test NAME ... ok|FAILED`, then a closing `N passed, N failed` line, and
//! QEMU leaves through `isa-debug-exit` with the outcome.
//!
//! One file per subject (foundation, the kernel heap, the playground, the
//! heap commands, frames, paging, the allocator family, the channel), each
//! a table of [`kit::Test`]s over the shared helpers of [`kit`]; this
//! runner on top.

pub mod channel;
pub mod family;
pub mod foundation;
pub mod frames;
pub mod heap;
pub mod heap_commands;
pub mod kit;
pub mod paging;
pub mod playground;
pub mod slab;
pub mod user;

// course: module 02
use crate::kernel::boot::boot_info;
// course: end
use crate::kernel::halt;
use crate::println;
use kit::Test;

/// Every table of tests, subject by subject, layer by layer.
static ALL: &[&[Test]] = &[
    foundation::TESTS,
    // course: module 03
    heap::TESTS,
    slab::TESTS,
    playground::TESTS,
    heap_commands::TESTS,
    // course: end
    // course: module 04
    frames::TESTS,
    // course: end
    // course: module 05
    paging::TESTS,
    // course: end
    // course: module 07
    family::TESTS,
    channel::TESTS,
    // course: end
    // course: module 08
    user::TESTS,
    // course: end
];

// course: module 02
/// With `teststop` on the command line, one test more runs last: it stops
/// the kernel (a kernel stack overflow, a double fault) to show that a fatal
/// fault in test mode still reports the true totals and names the test.
static STOP: &[Test] = &[Test {
    name: "stop_the_kernel_on_purpose",
    run: stop_the_kernel,
}];

fn stop_the_kernel() -> Result<(), alloc::string::String> {
    let mut out = alloc::string::String::new();
    crate::kernel::commands::run("fault stack", &mut out);
    Err(alloc::format!("`fault stack` returned: {out}"))
}
// course: end

/// Run every in-kernel test, print the summary and leave QEMU.
pub fn run_all() -> ! {
    println!("running in-kernel tests");
    let (mut passed, mut failed) = (0, 0);
    // course: module 02
    let stop: &[Test] = if boot_info().flag("teststop") {
        STOP
    } else {
        &[]
    };
    // course: else
    // let stop: &[Test] = &[]; // `teststop` runs `fault stack`: a command (module 2)
    // course: end
    for test in ALL.iter().copied().flatten().chain(stop) {
        halt::test_started(Some(test.name));
        let outcome = (test.run)();
        halt::test_finished(outcome.is_ok());
        match outcome {
            Ok(()) => {
                passed += 1;
                println!("test {} ... ok", test.name);
            }
            Err(msg) => {
                failed += 1;
                crate::kernel::console::error_line(format_args!(
                    "test {} ... FAILED: {msg}",
                    test.name
                ));
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    halt::exit_qemu(failed == 0)
}
