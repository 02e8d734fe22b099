//! From the multiboot2 memory map to a frame plan: which frames the PMM
//! manages, which are reserved and why, and where its metadata goes.
//!
//! ```text
//!  map entries (any order, may overlap)      reservations (with a reason)
//!  Available  0x0000_0000 +0x9_FC00          low memory   0 .. 1 MiB  (always)
//!  Reserved   0x0009_FC00 +0x400             kernel image, multiboot info,
//!  Available  0x0010_0000 +0x7EE_0000        boot modules
//!  Reserved   0xFFFC_0000 +0x4_0000
//!        │                                          │
//!        v  1. Available areas, rounded inward to whole frames, merged;
//!           anything at or above 4 GiB is counted as unreachable (no PAE)
//!           2. minus every non-Available entry (a conflict means "not RAM")
//!           3. minus the reservations (rounded outward)
//!           4. metadata: size from the allocator and the span, placed in the
//!              lowest free frames below 768 MiB (reachable through the
//!              linear space), then reserved too
//!        v
//!  FramePlan { span 0..end, usable ranges, reserved ranges + reasons, metadata }
//! ```
//!
//! All of it is fixed-size (no heap): the PMM is planned before any heap exists.

use super::meta;
use crate::mm::addr::{Frame, PhysAddr};
use crate::mm::layout::{LINEAR_SPACE_SIZE, LOW_MEMORY_END, PAGE_SHIFT, PAGE_SIZE};
use core::fmt;

/// The memory map's entries, defined with the boot information (module 1).
pub use crate::bootinfo::{MemoryKind, MemoryRegion};

/// Most disjoint usable ranges a plan holds (after merging and cutting).
pub const MAX_RANGES: usize = 64;
/// Most reserved ranges a plan holds (including low memory and metadata).
pub const MAX_RESERVED: usize = 16;
/// First byte Cairn cannot address without PAE.
pub const FOUR_GIB: u64 = 1 << 32;
/// First frame that the linear space cannot reach (768 MiB).
pub const LINEAR_FRAMES: u32 = LINEAR_SPACE_SIZE >> PAGE_SHIFT;

const PAGE: u64 = PAGE_SIZE as u64;

/// Why a range of frames is never handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReserveReason {
    /// The first 1 MiB: real-mode IVT, BIOS data, VGA memory, option ROMs.
    LowMemory,
    /// The kernel image (text, data, bss), from the linker symbols.
    KernelImage,
    /// The multiboot2 boot information structure.
    MultibootInfo,
    /// A module GRUB loaded.
    BootModule,
    /// The frame allocator's own metadata (bitmaps, links).
    Metadata,
    /// Anything else the kernel wants kept, with a short description.
    Other(&'static str),
}

impl ReserveReason {
    /// A short human-readable description, as `frames` prints it.
    pub const fn describe(self) -> &'static str {
        match self {
            ReserveReason::LowMemory => "low memory (BIOS, VGA, ROMs)",
            ReserveReason::KernelImage => "kernel image",
            ReserveReason::MultibootInfo => "multiboot2 information",
            ReserveReason::BootModule => "boot module",
            ReserveReason::Metadata => "frame allocator metadata",
            ReserveReason::Other(s) => s,
        }
    }
}

/// A byte range the caller wants kept out of the allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// First byte.
    pub start: u64,
    /// Length in bytes (0 is ignored).
    pub len: u64,
    /// Why.
    pub reason: ReserveReason,
}

impl Reservation {
    /// Keep `len` bytes from `start` out of the allocator because of `reason`.
    pub const fn new(start: u64, len: u64, reason: ReserveReason) -> Reservation {
        Reservation { start, len, reason }
    }
}

/// Frames `start..end` (end exclusive; `end` may be `Frame(0x10_0000)`, 4 GiB).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameRange {
    /// First frame.
    pub start: Frame,
    /// One past the last frame.
    pub end: Frame,
}

