//! Sizing each allocator's metadata, and carving the caller's metadata bytes
//! into the word arrays an allocator needs. The sizes live here, not in the
//! allocators, so `plan` (which sizes the metadata) and the allocators (which
//! carve it) both import this file and never each other.
//!
//! ```text
//!   metadata bytes (given by the caller; in the kernel, frames the plan picked)
//!   |pad|  array 0 (u32 words)  |  array 1  | ... |unused|
//!    ^ 0..3 bytes skipped so every array is 4-byte aligned (ALIGN_SLACK)
//! ```

use super::ORDERS;
use crate::mm::bitmap::Bitmap;
use core::fmt;

/// Bytes every metadata size includes so a misaligned slice still fits.
pub const ALIGN_SLACK: usize = core::mem::size_of::<u32>();

/// Bytes of `words` u32 words.
pub const fn words_bytes(words: usize) -> usize {
    words * core::mem::size_of::<u32>()
}

/// Bytes of a bitmap of `bits` bits.
pub const fn bitmap_bytes(bits: usize) -> usize {
    Bitmap::<&mut [u32]>::bytes_for(bits)
}

/// Metadata bytes of a run map over `span_frames` frames: two bitmaps
/// (used, run start).
pub const fn run_map_bytes(span_frames: usize) -> usize {
    2 * bitmap_bytes(span_frames)
}

/// Metadata bytes the bitmap allocator needs for a span of `span_frames`
/// frames (2 bits per frame).
pub const fn bitmap_metadata_bytes(span_frames: usize) -> usize {
    run_map_bytes(span_frames) + ALIGN_SLACK
}

/// Metadata bytes the free-list allocator needs for a span of `span_frames`
/// frames (2 bits per frame; the list itself lives in the free frames).
pub const fn freelist_metadata_bytes(span_frames: usize) -> usize {
    run_map_bytes(span_frames) + ALIGN_SLACK
}

/// Metadata bytes the buddy allocator needs for a span of `span_frames`
/// frames: links, per-order bitmaps, run starts.
pub const fn buddy_metadata_bytes(span_frames: usize) -> usize {
    let mut bytes = words_bytes(2 * span_frames) + bitmap_bytes(span_frames) + ALIGN_SLACK;
    let mut k = 0;
    while k < ORDERS {
        bytes += bitmap_bytes(span_frames >> k);
        k += 1;
    }
    bytes
}

/// Why an allocator could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitError {
    /// The metadata slice is smaller than the plan's `metadata_bytes()`.
    MetadataTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        given: usize,
    },
    /// The plan was sized for another allocator.
    WrongPlan,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::MetadataTooSmall { needed, given } => {
                write!(f, "metadata needs {needed} bytes, {given} given")
            }
            InitError::WrongPlan => write!(f, "the plan was made for another allocator"),
        }
    }
}

/// Hands out consecutive u32 arrays from a byte slice.
pub(crate) struct Carver<'a> {
    words: &'a mut [u32],
}

impl<'a> Carver<'a> {
    /// A carver over `bytes`, which must hold at least `needed` bytes
    /// (`needed` includes [`ALIGN_SLACK`]).
    pub fn new(bytes: &'a mut [u8], needed: usize) -> Result<Carver<'a>, InitError> {
        let given = bytes.len();
        if given < needed {
            return Err(InitError::MetadataTooSmall { needed, given });
        }
        // SAFETY: every bit pattern is a valid u32, so viewing aligned bytes
        // as words is sound; the prefix and suffix are simply not used.
        let (_, words, _) = unsafe { bytes.align_to_mut::<u32>() };
        if words_bytes(words.len()) + ALIGN_SLACK < needed {
            return Err(InitError::MetadataTooSmall { needed, given });
        }
        Ok(Carver { words })
    }

    /// The next `n` words, zeroed.
    pub fn words(&mut self, n: usize) -> Result<&'a mut [u32], InitError> {
        if n > self.words.len() {
            return Err(InitError::MetadataTooSmall {
                needed: words_bytes(n),
                given: words_bytes(self.words.len()),
            });
        }
        let (head, rest) = core::mem::take(&mut self.words).split_at_mut(n);
        self.words = rest;
        head.fill(0);
        Ok(head)
    }

    /// The next bitmap of `bits` bits, all clear.
    pub fn bitmap(&mut self, bits: usize) -> Result<Bitmap<&'a mut [u32]>, InitError> {
        let words = self.words(Bitmap::<&mut [u32]>::words_for(bits))?;
        Bitmap::new(words, bits).map_err(|_| InitError::MetadataTooSmall {
            needed: bitmap_bytes(bits),
            given: 0,
        })
    }
}
