//! Host tests of the frame plan: QEMU-like maps, reservations sharing a
//! frame, unsorted and overlapping maps, and every way a plan can fail.

use super::*;
use crate::mm::frame::meta;
use crate::mm::frame::testmaps::*;
use MemoryKind::*;

#[test]
fn qemu_128m_plan() {
    let p = plan(&qemu_map(128), &boot_reservations(), PmmChoice::Buddy).unwrap();
    // RAM ends 128 KiB below 128 MiB (SeaBIOS keeps the top).
    assert_eq!(p.span(), FrameRange::new(0, 0x7FE0));
    assert_eq!(p.available_frames(), 0x9F + (0x7FE0 - 0x100));
    assert_eq!(p.unreachable_bytes(), 0);
    // Reserved: low memory, kernel, multiboot info, module, metadata.
    let reasons: Vec<_> = p.reserved().iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        [
            ReserveReason::LowMemory,
            ReserveReason::KernelImage,
            ReserveReason::MultibootInfo,
            ReserveReason::BootModule,
            ReserveReason::Metadata
        ]
    );
    // Metadata: the first free frames above the kernel and boot data, below 768 MiB.
    assert_eq!(p.metadata().start, Frame(0x191));
    assert_eq!(
        p.metadata().len(),
        meta::buddy_metadata_bytes(0x7FE0).div_ceil(PAGE_SIZE)
    );
    assert!(p.metadata().end.0 <= LINEAR_FRAMES);
    // Usable = available minus the reserved frames that were available.
    let reserved_available = 0x9F + 0x80 + 1 + 0x10 + p.metadata().len();
    assert_eq!(p.usable_frames(), p.available_frames() - reserved_available);
    assert_eq!(
        p.classify(Frame(0x100)),
        FrameClass::Reserved(ReserveReason::KernelImage)
    );
    assert_eq!(
        p.classify(Frame(0x9F)),
        FrameClass::Reserved(ReserveReason::LowMemory)
    );
    assert_eq!(p.classify(Frame(0x7FE0)), FrameClass::Unmanaged);
    assert_eq!(p.classify(Frame(0x7FDF)), FrameClass::Usable);
    assert_eq!(p.classify(Frame(0xFFFFF)), FrameClass::Unmanaged);
}

#[test]
fn reservations_side_by_side_in_one_frame_share_it() {
    // The multiboot2 information shares one frame with the kernel image.
    let p = shared_frame_plan();
    let shared: Vec<_> = p.shared().collect();
    assert_eq!(
        shared,
        [(
            FrameRange::new(0x192, 0x193),
            ReserveReason::KernelImage,
            ReserveReason::MultibootInfo
        )]
    );
    assert_eq!(
        p.classify(Frame(0x192)),
        FrameClass::Reserved(ReserveReason::KernelImage)
    );
    assert!(!p.is_usable_run(0x192, 1));
    // The test maps' reservations lie in frames of their own.
    let p = plan(&qemu_map(128), &boot_reservations(), PmmChoice::Buddy).unwrap();
    assert_eq!(p.shared().count(), 0);
}

#[test]
fn qemu_16m_and_3g_plans() {
    let p = plan(&qemu_map(16), &boot_reservations(), PmmChoice::Bitmap).unwrap();
    assert_eq!(p.span().end, Frame(0xFE0));
    assert!(p.metadata().len() == 1, "2 bits per frame fit in one frame");
    let p = plan(&qemu_map(3072), &boot_reservations(), PmmChoice::Buddy).unwrap();
    assert_eq!(p.span().end, Frame(0xBFFE0));
    assert!(p.metadata().end.0 <= LINEAR_FRAMES);
    assert!(p.metadata_bytes() > 6 << 20, "8 bytes of links per frame");
    assert_eq!(p.unreachable_bytes(), 0);
}

#[test]
fn memory_above_4g_is_reported_and_left_alone() {
    let map = [
        MemoryRegion::new(0, 0x9FC00, Available),
        MemoryRegion::new(0x10_0000, 0xBFF0_0000, Available),
        MemoryRegion::new(0x1_0000_0000, 0x4000_0000, Available),
        // One entry straddling 4 GiB: only its lower part counts.
        MemoryRegion::new(0xF000_0000, 0x2000_0000, Available),
    ];
    let p = plan(&map, &[], PmmChoice::Bitmap).unwrap();
    assert_eq!(p.unreachable_bytes(), 0x4000_0000 + 0x1000_0000);
    assert_eq!(p.span().end, Frame(0x10_0000));
    assert_eq!(p.usable().last().unwrap().end, Frame(0x10_0000));
}

