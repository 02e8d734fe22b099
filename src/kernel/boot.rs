//! The boot information: read once from the multiboot2 structure into a
//! [`BootInfo`], kept for the whole run, and the boot page directory the
//! loader's code left in CR3.
//!
//! ```text
//!   EBX ──► multiboot2 tags ──read()──► BootInfo ──keep()──► boot_info()
//! ```

use crate::bootinfo::{BootInfo, FixedStr, MemoryKind, MemoryRegion, Module};
use crate::kernel::console;
use crate::mm::layout::{KERNEL_BASE, LINEAR_SPACE_SIZE};
use crate::println;
use multiboot2::{BootInformation, BootInformationHeader};
use spin::Once;

/// What the boot loader said, kept for the whole run.
static BOOT_INFO: Once<BootInfo> = Once::new();

/// Keep `info` for the whole run (the first call wins) and return it.
pub fn keep(info: BootInfo) -> &'static BootInfo {
    BOOT_INFO.call_once(|| info)
}

/// The boot information (empty before [`keep`] has run).
pub fn boot_info() -> &'static BootInfo {
    static EMPTY: BootInfo = BootInfo::empty();
    BOOT_INFO.get().unwrap_or(&EMPTY)
}

/// The value GRUB leaves in EAX for a multiboot2 kernel.
pub const MULTIBOOT2_MAGIC: u32 = 0x36D7_6289;

/// Copy what Cairn needs out of the boot information at physical `info_phys`.
/// A wrong magic or an unreadable structure is reported and gives an empty
/// [`BootInfo`]; missing tags are reported one by one.
///
/// # Safety
/// `info_phys` must be what the loader passed in EBX; the boot page
/// directory's linear space must map it.
pub unsafe fn read(magic: u32, info_phys: u32) -> BootInfo {
    let mut info = BootInfo::empty();
    if magic != MULTIBOOT2_MAGIC {
        console::warn_line(format_args!(
            "boot: wrong multiboot2 magic {magic:#010x} (expected {MULTIBOOT2_MAGIC:#010x}): \
             not started by a multiboot2 loader; going on without boot information"
        ));
        return info;
    }
    if info_phys >= LINEAR_SPACE_SIZE {
        console::warn_line(format_args!(
            "boot: boot information at {info_phys:#x} lies outside the linear space; ignored"
        ));
        return info;
    }
    let ptr: *const BootInformationHeader =
        core::ptr::with_exposed_provenance((info_phys + KERNEL_BASE) as usize);
    // SAFETY: the loader put a multiboot2 structure there (magic checked) and
    // the linear space maps it.
    let mbi = match unsafe { BootInformation::load(ptr) } {
        Ok(mbi) => mbi,
        Err(e) => {
            console::warn_line(format_args!(
                "boot: the boot information is not valid ({e:?}); going on without it"
            ));
            return info;
        }
    };
    info.info_range = (info_phys, info_phys + mbi.total_size() as u32);
    match mbi.boot_loader_name_tag().map(|t| t.name()) {
        Some(Ok(name)) => info.loader = Some(FixedStr::from_str_truncated(name)),
        _ => console::warn_line(format_args!("boot: no boot loader name tag")),
    }
    match mbi.command_line_tag().map(|t| t.cmdline()) {
        Some(Ok(line)) => info.cmdline = Some(FixedStr::from_str_truncated(line)),
        _ => console::warn_line(format_args!("boot: no command line tag")),
    }
    match mbi.memory_map_tag() {
        Some(tag) => {
            for area in tag.memory_areas() {
                let typ: u32 = area.typ().val();
                info.push_region(MemoryRegion {
                    start: area.start_address(),
                    len: area.size(),
                    kind: MemoryKind::from_multiboot(typ),
                });
            }
        }
        None => console::error_line(format_args!(
            "boot: no memory map tag: memory cannot be managed without one"
        )),
    }
    for module in mbi.module_tags() {
        info.push_module(Module {
            start: module.start_address(),
            end: module.end_address(),
            name: FixedStr::from_str_truncated(module.cmdline().unwrap_or("").trim()),
        });
    }
    info
}

/// Print the boot banner: loader, command line, memory map.
pub fn print_summary(info: &BootInfo) {
    println!(
        "boot loader: {}",
        info.loader
            .as_ref()
            .map(|s| s.as_str())
            .unwrap_or("(unknown)")
    );
    println!(
        "command line: {}",
        info.cmdline
            .as_ref()
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .unwrap_or("(empty)")
    );
    let _ = info.write_memory_map(&mut crate::kernel::console::Out);
}

unsafe extern "C" {
    static mut boot_page_directory: [u32; 1024];
}

/// Remove the boot directory's identity mapping of the first 4 MiB: from
/// here on, low addresses (null above all) fault.
pub fn drop_identity_mapping() {
    // SAFETY: the kernel runs in the higher half now; nothing uses PD[0].
    unsafe { boot_page_directory[0] = 0 };
    crate::arch::x86::flush_tlb();
}

/// Set entry `index` of the boot page directory (before the kernel's own).
pub fn set_boot_pde(index: usize, value: u32) {
    // SAFETY: the boot directory is the one in CR3 until the kernel's takes
    // over; adding an entry does not change existing translations.
    unsafe { boot_page_directory[index] = value };
    crate::arch::x86::flush_tlb();
}
