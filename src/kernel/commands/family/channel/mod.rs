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
//! The producer lives in `PRODUCER` ([`ends`]), touched by the handler only
//! with `try_lock` and by the shell only with interrupts off, so the handler
//! never waits; the consumer lives in `CONSUMER`, which the handler never
//! touches.
//! The ring itself needs no lock: each side writes only its own index.
//!
//! One file per idea:
//!
//! ```text
//!   mod.rs      the command: its actions and their arguments
//!   message.rs  a message's words, a key as a code and back
//!   ends.rs     the two ends, their locks, the keyboard tap
//!   onoff.rs    channel on / off: the pages, the ends, the tap
//!   read.rs     channel / channel read [max]
//!   fill.rs     channel fill
//! ```

mod ends;
mod fill;
mod message;
mod onoff;
mod read;

pub use message::{DEFAULT_MESSAGE, MAX_MESSAGE};

use crate::kernel::commands::kit::{self, Outcome, at_most};
use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use fill::channel_fill;
use message::RECORD;
use onoff::{channel_off, channel_on};
use read::channel_read;

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
