//! `fault de|bp|ud|gp|pf [addr]|wp|stack|dfstack`: raise an exception on
//! purpose. Each is reported and survived, but `stack`: a kernel stack
//! overflow that double-faults on its own task, and the kernel halts; and
//! `dfstack`: then the double-fault handler overflows its own stack into its
//! guard page, a triple fault that stops the machine.

use crate::arch::x86::{self, probe};
use crate::exception::PageFaultCode;
use crate::kernel::commands::kit::{self, Outcome, at_most};
use crate::kernel::interrupts;
// course: module 05
use crate::kernel::memory;
// course: end
use crate::kernel::stack::{OVERFLOW_FRAME, boot_stack, overflow};
use alloc::format;
use core::fmt::Write;

/// `fault <kind> [addr]`: the exception asked for, raised by a probe that
/// survives it (or, for `stack`, the double fault that halts).
pub fn fault(args: &[&str], out: &mut dyn Write) -> Outcome {
    let kind = args.first().ok_or("which fault?")?;
    // `pf` takes an address; every other kind nothing.
    at_most(args, if *kind == "pf" { 2 } else { 1 })?;
    match *kind {
        "de" => {
            let _ = writeln!(out, "dividing 1 by 0 ...");
            let caught = probe::divide(1, 0).err().ok_or("no #DE was raised")?;
            let _ = writeln!(out, "survived #DE (vector {})", caught.vector);
        }
        "bp" => {
            let _ = writeln!(out, "executing int3 ...");
            probe::breakpoint();
            let _ = writeln!(out, "survived the breakpoint");
        }
        "ud" => {
            let _ = writeln!(out, "executing ud2 ...");
            let caught = probe::invalid_opcode().err().ok_or("no #UD was raised")?;
            let _ = writeln!(out, "survived #UD (vector {})", caught.vector);
        }
        "gp" => {
            let selector = 0xFFF8u16;
            let _ = writeln!(
                out,
                "loading selector {selector:#06x} (past the end of the GDT) into FS ..."
            );
            let caught = probe::load_fs(selector).err().ok_or("no #GP was raised")?;
            let _ = writeln!(
                out,
                "survived #GP (vector {}, error code {:#x})",
                caught.vector, caught.error_code
            );
        }
        "pf" => {
            let addr = match args.get(1) {
                Some(a) => kit::parse(a)? as u32,
                None => 0,
            };
            let last = addr.wrapping_add(3);
            let _ = writeln!(out, "reading 4 bytes at {addr:#010x}..{last:#010x} ...");
            match probe::read_u32(addr) {
                Ok(v) => {
                    let _ = writeln!(out, "no fault: {addr:#010x} is mapped and holds {v:#010x}");
                }
                Err(c) => {
                    let _ = write!(
                        out,
                        "survived #PF at {:#010x} (error code {:#x})",
                        c.cr2, c.error_code
                    );
                    if c.cr2 == addr {
                        let _ = writeln!(out);
                    } else if last < addr {
                        // The read ran off the top of the address space.
                        let _ = writeln!(
                            out,
                            "; tried {addr:#010x}: the 4-byte read wraps past 0xffffffff to \
                             0x00000000, and the fault is at its first byte that is not mapped"
                        );
                    } else {
                        let _ = writeln!(
                            out,
                            "; tried {addr:#010x}: the 4-byte read crosses into the next page, \
                             and the fault is at its first byte that is not mapped"
                        );
                    }
                }
            }
        }
        "wp" => fault_wp(out)?,
        "stack" => fault_stack(out)?,
        "dfstack" => fault_dfstack(out)?,
        other => return Err(format!("unknown fault kind `{other}`")),
    }
    Ok(())
}

