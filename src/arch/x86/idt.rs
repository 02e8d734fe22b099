//! The interrupt descriptor table and the one Rust entry point of every interrupt.
//!
//! ```text
//!  vector  0..31   CPU exceptions   -> the exception handler the kernel installs
//!          8       double fault     -> a task gate: its own TSS and stack
//!         32..47   IRQ 0..15 (PIC)  -> the IRQ handlers the kernel installs
//!        128       system call      -> `int 0x80`, a DPL-3 gate user mode may use
//!         48..255  otherwise not present (using one raises #NP or #GP, reported)
//! ```
//!
//! Entry: `asm/interrupts.s` saves the registers ([`InterruptFrame`]) and calls
//! `interrupt_dispatch`, which routes by vector. Handlers run with interrupts
//! off and must not block or allocate.

use super::gdt;
use super::pic;
pub use crate::exception::InterruptFrame;
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Mutex;

/// Vector of IRQ 0 after the PIC remap.
pub const IRQ_BASE: u8 = 32;
/// Stubs in `asm/interrupts.s`.
const STUBS: usize = 48;

unsafe extern "C" {
    static isr_table: [u32; STUBS];
    // course: module 08
    static isr_syscall: u32;
    // course: end
}

// course: module 08
/// The system-call vector (`int 0x80`).
pub const SYSCALL_VECTOR: u8 = crate::process::abi::SYSCALL_VECTOR;
// course: end

/// One 8-byte IDT gate.
#[derive(Clone, Copy)]
#[repr(C)]
struct Gate(u64);

impl Gate {
    const MISSING: Gate = Gate(0);

    /// A 32-bit interrupt gate (IF cleared on entry) to `handler` in the kernel code segment.
    fn interrupt(handler: u32, dpl: u8) -> Gate {
        let present_type = 0x80 | ((dpl as u64 & 3) << 5) | 0xE;
        Gate(
            (handler as u64 & 0xFFFF)
                | ((gdt::KERNEL_CODE.0 as u64) << 16)
                | (present_type << 40)
                | ((handler as u64 >> 16) << 48),
        )
    }

    /// A task gate that switches to the task of `tss`.
    fn task(tss: u16) -> Gate {
        Gate(((tss as u64) << 16) | ((0x80u64 | 0x5) << 40))
    }
}

static IDT: Mutex<[Gate; 256]> = Mutex::new([Gate::MISSING; 256]);

/// The kernel's handlers, stored as function addresses (0 = none).
static EXCEPTION_HANDLER: AtomicUsize = AtomicUsize::new(0);
static IRQ_HANDLERS: [AtomicUsize; 16] = [const { AtomicUsize::new(0) }; 16];
// course: module 08
static SYSCALL_HANDLER: AtomicUsize = AtomicUsize::new(0);
static USER_RETURN_HOOK: AtomicUsize = AtomicUsize::new(0);
// course: end

/// Fill and load the IDT: gates for the 48 stubs, a task gate for #DF.
pub fn init() {
    let mut idt = IDT.lock();
    for (vector, gate) in idt.iter_mut().enumerate().take(STUBS) {
        // SAFETY: isr_table is a read-only table of 48 addresses in .rodata.
        let stub = unsafe { isr_table[vector] };
        // int3 may be used from ring 3 later (debuggers); everything else is ring 0 only.
        let dpl = if vector == 3 { 3 } else { 0 };
        *gate = Gate::interrupt(stub, dpl);
    }
    idt[8] = Gate::task(gdt::DOUBLE_FAULT_TSS.0);
    // course: module 08
    // SAFETY: isr_syscall is a read-only word in .rodata holding the stub's address.
    idt[SYSCALL_VECTOR as usize] = Gate::interrupt(unsafe { isr_syscall }, 3);
    // course: end
    let pointer = x86::dtables::DescriptorTablePointer::new_from_slice(&idt[..]);
    // SAFETY: the table lives in a static and every present gate points at a stub.
    unsafe { x86::dtables::lidt(&pointer) };
}

