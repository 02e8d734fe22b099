//! Tier 3: boot the ISO in QEMU and drive it through the real PS/2 keyboard
//! path (`sendkey`) and the serial line. Run with `make test-qemu`.
// course: before 02
// // Module 1's tests type nothing: the machine's keyboard and serial
// // helpers wait for module 2 (the shell).
// #![allow(dead_code)]
// course: end

mod support;

mod console;
mod exhaustion;
mod family;
mod foundation;
mod frames;
mod gdb;
mod hardening;
mod heap;
mod messages;
mod paging;
mod user;
