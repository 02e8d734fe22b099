//! The channel's two ends and who may touch them: the producer, written by
//! the keyboard interrupt's tap (`try_lock`: the handler never waits) and
//! by the shell with interrupts off; the consumer, the shell's alone.
//!
//! ```text
//!   IRQ 1 ─▶ key_tap ─try_lock─▶ PRODUCER ─offer─▶ data page   (busy: BUSY += 1)
//!   shell ─────────────lock────▶ CONSUMER ─read──▶ feedback page
//! ```

use super::message::{KIND_KEY, MAX_MESSAGE, key_code};
use crate::arch::x86::without_interrupts;
use crate::kernel::interrupts;
use crate::mm::family::{ChannelError, Consumer, Producer};
use crate::shell::input::Key;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Mutex;

/// The writing end, shared by the keyboard handler (`try_lock`) and
/// `channel fill` / `on` / `off` (with interrupts off).
pub(super) struct KeyProducer {
    pub(super) producer: Producer,
    pub(super) message_size: usize,
    /// Messages offered (the `seq` of the last one).
    pub(super) offered: u32,
    /// Messages written.
    pub(super) written: u32,
    /// Messages refused because the ring was full.
    pub(super) full: u32,
}

/// The reading end and the two pages; the shell's alone.
pub(super) struct KeyConsumer {
    pub(super) consumer: Consumer,
    pub(super) data: NonNull<u8>,
    pub(super) feedback: NonNull<u8>,
    pub(super) message_size: usize,
    /// The ring's read index, followed here to label each message (the
    /// channel's slot count is `PAGE_SIZE / message_size - 1`).
    pub(super) read_index: u32,
    pub(super) slots: u32,
}

// SAFETY: the pages are owned by the demo alone; the endpoints are Send.
unsafe impl Send for KeyConsumer {}

pub(super) static PRODUCER: Mutex<Option<KeyProducer>> = Mutex::new(None);
pub(super) static CONSUMER: Mutex<Option<KeyConsumer>> = Mutex::new(None);
/// Keys the handler could not offer because the producer was locked (stays
/// 0 on one CPU: the shell locks it only with interrupts off).
pub(super) static BUSY: AtomicU32 = AtomicU32::new(0);

/// The keyboard tap: one message per key. Runs in the IRQ 1 handler: no
/// allocation, no waiting (a locked producer is counted in `BUSY`), and a
/// full ring refuses the message (counted) instead of overwriting.
pub(super) fn key_tap(key: Key) {
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
pub(super) fn offer(kp: &mut KeyProducer, kind: u32, code: u32) -> Result<(), ChannelError> {
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

/// Is the demo running?
pub(super) fn channel_is_on() -> bool {
    CONSUMER.lock().is_some()
}

/// The producer's counters: (offered, written, refused as full).
pub(super) fn producer_counts() -> Option<(u32, u32, u32)> {
    without_interrupts(|| {
        PRODUCER
            .lock()
            .as_ref()
            .map(|kp| (kp.offered, kp.written, kp.full))
    })
}
