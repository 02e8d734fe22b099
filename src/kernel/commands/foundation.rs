//! Foundation commands (after `help`, which lives with the tables): clear echo uptime mmap gdt idt fault reboot halt.

use super::kit::{self, Command, Outcome, at_most};
use crate::arch::x86::{self, gdt, idt, probe};
use crate::exception::PageFaultCode;
use crate::kernel::boot::boot_info;
use crate::kernel::stack::{OVERFLOW_FRAME, boot_stack, overflow};
// course: module 05
use crate::kernel::memory;
// course: end
use crate::kernel::{console, interrupts};
use crate::mm::segment;
use alloc::format;
use core::fmt::Write;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "clear",
        args: "",
        help: "clear the screen",
        run: clear,
    },
    Command {
        name: "echo",
        args: "<words...>",
        help: "print the words",
        run: echo,
    },
    Command {
        name: "uptime",
        args: "",
        help: "time since the timer started",
        run: uptime,
    },
    Command {
        name: "mmap",
        args: "",
        help: "the multiboot2 memory map and the command line",
        run: mmap,
    },
    Command {
        name: "gdt",
        args: "",
        help: "the global descriptor table, decoded",
        run: gdt_cmd,
    },
    Command {
        name: "idt",
        args: "",
        help: "the interrupt descriptor table's present gates",
        run: idt_cmd,
    },
    Command {
        name: "fault",
        args: "de|bp|ud|gp|pf [addr]|wp|stack|dfstack",
        help: "raise an exception on purpose; reported and survived (`stack`: a double fault, the kernel halts; `dfstack`: then the double-fault handler overflows its own stack into its guard page: a triple fault, the machine stops)",
        run: fault,
    },
    Command {
        name: "reboot",
        args: "",
        help: "reset the machine",
        run: reboot,
    },
    Command {
        name: "halt",
        args: "",
        help: "power the machine off (QEMU exits)",
        run: halt,
    },
];

fn clear(args: &[&str], _: &mut dyn Write) -> Outcome {
    at_most(args, 0)?;
    console::with(|c| c.screen.clear());
    Ok(())
}

fn echo(args: &[&str], out: &mut dyn Write) -> Outcome {
    let _ = writeln!(out, "{}", args.join(" "));
    Ok(())
}

fn uptime(args: &[&str], out: &mut dyn Write) -> Outcome {
    at_most(args, 0)?;
    let ms = interrupts::uptime_ms();
    let _ = writeln!(
        out,
        "up {}.{:03} s ({} timer ticks at {} Hz)",
        ms / 1000,
        ms % 1000,
        interrupts::ticks(),
        interrupts::TIMER_HZ
    );
    Ok(())
}

fn mmap(args: &[&str], out: &mut dyn Write) -> Outcome {
    at_most(args, 0)?;
    let info = boot_info();
    let _ = writeln!(
        out,
        "command line: {}",
        info.cmdline
            .as_ref()
            .map(|s| s.as_str())
            .unwrap_or("(none)")
    );
    let mut w = &mut *out;
    let _ = info.write_memory_map(&mut w);
    Ok(())
}

fn gdt_cmd(args: &[&str], out: &mut dyn Write) -> Outcome {
    at_most(args, 0)?;
    let _ = writeln!(out, "GDT ({} entries):", gdt::GDT_ENTRIES);
    let _ = writeln!(out, "idx sel     base        limit        gran  dpl  type");
    let mut w = &mut *out;
    for (i, d) in gdt::entries().iter().enumerate() {
        let _ = segment::write_row(&mut w, i, d.without_accessed());
    }
    Ok(())
}

fn idt_cmd(args: &[&str], out: &mut dyn Write) -> Outcome {
    at_most(args, 0)?;
    let _ = writeln!(out, "IDT: 256 entries; present gates:");
    for (v, kind, sel, offset) in idt::entries() {
        let name = if v < 32 {
            let (m, n) = crate::exception::name(v as u32);
            format!("{m} {n}")
        } else {
            format!("IRQ {}", v - 32)
        };
        let target = if kind == "task gate" {
            format!("TSS selector {sel:#06x}")
        } else {
            format!("{sel:#06x}:{offset:#010x}")
        };
        let _ = writeln!(out, "  {v:>3}  {kind:<14} {target:<22} {name}");
    }
    Ok(())
}

fn fault(args: &[&str], out: &mut dyn Write) -> Outcome {
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

/// `fault stack`: overflow the boot stack into its guard page. The #PF there
/// cannot push its frame on the same stack, so the CPU raises #DF, which runs
/// on its own TSS and stack, is reported, and halts the kernel (no return).
fn fault_stack(out: &mut dyn Write) -> Outcome {
    let (guard, bottom, top) = boot_stack();
    let esp = x86::esp();
    if !(bottom..top).contains(&esp) {
        return Err(format!("ESP {esp:#010x} is not on the boot stack"));
    }
    // course: module 05
    let guard_mapped = memory::with(|m| {
        m.mapper()
            .translate(crate::mm::addr::VirtAddr(guard))
            .is_some()
    });
    // course: else
    // // Before paging (module 5) the kernel runs on the boot page directory,
    // // whose 4 MiB pages map the guard page too: nothing would stop the
    // // overflow, so it is refused below.
    // let guard_mapped = true;
    // course: end
    if guard_mapped {
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
    // course: module 05
    let guard_mapped = memory::with(|m| {
        m.mapper()
            .translate(crate::mm::addr::VirtAddr(guard))
            .is_some()
    });
    // course: else
    // // Before paging (module 5) the boot page directory maps the guard
    // // page too: the overflow is refused below.
    // let guard_mapped = true;
    // course: end
    if guard_mapped {
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

fn reboot(args: &[&str], out: &mut dyn Write) -> Outcome {
    at_most(args, 0)?;
    let _ = writeln!(out, "rebooting ...");
    x86::reboot()
}

fn halt(args: &[&str], out: &mut dyn Write) -> Outcome {
    at_most(args, 0)?;
    let _ = writeln!(out, "cairn: powering off");
    x86::power_off()
}
