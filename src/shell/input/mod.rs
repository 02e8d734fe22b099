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
//!
//! One file per idea:
//!
//! ```text
//!   mod.rs     Key, Source
//!   queue.rs   InputQueue: the ring, back-pressure marks, dropped keys
//!   serial.rs  SerialDecoder: serial bytes and escape sequences to keys
//! ```

mod queue;
mod serial;

pub use queue::{HIGH_WATER, InputQueue, LOW_WATER, QUEUE_CAPACITY};
pub use serial::SerialDecoder;

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

#[cfg(test)]
mod tests;
