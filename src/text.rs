//! Small text helpers that need no heap: a fixed-capacity string and a
//! byte count printed in binary units. Used by boot-time reports (before the
//! heap exists) and by the `mm` reports.

use core::fmt::{self, Write};

/// A string of at most `N` bytes kept inline (no heap at boot).
#[derive(Clone, Copy)]
pub struct FixedStr<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> FixedStr<N> {
    /// The empty string.
    pub const fn new() -> Self {
        FixedStr {
            bytes: [0; N],
            len: 0,
        }
    }
    /// A copy of `s`, cut at the last whole character that fits.
    pub fn from_str_truncated(s: &str) -> Self {
        let mut cut = s.len().min(N);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut f = Self::new();
        f.bytes[..cut].copy_from_slice(&s.as_bytes()[..cut]);
        f.len = cut;
        f
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for FixedStr<N> {
    /// Append `s`; fails (and appends nothing) when it does not fit.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl<const N: usize> Default for FixedStr<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// How a [`Size`] is written; the one formatter of byte counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeStyle {
    /// The largest binary unit that keeps it whole, else one decimal of the
    /// next: `1000 B`, `639 KiB`, `3 GiB`, `126.8 MiB` (memory maps, regions).
    Whole,
    /// `N KiB` below 1 MiB, `N.D MiB` below 1 GiB, `N.D GiB` above, the
    /// decimal truncated (the `frames` report).
    Tenths,
    /// Whole units or plain bytes: `16 bytes`, `4 KiB`, `128 MiB` (heap reports).
    Exact,
}

/// A byte count, printed in binary units as its [`SizeStyle`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// The count.
    pub bytes: u64,
    /// How it is written.
    pub style: SizeStyle,
}

impl Size {
    /// `bytes` in [`SizeStyle::Whole`].
    pub const fn new(bytes: u64) -> Size {
        Size {
            bytes,
            style: SizeStyle::Whole,
        }
    }
    /// `bytes` in [`SizeStyle::Tenths`].
    pub const fn tenths(bytes: u64) -> Size {
        Size {
            bytes,
            style: SizeStyle::Tenths,
        }
    }
    /// `bytes` in [`SizeStyle::Exact`].
    pub const fn exact(bytes: u64) -> Size {
        Size {
            bytes,
            style: SizeStyle::Exact,
        }
    }
}

/// The noun for `n` things: `one` for exactly one, `many` otherwise, as a
/// count is read: `0 frames`, `1 frame`, `2 frames`.
pub const fn noun(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Binary units, a factor of 1024 apart.
const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];

/// `bytes` as a whole number of the largest unit up to `UNITS[top]` that
/// divides it: (count, unit index).
const fn whole_units(bytes: u64, top: usize) -> (u64, usize) {
    let (mut whole, mut unit) = (bytes, 0);
    while unit < top && whole >= 1024 && whole.is_multiple_of(1024) {
        whole /= 1024;
        unit += 1;
    }
    (whole, unit)
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = FixedStr::<24>::new();
        let b = self.bytes;
        match self.style {
            SizeStyle::Whole => {
                let (whole, unit) = whole_units(b, UNITS.len() - 1);
                if whole >= 10 * 1024 && unit < UNITS.len() - 1 {
                    // Not a whole number of the next unit: one decimal of it.
                    let tenths = whole * 10 / 1024;
                    write!(s, "{}.{} {}", tenths / 10, tenths % 10, UNITS[unit + 1])?;
                } else {
                    write!(s, "{whole} {}", UNITS[unit])?;
                }
            }
            SizeStyle::Tenths => {
                let unit = match b {
                    _ if b < 1 << 20 => 1,
                    _ if b < 1 << 30 => 2,
                    _ => 3,
                };
                let shift = 10 * unit as u32;
                if unit == 1 {
                    write!(s, "{} {}", b >> shift, UNITS[unit])?;
                } else {
                    let whole = b >> shift;
                    let tenth = ((b - (whole << shift)) * 10) >> shift;
                    write!(s, "{whole}.{tenth} {}", UNITS[unit])?;
                }
            }
            SizeStyle::Exact => match whole_units(b, 3) {
                (_, 0) => write!(s, "{b} bytes")?,
                (whole, unit) => write!(s, "{whole} {}", UNITS[unit])?,
            },
        }
        f.pad(s.as_str())
    }
}

