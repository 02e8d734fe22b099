//! COM1 at 115200 baud, 8N1, through the uart_16550 crate; received bytes
//! raise IRQ 4 and become keys. When the kernel's input queue is nearly full
//! the receive interrupt is switched off: bytes then wait in the UART (and
//! in the sender, which the full UART holds back) instead of being lost.

use crate::arch::x86::outb;
use crate::term::ColorFilter;
use core::fmt;
use uart_16550::SerialPort;

/// COM1's I/O base.
pub const COM1: u16 = 0x3F8;

/// The serial port and its line settings.
pub struct Serial {
    port: SerialPort,
    plain: bool,
    filter: ColorFilter,
}

impl Serial {
    /// COM1, not yet initialised.
    pub const fn com1() -> Serial {
        // SAFETY: 0x3F8 is COM1 on every PC and on QEMU's machine.
        Serial {
            port: unsafe { SerialPort::new(COM1) },
            plain: false,
            filter: ColorFilter::new(),
        }
    }

    /// Initialise: 8N1 with FIFOs and receive interrupts (the crate's set-up),
    /// then the divisor for 115200 baud.
    pub fn init(&mut self) {
        self.port.init();
        // SAFETY: COM1's line-control (base+3) and divisor latch (base+0/1 with DLAB).
        unsafe {
            outb(COM1 + 3, 0x80); // DLAB on
            outb(COM1, 1); // divisor 1 = 115200 baud
            outb(COM1 + 1, 0);
            outb(COM1 + 3, 0x03); // DLAB off, 8 bits, no parity, one stop bit
            outb(COM1 + 1, 0x01); // interrupt on received data
        }
    }

    /// Receive interrupts on (bytes become keys) or off (bytes wait in the
    /// UART: the back-pressure used when the input queue is nearly full).
    pub fn set_receive_interrupt(on: bool) {
        // SAFETY: COM1's interrupt-enable register (base+1, DLAB off):
        // bit 0 is "received data available".
        unsafe { outb(COM1 + 1, on as u8) };
    }

    /// ANSI colour sequences passed to the terminal (true) or dropped.
    pub fn set_color(&mut self, on: bool) {
        self.plain = !on;
    }

    /// A byte waiting in the receiver, if any.
    pub fn try_receive(&mut self) -> Option<u8> {
        self.port.try_receive().ok()
    }

    /// Send one raw byte.
    pub fn send_raw(&mut self, byte: u8) {
        self.port.send_raw(byte);
    }
}

impl fmt::Write for Serial {
    /// Send text: `\n` becomes CR LF, `\x08` becomes BS SPACE BS (erase
    /// left); colour sequences are dropped when colour is off.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if self.plain {
                let port = &mut self.port;
                self.filter.feed(b, |b| port.send(b));
            } else {
                self.port.send(b);
            }
        }
        Ok(())
    }
}
