//! Commands for paging and the virtual memory manager, and the detail that
//! page-fault and double-fault reports print (the region, the walk, the cause).
//!
//! ```text
//!   translate <vaddr>   CR3 -> PD[PDX] -> PT[PTX] -> frame + offset, step by step
//!   pagedir             every mapping of the kernel directory, merged into runs
//!   vmregions           the region table: range, size, pages mapped, use
//!   map <vaddr> [phys]  map one page in the kernel's address space
//!   unmap <vaddr>       remove it again (invlpg; a frame `map` took goes back,
//!                       and a page table `map` made, once empty)
//!   segdemo [offset]    selector:offset --segment--> linear --paging--> physical
//!
//!   where `map` and `unmap` work (the rest is the kernel's own and stays intact):
//!     user data .. user args   V0x00400000-V0xbfffffff  (the kernel directory's user half)
//!     kernel private           V0xf8000000-V0xff7fffff  (no kernel stack lives there yet)
//!
//!   what `map <vaddr> <phys>` does with the frame, by what the PMM says of it:
//!     free in the PMM ............... refused: the PMM would hand it out again
//!     in use, or reserved RAM ....... mapped read-only: an alias to look at, not to break
//!     low memory, or not RAM at all . mapped writable, cache disabled: device memory
//!   `map <vaddr>` alone takes a fresh zeroed frame from the PMM, marked OWNED,
//!   and `unmap` gives exactly those frames back.
//! ```
//!
//! Rule of this file: nothing allocates while `memory::MEMORY` is held. The
//! commands copy what they need out of `memory::with` and format afterwards;
//! `pagedir` and `vmregions` write while they walk, so their writer must not
//! allocate (the shell passes the console's `Out`, which does not).

use super::kit::{Command, Outcome, at_most};
use crate::arch::x86::{gdt, probe};
// course: module 06
use crate::kernel::fault_report::write_region;
// course: end
// course: module 06
use crate::kernel::heap as kheap;
// course: end
use crate::kernel::memory;
// course: module 08
use crate::kernel::proc;
// course: end
use crate::mm::addr::{Frame, Page, PhysAddr, VirtAddr};
use crate::mm::frame::plan::FrameClass;
use crate::mm::frame::{FrameAllocator, ReserveReason};
use crate::mm::layout::{KERNEL_PRIVATE_START, KERNEL_TEMP_MAP_START, PAGE_SIZE, RECURSIVE_INDEX};
use crate::mm::paging::{EntryFlags, MapError, Release, UnmapError, ZeroFill, recursive};
use crate::mm::segment::{self, Descriptor};
// course: module 06
use crate::mm::vm::Region;
// course: else
// use crate::mm::layout::{KERNEL_BASE, LARGE_PAGE_SIZE};
// course: end
use crate::shell::parse_number;
use alloc::format;
use alloc::string::String;
use core::fmt::Write;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "translate",
        args: "<vaddr>... [pid=N]",
        help: "walk the page tables for an address, step by step (in process N's space with pid=N)",
        run: translate,
    },
    Command {
        name: "pagedir",
        args: "[pid=N]",
        help: "the kernel's mappings (or process N's), merged into runs, with their flags",
        run: pagedir,
    },
    // course: module 06
    Command {
        name: "vmregions",
        args: "[pid=N]",
        help: "the region table: ranges, sizes, pages mapped (in process N's space with pid=N), use",
        run: vmregions,
    },
    // course: end
    Command {
        name: "map",
        args: "<vaddr> [phys]",
        help: "map a page (a fresh frame, or the frame at phys) in a user or kernel-private region",
        run: map,
    },
    Command {
        name: "unmap",
        args: "<vaddr>",
        help: "unmap a page `map` could have made; a frame it took goes back to the PMM",
        run: unmap,
    },
    Command {
        name: "segdemo",
        args: "[offset]",
        help: "a small data segment: selector:offset -> linear -> physical, and the #GP past its limit",
        run: segdemo,
    },
];

