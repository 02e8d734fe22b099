//! User buffers the kernel reads or writes for a system call: inside the
//! user half without wrapping, every page mapped for the access (pages of
//! the demand regions not touched yet are mapped now, as the process's own
//! touch would); anything else is `Errno::Fault`.

use super::{PAGE, UserMemory};
use crate::mm::addr::{Page, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{USER_END, USER_START};
use crate::mm::paging::{EntryFlags, Mapper, TlbFlush};
use crate::mm::phys::PhysMemory;
use crate::mm::vm::PageFaultCode;
use crate::process::abi::Errno;

/// Where a user buffer is going: read by the kernel or written by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The kernel reads the buffer (`write`'s data, a name).
    Read,
    /// The kernel writes the buffer (`read`'s data, a status).
    Write,
}

/// Check that `[addr, addr + len)` lies inside the user half without
/// wrapping; `len == 0` is allowed anywhere in it.
pub fn check_user_range(addr: u32, len: usize) -> Result<(), Errno> {
    let end = (addr as u64) + len as u64;
    if addr < USER_START || end > USER_END as u64 {
        return Err(Errno::Fault);
    }
    Ok(())
}

impl UserMemory {
    /// Make `[addr, addr + len)` usable by the kernel for `access`: inside the
    /// user half, every page mapped USER (and WRITABLE for `Access::Write`);
    /// an empty range is always fine (Rust's empty slices dangle);
    /// pages of the demand regions not touched yet are mapped now, as the
    /// process's own touch would. Any other hole is `Errno::Fault`.
    pub fn prepare<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        addr: u32,
        len: usize,
        access: Access,
    ) -> Result<(), Errno> {
        if len == 0 {
            return Ok(()); // an empty buffer touches nothing, wherever it points
        }
        check_user_range(addr, len)?;
        let first = addr & !(PAGE - 1);
        let last = (addr + (len as u32 - 1)) & !(PAGE - 1);
        let mut va = first;
        loop {
            let page = Page::containing_address(VirtAddr(va));
            match mapper.mapping(page) {
                Some((_, flags)) => {
                    if !flags.contains(EntryFlags::USER)
                        || (access == Access::Write && !flags.contains(EntryFlags::WRITABLE))
                    {
                        return Err(Errno::Fault);
                    }
                }
                None => {
                    let mut code = PageFaultCode::USER;
                    if access == Access::Write {
                        code |= PageFaultCode::WRITE;
                    }
                    self.fault(mapper, frames, va, code)
                        .map_err(|_| Errno::Fault)?;
                }
            }
            if va == last {
                return Ok(());
            }
            va += PAGE;
        }
    }
}
