//! The text console's model, pure so the host can test it: a grid of
//! (character, colour) cells, 1,024 lines of scrollback above the visible
//! 80x25, and the few ANSI escape sequences the kernel prints (colours,
//! cursor left/right, erase to the end of the line). The VGA driver copies
//! the rows this model marks dirty into video memory; the serial line gets
//! the same text and lets the terminal on the other side interpret it.
//!
//! ```text
//!  ring of ROWS rows (cells: u16 = attribute << 8 | CP437 byte, 0 = blank)
//!  +-----------------------+
//!  | oldest history line   |   <- up to SCROLLBACK lines above the screen
//!  | ...                   |
//!  +-----------------------+ <- top: the live screen's row 0
//!  | live screen, 25 rows  |      output always goes here
//!  +-----------------------+
//!  view = how many rows the picture is scrolled back (Shift+PgUp / PgDn);
//!  any output snaps the view back to the live screen.
//! ```
//!
//! The bytes it interprets, escape sequences included, are in `escape.rs`.
//! Beside it: [`style`], the colours by meaning, and [`ColorFilter`]
//! (`filter.rs`), which drops them from the serial line under `color off`.

mod escape;
mod filter;
pub mod style;

use escape::{Esc, MAX_PARAMS};

pub use filter::ColorFilter;

/// Columns of the text screen.
pub const WIDTH: usize = 80;
/// Rows of the text screen.
pub const HEIGHT: usize = 25;
/// Lines kept above the screen for scrolling back.
pub const SCROLLBACK: usize = 1024;
/// Rows in the ring: the scrollback and the live screen.
pub const ROWS: usize = SCROLLBACK + HEIGHT;

/// Light grey on black: the default colour.
pub const DEFAULT_ATTR: u8 = 0x07;

/// What an empty (zero) cell shows: a space in the default colour.
pub const BLANK: u16 = (DEFAULT_ATTR as u16) << 8 | b' ' as u16;

pub struct Term {
    cells: [[u16; WIDTH]; ROWS],
    /// Ring index of the live screen's row 0.
    top: usize,
    /// History rows above the live screen (at most SCROLLBACK).
    history: usize,
    row: usize,
    col: usize,
    /// The colour of what is written next (`None`: the default grey).
    attr: Option<u8>,
    /// Rows the picture is scrolled back (0 = the live screen).
    view: usize,
    /// Screen rows whose picture changed since the last [`Term::take_dirty`].
    dirty: u32,
    esc: Esc,
    params: [u16; MAX_PARAMS],
    nparams: usize,
    /// False: colour sequences are parsed and dropped (plain output).
    plain: bool,
}

impl Default for Term {
    fn default() -> Self {
        Self::new()
    }
}

impl Term {
    /// An empty console, cursor at the top left.
    pub const fn new() -> Term {
        Term {
            cells: [[0; WIDTH]; ROWS],
            top: 0,
            history: 0,
            row: 0,
            col: 0,
            attr: None,
            view: 0,
            dirty: 0,
            esc: Esc::None,
            params: [0; MAX_PARAMS],
            nparams: 0,
            plain: false,
        }
    }

    /// Turn colour on or off (off: every cell in the default colour).
    pub fn set_color(&mut self, on: bool) {
        self.plain = !on;
        if !on {
            self.attr = None;
        }
    }

    /// True when colour sequences take effect.
    pub fn color(&self) -> bool {
        !self.plain
    }

    fn ring(&self, screen_row: usize) -> usize {
        (self.top + screen_row) % ROWS
    }

    fn mark(&mut self, row: usize) {
        self.dirty |= 1 << row;
    }

    fn mark_all(&mut self) {
        self.dirty = (1 << HEIGHT) - 1;
    }

    /// Rows changed since the last call (bit r = screen row r), and forget them.
    pub fn take_dirty(&mut self) -> u32 {
        core::mem::take(&mut self.dirty)
    }

    /// The cell shown at screen row `row`, column `col`, with the view
    /// scrolled back as it is; blank cells come back as [`BLANK`].
    pub fn shown(&self, row: usize, col: usize) -> u16 {
        let ring = (self.top + ROWS + row - self.view) % ROWS;
        match self.cells[ring][col] {
            0 => BLANK,
            c => c,
        }
    }

    /// The text of screen row `row` as shown (for tests).
    pub fn shown_row(&self, row: usize) -> [u8; WIDTH] {
        let mut out = [b' '; WIDTH];
        for (col, b) in out.iter_mut().enumerate() {
            *b = self.shown(row, col) as u8;
        }
        out
    }

