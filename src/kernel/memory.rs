//! Memory bring-up and the kernel's memory state: the PMM built from the
//! multiboot2 map and the kernel address space built in Rust (replacing the
//! boot page directory). The kernel heap on top of them is `kernel::heap`.
//!
//! ```text
//!   boot PD (4 MiB pages) --init()--> kernel PD (4 KiB tables where it matters)
//!     V0xC0000000 +  0..1 MiB      low memory (VGA ...)        rw
//!     V0xC0100000 +  kernel text, rodata                       r-  (CR0.WP)
//!                    data, bss (guard page below the stack)    rw
//!     V0xC0400000 .. end of RAM (max 768 MiB), 4 MiB pages     rw
//!     V0xF0000000    kernel heap, mapped on demand (grow hook)
//!     V0xFF800000    temporary window for frames above 768 MiB
//!     V0xFFC00000    recursive mapping (PD[1023])
//! ```
//!
//! # Locking
//!
//! One lock, `MEMORY`, guards the PMM, the kernel's page tables and the
//! region map; it is taken with interrupts off ([`with`]), so no handler
//! interrupts its holder. The order, outermost first:
//!
//! ```text
//!   MEMORY  ──►  the kernel heap's lock  ──►  command tables (FALLOCS ...)  ──►  console
//! ```
//!
//! The heap's lock is never held while `MEMORY` is taken: the heap drops it
//! before it calls its grow hook. The hook takes `MEMORY` with
//! [`try_with`], never waiting: on one CPU with interrupts off, a held
//! `MEMORY` means the allocation came from inside [`with`], and waiting
//! would spin for ever. Such a growth fails instead, with
//! `heap::GrowFailure::MemoryLocked` (the allocation is out of memory), so
//! "never allocate while `MEMORY` is held" cannot hang the kernel: an
//! allocation under the lock that fits the heap succeeds, one that needs
//! growth fails with a named error. The in-kernel test
//! `heap_growth_under_the_memory_lock_fails_named` provokes it.

use crate::arch::x86::{self, without_interrupts};
use crate::bootinfo::BootInfo;
use crate::kernel::boot;
use crate::kernel::halt::fatal_because;
use crate::mm::addr::{Frame, PhysAddr, VirtAddr};
use crate::mm::frame::{AnyFrameAllocator, PmmChoice, Reservation, ReserveReason};
use crate::mm::layout::{KERNEL_BASE, KERNEL_TEMP_MAP_START, PAGE_SIZE};
use crate::mm::phys::PhysMemory;
// course: module 05
use crate::arch::x86::gdt;
use crate::kernel::halt::fatal;
use crate::kernel::stack::kernel_stacks;
use crate::mm::addr::Page;
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{KERNEL_HEAP_START, LINEAR_SPACE_SIZE};
use crate::mm::paging::{
    Entry, EntryFlags, FrameUser, KERNEL_PDX, Mapper, NoFlush, PageSize, Scope, TlbFlush,
};
// course: module 06
use crate::mm::vm::{
    self, AddressSpace, Grow, GrowError, Region, RegionMap, ShrinkError, VirtRange,
};
// course: else
// use crate::mm::layout::{ENTRIES_PER_TABLE, RECURSIVE_INDEX};
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
// course: end
// course: module 06
use crate::text::FixedStr;
// course: end
use spin::Mutex;

/// Physical memory as the kernel reaches it: through the linear space, or
/// (above 768 MiB) through a one-page window at `KERNEL_TEMP_MAP_START`.
pub struct KernelPhys;

#[repr(C, align(4096))]
struct TableFrame([u32; 1024]);

/// The page table of the temporary window: in the kernel image, so it is
/// reachable before and after the switch to the kernel directory.
static mut TEMP_TABLE: TableFrame = TableFrame([0; 1024]);

fn temp_table_frame() -> Frame {
    let virt = (&raw const TEMP_TABLE) as u32;
    Frame::containing_address(PhysAddr(virt - KERNEL_BASE))
}