/// Route CPU exceptions (vectors 0..31, except the double fault) to `handler`.
pub fn set_exception_handler(handler: fn(&mut InterruptFrame)) {
    EXCEPTION_HANDLER.store(handler as usize, Ordering::Release);
}

/// Route IRQ `irq` (0..15) to `handler`. The PIC gets its EOI after it returns.
pub fn set_irq_handler(irq: u8, handler: fn()) {
    IRQ_HANDLERS[irq as usize].store(handler as usize, Ordering::Release);
}

// course: module 08
/// Route `int 0x80` to `handler` (arguments and answer in the frame's registers).
pub fn set_syscall_handler(handler: fn(&mut InterruptFrame)) {
    SYSCALL_HANDLER.store(handler as usize, Ordering::Release);
}

/// Call `hook` at the end of every interrupt, exception or system call that
/// came from ring 3, just before the return to user mode (the scheduler
/// switches processes there).
pub fn set_user_return_hook(hook: fn(&mut InterruptFrame)) {
    USER_RETURN_HOOK.store(hook as usize, Ordering::Release);
}
// course: end

/// Called by `isr_common` for every interrupt with the saved registers.
#[unsafe(no_mangle)]
extern "C" fn interrupt_dispatch(frame: &mut InterruptFrame) {
    dispatch(frame);
    // course: module 08
    if frame.from_user() {
        let h = USER_RETURN_HOOK.load(Ordering::Acquire);
        if h != 0 {
            // SAFETY: only set_user_return_hook stores here, from a fn(&mut InterruptFrame).
            let hook: fn(&mut InterruptFrame) = unsafe { core::mem::transmute(h) };
            hook(frame);
        }
    }
    // course: end
}

fn dispatch(frame: &mut InterruptFrame) {
    let vector = frame.vector;
    // course: module 08
    if vector == SYSCALL_VECTOR as u32 {
        let h = SYSCALL_HANDLER.load(Ordering::Acquire);
        if h == 0 {
            frame.eax = crate::process::abi::Errno::NoSys.to_return() as u32;
            return;
        }
        // SAFETY: only set_syscall_handler stores here, from a fn(&mut InterruptFrame).
        let handler: fn(&mut InterruptFrame) = unsafe { core::mem::transmute(h) };
        handler(frame);
        return;
    }
    // course: end
    if vector < IRQ_BASE as u32 {
        let h = EXCEPTION_HANDLER.load(Ordering::Acquire);
        if h == 0 {
            super::halt_forever();
        }
        // SAFETY: only set_exception_handler stores here, from a fn(&mut InterruptFrame).
        let handler: fn(&mut InterruptFrame) = unsafe { core::mem::transmute(h) };
        handler(frame);
        return;
    }
    let irq = (vector - IRQ_BASE as u32) as u8;
    if pic::is_spurious(irq) {
        return;
    }
    let h = IRQ_HANDLERS[irq as usize].load(Ordering::Acquire);
    if h != 0 {
        // SAFETY: only set_irq_handler stores here, from a fn().
        let handler: fn() = unsafe { core::mem::transmute(h) };
        handler();
    }
    pic::end_of_interrupt(irq);
}

/// Decoded IDT entries for the `idt` command: (vector, kind, selector, handler or TSS).
pub fn entries() -> impl Iterator<Item = (usize, &'static str, u16, u32)> {
    let idt = *IDT.lock();
    (0..256).filter_map(move |v| {
        let g = idt[v].0;
        if g & (1 << 47) == 0 {
            return None;
        }
        let selector = (g >> 16) as u16;
        let offset = ((g & 0xFFFF) | ((g >> 48) << 16)) as u32;
        let kind = match (g >> 40) & 0xF {
            0x5 => "task gate",
            0xE => "interrupt gate",
            0xF => "trap gate",
            _ => "other",
        };
        Some((v, kind, selector, offset))
    })
}
