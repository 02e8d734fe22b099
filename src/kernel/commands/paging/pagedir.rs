//! `pagedir [pid=N]`: every mapping of the kernel directory (or of process
//! N's), merged into runs, with their flags.

use super::args::take_pid;
use crate::kernel::commands::kit::{Outcome, at_most};
use crate::kernel::memory;
// course: module 08
use crate::kernel::proc;
// course: end
use alloc::format;
use alloc::string::String;
use core::fmt::Write;

/// `pagedir`: the kernel directory's mappings, merged into runs.
pub fn pagedir(args: &[&str], out: &mut dyn Write) -> Outcome {
    let (pid, args) = take_pid(args)?;
    at_most(&args, 0)?;
    // Writes while the memory lock is held: `out` is the console (no heap).
    // course: module 08
    match pid {
        None => memory::with(|m| m.mapper().write_pagedir(&mut &mut *out).map(|_| ())),
        Some(pid) => proc::with_space(pid, |mapper, _| {
            writeln!(out, "the address space of pid {pid}:")?;
            mapper.write_pagedir(&mut &mut *out).map(|_| ())
        })
        .ok_or_else(|| format!("no live process {pid} (`ps` lists them)"))?,
    }
    .map_err(|_| String::from("the report could not be written"))?;
    // course: else
    // if let Some(pid) = pid {
    //     return Err(format!("no process {pid}: processes come in module 8"));
    // }
    // memory::with(|m| m.mapper().write_pagedir(&mut &mut *out).map(|_| ()))
    //     .map_err(|_| String::from("the report could not be written"))?;
    // course: end
    let _ = writeln!(
        out,
        "flags: P present W writable U user T write-through C cache-disable A accessed\n       \
         D dirty S 4 MiB G global; own = the mapping owns its frame"
    );
    Ok(())
}
