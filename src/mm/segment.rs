//! Segmentation: GDT descriptors and selectors, encoded and decoded.
//!
//! A logical address `selector:offset` becomes a linear address through the
//! descriptor the selector names; paging then turns it into a physical one.
//!
//! ```text
//!  selector (16 bits)            descriptor (8 bytes, in the GDT)
//!  +-------------+--+----+       63      56 55  52 51   48 47     40 39     16 15      0
//!  | index 15..3 |TI|RPL |       | base    | G DB | limit | access  | base    | limit   |
//!  +-------------+--+----+       | 31..24  | . L A| 19..16| P DPL S | 23..0   | 15..0   |
//!        |                                                  type
//!        +--> GDT[index] --> base, limit --> linear = base + offset  (if offset <= limit)
//! ```
//!
//! Pure code: the kernel's `arch::x86::gdt` builds its table with these types
//! and the `gdt` and `segdemo` commands print them.

use core::fmt;

/// A segment selector: index into the GDT (or LDT), table indicator, requested privilege.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct Selector(pub u16);

impl Selector {
    /// The selector for GDT entry `index` at privilege `rpl` (0..=3).
    pub const fn new(index: u16, rpl: u8) -> Selector {
        Selector((index << 3) | (rpl as u16 & 3))
    }
    /// The descriptor index (bits 15..3).
    pub const fn index(self) -> u16 {
        self.0 >> 3
    }
    /// The requested privilege level (bits 1..0).
    pub const fn rpl(self) -> u8 {
        (self.0 & 3) as u8
    }
    /// True when the selector names the LDT rather than the GDT (bit 2).
    pub const fn is_ldt(self) -> bool {
        self.0 & 4 != 0
    }
}

/// What kind of segment a descriptor describes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// Code: executable; `readable` lets data be read from it too.
    Code { readable: bool, conforming: bool },
    /// Data: `writable`; `expand_down` for stacks that grow down.
    Data { writable: bool, expand_down: bool },
    /// A 32-bit task-state segment; `busy` while its task runs.
    Tss { busy: bool },
    /// Any other system descriptor (LDT, gates), by its 4-bit type.
    System(u8),
}

/// One 8-byte GDT entry.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct Descriptor(pub u64);

const _: () = assert!(core::mem::size_of::<Descriptor>() == 8);

const ACCESS_PRESENT: u64 = 1 << 47;
const ACCESS_CODE_OR_DATA: u64 = 1 << 44;
const FLAG_GRANULARITY_4K: u64 = 1 << 55;
const FLAG_32BIT: u64 = 1 << 54;
const ACCESS_ACCESSED: u8 = 1;

impl Descriptor {
    /// The null descriptor (GDT entry 0).
    pub const NULL: Descriptor = Descriptor(0);

    /// A present, 32-bit code or data segment from `base`, covering bytes
    /// `0..=limit` of it. Limits above 1 MiB - 1 are stored in 4 KiB units
    /// (granularity bit), so they must then end in 0xFFF.
    pub const fn segment(base: u32, limit: u32, kind: Kind, dpl: u8) -> Descriptor {
        let typ: u8 = match kind {
            Kind::Code {
                readable,
                conforming,
            } => 0b1000 | (conforming as u8) << 2 | (readable as u8) << 1,
            Kind::Data {
                writable,
                expand_down,
            } => (expand_down as u8) << 2 | (writable as u8) << 1,
            Kind::Tss { busy } => 0b1001 | (busy as u8) << 1,
            Kind::System(t) => t & 0xF,
        };
        let system = matches!(kind, Kind::Tss { .. } | Kind::System(_));
        let (raw_limit, granular) = if limit > 0xF_FFFF {
            (limit >> 12, true)
        } else {
            (limit, false)
        };
        let mut d = (raw_limit as u64 & 0xFFFF)
            | ((base as u64 & 0xFF_FFFF) << 16)
            | ((typ as u64) << 40)
            | ((dpl as u64 & 3) << 45)
            | ACCESS_PRESENT
            | (((raw_limit as u64 >> 16) & 0xF) << 48)
            | ((base as u64 >> 24) << 56);
        if !system {
            d |= ACCESS_CODE_OR_DATA | FLAG_32BIT;
        }
        if granular {
            d |= FLAG_GRANULARITY_4K;
        }
        Descriptor(d)
    }

