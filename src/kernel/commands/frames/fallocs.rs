//! `falloc <n> [align]` and `ffree <addr>`, over the table of the runs
//! `falloc` made ([`FALLOCS`]): `ffree` frees only those, so a typo cannot
//! free a frame the kernel uses.

use crate::kernel::commands::kit::{Outcome, at_most};
use crate::kernel::memory::{self, Memory};
// course: module 06
use crate::kernel::memory::{MappedBy, ProcSpace};
// course: end
use crate::mm::addr::{Frame, PhysAddr};
use crate::mm::frame::plan::{FrameClass, FrameRange};
use crate::mm::frame::report::{FrameCount, frames_noun, frames_size};
use crate::mm::frame::{AnyFrameAllocator, FrameAllocator, FrameError, MAX_ORDER};
// course: module 05
use crate::mm::paging::FrameUser;
// course: end
use crate::text::noun;
use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use spin::Mutex;

/// Most allocations `falloc` keeps track of at once.
pub const MAX_FALLOCS: usize = 256;

/// One allocation `falloc` made: `len` frames from `start`.
#[derive(Clone, Copy)]
struct Falloc {
    start: u32,
    len: u32,
}

/// The allocations made by `falloc` and not yet freed. `ffree` frees only
/// these: every other allocated frame belongs to the kernel (page tables,
/// heap pages), and freeing it would corrupt memory that is in use.
/// Lock order: `MEMORY` first, then this.
static FALLOCS: Mutex<[Option<Falloc>; MAX_FALLOCS]> = Mutex::new([None; MAX_FALLOCS]);

/// The falloc allocation that contains `frame`, if any.
fn falloc_containing(frame: Frame) -> Option<Falloc> {
    FALLOCS
        .lock()
        .iter()
        .flatten()
        .find(|a| (a.start..a.start + a.len).contains(&frame.0))
        .copied()
}

/// The `frames` report's last lines: the runs `falloc` holds, if any.
/// Never allocates (the caller holds `MEMORY`; lock order: `MEMORY`, then
/// the table).
pub fn write_held(w: &mut dyn Write) {
    let held = FALLOCS.lock();
    let (n, frames) = held
        .iter()
        .flatten()
        .fold((0, 0), |(n, f), a| (n + 1, f + a.len as usize));
    if n > 0 {
        let _ = writeln!(
            w,
            "held by falloc: {n} {}, {}:",
            noun(n as u64, "allocation", "allocations"),
            FrameCount(frames)
        );
        for a in held.iter().flatten() {
            let _ = writeln!(w, "  {}", range(Frame(a.start), a.len as usize));
        }
    }
}

/// The range of `len` frames from `start` (prints as `P0x...-P0x...`).
fn range(start: Frame, len: usize) -> FrameRange {
    FrameRange::new(start.0, start.0 + len as u32)
}

/// Parse a count or alignment in frames (decimal, 0x hex).
pub fn parse_frames(s: &str, what: &str) -> Result<usize, String> {
    crate::shell::parse_number(s)
        .map(|v| v as usize)
        .map_err(|e| format!("{what} `{s}`: {e}"))
}

/// Parse a physical address; a leading `P` (as `frames` prints them) is allowed.
fn parse_phys(s: &str) -> Result<PhysAddr, String> {
    let digits = s.strip_prefix('P').unwrap_or(s);
    crate::shell::parse_number(digits)
        .map(PhysAddr)
        .map_err(|e| format!("address `{s}`: {e}"))
}

/// What `falloc` found under the lock.
enum Taken {
    Run(Frame, usize),
    TableFull,
    NoRun { free: usize, buddy: bool },
}

