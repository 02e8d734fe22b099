//! Take every free frame, one `allocate()` at a time, and chain the frames
//! through themselves, so the test needs no heap while it holds the memory
//! lock (the heap's grow hook takes that lock):
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

use super::kit::{
    Fault, NIL, State, back_where_it_was, field, known_reserved, no_fault, read_frame, run_command,
    state, vet, write_frame,
};
use crate::arch::x86;
use crate::kassert;
use crate::kernel::interrupts::{self, TIMER_HZ};
use crate::kernel::memory::{self, Memory};
use crate::mm::addr::Frame;
use crate::mm::frame::report::frames_size;
use crate::mm::frame::{FrameAllocator, FrameCheckError};
use crate::println;
use alloc::string::String;

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
pub fn take_every_free_frame() -> Result<(), String> {
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
    back_where_it_was(d.before, d.after, d.check_after)
}
