//! Small text helpers that need no heap: a fixed-capacity string and a
//! byte count printed in binary units. Used by boot-time reports (before the
//! heap exists) and by the `mm` reports; and a writer that wraps long
//! lines to the screen.
//!
//! One file per idea:
//!
//! ```text
//!   fixed.rs  FixedStr, a string of at most N bytes kept inline
//!   size.rs   Size, SizeStyle, noun: byte counts and counted nouns
//!   wrap.rs   Wrap, WRAP_WIDTH: lines kept within the screen
//! ```

mod fixed;
mod size;
mod wrap;

pub use fixed::FixedStr;
pub use size::{Size, SizeStyle, noun};
pub use wrap::{WRAP_WIDTH, Wrap};

#[cfg(test)]
mod tests;
