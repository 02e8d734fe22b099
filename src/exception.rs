//! CPU exceptions: the saved register frame, the names of vectors 0-31, the
//! error-code decoding and the report printed when one happens (the #PF
//! error code by [`PageFaultCode`], the one decoder, which `mm::vm` uses).
//!
//! Pure code: the kernel's interrupt entry (`arch::x86::idt`) hands the frame
//! here to be printed, and host tests check the report's wording.
//!
//! ```text
//!  low address                                                   high address
//!  gs fs es ds | edi esi ebp esp' ebx edx ecx eax | vector error | eip cs eflags
//!  entry stub    pusha                              entry stub     CPU
//! ```

use bitflags::bitflags;
use core::fmt;

// ```text
// #PF error code (pushed by the CPU; the faulting address is in CR2)
//  31                         5   4   3   2   1   0
// +----------------------------+---+---+---+---+---+
// |          reserved          | I | R | U | W | P |
// +----------------------------+---+---+---+---+---+
//  P  0: the page was not present        1: a protection violation
//  W  0: a read                          1: a write
//  U  0: in supervisor mode (ring 0)     1: in user mode (ring 3)
//  R  1: a reserved bit was set in an entry on the walk
//  I  1: an instruction fetch (only with NX or SMEP; not on plain i386)
// ```
bitflags! {
    /// The error code of a page fault (#PF, vector 14), drawn above.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PageFaultCode: u32 {
        /// The page was present: a protection violation (clear: not present).
        const PRESENT = 1 << 0;
        /// The access was a write (clear: a read).
        const WRITE = 1 << 1;
        /// The access came from user mode (clear: supervisor).
        const USER = 1 << 2;
        /// A reserved bit was set in a paging entry.
        const RESERVED = 1 << 3;
        /// The access was an instruction fetch.
        const INSTRUCTION = 1 << 4;
    }
}

impl PageFaultCode {
    /// Decode the raw code the CPU pushed; unknown bits are kept.
    pub const fn from_raw(raw: u32) -> PageFaultCode {
        PageFaultCode::from_bits_retain(raw)
    }
}

impl fmt::Display for PageFaultCode {
    /// `page not present, write, supervisor mode` (plus `, reserved bit set`
    /// and `, instruction fetch` when those bits are set).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.contains(Self::PRESENT) {
            "protection violation"
        } else {
            "page not present"
        })?;
        f.write_str(if self.contains(Self::WRITE) {
            ", write"
        } else {
            ", read"
        })?;
        f.write_str(if self.contains(Self::USER) {
            ", user mode"
        } else {
            ", supervisor mode"
        })?;
        if self.contains(Self::RESERVED) {
            f.write_str(", reserved bit set")?;
        }
        if self.contains(Self::INSTRUCTION) {
            f.write_str(", instruction fetch")?;
        }
        Ok(())
    }
}

/// The registers saved on interrupt entry, in the order the entry stub
/// leaves them on the stack (see `asm/interrupts.s`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InterruptFrame {
    pub gs: u32,
    pub fs: u32,
    pub es: u32,
    pub ds: u32,
    pub edi: u32,
    pub esi: u32,
    pub ebp: u32,
    /// ESP as `pusha` saw it (inside the frame); see [`InterruptFrame::interrupted_esp`].
    pub esp_at_pusha: u32,
    pub ebx: u32,
    pub edx: u32,
    pub ecx: u32,
    pub eax: u32,
    pub vector: u32,
    pub error_code: u32,
    pub eip: u32,
    pub cs: u32,
    pub eflags: u32,
}

const _: () = assert!(core::mem::size_of::<InterruptFrame>() == 17 * 4);

impl InterruptFrame {
    /// ESP of the interrupted kernel code: above pusha's view, the vector,
    /// the error code, and the CPU's EIP, CS and EFLAGS.
    pub fn interrupted_esp(&self) -> u32 {
        self.esp_at_pusha.wrapping_add(5 * 4)
    }
    /// True when the interrupted code ran in ring 3.
    pub fn from_user(&self) -> bool {
        self.cs & 3 == 3
    }
}

/// Vector numbers of the exceptions Cairn treats specially.
pub mod vector {
    pub const DIVIDE_ERROR: u32 = 0;
    pub const BREAKPOINT: u32 = 3;
    pub const INVALID_OPCODE: u32 = 6;
    pub const DOUBLE_FAULT: u32 = 8;
    pub const GENERAL_PROTECTION: u32 = 13;
    pub const PAGE_FAULT: u32 = 14;
}

const NAMES: [(&str, &str); 32] = [
    ("#DE", "divide error"),
    ("#DB", "debug"),
    ("NMI", "non-maskable interrupt"),
    ("#BP", "breakpoint"),
    ("#OF", "overflow"),
    ("#BR", "bound range exceeded"),
    ("#UD", "invalid opcode"),
    ("#NM", "device not available"),
    ("#DF", "double fault"),
    ("---", "coprocessor segment overrun"),
    ("#TS", "invalid TSS"),
    ("#NP", "segment not present"),
    ("#SS", "stack-segment fault"),
    ("#GP", "general protection fault"),
    ("#PF", "page fault"),
    ("---", "reserved 15"),
    ("#MF", "x87 floating-point error"),
    ("#AC", "alignment check"),
    ("#MC", "machine check"),
    ("#XM", "SIMD floating-point exception"),
    ("#VE", "virtualization exception"),
    ("#CP", "control protection exception"),
    ("---", "reserved 22"),
    ("---", "reserved 23"),
    ("---", "reserved 24"),
    ("---", "reserved 25"),
    ("---", "reserved 26"),
    ("---", "reserved 27"),
    ("#HV", "hypervisor injection"),
    ("#VC", "VMM communication"),
    ("#SX", "security exception"),
    ("---", "reserved 31"),
];

