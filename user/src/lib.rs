//! Cairn's user library: the entry point, the system-call wrappers, `print!`,
//! a panic handler and the heap (`#[global_allocator]`). Programs live in
//! `src/bin/`, each with `cairn_user::entry!(main);` and a
//! `fn main(args: &[&str]) -> i32`.
//!
//! ```text
//!   kernel iret -> _start (argc in eax, argv in ebx, esp = 0xBFC00000)
//!               -> start(argc, argv): args as &str -> main(args) -> exit(status)
//! ```
//!
//! The heap is the kernel's own code: `cairn::mm::heap` compiled for the
//! user target, the buddy heap by default, growing through `sbrk`.

#![no_std]

extern crate alloc;

pub mod heap;
pub mod io;
pub mod sys;

pub use cairn::process::abi::{self, Errno};
pub use sys::*;

/// Define the program's entry: `entry!(main)` with `fn main(&[&str]) -> i32`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        fn cairn_user_main(args: &[&str]) -> i32 {
            $main(args)
        }
    };
}

unsafe extern "Rust" {
    fn cairn_user_main(args: &[&str]) -> i32;
}

core::arch::global_asm!(
    ".section .text._start, \"ax\"",
    ".global _start",
    "_start:",
    // ESP is 16-aligned here; two pushes and 8 bytes keep the call aligned.
    "sub esp, 8",
    "push ebx",
    "push eax",
    "call {start}",
    "ud2",
    start = sym start,
);

/// The most arguments `start` passes on.
const MAX_ARGS: usize = abi::MAX_ARGS;

extern "C" fn start(argc: u32, argv: *const *const u8) -> ! {
    let mut args = [""; MAX_ARGS];
    let n = (argc as usize).min(MAX_ARGS);
    for (i, slot) in args.iter_mut().enumerate().take(n) {
        // SAFETY: the kernel put `argc` pointers to NUL-terminated strings in
        // the argument page, which stays mapped for the whole run.
        *slot = unsafe {
            let p = *argv.add(i);
            let mut len = 0;
            while *p.add(len) != 0 {
                len += 1;
            }
            core::str::from_utf8(core::slice::from_raw_parts(p, len)).unwrap_or("?")
        };
    }
    // SAFETY: `entry!` defines it in every program.
    let status = unsafe { cairn_user_main(&args[..n]) };
    exit(status)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("panic: {}", info.message());
    if let Some(loc) = info.location() {
        println!("  at {}:{}", loc.file(), loc.line());
    }
    exit(101)
}
