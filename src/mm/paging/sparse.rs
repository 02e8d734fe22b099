//! Drawing frames that need not be contiguous, handed out in chunks of
//! eight through a callback (FreeNOS `SplitAllocator::allocateSparse` and
//! `MemoryContext::mapRangeSparseCallback`).
//!
//! ```text
//!   draw_sparse(frames, 20, on_chunk)
//!     allocate x8 -> on_chunk([f0..f7])     maps pages 0..7
//!     allocate x8 -> on_chunk([f8..f15])    maps pages 8..15
//!     allocate x4 -> on_chunk([f16..f19])   maps pages 16..19
//! ```
//!
//! Ownership: frames handed to `on_chunk` belong to the callback (it maps
//! them, or frees what it could not map before returning `Err`). Frames of
//! a chunk that could not be completed are freed here.
//!
//! The chunking itself, [`in_chunks`], is the one home of "eight at a
//! time": the family's `SplitAllocator::allocate_sparse` hands out its
//! 8-page chunks through it too.

use crate::mm::addr::Frame;
use crate::mm::frame::FrameAllocator;

/// Frames per chunk, as in FreeNOS (`8U * PAGESIZE`).
pub const SPARSE_CHUNK: usize = 8;

/// Why `draw_sparse` stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparseError<E> {
    /// The allocator ran dry after `delivered` frames were handed to the callback.
    NoFrames {
        /// Frames delivered to the callback before the failure.
        delivered: usize,
    },
    /// The callback failed; its error.
    Callback(E),
}

/// Where a chunked hand-over stopped; `delivered` units were handed on
/// before it (those stay with the receiver).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkError<T, E> {
    /// Taking the next chunk failed (undoing a partial take is `take`'s job).
    Take { delivered: usize, error: T },
    /// Handing a chunk on failed (the chunk is `give`'s to undo).
    Give { delivered: usize, error: E },
}

/// Hand `count` units over in chunks of [`SPARSE_CHUNK`] (the last may be
/// shorter), in order: `take(state, n)` gets the next `n` units, then
/// `give(state, chunk)` hands them on. Stops at the first failure.
pub fn in_chunks<S: ?Sized, C, T, E>(
    state: &mut S,
    count: usize,
    mut take: impl FnMut(&mut S, usize) -> Result<C, T>,
    mut give: impl FnMut(&mut S, C) -> Result<(), E>,
) -> Result<(), ChunkError<T, E>> {
    let mut delivered = 0;
    while delivered < count {
        let want = (count - delivered).min(SPARSE_CHUNK);
        let chunk = take(state, want).map_err(|error| ChunkError::Take { delivered, error })?;
        give(state, chunk).map_err(|error| ChunkError::Give { delivered, error })?;
        delivered += want;
    }
    Ok(())
}

/// `n` frames from `frames`, all or none (a partial take is freed again).
fn take_frames(
    frames: &mut dyn FrameAllocator,
    n: usize,
) -> Result<([Frame; SPARSE_CHUNK], usize), ()> {
    let mut chunk = [Frame(0); SPARSE_CHUNK];
    for i in 0..n {
        match frames.allocate() {
            Some(f) => chunk[i] = f,
            None => {
                for &f in &chunk[..i] {
                    let freed = frames.free(f);
                    debug_assert!(freed.is_ok(), "draw_sparse: cannot return {f:?}");
                }
                return Err(());
            }
        }
    }
    Ok((chunk, n))
}

/// Allocate `count` frames one by one and pass them to `on_chunk` in chunks
/// of [`SPARSE_CHUNK`] (the last may be shorter), in allocation order. The
/// callback also gets the allocator (for page tables). On failure the
/// frames of the incomplete chunk are freed; earlier chunks stay the callback's.
pub fn draw_sparse<E>(
    frames: &mut dyn FrameAllocator,
    count: usize,
    mut on_chunk: impl FnMut(&[Frame], &mut dyn FrameAllocator) -> Result<(), E>,
) -> Result<(), SparseError<E>> {
    let mut frames = frames;
    in_chunks(
        &mut frames,
        count,
        |frames, n| take_frames(&mut **frames, n),
        |frames, (chunk, n)| on_chunk(&chunk[..n], &mut **frames),
    )
    .map_err(|e| match e {
        ChunkError::Take { delivered, .. } => SparseError::NoFrames { delivered },
        ChunkError::Give { error, .. } => SparseError::Callback(error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::paging::testframes::TestFrames;
    use alloc::vec::Vec;

    #[test]
    fn chunks_of_eight_then_the_rest() {
        let mut frames = TestFrames::new(100, 64, 7);
        let mut sizes = Vec::new();
        let mut got = Vec::new();
        let r: Result<(), SparseError<()>> = draw_sparse(&mut frames, 20, |chunk, _| {
            sizes.push(chunk.len());
            got.extend_from_slice(chunk);
            Ok(())
        });
        assert_eq!(r, Ok(()));
        assert_eq!(sizes, [8, 8, 4]);
        assert_eq!(got.len(), 20);
        assert!(got.iter().all(|f| frames.is_allocated(*f)));
        assert_eq!(frames.free_count(), 44);
    }

    #[test]
    fn running_dry_frees_the_partial_chunk() {
        let mut frames = TestFrames::new(100, 12, 3);
        let mut got = Vec::new();
        let r: Result<(), SparseError<()>> = draw_sparse(&mut frames, 20, |chunk, _| {
            got.extend_from_slice(chunk);
            Ok(())
        });
        assert_eq!(r, Err(SparseError::NoFrames { delivered: 8 }));
        // The 8 delivered frames are the callback's; the 4 of the partial chunk came back.
        assert_eq!(got.len(), 8);
        assert_eq!(frames.free_count(), 4);
    }

    #[test]
    fn callback_error_stops_the_draw() {
        let mut frames = TestFrames::new(0, 64, 1);
        let mut calls = 0;
        let r = draw_sparse(&mut frames, 30, |chunk, frames| {
            calls += 1;
            if calls == 2 {
                // The callback owns the chunk: give it back before failing.
                for &f in chunk {
                    frames.free(f).unwrap();
                }
                return Err("stop");
            }
            Ok(())
        });
        assert_eq!(r, Err(SparseError::Callback("stop")));
        assert_eq!(calls, 2);
        assert_eq!(frames.free_count(), 64 - 8);
    }

    #[test]
    fn zero_frames_is_no_call() {
        let mut frames = TestFrames::new(0, 4, 1);
        let r: Result<(), SparseError<()>> =
            draw_sparse(&mut frames, 0, |_, _| panic!("no chunk expected"));
        assert_eq!(r, Ok(()));
        assert_eq!(frames.free_count(), 4);
    }
}
