//! `heapmap [playground|kernel]`: a coloured picture of a buddy heap, one
//! cell per minimum block, copied under the heap's lock and painted after.

use crate::drivers::vga::{self, Color};
use crate::kernel::commands::kit::Outcome;
use crate::kernel::console;
use crate::kernel::heap::{self as kheap};
use crate::kernel::playground::{self};
use crate::mm::heap::buddy::BuddyHeap;
use crate::mm::heap::report::{self, Cell};
use crate::text::Size;
use alloc::format;
use alloc::vec::Vec;
use core::fmt::Write;

/// Map cells per line, after the `0x........ ` address column.
const MAP_WIDTH: usize = 64;
/// Map lines at most (with the title and the legend it stays under a screen).
const MAP_ROWS: usize = 16;
const MAP_CELLS: usize = MAP_WIDTH * MAP_ROWS;
const ADDR_COLUMNS: usize = 11;
const LEGEND: &str = "legend: @ used block start  # used  + free block start  . free  % both";

/// A picture of a buddy heap, copied under its lock.
struct Map {
    start: usize,
    /// Address of the first cell (on the block grid, at or below `start`).
    first: usize,
    bytes: usize,
    cell_scale: u8,
    cells: Vec<Cell>,
}

impl Map {
    /// Room for the cells, reserved before the heap is locked; `None`
    /// when there is no memory for them.
    fn reserve() -> Option<Map> {
        let mut cells = Vec::new();
        cells.try_reserve_exact(MAP_CELLS).ok()?;
        Some(Map {
            start: 0,
            first: 0,
            bytes: 0,
            cell_scale: 0,
            cells,
        })
    }

    /// Copy `h`'s cells: one per minimum block, or per larger power of two
    /// so the whole heap fits [`MAP_CELLS`]. Never grows `cells`.
    fn fill(&mut self, h: &BuddyHeap) {
        self.start = h.start_addr();
        self.bytes = h.heap_bytes();
        self.cell_scale = report::cell_scale_to_fit(h, MAP_CELLS);
        self.first = report::first_cell_addr(h, self.cell_scale);
        for c in report::cells(h, self.cell_scale) {
            if self.cells.len() == self.cells.capacity() {
                break;
            }
            self.cells.push(c);
        }
    }

    /// Title, one line per [`MAP_WIDTH`] cells with its address, legend.
    fn write_text(&self, name: &str, out: &mut dyn Write) {
        let _ = writeln!(
            out,
            "{name} map: {} at {:#010X}; one cell = {} (scale {:X})",
            Size::exact(self.bytes as u64),
            self.start,
            Size::exact((1 << self.cell_scale) as u64),
            self.cell_scale
        );
        for (i, row) in self.cells.chunks(MAP_WIDTH).enumerate() {
            let addr = self.first + ((i * MAP_WIDTH) << self.cell_scale);
            let _ = write!(out, "{addr:#010X} ");
            for c in row {
                let _ = out.write_char(c.glyph());
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "{LEGEND}");
    }

    /// Colour the text just printed on the VGA screen: the map lines and the
    /// legend sit right above the cursor.
    fn paint(&self) {
        let rows = self.cells.len().div_ceil(MAP_WIDTH);
        console::with(|c| {
            let (cursor, _) = c.screen.position();
            let Some(first) = cursor.checked_sub(rows + 1) else {
                return;
            };
            for (i, cell) in self.cells.iter().enumerate() {
                let (row, col) = (first + i / MAP_WIDTH, ADDR_COLUMNS + i % MAP_WIDTH);
                c.screen.put(row, col, cell.glyph() as u8, colour(cell));
            }
            let legend_row = first + rows;
            for (col, b) in LEGEND.bytes().enumerate() {
                let attr = match b {
                    b'@' | b'#' | b'+' | b'.' | b'%' => glyph_colour(b),
                    _ => continue,
                };
                c.screen.put(legend_row, col, b, attr);
            }
        });
    }
}

/// Used red, free green, both brown; a block's first cell is bright.
fn colour(c: &Cell) -> u8 {
    glyph_colour(c.glyph() as u8)
}

fn glyph_colour(glyph: u8) -> u8 {
    let (fg, bg) = match glyph {
        b'@' => (Color::White, Color::Red),
        b'#' => (Color::LightRed, Color::Red),
        b'+' => (Color::White, Color::Green),
        b'.' => (Color::LightGreen, Color::Green),
        _ => (Color::Yellow, Color::Brown),
    };
    vga::attribute(fg, bg)
}

/// Which heap `heapmap` draws.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Playground,
    Kernel,
}

pub fn heapmap(args: &[&str], out: &mut dyn Write) -> Outcome {
    let which = match args {
        [] | ["playground"] => Which::Playground,
        ["kernel"] => Which::Kernel,
        [other] => return Err(format!("no heap `{other}` (playground or kernel)")),
        [_, extra, ..] => return Err(format!("unexpected argument `{extra}`")),
    };
    let mut map = Map::reserve().ok_or("out of memory: no room for the map's cells")?;
    let name = match which {
        Which::Playground => {
            playground::with_playground(|p| map.fill(p.heap()));
            "playground"
        }
        Which::Kernel => {
            let drawn = kheap::with(|h| h.as_buddy().map(|b| map.fill(b)).is_some())
                .ok_or("the kernel heap is not set up")?;
            if !drawn {
                let kind = kheap::kind().name();
                let _ = writeln!(
                    out,
                    "the kernel heap is the {kind} design (heap={kind}): heapmap draws buddy heaps; `heap` prints its dump"
                );
                return Ok(());
            }
            "kernel heap"
        }
    };
    map.write_text(name, out);
    map.paint();
    Ok(())
}
