//! `channel fill`: the shell writes as the producer until the ring says
//! Full; nothing is overwritten, and keys are refused until `channel`
//! reads.

use super::ends::{PRODUCER, offer};
use super::message::KIND_FILL;
use crate::arch::x86::without_interrupts;
use crate::kernel::commands::kit::Outcome;
use alloc::string::String;
use core::fmt::Write;

/// `channel fill`: the shell writes as the producer until the ring says Full.
pub(super) fn channel_fill(out: &mut dyn Write) -> Outcome {
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
