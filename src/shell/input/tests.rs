//! Host tests of the input path: serial bytes decoded to keys, the queue's
//! order, back-pressure and dropped keys, and every key packed and back.

use super::queue::{decode, encode};
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