    /// The segment base (32 bits gathered from three fields).
    pub const fn base(self) -> u32 {
        (((self.0 >> 16) & 0xFF_FFFF) | ((self.0 >> 56) << 24)) as u32
    }
    /// The last valid offset, in bytes (the limit field scaled by the granularity).
    pub const fn limit(self) -> u32 {
        let raw = ((self.0 & 0xFFFF) | (((self.0 >> 48) & 0xF) << 16)) as u32;
        if self.granular_4k() {
            (raw << 12) | 0xFFF
        } else {
            raw
        }
    }
    /// True when the limit counts 4 KiB units.
    pub const fn granular_4k(self) -> bool {
        self.0 & FLAG_GRANULARITY_4K != 0
    }
    /// True for a present descriptor.
    pub const fn present(self) -> bool {
        self.0 & ACCESS_PRESENT != 0
    }
    /// Descriptor privilege level (0 kernel .. 3 user).
    pub const fn dpl(self) -> u8 {
        ((self.0 >> 45) & 3) as u8
    }
    /// True for 32-bit code or data (the D/B flag).
    pub const fn is_32bit(self) -> bool {
        self.0 & FLAG_32BIT != 0
    }
    /// The kind of segment.
    pub const fn kind(self) -> Kind {
        let typ = ((self.0 >> 40) & 0xF) as u8;
        if self.0 & ACCESS_CODE_OR_DATA != 0 {
            if typ & 0b1000 != 0 {
                Kind::Code {
                    readable: typ & 2 != 0,
                    conforming: typ & 4 != 0,
                }
            } else {
                Kind::Data {
                    writable: typ & 2 != 0,
                    expand_down: typ & 4 != 0,
                }
            }
        } else if typ & 0b1101 == 0b1001 {
            Kind::Tss { busy: typ & 2 != 0 }
        } else {
            Kind::System(typ)
        }
    }
    /// The same descriptor with its accessed bit clear (the CPU sets it on use).
    pub const fn without_accessed(self) -> Descriptor {
        if self.0 & ACCESS_CODE_OR_DATA != 0 {
            Descriptor(self.0 & !((ACCESS_ACCESSED as u64) << 40))
        } else {
            self
        }
    }

    /// Translate a logical offset through this (expand-up) segment: the linear
    /// address, or the limit violation the CPU would raise #GP for.
    pub fn linear(self, offset: u32, size: u32) -> Result<u32, LimitViolation> {
        let last = offset.checked_add(size.saturating_sub(1));
        match last {
            Some(last) if last <= self.limit() => Ok(self.base().wrapping_add(offset)),
            _ => Err(LimitViolation {
                offset,
                limit: self.limit(),
            }),
        }
    }
}

/// An access past a segment's limit: the CPU raises a general-protection fault.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LimitViolation {
    /// The offset that was used.
    pub offset: u32,
    /// The segment's last valid offset.
    pub limit: u32,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Kind::Code {
                readable,
                conforming,
            } => {
                write!(
                    f,
                    "code {}{}",
                    if readable { "r-x" } else { "--x" },
                    if conforming { " conforming" } else { "" }
                )
            }
            Kind::Data {
                writable,
                expand_down,
            } => {
                write!(
                    f,
                    "data {}{}",
                    if writable { "rw-" } else { "r--" },
                    if expand_down { " expand-down" } else { "" }
                )
            }
            Kind::Tss { busy } => write!(f, "tss32 {}", if busy { "busy" } else { "available" }),
            Kind::System(t) => write!(f, "system type {t:#x}"),
        }
    }
}

