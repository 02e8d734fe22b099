//! `heapinfo`: the kernel heap chosen at boot (`heap=`), how it was chosen,
//! and its figures (`HeapStats`, mapping and growth, refused frees, check).

use crate::kernel::boot::boot_info;
use crate::kernel::commands::kit::{Outcome, at_most};
use crate::kernel::heap as kheap;
use crate::mm::heap::{HeapBackend, HeapKind};
use crate::mm::vm::region::{KERNEL_HEAP_START, KERNEL_PRIVATE_START};
use crate::term::style::{ERROR, RESET};
use alloc::format;
use alloc::string::String;
use core::fmt::Write;

/// `heapinfo`: which heap design is the kernel's, how it was chosen, and
/// its figures (`HeapStats`, mapping and growth, refused frees, check).
pub fn heapinfo(args: &[&str], out: &mut dyn Write) -> Outcome {
    at_most(args, 0)?;
    let kind = kheap::kind();
    let stats = kheap::stats().ok_or_else(|| String::from("the kernel heap is not set up"))?;
    // Formatted after the heap's lock is released (never allocate under it).
    let check = match kheap::with(|h| h.check()) {
        Some(r) => r.map_err(|e| format!("{e}")),
        None => Err(String::from("no heap")),
    };
    let how = match boot_info().option("heap") {
        None => "the default: no heap= on the command line",
        Some(v) if HeapKind::parse(v).is_ok() => "chosen with heap= on the command line",
        Some(_) => "the default: the heap= value was not understood",
    };
    let mapped = kheap::mapped_bytes();
    let frag = stats.fragmentation_permille();
    let _ = writeln!(out, "kernel heap: {} ({how})", kind.name());
    let _ = writeln!(
        out,
        "  size          {:>10} bytes ({} KiB)",
        stats.size,
        stats.size / 1024
    );
    let _ = writeln!(out, "  used          {:>10} bytes", stats.used);
    let _ = writeln!(out, "  free          {:>10} bytes", stats.free);
    let _ = writeln!(out, "  largest free  {:>10} bytes", stats.largest_free);
    let _ = writeln!(out, "  allocations   {:>10}", stats.allocations);
    let _ = writeln!(
        out,
        "  fragmentation {:>8}.{}% (1 - largest free / free)",
        frag / 10,
        frag % 10
    );
    let _ = writeln!(
        out,
        "  mapped        {:>10} of {} bytes of the arena V{:#010x}..V{:#010x}",
        mapped,
        kheap::HEAP_ARENA,
        KERNEL_HEAP_START,
        KERNEL_PRIVATE_START
    );
    let _ = writeln!(
        out,
        "  grown         {:>10} times (at least {} bytes each, through the VMM)",
        kheap::times_grown(),
        kheap::HEAP_GROW_STEP
    );
    let _ = writeln!(out, "  refused frees {:>10}", kheap::bad_frees());
    if let Some(addr) = kheap::last_bad_free() {
        let _ = writeln!(out, "  last refused  {addr:#010x}");
    }
    let (table, slab_table, poison) = kheap::with(|h| {
        let slab = h.as_slab().map_or(0, |s| s.slab_table_bytes());
        (h.side_table_bytes(), slab, h.poisoning())
    })
    .unwrap_or((0, 0, false));
    let percent = |bytes: usize| {
        let (whole, hundredths) = (
            bytes as u64 * 100 / kheap::HEAP_ARENA as u64,
            bytes as u64 * 10000 / kheap::HEAP_ARENA as u64 % 100,
        );
        alloc::format!("{whole}.{hundredths:02}% of arena")
    };
    if table > slab_table {
        let starts = table - slab_table;
        let _ = writeln!(
            out,
            "  side table    {:>10} bytes (block starts: O(1) free check; {})",
            starts,
            percent(starts)
        );
    }
    if slab_table > 0 {
        let _ = writeln!(
            out,
            "  slab table    {:>10} bytes (a class byte per page: O(1) slab free check; {})",
            slab_table,
            percent(slab_table)
        );
    }
    let _ = writeln!(
        out,
        "  poison        {:>10} (boot option `poison`: heapcheck finds writes after free)",
        if poison { "on" } else { "off" }
    );
    match check {
        Ok(()) => {
            let _ = writeln!(out, "  check                 ok");
        }
        Err(e) => {
            let _ = writeln!(out, "{ERROR}  check          FAILED: {e}{RESET}");
        }
    }
    let _ = writeln!(
        out,
        "other designs: boot with heap=buddy|pool|gaptree|firstfit (one GRUB entry each)"
    );
    Ok(())
}
