//! The one constants module: page geometry and the memory layout.
//!
//! ```text
//!  virtual                     use
//!  0x0000_0000-0x0000_0FFF     never mapped (null guard)
//!  0x0000_1000-0xBFFF_FFFF     user space, one per address space
//!  0xC000_0000-0xEFFF_FFFF     linear space: physical 0..768 MiB at +0xC000_0000
//!                              (kernel image linked at 0xC010_0000, loaded at 1 MiB)
//!  0xF000_0000-0xFFBF_FFFF     kernel heap and other kernel regions, mapped on demand
//!  0xFFC0_0000-0xFFFF_FFFF     recursive mapping: PD[1023] points at the directory
//! ```
//!
//! No other module writes `4096`, `0xB8000` or `0xC000_0000` as a bare number.

/// Bytes in a page and in a frame.
pub const PAGE_SIZE: usize = 4096;
/// log2(PAGE_SIZE): bits of the offset inside a page.
pub const PAGE_SHIFT: u32 = 12;
/// Bytes mapped by one page-directory entry (a 4 MiB page or one page table).
pub const LARGE_PAGE_SIZE: usize = 4 * 1024 * 1024;
/// Shift of the page-directory index in a virtual address (`PDX`).
pub const PDX_SHIFT: u32 = 22;
/// Shift of the page-table index in a virtual address (`PTX`).
pub const PTX_SHIFT: u32 = 12;
/// Entries in a page directory and in a page table.
pub const ENTRIES_PER_TABLE: usize = 1024;

/// Where physical memory starts in the kernel's virtual space (the linear space).
pub const KERNEL_BASE: u32 = 0xC000_0000;
/// Physical bytes mapped by the linear space (768 MiB).
pub const LINEAR_SPACE_SIZE: u32 = 0x3000_0000;
/// End (exclusive) of the linear space in virtual memory.
pub const LINEAR_SPACE_END: u32 = KERNEL_BASE + LINEAR_SPACE_SIZE;
/// Physical address the kernel image is loaded at (1 MiB).
pub const KERNEL_LOAD_ADDR: u32 = 0x0010_0000;
/// Virtual address the kernel image is linked at.
pub const KERNEL_VIRT_ADDR: u32 = KERNEL_BASE + KERNEL_LOAD_ADDR;

/// First address of the on-demand kernel regions (heap and friends).
pub const KERNEL_REGIONS_START: u32 = 0xF000_0000;
/// End (exclusive) of the on-demand kernel regions.
pub const KERNEL_REGIONS_END: u32 = RECURSIVE_BASE;
/// Start of the user part of every address space (page 0 stays unmapped).
pub const USER_START: u32 = PAGE_SIZE as u32;
/// End (exclusive) of user space.
pub const USER_END: u32 = KERNEL_BASE;

/// The page-directory slot that points back at the directory itself.
pub const RECURSIVE_INDEX: usize = 1023;
/// Where the recursive mapping shows the current page tables.
pub const RECURSIVE_BASE: u32 = 0xFFC0_0000;
/// First byte of the kernel heap.
pub const KERNEL_HEAP_START: u32 = KERNEL_REGIONS_START;
/// First byte of the kernel private region (stacks, MMIO).
pub const KERNEL_PRIVATE_START: u32 = 0xF800_0000;
/// First byte of the temporary-mapping window (one page table's worth).
pub const KERNEL_TEMP_MAP_START: u32 = RECURSIVE_BASE - LARGE_PAGE_SIZE as u32;
/// Where the recursive mapping shows the current page directory.
pub const RECURSIVE_DIRECTORY: u32 = 0xFFFF_F000;

// The regions of every address space (`mm::vm::region` names and draws them).
/// First byte of user data (4 MiB: the first table stays empty).
pub const USER_DATA_START: u32 = 0x0040_0000;
/// First byte of the user heap.
pub const USER_HEAP_START: u32 = 0x1000_0000;
/// First byte of the user private mappings.
pub const USER_PRIVATE_START: u32 = 0x6000_0000;
/// First byte of the user shared memory.
pub const USER_SHARE_START: u32 = 0xA000_0000;
/// Lowest byte of the user stack region (the stack grows down from `USER_ARGS_START`).
pub const USER_STACK_START: u32 = 0xB000_0000;
/// First byte of the argument page(s), just above the stack.
pub const USER_ARGS_START: u32 = 0xBFC0_0000;

// The kernel heap inside its region (`kernel::heap` maps and grows it).

/// Bytes of kernel heap mapped at boot; the rest comes through the grow hook.
pub const INITIAL_HEAP: usize = 256 * 1024;
/// The least the kernel heap grows by at a time.
pub const HEAP_GROW_STEP: usize = 64 * 1024;
/// Bytes of address space reserved for the kernel heap (its whole region).
pub const HEAP_ARENA: usize = (KERNEL_PRIVATE_START - KERNEL_HEAP_START) as usize;

/// Physical address of the VGA text buffer.
pub const VGA_TEXT_PHYS: u32 = 0x000B_8000;
/// Memory below this physical address is never handed out (BIOS, VGA, ROMs).
pub const LOW_MEMORY_END: u32 = 0x0010_0000;
/// The least usable RAM Cairn boots with: what a 16 MiB machine has left
/// after the BIOS areas (QEMU's `-m 16M` gives 15.4 MiB). The kernel image,
/// its page tables, the frame allocator's metadata, the kernel heap and the
/// in-kernel tests fit in that; below it the kernel stops and says so.
pub const MIN_USABLE_RAM: u64 = 15 << 20;

const _: () = assert!(1 << PAGE_SHIFT == PAGE_SIZE);
const _: () = assert!(1 << PDX_SHIFT == LARGE_PAGE_SIZE);
const _: () = assert!((KERNEL_BASE as usize).is_multiple_of(LARGE_PAGE_SIZE));
