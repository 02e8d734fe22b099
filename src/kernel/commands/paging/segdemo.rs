//! `segdemo [offset]`: selector:offset --segment--> linear --paging-->
//! physical, through a small data segment, then the limits: a read past the
//! data segment's, a far call past a code segment's, a selector past the
//! GDT's (each #GP survived, or the emulator's #PF explained).

use super::args::parse_addr;
use crate::arch::x86::{gdt, probe};
use crate::kernel::commands::kit::{Outcome, at_most};
use crate::kernel::memory;
use crate::mm::addr::VirtAddr;
use crate::mm::segment::{self, Descriptor};
use alloc::format;
use alloc::string::String;
use core::fmt::Write;

/// What the demo segment covers: eight words that are easy to recognise.
static SEGDEMO_WORDS: [u32; 8] = [
    0x1111_1111,
    0x2222_2222,
    0x3333_3333,
    0x4444_4444,
    0x5555_5555,
    0x6666_6666,
    0x7777_7777,
    0x8888_8888,
];

/// The four bytes at `offset` of `SEGDEMO_WORDS`, little endian, if inside.
fn segdemo_expected(offset: u32) -> Option<u32> {
    let mut bytes = [0u8; 32];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(SEGDEMO_WORDS) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    let at = offset as usize;
    let four = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([four[0], four[1], four[2], four[3]]))
}

/// `segdemo [offset]`: set GDT entry 7 to a 32-byte data segment over
/// `SEGDEMO_WORDS`, then read through it at the offset given, or at 0x10
/// (inside) and 0x20 (past the limit), and finally load a selector past the
/// GDT's own limit (#GP, survived).
///
/// Data-segment limits are checked by hardware and KVM, but not by QEMU's
/// TCG emulator, which Cairn runs under: there the read past the limit
/// returns the bytes after the segment, and the demo says so. The
/// descriptor-table limit is checked everywhere, so the last step shows a
/// real #GP on every CPU.
pub fn segdemo(args: &[&str], out: &mut dyn Write) -> Outcome {
    let (offsets, gdt_limit_too): (&[u32], bool) = match args {
        [] => (&[0x10, 0x20], true),
        [o] => (&[parse_addr(o)?], false),
        _ => return at_most(args, 1),
    };
    let base = SEGDEMO_WORDS.as_ptr().expose_provenance() as u32;
    let limit = core::mem::size_of_val(&SEGDEMO_WORDS) as u32 - 1;
    let d = gdt::set_demo_segment(base, limit);
    let sel = gdt::DEMO;
    let _ = writeln!(
        out,
        "segdemo: GDT[{}] is now a data segment over SEGDEMO_WORDS (8 words, 0x11111111..0x88888888):",
        sel.index()
    );
    let _ = write!(out, "  ");
    let _ = segment::write_row(&mut &mut *out, sel.index() as usize, d);
    for &offset in offsets {
        segdemo_access(d, offset, out)?;
    }
    if gdt_limit_too {
        segdemo_code_limit(out)?;
        segdemo_gdt_limit(out)?;
    }
    let _ = writeln!(
        out,
        "segmentation comes first (base + offset, checked against the limit), then paging (the walk)"
    );
    Ok(())
}

/// Read 4 bytes at `DEMO:offset`, explaining each step, and compare what the
/// CPU did with what the descriptor says it must do.
fn segdemo_access(d: Descriptor, offset: u32, out: &mut dyn Write) -> Outcome {
    let sel = gdt::DEMO;
    let _ = writeln!(
        out,
        "logical  {:#06x}:{offset:#010x}  (selector {:#06x}: GDT index {}, RPL {})",
        sel.0,
        sel.0,
        sel.index(),
        sel.rpl()
    );
    let model = d.linear(offset, 4);
    match model {
        Ok(linear) => {
            let _ = writeln!(
                out,
                "linear   {} = base {:#010x} + offset {offset:#x} (bytes {offset:#x}..{:#x} <= limit {:#x})",
                VirtAddr(linear),
                d.base(),
                offset.wrapping_add(3),
                d.limit()
            );
            let walk = memory::with(|m| m.mapper().trace(VirtAddr(linear)));
            let _ = writeln!(out, "physical through the page walk:");
            let _ = walk.write_indented(&mut &mut *out, "  ");
        }
        Err(v) => {
            let _ = writeln!(
                out,
                "linear   none: bytes {offset:#x}..{:#x} pass the limit {:#x}: the CPU must raise #GP(0) before paging sees an address",
                v.offset.wrapping_add(3),
                v.limit
            );
        }
    }
    let _ = writeln!(
        out,
        "read     mov eax, fs:[{offset:#x}] with FS = {:#06x} ...",
        sel.0
    );
    match (probe::read_segmented(sel.0, offset), model) {
        (Ok(value), Ok(_)) => {
            let expected = segdemo_expected(offset);
            let _ = writeln!(
                out,
                "         -> {value:#010x} (SEGDEMO_WORDS holds {} there)",
                expected.map_or(String::from("?"), |e| format!("{e:#010x}"))
            );
            if expected != Some(value) {
                return Err("the read through the segment gave other bytes".into());
            }
        }
        (Err(c), Err(_)) if c.vector == crate::exception::vector::PAGE_FAULT => {
            write_unchecked_limit_fault(out, &c, d.base(), offset);
        }
        (Err(c), Err(_)) if c.vector == crate::exception::vector::GENERAL_PROTECTION => {
            let _ = writeln!(
                out,
                "survived #GP (vector {}, error code {:#x}): the limit check failed; no page was touched",
                c.vector, c.error_code
            );
        }
        (Ok(value), Err(_)) => {
            let _ = writeln!(
                out,
                "         -> {value:#010x}, and no #GP: this CPU did not check the data-segment limit \
                 (QEMU's TCG emulator never does; hardware and KVM raise #GP(0) here), \
                 so these are the bytes after the segment, at {}",
                VirtAddr(d.base().wrapping_add(offset))
            );
        }
        (Err(c), _) => {
            return Err(format!(
                "unexpected exception {} (error code {:#x}) reading through the segment",
                c.vector, c.error_code
            ));
        }
    }
    Ok(())
}

