//! Memory bring-up ([`init`]): the PMM built from the multiboot2 map and
//! the kernel address space built in Rust (replacing the boot page
//! directory), then handed to the memory state. The kernel heap on top of
//! them is `kernel::heap`.
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
//!
//! One file per idea, lowest first:
//!
//! ```text
//!   phys.rs   KernelPhys: any frame through the linear space or the window; Invlpg
//!   image.rs  the kernel image's bounds and sections, from the linker symbols
//!   space.rs  the kernel directory built at boot, section by section
//!   state.rs  Memory, the MEMORY lock: with, try_with
//!   mod.rs    init: the plan, the PMM, the kernel space, the switch
//! ```

mod image;
mod phys;
// course: module 05
mod space;
// course: end
mod state;

pub use image::{image, image_sections};
// course: module 05
pub use phys::Invlpg;
// course: end
pub use phys::KernelPhys;
pub use state::{Memory, try_with, with};
// course: module 06
pub use state::{MappedBy, ProcSpace};
// course: end

use crate::bootinfo::BootInfo;
use crate::kernel::boot;
use crate::kernel::halt::fatal_because;
use crate::mm::addr::VirtAddr;
use crate::mm::frame::{AnyFrameAllocator, PmmChoice, Reservation, ReserveReason};
use crate::mm::layout::{KERNEL_BASE, KERNEL_TEMP_MAP_START};
// course: module 05
use crate::arch::x86;
use crate::arch::x86::gdt;
use crate::kernel::halt::fatal;
// course: end
// course: module 06
use crate::mm::vm::RegionMap;
// course: end

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
    let meta = unsafe {
        core::slice::from_raw_parts_mut(
            core::ptr::with_exposed_provenance_mut(meta_va as usize),
            plan.metadata_bytes(),
        )
    };
    let frames = match AnyFrameAllocator::new(&plan, meta, KernelPhys) {
        Ok(f) => f,
        Err(e) => fatal_because("memory: cannot build the PMM", e),
    };
    let _ = frames.report_reach(&mut crate::kernel::console::Out);

    // The window's table in the boot directory too: frames above 768 MiB can
    // be reached while the kernel directory is built.
    boot::set_boot_pde(VirtAddr(KERNEL_TEMP_MAP_START).pdx(), phys::temp_pde());

    // course: module 05
    let mut frames = frames;
    let kernel = match space::build_kernel_space(info, &mut frames) {
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

    state::install(Memory {
        frames,
        // course: module 05
        kernel,
        // course: end
        // course: module 06
        regions: RegionMap::standard(),
        // course: end
    });
}
