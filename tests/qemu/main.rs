//! Tier 3: boot the ISO in QEMU and drive it through the real PS/2 keyboard
//! path (`sendkey`) and the serial line. Run with `make test-qemu`.

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