/// Split a `pid=N` argument off `args`: (the pid, the other arguments).
fn take_pid<'a>(args: &[&'a str]) -> Result<(Option<u32>, alloc::vec::Vec<&'a str>), String> {
    let mut pid = None;
    let mut rest = alloc::vec::Vec::new();
    for a in args {
        match a.strip_prefix("pid=") {
            Some(_) if pid.is_some() => return Err(format!("unexpected argument `{a}`")),
            Some(n) => {
                let n = n
                    .parse()
                    .map_err(|_| format!("`{a}`: not a pid (a decimal number `ps` lists)"))?;
                pid = Some(n);
            }
            None => rest.push(*a),
        }
    }
    Ok((pid, rest))
}

/// One address argument.
fn parse_addr(arg: &str) -> Result<u32, String> {
    parse_number(arg).map_err(|e| format!("`{arg}`: {e}"))
}

// ---- translate ----

/// `translate <vaddr>...`: the walk the MMU does, then the region and where
/// the entries appear through the recursive slot.
fn translate(args: &[&str], out: &mut dyn Write) -> Outcome {
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

// ---- pagedir, vmregions ----

/// `pagedir`: the kernel directory's mappings, merged into runs.
fn pagedir(args: &[&str], out: &mut dyn Write) -> Outcome {
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

// course: module 06
/// `vmregions`: the region table with what is mapped in each region.
fn vmregions(args: &[&str], out: &mut dyn Write) -> Outcome {
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
// course: end

// ---- map, unmap ----

// course: module 06
/// True for the regions `map` and `unmap` may change: the user half (but
/// the null guard) and the kernel-private region.
fn may_change(region: Option<Region>) -> bool {
    matches!(region, Some(r) if (r.is_user() && r.is_mappable()) || r == Region::KernelPrivate)
}
// course: else
// /// True where `map` and `unmap` may change the kernel's space (before the
// /// region table of module 6): the user half above its first 4 MiB, and
// /// kernel private (V0xf8000000-V0xff7fffff).
// fn may_change(va: u32) -> bool {
//     (LARGE_PAGE_SIZE as u32..KERNEL_BASE).contains(&va)
//         || (KERNEL_PRIVATE_START..KERNEL_TEMP_MAP_START).contains(&va)
// }
// course: end

/// Why `map` or `unmap` refused; nothing was changed.
enum Refusal {
    Unaligned(u32),
    // course: module 06
    Region(VirtAddr, Option<Region>),
    // course: else
    // Outside(VirtAddr),
    // course: end
    FreeFrame(Frame),
    Map(MapError),
    Unmap(UnmapError),
}

impl Refusal {
    fn message(&self) -> String {
        match self {
            Refusal::Unaligned(a) => format!("{a:#010x} is not page aligned (4 KiB)"),
            // course: module 06
            Refusal::Region(va, Some(r)) => format!(
                "{va} is in the {} region ({}): map and unmap leave it to the kernel; \
                 use a user region or kernel private ({KernelPrivate})",
                r.name(),
                r.purpose()
            ),
            Refusal::Region(va, None) => format!(
                "{va} is outside every region; use a user region or kernel private ({KernelPrivate})"
            ),
            // course: else
            // Refusal::Outside(va) => format!(
            //     "{va} is the kernel's: map and unmap leave it alone; \
            //      use the user half or kernel private (V0xf8000000-V0xff7fffff)"
            // ),
            // course: end
            Refusal::FreeFrame(f) => format!(
                "{} is free in the PMM: it would be handed out again while mapped here; \
                 `map <vaddr>` alone takes a frame from the PMM",
                f.start_address()
            ),
            Refusal::Map(e) => format!("cannot map: {e}"),
            Refusal::Unmap(e) => format!("cannot unmap: {e}"),
        }
    }
}

/// What `map` did with a frame given by address.
#[derive(Clone, Copy)]
enum Given {
    /// Low memory or not RAM: writable, cache disabled.
    Device(Option<ReserveReason>),
    /// RAM in use or reserved: a read-only alias.
    Alias(Option<ReserveReason>),
}

// course: module 06
/// The kernel-private region `map` may use, `V0x........-V0x........`,
/// written from the layout's constants.
struct KernelPrivate;

impl core::fmt::Display for KernelPrivate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "V{KERNEL_PRIVATE_START:#010x}-V{:#010x}",
            KERNEL_TEMP_MAP_START - 1
        )
    }
}
// course: end

