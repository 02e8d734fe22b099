//! What the paging tests share: a page fault caught by a probe, and an
//! address-space error as a static string (no heap under the memory lock).

use crate::arch::x86::probe;
use crate::mm::vm::PageFaultCode;
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

/// A `SpaceError` as a static string (no heap under the memory lock).
pub fn alloc_free_str(e: crate::mm::vm::SpaceError) -> &'static str {
    match e {
        crate::mm::vm::SpaceError::NoFrames => "no frames",
        crate::mm::vm::SpaceError::KernelSpace => "kernel space",
        crate::mm::vm::SpaceError::FreeFailed { .. } => "a frame was refused",
    }
}
