//! What every command file needs: the [`Command`] entry of a table and its
//! [`Outcome`].
//!
//! Reports written for `impl fmt::Write` take the shell's `out: &mut dyn
//! Write` as `&mut &mut *out` (a `&mut dyn Write` is itself a `Write`): no
//! adapter type is needed.

use alloc::format;
use alloc::string::String;
use core::fmt::Write;

/// What a command returns: `Err` carries a message printed as `error: ...`.
pub type Outcome = Result<(), String>;

/// Refuse the arguments past the first `max`, in the words every command
/// uses: ``unexpected argument `x` `` (the first one too many). Checked
/// before the command changes anything.
pub fn at_most(args: &[&str], max: usize) -> Outcome {
    match args.get(max) {
        Some(extra) => Err(format!("unexpected argument `{extra}`")),
        None => Ok(()),
    }
}

/// One command.
pub struct Command {
    pub name: &'static str,
    pub args: &'static str,
    pub help: &'static str,
    pub run: fn(&[&str], &mut dyn Write) -> Outcome,
}

/// A number argument (`0x` hex or decimal, `K`/`M` suffixes), or why not.
pub fn parse(s: &str) -> Result<usize, String> {
    crate::shell::parse_number(s)
        .map(|n| n as usize)
        .map_err(|e| format!("`{s}`: {e}"))
}

/// `Ok` when a command that takes no arguments got none.
pub fn no_args(args: &[&str]) -> Outcome {
    at_most(args, 0)
}
