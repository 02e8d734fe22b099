//! The `heapmap` model of a buddy heap: one cell per minimum block, or
//! per larger power of two to fit a screen, each free, used or mixed, with
//! the starts of blocks marked so the splits show.
//!
//! ```text
//!   heapmap of a 1 KiB playground after `4` and `9` (one cell = 16 bytes):
//!   @+++.+......+..............+..............................@#####...
//!   ^ used scale 4, then free blocks of scales 4, 5, 6, 7, 8; used 9
//!   legend: @ used block start  # used   + free block start  . free
//! ```

use crate::mm::heap::buddy::{BuddyHeap, Scale};
use core::fmt::{self, Write};

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
    blocks: crate::mm::heap::buddy::Blocks<'a>,
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