/// `fault wp`: write kernel text. With CR0.WP set the read-only PTE holds
/// for the kernel too: #PF, protection violation on a write, survived.
fn fault_wp(out: &mut dyn Write) -> Outcome {
    let addr = fault as fn(&[&str], &mut dyn Write) -> Outcome as usize as u32;
    let word = probe::read_u32(addr).map_err(|_| "cannot read kernel text")?;
    let wp = if x86::cr0() & CR0_WP != 0 {
        "on"
    } else {
        "off"
    };
    let _ = writeln!(
        out,
        "writing {word:#010x} back to {addr:#010x} (kernel text, read-only; CR0.WP is {wp}) ..."
    );
    // SAFETY: the word written is the word already there, so even if the
    // write went through (CR0.WP off) the code would not change.
    match unsafe { probe::write_u32(addr, word) } {
        Ok(()) => Err(format!("no fault: kernel text at {addr:#010x} is writable")),
        Err(c) => {
            let _ = writeln!(
                out,
                "survived #PF at {:#010x} (error code {:#x}: {})",
                c.cr2,
                c.error_code,
                PageFaultCode::from_raw(c.error_code)
            );
            Ok(())
        }
    }
}

/// CR0.WP: supervisor writes obey read-only pages.
const CR0_WP: u32 = 1 << 16;

/// True when the guard page at `guard` is mapped: an overflow would then
/// run on into memory in use, so the stack faults refuse to start.
fn guard_is_mapped(guard: u32) -> bool {
    // course: module 05
    memory::with(|m| {
        m.mapper()
            .translate(crate::mm::addr::VirtAddr(guard))
            .is_some()
    })
    // course: else
    // // Before paging (module 5) the kernel runs on the boot page directory,
    // // whose 4 MiB pages map every guard page too: nothing would stop an
    // // overflow, so it is refused.
    // let _ = guard;
    // true
    // course: end
}

/// `fault stack`: overflow the boot stack into its guard page. The #PF there
/// cannot push its frame on the same stack, so the CPU raises #DF, which runs
/// on its own TSS and stack, is reported, and halts the kernel (no return).
fn fault_stack(out: &mut dyn Write) -> Outcome {
    let (guard, bottom, top) = boot_stack();
    let esp = x86::esp();
    if !(bottom..top).contains(&esp) {
        return Err(format!("ESP {esp:#010x} is not on the boot stack"));
    }
    if guard_is_mapped(guard) {
        return Err(format!(
            "the guard page {guard:#010x} is mapped: an overflow would corrupt memory, refused"
        ));
    }
    let _ = writeln!(
        out,
        "boot stack {bottom:#010x}-{:#010x} ({} KiB, {} KiB free), guard page {guard:#010x}-{:#010x}",
        top - 1,
        (top - bottom) / 1024,
        (esp - bottom) / 1024,
        bottom - 1
    );
    let _ = writeln!(
        out,
        "recursing with {OVERFLOW_FRAME} bytes per call: the #PF at the guard page cannot push its frame -> #DF"
    );
    let depth = overflow(0);
    Err(format!("no double fault after the recursion ({depth})"))
}

/// `fault dfstack`: `fault stack`, and then the double-fault handler, once
/// it has printed its report, recurses on its own stack until it runs into
/// that stack's guard page. The #PF there cannot be delivered (its frame
/// would go on the same stack), the #DF it turns into needs the
/// double-fault task, which is busy (it is running): the CPU gives up with
/// a triple fault and resets, and QEMU with `-no-reboot` stops. That is the
/// only safe end: there is no third stack to report from, and without the
/// guard page the recursion would have run on into the boot stack below.
/// The handler prints a fingerprint of the page below the guard first, so
/// a test can read the page after the machine stopped and see it unwritten.
fn fault_dfstack(out: &mut dyn Write) -> Outcome {
    let (guard, bottom, top) = crate::arch::x86::gdt::double_fault_stack();
    if guard_is_mapped(guard) {
        return Err(format!(
            "the double-fault stack's guard page {guard:#010x} is mapped: an overflow \
             would corrupt memory, refused"
        ));
    }
    let _ = writeln!(
        out,
        "double-fault stack {bottom:#010x}-{:#010x} ({} KiB), guard page {guard:#010x}-{:#010x}",
        top - 1,
        (top - bottom) / 1024,
        bottom - 1
    );
    let _ = writeln!(
        out,
        "after its report the #DF handler recurses on that stack: a #PF at its guard \
         page -> #DF -> the #DF task is busy -> triple fault (the machine stops)"
    );
    interrupts::overflow_double_fault_stack();
    fault_stack(out)
}
