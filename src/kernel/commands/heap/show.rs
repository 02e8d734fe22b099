//! `heap`: the kernel heap's free lists per scale (buddy), or the dump of
//! the design `heap=` chose, then how it grew.

use crate::kernel::commands::kit::{Outcome, no_args};
use crate::kernel::heap as kheap;
use crate::mm::heap::HeapBackend;
use crate::mm::heap::HeapKind;
use crate::mm::heap::buddy::{BuddyHeap, FreeCounts, Scale};
use crate::mm::heap::report::{UsedCounts, write_totals};
use crate::text::Size;
use alloc::string::String;
use core::fmt::Write;

use super::allocs::live_allocs;
use super::capture::{Clip, LineCount};

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
    used: UsedCounts,
}

impl BuddySnapshot {
    fn of(h: &BuddyHeap) -> BuddySnapshot {
        BuddySnapshot {
            start: h.start_addr(),
            end: h.end_addr(),
            bytes: h.heap_bytes(),
            arena_end: h.arena_end_addr(),
            unbacked: h.unbacked_bytes(),
            min: h.min_scale(),
            max: h.max_scale(),
            counts: h.free_counts(),
            used: UsedCounts::of(h),
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
            Size::exact(self.bytes as u64),
            self.min,
            self.max,
            Size::exact(self.min.bytes() as u64),
            Size::exact(self.max.bytes() as u64)
        );
        if self.unbacked > 0 {
            let _ = writeln!(
                out,
                "arena reserved up to {:#010X}: {} more can be mapped on demand",
                self.arena_end,
                Size::exact(self.unbacked as u64)
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
                Size::exact((1 << (top.0 + 1)) as u64),
                Size::exact(self.max.bytes() as u64)
            );
        }
        let _ = write_totals(out, &self.counts, self.used);
    }
}

/// Lines of a non-buddy heap's dump kept before and after the cut.
const DUMP_HEAD: usize = 12;
const DUMP_TAIL: usize = 2;
/// Room reserved for a dump.
const DUMP_BYTES: usize = 2048;

/// `heap`: the kernel heap's free lists per scale (buddy), or the dump of
/// the design `heap=` chose, then how it grew.
pub fn heap(args: &[&str], out: &mut dyn Write) -> Outcome {
    no_args(args)?;
    let kind = kheap::kind();
    // Room for another design's dump (the buddy table needs none).
    let mut dump = String::new();
    if kind != HeapKind::Buddy {
        dump.try_reserve_exact(DUMP_BYTES).map_err(|_| {
            alloc::format!("out of memory: no room for the heap's dump ({DUMP_BYTES} bytes)")
        })?;
    }
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
        Size::exact((kheap::mapped_bytes()) as u64),
        Size::exact(kheap::arena().1 as u64),
        kheap::arena().0,
        kheap::times_grown(),
        kheap::bad_frees(),
        live_allocs().len()
    );
    write_reserve_line(out);
    Ok(())
}

/// One line (within 80 columns, so `heap` fits one screen without the pager)
/// on the reserve the kernel falls back to when the heap is dry: what it
/// holds, how many allocations it served, and how many requests neither the
/// heap nor the reserve could serve.
fn write_reserve_line(out: &mut dyn Write) {
    let Some(r) = kheap::reserve_stats() else {
        return;
    };
    let (served, refused) = kheap::reserve_counts();
    let _ = writeln!(
        out,
        "reserve: {} of {} in use by {} blocks (served {served} times, refused {refused})",
        Size::exact(r.used as u64),
        Size::exact(kheap::RESERVE_BYTES as u64),
        r.allocations
    );
}