impl<const N: usize> PartialEq for FixedStr<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<const N: usize> Eq for FixedStr<N> {}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_of_one_takes_the_singular() {
        assert_eq!(noun(0, "frame", "frames"), "frames");
        assert_eq!(noun(1, "frame", "frames"), "frame");
        assert_eq!(noun(2, "frame", "frames"), "frames");
    }

    #[test]
    fn sizes_print_in_units() {
        assert_eq!(Size::new(1024).to_string(), "1 KiB");
        assert_eq!(Size::new(639 * 1024).to_string(), "639 KiB");
        assert_eq!(Size::new(3 << 30).to_string(), "3 GiB");
        assert_eq!(Size::new(1000).to_string(), "1000 B");
        assert_eq!(Size::new(0x7EE0000).to_string(), "126.8 MiB");
    }

    #[test]
    fn tenths_truncate_and_stay_in_kib_below_a_mib() {
        assert_eq!(Size::tenths(4096).to_string(), "4 KiB");
        assert_eq!(Size::tenths(1000).to_string(), "0 KiB");
        assert_eq!(Size::tenths(0x7FE_0000).to_string(), "127.8 MiB");
        assert_eq!(Size::tenths(3 << 30).to_string(), "3.0 GiB");
        assert_eq!(Size::tenths(1 << 20).to_string(), "1.0 MiB");
    }

    #[test]
    fn exact_sizes_are_whole_units_or_bytes() {
        assert_eq!(Size::exact(16).to_string(), "16 bytes");
        assert_eq!(Size::exact(4096).to_string(), "4 KiB");
        assert_eq!(Size::exact(128 << 20).to_string(), "128 MiB");
        assert_eq!(Size::exact(3 << 30).to_string(), "3 GiB");
        assert_eq!(Size::exact(1536).to_string(), "1536 bytes");
        assert_eq!(Size::exact(0).to_string(), "0 bytes");
        assert_eq!(Size::exact(1 << 40).to_string(), "1024 GiB");
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        let f = FixedStr::<4>::from_str_truncated("abcé");
        assert_eq!(f.as_str(), "abc");
    }

    /// `s` through a [`Wrap`] of `width` columns.
    fn wrapped(s: &str, width: usize) -> String {
        let mut out = String::new();
        let mut w = Wrap::new(&mut out, width);
        w.write_str(s).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn wrap_leaves_short_lines_and_tables_alone() {
        let s = "  pid  ppid  state\n    1     0  ready   \nlast";
        assert_eq!(wrapped(s, 79), s);
    }

    #[test]
    fn wrap_breaks_at_the_last_space_and_indents_the_rest() {
        assert_eq!(
            wrapped("one two three four\n", 10),
            "one two\n  three\n  four\n"
        );
        assert_eq!(wrapped("  ab cd ef gh\n", 9), "  ab cd\n    ef gh\n");
    }

    #[test]
    fn wrap_counts_no_column_for_escape_sequences_and_cuts_long_words() {
        assert_eq!(
            wrapped("\x1b[91mabc def\x1b[0m\n", 7),
            "\x1b[91mabc def\x1b[0m\n"
        );
        assert_eq!(wrapped("abcdefghij\n", 6), "abcd\n  efgh\n  ij\n");
        let long: String = core::iter::repeat_n("word ", 100).collect();
        for line in wrapped(&long, 79).lines() {
            assert!(line.chars().count() <= 79, "{line}");
        }
    }
}
