//! Host tests of the mapper over simulated physical memory.

use super::testframes::TestFrames;
use super::*;
use crate::mm::addr::{Frame, Page, PhysAddr, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{KERNEL_BASE, LARGE_PAGE_SIZE, PAGE_SIZE, RECURSIVE_BASE};
use crate::mm::phys::{PhysMemory, SimMemory};
use crate::testutil::{Rng, miri_or, soak_ops};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

const SIM_FRAMES: usize = 1024;

/// Simulated RAM, an allocator over frames 1.., and a fresh directory.
fn setup(seed: u64) -> (SimMemory, TestFrames, Frame) {
    let mem = SimMemory::new(SIM_FRAMES);
    let mut frames = TestFrames::new(1, SIM_FRAMES - 1, seed);
    let pd = frames.allocate().unwrap();
    (mem, frames, pd)
}

fn mapper<'a, T: TlbFlush>(mem: &'a SimMemory, pd: Frame, tlb: &'a T) -> Mapper<'a, SimMemory, T> {
    // SAFETY: `pd` is a zeroed frame of `mem` used only by this test.
    unsafe { Mapper::new(pd, Scope::All, mem, tlb) }
}

/// A TLB that records the pages flushed.
#[derive(Default)]
struct RecordingTlb(RefCell<Vec<Page>>);

impl TlbFlush for RecordingTlb {
    fn flush_page(&self, page: Page) {
        self.0.borrow_mut().push(page);
    }
}

/// Everything a failed operation must leave as it was: the frames handed
/// out and the bytes of each of them.
fn snapshot(mem: &SimMemory, frames: &TestFrames) -> Vec<(Frame, Vec<u8>)> {
    frames
        .allocated()
        .iter()
        .map(|&f| {
            let p = mem.frame_ptr(f);
            // SAFETY: SimMemory's frame pointer is valid for PAGE_SIZE bytes.
            let bytes = unsafe { core::slice::from_raw_parts(p, PAGE_SIZE) }.to_vec();
            (f, bytes)
        })
        .collect()
}

fn fill(mem: &SimMemory, frame: Frame, byte: u8) {
    // SAFETY: SimMemory's frame pointer is valid for PAGE_SIZE bytes.
    unsafe { core::ptr::write_bytes(mem.frame_ptr(frame), byte, PAGE_SIZE) }
}

const UW: EntryFlags = EntryFlags::WRITABLE.union(EntryFlags::USER);
const P: EntryFlags = EntryFlags::PRESENT;
const W: EntryFlags = EntryFlags::WRITABLE;

fn page(va: u32) -> Page {
    Page::containing_address(VirtAddr(va))
}

#[test]
fn map_translate_unmap_one_page() {
    let (mem, mut frames, pd) = setup(1);
    let tlb = RecordingTlb::default();
    let mut m = mapper(&mem, pd, &tlb);
    let before = frames.free_count();

    m.map(page(0x0040_2000), Frame(0x123), UW, &mut frames)
        .unwrap();
    // One page table was drawn for PD[1].
    assert_eq!(frames.free_count(), before - 1);
    assert_eq!(
        m.translate(VirtAddr(0x0040_2ABC)),
        Some(PhysAddr(0x0012_3ABC))
    );
    assert_eq!(m.translate(VirtAddr(0x0040_3000)), None);
    assert_eq!(m.mapping(page(0x0040_2000)), Some((Frame(0x123), P | UW)));
    let pde = m.read_pde(VirtAddr(0x0040_2000));
    assert_eq!(
        pde.flags(),
        P | UW,
        "user-half tables are present, writable, user"
    );
    // The PTE sits in the table at index ptx = 2, as the CPU would read it.
    assert_eq!(mem.read_u32(PhysAddr(pde.addr().0 + 2 * 4)), 0x0012_3007);
    assert_eq!(m.check(Some(&frames)).unwrap().pages, 1);

    assert_eq!(m.unmap(page(0x0040_2000), &mut frames), Ok(Frame(0x123)));
    assert_eq!(m.translate(VirtAddr(0x0040_2ABC)), None);
    // The page, then (its table left empty and freed) the PDE's 4 MiB.
    assert_eq!(*tlb.0.borrow(), [page(0x0040_2000), page(0x0040_0000)]);
    // Unmap gives back what map took: the table went back too.
    assert_eq!(frames.free_count(), before);
    assert!(!m.read_pde(VirtAddr(0x0040_2000)).is_present());
    assert_eq!(
        m.unmap(page(0x0040_2000), &mut frames),
        Err(UnmapError::NotMapped(page(0x0040_2000)))
    );
}

#[test]
fn kernel_half_tables_are_not_user() {
    let (mem, mut frames, pd) = setup(2);
    let mut m = mapper(&mem, pd, &NoFlush);
    m.map(
        page(0xF000_0000),
        Frame(7),
        W | EntryFlags::GLOBAL,
        &mut frames,
    )
    .unwrap();
    assert_eq!(m.read_pde(VirtAddr(0xF000_0000)).flags(), P | W);
    let walk = m.trace(VirtAddr(0xF000_0010));
    assert_eq!(walk.effective_flags(), Some(P | W | EntryFlags::GLOBAL));
    // A user PTE under a kernel PDE is still not reachable from ring 3.
    m.map(page(0xF000_1000), Frame(8), UW, &mut frames).unwrap();
    assert_eq!(
        m.trace(VirtAddr(0xF000_1000)).effective_flags(),
        Some(P | W)
    );
}

#[test]
fn mapping_a_mapped_page_is_an_error_not_an_overwrite() {
    let (mem, mut frames, pd) = setup(3);
    let mut m = mapper(&mem, pd, &NoFlush);
    m.map(page(0x1000_0000), Frame(0x50), W, &mut frames)
        .unwrap();
    let snap = snapshot(&mem, &frames);
    assert_eq!(
        m.map(page(0x1000_0000), Frame(0x60), UW, &mut frames),
        Err(MapError::AlreadyMapped(page(0x1000_0000)))
    );
    assert_eq!(m.mapping(page(0x1000_0000)), Some((Frame(0x50), P | W)));
    assert_eq!(snapshot(&mem, &frames), snap);
}

#[test]
fn unmapping_what_is_not_mapped_changes_nothing() {
    let (mem, mut frames, pd) = setup(4);
    let tlb = RecordingTlb::default();
    let mut m = mapper(&mem, pd, &tlb);
    m.map(page(0x0080_0000), Frame(0x50), W, &mut frames)
        .unwrap();
    let snap = snapshot(&mem, &frames);
    // No table at all.
    assert_eq!(
        m.unmap(page(0x0100_0000), &mut frames),
        Err(UnmapError::NotMapped(page(0x0100_0000)))
    );
    // A table, but no page.
    assert_eq!(
        m.unmap(page(0x0080_1000), &mut frames),
        Err(UnmapError::NotMapped(page(0x0080_1000)))
    );
    assert_eq!(snapshot(&mem, &frames), snap);
    assert!(
        tlb.0.borrow().is_empty(),
        "nothing unmapped, nothing flushed"
    );
}

#[test]
fn walk_creates_tables_only_when_asked() {
    let (mem, mut frames, pd) = setup(5);
    let mut m = mapper(&mem, pd, &NoFlush);
    let va = VirtAddr(0x0123_4567);
    assert_eq!(m.walk(va, Alloc::No), Err(WalkError::NoTable));
    let free = frames.free_count();
    let slot = m.walk(va, Alloc::Yes(&mut frames)).unwrap();
    assert_eq!(frames.free_count(), free - 1);
    assert_eq!(slot.index, va.ptx());
    assert_eq!(m.read_pde(va).frame(), slot.table);
    assert_eq!(m.read_pte(slot), Entry::EMPTY);
    assert_eq!(m.walk(va, Alloc::No), Ok(slot));
    assert_eq!(m.walk(va, Alloc::Yes(&mut frames)), Ok(slot));
    assert_eq!(frames.free_count(), free - 1);
    frames.set_budget(Some(0));
    assert_eq!(
        m.walk(VirtAddr(0x0800_0000), Alloc::Yes(&mut frames)),
        Err(WalkError::NoFrames)
    );
    assert_eq!(m.read_pde(VirtAddr(0x0800_0000)), Entry::EMPTY);
}

#[test]
fn new_page_tables_are_zeroed() {
    let (mem, mut frames, pd) = setup(6);
    // Dirty every free frame so a table that is not zeroed would show junk.
    let free: Vec<Frame> = (1..SIM_FRAMES as u32)
        .map(Frame)
        .filter(|f| !frames.is_allocated(*f))
        .collect();
    for f in free {
        fill(&mem, f, 0xA5);
    }
    let mut m = mapper(&mem, pd, &NoFlush);
    m.map(page(0x0040_0000), Frame(9), W, &mut frames).unwrap();
    for ptx in 1..1024u32 {
        assert_eq!(m.translate(VirtAddr(0x0040_0000 + ptx * 4096)), None);
    }
    assert_eq!(m.check(Some(&frames)).unwrap().pages, 1);
}

#[test]
fn large_pages_translate_and_block_small_ones() {
    let (mem, mut frames, pd) = setup(7);
    let tlb = RecordingTlb::default();
    let mut m = mapper(&mem, pd, &tlb);
    let va = VirtAddr(KERNEL_BASE);
    m.map_large(va, PhysAddr(0), W | EntryFlags::GLOBAL)
        .unwrap();
    assert_eq!(m.read_pde(va).raw(), 0x0000_0183);
    assert_eq!(
        m.translate(VirtAddr(0xC010_0000)),
        Some(PhysAddr(0x0010_0000))
    );
    assert_eq!(
        m.translate(VirtAddr(0xC03F_FFFF)),
        Some(PhysAddr(0x003F_FFFF))
    );
    assert_eq!(m.translate(VirtAddr(0xC040_0000)), None);
    assert!(matches!(
        m.trace(VirtAddr(0xC000_1234)).end(),
        WalkEnd::Large { .. }
    ));
    let snap = snapshot(&mem, &frames);
    let p = page(0xC010_0000);
    assert_eq!(
        m.map(p, Frame(1), W, &mut frames),
        Err(MapError::LargePage(p))
    );
    assert_eq!(m.unmap(p, &mut frames), Err(UnmapError::LargePage(p)));
    assert_eq!(
        m.walk(p.start_address(), Alloc::No),
        Err(WalkError::LargePage)
    );
    assert_eq!(m.mapping(p), None, "no PTE maps a page inside a 4 MiB page");
    assert_eq!(
        m.map_large(va, PhysAddr(0x0040_0000), W),
        Err(MapError::AlreadyMapped(page(KERNEL_BASE)))
    );
    assert_eq!(
        m.map_large(VirtAddr(0xC000_1000), PhysAddr(0), W),
        Err(MapError::Unaligned)
    );
    assert_eq!(
        m.map_large(VirtAddr(0xC040_0000), PhysAddr(0x1000), W),
        Err(MapError::Unaligned)
    );
    assert_eq!(
        m.unmap_large(VirtAddr(0xC010_0000)),
        Err(UnmapError::Unaligned)
    );
    assert_eq!(
        m.unmap_large(VirtAddr(0xC040_0000)),
        Err(UnmapError::NotMapped(page(0xC040_0000)))
    );
    assert_eq!(snapshot(&mem, &frames), snap);
    assert!(tlb.0.borrow().is_empty());

    assert_eq!(m.check(None).unwrap().large, 1);
    assert_eq!(m.unmap_large(va), Ok(PhysAddr(0)));
    assert_eq!(*tlb.0.borrow(), [page(KERNEL_BASE)]);
    assert_eq!(m.translate(VirtAddr(0xC010_0000)), None);

    // A directory entry holding a page table (even empty) blocks a 4 MiB page.
    m.prepare_tables(VirtAddr(0xC080_0000), PAGE_SIZE, &mut frames)
        .unwrap();
    assert_eq!(
        m.map_large(VirtAddr(0xC080_0000), PhysAddr(0), W),
        Err(MapError::AlreadyMapped(page(0xC080_0000)))
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (mem, mut frames, pd) = setup(8);
    let mut m = mapper(&mem, pd, &NoFlush);
    m.map(page(0x0040_0000), Frame(9), W, &mut frames).unwrap();
    let snap = snapshot(&mem, &frames);
    let f = &mut frames;
    assert_eq!(
        m.map(Page(1 << 20), Frame(1), W, f),
        Err(MapError::BadRange)
    );
    assert_eq!(
        m.map(page(0x0040_1000), Frame(1 << 20), W, f),
        Err(MapError::BadRange)
    );
    assert_eq!(
        m.map(page(0x0040_1000), Frame(1), EntryFlags::HUGE, f),
        Err(MapError::BadFlags)
    );
    let rec = page(RECURSIVE_BASE);
    assert_eq!(m.map(rec, Frame(1), W, f), Err(MapError::Reserved(rec)));
    assert_eq!(m.unmap(rec, f), Err(UnmapError::Reserved(rec)));
    assert_eq!(m.unmap(Page(1 << 20), f), Err(UnmapError::BadRange));
    assert_eq!(m.mapping(Page(u32::MAX)), None);
    assert_eq!(
        m.map_large(VirtAddr(RECURSIVE_BASE), PhysAddr(0), W),
        Err(MapError::Reserved(rec))
    );
    let va = VirtAddr(0x0050_0000);
    assert_eq!(
        m.map_range_contiguous(va, PhysAddr(0), 0, W, f),
        Err(MapError::BadRange)
    );
    assert_eq!(
        m.map_range_contiguous(va, PhysAddr(0), 100, W, f),
        Err(MapError::Unaligned)
    );
    assert_eq!(
        m.map_range_contiguous(VirtAddr(0x0050_0010), PhysAddr(0), 4096, W, f),
        Err(MapError::Unaligned)
    );
    assert_eq!(
        m.map_range_contiguous(va, PhysAddr(0x10), 4096, W, f),
        Err(MapError::Unaligned)
    );
    assert_eq!(
        m.map_range_contiguous(VirtAddr(0xFFFF_F000), PhysAddr(0), 8192, W, f),
        Err(MapError::BadRange)
    );
    assert_eq!(
        m.map_range_contiguous(va, PhysAddr(0xFFFF_F000), 8192, W, f),
        Err(MapError::BadRange)
    );
    assert_eq!(
        m.map_range_sparse(va, usize::MAX & !0xFFF, W, ZeroFill::No, f),
        Err(MapError::BadRange)
    );
    assert_eq!(
        m.map_range_sparse(va, 4096, EntryFlags::HUGE, ZeroFill::No, f),
        Err(MapError::BadFlags)
    );
    assert_eq!(
        m.map_linear(PhysAddr(0x2FFF_F000), 8192, W, PageSize::Small, f),
        Err(MapError::BadRange)
    );
    assert_eq!(
        m.unmap_range(va, 0, Release::Keep, &mut frames),
        Err(UnmapError::BadRange)
    );
    assert_eq!(
        m.unmap_range(va, 5, Release::Keep, &mut frames),
        Err(UnmapError::Unaligned)
    );
    assert_eq!(snapshot(&mem, &frames), snap);
    assert_eq!(m.check(Some(&frames)).unwrap().pages, 1);
}

#[test]
fn a_user_scope_mapper_leaves_the_kernel_half_alone() {
    let (mem, mut frames, pd) = setup(9);
    // SAFETY: `pd` is a zeroed frame of `mem` used only by this test.
    let mut m = unsafe { Mapper::new(pd, Scope::User, &mem, &NoFlush) };
    let k = page(KERNEL_BASE);
    let free = frames.free_count();
    assert_eq!(
        m.map(k, Frame(1), W, &mut frames),
        Err(MapError::OutOfScope(k))
    );
    assert_eq!(
        m.map_large(VirtAddr(KERNEL_BASE), PhysAddr(0), W),
        Err(MapError::OutOfScope(k))
    );
    assert_eq!(m.unmap(k, &mut frames), Err(UnmapError::OutOfScope(k)));
    assert_eq!(
        m.walk(VirtAddr(KERNEL_BASE), Alloc::Yes(&mut frames)),
        Err(WalkError::OutOfScope)
    );
    // A range that runs into the kernel half fails and is rolled back.
    let r = m.map_range_sparse(
        VirtAddr(KERNEL_BASE - 0x2000),
        0x3000,
        UW,
        ZeroFill::No,
        &mut frames,
    );
    assert_eq!(r, Err(MapError::OutOfScope(k)));
    assert_eq!(frames.free_count(), free);
    assert_eq!(m.translate(VirtAddr(KERNEL_BASE - 0x2000)), None);
    m.map(page(KERNEL_BASE - 0x1000), Frame(3), UW, &mut frames)
        .unwrap();
}

#[test]
fn contiguous_range_crosses_a_table_boundary() {
    let (mem, mut frames, pd) = setup(10);
    let mut m = mapper(&mem, pd, &NoFlush);
    let va = VirtAddr(0x003F_C000); // 4 pages before the PD[1] boundary
    m.map_range_contiguous(va, PhysAddr(0x0030_0000), 10 * PAGE_SIZE, UW, &mut frames)
        .unwrap();
    for i in 0..10 {
        assert_eq!(
            m.translate(VirtAddr(va.0 + i * 4096 + 5)),
            Some(PhysAddr(0x0030_0000 + i * 4096 + 5))
        );
    }
    assert_eq!(m.translate(VirtAddr(va.0 + 10 * 4096)), None);
    let runs: Vec<MappedRun> = m.runs().collect();
    assert_eq!(
        runs,
        [MappedRun {
            virt: va,
            phys: PhysAddr(0x0030_0000),
            contiguous: true,
            pages: 10,
            flags: P | UW,
            kind: RunKind::Small
        }]
    );
    assert_eq!(m.check(Some(&frames)).unwrap().tables, 2);
}

#[test]
fn a_range_that_fails_half_way_is_rolled_back() {
    let (mem, mut frames, pd) = setup(11);
    let tlb = RecordingTlb::default();
    let mut m = mapper(&mem, pd, &tlb);
    // The obstacle: page 6 of the range, in the second table.
    let va = VirtAddr(0x007F_C000);
    let obstacle = page(va.0 + 6 * 4096);
    m.map(obstacle, Frame(0x77), W, &mut frames).unwrap();
    let snap = snapshot(&mem, &frames);
    let r = m.map_range_contiguous(va, PhysAddr(0x0100_0000), 12 * PAGE_SIZE, W, &mut frames);
    assert_eq!(r, Err(MapError::AlreadyMapped(obstacle)));
    assert_eq!(
        snapshot(&mem, &frames),
        snap,
        "pages, tables and frames as before"
    );
    for i in 0..12 {
        let p = Page(page(va.0).0 + i);
        let expect = (p == obstacle).then_some((Frame(0x77), P | W));
        assert_eq!(m.mapping(p), expect);
    }
    // The six pages mapped then unmapped were flushed from the TLB.
    assert_eq!(
        tlb.0.borrow().len(),
        6 + 1,
        "six pages and the created table"
    );

    // Running out of frames for the third table also rolls everything back.
    let mut frames2 = TestFrames::new(1, SIM_FRAMES - 1, 99);
    let (mem2, pd2) = (SimMemory::new(SIM_FRAMES), frames2.allocate().unwrap());
    let mut m2 = mapper(&mem2, pd2, &NoFlush);
    let snap2 = snapshot(&mem2, &frames2);
    frames2.set_budget(Some(2));
    let r = m2.map_range_contiguous(
        VirtAddr(0x003F_F000),
        PhysAddr(0),
        0x0040_2000,
        W,
        &mut frames2,
    );
    assert_eq!(r, Err(MapError::NoFrames));
    frames2.set_budget(None);
    assert_eq!(snapshot(&mem2, &frames2), snap2);
    assert_eq!(m2.runs().count(), 0);
}

#[test]
fn sparse_range_maps_fresh_owned_frames() {
    let (mem, mut frames, pd) = setup(12);
    let free: Vec<Frame> = (1..SIM_FRAMES as u32)
        .map(Frame)
        .filter(|f| !frames.is_allocated(*f))
        .collect();
    for f in free {
        fill(&mem, f, 0x5A);
    }
    let mut m = mapper(&mem, pd, &NoFlush);
    let before = frames.free_count();
    let va = VirtAddr(0x1000_0000);
    m.map_range_sparse(va, 20 * PAGE_SIZE, UW, ZeroFill::Yes, &mut frames)
        .unwrap();
    // 20 pages and one page table.
    assert_eq!(frames.free_count(), before - 21);
    let mut seen = BTreeSet::new();
    let mut contiguous = true;
    for i in 0..20u32 {
        let (f, flags) = m.mapping(Page(page(va.0).0 + i)).unwrap();
        assert_eq!(flags, P | UW | EntryFlags::OWNED);
        assert!(frames.is_allocated(f));
        assert!(seen.insert(f), "each page has its own frame");
        assert_eq!(
            mem.read_u32(PhysAddr(f.start_address().0 + 100)),
            0,
            "zero-filled"
        );
        if i > 0 {
            let prev = m.mapping(Page(page(va.0).0 + i - 1)).unwrap().0;
            contiguous &= f.0 == prev.0 + 1;
        }
    }
    assert!(!contiguous, "the test allocator hands out scattered frames");
    let c = m.check(Some(&frames)).unwrap();
    assert_eq!((c.pages, c.owned, c.tables), (20, 20, 1));
    // Released with their frames.
    assert_eq!(
        m.unmap_range(va, 20 * PAGE_SIZE, Release::OwnedFrames, &mut frames),
        Ok(20)
    );
    // ... and the table they left empty.
    assert_eq!(frames.free_count(), before);
}

/// An allocator that logs every frame it hands out, in order.
struct LoggingFrames<'a> {
    inner: &'a mut TestFrames,
    log: Vec<Frame>,
}

impl FrameAllocator for LoggingFrames<'_> {
    fn name(&self) -> &'static str {
        "logging"
    }
    fn allocate(&mut self) -> Option<Frame> {
        let f = self.inner.allocate()?;
        self.log.push(f);
        Some(f)
    }
    fn allocate_contiguous(&mut self, count: usize, align: usize) -> Option<Frame> {
        self.inner.allocate_contiguous(count, align)
    }
    fn free(&mut self, frame: Frame) -> Result<(), crate::mm::frame::FrameError> {
        self.inner.free(frame)
    }
    fn free_contiguous(
        &mut self,
        start: Frame,
        count: usize,
    ) -> Result<(), crate::mm::frame::FrameError> {
        self.inner.free_contiguous(start, count)
    }
    fn free_count(&self) -> usize {
        self.inner.free_count()
    }
    fn total_count(&self) -> usize {
        self.inner.total_count()
    }
    fn is_allocated(&self, frame: Frame) -> bool {
        self.inner.is_allocated(frame)
    }
}

