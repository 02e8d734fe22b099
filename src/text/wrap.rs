//! A writer that keeps every line within the screen's width, breaking
//! a long line at its last space that fits (no heap: one word at a time).

use core::fmt::{self, Write};

/// Columns a [`Wrap`]ped line may fill: the whole 80-column screen (the
/// console wraps lazily, so 80 characters and their newline take one row).
pub const WRAP_WIDTH: usize = 80;

/// Bytes of one word [`Wrap`] holds (escape sequences included); a longer
/// word is passed on in pieces.
const WORD_CAP: usize = 96;

/// Where [`Wrap`] is in an escape sequence (`ESC [ ... final`), which takes
/// no column.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Esc {
    None,
    Start,
    Csi,
}

/// A writer that keeps every line within `width` columns: a line too long
/// is broken at its last space that fits and goes on below, indented two
/// columns past the line's own indentation. Escape sequences take no column
/// and stay with the word they touch; a word wider than the line is cut.
/// No heap: one word is held at a time.
///
/// ```text
///   "unmapped V0xf8000000 (was P0x07e31000 [PW------- own]); invlpg ...; it was owned: the frame went back"
///   ->
///   "unmapped V0xf8000000 (was P0x07e31000 [PW------- own]); invlpg ...; it was"
///   "  owned: the frame went back"
/// ```
pub struct Wrap<W: Write> {
    out: W,
    width: usize,
    /// Columns filled on the output line.
    col: usize,
    /// Leading spaces of the source line (its indentation).
    indent: usize,
    /// No word of the source line seen yet.
    at_start: bool,
    /// Spaces seen since the last word, not written yet.
    spaces: usize,
    word: [u8; WORD_CAP],
    len: usize,
    /// Columns the held word takes.
    cols: usize,
    esc: Esc,
}

impl<W: Write> Wrap<W> {
    /// A wrapper writing to `out`, `width` columns wide.
    pub fn new(out: W, width: usize) -> Self {
        Wrap {
            out,
            width,
            col: 0,
            indent: 0,
            at_start: true,
            spaces: 0,
            word: [0; WORD_CAP],
            len: 0,
            cols: 0,
            esc: Esc::None,
        }
    }

    /// Write what is held (the last word and its spaces); call at the end.
    pub fn finish(&mut self) -> fmt::Result {
        self.flush_word()?;
        let n = core::mem::take(&mut self.spaces);
        self.write_spaces(n)
    }

    fn write_spaces(&mut self, n: usize) -> fmt::Result {
        for _ in 0..n {
            self.out.write_char(' ')?;
        }
        self.col += n;
        Ok(())
    }

    /// Columns a continuation line starts at.
    fn continuation(&self) -> usize {
        (self.indent + 2).min(self.width / 2)
    }

    /// Write the held word: on this line if it fits (or the line holds only
    /// its indentation), else on a new, indented one.
    fn flush_word(&mut self) -> fmt::Result {
        if self.len == 0 {
            return Ok(());
        }
        if self.cols > 0 {
            let fits = self.col + self.spaces + self.cols <= self.width;
            if fits || self.col <= self.continuation() {
                let n = core::mem::take(&mut self.spaces);
                self.write_spaces(n)?;
            } else {
                self.spaces = 0;
                self.out.write_char('\n')?;
                self.col = 0;
                let n = self.continuation();
                self.write_spaces(n)?;
            }
        }
        let word = core::str::from_utf8(&self.word[..self.len]).map_err(|_| fmt::Error)?;
        self.out.write_str(word)?;
        self.col += self.cols;
        self.len = 0;
        self.cols = 0;
        Ok(())
    }

    fn push(&mut self, c: char, cols: usize) -> fmt::Result {
        if self.len + c.len_utf8() > WORD_CAP {
            self.flush_word()?;
        }
        self.len += c.encode_utf8(&mut self.word[self.len..]).len();
        self.cols += cols;
        Ok(())
    }
}

impl<W: Write> Write for Wrap<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match (self.esc, c) {
                (Esc::Start, '[') => {
                    self.esc = Esc::Csi;
                    self.push(c, 0)?;
                }
                (Esc::Start, _) => {
                    self.esc = Esc::None;
                    self.push(c, 0)?;
                }
                (Esc::Csi, _) => {
                    if ('\x40'..='\x7e').contains(&c) {
                        self.esc = Esc::None;
                    }
                    self.push(c, 0)?;
                }
                (Esc::None, '\x1b') => {
                    self.esc = Esc::Start;
                    self.push(c, 0)?;
                }
                (Esc::None, '\n') => {
                    self.flush_word()?;
                    let n = core::mem::take(&mut self.spaces);
                    if self.col + n <= self.width {
                        self.write_spaces(n)?;
                    }
                    self.out.write_char('\n')?;
                    self.col = 0;
                    self.indent = 0;
                    self.at_start = true;
                }
                (Esc::None, ' ') if self.at_start && self.len == 0 => {
                    self.indent += 1;
                    self.write_spaces(1)?;
                }
                (Esc::None, ' ') => {
                    self.flush_word()?;
                    self.spaces += 1;
                }
                (Esc::None, c) if c.is_control() => self.push(c, 0)?,
                (Esc::None, c) => {
                    self.at_start = false;
                    if self.cols >= self.width - self.continuation() {
                        // A word as wide as the line: cut it.
                        self.flush_word()?;
                    }
                    self.push(c, 1)?;
                }
            }
        }
        Ok(())
    }
}
