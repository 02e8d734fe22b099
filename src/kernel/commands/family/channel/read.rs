//! `channel` and `channel read [max]`: the consumer drains up to `max`
//! messages, oldest first, each printed with its ring index; then the
//! counts since `channel on`.

use super::ends::{BUSY, CONSUMER, producer_counts};
use super::message::{KIND_FILL, MAX_MESSAGE, write_key};
use crate::kernel::commands::kit::Outcome;
use crate::mm::family::ChannelError;
use core::fmt::Write;
use core::sync::atomic::Ordering;

/// `channel` / `channel read [max]`: drain up to `max` messages, oldest first.
pub(super) fn channel_read(max: usize, out: &mut dyn Write) -> Outcome {
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
