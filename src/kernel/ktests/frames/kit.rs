//! What the frame tests share: the allocator's observable [`State`], the
//! [`Fault`]s recorded under the memory lock (no heap) and formatted after,
//! the patterned frames (`write_frame`, `read_frame`), the ranges that must
//! never be handed out (`known_reserved`, `vet`), and commands run into a
//! buffer reserved beforehand.

use crate::kassert;
use crate::kernel::boot::boot_info;
use crate::kernel::ktests::kit::run_command_with_room;
use crate::kernel::memory::{self, KernelPhys};
use crate::mm::addr::Frame;
use crate::mm::frame::plan::{FrameClass, FrameRange};
use crate::mm::frame::{AnyFrameAllocator, FrameAllocator, FrameError, ORDERS, ReserveReason};
use crate::mm::layout::{KERNEL_BASE, LOW_MEMORY_END, PAGE_SHIFT, PAGE_SIZE};
use crate::mm::phys::PhysMemory;
use alloc::format;
use alloc::string::String;
use core::fmt;

pub type Pmm = AnyFrameAllocator<'static, KernelPhys>;

/// End of the chain of taken frames.
pub const NIL: u32 = u32::MAX;
/// Words per stripe: one patterned word per 256 bytes.
const STRIPE_WORDS: usize = 64;
/// Patterned words per frame.
const STRIPES: usize = PAGE_SIZE / 4 / STRIPE_WORDS;

/// The allocator's observable state: free frames and free blocks per order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    pub free: usize,
    pub orders: [usize; ORDERS],
}

pub fn state(pmm: &Pmm) -> State {
    State {
        free: pmm.free_count(),
        orders: pmm.free_blocks_per_order(),
    }
}

/// What went wrong, recorded under the lock (no heap) and formatted after.
#[derive(Clone, Copy)]
pub enum Fault {
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
pub fn no_fault(fault: Option<Fault>) -> Result<(), String> {
    fault.map_or(Ok(()), |f| Err(format!("{f}")))
}

/// `Ok` when the allocator is back where it was (free count, blocks per
/// order) and its `check()` passed afterwards.
pub fn back_where_it_was(
    before: State,
    after: State,
    check_after: Result<(), impl fmt::Debug>,
) -> Result<(), String> {
    kassert!(
        after == before,
        "not back where it was: before {before:?}, after {after:?}"
    );
    kassert!(check_after.is_ok(), "check after: {check_after:?}");
    Ok(())
}

/// The pattern word of stripe `s` of frame `f`: a bijection of the frame
/// number (odd multiplier), different for every stripe.
fn pattern(f: u32, s: usize) -> u32 {
    f.wrapping_mul(0x9E37_79B9) ^ (s as u32).wrapping_mul(0x0101_0101) ^ 0x5A5A_A5A5
}

/// Write `link` into word 0 of `frame` and the pattern into the last word
/// of each stripe. The caller owns the frame and holds the memory lock.
pub fn write_frame(frame: Frame, link: u32) {
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
pub fn read_frame(frame: Frame) -> (u32, Option<Fault>) {
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
pub fn known_reserved(pmm: &Pmm) -> [(FrameRange, ReserveReason); 4] {
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
pub fn vet(pmm: &Pmm, known: &[(FrameRange, ReserveReason)], f: Frame) -> Option<Fault> {
    match pmm.plan().classify(f) {
        FrameClass::Usable => {}
        other => return Some(Fault::NotManaged(f, other)),
    }
    if let Some((_, why)) = known.iter().find(|(r, _)| r.contains(f)) {
        return Some(Fault::InReserved(f, why.describe()));
    }
    (!pmm.is_allocated(f)).then_some(Fault::NotMarked(f))
}

/// Run a command into a buffer reserved beforehand (so writing the output
/// does not make the heap grow and take frames).
pub fn run_command(line: &str) -> String {
    run_command_with_room(line, 16 * 1024)
}

/// The number after `key` at the start of a line of `report`.
pub fn field(report: &str, key: &str) -> Option<usize> {
    report
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
