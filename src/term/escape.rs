//! The bytes the console model interprets: text in code page 437, the
//! control bytes (`\n`, `\r`, `\t`, `\x08` erases left, `\x07` ignored)
//! and the ANSI escape sequences the kernel prints; any other sequence is
//! swallowed whole, never shown.
//!
//! ```text
//!   ESC [ n m         colours: 0 reset, 1 bright, 30-37/90-97 foreground,
//!                     39, 40-47 background, 49
//!   ESC [ n C / D     cursor right / left (left wraps to the row above)
//!   ESC [ K           erase to the end of the line
//!   ESC O x           a terminal's function key: swallowed
//!   state: None -ESC-> Start -[-> Csi (params ; ...) -final-> None
//! ```

use super::{DEFAULT_ATTR, Term, WIDTH};

/// ANSI colour number (0-7) to VGA colour number (the two orders differ).
const ANSI_TO_VGA: [u8; 8] = [0, 4, 2, 6, 1, 5, 3, 7];

/// Longest escape sequence kept (longer ones are swallowed).
pub(super) const MAX_PARAMS: usize = 4;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Esc {
    None,
    Start,
    Csi,
    /// `ESC O x`: one more byte (a terminal's function keys; swallowed).
    Ss3,
}

/// The console model. All-zero when new, so a static of it lives in `.bss`.
impl Term {
    /// Write one byte (code page 437, or part of an escape sequence).
    pub fn write_byte(&mut self, byte: u8) {
        self.snap();
        match self.esc {
            Esc::Start => {
                self.esc = match byte {
                    b'[' => Esc::Csi,
                    b'O' => Esc::Ss3,
                    _ => Esc::None,
                };
                self.params = [0; MAX_PARAMS];
                self.nparams = 0;
                return;
            }
            Esc::Csi => {
                self.csi_byte(byte);
                return;
            }
            Esc::Ss3 => {
                self.esc = Esc::None;
                return;
            }
            Esc::None => {}
        }
        match byte {
            0x1B => self.esc = Esc::Start,
            b'\n' => self.newline(),
            b'\r' => self.col = 0,
            0x07 => {}
            0x08 => {
                self.left();
                let blank = self.blank_cell();
                self.set(blank);
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
                let cell = (self.attribute() as u16) << 8 | byte as u16;
                self.set(cell);
                self.col += 1;
            }
        }
    }

    fn csi_byte(&mut self, byte: u8) {
        match byte {
            b'0'..=b'9' => {
                self.nparams = self.nparams.max(1);
                let i = self.nparams - 1;
                self.params[i] = self.params[i]
                    .saturating_mul(10)
                    .saturating_add((byte - b'0') as u16);
            }
            b';' => self.nparams = (self.nparams.max(1) + 1).min(MAX_PARAMS),
            0x20..=0x3F => {} // other parameter and intermediate bytes
            0x40..=0x7E => {
                self.esc = Esc::None;
                self.final_byte(byte);
            }
            _ => self.esc = Esc::None, // a control byte aborts the sequence
        }
    }

    fn final_byte(&mut self, byte: u8) {
        let n = (self.params[0] as usize).max(1);
        match byte {
            b'm' => {
                for i in 0..self.nparams.max(1) {
                    self.sgr(self.params[i]);
                }
            }
            b'C' => self.col = (self.col + n).min(WIDTH - 1),
            b'D' => {
                for _ in 0..n {
                    self.left();
                }
            }
            b'K' => {
                let blank = self.blank_cell();
                let ring = self.ring(self.row);
                for c in self.col.min(WIDTH)..WIDTH {
                    self.cells[ring][c] = blank;
                }
                self.mark(self.row);
            }
            _ => {}
        }
    }

    fn sgr(&mut self, p: u16) {
        if self.plain {
            return;
        }
        let cur = self.attribute();
        let (fg, bg) = (cur & 0x0F, cur >> 4);
        let attr = match p {
            0 => DEFAULT_ATTR,
            1 => bg << 4 | fg | 0x08,
            30..=37 => bg << 4 | (fg & 0x08) | ANSI_TO_VGA[(p - 30) as usize],
            90..=97 => bg << 4 | ANSI_TO_VGA[(p - 90) as usize] | 0x08,
            39 => bg << 4 | (DEFAULT_ATTR & 0x0F),
            40..=47 => ANSI_TO_VGA[(p - 40) as usize] << 4 | fg,
            49 => fg,
            _ => return,
        };
        self.set_attribute(attr);
    }
}

impl core::fmt::Write for Term {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for c in s.chars() {
            // Code page 437 shares ASCII; anything else shows as a small square.
            self.write_byte(if c.is_ascii() { c as u8 } else { 0xFE });
        }
        Ok(())
    }
}
