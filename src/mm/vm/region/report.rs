//! The `vmregions` report: each region with its range, size, mapped
//! pages and use, one row of at most 80 columns each.

use super::{Region, RegionMap};
use crate::mm::paging::{Mapper, Size, TlbFlush};
use crate::mm::phys::PhysMemory;
use core::fmt;

impl RegionMap {
    /// Write the `vmregions` report: each region with its range, size,
    /// mapped pages and use.
    pub fn write_report<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &self,
        mapper: &Mapper<'_, M, T>,
        w: &mut impl fmt::Write,
    ) -> fmt::Result {
        writeln!(
            w,
            "{:<15} {:<23} {:>8} {:>6}  use",
            "region", "start-last", "size", "mapped"
        )?;
        for r in Region::ALL {
            let range = self.range(r);
            writeln!(
                w,
                "{:<15} {}-{} {:>8} {:>6}  {}",
                r,
                range.start,
                range.last(),
                Size::new(range.size),
                self.mapped_pages(mapper, r),
                r.brief()
            )?;
        }
        Ok(())
    }
}
