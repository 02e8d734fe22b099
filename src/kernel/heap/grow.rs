//! The kernel heap's growth, through the VMM: the grow hook maps what the
//! heap is short of at the end of its highest region (`mm::vm`'s
//! `grow_region`: the region checked, frames from the PMM, all undone on
//! failure), and the ungrow hook unmaps what the heap then refused. Both
//! are thin adapters; neither ever waits for the memory lock.
//!
//! ```text
//!   KernelHeap short ──► grow(end, min_bytes) ── memory::try_with ──► Memory::grow_region
//!                          │ lock held: GrowFailure::MemoryLocked     (vm::grow_region)
//!                          └ refused:   GrowFailure::Vm(e)            kept for take_grow_failure
//! ```

use crate::arch::x86::without_interrupts;
use crate::kernel::memory;
use crate::mm::addr::VirtAddr;
use crate::mm::layout::HEAP_GROW_STEP;
use crate::mm::paging::EntryFlags;
use crate::mm::vm::{Grow, GrowError, Region, VirtRange};
use core::fmt;
use spin::Mutex;

/// Why the heap did not grow when it was short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrowFailure {
    /// The memory lock was held: the allocation came from inside
    /// `memory::with`, where growing would wait for ever (see the locking
    /// rule in `kernel::memory`).
    MemoryLocked,
    /// The VMM refused: no room left in the region, or no frames.
    Vm(GrowError),
}

impl fmt::Display for GrowFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrowFailure::MemoryLocked => f.write_str(
                "out of memory: the heap cannot grow while the memory lock is held \
                 (an allocation inside memory::with)",
            ),
            GrowFailure::Vm(e) => write!(f, "out of memory: {e}"),
        }
    }
}

/// The last growth that failed, for reports and tests.
static LAST_GROW_FAILURE: Mutex<Option<GrowFailure>> = Mutex::new(None);

/// The last growth failure, taken (the next call gives `None` until
/// another growth fails).
pub fn take_grow_failure() -> Option<GrowFailure> {
    without_interrupts(|| LAST_GROW_FAILURE.lock().take())
}

/// The heap's growth for a shortfall of `min_bytes` at `end`: the kernel
/// heap region, [`HEAP_GROW_STEP`] at least, writable and global.
pub(super) fn growth(end: usize, min_bytes: usize) -> Grow {
    Grow {
        region: Region::KernelHeap,
        at: VirtAddr(end as u32),
        min_bytes,
        step: HEAP_GROW_STEP,
        flags: EntryFlags::WRITABLE | EntryFlags::GLOBAL,
    }
}

/// The heap's grow hook, a thin adapter over the VMM's `grow_region`:
/// returns how many bytes it mapped at `end`. Called without the heap lock;
/// never waits for the memory lock (a failure is named and kept).
pub(super) fn grow(end: usize, min_bytes: usize) -> Option<usize> {
    let failure = match memory::try_with(|m| m.grow_region(&growth(end, min_bytes))) {
        Some(Ok(len)) => {
            log::info!("heap grew by {len} bytes at {end:#x}");
            return Some(len);
        }
        Some(Err(e)) => GrowFailure::Vm(e),
        None => GrowFailure::MemoryLocked,
    };
    log::warn!("heap: no growth of {min_bytes} bytes at {end:#x}: {failure}");
    without_interrupts(|| *LAST_GROW_FAILURE.lock() = Some(failure));
    None
}

/// The heap's ungrow hook, a thin adapter over the VMM's `shrink_region`:
/// the heap refused the `len` bytes `grow` mapped at `start`, so they are
/// unmapped and their frames go back to the PMM.
pub(super) fn ungrow(start: usize, len: usize) {
    let range = VirtRange::new(start as u32, start as u64 + len as u64);
    let undone = memory::try_with(|m| m.shrink_region(Region::KernelHeap, range));
    log::warn!("heap refused {len} bytes mapped at {start:#x}; unmapped: {undone:?}");
}
