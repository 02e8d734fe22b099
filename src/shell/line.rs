//! The command line's editor: typing anywhere in the line (Left, Right,
//! Home, End, Backspace, Delete), and a history walked with the up and down
//! arrows. No heap: fixed buffers, so it works at any time.
//!
//! ```text
//!  history (oldest .. newest)      line being edited
//!  [ "help", "gdt", "echo hi" ]    "ec_ho"   cursor between 'c' and 'h'
//!                       ^ Up shows the newest first; Down walks back to the draft
//! ```
//!
//! Every change is echoed to `out` in a way both the VGA console and a
//! serial terminal follow: characters as typed, `\x08` to erase the one left
//! of the cursor, `ESC [ n D` to move left without erasing, and the rest of
//! the line reprinted after a change in the middle.

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
    /// The cursor, a byte index into `line` on a character boundary.
    cursor: usize,
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
            cursor: 0,
        }
    }

    /// The text typed so far.
    pub fn text(&self) -> &str {
        self.line.as_str()
    }

    /// The cursor's position, in bytes from the start of the line.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// True when the line holds [`MAX_LINE`] bytes or nearly (no room for `c`).
    pub fn is_full_for(&self, c: char) -> bool {
        self.line.len + c.len_utf8() > MAX_LINE
    }

    /// Characters after the cursor.
    fn after(&self) -> usize {
        self.text()[self.cursor..].chars().count()
    }

    /// Move the terminal's cursor `n` cells left without erasing.
    fn move_left(n: usize, out: &mut impl fmt::Write) {
        if n > 0 {
            let _ = write!(out, "\x1b[{n}D");
        }
    }

    /// Reprint from the cursor to the end, blank `erase` cells after it,
    /// and bring the terminal's cursor back to the editor's.
    fn redraw_tail(&self, erase: usize, out: &mut impl fmt::Write) {
        let _ = out.write_str(&self.text()[self.cursor..]);
        for _ in 0..erase {
            let _ = out.write_char(' ');
        }
        Self::move_left(self.after() + erase, out);
    }

    /// Type one printable character at the cursor; a full line refuses it
    /// (returns false).
    pub fn insert(&mut self, c: char, out: &mut impl fmt::Write) -> bool {
        let mut buf = [0u8; 4];
        let s = c.encode_utf8(&mut buf);
        if c.is_control() || self.is_full_for(c) {
            return false;
        }
        let (at, n) = (self.cursor, s.len());
        self.line.bytes.copy_within(at..self.line.len, at + n);
        self.line.bytes[at..at + n].copy_from_slice(s.as_bytes());
        self.line.len += n;
        self.cursor += n;
        let _ = out.write_str(s);
        if self.cursor < self.line.len {
            self.redraw_tail(0, out);
        }
        true
    }

    /// Type a whole string at the cursor (as far as it fits); false if cut.
    pub fn insert_str(&mut self, s: &str, out: &mut impl fmt::Write) -> bool {
        s.chars().all(|c| self.insert(c, out))
    }

    /// Remove the character at byte index `at` (a boundary before the end).
    fn remove_at(&mut self, at: usize) {
        let n = self.text()[at..].chars().next().map_or(0, char::len_utf8);
        self.line.bytes.copy_within(at + n..self.line.len, at);
        self.line.len -= n;
    }

    /// Erase the character left of the cursor, if any (Backspace).
    pub fn backspace(&mut self, out: &mut impl fmt::Write) {
        if let Some(c) = self.text()[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
            self.remove_at(self.cursor);
            let _ = out.write_char('\x08');
            if self.cursor < self.line.len {
                self.redraw_tail(1, out);
            }
        }
    }

    /// Erase the character under the cursor, if any (Delete).
    pub fn delete(&mut self, out: &mut impl fmt::Write) {
        if self.cursor < self.line.len {
            self.remove_at(self.cursor);
            self.redraw_tail(1, out);
        }
    }

    /// Move the cursor one character left (Left).
    pub fn left(&mut self, out: &mut impl fmt::Write) {
        if let Some(c) = self.text()[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
            Self::move_left(1, out);
        }
    }

    /// Move the cursor one character right (Right): the character is reprinted.
    pub fn right(&mut self, out: &mut impl fmt::Write) {
        if let Some(c) = self.text()[self.cursor..].chars().next() {
            self.cursor += c.len_utf8();
            let _ = out.write_char(c);
        }
    }

    /// Move the cursor to the start of the line (Home).
    pub fn home(&mut self, out: &mut impl fmt::Write) {
        Self::move_left(self.text()[..self.cursor].chars().count(), out);
        self.cursor = 0;
    }

    /// Move the cursor to the end of the line (End).
    pub fn end(&mut self, out: &mut impl fmt::Write) {
        let _ = out.write_str(&self.text()[self.cursor..]);
        self.cursor = self.line.len;
    }

    /// Print the whole line again (after something was printed over it),
    /// leaving the terminal's cursor where the editor's is.
    pub fn reprint(&self, out: &mut impl fmt::Write) {
        let _ = out.write_str(self.text());
        Self::move_left(self.after(), out);
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
        self.cursor = 0;
        f(line.as_str())
    }

    /// Drop the line being typed without running it.
    pub fn clear(&mut self) {
        self.line = Line::EMPTY;
        self.browsing = 0;
        self.cursor = 0;
    }

    fn replace(&mut self, new: Line, out: &mut impl fmt::Write) {
        self.end(out);
        for _ in self.text().chars() {
            let _ = out.write_char('\x08');
        }
        self.line = new;
        self.cursor = new.len;
        let _ = out.write_str(new.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apply the echo stream to one line of cells, as a terminal would:
    /// `\x08` erases left, `ESC [ n D` moves left, anything else overwrites.
    fn screen(echo: &str) -> String {
        let mut cells: Vec<char> = Vec::new();
        let mut at = 0;
        let mut chars = echo.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\x08' => {
                    at -= 1;
                    cells[at] = ' ';
                }
                '\x1b' => {
                    assert_eq!(chars.next(), Some('['));
                    let mut n = String::new();
                    while let Some(d) = chars.next_if(char::is_ascii_digit) {
                        n.push(d);
                    }
                    assert_eq!(chars.next(), Some('D'));
                    at -= n.parse::<usize>().unwrap();
                }
                c => {
                    if at == cells.len() {
                        cells.push(c);
                    } else {
                        cells[at] = c;
                    }
                    at += 1;
                }
            }
        }
        cells.iter().collect::<String>().trim_end().to_string()
    }

    #[test]
    fn editing_in_the_middle_of_the_line() {
        let mut e = LineEditor::new();
        let mut out = String::new();
        type_str(&mut e, "echo ab", &mut out);
        e.left(&mut out);
        type_str(&mut e, "X", &mut out);
        assert_eq!(e.text(), "echo aXb", "Left then X inserts before b");
        assert_eq!(screen(&out), "echo aXb");
        e.home(&mut out);
        e.delete(&mut out);
        assert_eq!(e.text(), "cho aXb");
        e.right(&mut out);
        e.backspace(&mut out);
        assert_eq!(e.text(), "ho aXb");
        assert_eq!(screen(&out), "ho aXb");
        e.end(&mut out);
        type_str(&mut e, "!", &mut out);
        assert_eq!(e.text(), "ho aXb!");
        assert_eq!(screen(&out), "ho aXb!");
        e.delete(&mut out); // at the end: nothing
        e.home(&mut out);
        e.left(&mut out); // at the start: nothing
        e.backspace(&mut out);
        assert_eq!(e.cursor(), 0);
        e.up(&mut out); // no history: nothing
        assert_eq!(screen(&out), "ho aXb!");
    }

    #[test]
    fn history_replaces_a_line_edited_in_the_middle() {
        let mut e = LineEditor::new();
        let mut out = String::new();
        type_str(&mut e, "gdt", &mut out);
        e.submit(|_| ());
        out.clear();
        type_str(&mut e, "heapmap", &mut out);
        e.home(&mut out);
        e.up(&mut out);
        assert_eq!(e.text(), "gdt");
        assert_eq!(screen(&out), "gdt");
        assert_eq!(e.cursor(), 3);
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
