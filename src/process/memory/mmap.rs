//! Anonymous mappings: `mmap` maps zeroed pages at the lowest gap of the
//! private region that fits, `munmap` unmaps exactly one earlier mapping
//! and frees its frames; at most [`MAX_MMAPS`](super::MAX_MMAPS) at once.

use super::{MAX_MMAPS, PAGE, UserMemory};
use crate::mm::addr::VirtAddr;
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, Mapper, Release, TlbFlush, ZeroFill};
use crate::mm::phys::PhysMemory;
use crate::mm::vm::region::{USER_PRIVATE_START, USER_SHARE_START};
use crate::process::abi::{Errno, MMAP_MAX};

impl UserMemory {
    /// `mmap(len)`: map `len` bytes (rounded up to pages) of zeroed memory in
    /// the private region, at the lowest gap that fits; returns the address.
    pub fn mmap<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        len: usize,
    ) -> Result<u32, Errno> {
        if len == 0 || len > MMAP_MAX {
            return Err(Errno::Inval);
        }
        if self.mmap_count == MAX_MMAPS {
            return Err(Errno::NoMem);
        }
        let len = len.next_multiple_of(PAGE_SIZE) as u32;
        if self.owned + (len / PAGE) as usize + 2 > self.limit {
            return Err(Errno::NoMem);
        }
        let mut at = USER_PRIVATE_START;
        for &(start, l) in self.mappings() {
            if at + len <= start {
                break;
            }
            at = start + l;
        }
        if at + len > USER_SHARE_START {
            return Err(Errno::NoMem);
        }
        let flags = EntryFlags::USER | EntryFlags::WRITABLE;
        self.account(frames, |f| {
            mapper.map_range_sparse(VirtAddr(at), len as usize, flags, ZeroFill::Yes, f)
        })
        .map_err(|_| Errno::NoMem)?;
        let i = self.mappings().partition_point(|&(s, _)| s < at);
        self.mmaps.copy_within(i..self.mmap_count, i + 1);
        self.mmaps[i] = (at, len);
        self.mmap_count += 1;
        Ok(at)
    }

    /// `munmap(addr, len)`: unmap exactly one earlier mapping (`len` rounded
    /// up to pages) and free its frames.
    pub fn munmap<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        addr: u32,
        len: usize,
    ) -> Result<(), Errno> {
        let len = len.next_multiple_of(PAGE_SIZE) as u32;
        let i = self
            .mappings()
            .iter()
            .position(|&m| m == (addr, len))
            .ok_or(Errno::Inval)?;
        self.account(frames, |f| {
            mapper.unmap_range(VirtAddr(addr), len as usize, Release::OwnedFrames, f)
        })
        .map_err(|_| Errno::Inval)?;
        self.mmaps.copy_within(i + 1..self.mmap_count, i);
        self.mmap_count -= 1;
        Ok(())
    }
}
