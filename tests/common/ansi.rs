//! Plain text out of what a terminal is sent: shared by the host tests
//! (`src/testutil.rs`), the QEMU tests and the doc check, each including
//! this file with `#[path]` (so it is no part of the library's API).

/// `s` without its ANSI escape sequences (`ESC [ params final`, and the byte
/// after a lone `ESC`), as a reader of plain text sees it; `\r` is kept.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.next() == Some('[') {
                // parameters and intermediates, then one final byte @..~
                for d in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&d) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