#[test]
fn sparse_range_draws_eight_frames_then_maps_them() {
    let (mem, mut frames, pd) = setup(22);
    let mut m = mapper(&mem, pd, &NoFlush);
    let mut logging = LoggingFrames {
        inner: &mut frames,
        log: Vec::new(),
    };
    let va = VirtAddr(0x1000_0000);
    m.map_range_sparse(va, 20 * PAGE_SIZE, UW, ZeroFill::No, &mut logging)
        .unwrap();
    let log = logging.log;
    assert_eq!(log.len(), 21);
    // First chunk: 8 frames drawn, then mapping page 0 draws the page table.
    assert_eq!(m.read_pde(va).frame(), log[8]);
    let frame_of = |i: u32| m.mapping(Page(page(va.0).0 + i)).unwrap().0;
    for i in 0..8 {
        assert_eq!(frame_of(i), log[i as usize], "chunk 1");
    }
    for i in 8..20 {
        assert_eq!(frame_of(i), log[i as usize + 1], "chunks 2 and 3");
    }
}

#[test]
fn sparse_range_that_fails_gives_every_frame_back() {
    let (mem, mut frames, pd) = setup(13);
    let mut m = mapper(&mem, pd, &NoFlush);
    let snap = snapshot(&mem, &frames);
    let va = VirtAddr(0x2000_0000);
    // Budget: one table + 8 frames + 4 more: the second chunk cannot be drawn.
    frames.set_budget(Some(13));
    let r = m.map_range_sparse(va, 20 * PAGE_SIZE, UW, ZeroFill::No, &mut frames);
    assert_eq!(r, Err(MapError::NoFrames));
    frames.set_budget(None);
    assert_eq!(snapshot(&mem, &frames), snap);

    // An obstacle in the middle of the second chunk.
    let obstacle = page(va.0 + 11 * 4096);
    m.map(obstacle, Frame(3), W, &mut frames).unwrap();
    let snap = snapshot(&mem, &frames);
    let r = m.map_range_sparse(va, 20 * PAGE_SIZE, UW, ZeroFill::No, &mut frames);
    assert_eq!(r, Err(MapError::AlreadyMapped(obstacle)));
    assert_eq!(snapshot(&mem, &frames), snap);
    assert_eq!(m.runs().count(), 1);
}

