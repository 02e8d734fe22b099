//! The frame commands: `frames` and `buddyinfo` print what the allocator
//! holds; `falloc` and `ffree` take and give back runs and refuse bad
//! arguments.

use super::kit::{field, run_command, state};
use crate::kassert;
use crate::kernel::boot::boot_info;
use crate::kernel::memory;
use crate::mm::addr::Frame;
use crate::mm::frame::{FrameAllocator, ORDERS, PmmChoice, ReserveReason};
use crate::mm::layout::{PAGE_SHIFT, PAGE_SIZE};
use alloc::format;
use alloc::string::String;

/// The counts of the `Node 0, zone   Normal` line.
fn buddyinfo_counts(report: &str) -> Option<[usize; ORDERS]> {
    let line = report.lines().find(|l| l.starts_with("Node 0, zone"))?;
    let mut counts = [0; ORDERS];
    let mut words = line.split_whitespace().skip(4);
    for c in counts.iter_mut() {
        *c = words.next()?.parse().ok()?;
    }
    words.next().is_none().then_some(counts)
}

/// The allocator the command line asked for.
fn expected_choice() -> PmmChoice {
    boot_info()
        .option("pmm")
        .and_then(PmmChoice::parse)
        .unwrap_or_default()
}

/// `frames` and `buddyinfo` print what the allocator holds: its name, the
/// counts, every reserved range with its reason, the free blocks per order.
pub fn reports_agree() -> Result<(), String> {
    let frames = run_command("frames");
    let buddyinfo = run_command("buddyinfo");
    let (name, total, now, reserved) = memory::with(|m| {
        (
            m.frames.name(),
            m.frames.total_count(),
            state(&m.frames),
            m.frames.plan().reserved().len(),
        )
    });
    kassert!(
        name == expected_choice().name(),
        "allocator {name}, the command line asked for {}",
        expected_choice().name()
    );
    kassert!(
        frames.starts_with(&format!("allocator  {name}\n")),
        "frames does not name the allocator:\n{frames}"
    );
    kassert!(
        field(&frames, "managed ") == Some(total),
        "managed {:?} != total_count {total}:\n{frames}",
        field(&frames, "managed ")
    );
    kassert!(
        field(&frames, "free ") == Some(now.free),
        "free {:?} != free_count {}:\n{frames}",
        field(&frames, "free "),
        now.free
    );
    kassert!(
        field(&frames, "used ") == Some(total - now.free),
        "used {:?} != {}:\n{frames}",
        field(&frames, "used "),
        total - now.free
    );
    let listed = frames
        .lines()
        .skip_while(|l| *l != "reserved ranges:")
        .skip(1)
        .take_while(|l| l.starts_with("  P0x"))
        .count();
    kassert!(
        listed == reserved,
        "{listed} reserved lines, the plan has {reserved}:\n{frames}"
    );
    for why in [
        ReserveReason::LowMemory,
        ReserveReason::KernelImage,
        ReserveReason::MultibootInfo,
        ReserveReason::Metadata,
    ] {
        kassert!(
            frames.contains(why.describe()),
            "no reserved range for `{}`:\n{frames}",
            why.describe()
        );
    }
    let counts = buddyinfo_counts(&buddyinfo);
    kassert!(
        counts == Some(now.orders),
        "buddyinfo {counts:?} != free blocks per order {:?}:\n{buddyinfo}",
        now.orders
    );
    let sum: usize = now.orders.iter().enumerate().map(|(k, c)| c << k).sum();
    kassert!(
        sum == now.free,
        "blocks add up to {sum} frames, {} are free",
        now.free
    );
    Ok(())
}

/// The start address `falloc` printed (`... at P0x00210000-P0x...`).
fn falloc_address(out: &str) -> Option<u32> {
    let at = out.find(" at P0x")? + " at P0x".len();
    u32::from_str_radix(out.get(at..at + 8)?, 16).ok()
}

/// `falloc 16 16` then `ffree` then a double `ffree`; bad `falloc`/`ffree`
/// arguments; `ffree` refuses a frame the kernel uses (its page directory).
pub fn falloc_ffree_commands() -> Result<(), String> {
    // course: module 05
    let (before, directory) = memory::with(|m| (state(&m.frames), m.kernel.directory()));
    // course: else
    // let before = memory::with(|m| state(&m.frames));
    // course: end
    let out = run_command("falloc 16 16");
    let addr = falloc_address(&out).ok_or(format!("no address in:\n{out}"))?;
    kassert!(
        addr.is_multiple_of(16 * PAGE_SIZE as u32),
        "falloc 16 16 gave {addr:#x}, not aligned to 16 frames"
    );
    let (held, all_marked) = memory::with(|m| {
        let marked = (0..16).all(|k| m.frames.is_allocated(Frame((addr >> PAGE_SHIFT) + k)));
        (m.frames.free_count(), marked)
    });
    kassert!(all_marked, "falloc's frames are not all allocated");
    kassert!(held + 16 == before.free, "free {} -> {held}", before.free);
    let out = run_command(&format!("ffree P{addr:#010x}"));
    kassert!(out.starts_with("freed 16 frames"), "ffree:\n{out}");
    let out = run_command(&format!("ffree {addr:#x}"));
    kassert!(
        out.starts_with("error: ") && out.contains("double free"),
        "double ffree:\n{out}"
    );
    for (line, want) in [
        ("ffree 0x100000", "frame is reserved: kernel image"),
        ("ffree 0x1234", "not the start of a frame"),
        ("ffree 0xfffff000", "not managed"),
        ("falloc 0", "at least 1"),
        ("falloc 4 3", "not a power of two"),
        ("falloc x", "not a number"),
    ] {
        let out = run_command(line);
        kassert!(
            out.starts_with("error: ") && out.contains(want),
            "`{line}` should say `{want}`:\n{out}"
        );
    }
    // course: module 05
    let out = run_command(&format!("ffree {:#x}", directory.start_address().0));
    kassert!(
        out.contains("allocated by the kernel"),
        "ffree of the page directory:\n{out}"
    );
    let (after, dir_held) = memory::with(|m| (state(&m.frames), m.frames.is_allocated(directory)));
    kassert!(dir_held, "the page directory frame was freed");
    // course: else
    // // Before paging (module 5) no frame is the kernel's own: no page
    // // directory, no page tables, the heap is a static array.
    // let after = memory::with(|m| state(&m.frames));
    // course: end
    kassert!(
        after == before,
        "not back where it was: before {before:?}, after {after:?}"
    );
    Ok(())
}