/// `falloc <n> [align]`: allocate `n` contiguous frames whose first frame
/// number is a multiple of `align` (1 by default) and remember them for `ffree`.
pub fn falloc(args: &[&str], out: &mut dyn Write) -> Outcome {
    let (n, align) = match args {
        [n] => (parse_frames(n, "count")?, 1),
        [n, a] => (parse_frames(n, "count")?, parse_frames(a, "align")?),
        [] => return Err("how many frames?".into()),
        _ => return at_most(args, 2),
    };
    if n == 0 {
        return Err("the count must be at least 1".into());
    }
    if align == 0 || !align.is_power_of_two() {
        return Err(format!(
            "align {align} is not a power of two (it counts frames)"
        ));
    }
    let (taken, free) = memory::with(|m| {
        let mut table = FALLOCS.lock();
        let Some(slot) = table.iter_mut().find(|s| s.is_none()) else {
            return (Taken::TableFull, m.frames.free_count());
        };
        let got = if n == 1 && align == 1 {
            m.frames.allocate()
        } else {
            m.frames.allocate_contiguous(n, align)
        };
        let taken = match got {
            Some(f) => {
                *slot = Some(Falloc {
                    start: f.0,
                    len: n as u32,
                });
                Taken::Run(f, n)
            }
            None => Taken::NoRun {
                free: m.frames.free_count(),
                buddy: matches!(m.frames, AnyFrameAllocator::Buddy(_)),
            },
        };
        (taken, m.frames.free_count())
    });
    match taken {
        Taken::Run(f, n) => {
            let _ = writeln!(
                out,
                "allocated {} ({}) at {}; {} free",
                FrameCount(n),
                frames_size(n),
                range(f, n),
                FrameCount(free)
            );
            Ok(())
        }
        Taken::TableFull => Err(format!(
            "falloc holds {MAX_FALLOCS} allocations already; ffree some first"
        )),
        Taken::NoRun { free, .. } if n > free => {
            Err(format!("{} asked, only {free} free", FrameCount(n)))
        }
        Taken::NoRun { buddy: true, .. } if n.max(align) > 1 << MAX_ORDER => Err(format!(
            "the buddy's largest block is {} frames (order {MAX_ORDER}): no run of {n} aligned to {align}",
            1 << MAX_ORDER
        )),
        Taken::NoRun { .. } => Err(format!(
            "no run of {n} free {} aligned to {}",
            frames_noun(n),
            FrameCount(align)
        )),
    }
}

/// What `ffree` did under the lock.
enum Freed {
    Run(usize),
    Refused(FrameError, FrameClass),
    /// Allocated, not by falloc, and mapped by no page searched.
    KernelOwned,
    // course: module 05
    // course: module 06
    /// A page still maps a frame of the run (`map <vaddr> <phys>`, or a
    /// process's own page).
    Mapped(MappedBy, FrameUser),
    /// Allocated, not by falloc, and mapped by this page.
    KernelOwnedMapped(MappedBy, FrameUser),
    // course: else
    // /// A page still maps a frame of the run (`map <vaddr> <phys>`).
    // Mapped(FrameUser),
    // course: end
    // course: end
}

/// `ffree <addr>`: free the `falloc` allocation that starts at `addr`. Bad
/// input (unaligned, free, reserved, unmanaged, inside a run, a frame the
/// kernel itself uses, a frame any address space maps: the kernel's or a
/// process's) is an error naming the cause; nothing changes.
pub fn ffree(args: &[&str], out: &mut dyn Write) -> Outcome {
    let addr = match args {
        [a] => parse_phys(a)?,
        [] => return Err("which address? (as falloc printed it)".into()),
        _ => return at_most(args, 1),
    };
    let frame = Frame::containing_address(addr);
    // The processes' spaces are searched too: the table's lock first, then
    // memory's (the lock order).
    // course: module 08
    let (freed, free) = crate::kernel::proc::with_user_spaces(|procs| {
        memory::with(|m| ffree_locked(m, procs, addr))
    });
    // course: end
    // course: module 06
    // course: before 08
    // let (freed, free) = memory::with(|m| ffree_locked(m, &mut core::iter::empty(), addr));
    // course: end
    // course: end
    // course: before 06
    // let (freed, free) = memory::with(|m| ffree_locked(m, addr));
    // course: end
    let at = format!("P{:#010x}", addr.0);
    match freed {
        Freed::Run(len) => {
            let _ = writeln!(
                out,
                "freed {} ({}) at {}; {} free",
                FrameCount(len),
                frames_size(len),
                range(frame, len),
                FrameCount(free)
            );
            Ok(())
        }
        Freed::Refused(FrameError::Reserved, FrameClass::Reserved(why)) => Err(format!(
            "{at}: {}: {}",
            FrameError::Reserved,
            why.describe()
        )),
        Freed::Refused(e, _) => Err(format!("{at}: {e}")),
        Freed::KernelOwned => Err(format!(
            "{at}: allocated by the kernel (page table or heap), not by falloc; freeing it would corrupt memory in use"
        )),
        // course: module 05
        // course: module 06
        Freed::Mapped(MappedBy::Kernel, u) => Err(format!(
            "{at}: still mapped at {} [{}]{}: `unmap {:#x}` first, or the page would point at a free frame",
            u.page.start_address(),
            u.flags.letters(),
            its_frame(&u, frame),
            u.page.start_address().as_u32()
        )),
        Freed::Mapped(MappedBy::Process { pid, name }, u) => Err(format!(
            "{at}: still mapped at {} [{}]{} in process {pid} ({}): `kill {pid}` first, or its page would point at a free frame",
            u.page.start_address(),
            u.flags.letters(),
            its_frame(&u, frame),
            name.as_str(),
        )),
        Freed::KernelOwnedMapped(MappedBy::Kernel, u) => Err(format!(
            "{at}: allocated by the kernel, not by falloc, and mapped at {} [{}]; freeing it would corrupt memory in use",
            u.page.start_address(),
            u.flags.letters(),
        )),
        Freed::KernelOwnedMapped(MappedBy::Process { pid, name }, u) => Err(format!(
            "{at}: a page of process {pid} ({}), mapped at {} [{}] in its space; not a falloc frame: `kill {pid}` gives it back",
            name.as_str(),
            u.page.start_address(),
            u.flags.letters(),
        )),
        // course: else
        // Freed::Mapped(u) => Err(format!(
        //     "{at}: still mapped at {} [{}]{}: `unmap {:#x}` first, or the page would point at a free frame",
        //     u.page.start_address(),
        //     u.flags.letters(),
        //     its_frame(&u, frame),
        //     u.page.start_address().as_u32()
        // )),
        // course: end
        // course: end
    }
}