#[test]
fn map_new_owns_its_frame_and_gives_it_back_on_failure() {
    let (mem, mut frames, pd) = setup(14);
    let mut m = mapper(&mem, pd, &NoFlush);
    let p = page(0x0040_0000);
    let f = m.map_new(p, UW, ZeroFill::Yes, &mut frames).unwrap();
    assert_eq!(m.mapping(p), Some((f, P | UW | EntryFlags::OWNED)));
    let free = frames.free_count();
    assert_eq!(
        m.map_new(p, UW, ZeroFill::Yes, &mut frames),
        Err(MapError::AlreadyMapped(p))
    );
    assert_eq!(frames.free_count(), free);
    assert_eq!(
        m.unmap_range(p.start_address(), PAGE_SIZE, Release::Keep, &mut frames),
        Ok(1)
    );
    assert!(
        frames.is_allocated(f),
        "Release::Keep leaves the frame to the caller"
    );
}

#[test]
fn linear_space_with_large_and_small_pages() {
    for size in [PageSize::Small, PageSize::Large] {
        let (mem, mut frames, pd) = setup(15);
        let mut m = mapper(&mem, pd, &NoFlush);
        // 0x3000 .. 16 MiB + 0x5000: unaligned head and tail.
        let len = 16 * 1024 * 1024 + 0x2000;
        m.map_linear(PhysAddr(0x3000), len, W, size, &mut frames)
            .unwrap();
        assert_eq!(
            m.translate(VirtAddr(0xC010_0000)),
            Some(PhysAddr(0x0010_0000))
        );
        assert_eq!(m.translate(VirtAddr(0xC000_3000)), Some(PhysAddr(0x3000)));
        assert_eq!(m.translate(VirtAddr(0xC000_2FFF)), None);
        assert_eq!(
            m.translate(VirtAddr(0xC100_4FFF)),
            Some(PhysAddr(0x0100_4FFF))
        );
        assert_eq!(m.translate(VirtAddr(0xC100_5000)), None);
        let c = m.check(Some(&frames)).unwrap();
        match size {
            PageSize::Small => assert_eq!((c.tables, c.large), (5, 0)),
            // Head 0x3000..4 MiB in a table, 4..16 MiB as three 4 MiB pages, tail in a table.
            PageSize::Large => assert_eq!((c.tables, c.large, c.pages), (2, 3, 1021 + 5)),
        }
        let text = format!("{}", m.trace(VirtAddr(0xC010_0000)));
        assert!(text.contains("physical P0x00100000"), "{text}");
    }
}

