//! In-kernel tests of paging and the virtual memory manager, on the real
//! MMU: the kernel's own address space, its protections, user address
//! spaces, the recursive slot, the heap growing through the VMM, and the
//! `map`/`unmap` commands.
//!
//! Rule: nothing allocates while `memory::MEMORY` is held; each test copies
//! plain values out of `memory::with` and asserts (and formats) afterwards.
//!
//! One file per subject: `spaces.rs`, `protection.rs`, `recursive.rs`,
//! `growth.rs`, `commands.rs`, over `kit.rs` (a caught page fault).

mod commands;
// course: module 06
mod growth;
// course: end
mod kit;
mod protection;
mod recursive;
mod spaces;

use crate::kernel::ktests::kit::Test;

pub static TESTS: &[Test] = &[
    Test {
        name: "paging_map_write_translate_unmap_then_fault",
        run: spaces::map_write_translate_unmap,
    },
    // course: module 06
    Test {
        name: "paging_1000_address_spaces_free_every_frame",
        run: spaces::thousand_address_spaces,
    },
    // course: end
    Test {
        name: "paging_writing_kernel_text_faults",
        run: protection::kernel_text_is_read_only,
    },
    Test {
        name: "paging_null_page_unmapped",
        run: protection::null_page_unmapped,
    },
    Test {
        name: "paging_guard_page_below_boot_stack_unmapped",
        run: protection::guard_page_unmapped,
    },
    Test {
        name: "paging_every_kernel_stack_has_an_unmapped_guard_page",
        run: protection::every_stack_has_a_guard,
    },
    Test {
        name: "paging_recursive_slot_shows_the_directory",
        run: recursive::recursive_slot,
    },
    // course: module 06
    Test {
        name: "paging_heap_grows_through_the_vmm",
        run: growth::heap_grows,
    },
    // course: end
    Test {
        name: "paging_map_unmap_commands_guard_the_kernel",
        run: commands::map_commands,
    },
    Test {
        name: "paging_map_unmap_100_areas_is_frame_exact",
        run: commands::map_unmap_areas_is_frame_exact,
    },
    Test {
        name: "paging_ffree_refuses_a_mapped_frame",
        run: commands::ffree_refuses_a_mapped_frame,
    },
];
