//! Commands for the kernel heap and the playground: `heap`, `heapmap`,
//! `heapcheck`, `alloc`, `free`, `playground`.
//!
//! ```text
//!   heap ───────────┐                      ┌── playground (hotkeys, 1 KiB)
//!   heapmap [which] ├─ snapshot ─ print ───┤
//!   heapcheck ──────┘  (under the lock)    └── kernel heap (#[global_allocator])
//!   alloc <size> [align] ──► heap::allocate ──► ALLOCS (table of live blocks)
//!   free <addr> ───────────► ALLOCS? ─yes─► kheap::deallocate(addr, layout)
//!                                   └─no──► ask the heap why (never frees)
//! ```
//!
//! Rule: the kernel heap's lock is a spin lock and `out` may be a `String`
//! (the in-kernel tests capture output). So nothing is written to `out` while
//! the kernel heap is locked: each command copies what it needs (numbers, a
//! `Vec` reserved beforehand, a `String` with room reserved beforehand) under
//! the lock, and prints after.

use super::kit::{Command, Outcome};
use crate::drivers::vga::{self, Color};
use crate::kernel::console;
use crate::kernel::heap::{self as kheap, HEAP_ARENA};
use crate::kernel::playground::{self, PLAYGROUND_MAX_SCALE};
use crate::mm::heap::HeapBackend;
use crate::mm::heap::buddy::{BuddyHeap, CheckError, CheckReport, FreeCounts, HeapError, Scale};
use crate::mm::heap::playground::{KEY_SIZES, MAX_SCALE_RANGE};
use crate::mm::heap::report::{self, Cell};
use crate::mm::heap::{HeapKind, MAX_ALIGN};
use crate::mm::layout::KERNEL_HEAP_START;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::fmt::{self, Write};
use core::ptr::NonNull;
use spin::Mutex;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "heap",
        args: "",
        help: "the kernel heap's free lists per scale, with byte sizes and totals",
        run: heap,
    },
    Command {
        name: "heapmap",
        args: "[playground|kernel]",
        help: "a coloured map of a heap: one cell per minimum block, free/used, block starts",
        run: heapmap,
    },
    Command {
        name: "heapcheck",
        args: "",
        help: "verify the kernel heap and the playground block by block",
        run: heapcheck,
    },
    Command {
        name: "alloc",
        args: "[<size> [align]]",
        help: "allocate from the kernel heap (align 8 by default); no size: list them",
        run: alloc_cmd,
    },
    Command {
        name: "free",
        args: "<addr>",
        help: "free a block made by `alloc`; a bad pointer is refused, nothing changes",
        run: free_cmd,
    },
    Command {
        name: "playground",
        args: "[max-scale]",
        help: "show the hotkeys' playground heap, or rebuild it empty at 2^max-scale bytes",
        run: playground_cmd,
    },
];

// ----- shared helpers --------------------------------------------------------

/// A writer into a `String` whose room was reserved before a lock was taken:
/// it never grows the string (that would allocate under the heap lock), and
/// keeps only lines `..head` and `total - tail..` of a text of `total` lines.
struct Clip<'a> {
    buf: &'a mut String,
    /// Lines seen so far (the index of the line being written).
    line: usize,
    head: usize,
    tail_from: usize,
    /// Set when the reserved room ran out.
    full: bool,
}

impl Write for Clip<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for part in s.split_inclusive('\n') {
            if self.line < self.head || self.line >= self.tail_from {
                if !self.full && self.buf.len() + part.len() <= self.buf.capacity() {
                    self.buf.push_str(part);
                } else {
                    self.full = true;
                }
            }
            if part.ends_with('\n') {
                self.line += 1;
            }
        }
        Ok(())
    }
}

/// Counts the lines a writer would get (no allocation).
struct LineCount(usize);

impl Write for LineCount {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.bytes().filter(|&b| b == b'\n').count();
        Ok(())
    }
}

/// Bytes as `16`, `4 KiB`, `128 MiB`, `3 GiB` when they are whole units.
struct Size(usize);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
            if n >= 1 << shift && n.is_multiple_of(1 << shift) {
                return write!(f, "{} {unit}", n >> shift);
            }
        }
        write!(f, "{n} bytes")
    }
}

