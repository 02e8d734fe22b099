//! User processes on the CPU: the process table, the round-robin scheduler
//! on the PIT, CR3 and TSS.esp0 switches, system calls through `int 0x80`,
//! demand paging of user faults, and the shell's side (`run`, `ps`, `kill`).
//! The pure part (ELF loading, user memory, shared regions) is `process`.
//!
//! ```text
//!   task 0: the kernel (the shell loop, boot stack, kernel directory)
//!   task N: a process: its directory, its kernel stack, its user memory
//!
//!   ring 3 --int 0x80 / IRQ / fault--> kernel stack of the process (TSS.esp0)
//!        <--------- iret ------------  user-return hook: slice over? dying?
//!                                            |
//!                                        schedule(): next Ready task,
//!                                        TSS.esp0 := its stack top,
//!                                        CR3 := its directory,
//!                                        switch_context(kernel stacks)
//! ```
//!
//! The kernel is not preempted: only code interrupted in ring 3 is switched
//! away on the timer; kernel code switches only where it blocks (`read`,
//! `sleep`, `wait`, `yield`, `exit`) and the shell yields when it is idle.
//! Everything here runs with interrupts off.

mod kstack;
pub mod programs;
mod sched;
mod syscall;
mod table;

pub use sched::{any_ready, yield_now};
pub use table::{ExitKind, ProcInfo, State};

use crate::arch::x86::{self, idt};
use crate::process::abi::{Errno, KILLED_BY_SHELL};
use alloc::string::String;
use core::fmt::Write;

pub use table::{MAX_PROCS, SLICE_TICKS};

/// Install the system-call gate's handler, the user-return hook and the
/// user-exception handler. After `interrupts::init` and `memory::init`.
pub fn init() {
    sched::init();
    idt::set_syscall_handler(syscall::dispatch);
    idt::set_user_return_hook(sched::on_user_return);
    crate::kernel::interrupts::set_user_exception_handler(sched::user_exception);
}

/// Start program `name` with `args` (its name first) as a child of the
/// shell; its pid, or why not (the cause is also printed).
pub fn spawn(name: &str, args: &[&str]) -> Result<u32, Errno> {
    table::spawn(name, args, 0)
}

/// Kill process `pid` from the shell (`kill`, Ctrl+C) with `reason`.
pub fn kill(pid: u32, reason: &str) -> Result<(), Errno> {
    x86::without_interrupts(|| table::kill(pid, KILLED_BY_SHELL as u32, reason))?;
    sched::reap();
    Ok(())
}

/// A snapshot of every process, for `ps`.
pub fn list() -> alloc::vec::Vec<ProcInfo> {
    x86::without_interrupts(table::list)
}

/// Print `[pid N] exited with status S` (or `killed: reason`) for every
/// process that ended and was not reported yet, and forget those no parent
/// waits for. The shell calls it between keys.
pub fn report_exits(out: &mut dyn Write) {
    let mut lines: [Option<String>; 4] = Default::default();
    loop {
        let n = x86::without_interrupts(|| {
            sched::reap();
            table::take_reports(&mut lines)
        });
        for l in lines.iter_mut().take(n) {
            if let Some(l) = l.take() {
                let _ = writeln!(out, "{l}");
            }
        }
        if n < lines.len() {
            return;
        }
    }
}

