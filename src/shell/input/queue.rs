//! The input queue: a lock-free ring of 4096 keys, one producer at a time
//! (interrupt handlers, which run with interrupts off) and one consumer
//! (the shell loop); neither blocks or allocates. Each slot holds a key
//! packed into one word with its source; a key that finds the ring full is
//! counted, and the count reported once.
//!
//! ```text
//!   slot:  tag << 24 | serial << 23 | payload (a char, or 0)
//!   ring:  [ ][k][k][k][ ] ... [ ]     keys from head (the shell reads)
//!              ^head     ^tail         to tail (a handler writes)
//! ```

use super::{Key, Source};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

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

pub(super) fn encode(key: Key) -> u32 {
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

pub(super) fn decode(raw: u32) -> Option<Key> {
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