fn page_of(va: u32) -> Result<Page, Refusal> {
    if !VirtAddr(va).is_page_aligned() {
        return Err(Refusal::Unaligned(va));
    }
    Ok(Page::containing_address(VirtAddr(va)))
}

/// `map <vaddr> [phys]`: map one page in the kernel's address space.
fn map(args: &[&str], out: &mut dyn Write) -> Outcome {
    let (va, phys) = match args {
        [va] => (parse_addr(va)?, None),
        [va, phys] => (parse_addr(va)?, Some(parse_addr(phys)?)),
        [] => return Err("which address?".into()),
        _ => return at_most(args, 2),
    };
    let done = memory::with(|m| -> Result<(Frame, EntryFlags, Option<Given>), Refusal> {
        let page = page_of(va)?;
        // course: module 06
        let region = m.regions.region_of(VirtAddr(va));
        if !may_change(region) {
            return Err(Refusal::Region(VirtAddr(va), region));
        }
        // course: else
        // if !may_change(va) {
        //     return Err(Refusal::Outside(VirtAddr(va)));
        // }
        // course: end
        let Some(phys) = phys else {
            let flags = EntryFlags::WRITABLE;
            let frame = m
                .mapper()
                .map_new(page, flags, ZeroFill::Yes, &mut m.frames)
                .map_err(Refusal::Map)?;
            return Ok((frame, flags | EntryFlags::OWNED, None));
        };
        if !PhysAddr(phys).is_page_aligned() {
            return Err(Refusal::Unaligned(phys));
        }
        let frame = Frame::containing_address(PhysAddr(phys));
        let given = match m.frames.plan().classify(frame) {
            FrameClass::Usable if m.frames.is_allocated(frame) => Given::Alias(None),
            FrameClass::Usable => return Err(Refusal::FreeFrame(frame)),
            FrameClass::Reserved(ReserveReason::LowMemory) => {
                Given::Device(Some(ReserveReason::LowMemory))
            }
            FrameClass::Reserved(why) => Given::Alias(Some(why)),
            FrameClass::Unmanaged => Given::Device(None),
        };
        let flags = match given {
            Given::Device(_) => EntryFlags::WRITABLE | EntryFlags::CACHE_DISABLE,
            Given::Alias(_) => EntryFlags::empty(),
        };
        m.mapper()
            .map(page, frame, flags, &mut m.frames)
            .map_err(Refusal::Map)?;
        Ok((frame, flags, Some(given)))
    });
    let (frame, flags, given) = done.map_err(|r| r.message())?;
    let what = match given {
        None => String::from("a fresh zeroed frame from the PMM, owned: `unmap` gives it back"),
        Some(Given::Device(None)) => {
            String::from("not RAM the PMM knows (device memory): writable, cache disabled")
        }
        Some(Given::Device(Some(why))) => format!(
            "reserved {}: device memory, writable, cache disabled",
            why.describe()
        ),
        Some(Given::Alias(Some(why))) => {
            format!("reserved RAM ({}): a read-only alias", why.describe())
        }
        Some(Given::Alias(None)) => String::from(
            "a frame the PMM has handed out (heap, page table, ...): a read-only alias",
        ),
    };
    let _ = writeln!(
        out,
        "mapped {} -> {} [{}]: {what}",
        VirtAddr(va),
        frame.start_address(),
        (flags | EntryFlags::PRESENT).letters()
    );
    Ok(())
}

