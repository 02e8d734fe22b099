//! Host tests of address spaces, regions and fault reports.

use super::*;
use crate::mm::addr::{Frame, Page, PhysAddr, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{
    KERNEL_BASE, KERNEL_PRIVATE_START, KERNEL_REGIONS_END, KERNEL_REGIONS_START, LARGE_PAGE_SIZE,
    PAGE_SIZE, RECURSIVE_INDEX,
};
use crate::mm::paging::testframes::TestFrames;
use crate::mm::paging::{
    EntryFlags, MapError, Mapper, NoFlush, PageSize, Release, ZeroFill, recursive,
};
use crate::mm::phys::SimMemory;
use crate::testutil::{Rng, miri_or, soak_ops};
use alloc::collections::btree_map::Entry;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

const SIM_FRAMES: usize = 2048;
const W: EntryFlags = EntryFlags::WRITABLE;
const UW: EntryFlags = EntryFlags::WRITABLE.union(EntryFlags::USER);
/// Kernel tables prepared at boot: the on-demand kernel regions (63).
/// Under Miri only the two the tests reach (the heap's first 4 MiB and the
/// private region's): `check()` and the region walks read all 1024
/// entries of every table, which the interpreter does slowly.
const KERNEL_TABLES: usize = if cfg!(miri) {
    2
} else {
    (KERNEL_REGIONS_END - KERNEL_REGIONS_START) as usize / LARGE_PAGE_SIZE
};

/// Prepare the kernel's tables as the kernel does at boot (see [`KERNEL_TABLES`]).
fn prepare_kernel_tables(m: &mut Mapper<'_, SimMemory, NoFlush>, frames: &mut TestFrames) -> usize {
    let ranges: &[(u32, usize)] = if cfg!(miri) {
        &[
            (KERNEL_REGIONS_START, LARGE_PAGE_SIZE),
            (KERNEL_PRIVATE_START, LARGE_PAGE_SIZE),
        ]
    } else {
        &[(
            KERNEL_REGIONS_START,
            (KERNEL_REGIONS_END - KERNEL_REGIONS_START) as usize,
        )]
    };
    ranges
        .iter()
        .map(|&(start, len)| m.prepare_tables(VirtAddr(start), len, frames).unwrap())
        .sum()
}

/// A kernel space as the kernel would build it: physical 0..16 MiB in the
/// linear space, and a table for every 4 MiB of the on-demand kernel regions.
fn boot(size: PageSize, seed: u64) -> (SimMemory, TestFrames, AddressSpace) {
    let mem = SimMemory::new(SIM_FRAMES);
    let mut frames = TestFrames::new(1, SIM_FRAMES - 1, seed);
    let mut kernel = AddressSpace::new_kernel(&mem, &mut frames).unwrap();
    {
        let mut m = kernel.mapper(&mem, &NoFlush);
        m.map_linear(
            PhysAddr(0),
            16 << 20,
            W | EntryFlags::GLOBAL,
            size,
            &mut frames,
        )
        .unwrap();
        assert_eq!(prepare_kernel_tables(&mut m, &mut frames), KERNEL_TABLES);
    }
    (mem, frames, kernel)
}

#[test]
fn translate_of_the_kernel_image_walks_to_1_mib() {
    for size in [PageSize::Small, PageSize::Large] {
        let (mem, frames, mut kernel) = boot(size, 1);
        let m = kernel.mapper(&mem, &NoFlush);
        let walk = m.trace(VirtAddr(0xC010_0000));
        assert_eq!(walk.phys(), Some(PhysAddr(0x0010_0000)));
        let text = format!("{walk}");
        assert!(
            text.starts_with("translate V0xc0100000: PDX 0x300 (768) | PTX 0x100 (256)"),
            "{text}"
        );
        assert!(text.contains("=>   physical P0x00100000"), "{text}");
        let c = m.check(Some(&frames)).unwrap();
        assert!(c.recursive);
        match size {
            PageSize::Small => assert_eq!((c.tables, c.large), (4 + KERNEL_TABLES, 0)),
            PageSize::Large => assert_eq!((c.tables, c.large), (KERNEL_TABLES, 4)),
        }
    }
}

#[test]
fn a_user_space_shares_the_kernel_half() {
    let (mem, mut frames, mut kernel) = boot(PageSize::Small, 2);
    let mut user = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let kdir = kernel.directory();
    assert_eq!(user.kind(), SpaceKind::User);
    assert_eq!(user.cr3(), user.directory().start_address());
    {
        let k = kernel.mapper(&mem, &NoFlush);
        // SAFETY: a read-only look at the user directory.
        let u = unsafe {
            crate::mm::paging::Mapper::new(
                user.directory(),
                crate::mm::paging::Scope::User,
                &mem,
                &NoFlush,
            )
        };
        for pdx in 0..1024u32 {
            let va = VirtAddr(pdx << 22);
            let (kp, up) = (k.read_pde(va), u.read_pde(va));
            match pdx as usize {
                RECURSIVE_INDEX => {
                    assert_eq!(kp.frame(), kdir);
                    assert_eq!(up.frame(), user.directory());
                }
                p if p >= crate::mm::paging::KERNEL_PDX => assert_eq!(up, kp, "PD[{pdx}] shared"),
                _ => assert!(!up.is_present(), "PD[{pdx}] of a new space is empty"),
            }
        }
        assert!(u.check(Some(&frames)).unwrap().recursive);
    }
    // A kernel mapping made after the space was created shows in it: the table is shared.
    let heap_page = Page::containing_address(VirtAddr(KERNEL_REGIONS_START + 0x5000));
    kernel
        .mapper(&mem, &NoFlush)
        .map(heap_page, Frame(0x300), W, &mut frames)
        .unwrap();
    let um = user.mapper(&mem, &NoFlush);
    assert_eq!(
        um.translate(heap_page.start_address()),
        Some(PhysAddr(0x0030_0000))
    );
    assert_eq!(
        um.translate(VirtAddr(0xC010_0000)),
        Some(PhysAddr(0x0010_0000))
    );
}

#[test]
fn user_spaces_are_isolated_and_cannot_touch_the_kernel_half() {
    let (mem, mut frames, kernel) = boot(PageSize::Large, 3);
    let mut a = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let mut b = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let va = VirtAddr(0x0040_0000);
    a.mapper(&mem, &NoFlush)
        .map_new(Page::containing_address(va), UW, ZeroFill::Yes, &mut frames)
        .unwrap();
    assert!(a.mapper(&mem, &NoFlush).translate(va).is_some());
    assert_eq!(b.mapper(&mem, &NoFlush).translate(va), None);
    let k = Page::containing_address(VirtAddr(KERNEL_REGIONS_START));
    assert_eq!(
        b.mapper(&mem, &NoFlush).map(k, Frame(1), W, &mut frames),
        Err(MapError::OutOfScope(k))
    );
}

/// The search `ffree` makes before freeing: which process's user half maps
/// a frame of a run, and at which page; the first space in the order given
/// answers, the kernel half (shared) is never reported, a page table or a
/// directory is not a mapping, and an unmapped frame is found nowhere.
#[test]
fn find_user_in_spaces_names_the_space_and_the_page() {
    let (mem, mut frames, kernel) = boot(PageSize::Large, 4);
    let mut a = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let mut b = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let page = |va: u32| Page::containing_address(VirtAddr(va));
    let fa = a
        .mapper(&mem, &NoFlush)
        .map_new(page(0x0040_0000), UW, ZeroFill::Yes, &mut frames)
        .unwrap();
    let fb = b
        .mapper(&mem, &NoFlush)
        .map_new(page(0x1000_3000), UW, ZeroFill::Yes, &mut frames)
        .unwrap();
    let spaces = [(3u32, &a), (7u32, &b)];
    let found = find_user_in_spaces(&mem, spaces, fb, 1).unwrap();
    assert_eq!(found.0, 7);
    assert_eq!(found.1.page, page(0x1000_3000));
    assert_eq!(found.1.frame, fb);
    assert!(found.1.flags.contains(UW));
    // A run holding both frames: the first space given answers.
    let (lo, hi) = (fa.number().min(fb.number()), fa.number().max(fb.number()));
    let run = (hi - lo + 1) as usize;
    assert_eq!(
        find_user_in_spaces(&mem, spaces, Frame(lo), run).unwrap().0,
        3
    );
    let reversed = [(7u32, &b), (3u32, &a)];
    assert_eq!(
        find_user_in_spaces(&mem, reversed, Frame(lo), run)
            .unwrap()
            .0,
        7
    );
    // Frames of the kernel half (the linear space maps them all), the
    // spaces' own directories and tables: no user page maps them.
    assert_eq!(find_user_in_spaces(&mem, spaces, Frame(0x100), 16), None);
    assert_eq!(find_user_in_spaces(&mem, spaces, b.directory(), 1), None);
    let table = mem_pde_frame(&mem, b.directory(), VirtAddr(0x1000_3000).pdx());
    assert_eq!(find_user_in_spaces(&mem, spaces, table, 1), None);
    assert_eq!(find_user_in_spaces(&mem, spaces, fb, 0), None);
    // Unmapped: found nowhere; the other space still answers for its own.
    b.mapper(&mem, &NoFlush)
        .unmap(page(0x1000_3000), &mut frames)
        .unwrap();
    let spaces = [(3u32, &a), (7u32, &b)];
    assert_eq!(find_user_in_spaces(&mem, spaces, fb, 1), None);
    assert_eq!(find_user_in_spaces(&mem, spaces, fa, 1).unwrap().0, 3);
}

#[test]
fn destroy_frees_every_user_table_and_the_directory() {
    let (mem, mut frames, kernel) = boot(PageSize::Small, 4);
    let before: BTreeSet<Frame> = frames.allocated().clone();
    let mut user = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    {
        let mut m = user.mapper(&mem, &NoFlush);
        // Pages in five tables, owned and not.
        for (i, va) in [
            0x0040_0000u32,
            0x1000_0000,
            0x6000_0000,
            0xA000_0000,
            0xBFC0_0000,
        ]
        .into_iter()
        .enumerate()
        {
            m.map_range_sparse(
                VirtAddr(va),
                (i + 1) * PAGE_SIZE,
                UW,
                ZeroFill::No,
                &mut frames,
            )
            .unwrap();
        }
        m.map(
            Page::containing_address(VirtAddr(0xB000_0000)),
            Frame(0x7FF),
            UW,
            &mut frames,
        )
        .unwrap();
        let c = m.check(Some(&frames)).unwrap();
        assert_eq!(
            (c.pages, c.owned),
            (16 + 4096, 15),
            "user pages + the linear space"
        );
        // The kernel half's tables count too: they are reachable, just shared.
        assert_eq!(c.tables, 6 + 4 + KERNEL_TABLES);
    }
    let stats = user
        .destroy(&mem, &mut frames, UserFrames::FreeOwned)
        .unwrap();
    assert_eq!(
        stats,
        DestroyStats {
            tables: 6,
            frames: 15
        }
    );
    assert_eq!(
        *frames.allocated(),
        before,
        "exactly the kernel's frames remain"
    );
    let mut kernel = kernel;
    assert!(kernel.mapper(&mem, &NoFlush).check(Some(&frames)).is_ok());
}

#[test]
fn destroy_can_leave_the_owned_frames() {
    let (mem, mut frames, kernel) = boot(PageSize::Large, 5);
    let before: BTreeSet<Frame> = frames.allocated().clone();
    let mut user = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let mut owned = BTreeSet::new();
    {
        let mut m = user.mapper(&mem, &NoFlush);
        m.map_range_sparse(
            VirtAddr(0x1000_0000),
            9 * PAGE_SIZE,
            UW,
            ZeroFill::No,
            &mut frames,
        )
        .unwrap();
        for i in 0..9 {
            owned.insert(m.mapping(Page(0x10000 + i)).unwrap().0);
        }
    }
    let stats = user.destroy(&mem, &mut frames, UserFrames::Keep).unwrap();
    assert_eq!(
        stats,
        DestroyStats {
            tables: 1,
            frames: 0
        }
    );
    let left: BTreeSet<Frame> = frames.allocated().difference(&before).copied().collect();
    assert_eq!(left, owned);
}

#[test]
fn the_kernel_space_is_never_destroyed() {
    let (mem, mut frames, kernel) = boot(PageSize::Large, 6);
    let free = frames.free_count();
    // A user space comes and goes around the refusal: the kernel half it
    // shares stays, and every frame comes back.
    let mut user = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    user.mapper(&mem, &NoFlush)
        .map_new(Page(0x400), UW, ZeroFill::No, &mut frames)
        .unwrap();
    let directory = kernel.directory();
    assert_eq!(
        kernel.destroy(&mem, &mut frames, UserFrames::FreeOwned),
        Err(SpaceError::KernelSpace)
    );
    // SAFETY: the kernel space was refused, so its directory is still a
    // valid, unshared page directory.
    let mut kernel = unsafe { AddressSpace::adopt(directory, SpaceKind::Kernel) };
    assert!(
        kernel
            .mapper(&mem, &NoFlush)
            .translate(VirtAddr(KERNEL_BASE))
            .is_some()
    );
    user.destroy(&mem, &mut frames, UserFrames::FreeOwned)
        .unwrap();
    assert_eq!(frames.free_count(), free);
}

#[test]
fn create_without_frames_fails_cleanly() {
    let (mem, mut frames, kernel) = boot(PageSize::Large, 7);
    let free = frames.free_count();
    // With frames, a space is made (and given back); without, nothing is.
    let user = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    assert_eq!(frames.free_count(), free - 1, "one frame: the directory");
    user.destroy(&mem, &mut frames, UserFrames::FreeOwned)
        .unwrap();
    assert_eq!(frames.free_count(), free);
    frames.set_budget(Some(0));
    assert_eq!(
        AddressSpace::create(&mem, &mut frames, &kernel),
        Err(SpaceError::NoFrames)
    );
    assert_eq!(frames.free_count(), free);
}

#[test]
fn destroy_reports_a_frame_someone_else_freed() {
    let (mem, mut frames, kernel) = boot(PageSize::Large, 8);
    let mut user = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let f = user
        .mapper(&mem, &NoFlush)
        .map_new(Page(0x400), UW, ZeroFill::No, &mut frames)
        .unwrap();
    frames.free(f).unwrap();
    let free = frames.free_count();
    let r = user.destroy(&mem, &mut frames, UserFrames::FreeOwned);
    assert_eq!(
        r,
        Err(SpaceError::FreeFailed {
            frame: f,
            error: crate::mm::frame::FrameError::AlreadyFree
        })
    );
    // The table and the directory were still given back.
    assert_eq!(frames.free_count(), free + 2);
}

#[test]
fn a_thousand_address_spaces_leave_the_free_count_where_it_was() {
    let (mem, mut frames, mut kernel) = boot(PageSize::Large, 9);
    let free = frames.free_count();
    let allocated = frames.allocated().clone();
    // Under Miri 20 rounds (each a whole create-map-destroy cycle).
    for i in 0..miri_or(1000, 20) as u32 {
        let mut user = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
        {
            let mut m = user.mapper(&mem, &NoFlush);
            // Data across a table boundary, a stack page and an argument page.
            let data = VirtAddr(0x007F_E000 + (i % 2) * PAGE_SIZE as u32);
            m.map_range_sparse(data, 5 * PAGE_SIZE, UW, ZeroFill::No, &mut frames)
                .unwrap();
            m.map_new(Page(0xBFBFF), UW, ZeroFill::Yes, &mut frames)
                .unwrap();
            m.map_new(Page(0xBFC00), UW, ZeroFill::No, &mut frames)
                .unwrap();
        }
        let stats = user
            .destroy(&mem, &mut frames, UserFrames::FreeOwned)
            .unwrap();
        assert_eq!(
            stats,
            DestroyStats {
                tables: 4,
                frames: 7
            }
        );
    }
    assert_eq!(frames.free_count(), free);
    assert_eq!(*frames.allocated(), allocated);
    assert!(kernel.mapper(&mem, &NoFlush).check(Some(&frames)).is_ok());
}

#[test]
fn recursive_addresses_reach_the_tables_through_the_walk() {
    let (mem, mut frames, kernel) = boot(PageSize::Large, 10);
    let mut user = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let dir = user.directory();
    let mut m = user.mapper(&mem, &NoFlush);
    let va = VirtAddr(0x0804_8123);
    m.map(Page::containing_address(va), Frame(0x456), UW, &mut frames)
        .unwrap();
    let table = m.read_pde(va).frame();

    // The directory appears at 0xFFFF_F000.
    assert_eq!(
        m.translate(recursive::directory()),
        Some(dir.start_address())
    );
    // The page table of `va` appears at 0xFFC0_0000 + pdx * 4096.
    assert_eq!(
        m.translate(recursive::table_of(va)),
        Some(table.start_address())
    );
    // Its PTE at 0xFFC0_0000 + (va >> 12) * 4: reading there reads the PTE.
    let pte_at = m.translate(recursive::pte_of(va)).unwrap();
    assert_eq!(
        pte_at,
        PhysAddr(table.start_address().0 + va.ptx() as u32 * 4)
    );
    assert_eq!(mem.read_u32(pte_at), 0x0045_6007);
    // And its PDE at 0xFFFF_F000 + pdx * 4.
    let pde_at = m.translate(recursive::pde_of(va)).unwrap();
    assert_eq!(mem.read_u32(pde_at), m.read_pde(va).raw());
    // The kernel-half tables appear too, the same in every space.
    let kva = VirtAddr(KERNEL_REGIONS_START);
    assert_eq!(
        m.translate(recursive::table_of(kva)),
        Some(m.read_pde(kva).addr())
    );
    // The recursive slot is never a place to map.
    let slot = Page::containing_address(recursive::directory());
    assert_eq!(
        m.map(slot, Frame(1), W, &mut frames),
        Err(MapError::Reserved(slot))
    );
}

#[test]
fn regions_cover_the_layout_in_order() {
    let map = RegionMap::standard();
    assert_eq!(map.check(), Ok(()));
    let cases = [
        (0x0000_0000, Some(Region::NullGuard)),
        (0x0000_0FFF, Some(Region::NullGuard)),
        (0x0000_1000, None),
        (0x003F_FFFF, None),
        (0x0040_0000, Some(Region::UserData)),
        (0x1000_0000, Some(Region::UserHeap)),
        (0x6000_0000, Some(Region::UserPrivate)),
        (0xA000_0000, Some(Region::UserShare)),
        (0xBFBF_FFFF, Some(Region::UserStack)),
        (0xBFFF_FFFF, Some(Region::UserArgs)),
        (0xC010_0000, Some(Region::KernelLinear)),
        (0xEFFF_FFFF, Some(Region::KernelLinear)),
        (0xF000_0000, Some(Region::KernelHeap)),
        (0xF800_0000, Some(Region::KernelPrivate)),
        (0xFF80_0000, Some(Region::KernelTempMap)),
        (0xFFC0_0000, Some(Region::Recursive)),
        (0xFFFF_FFFF, Some(Region::Recursive)),
    ];
    for (va, want) in cases {
        assert_eq!(map.region_of(VirtAddr(va)), want, "{va:#x}");
    }
    // From user data up, the regions tile the space with no gap.
    for pair in Region::ALL[1..].windows(2) {
        assert_eq!(
            map.range(pair[0]).end(),
            map.range(pair[1]).start.0 as u64,
            "{:?}",
            pair
        );
    }
    assert_eq!(map.range(Region::Recursive).end(), 1 << 32);
    assert_eq!(map.range(Region::UserArgs).end(), KERNEL_BASE as u64);
    assert!(
        Region::ALL
            .iter()
            .all(|r| r.is_user() == (map.range(*r).end() <= KERNEL_BASE as u64))
    );
}

#[test]
fn set_range_refuses_bad_ranges_and_keeps_the_map() {
    let mut map = RegionMap::standard();
    let before = map.clone();
    let heap = Region::UserHeap;
    assert_eq!(
        map.set_range(heap, VirtRange::new(0x1000_0000, 0x1000_0800)),
        Err(RegionError::Unaligned)
    );
    assert_eq!(
        map.set_range(heap, VirtRange::new(0x1000_0000, 0x1000_0000)),
        Err(RegionError::Unaligned)
    );
    assert_eq!(
        map.set_range(heap, VirtRange::new(0x0800_0000, 0x2000_0000)),
        Err(RegionError::Overlaps(Region::UserData))
    );
    assert_eq!(
        map.set_range(heap, VirtRange::new(0xB000_0000, 0xC100_0000)),
        Err(RegionError::WrongHalf)
    );
    assert_eq!(
        map.set_range(Region::KernelHeap, VirtRange::new(0x1000_0000, 0x2000_0000)),
        Err(RegionError::WrongHalf)
    );
    let huge = VirtRange {
        start: VirtAddr(0x1000_0000),
        size: !0xFFF,
    };
    assert_eq!(map.set_range(heap, huge), Err(RegionError::BadRange));
    assert_eq!(
        map.set_range(heap, VirtRange::new(0x2000_0000, 0x1000_0000)),
        Err(RegionError::Unaligned)
    );
    assert_eq!(map, before);
    // Shrinking the heap is allowed, and region_of follows.
    map.set_range(heap, VirtRange::new(0x1000_0000, 0x2000_0000))
        .unwrap();
    assert_eq!(map.region_of(VirtAddr(0x3000_0000)), None);
    assert_eq!(map.check(), Ok(()));
}

#[test]
fn find_free_is_first_fit_against_the_mappings() {
    let (mem, mut frames, kernel) = boot(PageSize::Large, 11);
    let map = RegionMap::standard();
    let mut user = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let mut m = user.mapper(&mem, &NoFlush);
    let heap = Region::UserHeap;
    let start = VirtAddr(0x1000_0000);
    assert_eq!(map.find_free(&m, 1, heap), Ok(start));
    // Pages 0..3 mapped, 3..5 free, 5 mapped.
    m.map_range_contiguous(start, PhysAddr(0x0020_0000), 3 * PAGE_SIZE, UW, &mut frames)
        .unwrap();
    m.map(Page(0x10005), Frame(0x400), UW, &mut frames).unwrap();
    assert_eq!(map.find_free(&m, 1, heap), Ok(VirtAddr(0x1000_3000)));
    assert_eq!(
        map.find_free(&m, 2 * PAGE_SIZE, heap),
        Ok(VirtAddr(0x1000_3000))
    );
    assert_eq!(
        map.find_free(&m, 2 * PAGE_SIZE + 1, heap),
        Ok(VirtAddr(0x1000_6000))
    );
    assert_eq!(map.find_free(&m, 0, heap), Err(FindFreeError::BadSize));
    assert_eq!(
        map.find_free(&m, 8 << 20, Region::UserArgs),
        Err(FindFreeError::BadSize)
    );
    assert_eq!(
        map.find_free(&m, 1, Region::NullGuard),
        Err(FindFreeError::NotMappable(Region::NullGuard))
    );
    assert_eq!(
        map.find_free(&m, 1, Region::Recursive),
        Err(FindFreeError::NotMappable(Region::Recursive))
    );
    // A whole region: args is 4 MiB; map one page in the middle and ask for 3 MiB.
    m.map(Page(0xBFE00), Frame(0x401), UW, &mut frames).unwrap();
    assert_eq!(
        map.find_free(&m, 2 << 20, Region::UserArgs),
        Ok(VirtAddr(0xBFC0_0000))
    );
    assert_eq!(
        map.find_free(&m, 3 << 20, Region::UserArgs),
        Err(FindFreeError::NoSpace)
    );
    assert_eq!(
        map.find_free(&m, (2 << 20) - PAGE_SIZE, Region::UserArgs),
        Ok(VirtAddr(0xBFC0_0000))
    );
    // The kernel linear space is mapped by 4 MiB pages in its first 16 MiB.
    let mut km = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let km = km.mapper(&mem, &NoFlush);
    assert_eq!(
        map.find_free(&km, 1, Region::KernelLinear),
        Ok(VirtAddr(0xC100_0000))
    );
}

#[test]
fn vmregions_report_lists_each_region_with_its_mapped_pages() {
    let (mem, mut frames, mut kernel) = boot(PageSize::Large, 12);
    let map = RegionMap::standard();
    {
        let mut m = kernel.mapper(&mem, &NoFlush);
        m.map_range_sparse(
            VirtAddr(KERNEL_REGIONS_START),
            3 * PAGE_SIZE,
            W,
            ZeroFill::No,
            &mut frames,
        )
        .unwrap();
    }
    let m = kernel.mapper(&mem, &NoFlush);
    assert_eq!(map.mapped_pages(&m, Region::KernelLinear), 4096);
    assert_eq!(map.mapped_pages(&m, Region::KernelHeap), 3);
    assert_eq!(map.mapped_pages(&m, Region::UserHeap), 0);
    // Through PD[1023] a page shows for each present PDE: 4 large pages,
    // the prepared kernel tables, and the directory itself.
    let pdes = 4 + KERNEL_TABLES as u64 + 1;
    assert_eq!(map.mapped_pages(&m, Region::Recursive), pdes);
    let mut out = String::new();
    map.write_report(&m, &mut out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1 + Region::COUNT, "{out}");
    assert_eq!(
        lines[8],
        "kernel linear   V0xc0000000-V0xefffffff  768 MiB   4096  physical 0..768 MiB"
    );
    assert_eq!(
        lines[9],
        "kernel heap     V0xf0000000-V0xf7ffffff  128 MiB      3  grows through the VMM"
    );
    assert!(lines[1].starts_with("null guard      V0x00000000-V0x00000fff    4 KiB      0"));
    for line in &lines {
        assert!(line.len() <= 80, "wider than the screen: {line}");
    }
}

#[test]
fn fault_codes_decode_into_words() {
    let cases = [
        (0x0, "page not present, read, supervisor mode"),
        (0x2, "page not present, write, supervisor mode"),
        (0x3, "protection violation, write, supervisor mode"),
        (0x5, "protection violation, read, user mode"),
        (0x7, "protection violation, write, user mode"),
        (
            0x9,
            "protection violation, read, supervisor mode, reserved bit set",
        ),
        (0x14, "page not present, read, user mode, instruction fetch"),
    ];
    for (raw, text) in cases {
        assert_eq!(format!("{}", PageFaultCode::from_raw(raw)), text);
    }
    assert_eq!(
        PageFaultCode::from_raw(0x8000_0002).bits(),
        0x8000_0002,
        "unknown bits kept"
    );
}

#[test]
fn fault_reports_name_region_entries_and_cause() {
    let (mem, mut frames, mut kernel) = boot(PageSize::Small, 13);
    let map = RegionMap::standard();
    let mut m = kernel.mapper(&mem, &NoFlush);
    // Kernel text page made read-only, a user page, a supervisor page.
    m.unmap(Page(0xC0100), &mut frames).unwrap();
    m.map(Page(0xC0100), Frame(0x100), EntryFlags::GLOBAL, &mut frames)
        .unwrap();
    m.map(Page(0x400), Frame(0x500), UW, &mut frames).unwrap();
    let eip = VirtAddr(0xC010_1234);
    let report = |va: u32, code: u32| {
        let va = VirtAddr(va);
        FaultReport::new(va, eip, PageFaultCode::from_raw(code), m.trace(va), &map)
    };
    let r = report(0x0000_0000, 0x0);
    assert_eq!(
        (r.region, r.cause),
        (Some(Region::NullGuard), FaultCause::NullPointer)
    );
    let text = format!("{r}");
    let want_start = "page fault at V0x00000000, eip V0xc0101234\n\
                      \x20 error code 0x0: page not present, read, supervisor mode\n\
                      \x20 region: null guard (never mapped: null pointers fault)\n\
                      \x20 translate V0x00000000: PDX 0x000 (0) | PTX 0x000 (0) | offset 0x000\n";
    assert!(text.starts_with(want_start), "{text}");
    assert!(
        text.contains("    PDE  PD[0] = 0x00000000 [---------] not present"),
        "{text}"
    );
    assert!(
        text.ends_with("  cause: null pointer dereference (the null guard page is never mapped)\n"),
        "{text}"
    );

    assert_eq!(report(0x0000_2000, 0x2).cause, FaultCause::NoTable);
    assert_eq!(report(0x0000_2000, 0x2).region, None);
    assert_eq!(report(0x0040_1000, 0x6).cause, FaultCause::NotMapped);
    assert_eq!(report(0x0040_1000, 0x6).region, Some(Region::UserData));
    let wp = report(0xC010_0010, 0x3);
    assert_eq!(
        (wp.region, wp.cause),
        (Some(Region::KernelLinear), FaultCause::WriteToReadOnly)
    );
    assert!(format!("{wp}").contains("PTE  PT[256] = 0x00100101 [P-------G] -> frame P0x00100000"));
    assert_eq!(report(0xC020_0000, 0x5).cause, FaultCause::UserToSupervisor);
    assert_eq!(report(0x0040_0000, 0x7).cause, FaultCause::Stale);
    assert_eq!(report(0x0040_0000, 0xF).cause, FaultCause::ReservedBit);
    // An overflowing kernel stack that ran into an unmapped guard page.
    let guard = report(0xF800_0FFC, 0x2);
    assert_eq!(
        (guard.region, guard.cause),
        (Some(Region::KernelPrivate), FaultCause::NotMapped)
    );
}

/// Several address spaces under random operations, each against its own
/// model; kernel mappings made through the kernel space must show in all.
#[test]
fn soak_address_spaces_against_models() {
    let ops = soak_ops(50_000);
    let (mem, mut frames, mut kernel) = boot(PageSize::Large, 14);
    let base_free = frames.free_count();
    let mut rng = Rng::new(7);
    let mut spaces: Vec<(AddressSpace, BTreeMap<Page, Frame>)> = Vec::new();
    let mut kernel_model: BTreeMap<Page, Frame> = BTreeMap::new();
    let user_pages = |rng: &mut Rng| {
        Page([0x400u32, 0x7FF, 0x10000, 0xBFBFF][rng.range(0, 4)] + rng.range(0, 3) as u32)
    };

    for step in 0..ops {
        match rng.range(0, 10) {
            0 if spaces.len() < 8 => {
                let s = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
                spaces.push((s, BTreeMap::new()));
            }
            1 if !spaces.is_empty() => {
                let (s, model) = spaces.swap_remove(rng.range(0, spaces.len()));
                let stats = s.destroy(&mem, &mut frames, UserFrames::FreeOwned).unwrap();
                assert_eq!(stats.frames, model.len(), "step {step}");
            }
            2 => {
                // A kernel heap page, seen by every space at once.
                let p = Page(0xF0000 + rng.range(0, 16) as u32);
                let mut km = kernel.mapper(&mem, &NoFlush);
                if let Some(f) = kernel_model.remove(&p) {
                    assert_eq!(
                        km.unmap_range(
                            p.start_address(),
                            PAGE_SIZE,
                            Release::OwnedFrames,
                            &mut frames
                        ),
                        Ok(1)
                    );
                    let _ = f;
                } else {
                    let f = km.map_new(p, W, ZeroFill::No, &mut frames).unwrap();
                    kernel_model.insert(p, f);
                }
            }
            _ if !spaces.is_empty() => {
                let i = rng.range(0, spaces.len());
                let (s, model) = &mut spaces[i];
                let p = user_pages(&mut rng);
                let mut m = s.mapper(&mem, &NoFlush);
                match model.entry(p) {
                    Entry::Occupied(e) => {
                        if rng.chance(1, 2) {
                            let r = m.unmap_range(
                                p.start_address(),
                                PAGE_SIZE,
                                Release::OwnedFrames,
                                &mut frames,
                            );
                            assert_eq!(r, Ok(1));
                            e.remove();
                        } else {
                            let r = m.map_new(p, UW, ZeroFill::No, &mut frames);
                            assert_eq!(r, Err(MapError::AlreadyMapped(p)));
                        }
                    }
                    Entry::Vacant(e) => {
                        e.insert(m.map_new(p, UW, ZeroFill::No, &mut frames).unwrap());
                    }
                }
            }
            _ => {}
        }
        if step % 97 == 0 {
            // Every space sees exactly its own user pages and all kernel pages.
            for (s, model) in &mut spaces {
                let m = s.mapper(&mem, &NoFlush);
                let mut seen = 0;
                for run in m.runs_in(VirtAddr(0), KERNEL_BASE as u64) {
                    for k in 0..run.pages {
                        let p = Page(Page::containing_address(run.virt).0 + k);
                        let frame = m.mapping(p).map(|(f, _)| f);
                        assert_eq!(model.get(&p).copied(), frame, "step {step}");
                        seen += 1;
                    }
                }
                assert_eq!(seen, model.len(), "step {step}");
                assert_eq!(
                    m.check(Some(&frames)).unwrap().owned,
                    model.len() + kernel_model.len()
                );
                for (p, f) in &kernel_model {
                    assert_eq!(m.translate(p.start_address()), Some(f.start_address()));
                }
            }
        }
    }
    for (s, _) in spaces.drain(..) {
        s.destroy(&mem, &mut frames, UserFrames::FreeOwned).unwrap();
    }
    let mut km = kernel.mapper(&mem, &NoFlush);
    for p in core::mem::take(&mut kernel_model).into_keys() {
        km.unmap_range(
            p.start_address(),
            PAGE_SIZE,
            Release::OwnedFrames,
            &mut frames,
        )
        .unwrap();
    }
    assert_eq!(frames.free_count(), base_free);
}

/// The page table frame PDE `pdx` of `directory` points at.
fn mem_pde_frame(mem: &SimMemory, directory: Frame, pdx: usize) -> Frame {
    crate::mm::paging::mapper::read_entry(mem, directory, pdx).frame()
}
