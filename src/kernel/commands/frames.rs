//! Commands for the physical memory manager.

use super::Command;

pub static COMMANDS: &[Command] = &[];
