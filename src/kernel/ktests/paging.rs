//! In-kernel tests of paging and the virtual memory manager.

use crate::kernel::ktest::Test;

pub static TESTS: &[Test] = &[];
