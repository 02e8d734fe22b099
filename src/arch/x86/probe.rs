//! Instructions that may fault on purpose, and the exception table that
//! lets the kernel survive them (Linux's `__ex_table` idea).
//!
//! ```text
//!   probe:   1: mov eax, [addr]        .extable: (1b, 3f)
//!            2: ...continue...         .text.fixup: 3: caught = 1; jmp 2b
//!
//!   fault at 1b -> exception handler finds 1b in .extable -> EIP := 3f -> iret
//! ```
//!
//! A fault anywhere else is a kernel bug and halts with a report; a fault in
//! a probe is reported and the probe returns `Err(Caught)`. This is how the
//! `fault` command, the `0` hotkey, `segdemo` and the paging tests raise
//! exceptions and go on, without unwinding or longjmp.

use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// What a probe caught: the exception vector, its error code and CR2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caught {
    pub vector: u32,
    pub error_code: u32,
    pub cr2: u32,
}

static LAST_VECTOR: AtomicU32 = AtomicU32::new(0);
static LAST_ERROR: AtomicU32 = AtomicU32::new(0);
static LAST_CR2: AtomicU32 = AtomicU32::new(0);
static QUIET: AtomicBool = AtomicBool::new(false);

unsafe extern "C" {
    static __extable_start: [u32; 0];
    static __extable_end: [u32; 0];
}

/// The fixup address for a fault at `eip`, if `eip` is a probe instruction.
pub fn fixup_for(eip: u32) -> Option<u32> {
    // SAFETY: the linker script places (fault, fixup) pairs of u32 between
    // these two symbols in .rodata.
    let table = unsafe {
        let start = (&raw const __extable_start) as *const u32;
        let end = (&raw const __extable_end) as *const u32;
        core::slice::from_raw_parts(start, (end.addr() - start.addr()) / 4)
    };
    table
        .chunks_exact(2)
        .find(|pair| pair[0] == eip)
        .map(|pair| pair[1])
}

/// Called by the exception handler when it redirects a probe: remember what was caught.
pub fn record(vector: u32, error_code: u32, cr2: u32) {
    LAST_VECTOR.store(vector, Ordering::Relaxed);
    LAST_ERROR.store(error_code, Ordering::Relaxed);
    LAST_CR2.store(cr2, Ordering::Relaxed);
}

/// True while probes should not print an exception report.
pub fn is_quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Run `f` with probe reports silenced (for tests and checks that expect faults).
pub fn quietly<R>(f: impl FnOnce() -> R) -> R {
    let before = QUIET.swap(true, Ordering::Relaxed);
    let r = f();
    QUIET.store(before, Ordering::Relaxed);
    r
}

fn result<T>(caught: u32, value: T) -> Result<T, Caught> {
    if caught == 0 {
        Ok(value)
    } else {
        Err(Caught {
            vector: LAST_VECTOR.load(Ordering::Relaxed),
            error_code: LAST_ERROR.load(Ordering::Relaxed),
            cr2: LAST_CR2.load(Ordering::Relaxed),
        })
    }
}

/// Emit `$insn` at a labelled address with an exception-table entry whose
/// fixup sets `{caught}` to 1 and continues after the instruction (at
/// `$after`, which runs in both cases). `$before` runs first.
macro_rules! probe_asm {
    ($insn:literal, $($operands:tt)*) => {
        probe_asm!(before "", $insn, after "", $($operands)*)
    };
    (before $before:literal, $insn:literal, after $after:literal, $($operands:tt)*) => {
        asm!(
            $before,
            concat!("7: ", $insn),
            concat!("8: ", $after),
            ".pushsection .extable, \"a\"",
            ".long 7b, 9f",
            ".popsection",
            ".pushsection .text.fixup, \"ax\"",
            "9: mov {caught}, 1",
            "jmp 8b",
            ".popsection",
            $($operands)*
        )
    };
}

/// Read a 32-bit word at `addr`; a fault (unmapped page, ...) is caught.
pub fn read_u32(addr: u32) -> Result<u32, Caught> {
    let value: u32;
    let caught: u32;
    // SAFETY: a faulting read is redirected by the exception table; a
    // successful one only reads.
    unsafe {
        probe_asm!("mov {value}, [{addr}]", addr = in(reg) addr, value = out(reg) value,
            caught = inout(reg) 0u32 => caught, options(nostack, readonly));
    }
    result(caught, value)
}

