//! The kernel's stacks, as the linker and `boot.s` laid them out, each
//! above a guard page of its own:
//!
//! ```text
//!   boot_stack_guard   boot_stack_bottom                boot_stack_top
//!   [ guard page (never mapped) ][ boot stack, 64 KiB (grows down) <── esp ]
//!   double_fault_stack_guard     double_fault_stack_bottom
//!   [ guard page (never mapped) ][ double-fault stack, 16 KiB (its TSS) ]
//! ```
//!
//! Stack overflow reports (the double fault, `fault stack`) and the kernel
//! page tables (which leave the guard page out) read the bounds from here.

unsafe extern "C" {
    static boot_stack_guard: [u8; 0];
    static boot_stack_bottom: [u8; 0];
    static boot_stack_top: [u8; 0];
}

/// The boot stack: (guard page start, stack bottom, stack top).
pub fn boot_stack() -> (u32, u32, u32) {
    (
        (&raw const boot_stack_guard) as u32,
        (&raw const boot_stack_bottom) as u32,
        (&raw const boot_stack_top) as u32,
    )
}

/// Every kernel stack: (name, guard page start, bottom, top).
pub fn kernel_stacks() -> [(&'static str, u32, u32, u32); 2] {
    let (g, b, t) = boot_stack();
    let (dg, db, dt) = crate::arch::x86::gdt::double_fault_stack();
    [("boot stack", g, b, t), ("double-fault stack", dg, db, dt)]
}

/// A hint about `esp` when a double fault hits: is it at the stack's guard page?
pub fn stack_note(esp: u32) -> Option<&'static str> {
    let (guard, bottom, _) = boot_stack();
    if esp >= guard.saturating_sub(64) && esp < bottom + 64 {
        Some("ESP is at the guard page below the kernel stack: kernel stack overflow")
    } else {
        None
    }
}
