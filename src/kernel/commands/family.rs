//! Commands for the allocator family and the heap chosen at boot.

use super::Command;

pub static COMMANDS: &[Command] = &[];
