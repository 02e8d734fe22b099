//! Demand paging of one process: a fault inside `[USER_HEAP_START, break)`
//! or inside the stack reserve maps one zeroed frame (while the process is
//! under its frame limit); any other fault kills the process, with the
//! cause named.

use super::{STACK_BOTTOM, UserMemory};
use crate::mm::addr::{Page, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{USER_END, USER_START};
use crate::mm::paging::{EntryFlags, Mapper, TlbFlush, ZeroFill};
use crate::mm::phys::PhysMemory;
use crate::mm::vm::PageFaultCode;
use crate::mm::vm::region::{
    USER_ARGS_START, USER_HEAP_START, USER_PRIVATE_START, USER_STACK_START,
};
use core::fmt;

/// Which demand region a fault was served in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemandRegion {
    /// Between the heap start and the break.
    Heap,
    /// Inside the stack reserve.
    Stack,
}

/// Why a user fault is fatal to the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillCause {
    /// Page 0: a null pointer.
    NullPointer,
    /// The kernel half: user mode may not touch it.
    KernelAddress,
    /// A present page written but read-only (program text).
    WriteToReadOnly,
    /// A present page the process may not use in this way.
    Protection,
    /// Below the stack reserve: the stack outgrew `USER_STACK_MAX`.
    StackOverflow,
    /// Above the break, below the private mappings: the heap is not that big.
    PastBreak,
    /// No region maps anything there.
    Unmapped,
    /// The process owns `USER_FRAME_LIMIT` frames already.
    FrameLimit,
    /// The kernel had no frame left.
    NoMemory,
}

impl KillCause {
    /// One line of explanation.
    pub const fn explain(self) -> &'static str {
        match self {
            KillCause::NullPointer => "null pointer (page 0 is never mapped)",
            KillCause::KernelAddress => "user mode touched the kernel half",
            KillCause::WriteToReadOnly => "write to a read-only page (program text?)",
            KillCause::Protection => "protection violation",
            KillCause::StackOverflow => "stack overflow: past the stack reserve into its guard",
            KillCause::PastBreak => "heap access above the break (sbrk first)",
            KillCause::Unmapped => "nothing is mapped there",
            KillCause::FrameLimit => "the process reached its frame limit",
            KillCause::NoMemory => "no physical frame left",
        }
    }
}

impl fmt::Display for KillCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.explain())
    }
}

impl UserMemory {
    /// What a fault at `addr` with `code` means: a page to map, or a cause to die.
    pub fn decide(&self, addr: u32, code: PageFaultCode) -> Result<DemandRegion, KillCause> {
        if addr < USER_START {
            return Err(KillCause::NullPointer);
        }
        if addr >= USER_END {
            return Err(KillCause::KernelAddress);
        }
        if code.contains(PageFaultCode::PRESENT) {
            return Err(if code.contains(PageFaultCode::WRITE) {
                KillCause::WriteToReadOnly
            } else {
                KillCause::Protection
            });
        }
        if (USER_HEAP_START..self.brk).contains(&addr) {
            return Ok(DemandRegion::Heap);
        }
        if (STACK_BOTTOM..USER_ARGS_START).contains(&addr) {
            return Ok(DemandRegion::Stack);
        }
        if (USER_STACK_START..STACK_BOTTOM).contains(&addr) {
            return Err(KillCause::StackOverflow);
        }
        if (self.brk..USER_PRIVATE_START).contains(&addr) {
            return Err(KillCause::PastBreak);
        }
        Err(KillCause::Unmapped)
    }

    /// Serve a user page fault at `addr`: map a zeroed frame if the address
    /// is in a demand region and the process is under its limit, else say
    /// why the process must die. Nothing changes on `Err`.
    pub fn fault<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        addr: u32,
        code: PageFaultCode,
    ) -> Result<DemandRegion, KillCause> {
        let region = self.decide(addr, code)?;
        // One page plus, perhaps, its page table.
        if self.owned + 2 > self.limit {
            return Err(KillCause::FrameLimit);
        }
        let page = Page::containing_address(VirtAddr(addr));
        let flags = EntryFlags::USER | EntryFlags::WRITABLE;
        self.account(frames, |f| mapper.map_new(page, flags, ZeroFill::Yes, f))
            .map_err(|_| KillCause::NoMemory)?;
        match region {
            DemandRegion::Heap => self.faults.heap += 1,
            DemandRegion::Stack => self.faults.stack += 1,
        }
        Ok(region)
    }
}
