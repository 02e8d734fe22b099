//! Contiguous runs of several sizes and alignments, held at the same time,
//! and the requests for runs that must be refused.

use super::kit::{
    Fault, Pmm, State, back_where_it_was, known_reserved, no_fault, read_frame, state, vet,
    write_frame,
};
use crate::kassert;
use crate::kernel::memory::{self, Memory};
use crate::mm::addr::Frame;
use crate::mm::frame::{AnyFrameAllocator, FrameAllocator, FrameCheckError, MAX_ORDER};
use alloc::string::String;

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
pub fn contiguous_runs() -> Result<(), String> {
    let r = memory::with(take_runs);
    no_fault(r.fault)?;
    kassert!(
        r.check_held.is_ok(),
        "check with runs held: {:?}",
        r.check_held
    );
    back_where_it_was(r.before, r.after, r.check_after)
}
