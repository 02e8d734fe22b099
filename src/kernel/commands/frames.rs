//! Commands for the physical memory manager: `frames`, `buddyinfo`,
//! `falloc`, `ffree`.
//!
//! ```text
//!   cairn> falloc 16 16          cairn> ffree 0x00210000        cairn> ffree 0x00210000
//!   allocated 16 frames (64 KiB) freed 16 frames (64 KiB)       error: P0x00210000: frame
//!   at P0x00210000-P0x0021ffff   at P0x00210000-P0x0021ffff     is already free (double free)
//!
//!   the kernel's own frames     ┌─ FALLOCS ─────────────┐     ffree <addr>
//!   (page tables, heap pages)   │ start  len  (≤ 256)   │ <── only these, so a typo cannot
//!   are refused by ffree        └───────────────────────┘     free a page table under the kernel
//! ```
//!
//! Rule of this file: nothing allocates from the heap while `memory::MEMORY`
//! is held (the heap's grow hook takes it). Reports are written under the
//! lock into a [`NoGrow`] buffer reserved beforehand, and printed after.

use super::kit::{Command, Outcome, at_most};
use crate::kernel::memory::{self, Memory};
// course: module 06
use crate::kernel::memory::{MappedBy, ProcSpace};
// course: end
use crate::mm::addr::{Frame, PhysAddr};
use crate::mm::frame::plan::{FrameClass, FrameRange};
use crate::mm::frame::report::frames_size;
use crate::mm::frame::{AnyFrameAllocator, FrameAllocator, FrameCheckError, FrameError, MAX_ORDER};
// course: module 05
use crate::mm::paging::FrameUser;
// course: end
use alloc::format;
use alloc::string::String;
use core::fmt::{self, Write};
use spin::Mutex;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "frames",
        args: "[dump|check|draw [from] [count] [order]]",
        help: "PMM: allocator, counts, managed and reserved ranges (why)",
        run: frames,
    },
    Command {
        name: "buddyinfo",
        args: "",
        help: "free blocks per order 0..10 (Linux /proc/buddyinfo layout)",
        run: buddyinfo,
    },
    Command {
        name: "falloc",
        args: "<n> [align]",
        help: "allocate n contiguous frames, the first a multiple of align frames",
        run: falloc,
    },
    Command {
        name: "ffree",
        args: "<addr>",
        help: "free the falloc allocation that starts at physical address addr",
        run: ffree,
    },
];

/// Bytes reserved for one report; the largest plan (64 managed and 16
/// reserved ranges) needs about 4 KiB.
const REPORT_CAPACITY: usize = 8 * 1024;

/// Most allocations `falloc` keeps track of at once.
pub const MAX_FALLOCS: usize = 256;

/// A `fmt::Write` into the spare capacity of a `String` that never
/// reallocates, so it may be written while `MEMORY` is held. Text that does
/// not fit is dropped (whole pieces, never half a character) and `cut` is set.
pub struct NoGrow<'a> {
    buf: &'a mut String,
    cut: bool,
}

impl<'a> NoGrow<'a> {
    /// A writer over `buf`'s spare capacity (reserve it before taking the lock).
    pub fn new(buf: &'a mut String) -> NoGrow<'a> {
        NoGrow { buf, cut: false }
    }

    /// True when some text did not fit.
    pub fn was_cut(&self) -> bool {
        self.cut
    }
}

impl Write for NoGrow<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.buf.len() + s.len() > self.buf.capacity() {
            self.cut = true;
            return Err(fmt::Error);
        }
        self.buf.push_str(s); // within capacity: no allocation
        Ok(())
    }
}

/// Run `f` on the kernel's memory with the lock held and a [`NoGrow`] writer
/// over a fresh buffer of [`REPORT_CAPACITY`] bytes; returns the text
/// (with a note when it was cut) and `f`'s result. When not even the
/// buffer can be had, `Err("out of memory ...")` and `f` does not run.
pub fn report_under_lock<R>(
    f: impl FnOnce(&mut Memory, &mut NoGrow) -> R,
) -> Result<(String, R), String> {
    let mut buf = String::new();
    buf.try_reserve_exact(REPORT_CAPACITY) // before the lock
        .map_err(|_| format!("out of memory: no room for the report ({REPORT_CAPACITY} bytes)"))?;
    let (r, cut) = memory::with(|m| {
        let mut w = NoGrow::new(&mut buf);
        let r = f(m, &mut w);
        (r, w.was_cut())
    });
    if cut {
        // Within the capacity kept for it: the note never reallocates.
        let note = "... (report cut: longer than the buffer)\n";
        if buf.capacity() - buf.len() >= note.len() {
            buf.push_str(note);
        }
    }
    Ok((buf, r))
}

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

/// The range of `len` frames from `start` (prints as `P0x...-P0x...`).
fn range(start: Frame, len: usize) -> FrameRange {
    FrameRange::new(start.0, start.0 + len as u32)
}

/// "frame" or "frames" after a count.
fn frames_word(n: usize) -> &'static str {
    if n == 1 { "frame" } else { "frames" }
}

/// What `frames` shows.
#[derive(Clone, Copy)]
enum View {
    Report,
    Dump,
    Check,
    /// Seed 004's per-order picture of frames `from..from + count`, one
    /// column per `2^order` frames (buddy only).
    Draw {
        from: u32,
        count: usize,
        order: usize,
    },
}

/// Most columns `frames draw` prints (one column per `2^order` frames).
/// (64 fit the 80-column screen beside the row's order and free count.)
const DRAW_COLUMNS: usize = 64;

