//! Why an ELF was refused: one variant per broken rule, each naming the
//! segment or address at fault. Nothing was mapped.

use super::MAX_SEGMENTS;
use crate::mm::vm::region::{USER_DATA_START, USER_HEAP_START};
use core::fmt;

/// Why an ELF was refused. Nothing was mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The file is shorter than its headers say (or not ELF at all).
    Truncated,
    /// Not an ELF file (bad magic) or a header the parser rejects.
    Malformed,
    /// Not 32-bit little-endian i386.
    WrongMachine,
    /// Not an executable (`ET_EXEC`): relocatable, shared object, core.
    NotExecutable,
    /// Dynamically linked (`PT_INTERP` / `PT_DYNAMIC`): Cairn has no loader for that.
    Dynamic,
    /// No `PT_LOAD` segment.
    NoSegments,
    /// More than [`MAX_SEGMENTS`] loadable segments.
    TooManySegments,
    /// A segment's file bytes lie past the end of the file.
    SegmentPastFile { index: usize },
    /// A segment's `filesz` is larger than its `memsz`.
    FileLargerThanMemory { index: usize },
    /// A segment reaches into the kernel half (at or above 0xC000_0000).
    KernelHalf { index: usize, vaddr: u32 },
    /// A segment lies outside the user data region (0x0040_0000..0x1000_0000).
    OutsideDataRegion { index: usize, vaddr: u32 },
    /// Two segments share a page.
    Overlap { first: usize, second: usize },
    /// The entry point is not inside an executable segment's file bytes.
    BadEntry { entry: u32 },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ElfError::Truncated => f.write_str("truncated: the file is shorter than its headers"),
            ElfError::Malformed => f.write_str("not an ELF file (bad magic or header)"),
            ElfError::WrongMachine => f.write_str("not a 32-bit little-endian i386 ELF"),
            ElfError::NotExecutable => f.write_str("not an executable (ET_EXEC)"),
            ElfError::Dynamic => f.write_str("dynamically linked: no dynamic loader"),
            ElfError::NoSegments => f.write_str("no loadable segment"),
            ElfError::TooManySegments => write!(f, "more than {MAX_SEGMENTS} loadable segments"),
            ElfError::SegmentPastFile { index } => {
                write!(f, "segment {index}: its bytes lie past the end of the file")
            }
            ElfError::FileLargerThanMemory { index } => {
                write!(f, "segment {index}: filesz is larger than memsz")
            }
            ElfError::KernelHalf { index, vaddr } => {
                write!(
                    f,
                    "segment {index} at {vaddr:#010x} reaches into the kernel half"
                )
            }
            ElfError::OutsideDataRegion { index, vaddr } => write!(
                f,
                "segment {index} at {vaddr:#010x} lies outside the user data region \
                 ({USER_DATA_START:#010x}..{USER_HEAP_START:#010x})"
            ),
            ElfError::Overlap { first, second } => {
                write!(f, "segments {first} and {second} overlap (share a page)")
            }
            ElfError::BadEntry { entry } => {
                write!(
                    f,
                    "entry point {entry:#010x} is not in an executable segment"
                )
            }
        }
    }
}
