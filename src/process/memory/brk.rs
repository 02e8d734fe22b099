//! `sbrk`: the break moved. Growing only reserves address space (demand
//! paging maps it on first touch); shrinking unmaps the touched pages
//! wholly above the new break and gives their frames back.

use super::{PAGE, UserMemory};
use crate::mm::addr::{Page, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{Mapper, Release, TlbFlush};
use crate::mm::phys::PhysMemory;
use crate::mm::vm::region::USER_HEAP_START;
use crate::process::abi::{Errno, USER_HEAP_MAX};

impl UserMemory {
    /// `sbrk(increment)`: move the break and return the old one. Growing
    /// only reserves; shrinking unmaps the pages wholly above the new break
    /// that were touched. Past `USER_HEAP_MAX` or below the heap start: an
    /// error, nothing changed.
    pub fn sbrk<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        increment: i32,
    ) -> Result<u32, Errno> {
        let old = self.brk;
        let new = old as i64 + increment as i64;
        if new < USER_HEAP_START as i64 {
            return Err(Errno::Inval);
        }
        if new > USER_HEAP_START as i64 + USER_HEAP_MAX as i64 {
            return Err(Errno::NoMem);
        }
        let new = new as u32;
        if new < old {
            let from = new.next_multiple_of(PAGE);
            let to = old.next_multiple_of(PAGE);
            for va in (from..to).step_by(PAGE_SIZE) {
                let page = Page::containing_address(VirtAddr(va));
                if mapper.mapping(page).is_some() {
                    let r = self.account(frames, |f| {
                        mapper.unmap_range(VirtAddr(va), PAGE_SIZE, Release::OwnedFrames, f)
                    });
                    debug_assert!(r.is_ok(), "sbrk: unmap of a mapped page failed");
                }
            }
        }
        self.brk = new;
        Ok(old)
    }
}
