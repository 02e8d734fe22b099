//! Reports the shell prints about a buddy heap: ShompOS's `p` lines, the
//! `heap` table, `heapcheck`, and the `heapmap` model (one cell per minimum
//! block, or per larger power of two to fit a screen).
//!
//! ```text
//!   heapmap of a 1 KiB playground after `4` and `9` (one cell = 16 bytes):
//!   @+++.+......+..............+..............................@#####...
//!   ^ used scale 4, then free blocks of scales 4, 5, 6, 7, 8; used 9
//!   legend: @ used block start  # used   + free block start  . free
//! ```

use core::fmt::{self, Write};

use super::buddy::{BuddyHeap, CheckError, CheckReport, FreeCounts, Scale};

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

/// What a heapmap cell holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellState {
    /// Only free blocks.
    Free,
    /// Only used blocks.
    Used,
    /// Both (only when a cell is larger than the minimum block).
    Mixed,
}

/// One heapmap cell: `2^cell_scale` bytes of the heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    pub state: CellState,
    /// A block (its header) starts in this cell: a split boundary to draw.
    pub block_start: bool,
    /// Scale of the block covering the cell's first byte.
    pub scale: Scale,
}

impl Cell {
    /// One character for text dumps: `@` used start, `#` used, `+` free
    /// start, `.` free, `%` mixed.
    pub fn glyph(&self) -> char {
        match (self.state, self.block_start) {
            (CellState::Used, true) => '@',
            (CellState::Used, false) => '#',
            (CellState::Free, true) => '+',
            (CellState::Free, false) => '.',
            (CellState::Mixed, _) => '%',
        }
    }
}

/// The heapmap cells of `heap`, lowest address first, each `2^cell_scale`
/// bytes (at least the heap's minimum block). See [`cells`].
pub struct Cells<'a> {
    heap: &'a BuddyHeap,
    blocks: super::buddy::Blocks<'a>,
    cell: usize,
    /// Address of the next cell.
    at: usize,
    /// The block holding `at` (or the last one seen): (addr, end, free, scale).
    cur: Option<(usize, usize, bool, Scale)>,
}

/// The cells of the heap's blocks, each `2^cell_scale` bytes; a `cell_scale`
/// below the heap's minimum scale is raised to it. Cells sit on the block
/// grid (see [`first_cell_addr`]), so a block of at least one cell starts
/// exactly at the start of a cell, never inside the one before.
pub fn cells(heap: &BuddyHeap, cell_scale: u8) -> Cells<'_> {
    let cell_scale = cell_scale.max(heap.min_scale().0);
    Cells {
        heap,
        blocks: heap.blocks(),
        cell: 1 << cell_scale,
        at: first_cell_addr(heap, cell_scale),
        cur: None,
    }
}

/// Address of the first cell of `2^cell_scale` bytes: the heap's start
/// rounded down to a multiple of the cell size from the grid origin. The
/// heap may start past it (its first block sits a few bytes above the
/// origin), so the first cell can begin below the heap's first byte.
///
/// ```text
///   origin (page - 9)   start (origin + 16)
///   v                   v
///   |<------------- cell 0 ------------->|<------------- cell 1 ---...
///   |...not heap...|[16][32]... blocks   |[block at offset 2^cell_scale]
/// ```
pub fn first_cell_addr(heap: &BuddyHeap, cell_scale: u8) -> usize {
    let cell_scale = cell_scale.max(heap.min_scale().0);
    let origin = heap.origin_addr();
    let offset = heap.start_addr() - origin;
    origin + (offset & !((1usize << cell_scale) - 1))
}

/// The smallest cell scale that shows the whole heap in at most `max_cells`
/// cells (at least the minimum scale).
pub fn cell_scale_to_fit(heap: &BuddyHeap, max_cells: usize) -> u8 {
    let mut s = heap.min_scale().0;
    let count = |s: u8| (heap.end_addr() - first_cell_addr(heap, s)).div_ceil(1 << s);
    while s < 31 && count(s) > max_cells.max(1) {
        s += 1;
    }
    s
}