/// `unmap <vaddr>`: remove a page from a region `map` may change; an owned
/// frame goes back to the PMM; `invlpg` drops the TLB's copy.
fn unmap(args: &[&str], out: &mut dyn Write) -> Outcome {
    at_most(args, 1)?;
    let [va] = args else {
        return Err("which address?".into());
    };
    let va = parse_addr(va)?;
    let done = memory::with(|m| -> Result<(Frame, EntryFlags, bool), Refusal> {
        let page = page_of(va)?;
        // course: module 06
        let region = m.regions.region_of(VirtAddr(va));
        if !may_change(region) {
            return Err(Refusal::Region(VirtAddr(va), region));
        }
        // course: else
        // if !may_change(va) {
        //     return Err(Refusal::Outside(VirtAddr(va)));
        // }
        // course: end
        let mut mapper = m.mapper();
        let (frame, flags) = match mapper.mapping(page) {
            Some(found) => found,
            None if mapper.read_pde(VirtAddr(va)).is_large() => {
                return Err(Refusal::Unmap(UnmapError::LargePage(page)));
            }
            None => return Err(Refusal::Unmap(UnmapError::NotMapped(page))),
        };
        mapper
            .unmap_range(VirtAddr(va), PAGE_SIZE, Release::OwnedFrames, &mut m.frames)
            .map_err(Refusal::Unmap)?;
        let table_freed = !mapper.read_pde(VirtAddr(va)).is_present();
        Ok((frame, flags, table_freed))
    });
    let (frame, flags, table_freed) = done.map_err(|r| r.message())?;
    let fate = if flags.contains(EntryFlags::OWNED) {
        "it was owned: the frame went back to the PMM"
    } else {
        "it was not owned: the frame stays as it was"
    };
    let table = if table_freed {
        "; its page table, left empty, went back too"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "unmapped {} (was {} [{}]); invlpg {0}; {fate}{table}",
        VirtAddr(va),
        frame.start_address(),
        flags.letters()
    );
    Ok(())
}

// ---- segdemo ----

/// What the demo segment covers: eight words that are easy to recognise.
static SEGDEMO_WORDS: [u32; 8] = [
    0x1111_1111,
    0x2222_2222,
    0x3333_3333,
    0x4444_4444,
    0x5555_5555,
    0x6666_6666,
    0x7777_7777,
    0x8888_8888,
];

/// The four bytes at `offset` of `SEGDEMO_WORDS`, little endian, if inside.
fn segdemo_expected(offset: u32) -> Option<u32> {
    let mut bytes = [0u8; 32];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(SEGDEMO_WORDS) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    let at = offset as usize;
    let four = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([four[0], four[1], four[2], four[3]]))
}

/// `segdemo [offset]`: set GDT entry 7 to a 32-byte data segment over
/// `SEGDEMO_WORDS`, then read through it at the offset given, or at 0x10
/// (inside) and 0x20 (past the limit), and finally load a selector past the
/// GDT's own limit (#GP, survived).
///
/// Data-segment limits are checked by hardware and KVM, but not by QEMU's
/// TCG emulator, which Cairn runs under: there the read past the limit
/// returns the bytes after the segment, and the demo says so. The
/// descriptor-table limit is checked everywhere, so the last step shows a
/// real #GP on every CPU.
fn segdemo(args: &[&str], out: &mut dyn Write) -> Outcome {
    let (offsets, gdt_limit_too): (&[u32], bool) = match args {
        [] => (&[0x10, 0x20], true),
        [o] => (&[parse_addr(o)?], false),
        _ => return at_most(args, 1),
    };
    let base = SEGDEMO_WORDS.as_ptr() as u32;
    let limit = core::mem::size_of_val(&SEGDEMO_WORDS) as u32 - 1;
    let d = gdt::set_demo_segment(base, limit);
    let sel = gdt::DEMO;
    let _ = writeln!(
        out,
        "segdemo: GDT[{}] is now a data segment over SEGDEMO_WORDS (8 words, 0x11111111..0x88888888):",
        sel.index()
    );
    let _ = write!(out, "  ");
    let _ = segment::write_row(&mut &mut *out, sel.index() as usize, d);
    for &offset in offsets {
        segdemo_access(d, offset, out)?;
    }
    if gdt_limit_too {
        segdemo_code_limit(out)?;
        segdemo_gdt_limit(out)?;
    }
    let _ = writeln!(
        out,
        "segmentation comes first (base + offset, checked against the limit), then paging (the walk)"
    );
    Ok(())
}

