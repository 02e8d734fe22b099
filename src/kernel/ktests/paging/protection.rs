//! The kernel's protections: its text read-only, the null page and the
//! guard pages below the boot stack and every kernel stack unmapped, each
//! access caught as the page fault it must be.

use super::kit::caught_page_fault;
use crate::arch::x86::{self, probe};
use crate::exception::PageFaultCode;
use crate::kassert;
use crate::kernel::memory;
use crate::kernel::stack::{boot_stack, kernel_stacks, stack_note};
use crate::mm::addr::VirtAddr;
use crate::mm::layout::{KERNEL_BASE, PAGE_SIZE};
use alloc::string::String;
// course: module 06
use crate::mm::paging::EntryFlags;
use crate::mm::vm::{FaultCause, FaultReport, Region};
// course: end

/// Writing kernel text faults (CR0.WP and a read-only PTE), changes nothing,
/// and the fault report built from the live tables says why.
pub fn kernel_text_is_read_only() -> Result<(), String> {
    let addr = kernel_text_is_read_only as fn() -> Result<(), String> as usize as u32;
    let (start, text_end, _, _) = memory::image();
    kassert!(
        (start..text_end).contains(&addr),
        "{addr:#x} is not in the text"
    );
    kassert!(x86::cr0() & (1 << 16) != 0, "CR0.WP is off");
    let word = probe::read_u32(addr).map_err(|c| alloc::format!("cannot read text: {c:?}"))?;
    // SAFETY: the word written is the word already there; nothing can change.
    let r = probe::quietly(|| unsafe { probe::write_u32(addr, word) });
    let code = caught_page_fault(r, addr)?;
    kassert!(
        code.contains(PageFaultCode::PRESENT | PageFaultCode::WRITE)
            && !code.contains(PageFaultCode::USER),
        "expected a supervisor write protection violation, got {code}"
    );
    kassert!(probe::read_u32(addr) == Ok(word), "the text changed");
    // course: module 06
    let report = memory::with(|m| {
        FaultReport::new(
            VirtAddr(addr),
            VirtAddr(addr),
            code,
            m.mapper().trace(VirtAddr(addr)),
            &m.regions,
        )
    });
    kassert!(
        report.cause == FaultCause::WriteToReadOnly,
        "cause {:?}",
        report.cause
    );
    kassert!(
        report.region == Some(Region::KernelLinear),
        "region {:?}",
        report.region
    );
    let flags = report.walk.effective_flags().unwrap_or_default();
    kassert!(
        !flags.contains(EntryFlags::WRITABLE),
        "text is mapped writable: [{}]",
        flags.letters()
    );
    // course: end
    Ok(())
}

/// Virtual page 0 is never mapped, nor is physical page 0 in the linear space.
pub fn null_page_unmapped() -> Result<(), String> {
    let (null, phys0) = memory::with(|m| {
        let mapper = m.mapper();
        (
            mapper.translate(VirtAddr(0)),
            mapper.translate(VirtAddr(KERNEL_BASE)),
        )
    });
    kassert!(null.is_none(), "V0 translates to {null:?}");
    kassert!(
        phys0.is_none(),
        "physical page 0 is mapped at {KERNEL_BASE:#x}: {phys0:?}"
    );
    for addr in [0, 0xFFC, KERNEL_BASE + 0x10] {
        caught_page_fault(probe::quietly(|| probe::read_u32(addr)), addr)?;
    }
    Ok(())
}

/// The page below the boot stack is unmapped (and faults); the stack is mapped.
pub fn guard_page_unmapped() -> Result<(), String> {
    let (guard, bottom, top) = boot_stack();
    kassert!(
        bottom - guard == PAGE_SIZE as u32,
        "guard {guard:#x}, stack bottom {bottom:#x}"
    );
    let esp = x86::esp();
    kassert!(
        (bottom..top).contains(&esp),
        "ESP {esp:#x} is not on the boot stack"
    );
    let (g, b, t) = memory::with(|m| {
        let mapper = m.mapper();
        (
            mapper.translate(VirtAddr(guard)),
            mapper.translate(VirtAddr(bottom)),
            mapper.translate(VirtAddr(top - 4)),
        )
    });
    kassert!(g.is_none(), "the guard page maps to {g:?}");
    kassert!(
        b.is_some() && t.is_some(),
        "the stack is not mapped: {b:?} {t:?}"
    );
    let code = caught_page_fault(
        probe::quietly(|| probe::read_u32(guard + 0x800)),
        guard + 0x800,
    )?;
    kassert!(!code.contains(PageFaultCode::PRESENT), "{code}");
    kassert!(
        stack_note(guard + 0xFF0).is_some(),
        "the double-fault report would not name the guard page"
    );
    Ok(())
}

/// Every kernel stack (the boot stack and the 16 KiB double-fault stack)
/// sits right above a page that is not mapped: a write just below its
/// bottom, where an overflowing push would land, faults (not present)
/// instead of corrupting what lies below.
pub fn every_stack_has_a_guard() -> Result<(), String> {
    for (name, guard, bottom, top) in kernel_stacks() {
        kassert!(
            bottom - guard == PAGE_SIZE as u32 && top > bottom,
            "{name}: guard {guard:#x}, bottom {bottom:#x}, top {top:#x}"
        );
        let (g, b, t) = memory::with(|m| {
            let mapper = m.mapper();
            (
                mapper.translate(VirtAddr(guard)),
                mapper.translate(VirtAddr(bottom)),
                mapper.translate(VirtAddr(top - 4)),
            )
        });
        kassert!(g.is_none(), "{name}: the guard page maps to {g:?}");
        kassert!(
            b.is_some() && t.is_some(),
            "{name} is not mapped: {b:?} {t:?}"
        );
        // The first push past the bottom: 4 bytes below it.
        let below = bottom - 4;
        // SAFETY: the probe catches the fault; the address is the guard
        // page, which nothing uses, so a write that did land would harm nothing.
        let wrote = probe::quietly(|| unsafe { probe::write_u32(below, 0xDEAD_BEEF) });
        let code = caught_page_fault(wrote, below)?;
        kassert!(
            !code.contains(PageFaultCode::PRESENT) && code.contains(PageFaultCode::WRITE),
            "{name}: {code}"
        );
    }
    Ok(())
}