impl Iterator for Cells<'_> {
    type Item = Cell;
    fn next(&mut self) -> Option<Cell> {
        let end = self.heap.end_addr();
        if self.at >= end {
            return None;
        }
        let cell_end = (self.at + self.cell).min(end);
        let mut state: Option<CellState> = None;
        let mut start = false;
        let mut scale = None;
        // Blocks tile the heap: walk those overlapping [at, cell_end) (the
        // first cell may begin below the heap's first block).
        let mut pos = self.at.max(self.heap.start_addr());
        while pos < cell_end {
            let (addr, bend, free, s) = match self.cur {
                Some(c) if c.1 > pos => c,
                _ => match self.blocks.next() {
                    Some(b) => {
                        let c = (b.addr, b.addr + b.scale.bytes(), b.free, b.scale);
                        self.cur = Some(c);
                        c
                    }
                    None => break,
                },
            };
            start |= addr >= self.at;
            scale.get_or_insert(s);
            let here = if free {
                CellState::Free
            } else {
                CellState::Used
            };
            state = Some(match state {
                Some(st) if st != here => CellState::Mixed,
                _ => here,
            });
            pos = bend;
        }
        self.at = cell_end;
        Some(Cell {
            state: state?,
            block_start: start,
            scale: scale?,
        })
    }
}

