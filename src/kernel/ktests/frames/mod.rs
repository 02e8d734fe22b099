//! In-kernel tests of the physical memory manager, on the real memory map
//! and real RAM. They run under every `make test-kernel` configuration
//! (16M, 128M, 3G, pmm=bitmap, pmm=freelist, heap=...).
//!
//! One file per subject, over the helpers they share:
//!
//! ```text
//!   commands.rs  `frames`, `buddyinfo` agree with the allocator; `falloc`, `ffree`
//!   drain.rs     take every free frame one by one, pattern it, give it back
//!   runs.rs      contiguous runs of several sizes and alignments held at once
//!   refusals.rs  bad frees refused with their cause; reserved ranges kept,
//!                the boot information beside the kernel's bytes
//!   kit.rs       State, Fault, patterned frames, the known reserved ranges
//! ```

mod commands;
mod drain;
mod kit;
mod refusals;
mod runs;

use crate::kernel::ktests::kit::Test;

pub static TESTS: &[Test] = &[
    Test {
        name: "frames_reports_agree_with_the_allocator",
        run: commands::reports_agree,
    },
    Test {
        name: "frames_take_every_free_frame",
        run: drain::take_every_free_frame,
    },
    Test {
        name: "frames_contiguous_runs_with_alignment",
        run: runs::contiguous_runs,
    },
    Test {
        name: "frames_bad_frees_refused_and_nothing_changed",
        run: refusals::bad_frees,
    },
    Test {
        name: "frames_reserved_ranges_never_handed_out",
        run: refusals::reserved_ranges,
    },
    Test {
        name: "frames_multiboot_info_lies_beside_the_kernel_sections",
        run: refusals::multiboot_info_beside_the_kernel,
    },
    Test {
        name: "frames_falloc_ffree_commands",
        run: commands::falloc_ffree_commands,
    },
];
