//! The command line's editor: typing, backspace, and a history walked with
//! the up and down arrows. No heap: fixed buffers, so it works at any time.
//!
//! ```text
//!  history (oldest .. newest)      line being edited
//!  [ "help", "gdt", "echo hi" ]    "ech_"
//!                       ^ Up shows the newest first; Down walks back to the draft
//! ```
//!
//! Every change is echoed to `out`: characters as typed, `\x08` to erase one.

use core::fmt;

/// Longest command line, in bytes.
pub const MAX_LINE: usize = 160;
/// Lines kept in the history.
pub const HISTORY: usize = 16;

#[derive(Clone, Copy)]
struct Line {
    bytes: [u8; MAX_LINE],
    len: usize,
}

impl Line {
    const EMPTY: Line = Line {
        bytes: [0; MAX_LINE],
        len: 0,
    };
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

/// A line editor with history.
pub struct LineEditor {
    line: Line,
    draft: Line,
    history: [Line; HISTORY],
    /// Lines stored in `history` (at most HISTORY), newest at `(next - 1) % HISTORY`.
    stored: usize,
    next: usize,
    /// How far back Up has gone: 0 = editing the draft.
    browsing: usize,
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

impl LineEditor {
    /// An empty editor with an empty history.
    pub const fn new() -> LineEditor {
        LineEditor {
            line: Line::EMPTY,
            draft: Line::EMPTY,
            history: [Line::EMPTY; HISTORY],
            stored: 0,
            next: 0,
            browsing: 0,
        }
    }

    /// The text typed so far.
    pub fn text(&self) -> &str {
        self.line.as_str()
    }

    /// Type one printable character; a full line refuses it (returns false).
    pub fn insert(&mut self, c: char, out: &mut impl fmt::Write) -> bool {
        let mut buf = [0u8; 4];
        let s = c.encode_utf8(&mut buf);
        if c.is_control() || self.line.len + s.len() > MAX_LINE {
            return false;
        }
        self.line.bytes[self.line.len..self.line.len + s.len()].copy_from_slice(s.as_bytes());
        self.line.len += s.len();
        let _ = out.write_str(s);
        true
    }

    /// Erase the last character, if any.
    pub fn backspace(&mut self, out: &mut impl fmt::Write) {
        if let Some(c) = self.text().chars().next_back() {
            self.line.len -= c.len_utf8();
            let _ = out.write_char('\x08');
        }
    }

    /// Show the previous history line (Up).
    pub fn up(&mut self, out: &mut impl fmt::Write) {
        if self.browsing < self.stored {
            if self.browsing == 0 {
                self.draft = self.line;
            }
            self.browsing += 1;
            let entry = self.history[(self.next + HISTORY - self.browsing) % HISTORY];
            self.replace(entry, out);
        }
    }

    /// Show the next history line, or the draft after the newest (Down).
    pub fn down(&mut self, out: &mut impl fmt::Write) {
        if self.browsing > 0 {
            self.browsing -= 1;
            let entry = if self.browsing == 0 {
                self.draft
            } else {
                self.history[(self.next + HISTORY - self.browsing) % HISTORY]
            };
            self.replace(entry, out);
        }
    }

    /// Finish the line (Enter): it is stored in the history (unless empty or
    /// equal to the newest entry) and the editor starts a new one. `f` gets the text.
    pub fn submit<R>(&mut self, f: impl FnOnce(&str) -> R) -> R {
        let line = self.line;
        let text = line.as_str().trim();
        let newest = if self.stored > 0 {
            Some(self.history[(self.next + HISTORY - 1) % HISTORY].as_str())
        } else {
            None
        };
        if !text.is_empty() && newest != Some(line.as_str()) {
            self.history[self.next] = line;
            self.next = (self.next + 1) % HISTORY;
            self.stored = (self.stored + 1).min(HISTORY);
        }
        self.line = Line::EMPTY;
        self.draft = Line::EMPTY;
        self.browsing = 0;
        f(line.as_str())
    }

    /// Drop the line being typed without running it.
    pub fn clear(&mut self) {
        self.line = Line::EMPTY;
        self.browsing = 0;
    }

    fn replace(&mut self, new: Line, out: &mut impl fmt::Write) {
        for _ in self.text().chars() {
            let _ = out.write_char('\x08');
        }
        self.line = new;
        let _ = out.write_str(new.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apply the echo stream to a string, as a terminal would.
    fn screen(echo: &str) -> String {
        let mut s = String::new();
        for c in echo.chars() {
            if c == '\x08' {
                s.pop();
            } else {
                s.push(c);
            }
        }
        s
    }

    fn type_str(e: &mut LineEditor, s: &str, out: &mut String) {
        for c in s.chars() {
            e.insert(c, out);
        }
    }

    #[test]
    fn typing_and_backspace() {
        let mut e = LineEditor::new();
        let mut out = String::new();
        type_str(&mut e, "helx", &mut out);
        e.backspace(&mut out);
        type_str(&mut e, "p", &mut out);
        assert_eq!(e.text(), "help");
        assert_eq!(screen(&out), "help");
        e.backspace(&mut out);
        e.backspace(&mut out);
        e.backspace(&mut out);
        e.backspace(&mut out);
        e.backspace(&mut out);
        assert_eq!(e.text(), "");
        assert_eq!(screen(&out), "");
    }

    #[test]
    fn history_walks_both_ways_and_keeps_the_draft() {
        let mut e = LineEditor::new();
        let mut out = String::new();
        for cmd in ["help", "gdt", "echo hi"] {
            type_str(&mut e, cmd, &mut out);
            assert_eq!(e.submit(|l| l.to_string()), cmd);
        }
        out.clear();
        type_str(&mut e, "ec", &mut out);
        e.up(&mut out);
        assert_eq!(e.text(), "echo hi");
        e.up(&mut out);
        e.up(&mut out);
        e.up(&mut out); // past the oldest: stays
        assert_eq!(e.text(), "help");
        e.down(&mut out);
        assert_eq!(e.text(), "gdt");
        e.down(&mut out);
        e.down(&mut out);
        assert_eq!(e.text(), "ec", "down past the newest restores the draft");
        assert_eq!(screen(&out), "ec");
    }

    #[test]
    fn history_skips_empty_and_repeated_lines_and_is_bounded() {
        let mut e = LineEditor::new();
        let mut out = String::new();
        e.submit(|_| ());
        type_str(&mut e, "a", &mut out);
        e.submit(|_| ());
        type_str(&mut e, "a", &mut out);
        e.submit(|_| ());
        e.up(&mut out);
        e.up(&mut out);
        assert_eq!(e.text(), "a");
        let mut e = LineEditor::new();
        for i in 0..HISTORY + 5 {
            type_str(&mut e, &i.to_string(), &mut out);
            e.submit(|_| ());
        }
        for _ in 0..HISTORY + 5 {
            e.up(&mut out);
        }
        assert_eq!(e.text(), "5", "the oldest kept entry");
    }

    #[test]
    fn a_full_line_refuses_more() {
        let mut e = LineEditor::new();
        let mut out = String::new();
        for _ in 0..MAX_LINE {
            assert!(e.insert('x', &mut out));
        }
        assert!(!e.insert('y', &mut out));
        assert!(!LineEditor::new().insert('\n', &mut out));
        assert_eq!(e.text().len(), MAX_LINE);
    }
}
