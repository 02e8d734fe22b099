//! The `frames` and `buddyinfo` reports, written into any `fmt::Write`.
//!
//! ```text
//!   cairn> frames                                cairn> buddyinfo
//!   allocator  buddy                             Node 0, zone   Normal      1      0 ...     30
//!   managed    32339 frames (126.3 MiB)            (Linux's /proc/buddyinfo: free blocks per
//!   free ...   used ...   reserved ranges + why     order 0..=10, "%6lu " columns)
//! ```

use super::ORDERS;
use super::plan::FramePlan;
use crate::mm::layout::PAGE_SHIFT;
use crate::text::{Size, noun};
use core::fmt;

/// The size of `frames` frames, as the `frames` report writes it
/// ([`SizeStyle::Tenths`](crate::text::SizeStyle::Tenths)).
pub const fn frames_size(frames: usize) -> Size {
    Size::tenths((frames as u64) << PAGE_SHIFT)
}

/// `frame` for one frame, `frames` for any other count.
pub const fn frames_noun(frames: usize) -> &'static str {
    noun(frames as u64, "frame", "frames")
}

/// A count of frames as it is read: `1 frame`, `16 frames`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameCount(pub usize);

impl fmt::Display for FrameCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, frames_noun(self.0))
    }
}

/// Counts the `frames` report prints about one allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameCounts {
    /// The allocator's name.
    pub name: &'static str,
    /// Frames it manages.
    pub total: usize,
    /// Frames free now.
    pub free: usize,
    /// Usable frames the allocator cannot reach and leaves alone (free list only).
    pub out_of_reach: usize,
}

/// Write the `frames` report: the allocator, managed / free / used frames,
/// the managed ranges, each reserved range with its reason, and memory left
/// alone (above 4 GiB, or out of the allocator's reach).
pub fn write_frames(out: &mut impl fmt::Write, c: &FrameCounts, plan: &FramePlan) -> fmt::Result {
    let used = c.total - c.free;
    writeln!(out, "allocator  {}", c.name)?;
    for (what, n) in [("managed", c.total), ("free", c.free), ("used", used)] {
        writeln!(
            out,
            "{what:<10} {n:>7} {} ({})",
            frames_noun(n),
            frames_size(n)
        )?;
    }
    writeln!(out, "managed ranges:")?;
    for r in plan.usable() {
        writeln!(out, "  {r} {:>7} {}", r.len(), frames_noun(r.len()))?;
    }
    writeln!(out, "reserved ranges:")?;
    for r in plan.reserved() {
        writeln!(
            out,
            "  {} {:>7} {:<6}  {}",
            r.range,
            r.range.len(),
            frames_noun(r.range.len()),
            r.reason.describe()
        )?;
    }
    let mut shared = plan.shared().peekable();
    if shared.peek().is_some() {
        writeln!(out, "frames two reserved ranges share:")?;
        for (r, first, second) in shared {
            writeln!(out, "  {r}  {}, {}", first.describe(), second.describe())?;
        }
    }
    if c.out_of_reach > 0 {
        writeln!(
            out,
            "out of reach: {} {} ({}) the {} allocator cannot write",
            c.out_of_reach,
            frames_noun(c.out_of_reach),
            frames_size(c.out_of_reach),
            c.name
        )?;
    }
    if plan.unreachable_bytes() > 0 {
        writeln!(
            out,
            "above 4 GiB: {} of RAM left alone (no PAE)",
            Size::tenths(plan.unreachable_bytes())
        )?;
    }
    Ok(())
}

/// Write the boot line of an allocator that leaves usable frames out of its
/// reach (the free list, which writes its links through the 768 MiB linear
/// space): the plan's usable frames, split into those it manages and those
/// it leaves alone; the two figures add up to the first.
///
/// ```text
///   pmm freelist: 785793 usable frames = 196001 managed (765.6 MiB) + 589792 out of reach (2.2 GiB, ...)
/// ```
pub fn write_reach_summary(
    out: &mut impl fmt::Write,
    c: &FrameCounts,
    plan: &FramePlan,
) -> fmt::Result {
    writeln!(
        out,
        "pmm {}: {} usable {} = {} managed ({}) + {} out of reach ({}, above the linear space it writes through)",
        c.name,
        plan.usable_frames(),
        frames_noun(plan.usable_frames()),
        c.total,
        frames_size(c.total),
        c.out_of_reach,
        frames_size(c.out_of_reach)
    )
}

