//! Ring 3 and back: the kernel-stack switch between tasks, the first entry
//! of a process into user mode (`iret`), and the copy to and from user
//! memory that survives a fault (an exception-table entry, as the probes).
//!
//! ```text
//!  a new process's kernel stack, as `switch_context` finds it:
//!
//!   top (TSS.esp0) +------------------+
//!                  | ss     = 0x23    |  \
//!                  | esp    = stack   |   |  the iret frame: ring 3,
//!                  | eflags = IF      |   |  user selectors
//!                  | cs     = 0x1B    |   |
//!                  | eip    = entry   |  /
//!                  | ebx    = argv    |  popped by user_entry
//!                  | eax    = argc    |
//!                  | ret -> user_entry|  \
//!                  | ebp ebx esi edi  |  /  popped by switch_context
//!   saved esp ---> +------------------+
//! ```
//!
//! Every later switch saves the same four registers and the return address
//! on the old task's stack, so one routine serves both.

use super::gdt::{USER_CODE, USER_DATA};
use core::arch::global_asm;

global_asm!(
    r#"
.section .text
.global cairn_switch_context
# switch_context(from: *mut u32, to: u32): save callee-saved registers and
# ESP into *from, load ESP from `to`, pop the other task's registers, ret.
cairn_switch_context:
    mov eax, [esp + 4]
    mov edx, [esp + 8]
    push ebp
    push ebx
    push esi
    push edi
    mov [eax], esp
    mov esp, edx
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

.global cairn_user_entry
# The first return of a new process: user data selectors, argc/argv in
# eax/ebx, every other register zero, then iret to ring 3.
cairn_user_entry:
    mov ax, {user_data}
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    pop eax
    pop ebx
    xor ecx, ecx
    xor edx, edx
    xor esi, esi
    xor edi, edi
    xor ebp, ebp
    iretd

.global cairn_copy_bytes
# copy_bytes(dst, src, len) -> 0, or 1 when a fault interrupted the copy.
cairn_copy_bytes:
    push esi
    push edi
    mov edi, [esp + 12]
    mov esi, [esp + 16]
    mov ecx, [esp + 20]
71: rep movsb
    pop edi
    pop esi
    xor eax, eax
    ret
.pushsection .extable, "a"
.long 71b, 72f
.popsection
.pushsection .text.fixup, "ax"
72: pop edi
    pop esi
    mov eax, 1
    ret
.popsection
"#,
    user_data = const USER_DATA.0,
);

unsafe extern "C" {
    fn cairn_switch_context(from: *mut u32, to: u32);
    fn cairn_user_entry();
    fn cairn_copy_bytes(dst: *mut u8, src: *const u8, len: usize) -> u32;
}

/// Save the running task's registers and stack pointer into `*from` and
/// resume the task whose saved stack pointer is `to`. Returns when some
/// task switches back to this one.
///
/// # Safety
/// Interrupts must be off; `to` must be a stack pointer saved by this
/// function or prepared by [`prepare_user_stack`], on a mapped kernel
/// stack; `from` must stay valid until this task is resumed.
pub unsafe fn switch_context(from: *mut u32, to: u32) {
    // SAFETY: forwarded to the caller.
    unsafe { cairn_switch_context(from, to) }
}

/// Lay out a new process's first kernel stack frames below `top` (see the
/// module doc) and return the stack pointer to hand to [`switch_context`].
///
/// # Safety
/// `[top - 64, top)` must be mapped, writable kernel memory used by nothing else.
pub unsafe fn prepare_user_stack(top: u32, entry: u32, user_esp: u32, argc: u32, argv: u32) -> u32 {
    let eflags_if = 1 << 9 | 1 << 1;
    let words = [
        0, // edi
        0, // esi
        0, // ebx
        0, // ebp
        (cairn_user_entry as *const ()).expose_provenance() as u32,
        argc,               // eax
        argv,               // ebx
        entry,              // eip
        USER_CODE.0 as u32, // cs
        eflags_if,          // eflags
        user_esp,           // esp
        USER_DATA.0 as u32, // ss
    ];
    let sp = top - (words.len() * 4) as u32;
    // SAFETY: the caller guarantees the words below `top` are ours to write.
    unsafe {
        core::ptr::copy_nonoverlapping(
            words.as_ptr(),
            core::ptr::with_exposed_provenance_mut(sp as usize),
            words.len(),
        );
    }
    sp
}

/// A copy stopped by a fault (caught through the exception table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyFault;

/// Copy `len` bytes from `src` to `dst`; a page fault in the middle is
/// caught through the exception table and reported as `Err(CopyFault)`
/// (some bytes may have been copied).
///
/// # Safety
/// Both ranges must be memory the kernel may read (`src`) and write (`dst`)
/// if mapped: user pages already checked by the caller, kernel buffers.
pub unsafe fn copy_bytes(dst: *mut u8, src: *const u8, len: usize) -> Result<(), CopyFault> {
    // SAFETY: forwarded to the caller; a fault is redirected to the fixup.
    let r = super::probe::quietly(|| unsafe { cairn_copy_bytes(dst, src, len) });
    if r == 0 { Ok(()) } else { Err(CopyFault) }
}
