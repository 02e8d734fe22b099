//! In-kernel tests of the physical memory manager.

use crate::kernel::ktest::Test;

pub static TESTS: &[Test] = &[];