impl fmt::Debug for Descriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Descriptor({:#018x})", self.0)
    }
}

/// Write one decoded table row: index, selector (with RPL = DPL, as code
/// loads it), base, limit, granularity, DPL, kind.
pub fn write_row(out: &mut impl fmt::Write, index: usize, d: Descriptor) -> fmt::Result {
    if !d.present() {
        return writeln!(out, "{index:>2}  {:#06x}  (null / not present)", index * 8);
    }
    writeln!(
        out,
        "{index:>2}  {:#06x}  base {:#010x}  limit {:#010x}  {}  dpl {}  {}{}",
        (index * 8) | d.dpl() as usize,
        d.base(),
        d.limit(),
        if d.granular_4k() { "4K" } else { "1B" },
        d.dpl(),
        d.kind(),
        if matches!(d.kind(), Kind::Code { .. } | Kind::Data { .. }) && d.is_32bit() {
            " 32-bit"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_kernel_code_round_trips() {
        let d = Descriptor::segment(
            0,
            0xFFFF_FFFF,
            Kind::Code {
                readable: true,
                conforming: false,
            },
            0,
        );
        assert_eq!(
            d.0, 0x00CF_9A00_0000_FFFF,
            "the classic flat ring-0 code descriptor"
        );
        assert_eq!(d.base(), 0);
        assert_eq!(d.limit(), 0xFFFF_FFFF);
        assert!(d.granular_4k() && d.present() && d.is_32bit());
        assert_eq!(
            d.kind(),
            Kind::Code {
                readable: true,
                conforming: false
            }
        );
    }

    #[test]
    fn flat_user_data_round_trips() {
        let d = Descriptor::segment(
            0,
            0xFFFF_FFFF,
            Kind::Data {
                writable: true,
                expand_down: false,
            },
            3,
        );
        assert_eq!(d.0, 0x00CF_F200_0000_FFFF);
        assert_eq!(d.dpl(), 3);
    }

    #[test]
    fn small_byte_granular_segment() {
        let d = Descriptor::segment(
            0xC00B_8000,
            0xFFF,
            Kind::Data {
                writable: true,
                expand_down: false,
            },
            0,
        );
        assert_eq!(d.base(), 0xC00B_8000);
        assert_eq!(d.limit(), 0xFFF);
        assert!(!d.granular_4k());
        assert_eq!(d.linear(0x10, 4), Ok(0xC00B_8010));
        assert_eq!(
            d.linear(0xFFE, 4),
            Err(LimitViolation {
                offset: 0xFFE,
                limit: 0xFFF
            })
        );
        assert_eq!(
            d.linear(0xFFFF_FFFF, 4),
            Err(LimitViolation {
                offset: 0xFFFF_FFFF,
                limit: 0xFFF
            })
        );
    }

    #[test]
    fn tss_descriptor() {
        let d = Descriptor::segment(0xC012_3000, 103, Kind::Tss { busy: false }, 0);
        assert_eq!(d.kind(), Kind::Tss { busy: false });
        assert_eq!(d.limit(), 103);
        assert_eq!(d.base(), 0xC012_3000);
        let busy = Descriptor(d.0 | (1 << 41));
        assert_eq!(busy.kind(), Kind::Tss { busy: true });
    }

    #[test]
    fn selectors() {
        let s = Selector::new(3, 3);
        assert_eq!(s.0, 0x1B);
        assert_eq!((s.index(), s.rpl(), s.is_ldt()), (3, 3, false));
        assert_eq!(Selector::new(4, 3).0, 0x23);
    }

    #[test]
    fn row_format() {
        let mut s = String::new();
        let d = Descriptor::segment(
            0,
            0xFFFF_FFFF,
            Kind::Code {
                readable: true,
                conforming: false,
            },
            0,
        );
        write_row(&mut s, 1, d).unwrap();
        assert_eq!(
            s,
            " 1  0x0008  base 0x00000000  limit 0xffffffff  4K  dpl 0  code r-x 32-bit\n"
        );
    }
}
