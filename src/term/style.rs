//! The console's colours, by meaning. Printed as ANSI sequences: the VGA
//! model turns them into attributes, a serial terminal shows them itself,
//! and `color off` drops them on both sides.
//!
//! ```text
//!  error   bright red       warning  bright yellow     heading  bright cyan
//!  prompt  bright green     frame    red on black (exception reports)
//!  note    dark grey (hints)                           reset    back to grey
//! ```

/// An error: something was refused or failed.
pub const ERROR: &str = "\x1b[91m";
/// A warning: it worked, but look.
pub const WARN: &str = "\x1b[93m";
/// A heading or a banner.
pub const HEADING: &str = "\x1b[96m";
/// The command prompt.
pub const PROMPT: &str = "\x1b[92m";
/// The frame of an exception report.
pub const FRAME: &str = "\x1b[1;41m";
/// A hint.
pub const NOTE: &str = "\x1b[90m";
/// Back to the default colour.
pub const RESET: &str = "\x1b[0m";
