//! Small text helpers that need no heap: a fixed-capacity string and a
//! byte count printed in binary units. Used by boot-time reports (before the
//! heap exists) and by the `mm` reports.

use core::fmt::{self, Write};

/// A string of at most `N` bytes kept inline (no heap at boot).
#[derive(Clone, Copy)]
pub struct FixedStr<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> FixedStr<N> {
    /// The empty string.
    pub const fn new() -> Self {
        FixedStr {
            bytes: [0; N],
            len: 0,
        }
    }
    /// A copy of `s`, cut at the last whole character that fits.
    pub fn from_str_truncated(s: &str) -> Self {
        let mut cut = s.len().min(N);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut f = Self::new();
        f.bytes[..cut].copy_from_slice(&s.as_bytes()[..cut]);
        f.len = cut;
        f
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for FixedStr<N> {
    /// Append `s`; fails (and appends nothing) when it does not fit.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl<const N: usize> Default for FixedStr<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A byte count printed in the largest binary unit that keeps it whole (or one decimal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut unit = 0;
        let mut whole = self.0;
        while unit < UNITS.len() - 1 && whole >= 1024 && whole.is_multiple_of(1024) {
            whole /= 1024;
            unit += 1;
        }
        if whole >= 10 * 1024 && unit < UNITS.len() - 1 {
            // Not a whole number of the next unit: show one decimal of it.
            let tenths = whole * 10 / 1024;
            let mut s = FixedStr::<24>::new();
            write!(s, "{}.{} {}", tenths / 10, tenths % 10, UNITS[unit + 1])?;
            return f.pad(s.as_str());
        }
        let mut s = FixedStr::<24>::new();
        write!(s, "{whole} {}", UNITS[unit])?;
        f.pad(s.as_str())
    }
}

impl<const N: usize> PartialEq for FixedStr<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<const N: usize> Eq for FixedStr<N> {}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_in_units() {
        assert_eq!(Size(1024).to_string(), "1 KiB");
        assert_eq!(Size(639 * 1024).to_string(), "639 KiB");
        assert_eq!(Size(3 << 30).to_string(), "3 GiB");
        assert_eq!(Size(1000).to_string(), "1000 B");
        assert_eq!(Size(0x7EE0000).to_string(), "126.8 MiB");
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        let f = FixedStr::<4>::from_str_truncated("abcé");
        assert_eq!(f.as_str(), "abc");
    }
}