/// Read 4 bytes at `DEMO:offset`, explaining each step, and compare what the
/// CPU did with what the descriptor says it must do.
fn segdemo_access(d: Descriptor, offset: u32, out: &mut dyn Write) -> Outcome {
    let sel = gdt::DEMO;
    let _ = writeln!(
        out,
        "logical  {:#06x}:{offset:#010x}  (selector {:#06x}: GDT index {}, RPL {})",
        sel.0,
        sel.0,
        sel.index(),
        sel.rpl()
    );
    let model = d.linear(offset, 4);
    match model {
        Ok(linear) => {
            let _ = writeln!(
                out,
                "linear   {} = base {:#010x} + offset {offset:#x} (bytes {offset:#x}..{:#x} <= limit {:#x})",
                VirtAddr(linear),
                d.base(),
                offset.wrapping_add(3),
                d.limit()
            );
            let walk = memory::with(|m| m.mapper().trace(VirtAddr(linear)));
            let _ = writeln!(out, "physical through the page walk:");
            let _ = walk.write_indented(&mut &mut *out, "  ");
        }
        Err(v) => {
            let _ = writeln!(
                out,
                "linear   none: bytes {offset:#x}..{:#x} pass the limit {:#x}: the CPU must raise #GP(0) before paging sees an address",
                v.offset.wrapping_add(3),
                v.limit
            );
        }
    }
    let _ = writeln!(
        out,
        "read     mov eax, fs:[{offset:#x}] with FS = {:#06x} ...",
        sel.0
    );
    match (probe::read_segmented(sel.0, offset), model) {
        (Ok(value), Ok(_)) => {
            let expected = segdemo_expected(offset);
            let _ = writeln!(
                out,
                "         -> {value:#010x} (SEGDEMO_WORDS holds {} there)",
                expected.map_or(String::from("?"), |e| format!("{e:#010x}"))
            );
            if expected != Some(value) {
                return Err("the read through the segment gave other bytes".into());
            }
        }
        (Err(c), Err(_)) if c.vector == crate::exception::vector::PAGE_FAULT => {
            write_unchecked_limit_fault(out, &c, d.base(), offset);
        }
        (Err(c), Err(_)) if c.vector == crate::exception::vector::GENERAL_PROTECTION => {
            let _ = writeln!(
                out,
                "survived #GP (vector {}, error code {:#x}): the limit check failed; no page was touched",
                c.vector, c.error_code
            );
        }
        (Ok(value), Err(_)) => {
            let _ = writeln!(
                out,
                "         -> {value:#010x}, and no #GP: this CPU did not check the data-segment limit \
                 (QEMU's TCG emulator never does; hardware and KVM raise #GP(0) here), \
                 so these are the bytes after the segment, at {}",
                VirtAddr(d.base().wrapping_add(offset))
            );
        }
        (Err(c), _) => {
            return Err(format!(
                "unexpected exception {} (error code {:#x}) reading through the segment",
                c.vector, c.error_code
            ));
        }
    }
    Ok(())
}

/// Say that the CPU raised #PF, not #GP, for an access at `offset` past a
/// segment's limit: it skipped the limit check (QEMU's TCG never checks data
/// limits) and paging found no page at `base + offset`.
fn write_unchecked_limit_fault(out: &mut dyn Write, c: &probe::Caught, base: u32, offset: u32) {
    let _ = writeln!(
        out,
        "survived #PF at {:#010x} (error code {:#x}), not #GP: this CPU did not check the \
         data-segment limit (QEMU's TCG emulator never does; hardware and KVM raise \
         #GP(0) here), so it formed the linear address base {:#010x} + offset \
         {offset:#x} = {} (mod 2^32) and paging found no page there",
        c.cr2,
        c.error_code,
        base,
        VirtAddr(base.wrapping_add(offset))
    );
}