/// The mnemonic (`#GP`) and the name (`general protection fault`) of an exception vector.
pub fn name(vector: u32) -> (&'static str, &'static str) {
    NAMES
        .get(vector as usize)
        .copied()
        .unwrap_or(("IRQ", "hardware interrupt"))
}

/// True for the exceptions whose error code is a segment selector (#TS #NP #SS #GP).
pub fn has_selector_error(vector: u32) -> bool {
    matches!(vector, 10..=13)
}

/// A selector error code (#TS, #NP, #SS, #GP) decoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SelectorError(pub u32);

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        if e == 0 {
            return write!(f, "not caused by a segment selector");
        }
        let table = match (e >> 1) & 3 {
            0 => "GDT",
            2 => "LDT",
            _ => "IDT",
        };
        write!(
            f,
            "{table} index {} (selector {:#06x})",
            (e >> 3) & 0x1FFF,
            e & 0xFFF8
        )?;
        if e & 1 != 0 {
            write!(f, ", external event")?;
        }
        Ok(())
    }
}

/// Print the full report of an exception: name, vector, error code (decoded
/// for #PF by [`PageFaultCode`], the one page-fault decoder, and for selector
/// errors), CR2 for page faults, and every register.
pub fn write_report(out: &mut impl fmt::Write, frame: &InterruptFrame, cr2: u32) -> fmt::Result {
    let (mnemonic, name) = name(frame.vector);
    writeln!(out, "EXCEPTION {mnemonic} {name} (vector {})", frame.vector)?;
    if frame.vector == vector::PAGE_FAULT {
        writeln!(
            out,
            "  error code {:#x}: {}",
            frame.error_code,
            PageFaultCode::from_raw(frame.error_code)
        )?;
        writeln!(out, "  CR2 (faulting address) {cr2:#010x}")?;
    } else if has_selector_error(frame.vector) {
        writeln!(
            out,
            "  error code {:#x}: {}",
            frame.error_code,
            SelectorError(frame.error_code)
        )?;
    } else if matches!(frame.vector, 8 | 17 | 21 | 29 | 30) {
        writeln!(out, "  error code {:#x}", frame.error_code)?;
    }
    writeln!(
        out,
        "  EIP {:#010x}  CS {:#06x}  EFLAGS {:#010x}",
        frame.eip, frame.cs, frame.eflags
    )?;
    writeln!(
        out,
        "  EAX {:#010x}  EBX {:#010x}  ECX {:#010x}  EDX {:#010x}",
        frame.eax, frame.ebx, frame.ecx, frame.edx
    )?;
    writeln!(
        out,
        "  ESI {:#010x}  EDI {:#010x}  EBP {:#010x}  ESP {:#010x}",
        frame.esi,
        frame.edi,
        frame.ebp,
        frame.interrupted_esp()
    )?;
    writeln!(
        out,
        "  DS {:#06x}  ES {:#06x}  FS {:#06x}  GS {:#06x}",
        frame.ds, frame.es, frame.fs, frame.gs
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(0), ("#DE", "divide error"));
        assert_eq!(name(14), ("#PF", "page fault"));
        assert_eq!(name(40).0, "IRQ");
    }

    #[test]
    fn page_fault_codes_use_the_vm_decoder() {
        let frame = |code| InterruptFrame {
            vector: 14,
            error_code: code,
            ..Default::default()
        };
        for (code, text) in [
            (
                0x0,
                "error code 0x0: page not present, read, supervisor mode",
            ),
            (
                0x3,
                "error code 0x3: protection violation, write, supervisor mode",
            ),
            (0x5, "error code 0x5: protection violation, read, user mode"),
            (
                0x9,
                "error code 0x9: protection violation, read, supervisor mode, reserved bit set",
            ),
        ] {
            let mut s = String::new();
            write_report(&mut s, &frame(code), 0).unwrap();
            assert!(s.contains(text), "{code:#x}: {s}");
        }
    }

    #[test]
    fn selector_codes() {
        assert_eq!(
            SelectorError(0).to_string(),
            "not caused by a segment selector"
        );
        assert_eq!(
            SelectorError(0x38).to_string(),
            "GDT index 7 (selector 0x0038)"
        );
        assert_eq!(
            SelectorError(0x1234 | 2).to_string(),
            "IDT index 582 (selector 0x1230)"
        );
    }

    #[test]
    fn report_of_a_page_fault() {
        let frame = InterruptFrame {
            vector: 14,
            error_code: 2,
            eip: 0xC010_1234,
            cs: 8,
            esp_at_pusha: 0x100,
            ..Default::default()
        };
        let mut s = String::new();
        write_report(&mut s, &frame, 0xDEAD_0000).unwrap();
        assert!(s.starts_with("EXCEPTION #PF page fault (vector 14)\n"));
        assert!(s.contains("error code 0x2: page not present, write, supervisor mode"));
        assert!(s.contains("CR2 (faulting address) 0xdead0000"));
        assert!(s.contains("EIP 0xc0101234"));
        assert!(s.contains("ESP 0x00000114"));
    }
}
