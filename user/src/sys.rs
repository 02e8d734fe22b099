//! The system calls: `int 0x80`, number in EAX, arguments in EBX, ECX, EDX,
//! ESI, the answer in EAX (negative: an `Errno`). The one home of `asm!` in
//! the user library.

use cairn::process::abi::*;
use core::arch::asm;

/// A raw system call with up to four arguments.
///
/// # Safety
/// Pointer arguments must be what the call expects; the kernel checks them,
/// but memory the call writes changes under the caller's feet.
pub unsafe fn syscall(n: u32, a: u32, b: u32, c: u32, d: u32) -> i32 {
    let r: i32;
    // SAFETY: int 0x80 enters the kernel through the DPL-3 gate; the kernel
    // preserves every register but EAX. ESI cannot be named as an operand
    // on i686 (LLVM reserves it), so it is swapped in and out around the call.
    unsafe {
        asm!(
            "xchg {d}, esi",
            "int 0x80",
            "xchg {d}, esi",
            d = inout(reg) d => _,
            inlateout("eax") n as i32 => r,
            in("ebx") a,
            in("ecx") b,
            in("edx") c,
        );
    }
    r
}

/// An answer in `-MAX_ERRNO..0` is an error; anything else a value (an
/// address above 2 GiB is negative as an `i32`: shared regions, say).
fn result(r: i32) -> Result<u32, Errno> {
    if (-MAX_ERRNO..0).contains(&r) {
        Err(Errno::from_return(r).unwrap_or(Errno::Inval))
    } else {
        Ok(r as u32)
    }
}

/// End the process with `status`.
pub fn exit(status: i32) -> ! {
    // SAFETY: no pointer.
    unsafe { syscall(SYS_EXIT, status as u32, 0, 0, 0) };
    unreachable!("exit returned")
}

/// Write `bytes` to `fd` (1 and 2: the console).
pub fn write(fd: u32, bytes: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the slice is valid for its length.
    result(unsafe { syscall(SYS_WRITE, fd, bytes.as_ptr() as u32, bytes.len() as u32, 0) })
        .map(|n| n as usize)
}

/// Write to any address (for `badptr`: the kernel must refuse bad ones).
pub fn write_raw(fd: u32, addr: u32, len: u32) -> Result<usize, Errno> {
    // SAFETY: the kernel only reads the range.
    result(unsafe { syscall(SYS_WRITE, fd, addr, len, 0) }).map(|n| n as usize)
}

/// Read one line from the console into `buf` (blocks; foreground only).
pub fn read_line(buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the slice is valid and writable for its length.
    result(unsafe { syscall(SYS_READ, 0, buf.as_mut_ptr() as u32, buf.len() as u32, 0) })
        .map(|n| n as usize)
}

/// Read at least one key, without echo (blocks; foreground only).
pub fn read_keys(buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the slice is valid and writable for its length.
    result(unsafe { syscall(SYS_READ, 3, buf.as_mut_ptr() as u32, buf.len() as u32, 0) })
        .map(|n| n as usize)
}

/// Read into any address (for `badptr`).
pub fn read_raw(addr: u32, len: u32) -> Result<usize, Errno> {
    // SAFETY: the kernel checks the range before writing it.
    result(unsafe { syscall(SYS_READ, 0, addr, len, 0) }).map(|n| n as usize)
}

/// This process's id.
pub fn getpid() -> u32 {
    // SAFETY: no pointer.
    unsafe { syscall(SYS_GETPID, 0, 0, 0, 0) as u32 }
}

/// Let the next process run.
pub fn yield_now() {
    // SAFETY: no pointer.
    unsafe { syscall(SYS_YIELD, 0, 0, 0, 0) };
}

/// Block for at least `ms` milliseconds.
pub fn sleep(ms: u32) {
    // SAFETY: no pointer.
    unsafe { syscall(SYS_SLEEP, ms, 0, 0, 0) };
}

/// Move the break by `increment`; the old break.
pub fn sbrk(increment: i32) -> Result<usize, Errno> {
    // SAFETY: no pointer.
    result(unsafe { syscall(SYS_SBRK, increment as u32, 0, 0, 0) }).map(|a| a as usize)
}

/// Map `len` bytes of zeroed memory; its address.
pub fn mmap(len: usize) -> Result<usize, Errno> {
    // SAFETY: no pointer.
    result(unsafe { syscall(SYS_MMAP, len as u32, 0, 0, 0) }).map(|a| a as usize)
}

/// Unmap one earlier `mmap`.
pub fn munmap(addr: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: the kernel unmaps only a whole earlier mapping.
    result(unsafe { syscall(SYS_MUNMAP, addr as u32, len as u32, 0, 0) }).map(|_| ())
}

/// Map shared region `key` (`len` bytes for its creator, 0 for later users).
pub fn share(key: u32, len: usize) -> Result<usize, Errno> {
    // SAFETY: no pointer.
    result(unsafe { syscall(SYS_SHARE, key, len as u32, 0, 0) }).map(|a| a as usize)
}

/// Start program `name` with space-separated `args`; its pid.
pub fn spawn(name: &str, args: &str) -> Result<u32, Errno> {
    // SAFETY: both slices are valid for their lengths.
    result(unsafe {
        syscall(
            SYS_SPAWN,
            name.as_ptr() as u32,
            name.len() as u32,
            args.as_ptr() as u32,
            args.len() as u32,
        )
    })
}

/// Wait for child `pid` to end; its status.
pub fn wait(pid: u32) -> Result<i32, Errno> {
    let mut status = 0i32;
    // SAFETY: `status` is valid and writable.
    result(unsafe { syscall(SYS_WAIT, pid, &mut status as *mut i32 as u32, 0, 0) })?;
    Ok(status)
}

/// Wait with the status written to any address (for `badptr`).
pub fn wait_raw(pid: u32, addr: u32) -> Result<u32, Errno> {
    // SAFETY: the kernel checks the address.
    result(unsafe { syscall(SYS_WAIT, pid, addr, 0, 0) })
}

/// Free physical frames now.
pub fn free_frames() -> usize {
    // SAFETY: no pointer.
    unsafe { syscall(SYS_FRAMES, 0, 0, 0, 0) as usize }
}

/// The time-stamp counter (unprivileged on Cairn).
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc only reads the counter.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    (hi as u64) << 32 | lo as u64
}

/// Execute `cli`: privileged, so ring 3 gets #GP (for `crash`).
pub fn cli() {
    // SAFETY: in ring 3 the instruction faults; the kernel kills the process.
    unsafe { asm!("cli", options(nomem, nostack)) };
}

/// Divide with the `div` instruction (no Rust check), so a zero divisor
/// raises #DE (for `crash`).
pub fn divide(dividend: u32, divisor: u32) -> u32 {
    let q: u32;
    // SAFETY: div only computes; #DE kills the process.
    unsafe {
        asm!("div {d}", d = in(reg) divisor, inout("eax") dividend => q,
            inout("edx") 0u32 => _, options(nomem, nostack));
    }
    q
}