fn parse(s: &str) -> Result<usize, String> {
    crate::shell::parse_number(s)
        .map(|n| n as usize)
        .map_err(|e| format!("`{s}`: {e}"))
}

fn no_args(args: &[&str]) -> Outcome {
    match args.first() {
        Some(a) => Err(format!("unexpected argument `{a}`")),
        None => Ok(()),
    }
}

// ----- heap ------------------------------------------------------------------

/// What `heap` prints about a buddy heap, copied under the lock.
#[derive(Clone, Copy)]
struct BuddySnapshot {
    start: usize,
    end: usize,
    bytes: usize,
    arena_end: usize,
    unbacked: usize,
    min: Scale,
    max: Scale,
    counts: FreeCounts,
    used_blocks: usize,
    used_bytes: usize,
    requested: usize,
}

impl BuddySnapshot {
    fn of(h: &BuddyHeap) -> BuddySnapshot {
        let (mut used_blocks, mut used_bytes, mut requested) = (0, 0, 0);
        for b in h.blocks().filter(|b| !b.free) {
            used_blocks += 1;
            used_bytes += b.scale.bytes();
            requested += b.requested.unwrap_or(0);
        }
        BuddySnapshot {
            start: h.start_addr(),
            end: h.end_addr(),
            bytes: h.heap_bytes(),
            arena_end: h.arena_end_addr(),
            unbacked: h.unbacked_bytes(),
            min: h.min_scale(),
            max: h.max_scale(),
            counts: h.free_counts(),
            used_blocks,
            used_bytes,
            requested,
        }
    }

    /// The free-list table. Scales larger than the heap so far cannot have a
    /// block yet; they share one line so the table fits the screen.
    fn write(&self, out: &mut dyn Write) {
        let _ = writeln!(
            out,
            "buddy heap {:#010X}..{:#010X}: {} in blocks, scales {}..{} ({}..{})",
            self.start,
            self.end,
            Size(self.bytes),
            self.min,
            self.max,
            Size(self.min.bytes()),
            Size(self.max.bytes())
        );
        if self.unbacked > 0 {
            let _ = writeln!(
                out,
                "arena reserved up to {:#010X}: {} more can be mapped on demand",
                self.arena_end,
                Size(self.unbacked)
            );
        }
        let top = (usize::BITS - 1 - self.bytes.max(1).leading_zeros()) as u8;
        let top = Scale(top.clamp(self.min.0, self.max.0));
        let _ = writeln!(out, "scale        bytes  free blocks    free bytes");
        for (scale, count) in self.counts.iter().filter(|(s, _)| s.0 <= top.0) {
            let _ = writeln!(
                out,
                "{:>5X} {:>12} {:>12} {:>13}",
                scale.0,
                scale.bytes(),
                count,
                count * scale.bytes()
            );
        }
        if top.0 < self.max.0 {
            let _ = writeln!(
                out,
                "scales {:X}..{} ({}..{}): no blocks, larger than the heap so far",
                top.0 + 1,
                self.max,
                Size(1 << (top.0 + 1)),
                Size(self.max.bytes())
            );
        }
        let _ = writeln!(
            out,
            "free: {} bytes in {} blocks; used: {} bytes in {} blocks ({} requested)",
            self.counts.total_bytes(),
            self.counts.total_blocks(),
            self.used_bytes,
            self.used_blocks,
            self.requested
        );
    }
}

/// Lines of a non-buddy heap's dump kept before and after the cut.
const DUMP_HEAD: usize = 12;
const DUMP_TAIL: usize = 2;
/// Room reserved for a dump.
const DUMP_BYTES: usize = 2048;

