//! The 8253/8254 programmable interval timer, channel 0 on IRQ 0.

use super::outb;

/// The PIT's input clock in Hz.
pub const BASE_FREQUENCY: u32 = 1_193_182;

/// Program channel 0 as a rate generator firing `hz` times a second.
pub fn init(hz: u32) {
    let divisor = (BASE_FREQUENCY / hz).clamp(1, 0xFFFF) as u16;
    // SAFETY: 0x43 is the PIT mode port, 0x40 channel 0's data port.
    unsafe {
        outb(0x43, 0x34); // channel 0, lobyte/hibyte, mode 2 (rate generator)
        outb(0x40, divisor as u8);
        outb(0x40, (divisor >> 8) as u8);
    }
}
