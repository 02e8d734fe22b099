//! What the page tables say about a region: the first stretch of unmapped
//! pages long enough for a request (first fit, FreeNOS `findFree`), and
//! how many 4 KiB pages are mapped in it. A missing page table stands for
//! 4 MiB of unmapped pages, skipped at once.
//!
//! ```text
//!   region    [ used | free free free | used | no table: 1024 pages free ]
//!   find_free(3 pages) ^ the first page of the first stretch long enough
//! ```

use super::{FindFreeError, Region, RegionMap};
use crate::mm::addr::VirtAddr;
use crate::mm::layout::{ENTRIES_PER_TABLE, LARGE_PAGE_SIZE, PAGE_SIZE, PDX_SHIFT};
use crate::mm::paging::{Mapper, RunKind, TlbFlush, WalkEnd};
use crate::mm::phys::PhysMemory;

impl RegionMap {
    /// The lowest address of a stretch of `size` bytes (rounded up to whole
    /// pages) of unmapped pages inside `region`, first fit (FreeNOS `findFree`).
    pub fn find_free<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &self,
        mapper: &Mapper<'_, M, T>,
        size: usize,
        region: Region,
    ) -> Result<VirtAddr, FindFreeError> {
        if !region.is_mappable() {
            return Err(FindFreeError::NotMappable(region));
        }
        let range = self.range(region);
        let page = PAGE_SIZE as u64;
        let need = (size as u64).div_ceil(page) * page;
        if size == 0 || need > range.size {
            return Err(FindFreeError::BadSize);
        }
        let large = LARGE_PAGE_SIZE as u64;
        let mut run_start = range.start.as_u32() as u64;
        let mut cur = run_start;
        while cur < range.end() {
            if cur - run_start >= need {
                return Ok(VirtAddr(run_start as u32));
            }
            let walk = mapper.trace(VirtAddr(cur as u32));
            match walk.end() {
                // A missing table: the rest of its 4 MiB is free.
                WalkEnd::NoTable => cur = ((cur / large + 1) * large).min(range.end()),
                WalkEnd::NotMapped => cur += page,
                _ => {
                    cur += page;
                    run_start = cur;
                }
            }
        }
        if range.end() - run_start >= need {
            return Ok(VirtAddr(run_start as u32));
        }
        Err(FindFreeError::NoSpace)
    }

    /// 4 KiB pages mapped inside `region` (a 4 MiB page counts 1024, cut at the edges).
    pub fn mapped_pages<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &self,
        mapper: &Mapper<'_, M, T>,
        region: Region,
    ) -> u64 {
        let range = self.range(region);
        let page = PAGE_SIZE as u64;
        let mut count = 0;
        for run in mapper.runs_in(range.start, range.end()) {
            if run.kind == RunKind::Recursive {
                // A page of the window is mapped when its PDE is present.
                let present = (0..ENTRIES_PER_TABLE as u32)
                    .filter(|pdx| mapper.read_pde(VirtAddr(pdx << PDX_SHIFT)).is_present())
                    .count();
                count += present as u64;
                continue;
            }
            let lo = (run.virt.as_u32() as u64).max(range.start.as_u32() as u64);
            let hi = run.virt_end().min(range.end());
            if hi > lo {
                count += (hi - lo) / page;
            }
        }
        count
    }
}
