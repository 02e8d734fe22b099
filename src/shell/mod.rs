//! Hotkey mode and command mode.
