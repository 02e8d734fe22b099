//! `map <vaddr> [phys]` and `unmap <vaddr>`: change one mapping of the
//! kernel's address space, in a user region or kernel private only, and say
//! what was done with the frame (see the table in `paging/mod.rs`).

use super::args::parse_addr;
use crate::kernel::commands::kit::{Outcome, at_most};
use crate::kernel::memory::{self, Memory};
use crate::mm::addr::{Frame, Page, PhysAddr, VirtAddr};
use crate::mm::frame::plan::FrameClass;
use crate::mm::frame::{FrameAllocator, ReserveReason};
use crate::mm::layout::{KERNEL_PRIVATE_START, KERNEL_TEMP_MAP_START, PAGE_SIZE};
use crate::mm::paging::{EntryFlags, MapError, Release, UnmapError, ZeroFill};
// course: module 06
use crate::mm::vm::Region;
// course: else
// use crate::mm::layout::{KERNEL_BASE, LARGE_PAGE_SIZE};
// course: end
use alloc::format;
use alloc::string::String;
use core::fmt::Write;

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

/// The page at `va`, if `map` and `unmap` may change it: page aligned, in a
/// user region or kernel private.
fn changeable_page(m: &Memory, va: u32) -> Result<Page, Refusal> {
    let page = page_of(va)?;
    // course: module 06
    let region = m.regions.region_of(VirtAddr(va));
    if !may_change(region) {
        return Err(Refusal::Region(VirtAddr(va), region));
    }
    // course: else
    // let _ = m;
    // if !may_change(va) {
    //     return Err(Refusal::Outside(VirtAddr(va)));
    // }
    // course: end
    Ok(page)
}

/// `map <vaddr> [phys]`: map one page in the kernel's address space.
pub fn map(args: &[&str], out: &mut dyn Write) -> Outcome {
    let (va, phys) = match args {
        [va] => (parse_addr(va)?, None),
        [va, phys] => (parse_addr(va)?, Some(parse_addr(phys)?)),
        [] => return Err("which address?".into()),
        _ => return at_most(args, 2),
    };
    let done = memory::with(|m| -> Result<(Frame, EntryFlags, Option<Given>), Refusal> {
        let page = changeable_page(m, va)?;
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
pub fn unmap(args: &[&str], out: &mut dyn Write) -> Outcome {
    at_most(args, 1)?;
    let [va] = args else {
        return Err("which address?".into());
    };
    let va = parse_addr(va)?;
    let done = memory::with(|m| -> Result<(Frame, EntryFlags, bool), Refusal> {
        let page = changeable_page(m, va)?;
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
