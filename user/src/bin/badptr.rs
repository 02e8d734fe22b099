//! Hands bad pointers and bad numbers to system calls: every one must come
//! back as an error code, and the process must live on.

#![no_std]
#![no_main]

use cairn_user::abi::{SYS_SPAWN, SYS_WRITE};
use cairn_user::{Errno, entry, println, syscall};

entry!(main);

const KERNEL: u32 = 0xC010_0000;
const UNMAPPED: u32 = 0x0800_0000;

fn main(_: &[&str]) -> i32 {
    let mut passed = 0;
    let mut failed = 0;
    let text = main as *const () as u32;
    let checks: [(&str, i32, Errno); 14] = [
        (
            "write from a kernel pointer",
            raw(SYS_WRITE, 1, KERNEL, 16, 0),
            Errno::Fault,
        ),
        (
            "write from an unmapped pointer",
            raw(SYS_WRITE, 1, UNMAPPED, 16, 0),
            Errno::Fault,
        ),
        ("write from null", raw(SYS_WRITE, 1, 0, 16, 0), Errno::Fault),
        (
            "write straddling the kernel half",
            raw(SYS_WRITE, 1, 0xBFFF_FFF0, 32, 0),
            Errno::Fault,
        ),
        (
            "write of a wrapping range",
            raw(SYS_WRITE, 1, 0xFFFF_FFF0, 64, 0),
            Errno::Fault,
        ),
        ("write to fd 7", raw(SYS_WRITE, 7, text, 4, 0), Errno::Inval),
        (
            "read into the kernel",
            err(cairn_user::read_raw(KERNEL, 16)),
            Errno::Fault,
        ),
        (
            "read into my own text",
            err(cairn_user::read_raw(text, 16)),
            Errno::Fault,
        ),
        (
            "wait with a kernel status pointer",
            err(cairn_user::wait_raw(1, KERNEL)),
            Errno::Fault,
        ),
        (
            "spawn with a kernel name pointer",
            raw(SYS_SPAWN, KERNEL, 5, 0, 0),
            Errno::Fault,
        ),
        ("system call 99", raw(99, 0, 0, 0, 0), Errno::NoSys),
        ("mmap of 0 bytes", err(cairn_user::mmap(0)), Errno::Inval),
        (
            "share with key 0",
            err(cairn_user::share(0, 4096)),
            Errno::Inval,
        ),
        (
            "munmap of nothing",
            err(cairn_user::munmap(0x6000_0000, 4096)),
            Errno::Inval,
        ),
    ];
    for (what, got, want) in checks {
        if got == want.to_return() {
            passed += 1;
            println!("badptr: {what}: {} (ok)", want.name());
        } else {
            failed += 1;
            println!(
                "badptr: {what}: got {got}, wanted {} FAIL",
                want.to_return()
            );
        }
    }
    println!("badptr: {passed} passed, {failed} failed; still alive");
    failed
}

fn raw(n: u32, a: u32, b: u32, c: u32, d: u32) -> i32 {
    // SAFETY: every pointer here is bad on purpose; the kernel checks them.
    unsafe { syscall(n, a, b, c, d) }
}

fn err<T>(r: Result<T, Errno>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.to_return(),
    }
}