/// Write one line in Linux's /proc/buddyinfo layout: `Node 0, zone   Normal `
/// and then the free block count of each order 0..=10 as `%4lu ` (Linux
/// pads to 6; 4 keeps the line within 80 columns, and a count of 5 digits
/// or more still stands apart from its neighbours).
pub fn write_buddyinfo(out: &mut impl fmt::Write, counts: &[usize; ORDERS]) -> fmt::Result {
    write!(out, "Node 0, zone {:>8} ", "Normal")?;
    for c in counts {
        write!(out, "{c:>4} ")?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::frame::PmmChoice;
    use crate::mm::frame::testmaps::{qemu_plan, shared_frame_plan};
    use alloc::string::String;

    #[test]
    fn sizes() {
        assert_eq!(format!("{}", frames_size(256)), "1.0 MiB");
    }

    #[test]
    fn frame_counts_read_as_counts() {
        assert_eq!(format!("{}", FrameCount(0)), "0 frames");
        assert_eq!(format!("{}", FrameCount(1)), "1 frame");
        assert_eq!(format!("{}", FrameCount(16)), "16 frames");
    }

    #[test]
    fn buddyinfo_is_linux_layout() {
        let mut s = String::new();
        write_buddyinfo(&mut s, &[1, 0, 2, 0, 0, 0, 0, 0, 0, 123456, 30]).unwrap();
        assert_eq!(
            s,
            "Node 0, zone   Normal    1    0    2    0    0    0    0    0    0 123456   30 \n"
        );
    }

    #[test]
    fn reach_summary_adds_up() {
        let p = qemu_plan(128, PmmChoice::FreeList);
        let c = FrameCounts {
            name: "freelist",
            total: p.usable_frames() - 1000,
            free: 0,
            out_of_reach: 1000,
        };
        let mut s = String::new();
        write_reach_summary(&mut s, &c, &p).unwrap();
        let want = format!(
            "pmm freelist: {} usable frames = {} managed ({}) + 1000 out of reach (3.9 MiB, ",
            p.usable_frames(),
            c.total,
            frames_size(c.total)
        );
        assert!(s.starts_with(&want), "{s}");
        assert_eq!(s.lines().count(), 1);
    }

    #[test]
    fn frames_report_lists_reasons() {
        let p = qemu_plan(128, PmmChoice::Buddy);
        let c = FrameCounts {
            name: "buddy",
            total: p.usable_frames(),
            free: p.usable_frames() - 3,
            out_of_reach: 0,
        };
        let mut s = String::new();
        write_frames(&mut s, &c, &p).unwrap();
        let lines: alloc::vec::Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "allocator  buddy");
        assert_eq!(lines[3], "used             3 frames (12 KiB)");
        assert!(
            s.contains("P0x00000000-P0x000fffff     256 frames  low memory (BIOS, VGA, ROMs)"),
            "{s}"
        );
        assert!(
            s.contains("P0x00100000-P0x0017ffff     128 frames  kernel image"),
            "{s}"
        );
        assert!(s.contains("frame allocator metadata"));
        assert!(!s.contains("above 4 GiB"));
        assert!(!s.contains("share"), "no frame is shared:\n{s}");
    }

    #[test]
    fn one_frame_is_a_frame_and_shared_frames_are_listed() {
        // The multiboot2 information shares one frame with the kernel image.
        let p = shared_frame_plan();
        let c = FrameCounts {
            name: "buddy",
            total: p.usable_frames(),
            free: p.usable_frames() - 1,
            out_of_reach: 1,
        };
        let mut s = String::new();
        write_frames(&mut s, &c, &p).unwrap();
        let lines: alloc::vec::Vec<&str> = s.lines().collect();
        assert_eq!(lines[3], "used             1 frame (4 KiB)");
        assert!(
            s.contains(
                "reserved ranges:\n\
                 \x20 P0x00000000-P0x000fffff     256 frames  low memory (BIOS, VGA, ROMs)\n\
                 \x20 P0x00100000-P0x001fefff     255 frames  kernel image\n\
                 \x20 P0x00192000-P0x00192fff       1 frame   multiboot2 information\n"
            ),
            "{s}"
        );
        assert!(
            s.contains(
                "frames two reserved ranges share:\n\
                 \x20 P0x00192000-P0x00192fff  kernel image, multiboot2 information\n\
                 out of reach: 1 frame (4 KiB)"
            ),
            "{s}"
        );
        assert!(s.lines().all(|l| l.len() <= 80), "{s}");
    }
}
