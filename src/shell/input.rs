//! Keys, the queue that carries them from interrupt handlers to the shell,
//! and the decoder that turns serial bytes into the same keys.
//!
//! ```text
//!  IRQ 1 (PS/2) --pc-keyboard--+
//!                              +--> InputQueue (lock-free ring) --> shell
//!  IRQ 4 (COM1) --SerialDecoder+
//! ```
//!
//! The queue has one producer at a time (handlers run with interrupts off)
//! and one consumer (the shell loop); neither blocks or allocates.

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
}

/// Capacity of the input queue (a power of two).
pub const QUEUE_CAPACITY: usize = 256;

/// A single-producer, single-consumer ring of keys.
pub struct InputQueue {
    slots: [AtomicU32; QUEUE_CAPACITY],
    head: AtomicUsize,
    tail: AtomicUsize,
    dropped: AtomicUsize,
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
        }
    }

    /// Add a key; when the queue is full the key is dropped and counted.
    pub fn push(&self, key: Key) -> bool {
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Acquire);
        if tail.wrapping_sub(head) >= QUEUE_CAPACITY {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.slots[tail % QUEUE_CAPACITY].store(encode(key), Ordering::Relaxed);
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        true
    }

    /// Take the oldest key, if any.
    pub fn pop(&self) -> Option<Key> {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        if head == tail {
            return None;
        }
        let raw = self.slots[head % QUEUE_CAPACITY].load(Ordering::Relaxed);
        self.head.store(head.wrapping_add(1), Ordering::Release);
        decode(raw)
    }

    /// True when no key waits.
    pub fn is_empty(&self) -> bool {
        self.head.load(Ordering::Acquire) == self.tail.load(Ordering::Acquire)
    }

    /// Keys dropped because the queue was full.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }
}

const TAG_SHIFT: u32 = 24;

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
        _ => return None,
    })
}

/// Turns bytes from a serial terminal into keys: CR or LF is Enter (CR LF
/// once), DEL or BS is Backspace, `ESC [ A`..`D` are arrows, a lone ESC is Escape.
#[derive(Default)]
pub struct SerialDecoder {
    state: EscState,
    last_was_cr: bool,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum EscState {
    #[default]
    Idle,
    Esc,
    Csi,
}

impl SerialDecoder {
    /// A decoder in its initial state.
    pub const fn new() -> SerialDecoder {
        SerialDecoder {
            state: EscState::Idle,
            last_was_cr: false,
        }
    }

    /// Feed one byte; `emit` receives zero, one or two keys.
    pub fn feed(&mut self, byte: u8, mut emit: impl FnMut(Key)) {
        let was_cr = core::mem::replace(&mut self.last_was_cr, byte == b'\r');
        match self.state {
            EscState::Esc if byte == b'[' => {
                self.state = EscState::Csi;
                return;
            }
            EscState::Esc => {
                self.state = EscState::Idle;
                emit(Key::Escape);
            }
            EscState::Csi => {
                self.state = EscState::Idle;
                match byte {
                    b'A' => emit(Key::Up),
                    b'B' => emit(Key::Down),
                    b'C' => emit(Key::Right),
                    b'D' => emit(Key::Left),
                    _ => {}
                }
                return;
            }
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

    /// A lone ESC waits for the next byte to tell it from an arrow; call this
    /// when the line has been quiet for a moment to deliver it.
    pub fn flush(&mut self, mut emit: impl FnMut(Key)) {
        if self.state != EscState::Idle {
            self.state = EscState::Idle;
            emit(Key::Escape);
        }
    }

    /// True while an ESC waits for its next byte.
    pub fn pending(&self) -> bool {
        self.state != EscState::Idle
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