impl FrameRange {
    /// Frames `start..end` by number.
    pub const fn new(start: u32, end: u32) -> FrameRange {
        FrameRange {
            start: Frame(start),
            end: Frame(end),
        }
    }
    /// The whole frames inside bytes `start..start + len`, cut at 4 GiB; `None` if none.
    pub fn inside(start: u64, len: u64) -> Option<FrameRange> {
        let end = start.saturating_add(len).min(FOUR_GIB);
        let s = start.div_ceil(PAGE);
        let e = end / PAGE;
        (s < e).then(|| FrameRange::new(s as u32, e as u32))
    }
    /// The frames touched by bytes `start..start + len`, cut at 4 GiB; `None` if none.
    pub fn covering(start: u64, len: u64) -> Option<FrameRange> {
        let end = start.saturating_add(len).min(FOUR_GIB);
        if len == 0 || start >= end {
            return None;
        }
        Some(FrameRange::new(
            (start / PAGE) as u32,
            end.div_ceil(PAGE) as u32,
        ))
    }
    /// Number of frames.
    pub const fn len(&self) -> usize {
        self.end.0.saturating_sub(self.start.0) as usize
    }
    /// True when the range holds no frame.
    pub const fn is_empty(&self) -> bool {
        self.end.0 <= self.start.0
    }
    /// True when `frame` lies inside.
    pub const fn contains(&self, frame: Frame) -> bool {
        frame.0 >= self.start.0 && frame.0 < self.end.0
    }
    /// First byte.
    pub const fn start_address(&self) -> PhysAddr {
        self.start.start_address()
    }
    /// One past the last byte (a u64: it may be 4 GiB).
    pub const fn end_address(&self) -> u64 {
        (self.end.0 as u64) << PAGE_SHIFT
    }
    /// Size in bytes.
    pub const fn bytes(&self) -> u64 {
        (self.len() as u64) << PAGE_SHIFT
    }
}

impl fmt::Debug for FrameRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frames {:#x}..{:#x}", self.start.0, self.end.0)
    }
}

impl fmt::Display for FrameRange {
    /// `P0x00100000-P0x0017ffff` (inclusive last byte).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.end_address().saturating_sub(1);
        write!(f, "P{:#010x}-P{:#010x}", self.start_address().0, last)
    }
}

/// A reserved range and why it is reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservedRange {
    /// The frames (rounded outward from the bytes given).
    pub range: FrameRange,
    /// Why.
    pub reason: ReserveReason,
}

/// Which allocator the kernel runs (`pmm=` on the GRUB command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PmmChoice {
    /// [`BitmapFrameAllocator`](super::BitmapFrameAllocator).
    Bitmap,
    /// [`BuddyFrameAllocator`](super::BuddyFrameAllocator), the default.
    #[default]
    Buddy,
    /// [`FreeListFrameAllocator`](super::FreeListFrameAllocator).
    FreeList,
}

impl PmmChoice {
    /// The short name: `bitmap`, `buddy`, `freelist`.
    pub const fn name(self) -> &'static str {
        match self {
            PmmChoice::Bitmap => "bitmap",
            PmmChoice::Buddy => "buddy",
            PmmChoice::FreeList => "freelist",
        }
    }
    /// The choice named `s` (`bitmap`, `buddy`, `freelist`), or `None`.
    pub fn parse(s: &str) -> Option<PmmChoice> {
        match s {
            "bitmap" => Some(PmmChoice::Bitmap),
            "buddy" => Some(PmmChoice::Buddy),
            "freelist" => Some(PmmChoice::FreeList),
            _ => None,
        }
    }
    /// The choice from a kernel command line (`... pmm=bitmap ...`): the last
    /// `pmm=` word wins; none gives the default (buddy); an unknown value is
    /// `Err` with that value so the kernel can say what it ignored.
    pub fn from_cmdline(cmdline: &str) -> Result<PmmChoice, &str> {
        let mut choice = PmmChoice::default();
        for word in cmdline.split_ascii_whitespace() {
            if let Some(value) = word.strip_prefix("pmm=") {
                choice = PmmChoice::parse(value).ok_or(value)?;
            }
        }
        Ok(choice)
    }
    /// Metadata bytes this allocator needs for a span of `span_frames` frames.
    pub fn metadata_bytes(self, span_frames: usize) -> usize {
        match self {
            PmmChoice::Bitmap => meta::bitmap_metadata_bytes(span_frames),
            PmmChoice::Buddy => meta::buddy_metadata_bytes(span_frames),
            PmmChoice::FreeList => meta::freelist_metadata_bytes(span_frames),
        }
    }
}

