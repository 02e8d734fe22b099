//! 32-bit x86: the only home of privileged instructions (xv6's `x86.h`).
//!
//! Port I/O, control registers, `lgdt`/`lidt`/`ltr` and the TLB come from the
//! `x86` crate; what it lacks (`hlt`, `cli`/`sti`, segment reloads, the probes
//! that may fault on purpose) is written here with `asm!`. Nothing outside this
//! module uses `asm!`.

pub mod gdt;
pub mod idt;
pub mod pic;
pub mod pit;
pub mod probe;
pub mod usermode;

use core::arch::asm;

/// Read a byte from an I/O port.
///
/// # Safety
/// The caller must know that reading `port` has no unwanted side effect.
pub unsafe fn inb(port: u16) -> u8 {
    // SAFETY: forwarded to the caller.
    unsafe { x86::io::inb(port) }
}

/// Write a byte to an I/O port.
///
/// # Safety
/// The caller must know what the device at `port` does with the byte.
pub unsafe fn outb(port: u16, value: u8) {
    // SAFETY: forwarded to the caller.
    unsafe { x86::io::outb(port, value) }
}

/// Write a 32-bit value to an I/O port.
///
/// # Safety
/// The caller must know what the device at `port` does with the value.
pub unsafe fn outl(port: u16, value: u32) {
    // SAFETY: forwarded to the caller.
    unsafe { x86::io::outl(port, value) }
}

/// Write a 16-bit value to an I/O port.
///
/// # Safety
/// The caller must know what the device at `port` does with the value.
pub unsafe fn outw(port: u16, value: u16) {
    // SAFETY: forwarded to the caller.
    unsafe { x86::io::outw(port, value) }
}

/// Wait a moment for slow ISA devices (a write to the unused port 0x80).
pub fn io_wait() {
    // SAFETY: port 0x80 is the POST diagnostic port; writing it has no effect.
    unsafe { x86::io::outb(0x80, 0) }
}

/// Halt until the next interrupt.
pub fn hlt() {
    // SAFETY: hlt only waits; an interrupt resumes execution.
    unsafe { asm!("hlt", options(nomem, nostack, preserves_flags)) }
}

/// Enable interrupts and halt in one step, so an interrupt that arrives
/// between the two cannot be missed (`sti` takes effect after `hlt` starts).
pub fn enable_interrupts_and_hlt() {
    // SAFETY: the IDT is loaded before the first call (init order).
    unsafe { asm!("sti; hlt", options(nomem, nostack)) }
}

/// Enable maskable interrupts.
pub fn enable_interrupts() {
    // SAFETY: the IDT and PIC are set up before the first call (init order).
    unsafe { asm!("sti", options(nomem, nostack)) }
}

/// Disable maskable interrupts.
pub fn disable_interrupts() {
    // SAFETY: cli only masks interrupts.
    unsafe { asm!("cli", options(nomem, nostack)) }
}

/// True when maskable interrupts are enabled (EFLAGS.IF).
pub fn interrupts_enabled() -> bool {
    let flags: u32;
    // SAFETY: reading EFLAGS has no side effect.
    unsafe { asm!("pushfd; pop {}", out(reg) flags, options(nomem, preserves_flags)) }
    flags & (1 << 9) != 0
}

/// Run `f` with interrupts disabled, restoring the previous state afterwards.
/// Locks shared with interrupt handlers are taken inside this.
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    let was_enabled = interrupts_enabled();
    if was_enabled {
        disable_interrupts();
    }
    let r = f();
    if was_enabled {
        enable_interrupts();
    }
    r
}

/// Stop this CPU for good: interrupts off, halt forever.
pub fn halt_forever() -> ! {
    loop {
        disable_interrupts();
        hlt();
    }
}

/// Control register 0 (PE, WP, PG ...).
pub fn cr0() -> u32 {
    // SAFETY: reading CR0 has no side effect.
    unsafe { x86::controlregs::cr0().bits() as u32 }
}

