//! The kernel side of the shell: the [`Host`] the shell loop feeds keys
//! through, with ShompOS's hotkeys and command dispatch.
//!
//! ```text
//!   key ──► Shell (hotkey mode) ──► KernelHost::hotkey
//!                │                    ├─ '0'  divide by zero (probe, survived)
//!                │                    └─ 1-9 a q w e r t y u i p
//!                │                         ──► playground::with_playground ──► Playground::key
//!                └ (command mode) ──► KernelHost::command ──► commands::run
//! ```

use crate::arch::x86::probe;
use crate::kernel::commands;
use crate::kernel::playground::with_playground;
use crate::shell::Host;
use core::fmt::Write;

/// The kernel's [`Host`] for the shell. Its state (the playground) is global,
/// so the host itself is empty.
pub struct KernelHost {}

impl KernelHost {
    /// The host; the playground is the shared one of [`with_playground`].
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
    /// `0` divides by zero (reported and survived); `1`-`9`, `a q w e r t y
    /// u i` and `p` go to the playground and print the console contract's
    /// lines; anything else is not a hotkey.
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
            c => with_playground(|p| p.key(c, &mut &mut *out)),
        }
    }

    fn command(&mut self, line: &str, out: &mut dyn Write) {
        commands::run(line, out);
    }
}