#[test]
fn unsorted_overlapping_maps_merge_and_reserved_entries_win() {
    let map = [
        MemoryRegion::new(0x20_0000, 0x20_0000, Available),
        MemoryRegion::new(0x10_0000, 0x18_0000, Available), // overlaps the first
        MemoryRegion::new(0x40_0000, 0x10_0000, Available), // touches it
        MemoryRegion::new(0x30_0000, 0x800, Reserved),      // cuts one frame
        MemoryRegion::new(0x60_0800, 0x1000, Available),    // no whole frame
        MemoryRegion::new(0x70_0800, 0x2800, Available),    // frames 0x701, 0x702
    ];
    let p = plan(&map, &[], PmmChoice::Bitmap).unwrap();
    // The metadata takes the first free frame (0x100).
    assert_eq!(
        p.usable(),
        &[
            FrameRange::new(0x101, 0x300),
            FrameRange::new(0x301, 0x500),
            FrameRange::new(0x701, 0x703)
        ]
    );
    assert_eq!(p.metadata(), FrameRange::new(0x100, 0x101));
    assert_eq!(p.available_frames(), 0x400 - 1 + 2);
}

#[test]
fn metadata_must_fit_below_768m() {
    // All RAM below 768 MiB is reserved by the caller: nowhere to put metadata.
    let map = [MemoryRegion::new(0, 0x8000_0000, Available)];
    let res = [Reservation::new(
        0,
        0x3000_0000,
        ReserveReason::Other("test"),
    )];
    assert!(matches!(
        plan(&map, &res, PmmChoice::Buddy),
        Err(PlanError::NoRoomForMetadata { .. })
    ));
    // With 1 MiB free below the limit the bitmap's metadata fits.
    let res = [Reservation::new(
        0,
        0x2FF0_0000,
        ReserveReason::Other("test"),
    )];
    let p = plan(&map, &res, PmmChoice::Bitmap).unwrap();
    assert_eq!(p.metadata().start, Frame(0x2FF00));
}

#[test]
fn no_usable_memory() {
    let map = [MemoryRegion::new(0, 0x9FC00, Available)];
    assert_eq!(
        plan(&map, &[], PmmChoice::Buddy),
        Err(PlanError::NoUsableMemory)
    );
    assert_eq!(
        plan(&[], &[], PmmChoice::Buddy),
        Err(PlanError::NoUsableMemory)
    );
    let high = [MemoryRegion::new(0x1_0000_0000, 0x1000_0000, Available)];
    assert_eq!(
        plan(&high, &[], PmmChoice::Buddy),
        Err(PlanError::NoUsableMemory)
    );
}

#[test]
fn too_many_pieces_is_an_error_not_a_panic() {
    let mut map = vec![MemoryRegion::new(0x10_0000, 0x1000_0000, Available)];
    for i in 0..70u64 {
        map.push(MemoryRegion::new(0x20_0000 + i * 0x2000, 0x1000, Reserved));
    }
    assert_eq!(
        plan(&map, &[], PmmChoice::Buddy),
        Err(PlanError::TooManyRanges)
    );
    let res: Vec<_> = (0..MAX_RESERVED as u64)
        .map(|i| Reservation::new(0x20_0000 + i * 0x1000, 1, ReserveReason::BootModule))
        .collect();
    assert_eq!(
        plan(&map[..1], &res, PmmChoice::Buddy),
        Err(PlanError::TooManyReservations)
    );
}

#[test]
fn pmm_choice_from_cmdline() {
    assert_eq!(PmmChoice::from_cmdline(""), Ok(PmmChoice::Buddy));
    assert_eq!(
        PmmChoice::from_cmdline("test pmm=bitmap"),
        Ok(PmmChoice::Bitmap)
    );
    assert_eq!(
        PmmChoice::from_cmdline("pmm=freelist x"),
        Ok(PmmChoice::FreeList)
    );
    assert_eq!(PmmChoice::from_cmdline("pmm=slab"), Err("slab"));
    assert_eq!(PmmChoice::FreeList.name(), "freelist");
    assert_eq!(MemoryKind::from_multiboot(1), Available);
    assert_eq!(MemoryKind::from_multiboot(9), Reserved);
}

#[test]
fn frame_ranges_round_the_right_way() {
    assert_eq!(
        FrameRange::inside(0x800, 0x2000),
        Some(FrameRange::new(1, 2))
    );
    assert_eq!(
        FrameRange::covering(0x800, 0x2000),
        Some(FrameRange::new(0, 3))
    );
    assert_eq!(FrameRange::inside(0x800, 0x800), None);
    assert_eq!(FrameRange::covering(0x800, 0), None);
    let top = FrameRange::covering(0xFFFC_0000, 0x4_0000).unwrap();
    assert_eq!(top.end, Frame(0x10_0000));
    assert_eq!(format!("{top}"), "P0xfffc0000-P0xffffffff");
    assert_eq!(top.bytes(), 0x4_0000);
}
