//! Device drivers: VGA text console, COM1 serial port, PS/2 keyboard.

pub mod keyboard;
pub mod serial;
pub mod vga;
