//! Tier 3: boot the ISO in QEMU and drive it through the real PS/2 keyboard
//! path (`sendkey`) and the serial line. Run with `make test-qemu`.
// course: before 08
// // The machine's helpers serve the tests of every module: on the branch of
// // an earlier one, some wait for a later module's tests (module 1's type
// // nothing at all).
// #![allow(dead_code)]
// course: end

mod support;

mod audit;
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
