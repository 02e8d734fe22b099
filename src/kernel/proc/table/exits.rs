//! Ended processes: the exit lines the shell prints (an error for a
//! fault, a warning for a failing status), the status `wait` takes, and
//! the slot freed once nobody will ask.
//!
//! ```text
//!   Zombie, reaped (no space, no kernel stack) ─┬─ parent the shell: reported once, freed
//!                                               └─ waited for: its status taken, freed
//! ```

use super::process::{ExitKind, State, lock_table};
use crate::process::abi::KILLED_BY_SHELL;
use crate::term::style::{ERROR, RESET, WARN};
use alloc::string::String;

/// Fill `lines` with the exit lines of ended, reaped, unreported processes
/// whose parent is the shell; drop entries nobody will ask about. Returns
/// how many lines were filled.
pub fn take_reports(lines: &mut [Option<String>]) -> usize {
    let mut t = lock_table();
    let mut n = 0;
    let current = t.current;
    for (i, slot) in t.slots.iter_mut().enumerate() {
        let Some(p) = slot.as_deref_mut() else {
            continue;
        };
        if p.state != State::Zombie || p.space.is_some() || p.kstack.is_some() || Some(i) == current
        {
            continue;
        }
        if !p.reported && !p.waited && p.parent == 0 {
            if n == lines.len() {
                break;
            }
            // A fault that killed it is an error, a failing status a
            // warning; what the shell asked for (kill, Ctrl+C) is plain.
            lines[n] = Some(match p.exit {
                Some(ExitKind::Killed { vector, reason }) => {
                    let (on, off) = if vector == KILLED_BY_SHELL as u32 {
                        ("", "")
                    } else {
                        (ERROR, RESET)
                    };
                    alloc::format!("{on}[pid {}] killed: {}{off}", p.pid, reason.as_str())
                }
                Some(ExitKind::Status(s)) => {
                    let (on, off) = if s == 0 { ("", "") } else { (WARN, RESET) };
                    alloc::format!("{on}[pid {}] exited with status {s}{off}", p.pid)
                }
                None => alloc::format!("[pid {}] ended", p.pid),
            });
            n += 1;
            p.reported = true;
        }
        let done = p.waited || (p.parent == 0 && p.reported);
        if done {
            *slot = None;
        }
    }
    n
}

/// How `pid` ended, once it has and its resources are reaped; the entry
/// is dropped (nobody reports it). `None` while it lives or is unknown.
pub fn take_exit(pid: u32) -> Option<ExitKind> {
    let mut t = lock_table();
    let current = t.current;
    for (i, slot) in t.slots.iter_mut().enumerate() {
        if let Some(p) = slot
            && p.pid == pid
            && p.state == State::Zombie
            && p.space.is_none()
            && p.kstack.is_none()
            && Some(i) != current
        {
            let exit = p.exit;
            *slot = None;
            return exit;
        }
    }
    None
}

/// Forget `pid` if it has ended, been waited for and reaped (frees its slot).
pub fn forget_waited(pid: u32) {
    let mut t = lock_table();
    let current = t.current;
    for (i, slot) in t.slots.iter_mut().enumerate() {
        if let Some(p) = slot
            && p.pid == pid
            && p.waited
            && p.space.is_none()
            && p.kstack.is_none()
            && Some(i) != current
        {
            *slot = None;
        }
    }
}

/// Is `pid` alive (not ended)?
pub fn is_alive(pid: u32) -> bool {
    let mut t = lock_table();
    t.by_pid(pid).is_some_and(|p| p.state != State::Zombie)
}