/// `ffree`'s work under the locks: free the run or say why not, and the
/// free count after. No heap (the heap's grow hook takes the memory lock).
fn ffree_locked(
    m: &mut Memory,
    // course: module 06
    procs: &mut dyn Iterator<Item = ProcSpace<'_>>,
    // course: end
    addr: PhysAddr,
) -> (Freed, usize) {
    let frame = Frame::containing_address(addr);
    let class = m.frames.plan().classify(frame);
    let freed = match falloc_containing(frame) {
        // A falloc allocation: its start frees the whole run, unless a
        // page still maps one of its frames (the state `map` refuses to
        // create); a frame inside it is refused by the allocator itself
        // (`BadRun`).
        // course: module 05
        // course: module 06
        Some(a)
            if let Some((who, user)) = m.find_mapping(procs, Frame(a.start), a.len as usize) =>
        {
            Freed::Mapped(who, user)
        }
        // course: else
        // Some(a) if let Some(user) = m.find_user(Frame(a.start), a.len as usize) => {
        //     Freed::Mapped(user)
        // }
        // course: end
        // course: end
        Some(a) => match m.frames.release_address(addr) {
            Ok(len) => {
                let mut table = FALLOCS.lock();
                if let Some(slot) = table
                    .iter_mut()
                    .find(|s| matches!(s, Some(x) if x.start == a.start))
                {
                    *slot = None;
                }
                Freed::Run(len)
            }
            Err(e) => Freed::Refused(e, class),
        },
        // Allocated, but not by falloc: a page table, a heap page, a
        // process's page; named with the page that maps it, if any does.
        // course: module 06
        None if addr.is_page_aligned() && m.frames.is_allocated(frame) => {
            match m.find_mapping(procs, frame, 1) {
                Some((who, user)) => Freed::KernelOwnedMapped(who, user),
                None => Freed::KernelOwned,
            }
        }
        // course: else
        // None if addr.is_page_aligned() && m.frames.is_allocated(frame) => Freed::KernelOwned,
        // course: end
        // Not allocated at all: the allocator names why it cannot free it
        // (free, reserved, unmanaged, unaligned) and changes nothing.
        None => match m.frames.release_address(addr) {
            Ok(len) => Freed::Run(len), // cannot happen: it was not allocated
            Err(e) => Freed::Refused(e, class),
        },
    };
    (freed, m.frames.free_count())
}

// course: module 05
/// ` (its frame P...)` when the frame a page maps is not the one asked about.
fn its_frame(u: &FrameUser, asked: Frame) -> String {
    if u.frame == asked {
        String::new()
    } else {
        format!(" (its frame {})", u.frame.start_address())
    }
}
// course: end
