//! Why a mapper operation failed: one error type per kind of operation,
//! each naming the page where it stopped.

use crate::mm::addr::Page;
use crate::mm::frame::FrameError;
use core::fmt;

/// Why `walk` stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError {
    /// No page table (with `Alloc::No`).
    NoTable,
    /// A 4 MiB entry maps the address: there is no page table to return.
    LargePage,
    /// A page table was needed and the allocator had no frame.
    NoFrames,
    /// A page table was needed outside the mapper's scope.
    OutOfScope,
}

/// Why a map failed. Nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The page (or, for a 4 MiB mapping, the directory entry) is already mapped.
    AlreadyMapped(Page),
    /// A 4 MiB entry already covers the page.
    LargePage(Page),
    /// No frame left for a page table or a page.
    NoFrames,
    /// The page is in the recursive slot (PD[1023]), which mirrors the tables.
    Reserved(Page),
    /// The page is in the kernel half and the mapper's scope is `User`.
    OutOfScope(Page),
    /// `HUGE` (PS/PAT) was given for a 4 KiB page.
    BadFlags,
    /// An address or a length is not page aligned (4 MiB aligned for a large page).
    Unaligned,
    /// Empty, past the 32-bit space, a page/frame number too large, or past the linear space.
    BadRange,
}

/// Why an unmap failed. Except for `FreeFailed`, nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmapError {
    /// The page is not mapped (or, for `unmap_large`, not by a 4 MiB entry).
    NotMapped(Page),
    /// A 4 MiB entry maps the page: use `unmap_large`.
    LargePage(Page),
    /// The page is in the recursive slot.
    Reserved(Page),
    /// The page is in the kernel half and the mapper's scope is `User`.
    OutOfScope(Page),
    /// An address or a length is not aligned.
    Unaligned,
    /// Empty or past the 32-bit space, or a page number too large.
    BadRange,
    /// Every page was unmapped, but the allocator refused an owned frame
    /// (the first refusal is reported; the frame is left as the allocator has it).
    FreeFailed {
        /// The page whose frame was refused.
        page: Page,
        /// The allocator's answer.
        error: FrameError,
    },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::AlreadyMapped(p) => write!(f, "{} is already mapped", p.start_address()),
            MapError::LargePage(p) => {
                write!(f, "{} lies in a 4 MiB page", p.start_address())
            }
            MapError::NoFrames => f.write_str("no free frame"),
            MapError::Reserved(p) => {
                write!(f, "{} is in the recursive mapping", p.start_address())
            }
            MapError::OutOfScope(p) => write!(
                f,
                "{} is in the kernel half, shared by every address space",
                p.start_address()
            ),
            MapError::BadFlags => f.write_str("bad flags for a 4 KiB page (PS/PAT set)"),
            MapError::Unaligned => f.write_str("address or length not aligned"),
            MapError::BadRange => f.write_str("empty or impossible range"),
        }
    }
}

impl fmt::Display for UnmapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnmapError::NotMapped(p) => write!(f, "{} is not mapped", p.start_address()),
            UnmapError::LargePage(p) => {
                write!(f, "{} lies in a 4 MiB page", p.start_address())
            }
            UnmapError::Reserved(p) => {
                write!(f, "{} is in the recursive mapping", p.start_address())
            }
            UnmapError::OutOfScope(p) => write!(
                f,
                "{} is in the kernel half, shared by every address space",
                p.start_address()
            ),
            UnmapError::Unaligned => f.write_str("address or length not aligned"),
            UnmapError::BadRange => f.write_str("empty or impossible range"),
            UnmapError::FreeFailed { page, error } => write!(
                f,
                "unmapped, but the frame of {} was refused: {error:?}",
                page.start_address()
            ),
        }
    }
}
