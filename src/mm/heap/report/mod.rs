//! Reports the shell prints about a buddy heap: ShompOS's `p` lines, the
//! `heap` table and its totals, `heapcheck`'s verdict; and (in [`map`])
//! the `heapmap` model.
//!
//! ```text
//!   p          free_block counts:
//!              C free blocks of scale X     (per scale; X in upper-case hex)
//!   heapcheck  one verdict line from BuddyHeap::check
//! ```

mod map;

pub use map::{Cell, CellState, Cells, cell_scale_to_fit, cells, first_cell_addr, write_heapmap};

use core::fmt::{self, Write};

use super::buddy::{BuddyHeap, CheckError, CheckReport, FreeCounts};

/// ShompOS's `p` output: `free_block counts:` then `C free blocks of scale X`
/// for each scale, smallest first (C decimal, X upper-case hex).
pub fn write_free_counts(heap: &BuddyHeap, out: &mut impl Write) -> fmt::Result {
    writeln!(out, "free_block counts:")?;
    for (scale, count) in heap.free_counts().iter() {
        writeln!(out, "{count} free blocks of scale {scale}")?;
    }
    Ok(())
}

/// The `heap` command: per scale the block size, free blocks and free bytes,
/// then totals of free, used and requested bytes.
pub fn write_report(heap: &BuddyHeap, out: &mut impl Write) -> fmt::Result {
    let counts = heap.free_counts();
    writeln!(
        out,
        "buddy heap {:#x}..{:#x}: {} bytes in blocks, scales {}..{} ({}..{} bytes)",
        heap.start_addr(),
        heap.end_addr(),
        heap.heap_bytes(),
        heap.min_scale(),
        heap.max_scale(),
        heap.min_scale().bytes(),
        heap.max_scale().bytes()
    )?;
    if heap.unbacked_bytes() > 0 {
        writeln!(
            out,
            "arena reserved up to {:#x}: {} bytes not backed yet",
            heap.arena_end_addr(),
            heap.unbacked_bytes()
        )?;
    }
    writeln!(out, "scale       bytes  free blocks   free bytes")?;
    for (scale, count) in counts.iter() {
        writeln!(
            out,
            "{:>5} {:>11} {:>12} {:>12}",
            scale,
            scale.bytes(),
            count,
            count * scale.bytes()
        )?;
    }
    write_totals(out, &counts, UsedCounts::of(heap))
}

/// What a buddy heap has handed out: used blocks, their bytes, and the
/// bytes their callers asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsedCounts {
    /// Used blocks.
    pub blocks: usize,
    /// Bytes of the used blocks (whole blocks).
    pub bytes: usize,
    /// Bytes asked for, where the heap recorded it.
    pub requested: usize,
}

impl UsedCounts {
    /// Count the used blocks of `heap` (one walk over its blocks).
    pub fn of(heap: &BuddyHeap) -> UsedCounts {
        let mut used = UsedCounts::default();
        for b in heap.blocks().filter(|b| !b.free) {
            used.blocks += 1;
            used.bytes += b.scale.bytes();
            used.requested += b.requested.unwrap_or(0);
        }
        used
    }
}

/// The closing line of the `heap` table: `free: N bytes in N blocks; used:
/// N bytes in N blocks (N requested)`.
pub fn write_totals<W: Write + ?Sized>(
    out: &mut W,
    free: &FreeCounts,
    used: UsedCounts,
) -> fmt::Result {
    writeln!(
        out,
        "free: {} bytes in {} blocks; used: {} bytes in {} blocks ({} requested)",
        free.total_bytes(),
        free.total_blocks(),
        used.bytes,
        used.blocks,
        used.requested
    )
}

/// The `heapcheck` command: `heap ok: ...` with the counts, or the fault.
pub fn write_check(heap: &BuddyHeap, out: &mut impl Write) -> Result<(), CheckError> {
    let r = heap.check();
    write_verdict(out, &r);
    r.map(|_| ())
}

/// A `check()` result as text, without a line end: `heap ok: N blocks,
/// ...` with the counts, or `heap CORRUPT: why`.
pub struct Verdict<'a>(pub &'a Result<CheckReport, CheckError>);

impl fmt::Display for Verdict<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(r) => write!(
                f,
                "heap ok: {} blocks, {} free ({} bytes), {} used ({} bytes, {} requested)",
                r.blocks,
                r.free_blocks,
                r.free_bytes,
                r.used_blocks,
                r.used_bytes,
                r.requested_bytes
            ),
            Err(e) => write!(f, "heap CORRUPT: {e}"),
        }
    }
}

/// One line for a `check()` result (the [`Verdict`]); true when ok.
pub fn write_verdict<W: Write + ?Sized>(out: &mut W, r: &Result<CheckReport, CheckError>) -> bool {
    let _ = writeln!(out, "{}", Verdict(r));
    r.is_ok()
}

#[cfg(test)]
mod tests;
