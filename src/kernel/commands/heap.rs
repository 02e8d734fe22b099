//! Commands for the buddy heap and the playground.

use super::Command;

pub static COMMANDS: &[Command] = &[];
