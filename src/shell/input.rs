//! Keys, the queue that carries them from interrupt handlers to the shell,
//! and the decoder that turns serial bytes into the same keys.
//!
//! ```text
//!  IRQ 1 (PS/2) --pc-keyboard--+
//!                              +--> InputQueue (lock-free ring, 4096 keys) --> shell
//!  IRQ 4 (COM1) --SerialDecoder+         |
//!        ^                               | nearly full (> HIGH_WATER)
//!        +--- receive interrupt off <----+ (bytes wait in the UART and the
//!             on again below LOW_WATER      sender: back-pressure, no loss)
//! ```
//!
//! The queue has one producer at a time (handlers run with interrupts off)
//! and one consumer (the shell loop); neither blocks or allocates. Each key
//! remembers where it came from ([`Source`]): the pager pauses only for the
//! person at the VGA screen. A key that finds the queue full (only the PS/2
//! side can get there: serial input is held back first) is counted, and the
//! shell reports the count once.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// A key press, from the keyboard or from a byte on the serial line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Backspace,
    Escape,
    Tab,
    Up,
    Down,
    Left,
    Right,
    /// Ctrl with a letter (`Ctrl('c')`).
    Ctrl(char),
    Home,
    End,
    Delete,
    PageUp,
    PageDown,
    /// Shift+PgUp: scroll the VGA screen back.
    ScrollUp,
    /// Shift+PgDn: scroll the VGA screen forward.
    ScrollDown,
}

/// Where a key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The PS/2 keyboard: someone at the VGA screen.
    Keyboard,
    /// A byte on COM1.
    Serial,
}

/// Capacity of the input queue (a power of two): a 2,000-byte paste fits
/// even before back-pressure starts.
pub const QUEUE_CAPACITY: usize = 4096;
/// Above this many waiting keys the serial receiver is paused.
pub const HIGH_WATER: usize = QUEUE_CAPACITY - 64;
/// Below this many the serial receiver runs again.
pub const LOW_WATER: usize = QUEUE_CAPACITY / 2;

/// A single-producer, single-consumer ring of keys.
pub struct InputQueue {
    slots: [AtomicU32; QUEUE_CAPACITY],
    head: AtomicUsize,
    tail: AtomicUsize,
    dropped: AtomicUsize,
    reported: AtomicUsize,
}

impl Default for InputQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl InputQueue {
    /// An empty queue.
    pub const fn new() -> InputQueue {
        InputQueue {
            slots: [const { AtomicU32::new(0) }; QUEUE_CAPACITY],
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            reported: AtomicUsize::new(0),
        }
    }

    /// Add a key from the keyboard; when the queue is full the key is
    /// dropped and counted.
    pub fn push(&self, key: Key) -> bool {
        self.push_from(key, Source::Keyboard)
    }

    /// Add a key from `source`; when the queue is full the key is dropped and counted.
    pub fn push_from(&self, key: Key, source: Source) -> bool {
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Acquire);
        if tail.wrapping_sub(head) >= QUEUE_CAPACITY {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let tag = if source == Source::Serial {
            SERIAL_BIT
        } else {
            0
        };
        self.slots[tail % QUEUE_CAPACITY].store(encode(key) | tag, Ordering::Relaxed);
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        true
    }

    /// Take the oldest key, if any.
    pub fn pop(&self) -> Option<Key> {
        self.pop_with_source().map(|(k, _)| k)
    }

    /// Take the oldest key and where it came from. (A slot that does not
    /// decode, which `push` never writes, is skipped.)
    pub fn pop_with_source(&self) -> Option<(Key, Source)> {
        loop {
            let head = self.head.load(Ordering::Relaxed);
            let tail = self.tail.load(Ordering::Acquire);
            if head == tail {
                return None;
            }
            let raw = self.slots[head % QUEUE_CAPACITY].load(Ordering::Relaxed);
            self.head.store(head.wrapping_add(1), Ordering::Release);
            let source = if raw & SERIAL_BIT != 0 {
                Source::Serial
            } else {
                Source::Keyboard
            };
            if let Some(key) = decode(raw & !SERIAL_BIT) {
                return Some((key, source));
            }
        }
    }

    /// Keys waiting.
    pub fn len(&self) -> usize {
        self.tail
            .load(Ordering::Acquire)
            .wrapping_sub(self.head.load(Ordering::Acquire))
    }

    /// True when no key waits.
    pub fn is_empty(&self) -> bool {
        self.head.load(Ordering::Acquire) == self.tail.load(Ordering::Acquire)
    }

    /// Keys dropped because the queue was full.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Keys dropped since the last call (for a one-time report); 0 when none.
    pub fn take_unreported_drops(&self) -> usize {
        let dropped = self.dropped.load(Ordering::Relaxed);
        let before = self.reported.swap(dropped, Ordering::Relaxed);
        dropped.wrapping_sub(before)
    }
}

const TAG_SHIFT: u32 = 24;
/// Set in a slot for a key that came over the serial line.
const SERIAL_BIT: u32 = 1 << 23;

