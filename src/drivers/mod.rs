//! Device drivers: VGA text, COM1 serial, PS/2 keyboard.