/// Say that the CPU raised #PF, not #GP, for an access at `offset` past a
/// segment's limit: it skipped the limit check (QEMU's TCG never checks data
/// limits) and paging found no page at `base + offset`.
fn write_unchecked_limit_fault(out: &mut dyn Write, c: &probe::Caught, base: u32, offset: u32) {
    let _ = writeln!(
        out,
        "survived #PF at {:#010x} (error code {:#x}), not #GP: this CPU did not check the \
         data-segment limit (QEMU's TCG emulator never does; hardware and KVM raise \
         #GP(0) here), so it formed the linear address base {:#010x} + offset \
         {offset:#x} = {} (mod 2^32) and paging found no page there",
        c.cr2,
        c.error_code,
        base,
        VirtAddr(base.wrapping_add(offset))
    );
}

/// Far-call into a 16-byte code segment over `probe::FAR_RETURN` (sixteen
/// `retf`s): at offset 0 the call runs a `retf` and comes back; at 0x20 the
/// CPU checks the new EIP against the code segment's limit and raises #GP
/// (every CPU and emulator checks code limits on a far transfer), survived.
fn segdemo_code_limit(out: &mut dyn Write) -> Outcome {
    let base = probe::FAR_RETURN.as_ptr().expose_provenance() as u32;
    let limit = probe::FAR_RETURN.len() as u32 - 1;
    let d = gdt::set_demo_code_segment(base, limit);
    let sel = gdt::DEMO_CODE;
    let _ = writeln!(
        out,
        "code segments have limits too: GDT[{}] is now a 16-byte code segment of `retf`s:",
        sel.index()
    );
    let _ = write!(out, "  ");
    let _ = segment::write_row(&mut &mut *out, sel.index() as usize, d);
    for offset in [0u32, 0x20] {
        let _ = writeln!(out, "far call {:#06x}:{offset:#010x} ...", sel.0);
        // SAFETY: DEMO_CODE is a ring-0 32-bit code segment over FAR_RETURN,
        // whose every byte inside the limit is a retf.
        match (
            unsafe { probe::far_call(sel.0, offset) },
            d.linear(offset, 1),
        ) {
            (Ok(()), Ok(linear)) => {
                let _ = writeln!(
                    out,
                    "         ran the retf at linear {} (base + {offset:#x}) and came back",
                    VirtAddr(linear)
                );
            }
            (Err(c), Err(_)) if c.vector == crate::exception::vector::PAGE_FAULT => {
                write_unchecked_limit_fault(out, &c, d.base(), offset);
            }
            (Err(c), Err(_)) if c.vector == crate::exception::vector::GENERAL_PROTECTION => {
                let _ = writeln!(
                    out,
                    "survived #GP (vector {}, error code {:#x}): offset {offset:#x} passes the limit {limit:#x}; nothing ran",
                    c.vector, c.error_code
                );
            }
            (r, model) => {
                return Err(format!(
                    "far call {offset:#x}: the CPU gave {r:?}, the descriptor says {model:?}"
                ));
            }
        }
    }
    Ok(())
}

/// Load a selector whose descriptor would lie past the GDT's limit: the
/// table limit is checked on every CPU (and emulator): #GP(selector), survived.
fn segdemo_gdt_limit(out: &mut dyn Write) -> Outcome {
    let gdt_limit = (gdt::GDT_ENTRIES * 8 - 1) as u32;
    let selector = segment::Selector::new(gdt::GDT_ENTRIES as u16, 0);
    let _ = writeln!(
        out,
        "the GDT has a limit too: GDTR.limit = {gdt_limit:#x} ({} entries); selector {:#06x} asks for bytes {:#x}..{:#x}",
        gdt::GDT_ENTRIES,
        selector.0,
        selector.0,
        selector.0 as u32 + 7
    );
    let _ = writeln!(out, "load     mov fs, {:#06x} ...", selector.0);
    match probe::load_fs(selector.0) {
        Err(c) if c.vector == crate::exception::vector::GENERAL_PROTECTION => {
            let _ = writeln!(
                out,
                "survived #GP (vector {}, error code {:#x}): the selector passes the GDT's limit",
                c.vector, c.error_code
            );
            Ok(())
        }
        Err(c) => Err(format!(
            "expected #GP, got exception {} (error code {:#x})",
            c.vector, c.error_code
        )),
        Ok(()) => Err(format!(
            "no #GP: selector {:#06x} was loaded past the GDT's limit",
            selector.0
        )),
    }
}
