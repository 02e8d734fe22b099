//! In-kernel tests of the allocator family and the heap chosen at boot.

use crate::kernel::ktest::Test;

pub static TESTS: &[Test] = &[];
