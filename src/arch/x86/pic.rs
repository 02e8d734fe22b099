//! The two 8259 programmable interrupt controllers, written on `x86::io`
//! (the pic8259 crate does not build for i686).
//!
//! ```text
//!   IRQ 0..7  -> master (ports 0x20/0x21) -> vectors 32..39
//!   IRQ 8..15 -> slave  (ports 0xA0/0xA1) -> vectors 40..47, cascaded on IRQ 2
//! ```
//!
//! A spurious IRQ 7 (or 15) shows no bit in the in-service register: it gets
//! no EOI from its own PIC (a spurious 15 still owes the master one).

use super::{inb, io_wait, outb};

const MASTER_COMMAND: u16 = 0x20;
const MASTER_DATA: u16 = 0x21;
const SLAVE_COMMAND: u16 = 0xA0;
const SLAVE_DATA: u16 = 0xA1;

const ICW1_INIT_WITH_ICW4: u8 = 0x11;
const ICW4_8086: u8 = 0x01;
const OCW3_READ_ISR: u8 = 0x0B;
const EOI: u8 = 0x20;

/// Remap the PICs to vectors `offset..offset + 16` and mask every line.
pub fn init(offset: u8) {
    // SAFETY: the standard 8259 initialisation sequence on the PC's fixed ports.
    unsafe {
        outb(MASTER_COMMAND, ICW1_INIT_WITH_ICW4);
        io_wait();
        outb(SLAVE_COMMAND, ICW1_INIT_WITH_ICW4);
        io_wait();
        outb(MASTER_DATA, offset); // ICW2: vector offset
        io_wait();
        outb(SLAVE_DATA, offset + 8);
        io_wait();
        outb(MASTER_DATA, 4); // ICW3: slave on IRQ 2
        io_wait();
        outb(SLAVE_DATA, 2); // ICW3: cascade identity
        io_wait();
        outb(MASTER_DATA, ICW4_8086);
        io_wait();
        outb(SLAVE_DATA, ICW4_8086);
        io_wait();
        outb(MASTER_DATA, 0xFF);
        outb(SLAVE_DATA, 0xFF);
    }
}

/// Let IRQ `irq` (0..15) through; unmasking a slave line also unmasks IRQ 2.
pub fn unmask(irq: u8) {
    // SAFETY: reading and writing the interrupt mask registers.
    unsafe {
        if irq < 8 {
            outb(MASTER_DATA, inb(MASTER_DATA) & !(1 << irq));
        } else {
            outb(SLAVE_DATA, inb(SLAVE_DATA) & !(1 << (irq - 8)));
            outb(MASTER_DATA, inb(MASTER_DATA) & !(1 << 2));
        }
    }
}

/// The in-service registers of both PICs (slave in the high byte).
fn in_service() -> u16 {
    // SAFETY: OCW3 selects the ISR for the next read of the command port.
    unsafe {
        outb(MASTER_COMMAND, OCW3_READ_ISR);
        outb(SLAVE_COMMAND, OCW3_READ_ISR);
        (inb(SLAVE_COMMAND) as u16) << 8 | inb(MASTER_COMMAND) as u16
    }
}

/// True when IRQ 7 or 15 fired without being in service (spurious). A
/// spurious IRQ 15 still sends the master its EOI for the cascade line.
pub fn is_spurious(irq: u8) -> bool {
    if irq != 7 && irq != 15 {
        return false;
    }
    if in_service() & (1 << irq) != 0 {
        return false;
    }
    if irq == 15 {
        // SAFETY: EOI to the master for the cascade (IRQ 2) it did deliver.
        unsafe { outb(MASTER_COMMAND, EOI) };
    }
    SPURIOUS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    true
}

/// Spurious interrupts seen so far.
pub static SPURIOUS: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// Acknowledge IRQ `irq` so the PIC delivers the next one.
pub fn end_of_interrupt(irq: u8) {
    // SAFETY: writing EOI to the PIC(s) that delivered the IRQ.
    unsafe {
        if irq >= 8 {
            outb(SLAVE_COMMAND, EOI);
        }
        outb(MASTER_COMMAND, EOI);
    }
}
