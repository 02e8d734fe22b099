//! The kernel's address space, built in Rust at boot: low memory, the
//! image by section (text and rodata read-only, the stack guards unmapped),
//! the rest of the linear space in 4 MiB pages, page tables for the whole
//! kernel region, and the window's table.

use super::image::image;
use super::phys::{KernelPhys, temp_pde};
use crate::bootinfo::BootInfo;
use crate::kernel::stack::kernel_stacks;
use crate::mm::addr::{PhysAddr, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{
    KERNEL_BASE, KERNEL_HEAP_START, KERNEL_TEMP_MAP_START, LINEAR_SPACE_SIZE, PAGE_SIZE,
};
use crate::mm::paging::{EntryFlags, Mapper, NoFlush, PageSize, Scope};
use crate::mm::phys::PhysMemory;
// course: module 06
use crate::mm::vm::AddressSpace;
// course: else
// use crate::mm::addr::Frame;
// use crate::mm::layout::{ENTRIES_PER_TABLE, RECURSIVE_INDEX};
// use crate::mm::paging::Entry;
//
// /// Before virtual memory (module 6), the kernel's address space is its page
// /// directory alone: a fresh frame, empty but for the recursive slot.
// pub struct AddressSpace(Frame);
//
// impl AddressSpace {
//     fn new_kernel(mem: &KernelPhys, frames: &mut dyn FrameAllocator) -> Result<Self, ()> {
//         let directory = frames.allocate().ok_or(())?;
//         let pd = mem.frame_ptr(directory) as *mut u32;
//         let recursive = Entry::new(directory, EntryFlags::PRESENT | EntryFlags::WRITABLE);
//         // SAFETY: a fresh frame of 1024 entries, reached through the linear space.
//         unsafe {
//             core::ptr::write_bytes(pd, 0, ENTRIES_PER_TABLE);
//             pd.add(RECURSIVE_INDEX).write(recursive.raw());
//         }
//         Ok(AddressSpace(directory))
//     }
//     /// The page directory's frame.
//     pub fn directory(&self) -> Frame {
//         self.0
//     }
//     /// The value CR3 takes to switch to it.
//     pub fn cr3(&self) -> PhysAddr {
//         self.0.start_address()
//     }
// }
// course: end

/// Build the kernel directory: low memory, the image by section (text and
/// rodata read-only, the stack guard unmapped), the rest of the linear space
/// with 4 MiB pages, page tables for the whole kernel region, the window.
pub(crate) fn build_kernel_space(
    info: &BootInfo,
    frames: &mut dyn FrameAllocator,
) -> Result<AddressSpace, &'static str> {
    let mem = &KernelPhys;
    let kernel = AddressSpace::new_kernel(mem, frames)
        .map_err(|_| "memory: no frame for the kernel directory")?;
    // SAFETY: a fresh, valid directory; it is not loaded yet, so no flush is needed.
    let mut m = unsafe { Mapper::new(kernel.directory(), Scope::All, mem, &NoFlush) };
    let rw = EntryFlags::WRITABLE | EntryFlags::GLOBAL;
    // course: lab 05
    let ro = EntryFlags::GLOBAL;
    let (start, text_end, rodata_end, end) = image();
    // The guard pages below the kernel stacks stay unmapped.
    let [(_, guard, _, _), (_, df_guard, _, _)] = kernel_stacks();
    debug_assert!(guard < df_guard);
    let lin = |va: u32| PhysAddr(va - KERNEL_BASE);
    let mut map = |va: u32, to: u32, flags: EntryFlags, frames: &mut dyn FrameAllocator| {
        if to > va {
            m.map_range_contiguous(VirtAddr(va), lin(va), (to - va) as usize, flags, frames)
                .map_err(|_| "memory: cannot map the kernel image")
        } else {
            Ok(())
        }
    };
    // Physical page 0 stays unmapped in the linear space too.
    map(KERNEL_BASE + PAGE_SIZE as u32, start, rw, frames)?;
    map(start, text_end, ro, frames)?;
    map(text_end, rodata_end, ro, frames)?;
    map(rodata_end, guard, rw, frames)?;
    map(guard + PAGE_SIZE as u32, df_guard, rw, frames)?;
    map(df_guard + PAGE_SIZE as u32, end, rw, frames)?;
    let four_mib = KERNEL_BASE + crate::mm::layout::LARGE_PAGE_SIZE as u32;
    map(end, four_mib, rw, frames)?;
    let ram_top = info
        .regions()
        .iter()
        .filter(|r| r.kind == crate::mm::frame::MemoryKind::Available)
        .map(|r| r.end())
        .max()
        .unwrap_or(0)
        .min(LINEAR_SPACE_SIZE as u64) as u32
        & !(PAGE_SIZE as u32 - 1);
    let low = four_mib - KERNEL_BASE;
    if ram_top > low {
        m.map_linear(
            PhysAddr(low),
            (ram_top - low) as usize,
            rw,
            PageSize::Large,
            frames,
        )
        .map_err(|_| "memory: cannot map the linear space")?;
    }
    let regions_len = (KERNEL_TEMP_MAP_START - KERNEL_HEAP_START) as usize;
    m.prepare_tables(VirtAddr(KERNEL_HEAP_START), regions_len, frames)
        .map_err(|_| "memory: no frames for the kernel page tables")?;
    // course: stub
    // // Provided for lab 05, not part of it: until your walk and map work,
    // // the kernel maps itself with 4 MiB pages alone, which need no page
    // // table: the linear space from physical 0 to the top of RAM, all of
    // // it writable. So on this branch the kernel text is not read-only,
    // // and the stack guard pages and physical page 0 are mapped.
    // let _ = (image, kernel_stacks, PageSize::Large, KERNEL_HEAP_START, PAGE_SIZE);
    // let large = crate::mm::layout::LARGE_PAGE_SIZE as u32;
    // let top = info
    //     .regions()
    //     .iter()
    //     .filter(|r| r.kind == crate::mm::frame::MemoryKind::Available)
    //     .map(|r| r.end())
    //     .max()
    //     .unwrap_or(0)
    //     .min(LINEAR_SPACE_SIZE as u64) as u32;
    // for pa in (0..top.max(large)).step_by(large as usize) {
    //     m.map_large(VirtAddr(KERNEL_BASE + pa), PhysAddr(pa), rw)
    //         .map_err(|_| "memory: cannot map the linear space")?;
    // }
    // course: end
    let pd = mem.frame_ptr(kernel.directory()) as *mut u32;
    // SAFETY: the directory frame is reachable through KernelPhys and the
    // window's slot is inside it.
    unsafe {
        pd.add(VirtAddr(KERNEL_TEMP_MAP_START).pdx())
            .write(temp_pde())
    };
    Ok(kernel)
}
