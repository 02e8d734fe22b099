//! Commands for paging and the virtual memory manager.

use super::Command;

pub static COMMANDS: &[Command] = &[];