#[test]
fn linear_map_failure_rolls_back_large_pages_too() {
    let (mem, mut frames, pd) = setup(16);
    let mut m = mapper(&mem, pd, &NoFlush);
    let obstacle = page(KERNEL_BASE + 0x0080_0000 + 0x0040_0000 + 0x1000);
    m.map(obstacle, Frame(1), W, &mut frames).unwrap();
    let snap = snapshot(&mem, &frames);
    let r = m.map_linear(
        PhysAddr(0x0040_0000),
        0x0100_0000,
        W,
        PageSize::Large,
        &mut frames,
    );
    // 4..8 MiB and 8..12 MiB went in as large pages; 12..16 MiB has a table in the way.
    assert_eq!(
        r,
        Err(MapError::AlreadyMapped(page(KERNEL_BASE + 0x00C0_0000)))
    );
    assert_eq!(snapshot(&mem, &frames), snap);
    assert_eq!(m.check(None).unwrap().large, 0);
}

#[test]
fn prepare_tables_creates_each_missing_table_once() {
    let (mem, mut frames, pd) = setup(17);
    let mut m = mapper(&mem, pd, &NoFlush);
    let start = VirtAddr(0xF000_0000);
    assert_eq!(
        m.prepare_tables(start, 3 * LARGE_PAGE_SIZE + 1, &mut frames),
        Err(MapError::Unaligned)
    );
    assert_eq!(
        m.prepare_tables(start, 3 * LARGE_PAGE_SIZE, &mut frames),
        Ok(3)
    );
    assert_eq!(
        m.prepare_tables(VirtAddr(0xF040_0000), 3 * LARGE_PAGE_SIZE, &mut frames),
        Ok(1)
    );
    assert_eq!(m.check(Some(&frames)).unwrap().tables, 4);
    let snap = snapshot(&mem, &frames);
    frames.set_budget(Some(1));
    assert_eq!(
        m.prepare_tables(VirtAddr(0xF100_0000), 2 * LARGE_PAGE_SIZE, &mut frames),
        Err(MapError::NoFrames)
    );
    frames.set_budget(None);
    assert_eq!(snapshot(&mem, &frames), snap);
}

