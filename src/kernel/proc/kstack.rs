//! Kernel stacks of processes: one per table slot, each 16 KiB with an
//! unmapped guard page below, in the kernel private region (mapped in the
//! kernel's shared tables, so every address space sees them).
//!
//! ```text
//!  KSTACK_AREA + slot * 32 KiB:  | guard 4K | stack 16K | unused 12K |
//!                                            ^ bottom    ^ top (TSS.esp0)
//! ```

use crate::kernel::memory;
use crate::mm::addr::VirtAddr;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, Release, ZeroFill};
use crate::mm::vm::region::KERNEL_PRIVATE_START;

/// Where the kernel stacks of processes start.
pub const KSTACK_AREA: u32 = KERNEL_PRIVATE_START;
/// Bytes of one kernel stack.
pub const KSTACK_SIZE: usize = 16 * 1024;
/// Pages of one kernel stack.
pub const KSTACK_PAGES: usize = KSTACK_SIZE / PAGE_SIZE;
const STRIDE: u32 = 32 * 1024;

/// One mapped kernel stack.
#[derive(Debug)]
pub struct KernelStack {
    slot: usize,
}

impl KernelStack {
    fn bottom(slot: usize) -> u32 {
        KSTACK_AREA + slot as u32 * STRIDE + PAGE_SIZE as u32
    }
    /// Map the stack of table slot `slot` (the guard below stays unmapped).
    pub fn map(slot: usize) -> Option<KernelStack> {
        let va = VirtAddr(Self::bottom(slot));
        memory::with(|m| {
            m.mapper()
                .map_range_sparse(
                    va,
                    KSTACK_SIZE,
                    EntryFlags::WRITABLE,
                    ZeroFill::No,
                    &mut m.frames,
                )
                .ok()
        })?;
        Some(KernelStack { slot })
    }
    /// The top: the first byte above the stack (TSS.esp0).
    pub fn top(&self) -> u32 {
        Self::bottom(self.slot) + KSTACK_SIZE as u32
    }
    /// Unmap the stack and free its frames. It must not be in use.
    pub fn unmap(self) {
        let va = VirtAddr(Self::bottom(self.slot));
        let r = memory::with(|m| {
            m.mapper()
                .unmap_range(va, KSTACK_SIZE, Release::OwnedFrames, &mut m.frames)
        });
        if let Err(e) = r {
            panic!("kstack: unmapping slot {} failed: {e:?}", self.slot);
        }
    }
}
