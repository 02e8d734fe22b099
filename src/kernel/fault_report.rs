//! Page-fault reporting: the detail that page-fault and double-fault
//! reports print after the CPU's own (the region, the walk, the likely
//! cause), installed as the interrupts' detail hook at boot.
//!
//! ```text
//!   #PF / #DF ──► interrupts::report ──► fault_detail(cr2, eip, code)
//!                                          ├─ memory free?  walk + regions of the kernel space
//!                                          │  memory held?  walk read through PD[1023]
//!                                          ├─ region: NAME (use); finer part of the kernel
//!                                          └─ cause: FaultReport (with an error code)
//! ```
//!
//! Runs inside exception handlers: it takes no lock it could wait for and
//! allocates nothing.

use crate::arch::x86::{self, probe};
use crate::kernel::console;
use crate::kernel::heap;
use crate::kernel::interrupts;
use crate::kernel::memory;
use crate::kernel::stack::boot_stack;
use crate::mm::addr::{Frame, PhysAddr, VirtAddr};
use crate::mm::layout::{KERNEL_BASE, LOW_MEMORY_END, PAGE_SIZE, RECURSIVE_DIRECTORY};
use crate::mm::layout::{KERNEL_HEAP_START, KERNEL_PRIVATE_START};
use crate::mm::paging::{Entry, PageWalk, TableStep, recursive};
use crate::mm::vm::{FaultReport, PageFaultCode, Region, RegionMap};
use crate::text::{WRAP_WIDTH, Wrap};
use core::fmt::Write;

/// Install the page-fault detail hook. Call once, after `memory::init`.
pub fn install_fault_detail() {
    interrupts::set_fault_detail(fault_detail);
}

/// What part of the kernel's own memory `va` is, finer than the regions
/// (the whole image is inside "kernel linear"), or `None`.
pub fn kernel_part(va: u32) -> Option<&'static str> {
    let (start, text_end, rodata_end, end) = memory::image();
    let (guard, bottom, top) = boot_stack();
    // The heap's lock may be held by the code that faulted: never wait for
    // it. Then the heap's parts are one, "the kernel heap arena".
    let (heap_end, mapped_part) = match heap::try_mapped_bytes() {
        Some(n) => (
            KERNEL_HEAP_START + n as u32,
            "the mapped part of the kernel heap",
        ),
        None => (
            KERNEL_PRIVATE_START,
            "the kernel heap arena (its lock is held)",
        ),
    };
    let page = PAGE_SIZE as u32;
    let parts: [(u32, u64, &str); 10] = [
        (
            guard,
            bottom as u64,
            "the guard page below the boot stack (never mapped)",
        ),
        (bottom, top as u64, "the boot stack"),
        (start, text_end as u64, "kernel text (read-only)"),
        (text_end, rodata_end as u64, "kernel rodata (read-only)"),
        (rodata_end, end as u64, "kernel data and bss"),
        (
            KERNEL_BASE,
            (KERNEL_BASE + page) as u64,
            "physical page 0 (never mapped)",
        ),
        (
            KERNEL_BASE + page,
            (KERNEL_BASE + LOW_MEMORY_END) as u64,
            "low memory (BIOS data, VGA, ROMs)",
        ),
        (KERNEL_HEAP_START, heap_end as u64, mapped_part),
        (
            heap_end,
            KERNEL_PRIVATE_START as u64,
            "the kernel heap arena, not mapped yet",
        ),
        (
            RECURSIVE_DIRECTORY,
            1 << 32,
            "the page directory itself, seen through PD[1023]",
        ),
    ];
    parts
        .into_iter()
        .find(|(from, to, _)| va >= *from && (va as u64) < *to)
        .map(|(_, _, name)| name)
}

/// `  region: NAME (use); finer part` for an address.
pub fn write_region(out: &mut dyn Write, region: Option<Region>, va: VirtAddr) {
    let _ = match region {
        Some(r) => write!(out, "  region: {} ({})", r.name(), r.purpose()),
        None => write!(out, "  region: none (outside every region)"),
    };
    let _ = match kernel_part(va.as_u32()) {
        Some(part) => writeln!(out, "; {part}"),
        None => writeln!(out),
    };
}

/// The walk of `va` in the current directory read through the recursive
/// slot, for when the memory lock is held (never wait in a handler).
fn walk_through_recursive(va: VirtAddr) -> PageWalk {
    let read = |at: VirtAddr| {
        let raw = probe::quietly(|| probe::read_u32(at.as_u32())).unwrap_or(0);
        Entry::from_raw(raw)
    };
    let pde = read(recursive::pde_of(va));
    let table = (pde.is_present() && !pde.is_large()).then(|| TableStep {
        table: pde.frame(),
        pte: read(recursive::pte_of(va)),
    });
    PageWalk {
        va,
        directory: Frame::containing_address(PhysAddr(x86::cr3())),
        pde,
        table,
    }
}

/// The interrupts' fault detail hook: the region `cr2` falls in, the directory
/// and table entries on the way, and (with an error code) the likely cause.
/// Runs in an exception handler: takes no lock it could wait for, allocates nothing.
fn fault_detail(cr2: u32, eip: u32, code: Option<u32>) {
    let va = VirtAddr(cr2);
    let mut wrapped = Wrap::new(console::Out, WRAP_WIDTH);
    let out: &mut dyn Write = &mut wrapped;
    let (walk, regions, through_recursive) =
        match memory::try_with(|m| (m.mapper().trace(va), m.regions.clone())) {
            Some((walk, regions)) => (walk, regions, false),
            None => (walk_through_recursive(va), RegionMap::standard(), true),
        };
    let region = regions.region_of(va);
    write_region(out, region, va);
    if through_recursive {
        let _ = writeln!(
            out,
            "  (the memory lock is held: the walk is read through PD[1023])"
        );
    }
    let _ = walk.write_indented(&mut &mut *out, "  ");
    if let Some(code) = code {
        let report = FaultReport::new(
            va,
            VirtAddr(eip),
            PageFaultCode::from_raw(code),
            walk,
            &regions,
        );
        let _ = writeln!(out, "  cause: {}", report.cause);
    }
    let _ = wrapped.finish();
}
