//! What the paging tests share: a page fault caught by a probe, a free page
//! of kernel private space, and an address-space error as a static string
//! (no heap under the memory lock).

use crate::arch::x86::probe;
use crate::exception::PageFaultCode;
use crate::kernel::memory;
use crate::mm::addr::VirtAddr;
use crate::mm::layout::PAGE_SIZE;
// course: module 06
use crate::mm::vm::Region;
// course: else
// use crate::mm::layout::{KERNEL_PRIVATE_START, KERNEL_TEMP_MAP_START};
// course: end
use alloc::string::String;

/// A page fault caught by a probe at `addr`: (not present?, write?).
pub fn caught_page_fault(
    r: Result<impl Sized, probe::Caught>,
    addr: u32,
) -> Result<PageFaultCode, String> {
    match r {
        Ok(_) => Err(alloc::format!("no fault at {addr:#010x}")),
        Err(c) if c.vector == 14 && c.cr2 == addr => Ok(PageFaultCode::from_raw(c.error_code)),
        Err(c) => Err(alloc::format!("expected #PF at {addr:#010x}, got {c:?}")),
    }
}

/// A page of kernel private space nothing maps, for a test to map.
pub fn free_private_page(m: &mut memory::Memory) -> Option<VirtAddr> {
    // course: module 06
    m.regions
        .find_free(&m.mapper(), PAGE_SIZE, Region::KernelPrivate)
        .ok()
    // course: else
    // // Before the region table (module 6): the first page nothing maps.
    // (KERNEL_PRIVATE_START..KERNEL_TEMP_MAP_START)
    //     .step_by(PAGE_SIZE)
    //     .map(VirtAddr)
    //     .find(|&va| m.mapper().translate(va).is_none())
    // course: end
}

// course: module 06
/// A `SpaceError` as a static string (no heap under the memory lock).
pub fn alloc_free_str(e: crate::mm::vm::SpaceError) -> &'static str {
    match e {
        crate::mm::vm::SpaceError::NoFrames => "no frames",
        crate::mm::vm::SpaceError::KernelSpace => "kernel space",
        crate::mm::vm::SpaceError::FreeFailed { .. } => "a frame was refused",
    }
}
// course: end
