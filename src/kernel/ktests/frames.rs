//! In-kernel tests of the physical memory manager, on the real memory map
//! and real RAM. They run under every `make test-kernel` configuration
//! (16M, 128M, 3G, pmm=bitmap, pmm=freelist, heap=...).
//!
//! The central one takes every free frame, one `allocate()` at a time, and
//! chains the frames through themselves, so it needs no heap while it holds
//! the memory lock (the heap's grow hook takes that lock):
//!
//! ```text
//!   head ──> ┌ frame f_n ──────┐    ┌ frame f_n-1 ────┐         ┌ frame f_1 ──────┐
//!            │ w0    = f_n-1   │──> │ w0    = f_n-2   │── ... ─>│ w0    = NIL     │
//!            │ w63   = pat(0)  │    │ w63   = pat(0)  │         │ ...             │
//!            │ ...   one word  │    │ ...             │         │                 │
//!            │ w1023 = pat(15) │    │ w1023 = pat(15) │         │                 │
//!            └─────────────────┘    └─────────────────┘         └─────────────────┘
//!   pat(s) depends on the frame number and the stripe s: two frames that
//!   alias the same RAM, or a window that maps the wrong frame, break it.
//! ```
//!
//! Every frame is written through `KernelPhys::frame_ptr` (the linear space
//! below 768 MiB, the one-page window above). One word per 256 bytes, not
//! the whole frame: writing and reading all 3 GiB under QEMU's TCG would take
//! far longer than the 60 s test budget; each frame is still touched 17 times.

use crate::arch::x86;
use crate::kassert;
use crate::kernel::boot::boot_info;
use crate::kernel::interrupts::{self, TIMER_HZ};
use crate::kernel::ktests::kit::{Test, run_command_with_room};
use crate::kernel::memory::{self, KernelPhys, Memory};
use crate::mm::addr::{Frame, PhysAddr};
use crate::mm::frame::plan::{FrameClass, FrameRange};
use crate::mm::frame::report::frames_size;
use crate::mm::frame::{
    AnyFrameAllocator, FrameAllocator, FrameCheckError, FrameError, MAX_ORDER, ORDERS, PmmChoice,
    ReserveReason,
};
use crate::mm::layout::{KERNEL_BASE, LOW_MEMORY_END, PAGE_SHIFT, PAGE_SIZE};
use crate::mm::phys::PhysMemory;
use crate::println;
use alloc::format;
use alloc::string::String;
use core::fmt;

pub static TESTS: &[Test] = &[
    Test {
        name: "frames_reports_agree_with_the_allocator",
        run: reports_agree,
    },
    Test {
        name: "frames_take_every_free_frame",
        run: take_every_free_frame,
    },
    Test {
        name: "frames_contiguous_runs_with_alignment",
        run: contiguous_runs,
    },
    Test {
        name: "frames_bad_frees_refused_and_nothing_changed",
        run: bad_frees,
    },
    Test {
        name: "frames_reserved_ranges_never_handed_out",
        run: reserved_ranges,
    },
    Test {
        name: "frames_falloc_ffree_commands",
        run: falloc_ffree_commands,
    },
];

type Pmm = AnyFrameAllocator<'static, KernelPhys>;

/// End of the chain of taken frames.
const NIL: u32 = u32::MAX;
/// Words per stripe: one patterned word per 256 bytes.
const STRIPE_WORDS: usize = 64;
/// Patterned words per frame.
const STRIPES: usize = PAGE_SIZE / 4 / STRIPE_WORDS;

/// The allocator's observable state: free frames and free blocks per order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct State {
    free: usize,
    orders: [usize; ORDERS],
}

fn state(pmm: &Pmm) -> State {
    State {
        free: pmm.free_count(),
        orders: pmm.free_blocks_per_order(),
    }
}