fn encode(key: Key) -> u32 {
    let (tag, payload) = match key {
        Key::Char(c) => (1, c as u32),
        Key::Enter => (2, 0),
        Key::Backspace => (3, 0),
        Key::Escape => (4, 0),
        Key::Tab => (5, 0),
        Key::Up => (6, 0),
        Key::Down => (7, 0),
        Key::Left => (8, 0),
        Key::Right => (9, 0),
        Key::Ctrl(c) => (10, c as u32),
        Key::Home => (11, 0),
        Key::End => (12, 0),
        Key::Delete => (13, 0),
        Key::PageUp => (14, 0),
        Key::PageDown => (15, 0),
        Key::ScrollUp => (16, 0),
        Key::ScrollDown => (17, 0),
    };
    (tag << TAG_SHIFT) | payload
}

fn decode(raw: u32) -> Option<Key> {
    let payload = raw & ((1 << TAG_SHIFT) - 1);
    Some(match raw >> TAG_SHIFT {
        1 => Key::Char(char::from_u32(payload)?),
        2 => Key::Enter,
        3 => Key::Backspace,
        4 => Key::Escape,
        5 => Key::Tab,
        6 => Key::Up,
        7 => Key::Down,
        8 => Key::Left,
        9 => Key::Right,
        10 => Key::Ctrl(char::from_u32(payload)?),
        11 => Key::Home,
        12 => Key::End,
        13 => Key::Delete,
        14 => Key::PageUp,
        15 => Key::PageDown,
        16 => Key::ScrollUp,
        17 => Key::ScrollDown,
        _ => return None,
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Vec<Key> {
        let mut d = SerialDecoder::new();
        let mut keys = Vec::new();
        for &b in bytes {
            d.feed(b, |k| keys.push(k));
        }
        d.flush(|k| keys.push(k));
        keys
    }

    #[test]
    fn queue_is_fifo_and_bounded() {
        let q = InputQueue::new();
        assert_eq!(q.pop(), None);
        for i in 0..QUEUE_CAPACITY {
            assert!(q.push(Key::Char(
                char::from_u32('a' as u32 + (i % 26) as u32).unwrap()
            )));
        }
        assert!(!q.push(Key::Enter), "a full queue refuses");
        assert_eq!(q.dropped(), 1);
        assert_eq!(q.pop(), Some(Key::Char('a')));
        assert!(q.push(Key::Up));
        let mut n = 0;
        let mut last = None;
        while let Some(k) = q.pop() {
            n += 1;
            last = Some(k);
        }
        assert_eq!(n, QUEUE_CAPACITY);
        assert_eq!(last, Some(Key::Up));
        assert!(q.is_empty());
    }

    #[test]
    fn sources_and_drops_are_kept() {
        let q = InputQueue::new();
        q.push_from(Key::Char('x'), Source::Serial);
        q.push(Key::Home);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop_with_source(), Some((Key::Char('x'), Source::Serial)));
        assert_eq!(q.pop_with_source(), Some((Key::Home, Source::Keyboard)));
        for _ in 0..QUEUE_CAPACITY + 3 {
            q.push(Key::Enter);
        }
        assert_eq!(q.take_unreported_drops(), 3);
        assert_eq!(q.take_unreported_drops(), 0, "reported once");
        q.push(Key::Enter);
        assert_eq!(q.take_unreported_drops(), 1);
    }

    #[test]
    fn escape_sequences_are_keys_never_hotkeys() {
        assert_eq!(
            decode_all(b"\x1bOA\x1b[3~\x1b[1;5A\x1b[H\x1b[4~\x1bOF"),
            vec![Key::Up, Key::Delete, Key::Up, Key::Home, Key::End, Key::End]
        );
        assert_eq!(
            decode_all(b"\x1b[5~\x1b[6;2~\x1b[5;2~"),
            vec![Key::PageUp, Key::ScrollDown, Key::ScrollUp]
        );
        // Unknown sequences (F1, F5, Insert, a private mode) vanish whole.
        assert_eq!(
            decode_all(b"\x1bOP\x1b[15~\x1b[2~\x1b[?25h1"),
            vec![Key::Char('1')]
        );
    }

    #[test]
    fn every_key_round_trips() {
        for k in [
            Key::Char('é'),
            Key::Enter,
            Key::Backspace,
            Key::Escape,
            Key::Tab,
            Key::Up,
            Key::Down,
            Key::Left,
            Key::Right,
            Key::Ctrl('c'),
            Key::Home,
            Key::End,
            Key::Delete,
            Key::PageUp,
            Key::PageDown,
            Key::ScrollUp,
            Key::ScrollDown,
        ] {
            assert_eq!(decode(encode(k)), Some(k));
        }
    }

    #[test]
    fn serial_bytes_become_keys() {
        assert_eq!(
            decode_all(b"ab\r\n"),
            vec![Key::Char('a'), Key::Char('b'), Key::Enter]
        );
        assert_eq!(
            decode_all(b"x\ny\n"),
            vec![Key::Char('x'), Key::Enter, Key::Char('y'), Key::Enter]
        );
        assert_eq!(
            decode_all(b"\x7f\x08"),
            vec![Key::Backspace, Key::Backspace]
        );
        assert_eq!(
            decode_all(b"\x1b[A\x1b[B\x1b[C\x1b[D"),
            vec![Key::Up, Key::Down, Key::Right, Key::Left]
        );
        assert_eq!(decode_all(b"\x1bq"), vec![Key::Escape, Key::Char('q')]);
        assert_eq!(decode_all(b"\x1b"), vec![Key::Escape]);
        assert_eq!(decode_all(b"\x03"), vec![Key::Ctrl('c')]);
    }
}