#[test]
fn unmap_range_is_all_or_nothing() {
    let (mem, mut frames, pd) = setup(18);
    let tlb = RecordingTlb::default();
    let mut m = mapper(&mem, pd, &tlb);
    let va = VirtAddr(0x0040_0000);
    m.map_range_sparse(va, 4 * PAGE_SIZE, UW, ZeroFill::No, &mut frames)
        .unwrap();
    let snap = snapshot(&mem, &frames);
    let hole = page(va.0 + 4 * 4096);
    assert_eq!(
        m.unmap_range(va, 5 * PAGE_SIZE, Release::OwnedFrames, &mut frames),
        Err(UnmapError::NotMapped(hole))
    );
    assert_eq!(snapshot(&mem, &frames), snap);
    assert!(tlb.0.borrow().is_empty());
    let free = frames.free_count();
    assert_eq!(
        m.unmap_range(va, 4 * PAGE_SIZE, Release::OwnedFrames, &mut frames),
        Ok(4)
    );
    // Four frames and the table they left empty; four pages and the table flushed.
    assert_eq!(frames.free_count(), free + 5);
    assert_eq!(tlb.0.borrow().len(), 5);

    // A frame marked OWNED that the allocator does not know: reported, and still unmapped.
    m.map(
        page(0x0040_0000),
        Frame(0x2000),
        W | EntryFlags::OWNED,
        &mut frames,
    )
    .unwrap();
    let r = m.unmap_range(va, PAGE_SIZE, Release::OwnedFrames, &mut frames);
    assert_eq!(
        r,
        Err(UnmapError::FreeFailed {
            page: page(0x0040_0000),
            error: crate::mm::frame::FrameError::Unmanaged
        })
    );
    assert_eq!(m.translate(va), None);
}

#[test]
fn trace_prints_the_walk_step_by_step() {
    let (mem, mut frames, pd) = setup(19);
    let mut m = mapper(&mem, pd, &NoFlush);
    m.map_linear(
        PhysAddr(0),
        4 * 1024 * 1024,
        W | EntryFlags::GLOBAL,
        PageSize::Small,
        &mut frames,
    )
    .unwrap();
    let walk = m.trace(VirtAddr(0xC010_0000));
    let table = walk.table.unwrap().table.start_address();
    let expect = format!(
        "translate V0xc0100000: PDX 0x300 (768) | PTX 0x100 (256) | offset 0x000\n\
         \x20 CR3  directory at {dir}\n\
         \x20 PDE  PD[768] = {pde:#010x} [PW-------] -> page table at {table}\n\
         \x20 PTE  PT[256] = 0x00100103 [PW------G] -> frame P0x00100000\n\
         \x20 =>   physical P0x00100000 (frame P0x00100000 + offset 0x000) [PW------G]\n",
        dir = pd.start_address(),
        pde = table.0 | 3,
    );
    assert_eq!(format!("{walk}"), expect);
    assert_eq!(walk.phys(), Some(PhysAddr(0x0010_0000)));

    let stop = format!("{}", m.trace(VirtAddr(0x0000_0004)));
    assert!(
        stop.contains("PD[0] = 0x00000000 [---------] not present: the walk stops here"),
        "{stop}"
    );
    let stop = format!("{}", m.trace(VirtAddr(0xC040_0000)));
    assert!(stop.contains("PD[769]"), "{stop}");
    m.map(page(0xC050_0000), Frame(5), W, &mut frames).unwrap();
    let stop = format!("{}", m.trace(VirtAddr(0xC050_1000)));
    assert!(
        stop.contains("PT[257] = 0x00000000 [---------] not present"),
        "{stop}"
    );

    m.map_large(VirtAddr(0xC080_0000), PhysAddr(0x0080_0000), W)
        .unwrap();
    let large = format!("{}", m.trace(VirtAddr(0xC081_2345)));
    assert!(large.contains("-> 4 MiB page at P0x00800000"), "{large}");
    assert!(
        large.contains("physical P0x00812345 (4 MiB page P0x00800000 + offset 0x012345)"),
        "{large}"
    );
}

