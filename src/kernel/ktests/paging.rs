//! In-kernel tests of paging and the virtual memory manager, on the real
//! MMU: the kernel's own address space, its protections, user address
//! spaces, the recursive slot, the heap growing through the VMM, and the
//! `map`/`unmap` commands.
//!
//! Rule: nothing allocates while `memory::MEMORY` is held; each test copies
//! plain values out of `memory::with` and asserts (and formats) afterwards.

use crate::arch::x86::{self, probe};
use crate::exception::PageFaultCode;
use crate::kassert;
use crate::kernel::ktests::kit::{Test, run_command};
use crate::kernel::memory;
use crate::kernel::stack::{boot_stack, kernel_stacks, stack_note};
use crate::mm::addr::{Frame, Page, PhysAddr, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{
    KERNEL_BASE, KERNEL_HEAP_START, PAGE_SIZE, RECURSIVE_DIRECTORY, RECURSIVE_INDEX,
};
use crate::mm::paging::{Entry, EntryFlags, Release, ZeroFill, recursive};
use alloc::string::String;
// course: module 06
use crate::kernel::heap::{self as kheap, INITIAL_HEAP};
use crate::kernel::memory::KernelPhys;
use crate::mm::layout::{USER_DATA_START, USER_HEAP_START};
use crate::mm::paging::NoFlush;
use crate::mm::vm::{AddressSpace, FaultCause, FaultReport, Region, UserFrames};
use alloc::vec::Vec;
// course: else
// use crate::mm::layout::{KERNEL_PRIVATE_START, KERNEL_TEMP_MAP_START};
// course: end

pub static TESTS: &[Test] = &[
    Test {
        name: "paging_map_write_translate_unmap_then_fault",
        run: map_write_translate_unmap,
    },
    // course: module 06
    Test {
        name: "paging_1000_address_spaces_free_every_frame",
        run: thousand_address_spaces,
    },
    // course: end
    Test {
        name: "paging_writing_kernel_text_faults",
        run: kernel_text_is_read_only,
    },
    Test {
        name: "paging_null_page_unmapped",
        run: null_page_unmapped,
    },
    Test {
        name: "paging_guard_page_below_boot_stack_unmapped",
        run: guard_page_unmapped,
    },
    Test {
        name: "paging_every_kernel_stack_has_an_unmapped_guard_page",
        run: every_stack_has_a_guard,
    },
    Test {
        name: "paging_recursive_slot_shows_the_directory",
        run: recursive_slot,
    },
    // course: module 06
    Test {
        name: "paging_heap_grows_through_the_vmm",
        run: heap_grows,
    },
    // course: end
    Test {
        name: "paging_map_unmap_commands_guard_the_kernel",
        run: map_commands,
    },
    Test {
        name: "paging_map_unmap_100_areas_is_frame_exact",
        run: map_unmap_areas_is_frame_exact,
    },
    Test {
        name: "paging_ffree_refuses_a_mapped_frame",
        run: ffree_refuses_a_mapped_frame,
    },
];

/// A page fault caught by a probe at `addr`: (not present?, write?).
fn caught_page_fault(
    r: Result<impl Sized, probe::Caught>,
    addr: u32,
) -> Result<PageFaultCode, String> {
    match r {
        Ok(_) => Err(alloc::format!("no fault at {addr:#010x}")),
        Err(c) if c.vector == 14 && c.cr2 == addr => Ok(PageFaultCode::from_raw(c.error_code)),
        Err(c) => Err(alloc::format!("expected #PF at {addr:#010x}, got {c:?}")),
    }
}

/// A page of kernel private space nothing maps, for a test to map.
fn free_private_page(m: &mut memory::Memory) -> Option<VirtAddr> {
    // course: module 06
    m.regions
        .find_free(&m.mapper(), PAGE_SIZE, Region::KernelPrivate)
        .ok()
    // course: else
    // // Before the region table (module 6): the first page nothing maps.
    // (KERNEL_PRIVATE_START..KERNEL_TEMP_MAP_START)
    //     .step_by(PAGE_SIZE)
    //     .map(VirtAddr)
    //     .find(|&va| m.mapper().translate(va).is_none())
    // course: end
}

/// Map a fresh page in kernel private space, write it, translate it, unmap
/// it; the frame goes back, and the next access faults (the TLB was flushed).
fn map_write_translate_unmap() -> Result<(), String> {
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
fn thousand_address_spaces() -> Result<(), String> {
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

// course: module 06
/// A `SpaceError` as a static string (no heap under the memory lock).
fn alloc_free_str(e: crate::mm::vm::SpaceError) -> &'static str {
    match e {
        crate::mm::vm::SpaceError::NoFrames => "no frames",
        crate::mm::vm::SpaceError::KernelSpace => "kernel space",
        crate::mm::vm::SpaceError::FreeFailed { .. } => "a frame was refused",
    }
}
// course: end

/// Writing kernel text faults (CR0.WP and a read-only PTE), changes nothing,
/// and the fault report built from the live tables says why.
fn kernel_text_is_read_only() -> Result<(), String> {
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
fn null_page_unmapped() -> Result<(), String> {
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
fn guard_page_unmapped() -> Result<(), String> {
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
fn every_stack_has_a_guard() -> Result<(), String> {
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

/// Through PD[1023], the directory appears at 0xFFFFF000 and the tables at
/// 0xFFC00000: the entries read there are the ones the mapper reads.
fn recursive_slot() -> Result<(), String> {
    let read = |va: VirtAddr| probe::read_u32(va.as_u32()).map(Entry::from_raw);
    let self_entry = read(VirtAddr(RECURSIVE_DIRECTORY + RECURSIVE_INDEX as u32 * 4))
        .map_err(|c| alloc::format!("{c:?}"))?;
    let cr3 = x86::cr3();
    let text = VirtAddr(recursive_slot as fn() -> Result<(), String> as usize as u32);
    let heap = VirtAddr(KERNEL_HEAP_START);
    let (dir, pde_text, pte_text, pte_heap) = memory::with(|m| {
        let mut mapper = m.mapper();
        let mut pte = |va: VirtAddr| {
            let slot = mapper.walk(va, crate::mm::paging::Alloc::No).ok();
            slot.map(|s| mapper.read_pte(s))
        };
        let (pte_text, pte_heap) = (pte(text), pte(heap));
        (
            m.kernel.directory(),
            m.mapper().read_pde(text),
            pte_text,
            pte_heap,
        )
    });
    kassert!(
        self_entry.is_present() && self_entry.frame() == dir,
        "PD[1023] = {:#010x}, directory {dir:?}",
        self_entry.raw()
    );
    kassert!(
        dir.start_address().as_u32() == cr3,
        "CR3 {cr3:#x} is not the kernel directory {dir:?}"
    );
    kassert!(
        !self_entry.flags().contains(EntryFlags::USER),
        "the recursive slot is user-accessible"
    );
    let r_pde = read(recursive::pde_of(text)).map_err(|c| alloc::format!("{c:?}"))?;
    kassert!(
        r_pde == pde_text,
        "PDE via PD[1023] {:#x}, mapper {:#x}",
        r_pde.raw(),
        pde_text.raw()
    );
    for (va, mine) in [(text, pte_text), (heap, pte_heap)] {
        let r = read(recursive::pte_of(va)).map_err(|c| alloc::format!("{c:?}"))?;
        let mine = mine.ok_or_else(|| alloc::format!("no page table for {va:?}"))?;
        // The CPU may set accessed/dirty between the two reads.
        let strip = |e: Entry| e.raw() & !EntryFlags::CPU_SET.bits();
        kassert!(
            strip(r) == strip(mine),
            "PTE of {va:?}: {:#x} via PD[1023], {:#x} mapper",
            r.raw(),
            mine.raw()
        );
    }
    // The directory seen as a page: the last word is PD[1023] itself.
    kassert!(
        read(VirtAddr(recursive::directory().as_u32() + 0xFFC)).ok() == Some(self_entry),
        "0xFFFFFFFC does not hold PD[1023]"
    );
    Ok(())
}

// course: module 06
/// The kernel heap grows through the VMM past `INITIAL_HEAP`: a block larger
/// than what is mapped forces the grow hook; every page of the heap then
/// translates to an owned frame, and the page after the heap is unmapped.
fn heap_grows() -> Result<(), String> {
    const BLOCK: usize = 32 * 1024;
    let before = kheap::mapped_bytes();
    // More bytes than are mapped cannot fit: the heap must grow on the way.
    let most = (before + 2 * 1024 * 1024) / BLOCK;
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    blocks
        .try_reserve_exact(most)
        .map_err(|e| alloc::format!("cannot allocate the block list: {e:?}"))?;
    while kheap::mapped_bytes() == before && blocks.len() < most {
        let mut block = Vec::new();
        block
            .try_reserve_exact(BLOCK)
            .map_err(|e| alloc::format!("block {}: {e:?}", blocks.len()))?;
        block.resize(BLOCK, blocks.len() as u8);
        blocks.push(block);
    }
    let after = kheap::mapped_bytes();
    kassert!(
        after > before,
        "the heap did not grow ({before} bytes mapped, {} blocks of {BLOCK})",
        blocks.len()
    );
    kassert!(
        after > INITIAL_HEAP,
        "mapped {after} <= INITIAL_HEAP {INITIAL_HEAP}"
    );
    let heap_end = KERNEL_HEAP_START as usize + after;
    for (i, block) in blocks.iter().enumerate() {
        let (start, end) = (block.as_ptr() as usize, block.as_ptr() as usize + BLOCK);
        kassert!(
            start >= KERNEL_HEAP_START as usize && end <= heap_end,
            "block {i} at {start:#x}..{end:#x} is outside the mapped heap"
        );
        kassert!(
            block.iter().all(|&b| b == i as u8),
            "block {i} lost its bytes"
        );
    }
    let (unmapped, not_owned, past) = memory::with(|m| {
        let mapper = m.mapper();
        let (mut unmapped, mut not_owned) = (0, 0);
        for page in (KERNEL_HEAP_START..heap_end as u32).step_by(PAGE_SIZE) {
            match mapper.mapping(Page::containing_address(VirtAddr(page))) {
                None => unmapped += 1,
                Some((_, flags)) if !flags.contains(EntryFlags::OWNED) => not_owned += 1,
                Some(_) => {}
            }
        }
        (
            unmapped,
            not_owned,
            mapper.translate(VirtAddr(heap_end as u32)),
        )
    });
    kassert!(
        unmapped == 0,
        "{unmapped} heap pages below the mapped end do not translate"
    );
    kassert!(
        not_owned == 0,
        "{not_owned} heap pages are not owned frames"
    );
    kassert!(past.is_none(), "the page after the heap maps to {past:?}");
    Ok(())
}
// course: end

/// The `map` and `unmap` commands: they refuse the kernel's own regions and
/// free frames, map a fresh frame and give it back, and alias a used frame
/// read-only.
fn map_commands() -> Result<(), String> {
    let run = run_command;
    let free = || memory::with(|m| m.frames.free_count());
    let (heap_page, kernel_pd) = (KERNEL_HEAP_START, RECURSIVE_DIRECTORY);
    for line in [
        alloc::format!("map {:#x}", KERNEL_BASE + 0x20_0000),
        alloc::format!("map {heap_page:#x}"),
        alloc::format!("map {kernel_pd:#x}"),
        String::from("map 0"),
        String::from("map 0xF8000010"),
        alloc::format!("unmap {:#x}", KERNEL_BASE + 0x20_0000),
    ] {
        let before = free();
        let out = run(&line);
        kassert!(
            out.starts_with("error: "),
            "`{line}` was not refused: {out}"
        );
        kassert!(free() == before, "`{line}` changed the free frame count");
    }
    let target = memory::with(free_private_page).ok_or("no free page in kernel private")?;
    let before = free();
    let out = run(&alloc::format!("map {:#x}", target.as_u32()));
    kassert!(out.starts_with("mapped "), "map: {out}");
    kassert!(free() == before - 1, "map took {} frames", before - free());
    let again = run(&alloc::format!("map {:#x}", target.as_u32()));
    kassert!(again.contains("already mapped"), "a second map: {again}");
    kassert!(
        free() == before - 1,
        "the refused second map changed the PMM"
    );
    let out = run(&alloc::format!("unmap {:#x}", target.as_u32()));
    kassert!(out.contains("went back to the PMM"), "unmap: {out}");
    kassert!(free() == before, "unmap did not give the frame back");
    let fault = caught_page_fault(
        probe::quietly(|| probe::read_u32(target.as_u32())),
        target.as_u32(),
    );
    kassert!(fault.is_ok(), "after unmap: {fault:?}");

    // A frame the PMM holds free is refused; a frame in use becomes a read-only alias.
    let spare: Frame = memory::with(|m| {
        let f = m.frames.allocate();
        if let Some(f) = f {
            let _ = m.frames.free(f);
        }
        f
    })
    .ok_or("no frame")?;
    let out = run(&alloc::format!(
        "map {:#x} {:#x}",
        target.as_u32(),
        spare.start_address().as_u32()
    ));
    kassert!(
        out.contains("is free in the PMM"),
        "mapping a free frame: {out}"
    );
    let text_frame = crate::mm::layout::KERNEL_LOAD_ADDR;
    let out = run(&alloc::format!(
        "map {:#x} {text_frame:#x}",
        target.as_u32()
    ));
    kassert!(
        out.contains("read-only alias"),
        "mapping the kernel's first frame: {out}"
    );
    let read = probe::read_u32(target.as_u32());
    let direct = probe::read_u32(KERNEL_BASE + text_frame);
    kassert!(
        read.is_ok() && read == direct,
        "the alias reads {read:?}, the linear space {direct:?}"
    );
    // SAFETY: the alias is read-only, so the write faults and changes nothing.
    let w = probe::quietly(|| unsafe { probe::write_u32(target.as_u32(), 0) });
    caught_page_fault(w, target.as_u32())?;
    let before = free();
    let out = run(&alloc::format!("unmap {:#x}", target.as_u32()));
    kassert!(out.contains("not owned"), "unmap of the alias: {out}");
    kassert!(free() == before, "unmapping an alias freed a frame");
    Ok(())
}

/// `map` then `unmap` in 100 distinct 4 MiB areas of the user half: each
/// map draws a frame and a page table, each unmap gives both back, so the
/// free count ends exactly where it began (it lost 100 frames before).
fn map_unmap_areas_is_frame_exact() -> Result<(), String> {
    let run = run_command;
    let free = || memory::with(|m| m.frames.free_count());
    let before = free();
    let areas = (0..100u32).map(|i| 0x1000_0000 + i * crate::mm::layout::LARGE_PAGE_SIZE as u32);
    for va in areas.clone() {
        let out = run(&alloc::format!("map {va:#x}"));
        kassert!(out.starts_with("mapped "), "map {va:#x}: {out}");
    }
    kassert!(
        free() == before - 200,
        "100 maps took {} frames, not 200",
        before - free()
    );
    for va in areas {
        let out = run(&alloc::format!("unmap {va:#x}"));
        kassert!(
            out.contains("page table, left empty, went back"),
            "unmap {va:#x}: {out}"
        );
    }
    kassert!(free() == before, "free frames {before} -> {}", free());
    Ok(())
}

/// `ffree` refuses a falloc run while `map` shows one of its frames, naming
/// the page; after `unmap` it frees the run.
fn ffree_refuses_a_mapped_frame() -> Result<(), String> {
    let run = run_command;
    let free = || memory::with(|m| m.frames.free_count());
    let before = free();
    let out = run("falloc 2");
    let addr = out
        .split(" at P")
        .nth(1)
        .and_then(|s| s.get(..10))
        .and_then(|s| crate::shell::parse_number(s).ok())
        .ok_or_else(|| alloc::format!("falloc said: {out}"))?;
    let second = addr + PAGE_SIZE as u32;
    let out = run(&alloc::format!("map 0x10000000 {second:#x}"));
    kassert!(
        out.contains("read-only alias"),
        "map of the falloc frame: {out}"
    );
    let out = run(&alloc::format!("ffree {addr:#x}"));
    kassert!(
        out.starts_with("error: ") && out.contains("still mapped at V0x10000000"),
        "ffree of a mapped run: {out}"
    );
    let out = run("unmap 0x10000000");
    kassert!(out.starts_with("unmapped "), "unmap: {out}");
    let out = run(&alloc::format!("ffree {addr:#x}"));
    kassert!(
        out.starts_with("freed 2 frames"),
        "ffree after unmap: {out}"
    );
    kassert!(free() == before, "free frames {before} -> {}", free());
    Ok(())
}
