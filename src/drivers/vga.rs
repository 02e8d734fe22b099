//! VGA text mode: 80x25 cells of (character, colour) at physical 0xB8000,
//! reached through the linear space. Scrolls instead of wrapping, and moves
//! the hardware cursor.
//!
//! ```text
//!  cell = u16:  15..12 background | 11..8 foreground | 7..0 code page 437 byte
//! ```

use crate::arch::x86::outb;
use crate::mm::layout::{KERNEL_BASE, VGA_TEXT_PHYS};
use core::fmt;

/// Columns of the text screen.
pub const WIDTH: usize = 80;
/// Rows of the text screen.
pub const HEIGHT: usize = 25;

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

/// The text screen and where the next character goes.
pub struct Screen {
    row: usize,
    col: usize,
    attr: u8,
}

impl Screen {
    /// The screen, light grey on black, cursor at the top left.
    pub const fn new() -> Screen {
        Screen {
            row: 0,
            col: 0,
            attr: attribute(Color::LightGray, Color::Black),
        }
    }

    fn buffer() -> *mut u16 {
        (KERNEL_BASE + VGA_TEXT_PHYS) as *mut u16
    }

    /// Write one cell directly (for pictures such as `heapmap`).
    pub fn put(&mut self, row: usize, col: usize, byte: u8, attr: u8) {
        if row < HEIGHT && col < WIDTH {
            // SAFETY: the index is inside the 80x25 buffer, which the linear
            // space maps; volatile because the VGA card reads it.
            unsafe {
                Self::buffer()
                    .add(row * WIDTH + col)
                    .write_volatile((attr as u16) << 8 | byte as u16)
            };
        }
    }

    /// Set the colour of what is written next.
    pub fn set_attribute(&mut self, attr: u8) {
        self.attr = attr;
    }

    /// The colour of what is written next.
    pub fn attribute(&self) -> u8 {
        self.attr
    }

    /// Blank the screen and home the cursor.
    pub fn clear(&mut self) {
        for row in 0..HEIGHT {
            self.clear_row(row);
        }
        self.row = 0;
        self.col = 0;
        self.update_cursor();
    }

    /// The cursor position (row, column).
    pub fn position(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    fn clear_row(&mut self, row: usize) {
        for col in 0..WIDTH {
            self.put(row, col, b' ', self.attr);
        }
    }

    fn newline(&mut self) {
        self.col = 0;
        if self.row + 1 < HEIGHT {
            self.row += 1;
            return;
        }
        // Scroll: every row moves up one, the last row is blanked.
        // SAFETY: both ranges lie inside the 80x25 buffer; `copy` allows overlap.
        unsafe {
            core::ptr::copy(
                Self::buffer().add(WIDTH),
                Self::buffer(),
                WIDTH * (HEIGHT - 1),
            )
        };
        self.clear_row(HEIGHT - 1);
    }

    /// Write one byte: `\n` new line, `\r` column 0, `\x08` erase left, tab to the next 8.
    pub fn write_byte(&mut self, byte: u8) {
        match byte {
            b'\n' => self.newline(),
            b'\r' => self.col = 0,
            0x08 => {
                if self.col > 0 {
                    self.col -= 1;
                } else if self.row > 0 {
                    self.row -= 1;
                    self.col = WIDTH - 1;
                }
                self.put(self.row, self.col, b' ', self.attr);
            }
            b'\t' => {
                for _ in 0..(8 - self.col % 8) {
                    self.write_byte(b' ');
                }
            }
            byte => {
                if self.col >= WIDTH {
                    self.newline();
                }
                self.put(self.row, self.col, byte, self.attr);
                self.col += 1;
            }
        }
    }

    /// Move the blinking hardware cursor to the current position.
    pub fn update_cursor(&self) {
        let pos = (self.row * WIDTH + self.col.min(WIDTH - 1)) as u16;
        // SAFETY: 0x3D4/0x3D5 are the CRT controller's index and data ports;
        // registers 0x0E/0x0F hold the cursor location.
        unsafe {
            outb(0x3D4, 0x0F);
            outb(0x3D5, pos as u8);
            outb(0x3D4, 0x0E);
            outb(0x3D5, (pos >> 8) as u8);
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
        for c in s.chars() {
            // Code page 437 shares ASCII; anything else shows as a small square.
            let byte = if c.is_ascii() { c as u8 } else { 0xFE };
            self.write_byte(byte);
        }
        self.update_cursor();
        Ok(())
    }
}
