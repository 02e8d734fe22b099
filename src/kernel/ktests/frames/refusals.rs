//! What the allocator must refuse: bad frees (double, reserved, unmanaged,
//! unaligned, wrong runs), each with the error naming its cause and no
//! change; and the reserved ranges, listed with their reason and never
//! handed out or freed.

use super::kit::{Fault, Pmm, State, back_where_it_was, known_reserved, no_fault, state};
use crate::kassert;
use crate::kernel::boot::boot_info;
use crate::kernel::memory::{self, Memory};
use crate::mm::addr::{Frame, PhysAddr};
use crate::mm::frame::plan::{FrameClass, ReserveReason};
use crate::mm::frame::{FrameAllocator, FrameCheckError, FrameError};
use crate::mm::layout::{KERNEL_BASE, PAGE_SHIFT};
use alloc::string::String;

/// What the bad-free test saw.
struct BadFrees {
    before: State,
    after: State,
    check_after: Result<(), &'static str>,
    fault: Option<Fault>,
}

fn try_bad_frees(m: &mut Memory) -> BadFrees {
    let pmm = &mut m.frames;
    let before = state(pmm);
    let mut fault = None;
    let (Some(one), Some(run)) = (pmm.allocate(), pmm.allocate_contiguous(4, 1)) else {
        return BadFrees {
            before,
            after: state(pmm),
            check_after: Err("no frames for the test"),
            fault: Some(Fault::Run("no frames", 4, 1)),
        };
    };
    let held = state(pmm);
    let (image_start, _, _, _) = memory::image();
    let kernel = Frame((image_start - KERNEL_BASE) >> PAGE_SHIFT);
    let mbi = Frame(boot_info().info_range.0 >> PAGE_SHIFT);
    let meta = pmm.plan().metadata().start;
    let past_ram = pmm.plan().span().end;
    let mut expect =
        |what: &'static str, got: Result<usize, FrameError>, want: FrameError, pmm: &Pmm| {
            if got != Err(want) {
                fault.get_or_insert(Fault::Expected(what, got, want));
            } else if state(pmm) != held || pmm.check().is_err() {
                fault.get_or_insert(Fault::Changed(what));
            }
        };
    let unit = |r: Result<(), FrameError>| r.map(|()| 0);
    let at = |f: Frame, off: u32| PhysAddr(f.start_address().0 + off);
    let r = pmm.release_address(at(one, 8));
    expect("unaligned address", r, FrameError::Unaligned, pmm);
    let r = pmm.release(Frame(run.0 + 1));
    expect("inside a run", r, FrameError::BadRun, pmm);
    let r = unit(pmm.free_contiguous(run, 3));
    expect("run with the wrong length", r, FrameError::BadRun, pmm);
    let r = unit(pmm.free(run));
    expect("run freed as one frame", r, FrameError::BadRun, pmm);
    let r = pmm.release(Frame(0));
    expect("frame 0 (low memory)", r, FrameError::Reserved, pmm);
    let r = pmm.release(kernel);
    expect("kernel image", r, FrameError::Reserved, pmm);
    let r = pmm.release(mbi);
    expect("multiboot2 information", r, FrameError::Reserved, pmm);
    let r = pmm.release(meta);
    expect("allocator metadata", r, FrameError::Reserved, pmm);
    let r = pmm.release(past_ram);
    expect("first frame past RAM", r, FrameError::Unmanaged, pmm);
    let r = pmm.release(Frame(0xF_FFFF));
    expect("last frame below 4 GiB", r, FrameError::Unmanaged, pmm);
    match (pmm.release(one), pmm.release_address(run.start_address())) {
        (Ok(1), Ok(4)) => {}
        (a, b) => {
            fault.get_or_insert(Fault::Release(one, a.and(b)));
        }
    }
    let freed = state(pmm);
    for (what, r) in [
        ("double free of a frame", pmm.release(one)),
        ("double free of a run", pmm.release(run)),
        (
            "double free by address",
            pmm.release_address(run.start_address()),
        ),
    ] {
        if r != Err(FrameError::AlreadyFree) {
            fault.get_or_insert(Fault::Expected(what, r, FrameError::AlreadyFree));
        } else if state(pmm) != freed {
            fault.get_or_insert(Fault::Changed(what));
        }
    }
    BadFrees {
        before,
        after: state(pmm),
        check_after: pmm.check().map_err(FrameCheckError::as_str),
        fault,
    }
}

/// Double frees, reserved and unmanaged frames, unaligned addresses and
/// wrong runs are refused with the error that names the cause, and the
/// allocator is unchanged (free count, blocks per order, `check()`).
pub fn bad_frees() -> Result<(), String> {
    let r = memory::with(try_bad_frees);
    no_fault(r.fault)?;
    back_where_it_was(r.before, r.after, r.check_after)
}