/// Set CR0.WP so ring 0 honours read-only pages.
pub fn enable_write_protect() {
    // SAFETY: setting WP only makes writes to read-only pages fault.
    unsafe {
        let cr0 = x86::controlregs::cr0() | x86::controlregs::Cr0::CR0_WRITE_PROTECT;
        x86::controlregs::cr0_write(cr0);
    }
}

/// Control register 2: the linear address of the last page fault.
pub fn cr2() -> u32 {
    // SAFETY: reading CR2 has no side effect.
    unsafe { x86::controlregs::cr2() as u32 }
}

/// Control register 3: the physical address of the current page directory.
pub fn cr3() -> u32 {
    // SAFETY: reading CR3 has no side effect.
    unsafe { x86::controlregs::cr3() as u32 }
}

/// Control register 4 (PSE, PGE ...).
pub fn cr4() -> u32 {
    // SAFETY: reading CR4 has no side effect.
    unsafe { x86::controlregs::cr4().bits() as u32 }
}

/// Switch to the page directory at physical address `pd` (flushes the TLB).
///
/// # Safety
/// `pd` must be a valid page directory that maps the running code, its stack
/// and everything the kernel touches next.
pub unsafe fn write_cr3(pd: u32) {
    // SAFETY: forwarded to the caller.
    unsafe { x86::controlregs::cr3_write(pd as u64) }
}

/// Set CR4.PGE so global pages survive CR3 switches.
pub fn enable_global_pages() {
    // SAFETY: PGE only changes how the TLB keeps entries marked global.
    unsafe {
        let cr4 = x86::controlregs::cr4() | x86::controlregs::Cr4::CR4_ENABLE_GLOBAL_PAGES;
        x86::controlregs::cr4_write(cr4);
    }
}

/// Drop the TLB entry for one virtual address (`invlpg`).
pub fn invlpg(vaddr: u32) {
    // SAFETY: invalidating a TLB entry is always safe.
    unsafe { x86::tlb::flush(vaddr as usize) }
}

/// Drop every non-global TLB entry (reload CR3).
pub fn flush_tlb() {
    // SAFETY: reloading CR3 with its own value keeps the same mappings.
    unsafe { x86::tlb::flush_all() }
}

/// The current stack pointer.
pub fn esp() -> u32 {
    let esp: u32;
    // SAFETY: reading ESP has no side effect.
    unsafe { asm!("mov {}, esp", out(reg) esp, options(nomem, nostack, preserves_flags)) }
    esp
}

/// Read the time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc is unprivileged and has no side effect.
    unsafe { core::arch::x86::_rdtsc() }
}

/// Leave QEMU through the `isa-debug-exit` device (iobase 0xf4); QEMU exits
/// with status `(code << 1) | 1`. Outside QEMU the write does nothing.
pub fn qemu_exit(code: u32) -> ! {
    // SAFETY: port 0xf4 is the isa-debug-exit device in Cairn's QEMU set-up.
    unsafe { outl(0xf4, code) };
    halt_forever()
}

/// Power QEMU off through the ACPI PM1a control port of its PIIX4 (and the
/// older Bochs/QEMU port), then halt if nothing happened.
pub fn power_off() -> ! {
    // SAFETY: 0x604 is QEMU's PIIX4 PM1a_CNT (SLP_EN | SLP_TYP 0); 0xB004 the
    // Bochs/old QEMU shutdown port. Both only power the machine off.
    unsafe {
        outw(0x604, 0x2000);
        outw(0xB004, 0x2000);
    }
    halt_forever()
}

/// Reset the machine through the keyboard controller (pulse the reset line).
pub fn reboot() -> ! {
    disable_interrupts();
    // SAFETY: 0x64 is the 8042 command port; 0xFE pulses the CPU reset line.
    unsafe {
        while inb(0x64) & 2 != 0 {}
        outb(0x64, 0xFE);
    }
    halt_forever()
}