#[test]
fn pagedir_merges_runs() {
    let (mem, mut frames, pd) = setup(20);
    let mut m = mapper(&mem, pd, &NoFlush);
    let f = &mut frames;
    m.map_range_contiguous(
        VirtAddr(0x0040_0000),
        PhysAddr(0x0010_0000),
        3 * PAGE_SIZE,
        UW,
        f,
    )
    .unwrap();
    // Next page, next frame, other flags: a new run.
    m.map(page(0x0040_3000), Frame(0x103), W, f).unwrap();
    // Next page, not the next frame, same flags: the same run, scattered.
    m.map(page(0x0040_4000), Frame(0x200), W, f).unwrap();
    // After a gap: a new run.
    m.map(page(0x0040_6000), Frame(0x201), W, f).unwrap();
    m.map_large(VirtAddr(0xC000_0000), PhysAddr(0), W).unwrap();
    m.map_large(VirtAddr(0xC040_0000), PhysAddr(0x0040_0000), W)
        .unwrap();
    // Accessed / dirty do not split a run.
    let slot = m.walk(VirtAddr(0x0040_1000), Alloc::No).unwrap();
    let pte = m.read_pte(slot);
    m.unmap(page(0x0040_1000), f).unwrap();
    m.map(
        page(0x0040_1000),
        pte.frame(),
        UW | EntryFlags::ACCESSED | EntryFlags::DIRTY,
        f,
    )
    .unwrap();

    let mut out = String::new();
    let totals = m.write_pagedir(&mut out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    let runs = RunTotals {
        runs: 4,
        small_pages: 6,
        large_pages: 2,
    };
    assert_eq!(totals, runs);
    let want = [
        "  V0x00400000-V0x00402fff -> P0x00100000-P0x00102fff   12 KiB 4K [PWU--AD--]",
        "  V0x00403000-V0x00404fff -> 2 frames, scattered        8 KiB 4K [PW-------]",
        "  V0x00406000-V0x00406fff -> P0x00201000-P0x00201fff    4 KiB 4K [PW-------]",
        "  V0xc0000000-V0xc07fffff -> P0x00000000-P0x007fffff    8 MiB 4M [PW-----S-]",
        "4 runs; 6 pages of 4 KiB, 2 pages of 4 MiB: 8216 KiB mapped",
    ];
    assert_eq!(lines[1..], want, "{out}");
    // Part of the space only.
    assert_eq!(m.runs_in(VirtAddr(0x0040_3000), 0x0040_7000).count(), 2);
    assert_eq!(m.runs_in(VirtAddr(0x0040_3000), 0x0040_5000).count(), 1);
}

#[test]
fn check_finds_broken_directories() {
    let (mem, mut frames, pd) = setup(21);
    let mut m = mapper(&mem, pd, &NoFlush);
    m.map(page(0x0040_0000), Frame(5), W, &mut frames).unwrap();
    let table = m.read_pde(VirtAddr(0x0040_0000));
    assert!(m.check(Some(&frames)).is_ok());
    let write = |pdx: usize, raw: u32| {
        let p = mem.frame_ptr(pd) as *mut u32;
        // SAFETY: pdx < 1024, inside the directory frame.
        unsafe { p.add(pdx).write(raw) }
    };
    write(2, table.raw());
    assert_eq!(
        m.check(None),
        Err(CheckError::SharedTable { pdx: 2, other: 1 })
    );
    write(2, pd.start_address().0 | 3);
    assert_eq!(m.check(None), Err(CheckError::DirectoryAsTable { pdx: 2 }));
    write(2, 0x0040_2083);
    assert_eq!(
        m.check(None),
        Err(CheckError::LargeReserved {
            pdx: 2,
            raw: 0x0040_2083
        })
    );
    assert_eq!(m.trace(VirtAddr(0x0080_0000)).end(), WalkEnd::ReservedBits);
    write(2, 0);
    write(1023, pd.start_address().0 | 7);
    assert!(matches!(
        m.check(None),
        Err(CheckError::RecursiveSlot { .. })
    ));
    write(1023, pd.start_address().0 | 3);
    assert!(m.check(None).unwrap().recursive);
    write(1, table.raw() & !4);
    assert!(matches!(
        m.check(None),
        Err(CheckError::TableFlags { pdx: 1, .. })
    ));
    write(1, table.raw());
    frames.free(table.frame()).unwrap();
    assert_eq!(
        m.check(Some(&frames)),
        Err(CheckError::NotAllocated { pdx: 1, ptx: None })
    );
}

/// The model: what each page and each 4 MiB slot should map.
#[derive(Default, Clone, PartialEq, Debug)]
struct Model {
    pages: BTreeMap<Page, (Frame, EntryFlags)>,
    large: BTreeMap<usize, (PhysAddr, EntryFlags)>,
    tables: BTreeSet<usize>,
}

impl Model {
    /// Forget the tables no page uses any more (unmap frees them); returns
    /// how many.
    fn drop_empty_tables(&mut self) -> usize {
        let before = self.tables.len();
        let used: BTreeSet<usize> = self.pages.keys().map(|p| p.start_address().pdx()).collect();
        self.tables.retain(|pdx| used.contains(pdx));
        before - self.tables.len()
    }
    fn owned(&self) -> usize {
        self.pages
            .values()
            .filter(|(_, f)| f.contains(EntryFlags::OWNED))
            .count()
    }
    /// The first page of `[first, first + n)` that `map` refuses, if any.
    fn map_obstacle(&self, first: Page, n: u32) -> Option<MapError> {
        (0..n).map(|i| Page(first.0 + i)).find_map(|p| {
            let pdx = p.start_address().pdx();
            if self.large.contains_key(&pdx) {
                Some(MapError::LargePage(p))
            } else if self.pages.contains_key(&p) {
                Some(MapError::AlreadyMapped(p))
            } else {
                None
            }
        })
    }
    fn unmap_obstacle(&self, first: Page, n: u32) -> Option<UnmapError> {
        (0..n).map(|i| Page(first.0 + i)).find_map(|p| {
            let pdx = p.start_address().pdx();
            if self.large.contains_key(&pdx) {
                Some(UnmapError::LargePage(p))
            } else if !self.pages.contains_key(&p) {
                Some(UnmapError::NotMapped(p))
            } else {
                None
            }
        })
    }
}

/// The directory slots the soak test plays in: two user, two kernel
/// (adjacent pairs, so ranges cross table boundaries), and one for 4 MiB pages.
const SOAK_PDX: [usize; 4] = [1, 2, 800, 801];
const LARGE_PDX: usize = 5;

fn random_page(rng: &mut Rng, model: &Model) -> Page {
    // Into the 4 MiB page now and then, only while it is mapped (a table
    // there would keep the large page out for good).
    let pdx = if model.large.contains_key(&LARGE_PDX) && rng.chance(1, 10) {
        LARGE_PDX
    } else {
        SOAK_PDX[rng.range(0, SOAK_PDX.len())]
    } as u32;
    // Pages near both ends of each table.
    let ptx = if rng.chance(1, 2) {
        rng.range(0, 24)
    } else {
        rng.range(1000, 1024)
    } as u32;
    Page((pdx << 10) | ptx)
}

fn random_flags(rng: &mut Rng) -> EntryFlags {
    let pool = [
        EntryFlags::WRITABLE,
        EntryFlags::USER,
        EntryFlags::GLOBAL,
        EntryFlags::WRITE_THROUGH,
    ];
    pool.into_iter()
        .filter(|_| rng.chance(1, 2))
        .fold(EntryFlags::empty(), |a, b| a | b)
}

/// Compare everything the directory maps with the model.
fn compare_all<T: TlbFlush>(
    m: &Mapper<'_, SimMemory, T>,
    model: &Model,
    frames: &TestFrames,
    base_free: usize,
) {
    let mut pages = BTreeMap::new();
    let mut large = BTreeMap::new();
    for run in m.runs() {
        match run.kind {
            RunKind::Small => {
                let first = Frame::containing_address(run.phys);
                for i in 0..run.pages {
                    let p = Page(Page::containing_address(run.virt).0 + i);
                    let (frame, flags) = m.mapping(p).unwrap();
                    if run.contiguous {
                        assert_eq!(frame, Frame(first.0 + i));
                    }
                    assert_eq!(flags - EntryFlags::CPU_SET, run.flags - EntryFlags::CPU_SET);
                    pages.insert(p, (frame, flags));
                }
            }
            RunKind::Large => {
                for i in 0..run.pages / 1024 {
                    let va = VirtAddr(run.virt.0 + i * LARGE_PAGE_SIZE as u32);
                    let pde = m.read_pde(va);
                    large.insert(va.pdx(), (pde.large_addr(), pde.flags()));
                }
            }
            RunKind::Recursive => panic!("no recursive slot in this test"),
        }
    }
    let want: BTreeMap<Page, (Frame, EntryFlags)> = model
        .pages
        .iter()
        .map(|(p, (f, fl))| (*p, (*f, *fl | EntryFlags::PRESENT)))
        .collect();
    assert_eq!(pages, want);
    let want: BTreeMap<usize, (PhysAddr, EntryFlags)> = model
        .large
        .iter()
        .map(|(k, (pa, fl))| (*k, (*pa, *fl | EntryFlags::PRESENT | EntryFlags::HUGE)))
        .collect();
    assert_eq!(large, want);
    let c = m.check(Some(frames)).unwrap();
    assert_eq!(c.tables, model.tables.len());
    assert_eq!(c.pages, model.pages.len());
    assert_eq!(c.owned, model.owned());
    assert_eq!(c.large, model.large.len());
    assert_eq!(
        frames.free_count(),
        base_free - model.tables.len() - model.owned()
    );
}

#[test]
fn soak_mapper_against_a_model() {
    // Under Miri 150 steps: the model's maps dominate its cost there, and
    // every kind of operation still succeeds some of the time.
    let ops = soak_ops(100_000).min(miri_or(usize::MAX, 150));
    let (mem, mut frames, pd) = setup(0x5EED);
    let mut m = mapper(&mem, pd, &NoFlush);
    let base_free = frames.free_count();
    let mut model = Model::default();
    let mut rng = Rng::new(42);
    let mut counts = [0usize; 9];

    for step in 0..ops {
        let op = rng.range(0, 9);
        // Sometimes the allocator is nearly dry, to exercise NoFrames paths.
        let budget = rng.chance(1, 8).then(|| rng.range(0, 3));
        frames.set_budget(budget);
        let free_before = frames.free_count();
        // The test's own bookkeeping (a failed operation leaves the model
        // as it was), cloned every step: skipped under Miri, where cloning
        // the maps costs more than the operation checked.
        let model_before = (!cfg!(miri)).then(|| model.clone());
        let changed: bool;
        match op {
            0 => {
                // map one page to an arbitrary (possibly unbacked) frame
                let p = random_page(&mut rng, &model);
                let f = Frame(rng.range(0, 1 << 20) as u32);
                let flags = random_flags(&mut rng);
                let pdx = p.start_address().pdx();
                let r = m.map(p, f, flags, &mut frames);
                let expect = model.map_obstacle(p, 1).or_else(|| {
                    (!model.tables.contains(&pdx) && budget == Some(0))
                        .then_some(MapError::NoFrames)
                });
                assert_eq!(r.err(), expect, "step {step}: map {p:?}");
                changed = r.is_ok();
                if changed {
                    model.tables.insert(pdx);
                    model.pages.insert(p, (f, flags));
                }
            }
            1 | 2 => {
                let p = random_page(&mut rng, &model);
                let r = m.unmap(p, &mut frames);
                let expect = model.unmap_obstacle(p, 1);
                assert_eq!(r.err(), expect, "step {step}: unmap {p:?}");
                if let Ok(f) = r {
                    let (want, flags) = model.pages.remove(&p).unwrap();
                    assert_eq!(f, want);
                    model.drop_empty_tables();
                    if flags.contains(EntryFlags::OWNED) {
                        // unmap leaves the frame to the caller.
                        frames.free(f).unwrap();
                    }
                }
                changed = r.is_ok();
            }
            3 => {
                // translate anywhere in the window, and in the large slot
                let p = random_page(&mut rng, &model);
                let off = rng.range(0, 4096) as u32;
                let va = VirtAddr(p.start_address().0 + off);
                let want = match model.large.get(&va.pdx()) {
                    Some((pa, _)) => Some(PhysAddr(pa.0 + (va.0 & 0x3F_FFFF))),
                    None => model
                        .pages
                        .get(&p)
                        .map(|(f, _)| PhysAddr(f.start_address().0 + off)),
                };
                assert_eq!(m.translate(va), want, "step {step}: translate {va:?}");
                changed = false;
            }
            4 => {
                // contiguous range of 1..20 pages
                let p = random_page(&mut rng, &model);
                let n = rng.range(1, 12) as u32;
                let pa = PhysAddr(rng.range(0, 1 << 19) as u32 * 4096);
                let flags = random_flags(&mut rng);
                let r = m.map_range_contiguous(
                    p.start_address(),
                    pa,
                    n as usize * PAGE_SIZE,
                    flags,
                    &mut frames,
                );
                if budget.is_none() {
                    // With frames to spare, only an obstacle can stop it.
                    assert_eq!(
                        r.err(),
                        model.map_obstacle(p, n),
                        "step {step}: range {p:?}+{n}"
                    );
                } else if model.map_obstacle(p, n).is_some() {
                    assert!(r.is_err(), "step {step}: range {p:?}+{n} over an obstacle");
                }
                changed = r.is_ok();
                if changed {
                    for i in 0..n {
                        let q = Page(p.0 + i);
                        model.tables.insert(q.start_address().pdx());
                        model.pages.insert(q, (Frame(pa.0 / 4096 + i), flags));
                    }
                }
            }
            5 => {
                // sparse range of 1..20 pages
                let p = random_page(&mut rng, &model);
                let n = rng.range(1, 12) as u32;
                let flags = random_flags(&mut rng);
                let r = m.map_range_sparse(
                    p.start_address(),
                    n as usize * PAGE_SIZE,
                    flags,
                    ZeroFill::No,
                    &mut frames,
                );
                if budget.is_none() {
                    // With frames to spare, only an obstacle can stop it.
                    assert_eq!(
                        r.err(),
                        model.map_obstacle(p, n),
                        "step {step}: sparse {p:?}+{n}"
                    );
                } else if model.map_obstacle(p, n).is_some() {
                    assert!(r.is_err(), "step {step}: sparse {p:?}+{n} over an obstacle");
                }
                changed = r.is_ok();
                if changed {
                    for i in 0..n {
                        let q = Page(p.0 + i);
                        let (f, fl) = m.mapping(q).unwrap();
                        assert_eq!(fl, flags | EntryFlags::OWNED | EntryFlags::PRESENT);
                        model.tables.insert(q.start_address().pdx());
                        model.pages.insert(q, (f, flags | EntryFlags::OWNED));
                    }
                }
            }
            6 => {
                // unmap a range of 1..6 pages, releasing owned frames or not
                let p = random_page(&mut rng, &model);
                let n = rng.range(1, 6) as u32;
                let release = rng.chance(1, 2);
                let rel = if release {
                    Release::OwnedFrames
                } else {
                    Release::Keep
                };
                let r = m.unmap_range(p.start_address(), n as usize * PAGE_SIZE, rel, &mut frames);
                assert_eq!(
                    r.err(),
                    model.unmap_obstacle(p, n),
                    "step {step}: unmap_range"
                );
                changed = r.is_ok();
                if changed {
                    let mut freed = 0;
                    for i in 0..n {
                        let (f, fl) = model.pages.remove(&Page(p.0 + i)).unwrap();
                        if fl.contains(EntryFlags::OWNED) && !release {
                            // The caller keeps it: give it back ourselves.
                            frames.free(f).unwrap();
                        }
                        freed += fl.contains(EntryFlags::OWNED) as usize;
                    }
                    // Tables left empty went back with the pages.
                    freed += model.drop_empty_tables();
                    assert_eq!(frames.free_count(), free_before + freed);
                }
            }
            7 => {
                // map or unmap the large slot
                let va = VirtAddr((LARGE_PDX as u32) << 22);
                if model.large.contains_key(&LARGE_PDX) {
                    let r = m.unmap_large(va);
                    assert_eq!(r, Ok(model.large.remove(&LARGE_PDX).unwrap().0));
                } else {
                    let pa = PhysAddr(rng.range(0, 1024) as u32 * LARGE_PAGE_SIZE as u32);
                    let flags = random_flags(&mut rng);
                    let r = m.map_large(va, pa, flags);
                    if model.tables.contains(&LARGE_PDX) {
                        assert_eq!(
                            r,
                            Err(MapError::AlreadyMapped(Page::containing_address(va)))
                        );
                    } else {
                        assert_eq!(r, Ok(()));
                        model.large.insert(LARGE_PDX, (pa, flags));
                    }
                }
                changed = true;
            }
            _ => {
                // map_new
                let p = random_page(&mut rng, &model);
                let flags = random_flags(&mut rng);
                let r = m.map_new(p, flags, ZeroFill::No, &mut frames);
                if budget.is_none() {
                    assert_eq!(r.err(), model.map_obstacle(p, 1), "step {step}: map_new");
                }
                changed = r.is_ok();
                if let Ok(f) = r {
                    model.tables.insert(p.start_address().pdx());
                    model.pages.insert(p, (f, flags | EntryFlags::OWNED));
                }
            }
        }
        counts[op] += changed as usize;
        if !changed && op != 7 {
            if let Some(before) = &model_before {
                assert_eq!(&model, before);
            }
            assert_eq!(
                frames.free_count(),
                free_before,
                "step {step}: op {op} failed but frames moved"
            );
        }
        // Frames in use are exactly the model's tables and owned pages.
        let in_use = model.tables.len() + model.owned();
        assert_eq!(
            frames.free_count(),
            base_free - in_use,
            "step {step}: op {op}"
        );
        if step % 1000 == 0 {
            compare_all(&m, &model, &frames, base_free);
        }
    }
    frames.set_budget(None);
    compare_all(&m, &model, &frames, base_free);
    eprintln!(
        "soak: successes per op {counts:?}, final {} pages, {} tables",
        model.pages.len(),
        model.tables.len()
    );
    // Every kind of operation succeeded some of the time.
    for (op, n) in counts.iter().enumerate() {
        assert!(
            op == 3 || *n > ops / 1000,
            "operation {op} rarely succeeded: {counts:?}"
        );
    }
}
