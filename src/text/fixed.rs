//! A string of at most `N` bytes kept inline, for reports written before
//! the heap exists: what does not fit is cut at a character boundary.

use core::fmt;

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
