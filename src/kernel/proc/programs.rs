//! The user programs: boot modules GRUB loaded (`module2 /boot/progs/NAME NAME`
//! in grub.cfg), found by the name on their command line. There is no file
//! system: a program's bytes are the module's, read through the linear space.

use crate::mm::layout::{KERNEL_BASE, LINEAR_SPACE_SIZE};

/// A program's name and its ELF bytes.
pub struct Program {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

/// Every program GRUB loaded, in grub.cfg order.
pub fn all() -> impl Iterator<Item = Program> {
    crate::kernel::boot::boot_info()
        .modules()
        .iter()
        .filter(|m| m.end > m.start && m.end <= LINEAR_SPACE_SIZE && !m.name.as_str().is_empty())
        .map(|m| Program {
            name: m.name.as_str(),
            // SAFETY: the module's frames are reserved from the PMM (never
            // handed out) and lie in the linear space, which maps them for
            // the kernel's whole life; nothing writes them.
            bytes: unsafe {
                core::slice::from_raw_parts(
                    core::ptr::with_exposed_provenance((m.start + KERNEL_BASE) as usize),
                    (m.end - m.start) as usize,
                )
            },
        })
}

/// The program called `name`.
pub fn find(name: &str) -> Option<Program> {
    all().find(|p| p.name == name)
}
