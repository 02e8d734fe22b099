//! In-kernel tests of the buddy heap and the playground.

use crate::kernel::ktest::Test;

pub static TESTS: &[Test] = &[];
