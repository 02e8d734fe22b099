//! A checked program mapped into a user address space: each page of a
//! segment a fresh zeroed frame (USER, WRITABLE for data, OWNED), with the
//! file's bytes copied in; the bss is the zero fill past them.

use super::LoadPlan;
use crate::mm::addr::{Page, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, MapError, Mapper, TlbFlush, ZeroFill};
use crate::mm::phys::PhysMemory;

/// Map `plan`'s segments into the user space `mapper` works on, copying
/// their bytes from `data` (the file `plan` checked) into fresh zeroed
/// frames mapped USER (and WRITABLE for data), marked OWNED. On failure some
/// pages may be mapped: the caller destroys the space, which frees them.
pub fn load<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
    plan: &LoadPlan,
    data: &[u8],
    mapper: &mut Mapper<'_, M, T>,
    frames: &mut dyn FrameAllocator,
) -> Result<(), MapError> {
    for s in plan.segments() {
        let flags = if s.writable {
            EntryFlags::USER | EntryFlags::WRITABLE
        } else {
            EntryFlags::USER
        };
        let file = &data[s.offset as usize..(s.offset + s.filesz) as usize];
        for page_va in (s.first_page()..s.end_page()).step_by(PAGE_SIZE) {
            let page = Page::containing_address(VirtAddr(page_va));
            let frame = mapper.map_new(page, flags, ZeroFill::Yes, frames)?;
            // The file bytes that land in this page: [lo, hi) in virtual terms.
            let lo = page_va.max(s.vaddr);
            let hi = (page_va + PAGE_SIZE as u32).min(s.vaddr + s.filesz);
            if lo < hi {
                let src = &file[(lo - s.vaddr) as usize..(hi - s.vaddr) as usize];
                let dst = mapper.mem().frame_ptr(frame);
                // SAFETY: `dst` points at the frame just allocated (PAGE_SIZE
                // bytes) and `lo - page_va + src.len() <= PAGE_SIZE`; nothing
                // else uses the frame yet.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        src.as_ptr(),
                        dst.add((lo - page_va) as usize),
                        src.len(),
                    )
                };
            }
        }
    }
    Ok(())
}
