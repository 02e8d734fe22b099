//! What every in-kernel test file needs: the [`Test`] entry of a table and
//! the `kassert!` macro that fails a test with a message.

use alloc::string::String;

/// One in-kernel test.
pub struct Test {
    pub name: &'static str,
    pub run: fn() -> Result<(), String>,
}

/// Fail the test with a message unless `cond` holds.
#[macro_export]
macro_rules! kassert {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(alloc::format!($($msg)*));
        }
    };
}
