//! Cairn: a 32-bit x86 teaching kernel for memory management.
//!
//! The library holds everything. Pure logic (`mm`, report formatting, the
//! shell's line editor) compiles on the host and is tested with plain
//! `cargo test`; the hardware layers (`arch`, `drivers`, the kernel glue)
//! exist only when building for the kernel target (`target_os = "none"`).
//!
//! ```text
//!   shell          hotkey mode, command mode
//!   mm::heap       buddy heap (9-byte headers) and the other heaps
//!   mm::vm         address spaces, regions, page-fault policy
//!   mm::paging     page directory / page table types, walk, map, unmap
//!   mm::frame      physical frame allocators
//!   drivers        VGA text, COM1 serial, PS/2 keyboard      (kernel only)
//!   arch::x86      GDT, IDT, PIC, PIT, registers, port I/O   (kernel only)
//! ```
//!
//! Rule: `mm` never imports `arch` or `drivers`; hardware reaches it through
//! small traits so the same code runs over simulated memory in host tests.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
// Strict provenance: no `as` cast between integers and pointers. A pointer
// is derived from the allocation it points into; an address that truly
// comes from outside Rust (boot information, VGA, user memory, the linker)
// becomes a pointer through `with_exposed_provenance`, and a number taken
// from a pointer is `.addr()` (or `.expose_provenance()` when it is turned
// back into a pointer later). Miri runs `mm` with -Zmiri-strict-provenance.
#![feature(strict_provenance_lints)]
#![warn(fuzzy_provenance_casts, lossy_provenance_casts)]

extern crate alloc;

pub mod bootinfo;
pub mod exception;
pub mod mm;
pub mod process;
pub mod rand;
pub mod shell;
pub mod term;
pub mod text;

#[cfg(test)]
pub mod testutil;

#[cfg(target_os = "none")]
pub mod arch;
#[cfg(target_os = "none")]
pub mod drivers;
#[cfg(target_os = "none")]
pub mod kernel;