    /// The cursor (row, column) on the live screen.
    pub fn position(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    /// How far back the picture is scrolled, in rows.
    pub fn view(&self) -> usize {
        self.view
    }

    /// History rows available above the live screen.
    pub fn history(&self) -> usize {
        self.history
    }

    /// Scroll the picture back (`delta` > 0) or forward, clamped to the
    /// history; returns true when the picture moved.
    pub fn scroll_view(&mut self, delta: isize) -> bool {
        let target = (self.view as isize + delta).clamp(0, self.history as isize) as usize;
        if target == self.view {
            return false;
        }
        self.view = target;
        self.mark_all();
        true
    }

    fn snap(&mut self) {
        if self.view != 0 {
            self.view = 0;
            self.mark_all();
        }
    }

    /// Write one cell of the live screen directly (pictures such as `heapmap`).
    pub fn put(&mut self, row: usize, col: usize, byte: u8, attr: u8) {
        if row < HEIGHT && col < WIDTH {
            self.snap();
            let ring = self.ring(row);
            self.cells[ring][col] = (attr as u16) << 8 | byte as u16;
            self.mark(row);
        }
    }

    /// Blank the live screen and home the cursor (the history stays).
    pub fn clear(&mut self) {
        self.snap();
        for row in 0..HEIGHT {
            let ring = self.ring(row);
            self.cells[ring] = [0; WIDTH];
        }
        self.row = 0;
        self.col = 0;
        self.mark_all();
    }

    /// The colour of what is written next, as a VGA attribute byte.
    pub fn attribute(&self) -> u8 {
        self.attr.unwrap_or(DEFAULT_ATTR)
    }

    /// Set the colour of what is written next.
    pub fn set_attribute(&mut self, attr: u8) {
        self.attr = (attr != DEFAULT_ATTR).then_some(attr);
    }

    fn blank_cell(&self) -> u16 {
        match self.attr {
            None => 0,
            Some(a) => (a as u16) << 8 | b' ' as u16,
        }
    }

    fn newline(&mut self) {
        self.col = 0;
        if self.row + 1 < HEIGHT {
            self.row += 1;
            return;
        }
        // The screen's top row becomes history; a fresh row enters below.
        self.top = (self.top + 1) % ROWS;
        self.history = (self.history + 1).min(SCROLLBACK);
        let last = self.ring(HEIGHT - 1);
        self.cells[last] = [0; WIDTH];
        self.mark_all();
    }

    fn left(&mut self) {
        if self.col > 0 {
            self.col -= 1;
        } else if self.row > 0 {
            self.row -= 1;
            self.col = WIDTH - 1;
        }
    }

    fn set(&mut self, cell: u16) {
        let ring = self.ring(self.row);
        self.cells[ring][self.col] = cell;
        self.mark(self.row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    fn row_text(t: &Term, row: usize) -> String {
        String::from_utf8(t.shown_row(row).to_vec())
            .unwrap()
            .trim_end()
            .to_string()
    }

    #[test]
    fn scrollback_keeps_a_thousand_lines_and_pages_through_them() {
        let mut t = Box::new(Term::new());
        for i in 0..1500 {
            writeln!(t, "line {i}").unwrap();
        }
        assert_eq!(t.history(), SCROLLBACK);
        // The live screen ends with line 1499 and an empty row for the cursor.
        assert_eq!(row_text(&t, HEIGHT - 2), "line 1499");
        assert!(t.scroll_view(HEIGHT as isize));
        assert_eq!(row_text(&t, HEIGHT - 2), "line 1474");
        assert!(t.scroll_view(10_000));
        assert_eq!(t.view(), SCROLLBACK);
        assert_eq!(
            row_text(&t, 0),
            format!("line {}", 1500 - SCROLLBACK - HEIGHT + 1)
        );
        assert!(!t.scroll_view(1), "the oldest line is the limit");
        t.take_dirty();
        write!(t, "x").unwrap();
        assert_eq!(t.view(), 0, "output snaps back to the live screen");
        assert_eq!(t.take_dirty(), (1 << HEIGHT) - 1);
        assert_eq!(row_text(&t, HEIGHT - 1), "x");
    }

    #[test]
    fn colours_become_attributes_and_color_off_ignores_them() {
        let mut t = Box::new(Term::new());
        write!(t, "\x1b[91mE\x1b[0mn\x1b[1;33mW\x1b[mz").unwrap();
        assert_eq!(t.shown(0, 0), 0x0C00 | b'E' as u16, "bright red");
        assert_eq!(t.shown(0, 1), 0x0700 | b'n' as u16);
        assert_eq!(t.shown(0, 2), 0x0E00 | b'W' as u16, "bright yellow");
        assert_eq!(t.shown(0, 3), 0x0700 | b'z' as u16);
        write!(t, "\x1b[30;47mm\x1b[0m").unwrap();
        assert_eq!(
            t.shown(0, 4),
            0x7000 | b'm' as u16,
            "black on grey is not the default"
        );
        t.set_color(false);
        write!(t, "\x1b[31mq\x1b[42").unwrap();
        write!(t, "m!").unwrap();
        assert_eq!(t.shown(0, 5), 0x0700 | b'q' as u16);
        assert_eq!(
            t.shown(0, 6),
            0x0700 | b'!' as u16,
            "a split sequence is still one"
        );
    }

    #[test]
    fn cursor_moves_and_erase_edit_a_line() {
        let mut t = Box::new(Term::new());
        write!(t, "abcd\x1b[2D\x1b[KX\x1b[1CY\x08").unwrap();
        assert_eq!(row_text(&t, 0), "abX");
        assert_eq!(t.position(), (0, 4));
        write!(t, "\x1b[?25l\x1bOP\x07.").unwrap();
        assert_eq!(row_text(&t, 0), "abX .", "unknown sequences leave no trace");
        let mut t = Box::new(Term::new());
        write!(t, "{}", "y".repeat(WIDTH + 2)).unwrap();
        write!(t, "\x1b[3D!").unwrap();
        assert_eq!(t.position(), (0, WIDTH));
        assert_eq!(t.shown(0, WIDTH - 1), 0x0700 | b'!' as u16, "left wraps up");
    }
}
