//! The kernel side of the shell: hotkeys and command dispatch.

use crate::arch::x86::probe;
use crate::kernel::commands;
use crate::shell::Host;
use core::fmt::Write;

/// The kernel's [`Host`] for the shell.
pub struct KernelHost {}

impl KernelHost {
    /// The host, with its playground heap.
    pub fn new() -> KernelHost {
        KernelHost {}
    }
}

impl Default for KernelHost {
    fn default() -> Self {
        Self::new()
    }
}

impl Host for KernelHost {
    fn hotkey(&mut self, c: char, out: &mut dyn Write) -> bool {
        match c {
            '0' => {
                let _ = writeln!(out, "\nkey 0: dividing 1 by 0, as ShompOS does");
                match probe::divide(1, 0) {
                    Ok(q) => {
                        let _ = writeln!(out, "no fault? quotient {q}");
                    }
                    Err(_) => {
                        let _ = writeln!(out, "divide error survived");
                    }
                }
                true
            }
            '1'..='9' | 'a' | 'q' | 'w' | 'e' | 'r' | 't' | 'y' | 'u' | 'i' | 'p' => {
                let _ = writeln!(
                    out,
                    "\nkey {c}: the allocation hotkeys arrive with the heap layer"
                );
                true
            }
            _ => false,
        }
    }

    fn command(&mut self, line: &str, out: &mut dyn Write) {
        commands::run(line, out);
    }
}
