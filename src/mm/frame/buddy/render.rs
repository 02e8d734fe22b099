//! The buddy frame allocator drawn: the free lists (`dump`) and seed
//! 004's picture of the orders (`draw_orders`), whose output the module
//! page shows (a test keeps the page true).
//!
//! ```text
//!   order  2 #   #   #   #   #   .   x   x   x   x   x   x   x   x   x   x      1
//!   order  3 #       #       #       .       x       x       x       x          1
//!            '.' free at this order, 'x' inside a larger free block,
//!            '#' otherwise; then the count of free blocks at the order
//! ```

use super::{BuddyFrameAllocator, NIL};
use crate::mm::addr::Frame;
use crate::mm::frame::{FrameAllocator, ORDERS};
use core::fmt;

impl BuddyFrameAllocator<'_> {
    /// Write the free lists: count per order and the first blocks of each.
    pub fn dump(&self, out: &mut impl fmt::Write) -> fmt::Result {
        writeln!(
            out,
            "buddy: {} frames managed, {} free",
            self.total_count(),
            self.free
        )?;
        for k in 0..ORDERS {
            write!(
                out,
                "order {k:>2} ({:>4} KiB): {:>5} free",
                4 << k,
                self.counts[k]
            )?;
            let mut i = self.first[k];
            let mut shown = 0;
            while i != NIL && shown < 4 {
                write!(out, " {}", Frame(i).start_address())?;
                i = self.next[i as usize];
                shown += 1;
            }
            if i != NIL {
                write!(out, " ...")?;
            }
            writeln!(out)?;
        }
        Ok(())
    }

    /// Seed 004's picture: one row per order from `min_order` up, one column
    /// per `2^min_order` frames, over frames `from..from + count`. A block is
    /// `.` when it is free at this order, `x` when it lies inside a larger free
    /// block, `#` otherwise (allocated, reserved, or only partly free); the
    /// row ends with the number of blocks free at its order.
    pub fn draw_orders(
        &self,
        out: &mut impl fmt::Write,
        from: Frame,
        count: usize,
        min_order: usize,
    ) -> fmt::Result {
        let from = from.0 as usize;
        for k in min_order..ORDERS {
            let size = 1usize << k;
            let first = from / size;
            let last = (from + count).div_ceil(size);
            if k > min_order && size > count {
                break;
            }
            write!(out, "order {k:>2} ")?;
            let mut free = 0;
            for b in first..last {
                let c = if self.free_at[k].test(b) {
                    free += 1;
                    '.'
                } else if ((k + 1)..ORDERS).any(|j| self.free_at[j].test((b << k) >> j)) {
                    'x'
                } else {
                    '#'
                };
                out.write_char(c)?;
                for _ in 1..(size >> min_order) {
                    out.write_char(' ')?;
                }
            }
            writeln!(out, " {free:>3}")?;
        }
        Ok(())
    }
}
