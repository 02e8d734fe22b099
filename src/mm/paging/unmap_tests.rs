//! Host tests of "unmap gives back what map took": page tables left empty
//! are freed (pinned ones stay), the frame count is exact after any random
//! sequence of maps and unmaps, and the reverse lookup (`find_user`) names
//! the page that maps a frame.

use super::testframes::TestFrames;
use super::*;
use crate::mm::addr::{Frame, Page, PhysAddr, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{ENTRIES_PER_TABLE, LARGE_PAGE_SIZE, PAGE_SIZE};
use crate::mm::phys::SimMemory;
use crate::testutil::{Rng, miri_or, soak_ops};
use alloc::collections::{BTreeMap, BTreeSet};

const SIM_FRAMES: usize = 512;

fn setup(seed: u64) -> (SimMemory, TestFrames, Frame) {
    let mem = SimMemory::new(SIM_FRAMES);
    let mut frames = TestFrames::new(1, SIM_FRAMES - 1, seed);
    let pd = frames.allocate().unwrap();
    (mem, frames, pd)
}

fn mapper(mem: &SimMemory, pd: Frame) -> Mapper<'_, SimMemory, NoFlush> {
    // SAFETY: `pd` is a zeroed frame of `mem` used only by this test.
    unsafe { Mapper::new(pd, Scope::All, mem, &NoFlush) }
}

fn page(va: u32) -> Page {
    Page::containing_address(VirtAddr(va))
}

/// Present PDEs other than the recursive slot.
fn tables(m: &Mapper<'_, SimMemory, NoFlush>) -> usize {
    (0..ENTRIES_PER_TABLE)
        .filter(|&pdx| m.read_entry(m.directory(), pdx).is_present())
        .count()
}

/// The case: `map 0x10000000` then `unmap 0x10000000` lost the page
/// table for good; 100 distinct 4 MiB areas lost 100 tables. Now every
/// table comes back, in the user half and the kernel-private area alike.
#[test]
fn map_then_unmap_in_many_areas_gives_every_table_back() {
    let (mem, mut frames, pd) = setup(1);
    let mut m = mapper(&mem, pd);
    let before = frames.free_count();
    // Under Miri 6 + 4 areas (each unmap scans its table's 1024 entries).
    let (user, private) = (miri_or(70, 6) as u32, miri_or(30, 4) as u32);
    let areas: Vec<u32> = (0..user)
        .map(|i| 0x1000_0000 + i * LARGE_PAGE_SIZE as u32)
        .chain((0..private).map(|i| 0xF800_0000 + i * LARGE_PAGE_SIZE as u32))
        .collect();
    for &va in &areas {
        m.map_new(page(va), EntryFlags::WRITABLE, ZeroFill::Yes, &mut frames)
            .unwrap();
    }
    let n = areas.len();
    assert_eq!(
        frames.free_count(),
        before - 2 * n,
        "{n} frames, {n} tables"
    );
    for &va in &areas {
        let f = m.unmap(page(va), &mut frames).unwrap();
        frames.free(f).unwrap(); // unmap leaves the page's frame to the caller
    }
    assert_eq!(frames.free_count(), before);
    assert_eq!(tables(&m), 0);
}

/// A table stays while any page in it is mapped, and goes with the last one.
#[test]
fn the_table_goes_with_its_last_page_only() {
    let (mem, mut frames, pd) = setup(2);
    let mut m = mapper(&mem, pd);
    let before = frames.free_count();
    m.map(
        page(0x0040_0000),
        Frame(100),
        EntryFlags::WRITABLE,
        &mut frames,
    )
    .unwrap();
    m.map(
        page(0x007F_F000),
        Frame(101),
        EntryFlags::WRITABLE,
        &mut frames,
    )
    .unwrap();
    assert_eq!(frames.free_count(), before - 1);
    assert_eq!(m.unmap(page(0x0040_0000), &mut frames), Ok(Frame(100)));
    assert_eq!(frames.free_count(), before - 1, "one page still there");
    assert_eq!(m.unmap(page(0x007F_F000), &mut frames), Ok(Frame(101)));
    assert_eq!(frames.free_count(), before);
    // And map_large may now use the slot (an empty table used to block it).
    assert_eq!(
        m.map_large(VirtAddr(0x0040_0000), PhysAddr(0), EntryFlags::WRITABLE),
        Ok(())
    );
}