/// Why no plan could be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// The usable memory splits into more than `MAX_RANGES` pieces.
    TooManyRanges,
    /// More than `MAX_RESERVED` reservations (counting low memory and metadata).
    TooManyReservations,
    /// No available frame below 4 GiB is left after the reservations.
    NoUsableMemory,
    /// No free run below 768 MiB is large enough for the metadata.
    NoRoomForMetadata {
        /// Bytes the metadata needs.
        bytes: usize,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::TooManyRanges => write!(f, "memory map splits into too many ranges"),
            PlanError::TooManyReservations => write!(f, "too many reserved ranges"),
            PlanError::NoUsableMemory => write!(f, "no usable memory below 4 GiB"),
            PlanError::NoRoomForMetadata { bytes } => {
                write!(
                    f,
                    "no free room below 768 MiB for {bytes} bytes of metadata"
                )
            }
        }
    }
}

/// What a frame is, according to the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameClass {
    /// Managed: available RAM, not reserved.
    Usable,
    /// Reserved, and why.
    Reserved(ReserveReason),
    /// Not RAM the plan knows of.
    Unmanaged,
}

/// A sorted list of disjoint, non-adjacent frame ranges with fixed capacity.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RangeList {
    items: [FrameRange; MAX_RANGES],
    len: usize,
}

impl RangeList {
    const fn new() -> RangeList {
        RangeList {
            items: [FrameRange::new(0, 0); MAX_RANGES],
            len: 0,
        }
    }
    fn as_slice(&self) -> &[FrameRange] {
        &self.items[..self.len]
    }
    fn push(&mut self, r: FrameRange) -> Result<(), PlanError> {
        if self.len == MAX_RANGES {
            return Err(PlanError::TooManyRanges);
        }
        self.items[self.len] = r;
        self.len += 1;
        Ok(())
    }
    /// Add `r`, merging it with every range it overlaps or touches.
    fn insert(&mut self, r: FrameRange) -> Result<(), PlanError> {
        let mut out = RangeList::new();
        let mut merged = r;
        let mut placed = false;
        for &x in self.as_slice() {
            if x.end.0 < merged.start.0 {
                out.push(x)?;
            } else if x.start.0 > merged.end.0 {
                if !placed {
                    out.push(merged)?;
                    placed = true;
                }
                out.push(x)?;
            } else {
                merged.start.0 = merged.start.0.min(x.start.0);
                merged.end.0 = merged.end.0.max(x.end.0);
            }
        }
        if !placed {
            out.push(merged)?;
        }
        *self = out;
        Ok(())
    }
    /// Take `r` out of every range (a range may split in two).
    fn remove(&mut self, r: FrameRange) -> Result<(), PlanError> {
        let mut out = RangeList::new();
        for &x in self.as_slice() {
            if x.end.0 <= r.start.0 || x.start.0 >= r.end.0 {
                out.push(x)?;
                continue;
            }
            if x.start.0 < r.start.0 {
                out.push(FrameRange::new(x.start.0, r.start.0))?;
            }
            if x.end.0 > r.end.0 {
                out.push(FrameRange::new(r.end.0, x.end.0))?;
            }
        }
        *self = out;
        Ok(())
    }
    fn frames(&self) -> usize {
        self.as_slice().iter().map(FrameRange::len).sum()
    }
}

