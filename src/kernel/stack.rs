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
//! Stack overflow reports (the double fault, `fault stack`, `fault dfstack`)
//! and the kernel page tables (which leave the guard page out) read the
//! bounds from here.

unsafe extern "C" {
    static boot_stack_guard: [u8; 0];
    static boot_stack_bottom: [u8; 0];
    static boot_stack_top: [u8; 0];
}

/// The boot stack: (guard page start, stack bottom, stack top).
pub fn boot_stack() -> (u32, u32, u32) {
    (
        (&raw const boot_stack_guard).addr() as u32,
        (&raw const boot_stack_bottom).addr() as u32,
        (&raw const boot_stack_top).addr() as u32,
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

/// Stack bytes each call of [`overflow`] takes (at least).
pub const OVERFLOW_FRAME: usize = 1024;

/// Recurse until the stack runs into its guard page (never returns in
/// practice). Each call keeps a buffer of `OVERFLOW_FRAME` bytes alive
/// across the next call (`black_box` and the use after the call stop the
/// optimiser from removing the frame or turning the recursion into a loop).
#[inline(never)]
pub fn overflow(depth: u32) -> u32 {
    let mut frame = [0u8; OVERFLOW_FRAME];
    frame[depth as usize % OVERFLOW_FRAME] = depth as u8;
    core::hint::black_box(&mut frame);
    if depth == u32::MAX {
        return 0;
    }
    let below = overflow(depth + 1);
    below.wrapping_add(frame[(depth as usize * 7) % OVERFLOW_FRAME] as u32)
}

/// The FNV-1a hash of the page at `start` (a mapped kernel address), taken
/// over its 1,024 little-endian words: what `fault dfstack` prints for the
/// page below the double-fault stack's guard, so a test can read the same
/// page after the machine stopped and see that nothing wrote it.
pub fn page_fingerprint(start: u32) -> u32 {
    let mut hash: u32 = 0x811C_9DC5;
    for i in 0..(crate::mm::layout::PAGE_SIZE / 4) as u32 {
        // SAFETY: the caller names a mapped kernel page; a volatile read of
        // one aligned word of it.
        let word = unsafe {
            core::ptr::read_volatile(core::ptr::with_exposed_provenance::<u32>(
                (start + i * 4) as usize,
            ))
        };
        hash = (hash ^ word).wrapping_mul(0x0100_0193);
    }
    hash
}
