//! Foundation commands (after `help`, which lives with the tables): clear echo uptime mmap gdt idt fault reboot halt.
//! `fault` (exceptions raised on purpose) has its own file, `fault.rs`.

mod fault;

use super::kit::{Command, Outcome, at_most};
use crate::arch::x86::{self, gdt, idt};
use crate::kernel::boot::boot_info;
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
        run: fault::fault,
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