/// The outcome of planning: what the PMM manages and what it must leave alone.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FramePlan {
    choice: PmmChoice,
    span: FrameRange,
    usable: RangeList,
    reserved: [ReservedRange; MAX_RESERVED],
    reserved_len: usize,
    metadata: FrameRange,
    metadata_bytes: usize,
    available_frames: usize,
    unreachable_bytes: u64,
}

/// Plan the PMM from a memory map and the caller's reservations.
///
/// `map` may be unsorted and overlapping; only `Available` entries count and
/// any other entry wins over them. Low memory (below 1 MiB) is always
/// reserved. The metadata for `choice` is sized from the span (frame 0 to
/// the end of the last usable range) and placed in the lowest free frames
/// below 768 MiB. Available memory at or above 4 GiB is counted in
/// [`FramePlan::unreachable_bytes`] and left alone.
pub fn plan(
    map: &[MemoryRegion],
    reservations: &[Reservation],
    choice: PmmChoice,
) -> Result<FramePlan, PlanError> {
    let mut usable = RangeList::new();
    let mut unreachable_bytes = 0u64;
    for e in map.iter().filter(|e| e.kind == MemoryKind::Available) {
        let end = e.start.saturating_add(e.len);
        unreachable_bytes += end.saturating_sub(e.start.max(FOUR_GIB));
        if let Some(r) = FrameRange::inside(e.start, e.len) {
            usable.insert(r)?;
        }
    }
    for e in map.iter().filter(|e| e.kind != MemoryKind::Available) {
        if let Some(r) = FrameRange::covering(e.start, e.len) {
            usable.remove(r)?;
        }
    }
    let available_frames = usable.frames();

    let mut plan = FramePlan {
        choice,
        span: FrameRange::default(),
        usable,
        reserved: [ReservedRange {
            range: FrameRange::default(),
            reason: ReserveReason::LowMemory,
        }; MAX_RESERVED],
        reserved_len: 0,
        metadata: FrameRange::default(),
        metadata_bytes: 0,
        available_frames,
        unreachable_bytes,
    };
    let low = Reservation::new(0, LOW_MEMORY_END as u64, ReserveReason::LowMemory);
    for r in core::iter::once(&low).chain(reservations) {
        if let Some(range) = FrameRange::covering(r.start, r.len) {
            plan.reserve(range, r.reason)?;
        }
    }
    let last = *plan
        .usable
        .as_slice()
        .last()
        .ok_or(PlanError::NoUsableMemory)?;
    plan.span = FrameRange::new(0, last.end.0);

    let bytes = choice.metadata_bytes(plan.span.len());
    let frames = bytes.div_ceil(PAGE_SIZE) as u32;
    let place = plan
        .usable
        .as_slice()
        .iter()
        .find(|r| r.start.0 + frames <= r.end.0.min(LINEAR_FRAMES))
        .map(|r| FrameRange::new(r.start.0, r.start.0 + frames))
        .ok_or(PlanError::NoRoomForMetadata { bytes })?;
    if frames > 0 {
        plan.reserve(place, ReserveReason::Metadata)?;
    }
    plan.metadata = place;
    plan.metadata_bytes = bytes;
    if plan.usable.len == 0 {
        return Err(PlanError::NoUsableMemory);
    }
    Ok(plan)
}

impl FramePlan {
    fn reserve(&mut self, range: FrameRange, reason: ReserveReason) -> Result<(), PlanError> {
        if self.reserved_len == MAX_RESERVED {
            return Err(PlanError::TooManyReservations);
        }
        self.usable.remove(range)?;
        self.reserved[self.reserved_len] = ReservedRange { range, reason };
        self.reserved_len += 1;
        Ok(())
    }

