//! The keyboard's process: the foreground (where keys go) and the input
//! handed to a process blocked in `read`.

use super::process::{LINE_MAX, State, Table, lock_table};

/// Some(raw) when `pid` is blocked in `read`.
pub fn reading_raw(pid: u32) -> Option<bool> {
    let mut t = lock_table();
    match t.by_pid(pid)?.state {
        State::Reading { raw } => Some(raw),
        _ => None,
    }
}

/// Hand `bytes` to `pid`'s blocked `read` and make it ready.
pub fn deliver(pid: u32, bytes: &[u8]) {
    let mut t = lock_table();
    if let Some(p) = t.by_pid(pid)
        && matches!(p.state, State::Reading { .. })
    {
        let n = bytes.len().min(LINE_MAX);
        p.input[..n].copy_from_slice(&bytes[..n]);
        p.input_len = n;
        p.input_ready = true;
        p.state = State::Ready;
    }
}

/// Make `pid` the process the keyboard goes to (0: none).
pub fn set_foreground(pid: u32) {
    crate::arch::x86::without_interrupts(|| lock_table().foreground = pid);
}

/// The foreground process (0: none), with the table locked.
pub fn foreground_locked(t: &Table) -> u32 {
    t.foreground
}