/// Parse `frames draw [from] [count] [order]` (frames; defaults: the first
/// 4 MiB, one column per 16 frames).
fn parse_draw(args: &[&str]) -> Result<View, String> {
    at_most(args, 3)?;
    let arg = |i: usize, default: usize, what: &str| match args.get(i) {
        Some(a) => parse_frames(a, what),
        None => Ok(default),
    };
    let from = arg(0, 0, "from")?;
    let count = arg(1, 1 << MAX_ORDER, "count")?;
    let order = arg(2, 4, "order")?;
    if order > MAX_ORDER {
        return Err(format!("order {order}: the orders are 0..={MAX_ORDER}"));
    }
    if count == 0 || count >> order > DRAW_COLUMNS {
        return Err(format!(
            "{count} frames at order {order} do not fit: 1..={} columns",
            DRAW_COLUMNS
        ));
    }
    let from = u32::try_from(from)
        .ok()
        .filter(|f| {
            (*f as usize)
                .checked_add(count)
                .is_some_and(|e| e <= 1 << 20)
        })
        .ok_or_else(|| format!("frames {from:#x} + {count:#x} pass 4 GiB"))?;
    Ok(View::Draw { from, count, order })
}

/// `frames`: the report; `frames dump`: the allocator's own dump;
/// `frames check`: its integrity check; `frames draw ...`: the buddy's
/// per-order bitmaps as seed 004 draws them.
fn frames(args: &[&str], out: &mut dyn Write) -> Outcome {
    let view = match args {
        [] => View::Report,
        ["dump"] => View::Dump,
        ["check"] => View::Check,
        ["draw", rest @ ..] => parse_draw(rest)?,
        ["dump" | "check", ..] => return at_most(args, 1),
        [other, ..] => return Err(format!("unknown option `{other}` (dump, check or draw)")),
    };
    let (text, outcome) = report_under_lock(|m, w| match view {
        View::Dump => m.frames.dump(w).map_err(|_| "dump cut short"),
        View::Check => m.frames.check().map_err(FrameCheckError::as_str),
        View::Draw { from, count, order } => match &m.frames {
            AnyFrameAllocator::Buddy(b) => {
                let _ = writeln!(
                    w,
                    "frames {from:#x}..{:#x}, one column per {} frame{}\n\
                     (. free at this order, x in a larger free block, # not free; last: free count)",
                    from as usize + count,
                    1 << order,
                    if order == 0 { "" } else { "s" }
                );
                b.draw_orders(w, Frame(from), count, order)
                    .map_err(|_| "drawing cut short")
            }
            _ => Err("only the buddy has per-order bitmaps (boot with pmm=buddy)"),
        },
        View::Report => {
            let _ = m.frames.report_frames(w);
            let held = FALLOCS.lock();
            let (n, frames) = held
                .iter()
                .flatten()
                .fold((0, 0), |(n, f), a| (n + 1, f + a.len as usize));
            if n > 0 {
                let plural = if n == 1 { "" } else { "s" };
                let _ = writeln!(
                    w,
                    "held by falloc: {n} allocation{plural}, {frames} frames:"
                );
                for a in held.iter().flatten() {
                    let _ = writeln!(w, "  {}", range(Frame(a.start), a.len as usize));
                }
            }
            Ok(())
        }
    })?;
    let _ = out.write_str(&text);
    match (view, outcome) {
        (View::Check, Ok(())) => {
            let _ = writeln!(out, "check: the frame allocator is consistent");
            Ok(())
        }
        (View::Check, Err(why)) => Err(format!("check failed: {why}")),
        (_, Err(why)) => Err(why.into()),
        _ => Ok(()),
    }
}

/// `buddyinfo`: Linux's /proc/buddyinfo line. The bitmap and free-list
/// allocators keep no per-order lists; for them the line shows their free
/// runs cut into aligned power-of-two blocks, and a note says so.
fn buddyinfo(args: &[&str], out: &mut dyn Write) -> Outcome {
    at_most(args, 0)?;
    let (text, ()) = report_under_lock(|m, w| {
        let _ = m.frames.report_buddyinfo(w);
        if !matches!(m.frames, AnyFrameAllocator::Buddy(_)) {
            let _ = writeln!(
                w,
                "note: the {} allocator keeps no lists per order; shown are its free runs\n      cut into aligned blocks of 2^order frames, the blocks a buddy would hold",
                m.frames.name()
            );
        }
    })?;
    let _ = out.write_str(&text);
    Ok(())
}

/// Parse a count or alignment in frames (decimal, 0x hex).
fn parse_frames(s: &str, what: &str) -> Result<usize, String> {
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
fn falloc(args: &[&str], out: &mut dyn Write) -> Outcome {
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
                "allocated {n} {} ({}) at {}; {free} frames free",
                frames_word(n),
                frames_size(n),
                range(f, n)
            );
            Ok(())
        }
        Taken::TableFull => Err(format!(
            "falloc holds {MAX_FALLOCS} allocations already; ffree some first"
        )),
        Taken::NoRun { free, .. } if n > free => Err(format!("{n} frames asked, only {free} free")),
        Taken::NoRun { buddy: true, .. } if n.max(align) > 1 << MAX_ORDER => Err(format!(
            "the buddy's largest block is {} frames (order {MAX_ORDER}): no run of {n} aligned to {align}",
            1 << MAX_ORDER
        )),
        Taken::NoRun { .. } => Err(format!(
            "no run of {n} free frames aligned to {align} frames"
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
fn ffree(args: &[&str], out: &mut dyn Write) -> Outcome {
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
                "freed {len} {} ({}) at {}; {free} frames free",
                frames_word(len),
                frames_size(len),
                range(frame, len)
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