impl PhysMemory for KernelPhys {
    fn frame_ptr(&self, frame: Frame) -> *mut u8 {
        if let Some(v) = frame.start_address().to_linear() {
            return v.0 as *mut u8;
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
        KERNEL_TEMP_MAP_START as *mut u8
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

/// The kernel's memory: frames, its address space, the regions.
pub struct Memory {
    pub frames: AnyFrameAllocator<'static, KernelPhys>,
    // course: module 05
    pub kernel: AddressSpace,
    // course: end
    // course: module 06
    pub regions: RegionMap,
    // course: end
}

// course: module 05
impl Memory {
    /// A mapper over the kernel's (loaded) address space.
    pub fn mapper(&self) -> Mapper<'static, KernelPhys, Invlpg> {
        // SAFETY: the kernel directory is a valid directory; KernelPhys reaches
        // every frame; Invlpg flushes the loaded space, which this one is.
        unsafe { Mapper::new(self.kernel.directory(), Scope::All, &KernelPhys, &Invlpg) }
    }

    /// Map `len` bytes (whole pages) at `at` in the kernel's space to fresh
    /// frames from the PMM, marked owned; on error nothing is mapped. Before
    /// the VMM (module 6) the kernel heap is mapped so, once, at boot.
    pub fn map_fresh(
        &mut self,
        at: VirtAddr,
        len: usize,
        flags: EntryFlags,
    ) -> Result<(), crate::mm::paging::MapError> {
        // course: lab 05
        let zero = crate::mm::paging::ZeroFill::No;
        self.mapper()
            .map_range_sparse(at, len, flags, zero, &mut self.frames)
        // course: stub
        // // Provided for lab 05, not part of it: 4 MiB pages need no page
        // // table, so the heap is mapped even while your walk and map are
        // // stubs: 4 MiB of contiguous frames (4 MiB aligned) per 4 MiB.
        // use crate::mm::layout::LARGE_PAGE_SIZE;
        // use crate::mm::paging::MapError;
        // for i in 0..len.div_ceil(LARGE_PAGE_SIZE) {
        //     let run = (self.frames.allocate_contiguous(1024, 1024)).ok_or(MapError::NoFrames)?;
        //     let va = VirtAddr(at.as_u32() + (i * LARGE_PAGE_SIZE) as u32);
        //     self.mapper().map_large(va, run.start_address(), flags)?;
        // }
        // Ok(())
        // course: end
    }

    // course: module 06
    /// Grow a region of the kernel's space as `req` asks, with frames from
    /// the PMM ([`vm::grow_region`]); on error nothing changed.
    pub fn grow_region(&mut self, req: &Grow) -> Result<usize, GrowError> {
        vm::grow_region(&mut self.mapper(), &self.regions, req, &mut self.frames)
    }

    /// Unmap `range` of `region` and give its frames back to the PMM
    /// ([`vm::shrink_region`]).
    pub fn shrink_region(
        &mut self,
        region: Region,
        range: VirtRange,
    ) -> Result<usize, ShrinkError> {
        vm::shrink_region(
            &mut self.mapper(),
            &self.regions,
            region,
            range,
            &mut self.frames,
        )
    }
    // course: end

    /// A page of the kernel's address space that maps a frame of
    /// `first..first + count`, or `None`. Searched: the user half, the heap
    /// and kernel private (where pages map chosen frames). Not searched: the
    /// linear space, which maps all RAM by design, the temporary window,
    /// which shows any frame for a moment, and the recursive slot. User
    /// processes' spaces: [`find_mapping`](Self::find_mapping).
    pub fn find_user(&self, first: Frame, count: usize) -> Option<FrameUser> {
        let m = self.mapper();
        m.find_user(first, count, 0..KERNEL_PDX).or_else(|| {
            m.find_user(
                first,
                count,
                VirtAddr(KERNEL_HEAP_START).pdx()..VirtAddr(KERNEL_TEMP_MAP_START).pdx(),
            )
        })
    }

    // course: module 06
    /// Who maps a frame of `first..first + count`, and at which page: the
    /// kernel's space first ([`find_user`](Self::find_user)), then the user
    /// half of each space `procs` yields, in order ([`vm::find_user_in_spaces`]).
    /// `None` when no page maps any of them. Changes nothing, no heap.
    pub fn find_mapping(
        &self,
        procs: &mut dyn Iterator<Item = ProcSpace<'_>>,
        first: Frame,
        count: usize,
    ) -> Option<(MappedBy, FrameUser)> {
        if let Some(user) = self.find_user(first, count) {
            return Some((MappedBy::Kernel, user));
        }
        let spaces = procs.map(|p| ((p.pid, FixedStr::from_str_truncated(p.name)), p.space));
        vm::find_user_in_spaces(&KernelPhys, spaces, first, count)
            .map(|((pid, name), user)| (MappedBy::Process { pid, name }, user))
    }
    // course: end
}
// course: end

// course: module 06
/// A process's address space as [`Memory::find_mapping`] searches it.
#[derive(Clone, Copy)]
pub struct ProcSpace<'s> {
    /// The process id.
    pub pid: u32,
    /// The program's name.
    pub name: &'s str,
    /// Its address space (only the user half is searched).
    pub space: &'s AddressSpace,
}

/// Whose address space maps a frame ([`Memory::find_mapping`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MappedBy {
    /// The kernel's own space (user half, heap or kernel private).
    Kernel,
    /// The user half of a process's space.
    Process {
        /// Its pid.
        pid: u32,
        /// Its program's name.
        name: FixedStr<32>,
    },
}
// course: end

