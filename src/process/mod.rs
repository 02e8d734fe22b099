//! User processes, the pure part: the system-call interface shared with the
//! user library, the ELF loader, one process's user memory (demand paging,
//! `sbrk`, `mmap`, the argument page, user-pointer checks) and the shared
//! regions. The kernel (`kernel::proc`) adds the CPU: ring 3, `int 0x80`,
//! CR3 switches, kernel stacks and the scheduler.
//!
//! ```text
//!   kernel::proc (hardware)   process table, scheduler, syscalls, ring 3
//!        |
//!   process (pure)            abi, elf, memory, share       <- host-tested
//!        |
//!   mm::vm / mm::paging / mm::frame
//! ```

pub mod abi;
pub mod elf;
pub mod memory;
pub mod share;

#[cfg(test)]
mod tests;
