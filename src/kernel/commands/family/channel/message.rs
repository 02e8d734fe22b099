//! A channel message as the demo writes it: four little-endian words
//! (seq, tick, kind, code) and zero padding up to the message size; a key
//! as its code, and a code printed back as the key.
//!
//! ```text
//!   message:  [seq u32][tick u32][kind u32][code u32][zero padding...]
//!   code:     a char's scalar | CODE_SPECIAL + n (Enter, ...) | CODE_CTRL + c
//! ```

use crate::shell::input::Key;
use core::fmt::Write;

/// Bytes of a message the demo fills in: seq, tick, kind, code.
pub(super) const RECORD: usize = 16;
/// The largest message `channel on` accepts (the handler's stack buffer).
pub const MAX_MESSAGE: usize = 512;
/// Message size when `channel on` is given none.
pub const DEFAULT_MESSAGE: usize = 16;

/// Message kinds.
pub(super) const KIND_KEY: u32 = 1;
pub(super) const KIND_FILL: u32 = 2;

/// Codes of the keys that are not characters: above every Unicode scalar.
const CODE_SPECIAL: u32 = 0x11_0000;
/// `Ctrl(c)` is `CODE_CTRL + c`.
const CODE_CTRL: u32 = 0x12_0000;

/// A key as the message's `code`.
pub(super) fn key_code(key: Key) -> u32 {
    match key {
        Key::Char(c) => c as u32,
        Key::Enter => CODE_SPECIAL,
        Key::Backspace => CODE_SPECIAL + 1,
        Key::Escape => CODE_SPECIAL + 2,
        Key::Tab => CODE_SPECIAL + 3,
        Key::Up => CODE_SPECIAL + 4,
        Key::Down => CODE_SPECIAL + 5,
        Key::Left => CODE_SPECIAL + 6,
        Key::Right => CODE_SPECIAL + 7,
        Key::Ctrl(c) => CODE_CTRL + c as u32,
        Key::Home => CODE_SPECIAL + 8,
        Key::End => CODE_SPECIAL + 9,
        Key::Delete => CODE_SPECIAL + 10,
        Key::PageUp => CODE_SPECIAL + 11,
        Key::PageDown => CODE_SPECIAL + 12,
        Key::ScrollUp => CODE_SPECIAL + 13,
        Key::ScrollDown => CODE_SPECIAL + 14,
    }
}

/// Print a message's `code` the way `channel` shows a key.
pub(super) fn write_key(out: &mut dyn Write, code: u32) {
    const SPECIAL: [&str; 15] = [
        "Enter",
        "Backspace",
        "Escape",
        "Tab",
        "Up",
        "Down",
        "Left",
        "Right",
        "Home",
        "End",
        "Delete",
        "PgUp",
        "PgDn",
        "Shift+PgUp",
        "Shift+PgDn",
    ];
    let _ = match code {
        c if c >= CODE_CTRL => match char::from_u32(c - CODE_CTRL) {
            Some(ch) => write!(out, "Ctrl-{ch}"),
            None => write!(out, "code {c:#x}"),
        },
        c if c >= CODE_SPECIAL => match SPECIAL.get((c - CODE_SPECIAL) as usize) {
            Some(name) => write!(out, "{name}"),
            None => write!(out, "code {c:#x}"),
        },
        c => match char::from_u32(c) {
            Some(ch) => write!(out, "{ch:?}"),
            None => write!(out, "code {c:#x}"),
        },
    };
}
