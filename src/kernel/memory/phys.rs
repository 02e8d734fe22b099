//! Physical memory as the kernel reaches it ([`KernelPhys`]): frames below
//! 768 MiB through the linear space, any other through a one-page window at
//! `KERNEL_TEMP_MAP_START` whose page table lives in the kernel image; and
//! the TLB hook for the loaded address space ([`Invlpg`]).

use crate::arch::x86;
use crate::mm::addr::{Frame, PhysAddr};
use crate::mm::layout::{KERNEL_BASE, KERNEL_TEMP_MAP_START};
use crate::mm::phys::PhysMemory;
// course: module 05
use crate::mm::addr::Page;
use crate::mm::paging::{Entry, EntryFlags, TlbFlush};
// course: end

/// Physical memory as the kernel reaches it: through the linear space, or
/// (above 768 MiB) through a one-page window at `KERNEL_TEMP_MAP_START`.
pub struct KernelPhys;

#[repr(C, align(4096))]
struct TableFrame([u32; 1024]);

/// The page table of the temporary window: in the kernel image, so it is
/// reachable before and after the switch to the kernel directory.
static mut TEMP_TABLE: TableFrame = TableFrame([0; 1024]);
/// The frame of the window's page table (the image lies at `KERNEL_BASE`
/// plus its physical address).
fn temp_table_frame() -> Frame {
    let virt = (&raw const TEMP_TABLE).addr() as u32;
    Frame::containing_address(PhysAddr(virt - KERNEL_BASE))
}

impl PhysMemory for KernelPhys {
    fn frame_ptr(&self, frame: Frame) -> *mut u8 {
        if let Some(v) = frame.start_address().to_linear() {
            return core::ptr::with_exposed_provenance_mut(v.0 as usize);
        }
        // course: module 05
        let entry = Entry::new(frame, EntryFlags::PRESENT | EntryFlags::WRITABLE).raw();
        // course: else
        // // Before paging (module 5): the entry's bits by hand, present and
        // // writable (bits 0 and 1) over the frame's address.
        // let entry = frame.start_address().as_u32() | 0b11;
        // course: end
        // SAFETY: slot 0 of the window's table maps only the window page; the
        // memory lock serialises its users; invlpg drops the old translation.
        unsafe { TEMP_TABLE.0[0] = entry };
        x86::invlpg(KERNEL_TEMP_MAP_START);
        core::ptr::with_exposed_provenance_mut(KERNEL_TEMP_MAP_START as usize)
    }
}

// course: module 05
/// TLB invalidation for the loaded address space: `invlpg`.
pub struct Invlpg;

impl TlbFlush for Invlpg {
    fn flush_page(&self, page: Page) {
        x86::invlpg(page.start_address().as_u32());
    }
}
// course: end

/// The directory entry of the temporary window's table (its raw bits).
pub(crate) fn temp_pde() -> u32 {
    // course: module 05
    Entry::new(
        temp_table_frame(),
        EntryFlags::PRESENT | EntryFlags::WRITABLE,
    )
    .raw()
    // course: else
    // temp_table_frame().start_address().as_u32() | 0b11 // present, writable
    // course: end
}
