//! The argument page of a process, at `USER_ARGS_START`: `argc`, then
//! `argv[argc + 1]` (pointers, the last null), then the NUL-terminated
//! strings, all within one page.

use super::UserMemory;
use crate::mm::addr::{Page, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, Mapper, TlbFlush, ZeroFill};
use crate::mm::phys::PhysMemory;
use crate::mm::vm::region::USER_ARGS_START;
use crate::process::abi::{Errno, MAX_ARGS};

impl UserMemory {
    /// Map the argument page at `USER_ARGS_START` and fill it:
    /// `argc`, then `argv[argc + 1]` (pointers, the last null), then the
    /// NUL-terminated strings. Returns (argc, argv's address).
    pub fn setup_args<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        args: &[&str],
    ) -> Result<(u32, u32), Errno> {
        // Checked before anything is mapped; then written straight into the
        // frame: a page-sized buffer on a process's 16 KiB kernel stack (a
        // spawn from a system call runs there) would overflow it.
        args_fit(args)?;
        let frame = self
            .account(frames, |f| {
                mapper.map_new(
                    Page::containing_address(VirtAddr(USER_ARGS_START)),
                    EntryFlags::USER,
                    ZeroFill::Yes,
                    f,
                )
            })
            .map_err(|_| Errno::NoMem)?;
        let dst = mapper.mem().frame_ptr(frame);
        // SAFETY: the frame was just allocated (and zeroed) for this page
        // alone; `frame_ptr` maps its PAGE_SIZE bytes while we hold it.
        let page = unsafe { core::slice::from_raw_parts_mut(dst, PAGE_SIZE) };
        write_args(args, USER_ARGS_START, page)?;
        Ok((args.len() as u32, USER_ARGS_START + 4))
    }
}

/// `Ok` when `args` fit in the argument page: at most `MAX_ARGS`, no NUL
/// inside, the pointers and the strings within one page; else `Inval`.
pub fn args_fit(args: &[&str]) -> Result<(), Errno> {
    if args.len() > MAX_ARGS {
        return Err(Errno::Inval);
    }
    let mut at = 4 + (args.len() + 1) * 4;
    for a in args {
        if a.as_bytes().contains(&0) || at + a.len() + 1 > PAGE_SIZE {
            return Err(Errno::Inval);
        }
        at += a.len() + 1;
    }
    Ok(())
}

/// Write the argument page for `args`, to be mapped at `base`, into `page`
/// (zeroed, `PAGE_SIZE` bytes): `argc`, `argv[argc + 1]` (the last null),
/// then the NUL-terminated strings. `Inval` (and `page` untouched) when
/// they do not fit ([`args_fit`]).
pub fn write_args(args: &[&str], base: u32, page: &mut [u8]) -> Result<(), Errno> {
    args_fit(args)?;
    if page.len() < PAGE_SIZE {
        return Err(Errno::Inval);
    }
    let argc = args.len();
    page[..4].copy_from_slice(&(argc as u32).to_le_bytes());
    let mut at = 4 + (argc + 1) * 4;
    for (i, a) in args.iter().enumerate() {
        let ptr = base + at as u32;
        page[4 + i * 4..8 + i * 4].copy_from_slice(&ptr.to_le_bytes());
        page[at..at + a.len()].copy_from_slice(a.as_bytes());
        at += a.len() + 1;
    }
    Ok(())
}

/// The argument page's bytes for `args`, to be mapped at `base` (the host
/// tests read it; the kernel writes straight into the frame).
#[cfg(test)]
pub fn build_args(args: &[&str], base: u32) -> Result<[u8; PAGE_SIZE], Errno> {
    let mut page = [0u8; PAGE_SIZE];
    write_args(args, base, &mut page)?;
    Ok(page)
}