/// `heap`: the kernel heap's free lists per scale (buddy), or the dump of
/// the design `heap=` chose, then how it grew.
fn heap(args: &[&str], out: &mut dyn Write) -> Outcome {
    no_args(args)?;
    let kind = kheap::kind();
    // Room for another design's dump (the buddy table needs none).
    let mut dump = String::with_capacity(if kind == HeapKind::Buddy {
        0
    } else {
        DUMP_BYTES
    });
    let (snapshot, cut, full) = kheap::with(|h| {
        if let Some(b) = h.as_buddy() {
            return (Some(BuddySnapshot::of(b)), 0, false);
        }
        let mut n = LineCount(0);
        let _ = h.dump(&mut n);
        let tail_from = n.0.saturating_sub(DUMP_TAIL).max(DUMP_HEAD);
        let mut w = Clip {
            buf: &mut dump,
            line: 0,
            head: DUMP_HEAD,
            tail_from,
            full: false,
        };
        let _ = h.dump(&mut w);
        let full = w.full;
        (None, tail_from - DUMP_HEAD, full)
    })
    .ok_or("the kernel heap is not set up")?;
    let _ = writeln!(
        out,
        "kernel heap: {} design (heap={})",
        kind.name(),
        kind.name()
    );
    match snapshot {
        Some(s) => s.write(out),
        None => {
            let _ = writeln!(
                out,
                "free lists per scale belong to the buddy design; boot without `heap=` for them"
            );
            let _ = writeln!(out, "the {} heap's dump:", kind.name());
            // Head lines, a marker where lines were left out, tail lines.
            let mut lines = dump.lines();
            for l in lines.by_ref().take(DUMP_HEAD) {
                let _ = writeln!(out, "  {l}");
            }
            if cut > 0 {
                let _ = writeln!(out, "  ... ({cut} lines left out)");
            }
            for l in lines {
                let _ = writeln!(out, "  {l}");
            }
            if full {
                let _ = writeln!(
                    out,
                    "  ... (more than {DUMP_BYTES} bytes: the rest left out)"
                );
            }
            drop(dump); // the stats below are the heap's own, without this buffer
            if let Some(stats) = kheap::stats() {
                let _ = writeln!(out, "{stats}");
            }
        }
    }
    let _ = writeln!(
        out,
        "mapped {} of a {} arena at {:#010X}; grew {} times; deallocate refused {} bad frees; {} live blocks from `alloc`",
        Size(kheap::mapped_bytes()),
        Size(HEAP_ARENA),
        KERNEL_HEAP_START,
        kheap::times_grown(),
        kheap::bad_frees(),
        live_allocs().len()
    );
    Ok(())
}

// ----- heapmap -----------------------------------------------------------------

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
    bytes: usize,
    cell_scale: u8,
    cells: Vec<Cell>,
}

impl Map {
    /// Room for the cells, reserved before the heap is locked.
    fn reserve() -> Map {
        Map {
            start: 0,
            bytes: 0,
            cell_scale: 0,
            cells: Vec::with_capacity(MAP_CELLS),
        }
    }

