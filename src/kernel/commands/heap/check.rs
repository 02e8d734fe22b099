//! `heapcheck`: `check()` on the kernel heap and on the playground, block
//! by block, with the verdict of each.

use crate::kernel::commands::kit::{Outcome, no_args};
use crate::kernel::heap::{self as kheap};
use crate::kernel::playground::{self};
use crate::mm::heap::buddy::{BuddyHeap, CheckError, CheckReport};
use crate::mm::heap::report::Verdict;
use crate::mm::heap::{HeapBackend, HeapCheckError, SlabFault, SlabReport};
use crate::term::style::{ERROR, RESET};
use alloc::format;
use core::fmt::Write;

fn write_check(name: &str, r: Result<CheckReport, CheckError>, out: &mut dyn Write) -> bool {
    // A corrupt heap's line is red (the console's error colour).
    let (start, end) = if r.is_ok() { ("", "") } else { (ERROR, RESET) };
    let _ = writeln!(out, "{start}{name}: {}{end}", Verdict(&r));
    r.is_ok()
}

/// `heapcheck`: `check()` on the kernel heap, its reserve and the playground.
pub fn heapcheck(args: &[&str], out: &mut dyn Write) -> Outcome {
    no_args(args)?;
    /// The kernel heap's verdict, copied under its lock.
    enum KernelCheck {
        Buddy(
            Result<CheckReport, CheckError>,
            Result<SlabReport, SlabFault>,
        ),
        Other(Result<(), HeapCheckError>, crate::mm::heap::HeapStats),
    }
    let verdict = kheap::with(|h| match h.as_slab() {
        // The cached empty slabs go back first, so the verdict does not
        // depend on which ones happen to be cached.
        Some(s) => {
            s.trim();
            KernelCheck::Buddy(BuddyHeap::check(s.buddy()), s.check_slabs())
        }
        None => KernelCheck::Other(HeapBackend::check(h), h.stats()),
    })
    .ok_or("the kernel heap is not set up")?;
    let kind = kheap::kind().name();
    let name = format!("kernel heap ({kind})");
    let kernel_ok = match verdict {
        // One line: the buddy heap's verdict, then the slabs'.
        KernelCheck::Buddy(r, slabs) => match (&r, slabs) {
            (Ok(_), Ok(rep)) => {
                let _ = writeln!(
                    out,
                    "{name}: {}; slabs ok: {} holding {} objects",
                    Verdict(&r),
                    rep.slabs,
                    rep.objects
                );
                true
            }
            (Ok(_), Err(e)) => {
                let _ = writeln!(out, "{ERROR}{name}: heap CORRUPT: slab: {e}{RESET}");
                false
            }
            (Err(_), _) => write_check(&name, r, out),
        },
        KernelCheck::Other(Ok(()), stats) => {
            let _ = writeln!(out, "{name}: heap ok: {stats}");
            true
        }
        KernelCheck::Other(Err(e), _) => {
            let _ = writeln!(out, "{ERROR}{name}: heap CORRUPT: {e}{RESET}");
            false
        }
    };
    // The reserve is a buddy heap without slabs (see `kernel::heap::init_reserve`).
    let reserve = kheap::with_reserve(|h| h.as_buddy().map(BuddyHeap::check)).flatten();
    let reserve_ok = reserve.is_none_or(|r| write_check("reserve (buddy)", r, out));
    let playground_ok = playground::with_playground(|p| p.heap().check());
    let playground_ok = write_check("playground", playground_ok, out);
    if kernel_ok && reserve_ok && playground_ok {
        Ok(())
    } else {
        Err("a heap failed its check".into())
    }
}
