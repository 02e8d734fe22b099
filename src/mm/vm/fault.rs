//! Page faults, the pure part: decode the error code the CPU pushes, and
//! explain a fault from CR2 and the walk (the kernel's #PF handler prints it).
//!
//! ```text
//!  #PF error code (pushed by the CPU; the faulting address is in CR2)
//!   31                         5   4   3   2   1   0
//!  +----------------------------+---+---+---+---+---+
//!  |          reserved          | I | R | U | W | P |
//!  +----------------------------+---+---+---+---+---+
//!   P  0: the page was not present        1: a protection violation
//!   W  0: a read                          1: a write
//!   U  0: in supervisor mode (ring 0)     1: in user mode (ring 3)
//!   R  1: a reserved bit was set in an entry on the walk
//!   I  1: an instruction fetch (only with NX or SMEP; not on plain i386)
//! ```

use super::region::{Region, RegionMap};
use crate::mm::addr::VirtAddr;
use crate::mm::paging::{EntryFlags, PageWalk, WalkEnd};
use core::fmt;

/// The #PF error code, decoded where every exception's code is (module 1
/// of the course comes before virtual memory).
pub use crate::exception::PageFaultCode;

/// What the fault most likely means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultCause {
    /// An access to the null guard page: a null pointer.
    NullPointer,
    /// No page table covers the address.
    NoTable,
    /// The page table has no entry for the page.
    NotMapped,
    /// A write to a page that is not writable (kernel text with CR0.WP, say).
    WriteToReadOnly,
    /// User mode touched a supervisor page.
    UserToSupervisor,
    /// An entry on the walk has a reserved bit set.
    ReservedBit,
    /// The walk now allows the access: the TLB held a stale entry, or the
    /// page was mapped after the fault.
    Stale,
}

impl FaultCause {
    /// One line of explanation.
    pub const fn explain(self) -> &'static str {
        match self {
            FaultCause::NullPointer => {
                "null pointer dereference (the null guard page is never mapped)"
            }
            FaultCause::NoTable => "no page table covers this address (PDE not present)",
            FaultCause::NotMapped => "the page is not mapped (PTE not present)",
            FaultCause::WriteToReadOnly => "write to a read-only page",
            FaultCause::UserToSupervisor => "user mode access to a supervisor page",
            FaultCause::ReservedBit => "a paging entry has a reserved bit set",
            FaultCause::Stale => "the tables allow this access now: a stale TLB entry?",
        }
    }
}

impl fmt::Display for FaultCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.explain())
    }
}

/// Everything the kernel prints about a page fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultReport {
    /// The faulting address (CR2).
    pub addr: VirtAddr,
    /// The faulting instruction (EIP pushed by the CPU).
    pub eip: VirtAddr,
    /// The error code.
    pub code: PageFaultCode,
    /// The region the address is in, if any.
    pub region: Option<Region>,
    /// The walk of `addr` in the current directory.
    pub walk: PageWalk,
    /// The likely cause.
    pub cause: FaultCause,
}

impl FaultReport {
    /// Explain a fault at `addr` (CR2) raised by the instruction at `eip`,
    /// from its error code and the walk of `addr` in the current directory
    /// (`Mapper::trace`). Pure: allocates nothing, safe in the handler.
    pub fn new(
        addr: VirtAddr,
        eip: VirtAddr,
        code: PageFaultCode,
        walk: PageWalk,
        regions: &RegionMap,
    ) -> FaultReport {
        let region = regions.region_of(addr);
        let cause = Self::cause(code, &walk, region);
        FaultReport {
            addr,
            eip,
            code,
            region,
            walk,
            cause,
        }
    }

    fn cause(code: PageFaultCode, walk: &PageWalk, region: Option<Region>) -> FaultCause {
        if code.contains(PageFaultCode::RESERVED) || walk.end() == WalkEnd::ReservedBits {
            return FaultCause::ReservedBit;
        }
        if region == Some(Region::NullGuard) {
            return FaultCause::NullPointer;
        }
        let Some(allowed) = walk.effective_flags() else {
            return match walk.end() {
                WalkEnd::NoTable => FaultCause::NoTable,
                _ => FaultCause::NotMapped,
            };
        };
        if code.contains(PageFaultCode::USER) && !allowed.contains(EntryFlags::USER) {
            FaultCause::UserToSupervisor
        } else if code.contains(PageFaultCode::WRITE) && !allowed.contains(EntryFlags::WRITABLE) {
            FaultCause::WriteToReadOnly
        } else {
            FaultCause::Stale
        }
    }
}

impl fmt::Display for FaultReport {
    /// ```text
    /// page fault at V0x00000000, eip V0xc0101234
    ///   error code 0x2: page not present, write, supervisor mode
    ///   region: null guard (never mapped: null pointers fault)
    ///   translate V0x00000000: ... (the walk, step by step)
    ///   cause: null pointer dereference (...)
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "page fault at {}, eip {}", self.addr, self.eip)?;
        writeln!(f, "  error code {:#x}: {}", self.code.bits(), self.code)?;
        match self.region {
            Some(r) => writeln!(f, "  region: {} ({})", r.name(), r.purpose())?,
            None => writeln!(f, "  region: none (outside every region)")?,
        }
        self.walk.write_indented(f, "  ")?;
        writeln!(f, "  cause: {}", self.cause)
    }
}
