//! In-kernel tests of the allocator family over real kernel memory, one
//! file per kind of memory, this table on top.
//!
//! `make test-kernel` boots these under every `heap=` (buddy, pool,
//! gaptree, firstfit); the heap tests themselves (whichever design is the
//! kernel's `#[global_allocator]`) are in [`super::heap`].
//!
//! ```text
//!   blocks.rs  kernel heap (any design) ──▶ heap blocks ──▶ Bit, Bubble, Pool(Bit)
//!   split.rs   PMM frames ──map_range_contiguous──▶ KernelPrivate window ──▶ SplitAllocator
//! ```

mod blocks;
mod split;

use crate::kernel::ktests::kit::Test;

pub static TESTS: &[Test] = &[
    Test {
        name: "family_bit_allocator_on_kernel_memory",
        run: blocks::bit_allocator,
    },
    Test {
        name: "family_bubble_allocator_on_kernel_memory",
        run: blocks::bubble_allocator,
    },
    Test {
        name: "family_pool_allocator_on_kernel_memory",
        run: blocks::pool_allocator,
    },
    Test {
        name: "family_split_allocator_maps_real_frames",
        run: split::split_allocator,
    },
];