/// Far-call into a 16-byte code segment over `probe::FAR_RETURN` (sixteen
/// `retf`s): at offset 0 the call runs a `retf` and comes back; at 0x20 the
/// CPU checks the new EIP against the code segment's limit and raises #GP
/// (every CPU and emulator checks code limits on a far transfer), survived.
fn segdemo_code_limit(out: &mut dyn Write) -> Outcome {
    let base = probe::FAR_RETURN.as_ptr() as u32;
    let limit = probe::FAR_RETURN.len() as u32 - 1;
    let d = gdt::set_demo_code_segment(base, limit);
    let sel = gdt::DEMO_CODE;
    let _ = writeln!(
        out,
        "code segments have limits too: GDT[{}] is now a 16-byte code segment of `retf`s:",
        sel.index()
    );
    let _ = write!(out, "  ");
    let _ = segment::write_row(&mut &mut *out, sel.index() as usize, d);
    for offset in [0u32, 0x20] {
        let _ = writeln!(out, "far call {:#06x}:{offset:#010x} ...", sel.0);
        // SAFETY: DEMO_CODE is a ring-0 32-bit code segment over FAR_RETURN,
        // whose every byte inside the limit is a retf.
        match (
            unsafe { probe::far_call(sel.0, offset) },
            d.linear(offset, 1),
        ) {
            (Ok(()), Ok(linear)) => {
                let _ = writeln!(
                    out,
                    "         ran the retf at linear {} (base + {offset:#x}) and came back",
                    VirtAddr(linear)
                );
            }
            (Err(c), Err(_)) if c.vector == crate::exception::vector::PAGE_FAULT => {
                write_unchecked_limit_fault(out, &c, d.base(), offset);
            }
            (Err(c), Err(_)) if c.vector == crate::exception::vector::GENERAL_PROTECTION => {
                let _ = writeln!(
                    out,
                    "survived #GP (vector {}, error code {:#x}): offset {offset:#x} passes the limit {limit:#x}; nothing ran",
                    c.vector, c.error_code
                );
            }
            (r, model) => {
                return Err(format!(
                    "far call {offset:#x}: the CPU gave {r:?}, the descriptor says {model:?}"
                ));
            }
        }
    }
    Ok(())
}

/// Load a selector whose descriptor would lie past the GDT's limit: the
/// table limit is checked on every CPU (and emulator): #GP(selector), survived.
fn segdemo_gdt_limit(out: &mut dyn Write) -> Outcome {
    let gdt_limit = (gdt::GDT_ENTRIES * 8 - 1) as u32;
    let selector = segment::Selector::new(gdt::GDT_ENTRIES as u16, 0);
    let _ = writeln!(
        out,
        "the GDT has a limit too: GDTR.limit = {gdt_limit:#x} ({} entries); selector {:#06x} asks for bytes {:#x}..{:#x}",
        gdt::GDT_ENTRIES,
        selector.0,
        selector.0,
        selector.0 as u32 + 7
    );
    let _ = writeln!(out, "load     mov fs, {:#06x} ...", selector.0);
    match probe::load_fs(selector.0) {
        Err(c) if c.vector == crate::exception::vector::GENERAL_PROTECTION => {
            let _ = writeln!(
                out,
                "survived #GP (vector {}, error code {:#x}): the selector passes the GDT's limit",
                c.vector, c.error_code
            );
            Ok(())
        }
        Err(c) => Err(format!(
            "expected #GP, got exception {} (error code {:#x})",
            c.vector, c.error_code
        )),
        Ok(()) => Err(format!(
            "no #GP: selector {:#06x} was loaded past the GDT's limit",
            selector.0
        )),
    }
}