    /// Copy `h`'s cells: one per minimum block, or per larger power of two
    /// so the whole heap fits [`MAP_CELLS`]. Never grows `cells`.
    fn fill(&mut self, h: &BuddyHeap) {
        self.start = h.start_addr();
        self.bytes = h.heap_bytes();
        self.cell_scale = report::cell_scale_to_fit(h, MAP_CELLS);
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
            Size(self.bytes),
            self.start,
            Size(1 << self.cell_scale),
            self.cell_scale
        );
        for (i, row) in self.cells.chunks(MAP_WIDTH).enumerate() {
            let addr = self.start + ((i * MAP_WIDTH) << self.cell_scale);
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

fn heapmap(args: &[&str], out: &mut dyn Write) -> Outcome {
    let which = match args {
        [] | ["playground"] => Which::Playground,
        ["kernel"] => Which::Kernel,
        [other] => return Err(format!("no heap `{other}` (playground or kernel)")),
        [_, extra, ..] => return Err(format!("unexpected argument `{extra}`")),
    };
    let mut map = Map::reserve();
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

// ----- heapcheck -------------------------------------------------------------------

fn write_check(name: &str, r: Result<CheckReport, CheckError>, out: &mut dyn Write) -> bool {
    match r {
        Ok(r) => {
            let _ = writeln!(
                out,
                "{name}: heap ok: {} blocks, {} free ({} bytes), {} used ({} bytes, {} requested)",
                r.blocks,
                r.free_blocks,
                r.free_bytes,
                r.used_blocks,
                r.used_bytes,
                r.requested_bytes
            );
            true
        }
        Err(e) => {
            let _ = writeln!(out, "{name}: heap CORRUPT: {e}");
            false
        }
    }
}

/// `heapcheck`: `check()` on the kernel heap and on the playground.
fn heapcheck(args: &[&str], out: &mut dyn Write) -> Outcome {
    no_args(args)?;
    /// The kernel heap's verdict, copied under its lock.
    enum Verdict {
        Buddy(Result<CheckReport, CheckError>),
        Other(Result<(), &'static str>, crate::mm::heap::HeapStats),
    }
    let verdict = kheap::with(|h| match h.as_buddy() {
        Some(b) => Verdict::Buddy(BuddyHeap::check(b)),
        None => Verdict::Other(HeapBackend::check(h), h.stats()),
    })
    .ok_or("the kernel heap is not set up")?;
    let kind = kheap::kind().name();
    let name = format!("kernel heap ({kind})");
    let kernel_ok = match verdict {
        Verdict::Buddy(r) => write_check(&name, r, out),
        Verdict::Other(Ok(()), stats) => {
            let _ = writeln!(out, "{name}: heap ok: {stats}");
            true
        }
        Verdict::Other(Err(e), _) => {
            let _ = writeln!(out, "{name}: heap CORRUPT: {e}");
            false
        }
    };
    let playground_ok = playground::with_playground(|p| p.heap().check());
    let playground_ok = write_check("playground", playground_ok, out);
    if kernel_ok && playground_ok {
        Ok(())
    } else {
        Err("a heap failed its check".into())
    }
}

// ----- alloc and free ----------------------------------------------------------------

/// The alignment `alloc <size>` uses when none is given (a `u64`'s, as malloc).
const DEFAULT_ALIGN: usize = 8;
/// Live blocks `alloc` can hold at once.
const MAX_ALLOCS: usize = 32;
/// Addresses `free` remembers having freed (to name a double free).
const FREED_MEMORY: usize = 16;

/// A block `alloc` made and `free` has not freed yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Live {
    pub addr: usize,
    pub layout: Layout,
}

/// The table behind `alloc`/`free`: fixed arrays, so keeping it never
/// allocates from the heap it describes.
struct Allocs {
    live: [Option<Live>; MAX_ALLOCS],
    freed: [usize; FREED_MEMORY],
    next_freed: usize,
}

static ALLOCS: Mutex<Allocs> = Mutex::new(Allocs {
    live: [None; MAX_ALLOCS],
    freed: [0; FREED_MEMORY],
    next_freed: 0,
});

/// The blocks `alloc` made that are still live, in table order.
pub fn live_allocs() -> Vec<Live> {
    let copy = ALLOCS.lock().live;
    copy.iter().flatten().copied().collect()
}

fn alloc_cmd(args: &[&str], out: &mut dyn Write) -> Outcome {
    let Some(size) = args.first() else {
        let live = live_allocs();
        if live.is_empty() {
            let _ = writeln!(out, "no live blocks from `alloc`");
        }
        for l in live {
            let _ = writeln!(
                out,
                "{:#010X}  {} bytes, align {}",
                l.addr,
                l.layout.size(),
                l.layout.align()
            );
        }
        return Ok(());
    };
    if let Some(extra) = args.get(2) {
        return Err(format!("unexpected argument `{extra}`"));
    }
    let size = parse(size)?;
    let align = args.get(1).map(|a| parse(a)).transpose()?;
    let align = align.unwrap_or(DEFAULT_ALIGN);
    if size == 0 {
        return Err("the size must be at least 1 byte".into());
    }
    if !align.is_power_of_two() || align > MAX_ALIGN {
        return Err(format!(
            "alignment {align}: a power of two up to {MAX_ALIGN} please"
        ));
    }
    let layout = Layout::from_size_align(size, align).map_err(|e| format!("{e}"))?;
    // Claim a table entry first: a full table refuses before the heap changes.
    let slot = {
        let t = ALLOCS.lock();
        t.live.iter().position(|e| e.is_none())
    }
    .ok_or(format!(
        "`alloc` holds {MAX_ALLOCS} blocks already; `free` one first"
    ))?;
    let kind = kheap::kind();
    let ptr = kheap::allocate(layout).map_err(|e| {
        format!(
            "the {} heap refused {size} bytes (align {align}): {e}",
            kind.name()
        )
    })?;
    let addr = ptr.as_ptr() as usize;
    {
        let mut t = ALLOCS.lock();
        t.live[slot] = Some(Live { addr, layout });
        for f in t.freed.iter_mut().filter(|f| **f == addr) {
            *f = 0;
        }
    }
    let block = kheap::with(|h| h.as_buddy().and_then(|b| b.block_of(addr))).flatten();
    let _ = write!(out, "alloc({size}, align {align}) -> {addr:#010X}");
    match block {
        Some(b) => {
            let _ = writeln!(
                out,
                " (block {:#010X}, scale {} = {} bytes)",
                b.addr,
                b.scale,
                b.scale.bytes()
            );
        }
        None => {
            let _ = writeln!(out, " ({} heap)", kind.name());
        }
    }
    Ok(())
}

/// What the buddy heap says about a pointer `alloc` does not hold.
enum BuddyVerdict {
    /// The start of a live block some other kernel code owns.
    Foreign { scale: Scale },
    /// The heap's checked free refused it (so nothing changed).
    Refused(HeapError),
    /// The checked free accepted it: cannot happen after the test above.
    Freed,
}

fn free_cmd(args: &[&str], out: &mut dyn Write) -> Outcome {
    let addr = match args {
        [a] => parse(a)?,
        [] => return Err("which address?".into()),
        [_, extra, ..] => return Err(format!("unexpected argument `{extra}`")),
    };
    let kind = kheap::kind().name();
    let (live, freed_before) = {
        let t = ALLOCS.lock();
        let live = t.live.iter().flatten().copied().find(|l| l.addr == addr);
        let inside = t
            .live
            .iter()
            .flatten()
            .copied()
            .find(|l| addr > l.addr && addr < l.addr + l.layout.size());
        (live.ok_or(inside), addr != 0 && t.freed.contains(&addr))
    };
    match live {
        // A block `alloc` made: free it with the layout it was made with.
        Ok(l) => {
            let ptr = NonNull::new(addr as *mut u8).ok_or("null")?;
            kheap::deallocate(ptr, l.layout)
                .map_err(|e| format!("the {kind} heap refused free({addr:#010X}): {e}"))?;
            let mut t = ALLOCS.lock();
            for e in t.live.iter_mut().filter(|e| **e == Some(l)) {
                *e = None;
            }
            let i = t.next_freed;
            t.freed[i] = addr;
            t.next_freed = (i + 1) % FREED_MEMORY;
            drop(t);
            let _ = writeln!(
                out,
                "free({addr:#010X}): {} bytes (align {}) returned to the kernel heap",
                l.layout.size(),
                l.layout.align()
            );
            Ok(())
        }
        Err(inside) => refuse(addr, inside, freed_before, kind),
    }
}

/// A `free` of an address `alloc` does not hold: the heap says why it is
/// wrong, but is never allowed to free it (it may be a block the kernel
/// itself uses). Always an `Err`, and the heap is unchanged.
fn refuse(addr: usize, inside: Option<Live>, freed_before: bool, kind: &str) -> Outcome {
    let refused = |why: &dyn fmt::Display| Err(format!("free({addr:#010X}) refused: {why}"));
    // The buddy heap can tell every case apart without freeing anything.
    let buddy = kheap::with(|h| {
        let b = h.as_buddy()?;
        Some(match b.block_of(addr) {
            Some(info) if info.payload == Some(addr) => BuddyVerdict::Foreign { scale: info.scale },
            _ => match NonNull::new(addr as *mut u8) {
                None => BuddyVerdict::Refused(HeapError::OutsideHeap { addr }),
                Some(p) => match b.free(p) {
                    Err(e) => BuddyVerdict::Refused(e),
                    Ok(()) => BuddyVerdict::Freed,
                },
            },
        })
    })
    .flatten();
    match buddy {
        Some(BuddyVerdict::Refused(e)) => return refused(&e),
        Some(BuddyVerdict::Foreign { scale }) => {
            return refused(&format_args!(
                "it starts a live block of scale {scale} that the kernel itself uses, not one from `alloc`"
            ));
        }
        Some(BuddyVerdict::Freed) => {
            return refused(&"the heap freed it although it was no payload start (a heap bug)");
        }
        None => {}
    }
    // Other designs: hand the heap only pointers that cannot be anyone's block.
    let end = kheap::with(|h| h.region_end()).unwrap_or(0);
    let outside = addr < KERNEL_HEAP_START as usize || addr >= end;
    let layout = match inside {
        Some(l) => Some(l.layout),
        None if outside => Some(Layout::new::<u8>()),
        None => None,
    };
    if let Some(layout) = layout {
        let ptr = NonNull::new(addr as *mut u8);
        let r = match ptr {
            Some(p) => kheap::deallocate(p, layout),
            None => Err(crate::mm::AllocError::InvalidAddress),
        };
        let place = if outside {
            "outside the heap"
        } else {
            "inside a block from `alloc`"
        };
        return match r {
            Err(e) => refused(&format_args!("{place}: the {kind} heap says: {e}")),
            Ok(()) => refused(&format_args!(
                "{place}, yet the {kind} heap accepted it (a heap bug)"
            )),
        };
    }
    if freed_before {
        return refused(&format_args!(
            "already freed by `free` (double free); the {kind} heap may have reused it, so it is not passed on"
        ));
    }
    refused(&format_args!(
        "not a live block from `alloc`; the {kind} heap cannot tell a stray pointer from a block the kernel owns without freeing it, so it is not passed on"
    ))
}

// ----- playground ------------------------------------------------------------------

fn playground_cmd(args: &[&str], out: &mut dyn Write) -> Outcome {
    match args {
        [] => {
            playground::with_playground(|p| {
                let h = p.heap();
                let _ = writeln!(
                    out,
                    "playground: {}-byte buddy heap at {:#010X}, scales {}..{} (max scale {})",
                    h.heap_bytes(),
                    h.start_addr(),
                    h.min_scale(),
                    h.max_scale(),
                    h.max_scale().0
                );
                let _ = write!(out, "slots:");
                let mut any = false;
                for n in 1..=KEY_SIZES.len() {
                    let held = p.slot(n).len();
                    if held > 0 {
                        any = true;
                        let _ = write!(out, " {n}:{held}");
                    }
                }
                let _ = writeln!(out, "{}", if any { "" } else { " all empty" });
                let _ = write!(out, "free blocks per scale:");
                for (s, c) in h.free_counts().iter() {
                    let _ = write!(out, " {s}:{c}");
                }
                let _ = writeln!(out);
            });
            let _ = writeln!(
                out,
                "`playground <max-scale>` rebuilds it empty with 2^max-scale bytes ({}..={})",
                MAX_SCALE_RANGE.start(),
                PLAYGROUND_MAX_SCALE
            );
            Ok(())
        }
        [scale] => {
            let scale =
                playground::parse_max_scale(scale).map_err(|e| format!("`{scale}`: {e}"))?;
            let dropped = playground::with_playground(|p| {
                (1..=KEY_SIZES.len())
                    .map(|n| p.slot(n).len())
                    .sum::<usize>()
            });
            playground::resize_playground(scale).map_err(|e| format!("{e}"))?;
            let (bytes, start, max) = playground::with_playground(|p| {
                let h = p.heap();
                (h.heap_bytes(), h.start_addr(), h.max_scale())
            });
            let _ = writeln!(
                out,
                "playground reset: {bytes}-byte buddy heap at {start:#010X}, scales 4..{max}; every slot emptied ({dropped} blocks dropped)"
            );
            Ok(())
        }
        [_, extra, ..] => Err(format!("unexpected argument `{extra}`")),
    }
}
