//! `playground [max-scale]`: show the hotkeys' playground heap, or rebuild
//! it empty with `2^max-scale` bytes.

use crate::kernel::commands::kit::Outcome;
use crate::kernel::playground::{self, PLAYGROUND_MAX_SCALE};
use crate::mm::heap::playground::{KEY_SIZES, MAX_SCALE_RANGE};
use alloc::format;
use core::fmt::Write;

pub fn playground_cmd(args: &[&str], out: &mut dyn Write) -> Outcome {
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
