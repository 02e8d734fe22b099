//! `channel [on [bytes] | read [max] | fill | off]`: a MemoryChannel fed
//! by the keyboard interrupt and read by the shell.
//!
//! The channel demo, FreeNOS's `MemoryChannel` with an interrupt handler as
//! the producer:
//!
//! ```text
//!   IRQ 1 ─read_key─┬─▶ KEY_TAP = key_tap ─Producer::write─▶ data page ────┐
//!                   │   (try_lock, no allocation; Full is counted)          │
//!                   └─▶ INPUT ─▶ shell ─ `channel` ─Consumer::read─◀────────┘
//!                                         publishes its read index in the
//!                                         feedback page: room for the producer
//!   data page:     [w index][msg 0][msg 1] ... [msg max-1]    two pages from
//!   feedback page: [r index]                                  the kernel heap
//!   message:       [seq u32][tick u32][kind u32][code u32][zero padding...]
//! ```
//!
//! The producer lives in [`PRODUCER`], touched by the handler only with
//! `try_lock` and by the shell only with interrupts off, so the handler never
//! waits; the consumer lives in [`CONSUMER`], which the handler never touches.
//! The ring itself needs no lock: each side writes only its own index.

use crate::arch::x86::without_interrupts;
use crate::kernel::commands::kit::{self, Outcome, at_most};
use crate::kernel::heap as kheap;
use crate::kernel::interrupts;
use crate::mm::family::{ChannelError, Consumer, Producer, Reset};
use crate::mm::layout::PAGE_SIZE;
use crate::shell::input::Key;
use alloc::alloc::Layout;
use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Mutex;

/// Bytes of a message the demo fills in: seq, tick, kind, code.
const RECORD: usize = 16;
/// The largest message `channel on` accepts (the handler's stack buffer).
pub const MAX_MESSAGE: usize = 512;
/// Message size when `channel on` is given none.
pub const DEFAULT_MESSAGE: usize = 16;

/// Message kinds.
const KIND_KEY: u32 = 1;
const KIND_FILL: u32 = 2;

/// Codes of the keys that are not characters: above every Unicode scalar.
const CODE_SPECIAL: u32 = 0x11_0000;
/// `Ctrl(c)` is `CODE_CTRL + c`.
const CODE_CTRL: u32 = 0x12_0000;

/// The writing end, shared by the keyboard handler (`try_lock`) and
/// `channel fill` / `on` / `off` (with interrupts off).
struct KeyProducer {
    producer: Producer,
    message_size: usize,
    /// Messages offered (the `seq` of the last one).
    offered: u32,
    /// Messages written.
    written: u32,
    /// Messages refused because the ring was full.
    full: u32,
}

/// The reading end and the two pages; the shell's alone.
struct KeyConsumer {
    consumer: Consumer,
    data: NonNull<u8>,
    feedback: NonNull<u8>,
    message_size: usize,
    /// The ring's read index, followed here to label each message (the
    /// channel's slot count is `PAGE_SIZE / message_size - 1`).
    read_index: u32,
    slots: u32,
}

// SAFETY: the pages are owned by the demo alone; the endpoints are Send.
unsafe impl Send for KeyConsumer {}

static PRODUCER: Mutex<Option<KeyProducer>> = Mutex::new(None);
static CONSUMER: Mutex<Option<KeyConsumer>> = Mutex::new(None);
/// Keys the handler could not offer because the producer was locked (stays
/// 0 on one CPU: the shell locks it only with interrupts off).
static BUSY: AtomicU32 = AtomicU32::new(0);

/// The keyboard tap: one message per key. Runs in the IRQ 1 handler: no
/// allocation, no waiting (a locked producer is counted in `BUSY`), and a
/// full ring refuses the message (counted) instead of overwriting.
fn key_tap(key: Key) {
    let Some(mut guard) = PRODUCER.try_lock() else {
        BUSY.fetch_add(1, Ordering::Relaxed);
        return;
    };
    if let Some(kp) = guard.as_mut() {
        // Written or refused as full, the outcome is counted in `kp`.
        let _ = offer(kp, KIND_KEY, key_code(key));
    }
}

