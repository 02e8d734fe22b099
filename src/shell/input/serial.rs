//! Bytes from a serial terminal turned into the same keys the PS/2
//! keyboard gives: line ends, Backspace, a lone Escape, and the
//! terminal's escape sequences decoded whole.

use super::Key;

/// Turns bytes from a serial terminal into keys: CR or LF is Enter (CR LF
/// once), DEL or BS is Backspace, a lone ESC is Escape, and the terminal's
/// escape sequences become the keys they stand for, whole, so no part of
/// one is ever taken for a hotkey:
///
/// ```text
///  ESC [ A..D   ESC O A..D   ESC [ 1 ; 5 A (with modifiers)   arrows
///  ESC [ H  ESC O H  ESC [ 1 ~  ESC [ 7 ~                      Home
///  ESC [ F  ESC O F  ESC [ 4 ~  ESC [ 8 ~                      End
///  ESC [ 3 ~  Delete     ESC [ 5 ~ / 6 ~  PgUp / PgDn (with Shift: scroll)
///  anything else: ESC [ params intermediates final, ESC O x    swallowed
/// ```
#[derive(Default)]
pub struct SerialDecoder {
    state: EscState,
    last_was_cr: bool,
    params: [u16; 2],
    nparams: usize,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum EscState {
    #[default]
    Idle,
    Esc,
    Csi,
    Ss3,
}

impl SerialDecoder {
    /// A decoder in its initial state.
    pub const fn new() -> SerialDecoder {
        SerialDecoder {
            state: EscState::Idle,
            last_was_cr: false,
            params: [0; 2],
            nparams: 0,
        }
    }

    /// Feed one byte; `emit` receives zero, one or two keys.
    pub fn feed(&mut self, byte: u8, mut emit: impl FnMut(Key)) {
        let was_cr = core::mem::replace(&mut self.last_was_cr, byte == b'\r');
        match self.state {
            EscState::Esc => match byte {
                b'[' => {
                    self.state = EscState::Csi;
                    self.params = [0; 2];
                    self.nparams = 0;
                    return;
                }
                b'O' => {
                    self.state = EscState::Ss3;
                    return;
                }
                _ => {
                    self.state = EscState::Idle;
                    emit(Key::Escape);
                }
            },
            EscState::Ss3 => {
                self.state = EscState::Idle;
                if let Some(k) = letter_key(byte) {
                    emit(k);
                }
                return;
            }
            EscState::Csi => match byte {
                b'0'..=b'9' => {
                    self.nparams = self.nparams.max(1);
                    if let Some(p) = self.params.get_mut(self.nparams - 1) {
                        *p = p.saturating_mul(10).saturating_add((byte - b'0') as u16);
                    }
                    return;
                }
                b';' => {
                    self.nparams = self.nparams.max(1) + 1;
                    return;
                }
                0x20..=0x3F => return, // other parameter and intermediate bytes
                0x40..=0x7E => {
                    self.state = EscState::Idle;
                    if let Some(k) = self.csi_key(byte) {
                        emit(k);
                    }
                    return;
                }
                // A control byte cuts the sequence short and counts as itself.
                _ => self.state = EscState::Idle,
            },
            EscState::Idle => {}
        }
        match byte {
            0x1B => self.state = EscState::Esc,
            b'\r' => emit(Key::Enter),
            b'\n' if was_cr => {}
            b'\n' => emit(Key::Enter),
            0x08 | 0x7F => emit(Key::Backspace),
            b'\t' => emit(Key::Tab),
            0x01..=0x1A => emit(Key::Ctrl((b'a' + byte - 1) as char)),
            0x20..=0x7E => emit(Key::Char(byte as char)),
            _ => {}
        }
    }

    /// The key of a finished `ESC [ params final`, if it is one we know.
    fn csi_key(&self, final_byte: u8) -> Option<Key> {
        let shift = self.nparams >= 2 && self.params[1] == 2;
        match final_byte {
            b'~' => match self.params[0] {
                1 | 7 => Some(Key::Home),
                4 | 8 => Some(Key::End),
                3 => Some(Key::Delete),
                5 if shift => Some(Key::ScrollUp),
                6 if shift => Some(Key::ScrollDown),
                5 => Some(Key::PageUp),
                6 => Some(Key::PageDown),
                _ => None,
            },
            b => letter_key(b),
        }
    }

    /// A lone ESC waits for the next byte to tell it from an arrow; call this
    /// when the line has been quiet for a moment to deliver it. (A sequence
    /// cut short is dropped.)
    pub fn flush(&mut self, mut emit: impl FnMut(Key)) {
        if self.state == EscState::Esc {
            emit(Key::Escape);
        }
        self.state = EscState::Idle;
    }

    /// True while an ESC waits for its next byte.
    pub fn pending(&self) -> bool {
        self.state != EscState::Idle
    }
}

/// The key of the final letter of `ESC [ x` or `ESC O x`.
fn letter_key(b: u8) -> Option<Key> {
    match b {
        b'A' => Some(Key::Up),
        b'B' => Some(Key::Down),
        b'C' => Some(Key::Right),
        b'D' => Some(Key::Left),
        b'H' => Some(Key::Home),
        b'F' => Some(Key::End),
        _ => None,
    }
}
