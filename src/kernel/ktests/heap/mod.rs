//! In-kernel tests of the kernel heap, whatever design `heap=` chose (run
//! by `make test-kernel` on every design), one file per subject over the
//! shared helpers of [`super::kit`], this table on top.
//!
//! ```text
//!   collections.rs  Box Vec String BTreeMap, alignment 1..4096, realloc in place
//!   growth.rs       growth past INITIAL_HEAP through the VMM; under the memory
//!                   lock a named error, never a hang
//!   refusals.rs     bad frees refused and counted, check() ok; a write after
//!                   free found by check() and `heapcheck`
//!   design.rs       the design heap= chose, its figures, a burst
//! ```

mod collections;
mod design;
// course: module 06
mod growth;
// course: end
mod refusals;

use crate::kernel::ktests::kit::Test;

pub static TESTS: &[Test] = &[
    Test {
        name: "heap_box_vec_string_btreemap",
        run: collections::collections,
    },
    // course: module 06
    Test {
        name: "heap_grows_past_initial_size",
        run: growth::grows,
    },
    // course: end
    Test {
        name: "heap_alignment_up_to_4096",
        run: collections::alignment,
    },
    Test {
        name: "heap_bad_free_refused_heap_still_checks",
        run: refusals::bad_free,
    },
    // course: module 06
    Test {
        name: "heap_growth_under_the_memory_lock_fails_named",
        run: growth::growth_under_memory_lock,
    },
    // course: end
    Test {
        name: "heap_write_after_free_found_by_heapcheck",
        run: refusals::write_after_free,
    },
    Test {
        name: "heap_realloc_shrinks_in_place_on_every_design",
        run: collections::realloc_in_place,
    },
    Test {
        name: "family_heap_is_the_one_chosen_at_boot",
        run: design::heap_is_the_one_chosen,
    },
    Test {
        name: "family_heap_stats_are_sane",
        run: design::heap_stats_are_sane,
    },
    Test {
        name: "family_heap_burst_keeps_check_passing",
        run: design::heap_burst,
    },
    // course: module 06
    Test {
        name: "family_heap_grows_through_the_vmm",
        run: growth::heap_grows,
    },
    // course: end
    Test {
        name: "family_heap_refuses_and_counts_bad_frees",
        run: refusals::heap_bad_frees,
    },
];
