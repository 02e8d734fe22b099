//! Kernel glue: boot information, init, test mode.
