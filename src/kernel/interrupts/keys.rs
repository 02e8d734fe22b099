//! The keys: the PS/2 keyboard's IRQ 1 and COM1's IRQ 4 feed one input
//! queue the shell reads; a tap may see every keyboard key first (the
//! `channel` demo); serial input is paused near full, so no byte is lost.
//! Handlers run with interrupts off and must not block or allocate.
//!
//! ```text
//!   IRQ 1 ─ keyboard() ─ tap ─┐
//!   IRQ 4 ─ com1() ─ decoder ─┴─▶ INPUT ─▶ next_key() ─▶ shell
//!            near full: receive interrupt off; on again below LOW_WATER
//! ```

use super::timer::ticks;
use crate::arch::x86;
use crate::drivers::serial::Serial;
use crate::shell::input::{HIGH_WATER, InputQueue, Key, LOW_WATER, SerialDecoder, Source};
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;

/// Keys from the keyboard and the serial line, for the shell.
static INPUT: InputQueue = InputQueue::new();

struct SerialInput {
    port: crate::drivers::serial::Serial,
    decoder: SerialDecoder,
    last_byte_tick: u32,
}

static SERIAL_INPUT: Mutex<SerialInput> = Mutex::new(SerialInput {
    port: crate::drivers::serial::Serial::com1(),
    decoder: SerialDecoder::new(),
    last_byte_tick: 0,
});

/// Keys lost because the queue was full, not yet reported (0 when none).
pub fn unreported_drops() -> usize {
    INPUT.take_unreported_drops()
}

/// Sleep until the next interrupt unless a key already waits (`sti; hlt`
/// cannot miss a key that arrives between the check and the halt).
pub fn wait_for_interrupt() {
    x86::disable_interrupts();
    if INPUT.is_empty() {
        x86::enable_interrupts_and_hlt();
    } else {
        x86::enable_interrupts();
    }
}

/// True when a key waits in the input queue.
pub fn key_waiting() -> bool {
    !INPUT.is_empty()
}

/// At tick `now`: a lone ESC from a serial terminal is delivered once the
/// line has been quiet for two ticks (the timer handler calls this).
pub(super) fn flush_lone_escape(now: u32) {
    if let Some(mut s) = SERIAL_INPUT.try_lock()
        && s.decoder.pending()
        && now.wrapping_sub(s.last_byte_tick) > 2
    {
        s.decoder.flush(|k| {
            INPUT.push_from(k, Source::Serial);
        });
    }
}

/// A tap on every key from the PS/2 keyboard, called in the IRQ 1 handler
/// before the key goes to the shell (the `channel` demo installs one). It
/// must not block or allocate.
static KEY_TAP: Mutex<Option<fn(Key)>> = Mutex::new(None);

/// Install (`Some`) or remove (`None`) the key tap; interrupts stay off
/// meanwhile, so the IRQ 1 handler never finds the tap's lock held.
pub fn set_key_tap(tap: Option<fn(Key)>) {
    x86::without_interrupts(|| *KEY_TAP.lock() = tap);
}

/// The key tap installed now, if any.
pub fn key_tap() -> Option<fn(Key)> {
    x86::without_interrupts(|| *KEY_TAP.lock())
}

pub(super) fn keyboard() {
    if let Some(key) = crate::drivers::keyboard::read_key() {
        if let Some(tap) = KEY_TAP.try_lock().and_then(|t| *t) {
            tap(key);
        }
        INPUT.push(key);
    }
}

/// True while COM1's receive interrupt is off because the queue is nearly full.
static SERIAL_PAUSED: AtomicBool = AtomicBool::new(false);

/// Move received bytes into the queue while it has room; near full, switch
/// the receive interrupt off so the rest waits in the UART (and its sender)
/// until [`next_key`] has made room: no byte is lost.
pub(super) fn com1() {
    let mut s = SERIAL_INPUT.lock();
    s.last_byte_tick = ticks();
    loop {
        if INPUT.len() >= HIGH_WATER {
            SERIAL_PAUSED.store(true, Ordering::Relaxed);
            Serial::set_receive_interrupt(false);
            return;
        }
        let Some(byte) = s.port.try_receive() else {
            return;
        };
        s.decoder.feed(byte, |k| {
            INPUT.push_from(k, Source::Serial);
        });
    }
}

/// The oldest waiting key and where it came from (for the shell loop); resumes a paused serial
/// receiver once the queue has drained below its low-water mark.
pub fn next_key() -> Option<(Key, Source)> {
    let key = INPUT.pop_with_source();
    if SERIAL_PAUSED.load(Ordering::Relaxed) && INPUT.len() < LOW_WATER {
        x86::without_interrupts(|| {
            SERIAL_PAUSED.store(false, Ordering::Relaxed);
            Serial::set_receive_interrupt(true);
        });
    }
    key
}