/// The kernel's memory, once `init` has run.
static MEMORY: Mutex<Option<Memory>> = Mutex::new(None);

/// Run `f` on the kernel's memory with the lock held and interrupts off.
/// `f` must not allocate from the heap (the grow hook takes this lock).
pub fn with<R>(f: impl FnOnce(&mut Memory) -> R) -> R {
    without_interrupts(|| f(MEMORY.lock().as_mut().expect("memory: used before init")))
}

/// Like [`with`], but `None` when the lock is held (or before `init`)
/// instead of waiting: for fault reports, and for the heap's grow hook,
/// whose caller may be the lock's holder (see "Locking" above).
pub fn try_with<R>(f: impl FnOnce(&mut Memory) -> R) -> Option<R> {
    without_interrupts(|| {
        let mut guard = MEMORY.try_lock()?;
        guard.as_mut().map(f)
    })
}

unsafe extern "C" {
    static __kernel_start: [u8; 0];
    static __text_end: [u8; 0];
    static __rodata_start: [u8; 0];
    static __rodata_end: [u8; 0];
    static __data_start: [u8; 0];
    static __data_end: [u8; 0];
    static __bss_start: [u8; 0];
    static __bss_end: [u8; 0];
    static __kernel_end: [u8; 0];
}

/// Virtual bounds of the kernel image parts: (start, text end, rodata end, end).
pub fn image() -> (u32, u32, u32, u32) {
    (
        (&raw const __kernel_start) as u32,
        ((&raw const __text_end) as u32).next_multiple_of(PAGE_SIZE as u32),
        ((&raw const __rodata_end) as u32).next_multiple_of(PAGE_SIZE as u32),
        ((&raw const __kernel_end) as u32).next_multiple_of(PAGE_SIZE as u32),
    )
}

