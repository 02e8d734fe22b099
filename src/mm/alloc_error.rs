//! The one error every allocator answers with: the heaps (`mm::heap`) and
//! the FreeNOS family (`mm::family`, which re-exports it) alike.

use core::fmt;

/// Why an allocator refused. The allocator is unchanged after every one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocError {
    /// The address was not handed out by this allocator, or was already
    /// released (double free), or this allocator never releases.
    InvalidAddress,
    /// The size is zero, too large for this allocator, or (at release) does
    /// not match what was allocated.
    InvalidSize,
    /// The alignment is not a power of two, or not one this allocator serves.
    InvalidAlignment,
    /// Not enough free memory (and the parent, if any, had none either).
    OutOfMemory,
    /// A guard word around an object was overwritten: a buffer overflow or
    /// underflow happened. Nothing was released.
    Corrupted,
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            AllocError::InvalidAddress => "not a block it handed out (or one released already)",
            AllocError::InvalidSize => {
                "a size it does not serve (zero, larger than it can hold, or not the size allocated)"
            }
            AllocError::InvalidAlignment => {
                "an alignment it does not serve (not a power of two, or larger than it aligns)"
            }
            AllocError::OutOfMemory => "out of memory",
            AllocError::Corrupted => "corrupted object guard",
        };
        f.write_str(s)
    }
}
