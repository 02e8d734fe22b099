//! VGA text mode: 80x25 cells of (character, colour) at physical 0xB8000,
//! reached through the linear space. The text itself lives in the pure
//! model [`crate::term::Term`] (scrollback, colours, escape sequences); this
//! driver copies the rows the model marks dirty into video memory and moves
//! the hardware cursor.
//!
//! ```text
//!  cell = u16:  15..12 background | 11..8 foreground | 7..0 code page 437 byte
//!
//!  print ──► Term (1,024 + 25 rows, .bss) ──dirty rows──► 0xB8000 (what the card shows)
//! ```

use crate::arch::x86::outb;
use crate::mm::layout::{KERNEL_BASE, VGA_TEXT_PHYS};
use crate::term::Term;
use core::fmt;
use spin::Mutex;

pub use crate::term::{HEIGHT, WIDTH};

/// The 16 VGA colours.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Color {
    Black = 0,
    Blue = 1,
    Green = 2,
    Cyan = 3,
    Red = 4,
    Magenta = 5,
    Brown = 6,
    LightGray = 7,
    DarkGray = 8,
    LightBlue = 9,
    LightGreen = 10,
    LightCyan = 11,
    LightRed = 12,
    Pink = 13,
    Yellow = 14,
    White = 15,
}

/// A foreground/background pair as the attribute byte.
pub const fn attribute(fg: Color, bg: Color) -> u8 {
    (bg as u8) << 4 | fg as u8
}

/// The screen's model. All zero when new, so it sits in `.bss` (160 KiB of
/// scrollback would otherwise weigh on the kernel file). Only reached
/// through [`Screen`], which the console lock guards.
static TERM: Mutex<Term> = Mutex::new(Term::new());

/// The text screen: the handle the console writes through.
pub struct Screen {}

impl Screen {
    /// The screen (its model starts empty, cursor at the top left).
    pub const fn new() -> Screen {
        Screen {}
    }

    fn buffer() -> *mut u16 {
        core::ptr::with_exposed_provenance_mut((KERNEL_BASE + VGA_TEXT_PHYS) as usize)
    }

    /// Run `f` on the model, then copy what changed to the card.
    fn with<R>(&mut self, f: impl FnOnce(&mut Term) -> R) -> R {
        let mut term = TERM.lock();
        let r = f(&mut term);
        Self::flush(&mut term);
        r
    }

    fn flush(term: &mut Term) {
        let dirty = term.take_dirty();
        for row in (0..HEIGHT).filter(|r| dirty & (1 << r) != 0) {
            for col in 0..WIDTH {
                // SAFETY: row < 25 and col < 80 index the 80x25 buffer, which
                // the linear space maps; volatile because the card reads it.
                unsafe {
                    Self::buffer()
                        .add(row * WIDTH + col)
                        .write_volatile(term.shown(row, col))
                };
            }
        }
        // Scrolled back, the cursor would point into old text: hide it.
        let (row, col) = term.position();
        let pos = if term.view() == 0 {
            (row * WIDTH + col.min(WIDTH - 1)) as u16
        } else {
            (WIDTH * HEIGHT) as u16
        };
        // SAFETY: 0x3D4/0x3D5 are the CRT controller's index and data ports;
        // registers 0x0E/0x0F hold the cursor location.
        unsafe {
            outb(0x3D4, 0x0F);
            outb(0x3D5, pos as u8);
            outb(0x3D4, 0x0E);
            outb(0x3D5, (pos >> 8) as u8);
        }
    }

    /// Write one cell of the live screen directly (for pictures such as `heapmap`).
    pub fn put(&mut self, row: usize, col: usize, byte: u8, attr: u8) {
        self.with(|t| t.put(row, col, byte, attr));
    }

    /// Set the colour of what is written next.
    pub fn set_attribute(&mut self, attr: u8) {
        self.with(|t| t.set_attribute(attr));
    }

    /// The colour of what is written next.
    pub fn attribute(&self) -> u8 {
        TERM.lock().attribute()
    }

    /// Blank the screen and home the cursor (the scrollback is kept).
    pub fn clear(&mut self) {
        self.with(|t| t.clear());
    }

    /// The cursor position (row, column).
    pub fn position(&self) -> (usize, usize) {
        TERM.lock().position()
    }

    /// Scroll the picture back (`rows` > 0) or forward through the history.
    pub fn scroll_view(&mut self, rows: isize) {
        self.with(|t| t.scroll_view(rows));
    }

    /// Colours on or off (off: everything in the default grey).
    pub fn set_color(&mut self, on: bool) {
        self.with(|t| t.set_color(on));
    }

    /// True while colour sequences take effect.
    pub fn color(&self) -> bool {
        TERM.lock().color()
    }

    /// Write one byte: `\n` new line, `\r` column 0, `\x08` erase left, tab
    /// to the next 8, escape sequences as [`Term`] reads them.
    pub fn write_byte(&mut self, byte: u8) {
        self.with(|t| t.write_byte(byte));
    }

    /// Take the model's lock even if the code that faulted held it (fatal paths).
    pub fn force_unlock() {
        if TERM.is_locked() {
            // SAFETY: called only on paths that never return to the holder.
            unsafe { TERM.force_unlock() };
        }
    }
}

impl Default for Screen {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for Screen {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.with(|t| t.write_str(s))
    }
}