/// The bytes the loader filled, section by section (virtual, end
/// exclusive): `.text`, `.rodata`, `.data`, `.bss`. Each starts on a page;
/// the padding after each one's end, up to the next page, is no byte of the
/// kernel's, and the loader may put its own data there (GRUB's multiboot2
/// information): the kernel image reserves whole frames, so such a frame is
/// the image's and the loader's both (`FramePlan::shared`).
pub fn image_sections() -> [(&'static str, u32, u32); 4] {
    let at = |p: *const [u8; 0]| p as u32;
    [
        (
            ".text",
            at(&raw const __kernel_start),
            at(&raw const __text_end),
        ),
        (
            ".rodata",
            at(&raw const __rodata_start),
            at(&raw const __rodata_end),
        ),
        (
            ".data",
            at(&raw const __data_start),
            at(&raw const __data_end),
        ),
        (".bss", at(&raw const __bss_start), at(&raw const __bss_end)),
    ]
}

/// Build the PMM and the kernel address space, then switch to it.
/// Stops the kernel with a message when memory cannot be managed.
pub fn init(info: &BootInfo) {
    let (start, _, _, end) = image();
    let mut reservations =
        [Reservation::new(0, 0, ReserveReason::Other("")); 2 + crate::bootinfo::MAX_MODULES];
    reservations[0] = Reservation::new(
        (start - KERNEL_BASE) as u64,
        (end - start) as u64,
        ReserveReason::KernelImage,
    );
    let (mbi_start, mbi_end) = info.info_range;
    reservations[1] = Reservation::new(
        mbi_start as u64,
        (mbi_end - mbi_start) as u64,
        ReserveReason::MultibootInfo,
    );
    let mut n = 2;
    for m in info.modules() {
        reservations[n] = Reservation::new(
            m.start as u64,
            (m.end - m.start) as u64,
            ReserveReason::BootModule,
        );
        n += 1;
    }

    let choice = match info.option("pmm").map(|v| (v, PmmChoice::parse(v))) {
        None => PmmChoice::default(),
        Some((_, Some(c))) => c,
        Some((v, None)) => {
            crate::kernel::console::warn_line(format_args!(
                "memory: pmm={v} is not an allocator (bitmap, buddy, freelist); using buddy"
            ));
            PmmChoice::default()
        }
    };
    let plan = match crate::mm::frame::plan(info.regions(), &reservations[..n], choice) {
        Ok(p) => p,
        Err(e) => fatal_because("memory: cannot plan the PMM", e),
    };
    let meta_va = plan
        .metadata()
        .start_address()
        .to_linear()
        .expect("plan: metadata below 768 MiB")
        .0;
    // SAFETY: the plan put the metadata in free frames below 768 MiB, which
    // the boot directory maps; nothing else uses them.
    let meta =
        unsafe { core::slice::from_raw_parts_mut(meta_va as *mut u8, plan.metadata_bytes()) };
    let frames = match AnyFrameAllocator::new(&plan, meta, KernelPhys) {
        Ok(f) => f,
        Err(e) => fatal_because("memory: cannot build the PMM", e),
    };
    let _ = frames.report_reach(&mut crate::kernel::console::Out);

    // The window's table in the boot directory too: frames above 768 MiB can
    // be reached while the kernel directory is built.
    boot::set_boot_pde(VirtAddr(KERNEL_TEMP_MAP_START).pdx(), temp_pde());

    // course: module 05
    let mut frames = frames;
    let kernel = match build_kernel_space(info, &mut frames) {
        Ok(k) => k,
        Err(e) => fatal(e),
    };
    // SAFETY: the new directory maps the kernel image, its stack, the linear
    // space and the window exactly as the boot directory did.
    unsafe { x86::write_cr3(kernel.cr3().as_u32()) };
    x86::enable_global_pages();
    x86::enable_write_protect(); // kernel text is read-only from here on
    gdt::set_double_fault_cr3(kernel.cr3().as_u32());
    // course: else
    // // Before paging (module 5) the kernel runs on the boot page directory
    // // alone: its 4 MiB pages map the linear space (RAM below 768 MiB); the
    // // window above reaches the rest.
    // course: end

    *MEMORY.lock() = Some(Memory {
        frames,
        // course: module 05
        kernel,
        // course: end
        // course: module 06
        regions: RegionMap::standard(),
        // course: end
    });
}

/// The directory entry of the temporary window's table (its raw bits).
fn temp_pde() -> u32 {
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

// course: module 05

/// Build the kernel directory: low memory, the image by section (text and
/// rodata read-only, the stack guard unmapped), the rest of the linear space
/// with 4 MiB pages, page tables for the whole kernel region, the window.
fn build_kernel_space(
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
// course: end