/// Tables `prepare_tables` made are shared by every address space: pinned,
/// they stay when their last page goes; the mapper's check still passes.
#[test]
fn prepared_tables_are_pinned_and_stay() {
    let (mem, mut frames, pd) = setup(3);
    let mut m = mapper(&mem, pd);
    // One table found (made by a map), one created: both end up pinned.
    m.map(
        page(0xF000_0000),
        Frame(100),
        EntryFlags::WRITABLE,
        &mut frames,
    )
    .unwrap();
    assert_eq!(
        m.prepare_tables(VirtAddr(0xF000_0000), 2 * LARGE_PAGE_SIZE, &mut frames),
        Ok(1)
    );
    for va in [0xF000_0000u32, 0xF040_0000] {
        let pde = m.read_pde(VirtAddr(va));
        assert!(pde.flags().contains(EntryFlags::PINNED), "{va:#x}");
    }
    let with_tables = frames.free_count();
    assert_eq!(m.unmap(page(0xF000_0000), &mut frames), Ok(Frame(100)));
    m.map_new(
        page(0xF040_0000),
        EntryFlags::WRITABLE,
        ZeroFill::No,
        &mut frames,
    )
    .unwrap();
    assert_eq!(
        m.unmap_range(
            VirtAddr(0xF040_0000),
            PAGE_SIZE,
            Release::OwnedFrames,
            &mut frames
        ),
        Ok(1)
    );
    assert_eq!(frames.free_count(), with_tables, "no pinned table freed");
    assert_eq!(tables(&m), 2);
    assert_eq!(m.check(Some(&frames)).unwrap().tables, 2);
}

/// A table the allocator did not hand out (a static one, say) is not its
/// to free: it stays when empty.
#[test]
fn a_table_from_elsewhere_is_not_freed() {
    let (mem, mut frames, pd) = setup(4);
    let mut m = mapper(&mem, pd);
    // Frame 0 is outside the allocator (it manages 1..): use it as a table.
    let pde = Entry::new(
        Frame(0),
        EntryFlags::PRESENT | EntryFlags::WRITABLE | EntryFlags::USER,
    );
    super::mapper::write_entry(&mem, pd, 1, pde);
    m.map(
        page(0x0040_0000),
        Frame(100),
        EntryFlags::WRITABLE,
        &mut frames,
    )
    .unwrap();
    let before = frames.free_count();
    assert_eq!(m.unmap(page(0x0040_0000), &mut frames), Ok(Frame(100)));
    assert_eq!(frames.free_count(), before);
    assert_eq!(m.read_pde(VirtAddr(0x0040_0000)), pde);
    assert_eq!(m.free_table_if_empty(1, &mut frames), None);
}

