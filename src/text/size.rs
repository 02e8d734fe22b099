//! A byte count printed in binary units, the one formatter of sizes
//! (`Size`), and the singular or plural noun of a count.
//!
//! ```text
//!   Whole   1000 B, 639 KiB, 3 GiB, 126.8 MiB   memory maps, regions
//!   Tenths  639 KiB, 126.8 MiB, 3.0 GiB         the frames report
//!   Exact   16 bytes, 4 KiB, 128 MiB            heap reports
//! ```

use super::FixedStr;
use core::fmt::{self, Write};

/// How a [`Size`] is written; the one formatter of byte counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeStyle {
    /// The largest binary unit that keeps it whole, else one decimal of the
    /// next: `1000 B`, `639 KiB`, `3 GiB`, `126.8 MiB` (memory maps, regions).
    Whole,
    /// `N KiB` below 1 MiB, `N.D MiB` below 1 GiB, `N.D GiB` above, the
    /// decimal truncated (the `frames` report).
    Tenths,
    /// Whole units or plain bytes: `16 bytes`, `4 KiB`, `128 MiB` (heap reports).
    Exact,
}

/// A byte count, printed in binary units as its [`SizeStyle`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// The count.
    pub bytes: u64,
    /// How it is written.
    pub style: SizeStyle,
}

impl Size {
    /// `bytes` in [`SizeStyle::Whole`].
    pub const fn new(bytes: u64) -> Size {
        Size {
            bytes,
            style: SizeStyle::Whole,
        }
    }
    /// `bytes` in [`SizeStyle::Tenths`].
    pub const fn tenths(bytes: u64) -> Size {
        Size {
            bytes,
            style: SizeStyle::Tenths,
        }
    }
    /// `bytes` in [`SizeStyle::Exact`].
    pub const fn exact(bytes: u64) -> Size {
        Size {
            bytes,
            style: SizeStyle::Exact,
        }
    }
}

/// The noun for `n` things: `one` for exactly one, `many` otherwise, as a
/// count is read: `0 frames`, `1 frame`, `2 frames`.
pub const fn noun(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Binary units, a factor of 1024 apart.
const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];

/// `bytes` as a whole number of the largest unit up to `UNITS[top]` that
/// divides it: (count, unit index).
const fn whole_units(bytes: u64, top: usize) -> (u64, usize) {
    let (mut whole, mut unit) = (bytes, 0);
    while unit < top && whole >= 1024 && whole.is_multiple_of(1024) {
        whole /= 1024;
        unit += 1;
    }
    (whole, unit)
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = FixedStr::<24>::new();
        let b = self.bytes;
        match self.style {
            SizeStyle::Whole => {
                let (whole, unit) = whole_units(b, UNITS.len() - 1);
                if whole >= 10 * 1024 && unit < UNITS.len() - 1 {
                    // Not a whole number of the next unit: one decimal of it.
                    let tenths = whole * 10 / 1024;
                    write!(s, "{}.{} {}", tenths / 10, tenths % 10, UNITS[unit + 1])?;
                } else {
                    write!(s, "{whole} {}", UNITS[unit])?;
                }
            }
            SizeStyle::Tenths => {
                let unit = match b {
                    _ if b < 1 << 20 => 1,
                    _ if b < 1 << 30 => 2,
                    _ => 3,
                };
                let shift = 10 * unit as u32;
                if unit == 1 {
                    write!(s, "{} {}", b >> shift, UNITS[unit])?;
                } else {
                    let whole = b >> shift;
                    let tenth = ((b - (whole << shift)) * 10) >> shift;
                    write!(s, "{whole}.{tenth} {}", UNITS[unit])?;
                }
            }
            SizeStyle::Exact => match whole_units(b, 3) {
                (_, 0) => write!(s, "{b} bytes")?,
                (whole, unit) => write!(s, "{whole} {}", UNITS[unit])?,
            },
        }
        f.pad(s.as_str())
    }
}
