//! `translate <vaddr>... [pid=N]`: the walk the MMU does (CR3 -> PD[PDX] ->
//! PT[PTX] -> frame + offset), the region, and where the entries appear
//! through the recursive slot.

use super::args::{parse_addr, take_pid};
use crate::kernel::commands::kit::{Outcome, at_most};
// course: module 06
use crate::kernel::fault_report::write_region;
// course: end
use crate::kernel::memory;
// course: module 08
use crate::kernel::proc;
// course: end
use crate::mm::addr::VirtAddr;
use crate::mm::layout::RECURSIVE_INDEX;
use crate::mm::paging::recursive;
use alloc::format;
use core::fmt::Write;

/// `translate <vaddr>...`: the walk the MMU does, then the region and where
/// the entries appear through the recursive slot.
pub fn translate(args: &[&str], out: &mut dyn Write) -> Outcome {
    let (pid, args) = take_pid(args)?;
    let args = &args[..];
    if args.is_empty() {
        return Err("which address?".into());
    }
    let mut vas = [VirtAddr(0); 15];
    at_most(args, vas.len())?;
    for (slot, arg) in vas.iter_mut().zip(args) {
        *slot = VirtAddr(parse_addr(arg)?);
    }
    for &va in &vas[..args.len()] {
        // course: module 06
        let (walk, region) = match pid {
            None => memory::with(|m| (m.mapper().trace(va), m.regions.region_of(va))),
            // course: module 08
            Some(pid) => proc::with_space(pid, |mapper, regions| {
                (mapper.trace(va), regions.region_of(va))
            })
            .ok_or_else(|| format!("no live process {pid} (`ps` lists them)"))?,
            // course: else
            // Some(pid) => return Err(format!("no process {pid}: processes come in module 8")),
            // course: end
        };
        if let Some(pid) = pid {
            let _ = writeln!(out, "in the address space of pid {pid}:");
        }
        let _ = walk.write_indented(&mut &mut *out, "");
        write_region(out, region, va);
        // course: else
        // if let Some(pid) = pid {
        //     return Err(format!("no process {pid}: processes come in module 8"));
        // }
        // let walk = memory::with(|m| m.mapper().trace(va));
        // let _ = walk.write_indented(&mut &mut *out, "");
        // course: end
        let _ = write!(
            out,
            "  through PD[{RECURSIVE_INDEX}]: the PDE is at {}",
            recursive::pde_of(va)
        );
        if walk.pde.is_present() && !walk.pde.is_large() {
            let _ = writeln!(out, ", the PTE at {}", recursive::pte_of(va));
        } else {
            let _ = writeln!(out, " (no page table to show)");
        }
    }
    Ok(())
}
