//! User-space commands: progs run ps kill.

use super::kit::{Command, Outcome, at_most, no_args};
use crate::kernel::proc::MAX_PROCS;
use crate::kernel::proc::{self, programs};
use crate::process::abi::Errno;
use crate::process::elf;
use alloc::format;
use alloc::vec::Vec;
use core::fmt::Write;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "progs",
        args: "",
        help: "the user programs in the ISO (GRUB modules), with their size and entry point",
        run: progs,
    },
    Command {
        name: "run",
        args: "<prog> [args...] [&]",
        help: "run a program in ring 3 in its own address space; `&` runs it in the background",
        run,
    },
    Command {
        name: "ps",
        args: "",
        help: "processes: pid, state, frames owned, heap size, demand faults (heap/stack)",
        run: ps,
    },
    Command {
        name: "kill",
        args: "<pid>",
        help: "end a process; its frames go back to the PMM",
        run: kill,
    },
];

fn progs(args: &[&str], out: &mut dyn Write) -> Outcome {
    no_args(args)?;
    let mut n = 0;
    for p in programs::all() {
        n += 1;
        match elf::plan(p.bytes) {
            Ok(plan) => {
                let _ = writeln!(
                    out,
                    "  {:<10} {:>7} bytes  entry {:#010x}  {} segments, {} pages",
                    p.name,
                    p.bytes.len(),
                    plan.entry,
                    plan.segments().len(),
                    plan.pages()
                );
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "  {:<10} {:>7} bytes  not loadable: {e}",
                    p.name,
                    p.bytes.len()
                );
            }
        }
    }
    if n == 0 {
        let _ = writeln!(
            out,
            "no programs: the ISO has no module2 lines (make iso builds them)"
        );
    }
    Ok(())
}

fn run(args: &[&str], out: &mut dyn Write) -> Outcome {
    let (background, args) = match args.split_last() {
        Some((&"&", rest)) => (true, rest),
        _ => (false, args),
    };
    let mut args: Vec<&str> = args.to_vec();
    if let Some(last) = args.last_mut()
        && last.len() > 1
        && let Some(stripped) = last.strip_suffix('&')
    {
        // `run hello&` works like `run hello &`.
        *last = stripped;
        return start(&args, true, out);
    }
    start(&args, background, out)
}

fn start(args: &[&str], background: bool, out: &mut dyn Write) -> Outcome {
    let Some(&name) = args.first() else {
        return Err("name a program (`progs` lists them)".into());
    };
    let pid = proc::spawn(name, args).map_err(|e| format!("{name}: {}", spawn_refusal(e)))?;
    if background {
        let _ = writeln!(out, "[pid {pid}] {name} started in the background");
    } else {
        proc::foreground(pid, out);
    }
    Ok(())
}

/// Why `run` could not start a program, in the words of the layer that
/// refused (the errno alone says only "resource busy" for a full table).
fn spawn_refusal(e: Errno) -> alloc::string::String {
    match e {
        Errno::NoEnt => "no such program (`progs` lists them)".into(),
        Errno::Busy => format!(
            "the process table is full ({MAX_PROCS} processes; `ps` lists them, `kill` ends one)"
        ),
        Errno::NoMem => {
            "out of memory: no frames left for its kernel stack, page tables or image".into()
        }
        Errno::NoExec => "not an executable (the ELF check above says why)".into(),
        e => e.name().into(),
    }
}

fn ps(args: &[&str], out: &mut dyn Write) -> Outcome {
    no_args(args)?;
    proc::report_exits(out);
    let list = proc::list();
    let _ = writeln!(
        out,
        "  pid  ppid  state     name        frames       heap  faults heap/stack"
    );
    for p in &list {
        let _ = writeln!(
            out,
            "  {:>3}  {:>4}  {:<8}  {:<10}  {:>6}  {:>9}  {:>6}/{}",
            p.pid,
            p.parent,
            p.state.name(),
            p.name.as_str(),
            p.frames,
            p.heap,
            p.heap_faults,
            p.stack_faults
        );
    }
    if list.is_empty() {
        let _ = writeln!(out, "  (no processes)");
    }
    Ok(())
}

fn kill(args: &[&str], out: &mut dyn Write) -> Outcome {
    at_most(args, 1)?;
    let pid: u32 = match args {
        [p] => p
            .parse()
            .map_err(|_| format!("`{p}` is not a pid (a decimal number `ps` lists)"))?,
        _ => return Err("name one pid (`ps` lists them)".into()),
    };
    proc::kill(pid, "killed by the shell")
        .map_err(|_| format!("no live process {pid} (`ps` lists them)"))?;
    proc::report_exits(out);
    Ok(())
}
