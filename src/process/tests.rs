//! Host tests of the process layer over simulated memory: the ELF loader
//! (and its refusals), demand paging, user-pointer checks, `sbrk`, `mmap`,
//! shared regions and the frame bookkeeping of whole process lifetimes.

use super::abi::{Errno, USER_STACK_MAX};
use super::elf::{ElfError, load, plan};
use super::memory::{Access, DemandRegion, KillCause, STACK_BOTTOM, UserMemory, build_args};
use super::share::{SharedRegions, address};
use crate::mm::addr::{Page, PhysAddr, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{KERNEL_BASE, PAGE_SIZE};
use crate::mm::paging::testframes::TestFrames;
use crate::mm::paging::{EntryFlags, NoFlush};
use crate::mm::phys::SimMemory;
use crate::mm::vm::region::{USER_ARGS_START, USER_HEAP_START, USER_PRIVATE_START};
use crate::mm::vm::{AddressSpace, PageFaultCode, UserFrames};
use crate::testutil::miri_or;
use alloc::vec;
use alloc::vec::Vec;

const FRAMES: usize = 4096;

/// A kernel space with the linear space's first 4 MiB (so user spaces copy a PDE).
fn boot() -> (SimMemory, TestFrames, AddressSpace) {
    let mem = SimMemory::new(FRAMES);
    let mut frames = TestFrames::new(1, FRAMES - 1, 7);
    let mut kernel = AddressSpace::new_kernel(&mem, &mut frames).unwrap();
    kernel
        .mapper(&mem, &NoFlush)
        .map_linear(
            PhysAddr(0),
            4 << 20,
            EntryFlags::WRITABLE,
            crate::mm::paging::PageSize::Large,
            &mut frames,
        )
        .unwrap();
    (mem, frames, kernel)
}

/// One program header for [`elf32`]: (type, flags, vaddr, file bytes, memsz).
struct Ph {
    typ: u32,
    flags: u32,
    vaddr: u32,
    bytes: Vec<u8>,
    memsz: u32,
}

fn text(vaddr: u32, bytes: &[u8]) -> Ph {
    Ph {
        typ: 1,
        flags: 5,
        vaddr,
        bytes: bytes.to_vec(),
        memsz: bytes.len() as u32,
    }
}

fn data(vaddr: u32, bytes: &[u8], memsz: u32) -> Ph {
    Ph {
        typ: 1,
        flags: 6,
        vaddr,
        bytes: bytes.to_vec(),
        memsz,
    }
}

/// A little ELF32 i386 executable: header, program headers, then each
/// segment's bytes.
fn elf32(entry: u32, e_type: u16, machine: u16, phs: &[Ph]) -> Vec<u8> {
    let mut f = vec![0u8; 52 + 32 * phs.len()];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 1; // ELFCLASS32
    f[5] = 1; // little endian
    f[6] = 1; // EV_CURRENT
    f[16..18].copy_from_slice(&e_type.to_le_bytes());
    f[18..20].copy_from_slice(&machine.to_le_bytes());
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..28].copy_from_slice(&entry.to_le_bytes());
    f[28..32].copy_from_slice(&52u32.to_le_bytes()); // phoff
    f[40..42].copy_from_slice(&52u16.to_le_bytes()); // ehsize
    f[42..44].copy_from_slice(&32u16.to_le_bytes()); // phentsize
    f[44..46].copy_from_slice(&(phs.len() as u16).to_le_bytes());
    for (i, ph) in phs.iter().enumerate() {
        let offset = f.len() as u32;
        f.extend_from_slice(&ph.bytes);
        let h = 52 + 32 * i;
        let words = [
            ph.typ,
            offset,
            ph.vaddr,
            ph.vaddr,
            ph.bytes.len() as u32,
            ph.memsz,
            ph.flags,
            PAGE_SIZE as u32,
        ];
        for (w, v) in words.iter().enumerate() {
            f[h + 4 * w..h + 4 * w + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
    f
}

fn good_program() -> Vec<u8> {
    elf32(
        0x0040_0000,
        2,
        3,
        &[
            text(0x0040_0000, &[0x90; 5000]),
            data(0x0040_2000, b"hello data", 3 * PAGE_SIZE as u32),
        ],
    )
}

fn read_user(mem: &SimMemory, space: &mut AddressSpace, va: u32) -> u32 {
    let m = space.mapper(mem, &NoFlush);
    mem.read_u32(m.translate(VirtAddr(va)).expect("mapped"))
}

#[test]
fn a_good_program_is_mapped_text_read_only_data_writable_bss_zeroed() {
    let (mem, mut frames, kernel) = boot();
    let file = good_program();
    let p = plan(&file).unwrap();
    assert_eq!(p.entry, 0x0040_0000);
    assert_eq!(p.segments().len(), 2);
    assert_eq!(p.image_end(), 0x0040_5000);
    let free = frames.free_count();
    let mut space = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    load(&p, &file, &mut space.mapper(&mem, &NoFlush), &mut frames).unwrap();
    {
        let m = space.mapper(&mem, &NoFlush);
        let (_, t) = m
            .mapping(Page::containing_address(VirtAddr(0x0040_1000)))
            .unwrap();
        assert!(t.contains(EntryFlags::USER) && !t.contains(EntryFlags::WRITABLE));
        let (_, d) = m
            .mapping(Page::containing_address(VirtAddr(0x0040_4000)))
            .unwrap();
        assert!(d.contains(EntryFlags::USER | EntryFlags::WRITABLE | EntryFlags::OWNED));
    }
    assert_eq!(read_user(&mem, &mut space, 0x0040_0000), 0x9090_9090);
    assert_eq!(
        read_user(&mem, &mut space, 0x0040_2000),
        u32::from_le_bytes(*b"hell")
    );
    assert_eq!(read_user(&mem, &mut space, 0x0040_4ffc), 0, "bss is zeroed");
    // 2 text pages + 3 data pages + 1 table + 1 directory.
    assert_eq!(free - frames.free_count(), 7);
    space
        .destroy(&mem, &mut frames, UserFrames::FreeOwned)
        .unwrap();
    assert_eq!(frames.free_count(), free, "destroy gives every frame back");
}

#[test]
fn hostile_elfs_are_refused_with_their_cause_and_take_no_frame() {
    let good = good_program();
    let mut bad_magic = good.clone();
    bad_magic[1] = b'X';
    let mut class64 = good.clone();
    class64[4] = 2;
    type Case = (Vec<u8>, fn(&ElfError) -> bool);
    let cases: Vec<Case> = vec![
        (good[..30].to_vec(), |e| *e == ElfError::Truncated),
        (Vec::new(), |e| *e == ElfError::Truncated),
        (bad_magic, |e| *e == ElfError::Malformed),
        (class64, |e| {
            matches!(
                e,
                ElfError::WrongMachine | ElfError::Truncated | ElfError::Malformed
            )
        }),
        (
            elf32(0x0040_0000, 2, 62, &[text(0x0040_0000, &[0x90])]),
            |e| *e == ElfError::WrongMachine,
        ),
        (
            elf32(0x0040_0000, 3, 3, &[text(0x0040_0000, &[0x90])]),
            |e| *e == ElfError::NotExecutable,
        ),
        (elf32(0x0040_0000, 2, 3, &[]), |e| {
            *e == ElfError::NoSegments
        }),
        (
            elf32(0xC000_0000, 2, 3, &[text(0xC000_0000, &[0x90; 16])]),
            |e| matches!(e, ElfError::KernelHalf { index: 0, .. }),
        ),
        (
            elf32(0xBFFF_F000, 2, 3, &[data(0xBFFF_F000, &[1], 0x2000)]),
            |e| matches!(e, ElfError::KernelHalf { .. }),
        ),
        (elf32(0x1000, 2, 3, &[text(0x1000, &[0x90; 16])]), |e| {
            matches!(e, ElfError::OutsideDataRegion { .. })
        }),
        (
            elf32(
                0x0040_0000,
                2,
                3,
                &[text(0x0040_0000, &[0x90; 16]), data(0x0040_0800, &[1], 16)],
            ),
            |e| {
                matches!(
                    e,
                    ElfError::Overlap {
                        first: 0,
                        second: 1
                    }
                )
            },
        ),
        (
            elf32(
                0x0040_2000,
                2,
                3,
                &[
                    text(0x0040_0000, &[0x90; 16]),
                    data(0x0040_2000, &[1; 8], 8),
                ],
            ),
            |e| matches!(e, ElfError::BadEntry { entry: 0x0040_2000 }),
        ),
        (elf32(0x0, 2, 3, &[text(0x0040_0000, &[0x90; 16])]), |e| {
            matches!(e, ElfError::BadEntry { .. })
        }),
        (
            elf32(0x0040_0000, 2, 3, &[data(0x0040_0000, &[0x90; 16], 8)]),
            |e| matches!(e, ElfError::FileLargerThanMemory { .. }),
        ),
        (
            elf32(
                0x0040_0000,
                2,
                3,
                &[Ph {
                    typ: 3,
                    flags: 4,
                    vaddr: 0,
                    bytes: b"/lib/ld.so".to_vec(),
                    memsz: 0,
                }],
            ),
            |e| *e == ElfError::Dynamic,
        ),
        (
            elf32(
                0x0040_0000,
                2,
                3,
                &(0..9)
                    .map(|i| text(0x0040_0000 + i * 0x1000, &[0x90; 16]))
                    .collect::<Vec<_>>(),
            ),
            |e| *e == ElfError::TooManySegments,
        ),
    ];
    for (i, (file, ok)) in cases.iter().enumerate() {
        let e = plan(file).expect_err("a hostile ELF must be refused");
        assert!(ok(&e), "case {i}: unexpected refusal {e:?}");
        assert!(!alloc::format!("{e}").is_empty());
    }
    // A segment whose bytes lie past the end of the file.
    let mut past = elf32(0x0040_0000, 2, 3, &[text(0x0040_0000, &[0x90; 64])]);
    past.truncate(past.len() - 10);
    assert!(matches!(
        plan(&past),
        Err(ElfError::SegmentPastFile { index: 0 })
    ));
}

#[test]
fn a_load_that_runs_out_of_frames_leaks_none_once_the_space_is_destroyed() {
    let file = good_program();
    let p = plan(&file).unwrap();
    for budget in 0..8 {
        let (mem, mut frames, kernel) = boot();
        let free = frames.free_count();
        let mut space = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
        frames.set_budget(Some(budget));
        let r = load(&p, &file, &mut space.mapper(&mem, &NoFlush), &mut frames);
        frames.set_budget(None);
        assert_eq!(r.is_ok(), budget >= 6, "budget {budget}");
        space
            .destroy(&mem, &mut frames, UserFrames::FreeOwned)
            .unwrap();
        assert_eq!(frames.free_count(), free, "budget {budget}: a frame leaked");
    }
}

#[test]
fn demand_faults_map_heap_and_stack_and_kill_for_everything_else() {
    let (mem, mut frames, kernel) = boot();
    let mut space = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let mut um = UserMemory::new();
    let mut m = space.mapper(&mem, &NoFlush);
    let w = PageFaultCode::USER | PageFaultCode::WRITE;
    // The heap is empty until sbrk.
    assert_eq!(
        um.fault(&mut m, &mut frames, USER_HEAP_START, w),
        Err(KillCause::PastBreak)
    );
    assert_eq!(
        um.sbrk(&mut m, &mut frames, 3 * PAGE_SIZE as i32),
        Ok(USER_HEAP_START)
    );
    assert_eq!(
        um.fault(&mut m, &mut frames, USER_HEAP_START + 5000, w),
        Ok(DemandRegion::Heap)
    );
    assert_eq!(
        um.fault(&mut m, &mut frames, USER_ARGS_START - 4, w),
        Ok(DemandRegion::Stack)
    );
    assert_eq!(um.faults.heap, 1);
    assert_eq!(um.faults.stack, 1);
    assert_eq!(
        um.fault(&mut m, &mut frames, STACK_BOTTOM - 4, w),
        Err(KillCause::StackOverflow)
    );
    assert_eq!(
        um.fault(&mut m, &mut frames, 8, w),
        Err(KillCause::NullPointer)
    );
    assert_eq!(
        um.fault(&mut m, &mut frames, KERNEL_BASE + 8, w),
        Err(KillCause::KernelAddress)
    );
    assert_eq!(
        um.fault(&mut m, &mut frames, 0x0040_0000, w | PageFaultCode::PRESENT),
        Err(KillCause::WriteToReadOnly)
    );
    assert_eq!(
        um.fault(&mut m, &mut frames, USER_PRIVATE_START, w),
        Err(KillCause::Unmapped)
    );
    assert_eq!(STACK_BOTTOM, USER_ARGS_START - USER_STACK_MAX as u32);
    // The frame limit: one more page would pass it.
    um.set_limit(um.owned() + 1);
    assert_eq!(
        um.fault(
            &mut m,
            &mut frames,
            USER_HEAP_START + 2 * PAGE_SIZE as u32,
            w
        ),
        Err(KillCause::FrameLimit)
    );
}

#[test]
fn user_pointers_are_checked_and_demand_pages_mapped_for_the_kernel() {
    let (mem, mut frames, kernel) = boot();
    let file = good_program();
    let p = plan(&file).unwrap();
    let mut space = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let mut m = space.mapper(&mem, &NoFlush);
    load(&p, &file, &mut m, &mut frames).unwrap();
    let mut um = UserMemory::new();
    um.sbrk(&mut m, &mut frames, PAGE_SIZE as i32 * 2).unwrap();
    let mut prep = |addr: u32, len: usize, a: Access| um.prepare(&mut m, &mut frames, addr, len, a);
    assert_eq!(
        prep(0x0040_0000, 100, Access::Read),
        Ok(()),
        "text is readable"
    );
    assert_eq!(
        prep(0x0040_0000, 100, Access::Write),
        Err(Errno::Fault),
        "text is not writable"
    );
    assert_eq!(
        prep(0x0040_2000, 100, Access::Write),
        Ok(()),
        "data is writable"
    );
    assert_eq!(
        prep(KERNEL_BASE, 4, Access::Read),
        Err(Errno::Fault),
        "kernel half"
    );
    assert_eq!(
        prep(KERNEL_BASE - 2, 4, Access::Read),
        Err(Errno::Fault),
        "straddles the kernel half"
    );
    assert_eq!(
        prep(u32::MAX - 2, 8, Access::Read),
        Err(Errno::Fault),
        "wraps"
    );
    assert_eq!(prep(0, 4, Access::Read), Err(Errno::Fault), "null");
    assert_eq!(
        prep(0x0800_0000, 4, Access::Read),
        Err(Errno::Fault),
        "unmapped"
    );
    assert_eq!(
        prep(USER_HEAP_START, 2 * PAGE_SIZE, Access::Write),
        Ok(()),
        "heap below break"
    );
    assert_eq!(
        prep(USER_HEAP_START + 4000, 2 * PAGE_SIZE, Access::Write),
        Err(Errno::Fault),
        "past break"
    );
    assert_eq!(prep(0x0040_1ff0, 0, Access::Write), Ok(()), "empty buffer");
    assert_eq!(
        prep(1, 0, Access::Read),
        Ok(()),
        "an empty slice's dangling pointer"
    );
    assert_eq!(um.faults.heap, 2);
}

#[test]
fn sbrk_reserves_and_a_shrink_gives_touched_pages_back() {
    let (mem, mut frames, kernel) = boot();
    let mut space = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let mut m = space.mapper(&mem, &NoFlush);
    let mut um = UserMemory::new();
    let free = frames.free_count();
    um.sbrk(&mut m, &mut frames, 10 * PAGE_SIZE as i32).unwrap();
    assert_eq!(frames.free_count(), free, "sbrk only reserves");
    for i in 0..10 {
        let va = USER_HEAP_START + i * PAGE_SIZE as u32;
        um.fault(&mut m, &mut frames, va, PageFaultCode::USER)
            .unwrap();
    }
    assert_eq!(free - frames.free_count(), 11, "10 pages and a table");
    assert_eq!(um.owned(), 11);
    um.sbrk(&mut m, &mut frames, -(5 * PAGE_SIZE as i32 + 100))
        .unwrap();
    assert_eq!(um.owned(), 11 - 5, "pages wholly above the break went back");
    assert_eq!(
        um.sbrk(&mut m, &mut frames, -(100 * PAGE_SIZE as i32)),
        Err(Errno::Inval)
    );
    assert_eq!(um.sbrk(&mut m, &mut frames, i32::MAX), Err(Errno::NoMem));
    assert_eq!(um.brk(), USER_HEAP_START + 5 * PAGE_SIZE as u32 - 100);
}

#[test]
fn mmap_maps_zeroed_pages_and_munmap_takes_exactly_one_mapping() {
    let (mem, mut frames, kernel) = boot();
    let mut space = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let mut m = space.mapper(&mem, &NoFlush);
    let mut um = UserMemory::new();
    let free = frames.free_count();
    let a = um.mmap(&mut m, &mut frames, 5000).unwrap();
    let b = um.mmap(&mut m, &mut frames, 100).unwrap();
    assert_eq!(a, USER_PRIVATE_START);
    assert_eq!(b, USER_PRIVATE_START + 2 * PAGE_SIZE as u32);
    assert_eq!(
        um.munmap(&mut m, &mut frames, a, 4096),
        Err(Errno::Inval),
        "not a whole mapping"
    );
    assert_eq!(um.munmap(&mut m, &mut frames, a, 5000), Ok(()));
    let c = um.mmap(&mut m, &mut frames, 4096).unwrap();
    assert_eq!(c, a, "the gap is reused");
    assert_eq!(um.mmap(&mut m, &mut frames, 0), Err(Errno::Inval));
    um.munmap(&mut m, &mut frames, b, 100).unwrap();
    um.munmap(&mut m, &mut frames, c, 4096).unwrap();
    assert_eq!(
        free - frames.free_count(),
        0,
        "the emptied page table went back too"
    );
    assert_eq!(um.owned(), 0);
}

#[test]
fn the_argument_page_holds_argc_argv_and_the_strings() {
    let page = build_args(&["crash", "3"], 0xBFC0_0000).unwrap();
    let word = |i: usize| u32::from_le_bytes(page[i..i + 4].try_into().unwrap());
    assert_eq!(word(0), 2);
    let a0 = (word(4) - 0xBFC0_0000) as usize;
    let a1 = (word(8) - 0xBFC0_0000) as usize;
    assert_eq!(word(12), 0, "argv ends with a null");
    assert_eq!(&page[a0..a0 + 6], b"crash\0");
    assert_eq!(&page[a1..a1 + 2], b"3\0");
    let many = ["x"; 17];
    assert_eq!(build_args(&many, 0).err(), Some(Errno::Inval));
    let long = "y".repeat(5000);
    assert_eq!(build_args(&[&long], 0).err(), Some(Errno::Inval));
}

#[test]
fn a_shared_region_is_the_same_frames_in_two_spaces_and_freed_by_its_last_user() {
    let (mem, mut frames, kernel) = boot();
    let free = frames.free_count();
    let mut shared = SharedRegions::new();
    let mut a = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let mut b = AddressSpace::create(&mem, &mut frames, &kernel).unwrap();
    let va = shared
        .attach(&mut a.mapper(&mem, &NoFlush), &mut frames, 2, 8192)
        .unwrap();
    assert_eq!(va, address(2));
    assert_eq!(
        shared.attach(&mut b.mapper(&mem, &NoFlush), &mut frames, 2, 4096),
        Err(Errno::Busy),
        "another size"
    );
    let vb = shared
        .attach(&mut b.mapper(&mem, &NoFlush), &mut frames, 2, 0)
        .unwrap();
    assert_eq!(va, vb);
    let pa = a.mapper(&mem, &NoFlush).translate(VirtAddr(va + 4100));
    let pb = b.mapper(&mem, &NoFlush).translate(VirtAddr(vb + 4100));
    assert_eq!(pa, pb);
    assert_eq!(
        shared.attach(&mut a.mapper(&mem, &NoFlush), &mut frames, 0, 4096),
        Err(Errno::Inval)
    );
    a.destroy(&mem, &mut frames, UserFrames::FreeOwned).unwrap();
    shared.detach(&mut frames, 2);
    assert_eq!(shared.frames(), 2, "b still uses it");
    b.destroy(&mem, &mut frames, UserFrames::FreeOwned).unwrap();
    shared.detach(&mut frames, 2);
    assert_eq!(shared.frames(), 0);
    assert_eq!(frames.free_count(), free);
}

/// One process lifetime as the kernel runs it: load, args, stack and heap
/// faults, sbrk, mmap, a shared region, then destroy and detach.
fn lifetime(
    mem: &SimMemory,
    frames: &mut TestFrames,
    kernel: &AddressSpace,
    shared: &mut SharedRegions,
    file: &[u8],
) -> usize {
    let p = plan(file).unwrap();
    let before = frames.free_count();
    let mut space = AddressSpace::create(mem, frames, kernel).unwrap();
    let mut um = UserMemory::new();
    let mut m = space.mapper(mem, &NoFlush);
    load(&p, file, &mut m, frames).unwrap();
    um.charge(before, frames.free_count());
    um.setup_args(&mut m, frames, &["prog", "arg"]).unwrap();
    let w = PageFaultCode::USER | PageFaultCode::WRITE;
    for i in 1..=3 {
        um.fault(&mut m, frames, USER_ARGS_START - i * PAGE_SIZE as u32, w)
            .unwrap();
    }
    um.sbrk(&mut m, frames, 3 * PAGE_SIZE as i32).unwrap();
    um.fault(&mut m, frames, USER_HEAP_START, w).unwrap();
    let addr = um.mmap(&mut m, frames, 2 * PAGE_SIZE).unwrap();
    shared.attach(&mut m, frames, 1, 4096).unwrap();
    um.munmap(&mut m, frames, addr, 2 * PAGE_SIZE).unwrap();
    let owned = um.owned();
    space.destroy(mem, frames, UserFrames::FreeOwned).unwrap();
    shared.detach(frames, 1);
    owned
}

#[test]
fn a_thousand_process_lifetimes_leave_the_free_count_exact() {
    let (mem, mut frames, kernel) = boot();
    let mut shared = SharedRegions::new();
    let file = good_program();
    let start = frames.free_count();
    let owned = lifetime(&mem, &mut frames, &kernel, &mut shared, &file);
    assert!(owned > 10, "owned {owned}");
    // Miri interprets every step: ten lifetimes there meet the same code.
    for _ in 0..miri_or(1000, 10) {
        lifetime(&mem, &mut frames, &kernel, &mut shared, &file);
    }
    assert_eq!(frames.free_count(), start);
    assert!(
        frames.allocated().len() < 8,
        "only the kernel's frames stay"
    );
}
