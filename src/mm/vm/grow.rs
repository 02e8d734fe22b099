//! Growing and shrinking a region: the VMM operation under the kernel
//! heap's grow and ungrow hooks (seed 003's workflow, heap -> VMM -> paging
//! -> frames).
//!
//! ```text
//!   heap short ──► grow hook ──► grow_region(mapper, regions, Grow { region, at, min_bytes, step })
//!                                  1. length: >= min_bytes, >= step, whole pages,
//!                                     cut at the region's end (never below min_bytes)
//!                                  2. [at, at+len) must lie in the region
//!                                  3. Mapper::map_range_sparse: fresh frames, eight at a
//!                                     time, from the frame allocator, each page OWNED
//!                                  4. any failure: nothing stays mapped, every frame
//!                                     drawn (and every table made) goes back
//!   heap refuses ──► ungrow hook ──► shrink_region(mapper, regions, region, range)
//!                                  [range] in the region, unmapped, OWNED frames freed
//! ```
//!
//! Pure: the mapper reaches memory through `PhysMemory` and the frames
//! through `FrameAllocator`, so the host tests run it over simulated RAM.

use crate::mm::addr::VirtAddr;
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, MapError, Mapper, Release, TlbFlush, UnmapError, ZeroFill};
use crate::mm::phys::PhysMemory;
use crate::mm::vm::region::{Region, RegionMap, VirtRange};
use core::fmt;

/// A request to grow `region` at `at` (the end of what is mapped so far).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grow {
    /// The region that grows.
    pub region: Region,
    /// Where the new pages start: page aligned, inside the region.
    pub at: VirtAddr,
    /// The least number of bytes that helps the caller.
    pub min_bytes: usize,
    /// The least the region grows by at a time (fewer, larger growths).
    pub step: usize,
    /// Flags of the new pages (`PRESENT` and `OWNED` are added).
    pub flags: EntryFlags,
}

/// Why a region did not grow. Nothing was mapped and no frame was kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrowError {
    /// `at` is not page aligned.
    Unaligned(VirtAddr),
    /// `at` is not inside the region.
    OutsideRegion { region: Region, at: VirtAddr },
    /// The region has fewer bytes after `at` than the caller needs.
    NoRoom {
        region: Region,
        left: u64,
        min_bytes: usize,
    },
    /// The mapper refused (no frames, a page already mapped, ...) and undid
    /// what it had done.
    Map(MapError),
}

impl fmt::Display for GrowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrowError::Unaligned(at) => write!(f, "{at} is not page aligned"),
            GrowError::OutsideRegion { region, at } => {
                write!(f, "{at} is outside the {} region", region.name())
            }
            GrowError::NoRoom {
                region,
                left,
                min_bytes,
            } => write!(
                f,
                "the {} region has {left} bytes left, {min_bytes} are needed",
                region.name()
            ),
            GrowError::Map(e) => write!(f, "mapping failed: {e}"),
        }
    }
}

/// Why a region did not shrink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShrinkError {
    /// The range does not lie inside the region: nothing changed.
    OutsideRegion { region: Region, range: VirtRange },
    /// The mapper refused (see [`UnmapError`]: except `FreeFailed`, nothing changed).
    Unmap(UnmapError),
}

impl fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShrinkError::OutsideRegion { region, range } => write!(
                f,
                "{}..{:#x} is not inside the {} region",
                range.start,
                range.end(),
                region.name()
            ),
            ShrinkError::Unmap(e) => write!(f, "unmapping failed: {e}"),
        }
    }
}

/// True when `[start, start + len)` lies inside `range`.
fn lies_in(range: VirtRange, start: VirtAddr, len: u64) -> bool {
    range.contains(start) && start.as_u32() as u64 + len <= range.end()
}

/// How many bytes `req` maps: at least `min_bytes` and `step`, whole
/// pages, cut at the region's end, but never below `min_bytes`.
pub fn grow_len(regions: &RegionMap, req: &Grow) -> Result<usize, GrowError> {
    if !req.at.as_u32().is_multiple_of(PAGE_SIZE as u32) {
        return Err(GrowError::Unaligned(req.at));
    }
    let range = regions.range(req.region);
    if !range.contains(req.at) {
        return Err(GrowError::OutsideRegion {
            region: req.region,
            at: req.at,
        });
    }
    let left = range.end() - req.at.as_u32() as u64;
    let wanted = req
        .min_bytes
        .max(req.step)
        .max(1)
        .next_multiple_of(PAGE_SIZE) as u64;
    let len = wanted.min(left);
    if len < req.min_bytes as u64 {
        return Err(GrowError::NoRoom {
            region: req.region,
            left,
            min_bytes: req.min_bytes,
        });
    }
    Ok(len as usize)
}

