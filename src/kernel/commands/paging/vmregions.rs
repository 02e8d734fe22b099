//! `vmregions [pid=N]`: the region table (range, size, pages mapped, use)
//! of the kernel's address space or of process N's, and the kernel heap's
//! growth through the VMM.

use super::args::take_pid;
use crate::kernel::commands::kit::{Outcome, at_most};
use crate::kernel::heap as kheap;
use crate::kernel::memory;
// course: module 08
use crate::kernel::proc;
// course: end
use alloc::format;
use alloc::string::String;
use core::fmt::Write;

/// `vmregions`: the region table with what is mapped in each region.
pub fn vmregions(args: &[&str], out: &mut dyn Write) -> Outcome {
    let (pid, args) = take_pid(args)?;
    at_most(&args, 0)?;
    // Writes while the memory lock is held: `out` is the console (no heap).
    if let Some(pid) = pid {
        // course: module 08
        return proc::with_space(pid, |mapper, regions| {
            writeln!(out, "the address space of pid {pid}:")?;
            regions.write_report(mapper, &mut &mut *out)
        })
        .ok_or_else(|| format!("no live process {pid} (`ps` lists them)"))?
        .map_err(|_| String::from("the report could not be written"));
        // course: else
        // return Err(format!("no process {pid}: processes come in module 8"));
        // course: end
    }
    memory::with(|m| m.regions.write_report(&m.mapper(), &mut &mut *out))
        .map_err(|_| String::from("the report could not be written"))?;
    let mapped = kheap::mapped_bytes();
    let _ = writeln!(
        out,
        "kernel heap ({}): {} KiB mapped, {} KiB at boot, the rest grown through the VMM",
        kheap::kind().name(),
        mapped / 1024,
        kheap::INITIAL_HEAP / 1024
    );
    Ok(())
}
