//! Address spaces on the real MMU: a page mapped, written, translated and
//! unmapped in the kernel's space (the frame back, the TLB flushed), and
//! 1,000 user address spaces created and destroyed, every frame back.

use super::kit::{caught_page_fault, free_private_page};
use crate::arch::x86::probe;
use crate::exception::PageFaultCode;
use crate::kassert;
use crate::kernel::memory;
use crate::mm::addr::{Page, PhysAddr, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, Release, ZeroFill};
use alloc::string::String;
// course: module 06
use super::kit::alloc_free_str;
use crate::kernel::memory::KernelPhys;
use crate::mm::layout::{USER_DATA_START, USER_HEAP_START};
use crate::mm::paging::NoFlush;
use crate::mm::vm::{AddressSpace, UserFrames};
// course: end

/// Map a fresh page in kernel private space, write it, translate it, unmap
/// it; the frame goes back, and the next access faults (the TLB was flushed).
pub fn map_write_translate_unmap() -> Result<(), String> {
    let mapped = memory::with(|m| {
        let va = free_private_page(m).ok_or("no free page in kernel private")?;
        let free_before = m.frames.free_count();
        let frame = m
            .mapper()
            .map_new(
                Page::containing_address(va),
                EntryFlags::WRITABLE,
                ZeroFill::Yes,
                &mut m.frames,
            )
            .map_err(|_| "map_new failed")?;
        let free_mapped = m.frames.free_count();
        let translated = m.mapper().translate(VirtAddr(va.as_u32() + 0x123));
        Ok::<_, &str>((va, frame, free_before, free_mapped, translated))
    });
    let (va, frame, free_before, free_mapped, translated) = mapped?;
    kassert!(
        free_mapped == free_before - 1,
        "mapping took {} frames",
        free_before - free_mapped
    );
    kassert!(
        translated == Some(PhysAddr(frame.start_address().as_u32() + 0x123)),
        "translate {va:?}+0x123 gave {translated:?}, frame {frame:?}"
    );
    // Zeroed, then written and read back through the new mapping.
    let first = probe::read_u32(va.as_u32());
    kassert!(first == Ok(0), "the fresh page is not zeroed: {first:?}");
    // SAFETY: the page was mapped above for this test alone.
    let w = unsafe { probe::write_u32(va.as_u32() + 8, 0xC0FF_EE00) };
    kassert!(w.is_ok(), "writing the fresh page faulted: {w:?}");
    let back = probe::read_u32(va.as_u32() + 8);
    kassert!(back == Ok(0xC0FF_EE00), "read back {back:?}");
    // The same bytes through the linear space: the page really is that frame.
    if let Some(lin) = frame.start_address().to_linear() {
        let other = probe::read_u32(lin.as_u32() + 8);
        kassert!(
            other == Ok(0xC0FF_EE00),
            "the frame's linear view holds {other:?}"
        );
    }

    let (unmapped, free_after, after) = memory::with(|m| {
        let n = m
            .mapper()
            .unmap_range(va, PAGE_SIZE, Release::OwnedFrames, &mut m.frames);
        (n, m.frames.free_count(), m.mapper().translate(va))
    });
    kassert!(unmapped == Ok(1), "unmap: {unmapped:?}");
    kassert!(
        free_after == free_before,
        "free frames {free_before} -> {free_after}"
    );
    kassert!(after.is_none(), "still translates to {after:?}");
    let code = caught_page_fault(
        probe::quietly(|| probe::read_u32(va.as_u32() + 8)),
        va.as_u32() + 8,
    )?;
    kassert!(
        !code.contains(PageFaultCode::PRESENT) && !code.contains(PageFaultCode::WRITE),
        "expected a not-present read fault, got {code}"
    );
    Ok(())
}

// course: module 06
/// Create and destroy 1,000 user address spaces, each mapping three pages
/// in two page tables: the PMM's free count ends exactly where it began.
pub fn thousand_address_spaces() -> Result<(), String> {
    let pages = [
        USER_DATA_START,
        USER_DATA_START + PAGE_SIZE as u32,
        USER_HEAP_START,
    ];
    let outcome = memory::with(|m| {
        let before = m.frames.free_count();
        let mut during = before;
        for i in 0..1000u32 {
            let mut space = AddressSpace::create(&KernelPhys, &mut m.frames, &m.kernel)
                .map_err(|e| (i, "create", alloc_free_str(e)))?;
            {
                let mut mapper = space.mapper(&KernelPhys, &NoFlush);
                for va in pages {
                    mapper
                        .map_new(
                            Page::containing_address(VirtAddr(va)),
                            EntryFlags::WRITABLE | EntryFlags::USER,
                            ZeroFill::No,
                            &mut m.frames,
                        )
                        .map_err(|_| (i, "map", ""))?;
                }
            }
            during = during.min(m.frames.free_count());
            let stats = space
                .destroy(&KernelPhys, &mut m.frames, UserFrames::FreeOwned)
                .map_err(|e| (i, "destroy", alloc_free_str(e)))?;
            if stats.tables != 2 || stats.frames != 3 {
                return Err((i, "destroy freed the wrong count", ""));
            }
        }
        Ok((before, during, m.frames.free_count()))
    });
    let (before, during, after) =
        outcome.map_err(|(i, what, why)| alloc::format!("address space {i}: {what} {why}"))?;
    // One space at a time: a directory, two tables and three pages.
    kassert!(
        before - during == 6,
        "one space took {} frames",
        before - during
    );
    kassert!(
        after == before,
        "free frames {before} -> {after} after 1,000 spaces"
    );
    Ok(())
}
// course: end
