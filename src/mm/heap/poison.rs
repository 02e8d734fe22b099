//! Poisoning, shared by the heap designs: freed bytes are filled with
//! [`POISON`] (the `poison` boot option; always on in debug builds for the
//! buddy heap), and the designs' `check` finds the first free byte that
//! no longer holds it: a write after free.
//!
//! ```text
//!   free(p):   [meta|POISON POISON POISON ... POISON]   meta: the design's
//!   later:     [meta|POISON POISON 5A POISON .. POISON]       free-block
//!                                   ^ check names the block   header, never
//!                                     and this address        poisoned
//! ```

/// The byte freed payloads are filled with while poisoning is on.
pub const POISON: u8 = 0xDB;

/// Fill the `len` bytes at `from` with [`POISON`]; nothing when `len` is 0.
///
/// # Safety
/// The range is writable memory the heap owns and no live allocation uses.
#[inline]
pub unsafe fn fill(from: *mut u8, len: usize) {
    if len > 0 {
        // SAFETY: the caller's guarantee.
        unsafe { core::ptr::write_bytes(from, POISON, len) };
    }
}

/// The address of the first of the `len` bytes at `from` that is not
/// [`POISON`]; `None` when all are (or `len` is 0).
///
/// # Safety
/// The range is readable memory the heap owns.
pub unsafe fn first_written(from: *const u8, len: usize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    // SAFETY: the caller's guarantee.
    let bytes = unsafe { core::slice::from_raw_parts(from, len) };
    first_not_poison(bytes).map(|i| from.addr() + i)
}

/// A run of [`POISON`] that payloads are compared against a block at a time.
static POISON_RUN: [u8; 256] = [POISON; 256];

/// The index of the first byte of `bytes` that is not [`POISON`].
///
/// Compares whole runs of 256 bytes first (one `memcmp` each, one step for
/// Miri instead of 256) and looks byte by byte only inside the run that
/// differs.
pub fn first_not_poison(bytes: &[u8]) -> Option<usize> {
    bytes
        .chunks(POISON_RUN.len())
        .enumerate()
        .find(|(_, run)| *run != &POISON_RUN[..run.len()])
        .and_then(|(k, run)| {
            run.iter()
                .position(|&b| b != POISON)
                .map(|i| k * POISON_RUN.len() + i)
        })
}