/// What went wrong, recorded under the lock (no heap) and formatted after.
#[derive(Clone, Copy)]
enum Fault {
    /// The allocator handed out a frame the plan does not manage.
    NotManaged(Frame, FrameClass),
    /// It handed out a frame of a range known to be reserved.
    InReserved(Frame, &'static str),
    /// A frame it handed out is not marked allocated.
    NotMarked(Frame),
    /// More frames came out than were free.
    TooMany(usize),
    /// A patterned word did not hold what was written.
    Pattern {
        frame: Frame,
        word: usize,
        got: u32,
        want: u32,
    },
    /// Freeing a frame or run it handed out failed or freed the wrong length.
    Release(Frame, Result<usize, FrameError>),
    /// The chain of taken frames is longer than the number taken.
    ChainTooLong,
    /// A run is misaligned, overlaps an earlier one, or was not found.
    Run(&'static str, usize, usize),
    /// A request that must be refused got a frame.
    Accepted(&'static str, Frame),
    /// A call expected to fail succeeded or failed for another reason.
    Expected(&'static str, Result<usize, FrameError>, FrameError),
    /// A call that must change nothing changed the allocator.
    Changed(&'static str),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Fault::NotManaged(fr, class) => write!(f, "handed out {fr:?}, which is {class:?}"),
            Fault::InReserved(fr, why) => write!(f, "handed out {fr:?}, inside the {why}"),
            Fault::NotMarked(fr) => write!(f, "handed out {fr:?} but it is not marked allocated"),
            Fault::TooMany(n) => write!(f, "handed out {n} frames, more than were free"),
            Fault::Pattern {
                frame,
                word,
                got,
                want,
            } => write!(
                f,
                "{frame:?} word {word}: read {got:#010x}, wrote {want:#010x}"
            ),
            Fault::Release(fr, r) => write!(f, "release({fr:?}) gave {r:?}"),
            Fault::ChainTooLong => f.write_str("the chain of taken frames is longer than taken"),
            Fault::Run(what, n, align) => write!(f, "run of {n} aligned to {align}: {what}"),
            Fault::Expected(what, got, want) => {
                write!(f, "{what}: expected Err({want:?}), got {got:?}")
            }
            Fault::Accepted(what, fr) => write!(f, "{what}: got {fr:?}"),
            Fault::Changed(what) => write!(f, "{what}: the allocator changed"),
        }
    }
}

/// `Ok` when nothing went wrong, else the first fault as the test's message.
fn no_fault(fault: Option<Fault>) -> Result<(), String> {
    fault.map_or(Ok(()), |f| Err(format!("{f}")))
}

/// The pattern word of stripe `s` of frame `f`: a bijection of the frame
/// number (odd multiplier), different for every stripe.
fn pattern(f: u32, s: usize) -> u32 {
    f.wrapping_mul(0x9E37_79B9) ^ (s as u32).wrapping_mul(0x0101_0101) ^ 0x5A5A_A5A5
}

/// Write `link` into word 0 of `frame` and the pattern into the last word
/// of each stripe. The caller owns the frame and holds the memory lock.
fn write_frame(frame: Frame, link: u32) {
    let p = KernelPhys.frame_ptr(frame) as *mut u32;
    // SAFETY: the frame was just handed to this test by the PMM, so nothing
    // else uses it; `frame_ptr` maps it (linear space or window, which the
    // held memory lock keeps ours); every index is below PAGE_SIZE / 4.
    unsafe {
        p.write_volatile(link);
        for s in 0..STRIPES {
            p.add(s * STRIPE_WORDS + STRIPE_WORDS - 1)
                .write_volatile(pattern(frame.0, s));
        }
    }
}

/// Read back word 0 of `frame` and check its pattern: the link, and the
/// first broken word if any.
fn read_frame(frame: Frame) -> (u32, Option<Fault>) {
    let p = KernelPhys.frame_ptr(frame) as *const u32;
    let mut bad = None;
    // SAFETY: as in `write_frame`: the frame is still ours, mapped, in bounds.
    let link = unsafe { p.read_volatile() };
    for s in 0..STRIPES {
        let word = s * STRIPE_WORDS + STRIPE_WORDS - 1;
        // SAFETY: as above.
        let got = unsafe { p.add(word).read_volatile() };
        let want = pattern(frame.0, s);
        if got != want && bad.is_none() {
            bad = Some(Fault::Pattern {
                frame,
                word,
                got,
                want,
            });
        }
    }
    (link, bad)
}

/// Ranges that must never be handed out, found from their own sources (the
/// linker symbols, the boot information), not from the plan; plus the
/// plan's metadata. Each with the reason the plan must give it.
fn known_reserved(pmm: &Pmm) -> [(FrameRange, ReserveReason); 4] {
    let (start, _, _, end) = memory::image();
    let (mbi_start, mbi_end) = boot_info().info_range;
    let covering = |s: u64, len: u64| FrameRange::covering(s, len).unwrap_or(FrameRange::new(0, 0));
    [
        (
            FrameRange::new(0, LOW_MEMORY_END >> PAGE_SHIFT),
            ReserveReason::LowMemory,
        ),
        (
            covering((start - KERNEL_BASE) as u64, (end - start) as u64),
            ReserveReason::KernelImage,
        ),
        (
            covering(mbi_start as u64, (mbi_end - mbi_start) as u64),
            ReserveReason::MultibootInfo,
        ),
        (pmm.plan().metadata(), ReserveReason::Metadata),
    ]
}

/// The reasons a frame handed out may be wrong, or `None`.
fn vet(pmm: &Pmm, known: &[(FrameRange, ReserveReason)], f: Frame) -> Option<Fault> {
    match pmm.plan().classify(f) {
        FrameClass::Usable => {}
        other => return Some(Fault::NotManaged(f, other)),
    }
    if let Some((_, why)) = known.iter().find(|(r, _)| r.contains(f)) {
        return Some(Fault::InReserved(f, why.describe()));
    }
    (!pmm.is_allocated(f)).then_some(Fault::NotMarked(f))
}

/// Cycles of the time-stamp counter per millisecond, measured against five
/// timer ticks (interrupts must be on).
fn tsc_per_ms() -> u64 {
    let ticks = || interrupts::ticks();
    let t = ticks();
    while ticks() == t {
        x86::enable_interrupts_and_hlt();
    }
    let (t0, c0) = (ticks(), x86::rdtsc());
    while ticks() < t0 + 5 {
        x86::enable_interrupts_and_hlt();
    }
    let ms = 5 * 1000 / TIMER_HZ as u64;
    ((x86::rdtsc() - c0) / ms).max(1)
}

/// Run a command into a buffer reserved beforehand (so writing the output
/// does not make the heap grow and take frames).
fn run_command(line: &str) -> String {
    run_command_with_room(line, 16 * 1024)
}

/// The number after `key` at the start of a line of `report`.
fn field(report: &str, key: &str) -> Option<usize> {
    report
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

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
fn reports_agree() -> Result<(), String> {
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

/// What the drain saw, recorded under the lock.
struct Drain {
    before: State,
    check_before: Result<(), FrameCheckError>,
    taken: usize,
    free_when_empty: usize,
    one_more: bool,
    after: State,
    check_after: Result<(), FrameCheckError>,
    fault: Option<Fault>,
    cycles_take: u64,
    cycles_give: u64,
}

/// Take every free frame one by one, chain and pattern them, check the
/// chain, and release every frame. Allocates nothing from the heap.
fn drain(m: &mut Memory) -> Drain {
    let pmm = &mut m.frames;
    let known = known_reserved(pmm);
    let before = state(pmm);
    let check_before = pmm.check();
    let mut fault = None;
    let t0 = x86::rdtsc();
    let (mut head, mut taken) = (NIL, 0);
    while let Some(f) = pmm.allocate() {
        taken += 1;
        if fault.is_none() {
            fault = vet(pmm, &known, f);
        }
        write_frame(f, head);
        head = f.0;
        if taken > before.free {
            fault.get_or_insert(Fault::TooMany(taken));
            break;
        }
    }
    let free_when_empty = pmm.free_count();
    // Nothing is left, not even as a "run" of one.
    let one_more = match pmm.allocate_contiguous(1, 1) {
        Some(f) => {
            write_frame(f, head);
            head = f.0;
            taken += 1;
            true
        }
        None => false,
    };
    let t1 = x86::rdtsc();
    let mut walked = 0;
    while head != NIL {
        let f = Frame(head);
        let (next, bad) = read_frame(f);
        if let Some(b) = bad {
            fault.get_or_insert(b);
        }
        match pmm.release(f) {
            Ok(1) => {}
            other => {
                fault.get_or_insert(Fault::Release(f, other));
            }
        }
        head = next;
        walked += 1;
        if walked > taken {
            fault.get_or_insert(Fault::ChainTooLong);
            break;
        }
    }
    let t2 = x86::rdtsc();
    Drain {
        before,
        check_before,
        taken,
        free_when_empty,
        one_more,
        after: state(pmm),
        check_after: pmm.check(),
        fault,
        cycles_take: t1 - t0,
        cycles_give: t2 - t1,
    }
}

/// Take every free frame one by one: as many as `frames` reported free,
/// none reserved, each patterned and read back, all freed, and the
/// allocator back where it was (free count, blocks per order, `check()`).
fn take_every_free_frame() -> Result<(), String> {
    let reported = field(&run_command("frames"), "free ");
    let per_ms = tsc_per_ms();
    let d = memory::with(drain);
    let ms = |c: u64| c / per_ms;
    println!(
        "  took {} frames ({}) one by one, wrote and read them, freed them: {} ms (take+write {} ms, read+free {} ms)",
        d.taken,
        frames_size(d.taken),
        ms(d.cycles_take + d.cycles_give),
        ms(d.cycles_take),
        ms(d.cycles_give)
    );
    no_fault(d.fault)?;
    kassert!(d.check_before.is_ok(), "check before: {:?}", d.check_before);
    kassert!(
        reported == Some(d.before.free),
        "`frames` reported {reported:?} free, the allocator had {}",
        d.before.free
    );
    kassert!(
        d.taken == d.before.free,
        "took {} frames, {} were free",
        d.taken,
        d.before.free
    );
    kassert!(
        d.free_when_empty == 0 && !d.one_more,
        "after taking everything: free count {}, one more frame: {}",
        d.free_when_empty,
        d.one_more
    );
    kassert!(
        d.after == d.before,
        "not back where it was: before {:?}, after {:?}",
        d.before,
        d.after
    );
    kassert!(d.check_after.is_ok(), "check after: {:?}", d.check_after);
    Ok(())
}

/// Runs asked for by (count, align): all held at once.
const RUNS: [(usize, usize); 9] = [
    (1, 1),
    (2, 2),
    (3, 1),
    (5, 8),
    (16, 1),
    (16, 16),
    (64, 64),
    (100, 1),
    (256, 256),
];

/// What the run test saw, recorded under the lock.
struct Runs {
    before: State,
    after: State,
    check_held: Result<(), FrameCheckError>,
    check_after: Result<(), FrameCheckError>,
    fault: Option<Fault>,
}

fn take_runs(m: &mut Memory) -> Runs {
    let pmm = &mut m.frames;
    let known = known_reserved(pmm);
    let before = state(pmm);
    let mut fault = None;
    let mut got: [Option<Frame>; RUNS.len()] = [None; RUNS.len()];
    for (i, &(n, align)) in RUNS.iter().enumerate() {
        let Some(f) = pmm.allocate_contiguous(n, align) else {
            fault.get_or_insert(Fault::Run("no run found", n, align));
            break;
        };
        got[i] = Some(f);
        if !(f.0 as usize).is_multiple_of(align) {
            fault.get_or_insert(Fault::Run("misaligned", n, align));
        }
        let overlaps = RUNS[..i]
            .iter()
            .zip(&got[..i])
            .any(|(&(m, _), g)| g.is_some_and(|g| f.0 < g.0 + m as u32 && g.0 < f.0 + n as u32));
        if overlaps {
            fault.get_or_insert(Fault::Run("overlaps an earlier run", n, align));
        }
        for k in 0..n as u32 {
            let frame = Frame(f.0 + k);
            if let Some(bad) = vet(pmm, &known, frame) {
                fault.get_or_insert(bad);
            }
            write_frame(frame, i as u32);
        }
    }
    let check_held = pmm.check();
    // Refused without a change: an alignment that is not a power of two,
    // more than is free, and (buddy) more than its largest block.
    let held = state(pmm);
    let mut refuse = |what: &'static str, r: Option<Frame>, pmm: &Pmm| {
        if let Some(f) = r {
            fault.get_or_insert(Fault::Accepted(what, f));
        } else if state(pmm) != held {
            fault.get_or_insert(Fault::Changed(what));
        }
    };
    let r = pmm.allocate_contiguous(4, 3);
    refuse("align 3 accepted", r, pmm);
    let r = pmm.allocate_contiguous(held.free + 1, 1);
    refuse("more than free accepted", r, pmm);
    if matches!(pmm, AnyFrameAllocator::Buddy(_)) {
        let r = pmm.allocate_contiguous((1 << MAX_ORDER) + 1, 1);
        refuse("buddy run past order 10 accepted", r, pmm);
    }
    // Read back, then free the odd runs first, then the even ones.
    for (i, g) in got.iter().enumerate() {
        if let Some(f) = g {
            for k in 0..RUNS[i].0 as u32 {
                let (link, bad) = read_frame(Frame(f.0 + k));
                if let Some(b) = bad {
                    fault.get_or_insert(b);
                }
                if link != i as u32 {
                    fault.get_or_insert(Fault::Run("pattern overwritten", RUNS[i].0, RUNS[i].1));
                }
            }
        }
    }
    for i in (1..RUNS.len()).step_by(2).chain((0..RUNS.len()).step_by(2)) {
        if let Some(f) = got[i] {
            match pmm.release(f) {
                Ok(n) if n == RUNS[i].0 => {}
                other => {
                    fault.get_or_insert(Fault::Release(f, other));
                }
            }
        }
    }
    Runs {
        before,
        after: state(pmm),
        check_held,
        check_after: pmm.check(),
        fault,
    }
}

/// Contiguous runs of several sizes and alignments, held at the same time:
/// aligned, managed, disjoint, each frame its own; bad requests refused;
/// after freeing them in another order the allocator is as before.
fn contiguous_runs() -> Result<(), String> {
    let r = memory::with(take_runs);
    no_fault(r.fault)?;
    kassert!(
        r.check_held.is_ok(),
        "check with runs held: {:?}",
        r.check_held
    );
    kassert!(
        r.after == r.before,
        "not back where it was: before {:?}, after {:?}",
        r.before,
        r.after
    );
    kassert!(r.check_after.is_ok(), "check after: {:?}", r.check_after);
    Ok(())
}

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
fn bad_frees() -> Result<(), String> {
    let r = memory::with(try_bad_frees);
    no_fault(r.fault)?;
    kassert!(
        r.after == r.before,
        "not back where it was: before {:?}, after {:?}",
        r.before,
        r.after
    );
    kassert!(r.check_after.is_ok(), "check after: {:?}", r.check_after);
    Ok(())
}

/// The reserved ranges: low memory, the kernel image (from the linker
/// symbols), the multiboot2 information (from the boot information) and the
/// metadata are each listed in the plan with their reason, lie outside
/// every managed range, and none of their frames is allocated or can be
/// freed. Reservations may overlap (GRUB may put the boot information in
/// the gap after the kernel's text, inside the image's last text frame).
/// `frames_take_every_free_frame` checks that no frame handed out lies in them.
fn reserved_ranges() -> Result<(), String> {
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

/// The start address `falloc` printed (`... at P0x00210000-P0x...`).
fn falloc_address(out: &str) -> Option<u32> {
    let at = out.find(" at P0x")? + " at P0x".len();
    u32::from_str_radix(out.get(at..at + 8)?, 16).ok()
}

/// `falloc 16 16` then `ffree` then a double `ffree`; bad `falloc`/`ffree`
/// arguments; `ffree` refuses a frame the kernel uses (its page directory).
fn falloc_ffree_commands() -> Result<(), String> {
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
