//! Why a bitmap operation was refused ([`BitmapError`]: the bitmap is
//! unchanged) and the first broken invariant
//! [`Bitmap::check`](super::Bitmap::check) found ([`BitmapCheckError`]).

use core::fmt;

/// Why a bitmap operation was refused. The bitmap is unchanged after any of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitmapError {
    /// The storage holds fewer than `Bitmap::words_for(len)` words.
    StorageTooSmall,
    /// The range reaches past the last bit (or overflows).
    OutOfRange,
}

/// The first broken invariant [`Bitmap::check`](super::Bitmap::check) found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitmapCheckError {
    /// The cached count of set bits differs from the bits.
    WrongCount { cached: usize, counted: usize },
    /// A bit past the last one is set.
    BitPastEnd,
}

impl BitmapCheckError {
    /// The message, for checks that report `&'static str`.
    pub const fn as_str(self) -> &'static str {
        match self {
            BitmapCheckError::WrongCount { .. } => "bitmap: cached count of set bits is wrong",
            BitmapCheckError::BitPastEnd => "bitmap: a bit past the end is set",
        }
    }
}

impl fmt::Display for BitmapCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BitmapCheckError::WrongCount { cached, counted } => write!(
                f,
                "bitmap: cached count of set bits is {cached}, the bits hold {counted}"
            ),
            BitmapCheckError::BitPastEnd => f.write_str(self.as_str()),
        }
    }
}

impl From<BitmapCheckError> for &'static str {
    fn from(e: BitmapCheckError) -> &'static str {
        e.as_str()
    }
}