    /// The allocator this plan was sized for.
    pub fn choice(&self) -> PmmChoice {
        self.choice
    }
    /// Frames the allocator's per-frame metadata covers: `0..end of the last usable range`.
    pub fn span(&self) -> FrameRange {
        self.span
    }
    /// The managed frames: sorted, disjoint, non-adjacent ranges.
    pub fn usable(&self) -> &[FrameRange] {
        self.usable.as_slice()
    }
    /// Number of managed frames.
    pub fn usable_frames(&self) -> usize {
        self.usable.frames()
    }
    /// Frames the map says are available below 4 GiB, before any reservation.
    pub fn available_frames(&self) -> usize {
        self.available_frames
    }
    /// Reserved ranges in the order they were reserved (low memory first,
    /// the metadata last), each with its reason.
    pub fn reserved(&self) -> &[ReservedRange] {
        &self.reserved[..self.reserved_len]
    }
    /// Frames two reserved ranges both hold, with the two reasons in the
    /// order they were reserved. Each reservation is rounded out to whole
    /// frames, so two whose bytes lie side by side can share a frame: GRUB
    /// puts the multiboot2 information in the padding after the end of a
    /// kernel section, inside the last frame the kernel image reserves for
    /// it. Such a frame is never handed out; [`classify`](Self::classify)
    /// names the first reason.
    pub fn shared(&self) -> impl Iterator<Item = (FrameRange, ReserveReason, ReserveReason)> + '_ {
        let all = self.reserved();
        all.iter().enumerate().flat_map(move |(i, a)| {
            all[i + 1..].iter().filter_map(move |b| {
                let start = a.range.start.0.max(b.range.start.0);
                let end = a.range.end.0.min(b.range.end.0);
                (start < end).then_some((FrameRange::new(start, end), a.reason, b.reason))
            })
        })
    }
    /// Where the metadata lives (inside the linear space).
    pub fn metadata(&self) -> FrameRange {
        self.metadata
    }
    /// Bytes of metadata the chosen allocator needs (the slice given to its constructor).
    pub fn metadata_bytes(&self) -> usize {
        self.metadata_bytes
    }
    /// Available bytes at or above 4 GiB, which Cairn cannot reach without PAE.
    pub fn unreachable_bytes(&self) -> u64 {
        self.unreachable_bytes
    }
    /// Whether `frame` is managed, reserved (and why), or not RAM at all.
    pub fn classify(&self, frame: Frame) -> FrameClass {
        let usable = self.usable();
        let i = usable.partition_point(|r| r.end.0 <= frame.0);
        if i < usable.len() && usable[i].contains(frame) {
            return FrameClass::Usable;
        }
        match self.reserved().iter().find(|r| r.range.contains(frame)) {
            Some(r) => FrameClass::Reserved(r.reason),
            None => FrameClass::Unmanaged,
        }
    }
    /// `Ok` for a managed frame, else the [`FrameError`](super::FrameError) that names why not.
    pub fn check_managed(&self, frame: Frame) -> Result<(), super::FrameError> {
        match self.classify(frame) {
            FrameClass::Usable => Ok(()),
            FrameClass::Reserved(_) => Err(super::FrameError::Reserved),
            FrameClass::Unmanaged => Err(super::FrameError::Unmanaged),
        }
    }
    /// True when all frames of `start..start + count` are managed.
    pub fn is_usable_run(&self, start: usize, count: usize) -> bool {
        let usable = self.usable();
        let i = usable.partition_point(|r| (r.end.0 as usize) <= start);
        i < usable.len()
            && usable[i].start.0 as usize <= start
            && start + count <= usable[i].end.0 as usize
    }
}

impl fmt::Debug for FramePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramePlan")
            .field("choice", &self.choice)
            .field("span", &self.span)
            .field("usable", &self.usable())
            .field("reserved", &self.reserved())
            .field("metadata", &self.metadata)
            .field("metadata_bytes", &self.metadata_bytes)
            .field("unreachable_bytes", &self.unreachable_bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
