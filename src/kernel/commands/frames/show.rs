//! `frames [dump|check|draw ...]` and `buddyinfo`: what the physical
//! memory manager holds, written under the memory lock into a buffer
//! reserved beforehand and printed after.

use super::fallocs::{parse_frames, write_held};
use super::report::report_under_lock;
use crate::kernel::commands::kit::{Outcome, at_most};
use crate::mm::addr::Frame;
use crate::mm::frame::report::FrameCount;
use crate::mm::frame::{AnyFrameAllocator, FrameAllocator, FrameCheckError, MAX_ORDER};
use alloc::format;
use alloc::string::String;
use core::fmt::Write;

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
            "{} at order {order} do not fit: 1..={} columns",
            FrameCount(count),
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
pub fn frames(args: &[&str], out: &mut dyn Write) -> Outcome {
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
            write_held(w);
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
pub fn buddyinfo(args: &[&str], out: &mut dyn Write) -> Outcome {
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
