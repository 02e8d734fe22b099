//! What every command file needs: the [`Command`] entry of a table, its
//! [`Outcome`], and the [`Adapter`] that lets reports written for
//! `impl fmt::Write` go to the shell's `&mut dyn Write`.

use alloc::string::String;
use core::fmt::Write;

/// What a command returns: `Err` carries a message printed as `error: ...`.
pub type Outcome = Result<(), String>;

/// One command.
pub struct Command {
    pub name: &'static str,
    pub args: &'static str,
    pub help: &'static str,
    pub run: fn(&[&str], &mut dyn Write) -> Outcome,
}

/// Lets reports written for `impl fmt::Write` go to a `dyn Write`.
pub struct Adapter<'a>(pub &'a mut dyn Write);

impl Write for Adapter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.write_str(s)
    }
}
