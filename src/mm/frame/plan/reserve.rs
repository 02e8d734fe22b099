//! Reservations: the byte ranges the caller keeps out of the frame
//! allocator, each with the reason `frames` prints.

use super::FrameRange;

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

/// A reserved range and why it is reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservedRange {
    /// The frames (rounded outward from the bytes given).
    pub range: FrameRange,
    /// Why.
    pub reason: ReserveReason,
}