/// Run `pid` in the foreground: the keyboard goes to it while it reads,
/// Ctrl+C kills it; returns when it has ended (its exit line printed).
pub fn foreground(pid: u32, out: &mut dyn Write) {
    use crate::kernel::interrupts;
    use crate::shell::input::Key;
    table::set_foreground(pid);
    let mut line = String::new();
    loop {
        let alive = x86::without_interrupts(|| table::is_alive(pid));
        if !alive {
            break;
        }
        while let Some((key, _source)) = interrupts::next_key() {
            match key {
                Key::Ctrl('c') => {
                    let _ = writeln!(out, "^C");
                    let _ = kill(pid, "Ctrl+C");
                }
                _ => {
                    let raw = x86::without_interrupts(|| table::reading_raw(pid));
                    if raw == Some(true) {
                        let c = match key {
                            Key::Char(c) => Some(c),
                            Key::Enter => Some('\n'),
                            Key::Escape => Some('\x1b'),
                            Key::Backspace => Some('\x08'),
                            _ => None,
                        };
                        if let Some(c) = c {
                            let mut b = [0u8; 4];
                            x86::without_interrupts(|| {
                                table::deliver(pid, c.encode_utf8(&mut b).as_bytes())
                            });
                        }
                        continue;
                    }
                    match key {
                        Key::Char(c) if line.len() < table::LINE_MAX - 1 => {
                            line.push(c);
                            let _ = write!(out, "{c}");
                        }
                        Key::Backspace if line.pop().is_some() => {
                            let _ = write!(out, "\x08 \x08");
                        }
                        Key::Enter => {
                            let _ = writeln!(out);
                            line.push('\n');
                            x86::without_interrupts(|| table::deliver(pid, line.as_bytes()));
                            line.clear();
                        }
                        _ => {}
                    }
                }
            }
        }
        idle();
    }
    table::set_foreground(0);
    report_exits(out);
}

/// Run `f` on the address space of process `pid` (a mapper that does not
/// flush: the space may not be loaded) and the region table; `None` when
/// there is no such live process. For `translate`, `pagedir`, `vmregions`.
pub fn with_space<R>(
    pid: u32,
    f: impl FnOnce(
        &mut crate::mm::paging::Mapper<
            '_,
            crate::kernel::memory::KernelPhys,
            crate::mm::paging::NoFlush,
        >,
        &crate::mm::vm::RegionMap,
    ) -> R,
) -> Option<R> {
    use crate::kernel::memory::{self, KernelPhys};
    x86::without_interrupts(|| {
        let mut t = table::lock_table();
        let space = t.by_pid(pid)?.space.as_mut()?;
        Some(memory::with(|m| {
            let mut mapper = space.mapper(&KernelPhys, &crate::mm::paging::NoFlush);
            f(&mut mapper, &m.regions)
        }))
    })
}

/// Run `f` on the address spaces of every process that still has one
/// (running, ready, blocked or a zombie not yet reaped), with the process
/// table locked and interrupts off: `f` may take the memory lock (the lock
/// order is the table, then memory), never the table's. No heap. For
/// `ffree`, which refuses a frame some process maps.
pub fn with_user_spaces<R>(
    f: impl FnOnce(&mut dyn Iterator<Item = crate::kernel::memory::ProcSpace<'_>>) -> R,
) -> R {
    x86::without_interrupts(|| {
        let t = table::lock_table();
        let mut spaces = t.slots.iter().flatten().filter_map(|p| {
            Some(crate::kernel::memory::ProcSpace {
                pid: p.pid,
                name: p.name.as_str(),
                space: p.space.as_ref()?,
            })
        });
        f(&mut spaces)
    })
}

/// Let `pid` run until it ends and return how it ended, without an exit
/// line (for the in-kernel tests). `None` for an unknown pid.
pub fn run_to_end(pid: u32) -> Option<ExitKind> {
    loop {
        let alive = x86::without_interrupts(|| table::is_alive(pid));
        if !alive {
            x86::without_interrupts(sched::reap);
            return x86::without_interrupts(|| table::take_exit(pid));
        }
        idle();
    }
}

/// Give the CPU to processes that are ready, or halt until the next interrupt.
pub fn idle() {
    x86::disable_interrupts();
    if sched::any_ready() {
        sched::yield_now();
        x86::enable_interrupts();
    } else if !crate::kernel::interrupts::key_waiting() {
        x86::enable_interrupts_and_hlt();
    } else {
        x86::enable_interrupts();
    }
}

/// Kill every process and wait until all are reaped (the in-kernel tests).
pub fn kill_all() {
    for p in list() {
        if p.state != State::Zombie {
            let _ = kill(p.pid, "killed by the kernel");
        }
    }
    x86::without_interrupts(sched::reap);
}