/// Write one message of `kind` and `code` through `kp`, counting the outcome.
fn offer(kp: &mut KeyProducer, kind: u32, code: u32) -> Result<(), ChannelError> {
    kp.offered = kp.offered.wrapping_add(1);
    let mut buf = [0u8; MAX_MESSAGE];
    let tick = interrupts::ticks();
    for (i, w) in [kp.offered, tick, kind, code].into_iter().enumerate() {
        buf[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    let r = kp.producer.write(&buf[..kp.message_size]);
    match r {
        Ok(()) => kp.written += 1,
        Err(ChannelError::Full) => kp.full += 1,
        Err(_) => {}
    }
    r
}

/// A key as the message's `code`.
fn key_code(key: Key) -> u32 {
    match key {
        Key::Char(c) => c as u32,
        Key::Enter => CODE_SPECIAL,
        Key::Backspace => CODE_SPECIAL + 1,
        Key::Escape => CODE_SPECIAL + 2,
        Key::Tab => CODE_SPECIAL + 3,
        Key::Up => CODE_SPECIAL + 4,
        Key::Down => CODE_SPECIAL + 5,
        Key::Left => CODE_SPECIAL + 6,
        Key::Right => CODE_SPECIAL + 7,
        Key::Ctrl(c) => CODE_CTRL + c as u32,
        Key::Home => CODE_SPECIAL + 8,
        Key::End => CODE_SPECIAL + 9,
        Key::Delete => CODE_SPECIAL + 10,
        Key::PageUp => CODE_SPECIAL + 11,
        Key::PageDown => CODE_SPECIAL + 12,
        Key::ScrollUp => CODE_SPECIAL + 13,
        Key::ScrollDown => CODE_SPECIAL + 14,
    }
}

/// Print a message's `code` the way `channel` shows a key.
fn write_key(out: &mut dyn Write, code: u32) {
    const SPECIAL: [&str; 15] = [
        "Enter",
        "Backspace",
        "Escape",
        "Tab",
        "Up",
        "Down",
        "Left",
        "Right",
        "Home",
        "End",
        "Delete",
        "PgUp",
        "PgDn",
        "Shift+PgUp",
        "Shift+PgDn",
    ];
    let _ = match code {
        c if c >= CODE_CTRL => match char::from_u32(c - CODE_CTRL) {
            Some(ch) => write!(out, "Ctrl-{ch}"),
            None => write!(out, "code {c:#x}"),
        },
        c if c >= CODE_SPECIAL => match SPECIAL.get((c - CODE_SPECIAL) as usize) {
            Some(name) => write!(out, "{name}"),
            None => write!(out, "code {c:#x}"),
        },
        c => match char::from_u32(c) {
            Some(ch) => write!(out, "{ch:?}"),
            None => write!(out, "code {c:#x}"),
        },
    };
}

/// `channel [on [bytes] | read [max] | fill | off]`.
pub fn channel(args: &[&str], out: &mut dyn Write) -> Outcome {
    match args {
        [] | ["read"] => channel_read(usize::MAX, out),
        ["read", max] => {
            let max = kit::parse(max)?;
            if max == 0 {
                return Err(String::from("`0` messages: read at least 1"));
            }
            channel_read(max, out)
        }
        ["on"] => channel_on(DEFAULT_MESSAGE, out),
        ["on", bytes] => {
            let size = kit::parse(bytes).map_err(|e| format!("message size {e}"))?;
            if !(RECORD..=MAX_MESSAGE).contains(&size) {
                return Err(format!(
                    "message size `{bytes}`: give {RECORD} to {MAX_MESSAGE} bytes"
                ));
            }
            channel_on(size, out)
        }
        ["fill"] => channel_fill(out),
        ["off"] => channel_off(out),
        ["fill" | "off", ..] => at_most(args, 1),
        ["read" | "on", _, ..] => at_most(args, 2),
        [other, ..] => Err(format!(
            "unknown channel action `{other}` (on, read, fill or off)"
        )),
    }
}

/// Is the demo running?
fn channel_is_on() -> bool {
    CONSUMER.lock().is_some()
}

fn page_layout() -> Layout {
    // Never fails: PAGE_SIZE is a power of two and a valid size.
    Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).expect("channel: page layout")
}

/// One zeroed, page-aligned page from the kernel heap (never from the
/// reserve: the demo holds its pages until `channel off`).
fn heap_page() -> Option<NonNull<u8>> {
    let page = kheap::allocate(page_layout()).ok()?;
    // SAFETY: a fresh block of PAGE_SIZE bytes, ours alone.
    unsafe { core::ptr::write_bytes(page.as_ptr(), 0, PAGE_SIZE) };
    Some(page)
}

/// Give back a page from [`heap_page`].
///
/// # Safety
/// `page` came from `heap_page` and nothing uses it any more.
unsafe fn free_page(page: NonNull<u8>) {
    // A refusal is counted by the heap; it cannot happen for our own page.
    let _ = kheap::deallocate(page, page_layout());
}

/// `channel on [bytes]`: two heap pages, both endpoints, the keyboard tap.
fn channel_on(message_size: usize, out: &mut dyn Write) -> Outcome {
    if channel_is_on() {
        return Err(String::from(
            "the channel is already on (`channel off` first)",
        ));
    }
    let data =
        heap_page().ok_or_else(|| String::from("out of memory: no heap page for the data"))?;
    let Some(feedback) = heap_page() else {
        // SAFETY: just allocated, never shared.
        unsafe { free_page(data) };
        return Err(String::from("out of memory: no heap page for the feedback"));
    };
    // SAFETY: two distinct zeroed heap pages, owned by the demo until
    // `channel off` has removed both endpoints.
    let ends = unsafe {
        Producer::new(data.as_ptr(), feedback.as_ptr(), message_size, Reset::Hard).and_then(|p| {
            Consumer::new(data.as_ptr(), feedback.as_ptr(), message_size, Reset::Hard)
                .map(|c| (p, c))
        })
    };
    let (producer, consumer) = match ends {
        Ok(e) => e,
        Err(e) => {
            // SAFETY: the endpoints were not made; nothing uses the pages.
            unsafe {
                free_page(data);
                free_page(feedback);
            }
            return Err(format!("the channel refused: {e:?}"));
        }
    };
    let capacity = producer.capacity();
    let slots = (PAGE_SIZE / message_size - 1) as u32;
    *CONSUMER.lock() = Some(KeyConsumer {
        consumer,
        data,
        feedback,
        message_size,
        read_index: 0,
        slots,
    });
    BUSY.store(0, Ordering::Relaxed);
    without_interrupts(|| {
        *PRODUCER.lock() = Some(KeyProducer {
            producer,
            message_size,
            offered: 0,
            written: 0,
            full: 0,
        });
        interrupts::set_key_tap(Some(key_tap));
    });
    let _ = writeln!(
        out,
        "channel: on: data page V{:#010x}, feedback page V{:#010x} (two pages from the kernel heap)",
        data.as_ptr().addr(),
        feedback.as_ptr().addr()
    );
    let _ = writeln!(
        out,
        "channel: {message_size}-byte messages, {slots} slots, {capacity} usable (one stays empty)"
    );
    let _ = writeln!(
        out,
        "channel: every key pressed on the keyboard is now a message; `channel` reads them"
    );
    Ok(())
}

/// The producer's counters: (offered, written, refused as full).
fn producer_counts() -> Option<(u32, u32, u32)> {
    without_interrupts(|| {
        PRODUCER
            .lock()
            .as_ref()
            .map(|kp| (kp.offered, kp.written, kp.full))
    })
}

/// `channel` / `channel read [max]`: drain up to `max` messages, oldest first.
fn channel_read(max: usize, out: &mut dyn Write) -> Outcome {
    let mut guard = CONSUMER.lock();
    let Some(kc) = guard.as_mut() else {
        let _ = writeln!(
            out,
            "channel: off; `channel on [bytes]` starts it (the keyboard IRQ writes, `channel` reads)"
        );
        return Ok(());
    };
    let _ = kc.consumer.dump(out);
    let mut buf = [0u8; MAX_MESSAGE];
    let mut read = 0;
    let outcome = loop {
        if read == max {
            break None;
        }
        match kc.consumer.read(&mut buf[..kc.message_size]) {
            Ok(()) => {
                let word = |i: usize| {
                    u32::from_le_bytes([buf[i * 4], buf[i * 4 + 1], buf[i * 4 + 2], buf[i * 4 + 3]])
                };
                let (seq, tick, kind, code) = (word(0), word(1), word(2), word(3));
                let _ = write!(
                    out,
                    "  index {:>3}: seq {:>4} tick {:>6} ",
                    kc.read_index, seq, tick
                );
                if kind == KIND_FILL {
                    let _ = writeln!(out, "fill {code}");
                } else {
                    let _ = write!(out, "key ");
                    write_key(out, code);
                    let _ = writeln!(out);
                }
                kc.read_index = (kc.read_index + 1) % kc.slots;
                read += 1;
            }
            Err(e) => break Some(e),
        }
    };
    let _ = kc.consumer.dump(out);
    let (offered, written, full) = producer_counts().unwrap_or((0, 0, 0));
    match outcome {
        Some(ChannelError::Empty) => {
            let _ = writeln!(
                out,
                "channel: read {read} messages, then read() reported Empty"
            );
        }
        None => {
            let left = kc.consumer.pending().unwrap_or(0);
            let _ = writeln!(out, "channel: read {read} messages, {left} still waiting");
        }
        Some(e) => {
            let _ = writeln!(
                out,
                "channel: read {read} messages, then read() failed: {e:?}"
            );
        }
    }
    let _ = writeln!(
        out,
        "channel: since `channel on`: {offered} offered, {written} written, {full} refused as full (none overwritten)"
    );
    let busy = BUSY.load(Ordering::Relaxed);
    if busy > 0 {
        let _ = writeln!(out, "channel: {busy} keys found the producer locked");
    }
    Ok(())
}

/// `channel fill`: the shell writes as the producer until the ring says Full.
fn channel_fill(out: &mut dyn Write) -> Outcome {
    // Room for the producer's one-line dump, made before the lock is taken.
    let mut dump = String::with_capacity(160);
    let done = without_interrupts(|| {
        let mut guard = PRODUCER.lock();
        let kp = guard.as_mut()?;
        let mut n = 0u32;
        let last = loop {
            match offer(kp, KIND_FILL, n) {
                Ok(()) => n += 1,
                Err(e) => break e,
            }
        };
        let _ = kp.producer.dump(&mut dump);
        Some((n, last, kp.producer.pending().unwrap_or(0), kp.full))
    });
    let Some((n, last, pending, full)) = done else {
        return Err(String::from("the channel is off (`channel on` first)"));
    };
    let _ = writeln!(
        out,
        "channel fill: wrote {n} messages; the next write reported {last:?} (counted, nothing overwritten)"
    );
    let _ = write!(out, "{dump}");
    let _ = writeln!(
        out,
        "channel: {pending} messages waiting, {full} refused as full so far; keys are refused until `channel` reads"
    );
    Ok(())
}

/// `channel off`: remove the tap and both endpoints, give the pages back.
fn channel_off(out: &mut dyn Write) -> Outcome {
    let Some(kc) = CONSUMER.lock().take() else {
        return Err(String::from("the channel is already off"));
    };
    let kp = without_interrupts(|| {
        interrupts::set_key_tap(None);
        PRODUCER.lock().take()
    });
    let KeyConsumer {
        consumer,
        data,
        feedback,
        ..
    } = kc;
    let unread = consumer.pending().unwrap_or(0);
    let (written, full) = kp.map(|kp| (kp.written, kp.full)).unwrap_or((0, 0));
    // SAFETY: the tap is gone (removed with interrupts off, so no handler
    // is inside it) and both endpoints were moved out of their statics and
    // are not used again: nothing uses the pages.
    unsafe {
        free_page(data);
        free_page(feedback);
    }
    let _ = writeln!(
        out,
        "channel: off: {written} written, {full} refused as full, {unread} unread dropped; both pages back to the heap"
    );
    Ok(())
}