/// A text heapmap: `width` cells per line, each line prefixed with its
/// address, then the legend.
pub fn write_heapmap(
    heap: &BuddyHeap,
    cell_scale: u8,
    width: usize,
    out: &mut impl Write,
) -> fmt::Result {
    let cell_scale = cell_scale.max(heap.min_scale().0);
    let width = width.max(1);
    let mut addr = first_cell_addr(heap, cell_scale);
    for (i, c) in cells(heap, cell_scale).enumerate() {
        if i % width == 0 {
            if i > 0 {
                writeln!(out)?;
            }
            write!(out, "{addr:#010x} ")?;
        }
        out.write_char(c.glyph())?;
        addr += 1 << cell_scale;
    }
    writeln!(out)?;
    writeln!(
        out,
        "one cell = {} bytes; @ used block start  # used  + free block start  . free  % mixed",
        1usize << cell_scale
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::heap::buddy::{MAX_ALIGN, grid_base};
    use alloc::string::String;
    use alloc::vec::Vec;

    const REGION: usize = BuddyHeap::region_for(1024, 4);
    struct Buf([u8; REGION + MAX_ALIGN]);

    fn heap(buf: &mut Buf) -> BuddyHeap {
        let base = grid_base(buf.0.as_mut_ptr());
        // SAFETY: base..base+REGION lies in the buffer, which outlives the heap.
        unsafe { BuddyHeap::new(base, REGION, 4, 10).unwrap() }
    }

    #[test]
    fn heapmap_after_4_and_9_shows_the_splits() {
        let mut buf = Buf([0; REGION + MAX_ALIGN]);
        let mut h = heap(&mut buf);
        h.allocate(1).unwrap();
        h.allocate(248).unwrap();
        let map: String = cells(&h, 4).map(|c| c.glyph()).collect();
        assert_eq!(map.len(), 64);
        // scale 4 used, free 4, 5 (2 cells), 6 (4), 7 (8), 8 (16), used 9 (32).
        let want = String::from("@+")
            + "+."
            + "+..."
            + "+......."
            + "+..............."
            + "@"
            + &"#".repeat(31);
        assert_eq!(map, want);
        let starts: Vec<_> = cells(&h, 4)
            .enumerate()
            .filter(|(_, c)| c.block_start)
            .map(|(i, c)| (i, c.scale.0))
            .collect();
        assert_eq!(
            starts,
            [(0, 4), (1, 4), (2, 5), (4, 6), (8, 7), (16, 8), (32, 9)]
        );
    }

    #[test]
    fn larger_cells_mix_states() {
        let mut buf = Buf([0; REGION + MAX_ALIGN]);
        let mut h = heap(&mut buf);
        h.allocate(1).unwrap();
        // 8 cells of 128 bytes: the first holds the used 16 and free blocks.
        let c: Vec<Cell> = cells(&h, 7).collect();
        assert_eq!(c.len(), 8);
        assert_eq!(c[0].state, CellState::Mixed);
        assert!(c[0].block_start);
        assert_eq!(c[1].state, CellState::Free); // the free scale-7 block
        assert!(c[1].block_start);
        assert_eq!((c[2].state, c[2].block_start), (CellState::Free, true)); // scale 8
        assert_eq!((c[3].state, c[3].block_start), (CellState::Free, false));
        assert_eq!(cell_scale_to_fit(&h, 8), 7);
        assert_eq!(cell_scale_to_fit(&h, 1000), 4);
        let mut text = String::new();
        write_heapmap(&h, 7, 4, &mut text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with(" %++."), "{text}");
        assert!(lines[1].ends_with(" +..."), "{text}");
        assert!(lines[2].starts_with("one cell = 128 bytes"));
    }

    /// A heap over a page-aligned base, as the kernel heap is: the grid
    /// origin sits 9 bytes below the base and the first block 16 bytes above
    /// the origin, so cells counted from the first block would straddle the
    /// grid. For every cell size, the cell holding each block's start marker
    /// covers that block's first byte, and every marker stands for a block.
    #[test]
    fn every_block_start_sits_in_the_cell_covering_its_first_byte() {
        const LEN: usize = BuddyHeap::region_for(8192, 4);
        let mut buf = alloc::vec![0u8; LEN + 2 * MAX_ALIGN];
        let base = buf
            .as_mut_ptr()
            .wrapping_add(buf.as_ptr().addr().wrapping_neg() % MAX_ALIGN);
        // SAFETY: base..base+LEN lies in the buffer, which outlives the heap.
        let mut h = unsafe { BuddyHeap::new(base, LEN, 4, 13).unwrap() };
        assert_ne!(
            h.start_addr(),
            h.origin_addr(),
            "the test needs an offset start"
        );
        for size in [1, 100, 3000, 40, 1000, 9] {
            h.allocate(size).unwrap();
        }
        let blocks: Vec<(usize, usize)> = h
            .blocks()
            .map(|b| (b.addr, b.addr + b.scale.bytes()))
            .collect();
        assert!(blocks.iter().any(|&(a, e)| e - a >= 1024), "big blocks too");
        for cell_scale in 4..=13u8 {
            let cell = 1usize << cell_scale;
            let first = first_cell_addr(&h, cell_scale);
            assert!(first <= h.start_addr() && h.start_addr() < first + cell);
            let cs: Vec<Cell> = cells(&h, cell_scale).collect();
            assert!(
                first + cs.len() * cell >= h.end_addr(),
                "scale {cell_scale}"
            );
            for (i, c) in cs.iter().enumerate() {
                let (lo, hi) = (first + i * cell, first + (i + 1) * cell);
                let starts_here = blocks.iter().any(|&(a, _)| lo <= a && a < hi);
                assert_eq!(
                    c.block_start, starts_here,
                    "scale {cell_scale} cell {i} at {lo:#x}"
                );
                // A block as large as a cell begins exactly at a cell start.
                for &(a, e) in &blocks {
                    if e - a >= cell && lo <= a && a < hi {
                        assert_eq!(
                            a, lo,
                            "scale {cell_scale}: block {a:#x} inside cell {lo:#x}"
                        );
                    }
                }
            }
            // The text map labels each row with its first cell's address.
            let mut text = String::new();
            write_heapmap(&h, cell_scale, 8, &mut text).unwrap();
            let first_row = text.lines().next().unwrap();
            assert!(
                first_row.starts_with(&alloc::format!("{first:#010x} ")),
                "{text}"
            );
        }
    }

    #[test]
    fn report_lists_every_scale_with_totals() {
        let mut buf = Buf([0; REGION + MAX_ALIGN]);
        let mut h = heap(&mut buf);
        h.allocate(100).unwrap(); // scale 7
        let mut text = String::new();
        write_report(&h, &mut text).unwrap();
        assert!(text.contains("scales 4..A (16..1024 bytes)"), "{text}");
        let row7 = text
            .lines()
            .find(|l| l.trim_start().starts_with("7 "))
            .unwrap();
        let cols: Vec<&str> = row7.split_whitespace().collect();
        assert_eq!(cols, ["7", "128", "1", "128"]);
        assert!(
            text.contains(
                "free: 896 bytes in 3 blocks; used: 128 bytes in 1 blocks (100 requested)"
            ),
            "{text}"
        );
        let mut ok = String::new();
        write_check(&h, &mut ok).unwrap();
        assert!(ok.starts_with("heap ok: 4 blocks, 3 free (896 bytes), 1 used"));
    }
}