/// Write a 32-bit word at `addr`; a fault (unmapped or read-only page) is caught.
///
/// # Safety
/// The caller must know that writing `addr` breaks nothing the kernel relies on
/// (it may be kernel text on purpose: that write faults while CR0.WP is on).
pub unsafe fn write_u32(addr: u32, value: u32) -> Result<(), Caught> {
    let caught: u32;
    // SAFETY: forwarded to the caller; a fault is redirected by the table.
    unsafe {
        probe_asm!("mov [{addr}], {value}", addr = in(reg) addr, value = in(reg) value,
            caught = inout(reg) 0u32 => caught, options(nostack));
    }
    result(caught, ())
}

/// Divide `dividend` by `divisor` with the `div` instruction; #DE is caught.
pub fn divide(dividend: u32, divisor: u32) -> Result<u32, Caught> {
    let quotient: u32;
    let caught: u32;
    // SAFETY: div only computes; a #DE is redirected by the table.
    unsafe {
        probe_asm!("div {divisor}", divisor = in(reg) divisor, inout("eax") dividend => quotient,
            inout("edx") 0u32 => _, caught = inout(reg) 0u32 => caught, options(nomem, nostack));
    }
    result(caught, quotient)
}

/// Execute `ud2`; the #UD is caught.
pub fn invalid_opcode() -> Result<(), Caught> {
    let caught: u32;
    // SAFETY: ud2 always faults and the table redirects it.
    unsafe {
        probe_asm!("ud2", caught = inout(reg) 0u32 => caught, options(nomem, nostack));
    }
    result(caught, ())
}

/// Load `selector` into FS and reload the kernel data selector after; a bad
/// selector (#GP, #NP) is caught before FS changes.
pub fn load_fs(selector: u16) -> Result<(), Caught> {
    let caught: u32;
    // SAFETY: FS is unused by Rust code on this target; it is restored below.
    unsafe {
        probe_asm!("mov fs, {sel:x}", sel = in(reg) selector as u32,
            caught = inout(reg) 0u32 => caught, options(nomem, nostack));
        asm!("mov fs, {0:x}", in(reg) super::gdt::KERNEL_DATA.0 as u32, options(nomem, nostack));
    }
    result(caught, ())
}

/// Read a 32-bit word at `selector:offset` (through the segment's base and
/// limit); a limit violation (#GP) is caught. FS is restored afterwards.
pub fn read_segmented(selector: u16, offset: u32) -> Result<u32, Caught> {
    load_fs(selector)?;
    let value: u32;
    let caught: u32;
    // SAFETY: FS holds a valid data selector (just loaded); a #GP past its
    // limit is redirected; FS is put back to the flat kernel selector.
    unsafe {
        asm!("mov fs, {0:x}", in(reg) selector as u32, options(nomem, nostack));
        probe_asm!("mov {value}, fs:[{off}]", off = in(reg) offset, value = out(reg) value,
            caught = inout(reg) 0u32 => caught, options(nostack, readonly));
        asm!("mov fs, {0:x}", in(reg) super::gdt::KERNEL_DATA.0 as u32, options(nomem, nostack));
    }
    result(caught, value)
}

/// Sixteen `retf` instructions: the code a far call into the demo code
/// segment runs (in .rodata, which is executable: 32-bit paging has no NX).
pub static FAR_RETURN: [u8; 16] = [0xCB; 16];

/// Far-call `selector:offset` and come straight back (the target must be a
/// `retf`, such as [`FAR_RETURN`]); an offset past the code segment's limit
/// raises #GP before anything is pushed, and is caught.
///
/// # Safety
/// `selector` must name a 32-bit ring-0 code segment whose bytes at
/// `offset`, when inside the limit, are a `retf`.
pub unsafe fn far_call(selector: u16, offset: u32) -> Result<(), Caught> {
    let caught: u32;
    // SAFETY: forwarded to the caller; the far pointer is pushed and popped
    // here; a #GP is redirected by the table with ESP as it was at the call.
    unsafe {
        probe_asm!(before "push {sel}; push {off}", "call fword ptr [esp]", after "add esp, 8",
            sel = in(reg) selector as u32, off = in(reg) offset,
            caught = inout(reg) 0u32 => caught);
    }
    result(caught, ())
}

/// Execute `int3`: the breakpoint trap is reported and execution goes on.
pub fn breakpoint() {
    // SAFETY: #BP is a trap; its handler returns to the next instruction.
    unsafe { asm!("int3", options(nomem, nostack)) }
}
