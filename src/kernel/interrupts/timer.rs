//! The timer: the PIT's interrupts counted in ticks, [`TIMER_HZ`] a
//! second, from which the kernel reads time.

use core::sync::atomic::{AtomicU32, Ordering};

/// Timer interrupts per second.
pub const TIMER_HZ: u32 = 100;

/// Timer ticks since the PIT started.
static TICKS: AtomicU32 = AtomicU32::new(0);

/// Count one tick (the timer handler's) and return the new count.
pub(super) fn tick() -> u32 {
    TICKS.fetch_add(1, Ordering::Relaxed) + 1
}

/// Timer ticks since the PIT started ([`TIMER_HZ`] a second).
pub fn ticks() -> u32 {
    TICKS.load(Ordering::Relaxed)
}

/// Milliseconds since the timer started.
pub fn uptime_ms() -> u64 {
    ticks() as u64 * 1000 / TIMER_HZ as u64
}