/// The reserved ranges: low memory, the kernel image (from the linker
/// symbols), the multiboot2 information (from the boot information) and the
/// metadata are each listed in the plan with their reason, lie outside
/// every managed range, and none of their frames is allocated or can be
/// freed. Reservations may overlap (GRUB may put the boot information in
/// the padding after one of the kernel's sections, inside the image's
/// frames: see `multiboot_info_beside_the_kernel`).
/// `frames_take_every_free_frame` checks that no frame handed out lies in them.
pub fn reserved_ranges() -> Result<(), String> {
    let (unlisted, found, bad_free, overlap) = memory::with(|m| {
        let pmm = &mut m.frames;
        let known = known_reserved(pmm);
        let held = state(pmm);
        let (mut unlisted, mut found, mut bad_free) = (None, None, None);
        for (r, want) in known {
            let listed = pmm.plan().reserved().iter().any(|x| {
                x.reason == want && x.range.start.0 <= r.start.0 && r.end.0 <= x.range.end.0
            });
            if !listed {
                unlisted.get_or_insert(want.describe());
            }
            for f in (r.start.0..r.end.0).map(Frame) {
                let class = pmm.plan().classify(f);
                if !matches!(class, FrameClass::Reserved(_)) || pmm.is_allocated(f) {
                    found.get_or_insert((want.describe(), f, class));
                }
            }
            for f in [r.start, Frame(r.end.0.saturating_sub(1))] {
                let got = pmm.release(f);
                if got != Err(FrameError::Reserved) || state(pmm) != held {
                    bad_free.get_or_insert((f, got));
                }
            }
        }
        let plan = pmm.plan();
        let overlap = plan.reserved().iter().any(|r| {
            plan.usable()
                .iter()
                .any(|u| u.start.0 < r.range.end.0 && r.range.start.0 < u.end.0)
        });
        (unlisted, found, bad_free, overlap)
    });
    kassert!(
        unlisted.is_none(),
        "the plan lists no reserved range `{}` covering it",
        unlisted.unwrap_or("")
    );
    kassert!(
        found.is_none(),
        "a frame that must be reserved is not, or is allocated: {found:?}"
    );
    kassert!(
        bad_free.is_none(),
        "freeing a reserved frame was not refused as Reserved: {bad_free:?}"
    );
    kassert!(!overlap, "a reserved range overlaps a managed range");
    Ok(())
}

/// The multiboot2 information may share a frame with the kernel image, but
/// none of its bytes is a byte the kernel loaded: GRUB places it beside the
/// sections (in the padding after one, or past the image), never over them.
/// When its frames fall inside the image's, the plan lists them as shared
/// by the two (`frames` prints them under `frames two reserved ranges
/// share:`), and they stay reserved.
pub fn multiboot_info_beside_the_kernel() -> Result<(), String> {
    let (mbi_start, mbi_end) = boot_info().info_range;
    kassert!(
        mbi_start < mbi_end,
        "no multiboot2 information range ({mbi_start:#x}..{mbi_end:#x})"
    );
    for (name, start, end) in memory::image_sections() {
        let (start, end) = (start - KERNEL_BASE, end - KERNEL_BASE);
        kassert!(
            mbi_end <= start || end <= mbi_start,
            "the multiboot2 information P{mbi_start:#010x}..P{mbi_end:#010x} overlaps the \
             kernel's {name} P{start:#010x}..P{end:#010x}"
        );
    }
    let (first, last) = (
        Frame(mbi_start >> PAGE_SHIFT),
        Frame((mbi_end - 1) >> PAGE_SHIFT),
    );
    let (in_image, listed, reserved) = memory::with(|m| {
        let plan = m.frames.plan();
        let image = plan
            .reserved()
            .iter()
            .find(|r| r.reason == ReserveReason::KernelImage)
            .map(|r| r.range);
        let in_image = image.is_some_and(|r| r.contains(first) || r.contains(last));
        let listed = plan.shared().any(|(r, a, b)| {
            (r.contains(first) || r.contains(last))
                && a == ReserveReason::KernelImage
                && b == ReserveReason::MultibootInfo
        });
        let reserved = [first, last]
            .iter()
            .all(|&f| matches!(plan.classify(f), FrameClass::Reserved(_)));
        (in_image, listed, reserved)
    });
    kassert!(
        in_image == listed,
        "the information's frames {first:?}..={last:?} are in the image's: {in_image}; \
         listed as shared: {listed}"
    );
    kassert!(
        reserved,
        "a frame of the multiboot2 information is not reserved"
    );
    Ok(())
}