/// Grow a region as `req` asks: map [`grow_len`] bytes at `req.at` to fresh
/// frames, and return how many. On error nothing is mapped and every frame
/// drawn is back in `frames`.
pub fn grow_region<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
    mapper: &mut Mapper<'_, M, T>,
    regions: &RegionMap,
    req: &Grow,
    frames: &mut dyn FrameAllocator,
) -> Result<usize, GrowError> {
    let len = grow_len(regions, req)?;
    mapper
        .map_range_sparse(req.at, len, req.flags, ZeroFill::No, frames)
        .map_err(GrowError::Map)?;
    Ok(len)
}

/// Shrink `region` by `range`: unmap it and give the frames its pages own
/// back to `frames`. Returns the number of pages unmapped.
pub fn shrink_region<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
    mapper: &mut Mapper<'_, M, T>,
    regions: &RegionMap,
    region: Region,
    range: VirtRange,
    frames: &mut dyn FrameAllocator,
) -> Result<usize, ShrinkError> {
    if range.size == 0 || !lies_in(regions.range(region), range.start, range.size) {
        return Err(ShrinkError::OutsideRegion { region, range });
    }
    mapper
        .unmap_range(
            range.start,
            range.size as usize,
            Release::OwnedFrames,
            frames,
        )
        .map_err(ShrinkError::Unmap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::layout::{KERNEL_REGIONS_END, KERNEL_REGIONS_START};
    use crate::mm::paging::NoFlush;
    use crate::mm::paging::testframes::TestFrames;
    use crate::mm::phys::SimMemory;
    use crate::mm::vm::AddressSpace;
    use crate::mm::vm::region::{KERNEL_HEAP_START, KERNEL_PRIVATE_START};

    const FRAMES: usize = 1024;
    const STEP: usize = 16 * PAGE_SIZE;
    const W: EntryFlags = EntryFlags::WRITABLE;

    /// A kernel space with its region tables made, as at boot.
    fn kernel() -> (SimMemory, TestFrames, AddressSpace, RegionMap) {
        let mem = SimMemory::new(FRAMES);
        let mut frames = TestFrames::new(1, FRAMES - 1, 7);
        let mut space = AddressSpace::new_kernel(&mem, &mut frames).unwrap();
        // Every kernel table, as at boot; under Miri only the heap's first
        // (the tests grow there): `check()` and the region walk read all
        // 1024 entries of every table, which the interpreter does slowly.
        let len = if cfg!(miri) {
            crate::mm::layout::LARGE_PAGE_SIZE
        } else {
            (KERNEL_REGIONS_END - KERNEL_REGIONS_START) as usize
        };
        space
            .mapper(&mem, &NoFlush)
            .prepare_tables(VirtAddr(KERNEL_REGIONS_START), len, &mut frames)
            .unwrap();
        (mem, frames, space, RegionMap::standard())
    }

    fn heap_at(at: u32, min_bytes: usize) -> Grow {
        Grow {
            region: Region::KernelHeap,
            at: VirtAddr(at),
            min_bytes,
            step: STEP,
            flags: W,
        }
    }

    #[test]
    fn the_length_is_at_least_the_step_in_pages_and_cut_at_the_region_end() {
        let r = RegionMap::standard();
        assert_eq!(grow_len(&r, &heap_at(KERNEL_HEAP_START, 1)), Ok(STEP));
        assert_eq!(
            grow_len(&r, &heap_at(KERNEL_HEAP_START, STEP + 1)),
            Ok(STEP + PAGE_SIZE)
        );
        let near_end = KERNEL_PRIVATE_START - 2 * PAGE_SIZE as u32;
        assert_eq!(grow_len(&r, &heap_at(near_end, 1)), Ok(2 * PAGE_SIZE));
        assert_eq!(
            grow_len(&r, &heap_at(near_end, 3 * PAGE_SIZE)),
            Err(GrowError::NoRoom {
                region: Region::KernelHeap,
                left: 2 * PAGE_SIZE as u64,
                min_bytes: 3 * PAGE_SIZE
            })
        );
        assert_eq!(
            grow_len(&r, &heap_at(KERNEL_HEAP_START + 1, 1)),
            Err(GrowError::Unaligned(VirtAddr(KERNEL_HEAP_START + 1)))
        );
        assert_eq!(
            grow_len(&r, &heap_at(KERNEL_PRIVATE_START, 1)),
            Err(GrowError::OutsideRegion {
                region: Region::KernelHeap,
                at: VirtAddr(KERNEL_PRIVATE_START)
            })
        );
    }

    #[test]
    fn grow_maps_fresh_frames_and_shrink_gives_them_back() {
        let (mem, mut frames, mut space, regions) = kernel();
        let before = frames.allocated().len();
        let mut m = space.mapper(&mem, &NoFlush);
        let len = grow_region(
            &mut m,
            &regions,
            &heap_at(KERNEL_HEAP_START, 100),
            &mut frames,
        )
        .unwrap();
        assert_eq!(len, STEP);
        assert_eq!(frames.allocated().len(), before + STEP / PAGE_SIZE);
        assert_eq!(
            regions.mapped_pages(&m, Region::KernelHeap),
            (STEP / PAGE_SIZE) as u64
        );
        let last = VirtAddr(KERNEL_HEAP_START + STEP as u32 - 1);
        assert!(m.translate(last).is_some());
        // Growing again at the same place finds the pages mapped: refused, unchanged.
        let again = grow_region(
            &mut m,
            &regions,
            &heap_at(KERNEL_HEAP_START, 1),
            &mut frames,
        );
        assert!(matches!(
            again,
            Err(GrowError::Map(MapError::AlreadyMapped(_)))
        ));
        assert_eq!(frames.allocated().len(), before + STEP / PAGE_SIZE);
        let range = VirtRange::new(KERNEL_HEAP_START, KERNEL_HEAP_START as u64 + STEP as u64);
        assert_eq!(
            shrink_region(&mut m, &regions, Region::KernelHeap, range, &mut frames),
            Ok(STEP / PAGE_SIZE)
        );
        assert_eq!(frames.allocated().len(), before);
        assert_eq!(regions.mapped_pages(&m, Region::KernelHeap), 0);
    }

    #[test]
    fn a_growth_that_runs_out_of_frames_leaves_nothing_behind() {
        let (mem, mut frames, mut space, regions) = kernel();
        let before: alloc::vec::Vec<_> = frames.allocated().iter().copied().collect();
        let mut m = space.mapper(&mem, &NoFlush);
        // Enough frames for a few chunks of eight, not for the whole growth.
        frames.set_budget(Some(STEP / PAGE_SIZE - 3));
        let r = grow_region(
            &mut m,
            &regions,
            &heap_at(KERNEL_HEAP_START, 1),
            &mut frames,
        );
        assert_eq!(r, Err(GrowError::Map(MapError::NoFrames)));
        frames.set_budget(None);
        let after: alloc::vec::Vec<_> = frames.allocated().iter().copied().collect();
        assert_eq!(after, before, "every frame drawn went back");
        assert_eq!(regions.mapped_pages(&m, Region::KernelHeap), 0);
        assert!(m.check(Some(&frames)).is_ok());
    }

    #[test]
    fn shrink_refuses_a_range_outside_the_region_and_changes_nothing() {
        let (mem, mut frames, mut space, regions) = kernel();
        let mut m = space.mapper(&mem, &NoFlush);
        grow_region(
            &mut m,
            &regions,
            &heap_at(KERNEL_HEAP_START, 1),
            &mut frames,
        )
        .unwrap();
        let held = frames.allocated().len();
        let across = VirtRange::new(
            KERNEL_PRIVATE_START - PAGE_SIZE as u32,
            KERNEL_PRIVATE_START as u64 + PAGE_SIZE as u64,
        );
        let below = VirtRange::new(
            KERNEL_HEAP_START - PAGE_SIZE as u32,
            KERNEL_HEAP_START as u64,
        );
        let empty = VirtRange::new(KERNEL_HEAP_START, KERNEL_HEAP_START as u64);
        for range in [across, below, empty] {
            assert_eq!(
                shrink_region(&mut m, &regions, Region::KernelHeap, range, &mut frames),
                Err(ShrinkError::OutsideRegion {
                    region: Region::KernelHeap,
                    range
                })
            );
        }
        assert_eq!(frames.allocated().len(), held);
        assert_eq!(
            regions.mapped_pages(&m, Region::KernelHeap),
            (STEP / PAGE_SIZE) as u64
        );
    }
}