/// The property: any random sequence of maps and unmaps (single pages,
/// fresh frames, sparse ranges, range unmaps, some failing for want of
/// frames) keeps the allocator's count exact: in use = tables with at least
/// one page + owned frames; unmapping everything restores the count.
#[test]
fn random_map_unmap_keeps_the_frame_count_exact() {
    // Under Miri 150 steps (an unmap may scan its table's 1024 entries).
    let ops = soak_ops(20_000).min(miri_or(usize::MAX, 150));
    let (mem, mut frames, pd) = setup(5);
    let mut m = mapper(&mem, pd);
    let base = frames.free_count();
    // Adjacent slots in both halves, so ranges cross table boundaries.
    const AREAS: [u32; 6] = [
        0x0040_0000,
        0x0080_0000,
        0x1000_0000,
        0xF7C0_0000,
        0xF800_0000,
        0xF840_0000,
    ];
    let mut pages: BTreeMap<Page, bool> = BTreeMap::new(); // page -> owned
    let mut rng = Rng::new(0xE8AC7);
    let expected = |pages: &BTreeMap<Page, bool>| {
        let tables: BTreeSet<usize> = pages.keys().map(|p| p.start_address().pdx()).collect();
        tables.len() + pages.values().filter(|&&o| o).count()
    };
    for step in 0..ops {
        let va = AREAS[rng.range(0, AREAS.len())] + rng.range(0, 8) as u32 * PAGE_SIZE as u32
            - rng.range(0, 2) as u32 * 4 * PAGE_SIZE as u32;
        let p = page(va);
        frames.set_budget(rng.chance(1, 10).then(|| rng.range(0, 2)));
        match rng.range(0, 5) {
            0 => {
                if m.map(p, Frame(400), EntryFlags::WRITABLE, &mut frames)
                    .is_ok()
                {
                    pages.insert(p, false);
                }
            }
            1 => {
                if m.map_new(p, EntryFlags::WRITABLE, ZeroFill::No, &mut frames)
                    .is_ok()
                {
                    pages.insert(p, true);
                }
            }
            2 => {
                let n = rng.range(1, 6) as u32;
                let r = m.map_range_sparse(
                    p.start_address(),
                    n as usize * PAGE_SIZE,
                    EntryFlags::WRITABLE,
                    ZeroFill::No,
                    &mut frames,
                );
                if r.is_ok() {
                    pages.extend((0..n).map(|i| (Page(p.0 + i), true)));
                }
            }
            3 => {
                if let Ok(f) = m.unmap(p, &mut frames)
                    && pages.remove(&p).unwrap()
                {
                    frames.free(f).unwrap();
                }
            }
            _ => {
                let n = rng.range(1, 4) as u32;
                let r = m.unmap_range(
                    p.start_address(),
                    n as usize * PAGE_SIZE,
                    Release::OwnedFrames,
                    &mut frames,
                );
                if r.is_ok() {
                    for i in 0..n {
                        pages.remove(&Page(p.0 + i));
                    }
                }
            }
        }
        assert_eq!(
            base - frames.free_count(),
            expected(&pages),
            "step {step}: frames in use"
        );
    }
    frames.set_budget(None);
    assert_eq!(m.check(Some(&frames)).unwrap().pages, pages.len());
    for (&p, &owned) in &pages {
        let f = m.unmap(p, &mut frames).unwrap();
        if owned {
            frames.free(f).unwrap();
        }
    }
    assert_eq!(frames.free_count(), base, "every frame back");
    assert_eq!(tables(&m), 0);
}

/// `find_user` names the first page mapping a frame of the run, through a
/// PTE or a 4 MiB page, only in the slots asked about.
#[test]
fn find_user_names_the_page_that_maps_a_frame() {
    let (mem, mut frames, pd) = setup(6);
    let mut m = mapper(&mem, pd);
    m.map(
        page(0x1000_5000),
        Frame(0x211),
        EntryFlags::empty(),
        &mut frames,
    )
    .unwrap();
    m.map_large(
        VirtAddr(0xC040_0000),
        PhysAddr(0x0040_0000),
        EntryFlags::WRITABLE,
    )
    .unwrap();
    let user = m.find_user(Frame(0x210), 16, 0..KERNEL_PDX).unwrap();
    assert_eq!(user.page, page(0x1000_5000));
    assert_eq!(user.frame, Frame(0x211));
    assert_eq!(user.flags, EntryFlags::PRESENT);
    assert_eq!(m.find_user(Frame(0x210), 1, 0..KERNEL_PDX), None);
    assert_eq!(m.find_user(Frame(0x212), 16, 0..KERNEL_PDX), None);
    // Inside the 4 MiB page at P0x00400000: frame 0x405 is page 0xC0405.
    let large = m.find_user(Frame(0x405), 2, 0..ENTRIES_PER_TABLE).unwrap();
    assert_eq!(large.page, page(0xC040_5000));
    assert_eq!(large.frame, Frame(0x405));
    assert!(large.flags.contains(EntryFlags::HUGE));
    // Not searched: the kernel half.
    assert_eq!(m.find_user(Frame(0x405), 2, 0..KERNEL_PDX), None);
    // After unmap, nobody maps it.
    m.unmap(page(0x1000_5000), &mut frames).unwrap();
    assert_eq!(m.find_user(Frame(0x211), 1, 0..ENTRIES_PER_TABLE), None);
}
