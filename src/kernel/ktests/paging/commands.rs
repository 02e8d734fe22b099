//! The `map` and `unmap` commands on the real MMU: they guard the kernel's
//! regions, are frame-exact over 100 areas, and `ffree` refuses a frame
//! that is still mapped.

use super::kit::{caught_page_fault, free_private_page};
use crate::arch::x86::probe;
use crate::kassert;
use crate::kernel::ktests::kit::run_command;
use crate::kernel::memory;
use crate::mm::addr::Frame;
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{KERNEL_BASE, KERNEL_HEAP_START, PAGE_SIZE, RECURSIVE_DIRECTORY};
use alloc::string::String;

/// The `map` and `unmap` commands: they refuse the kernel's own regions and
/// free frames, map a fresh frame and give it back, and alias a used frame
/// read-only.
pub fn map_commands() -> Result<(), String> {
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
pub fn map_unmap_areas_is_frame_exact() -> Result<(), String> {
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
pub fn ffree_refuses_a_mapped_frame() -> Result<(), String> {
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
