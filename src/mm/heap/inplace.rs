//! What the first-fit and gap-tree heaps share: both keep their free space
//! as address-ordered free blocks with a little metadata at the front of
//! each, so both give memory back, poison it and resize in place the same
//! way. Each heap says how its free blocks are kept ([`FreeSpace`]'s
//! required methods); the algorithms are written once here.
//!
//! ```text
//!   resize [start, end) to end at `want`:
//!     shrink  want <= end:  [start ........ want)[tail: give_back]end
//!             (a tail below the smallest free block stays in the block)
//!     grow    want >  end:  [start ...... end)[free block at end ......)
//!                           [start .............. want)[rest, if big enough)
//!             (no free block starting right at `end`, or too short: no)
//!
//!   give_back [start, end) with poisoning on:
//!     [start ..... end)[free block at end: meta | poisoned ...)
//!      poisoned          └─ merges: its old meta becomes plain free bytes,
//!                           so it is poisoned too
//! ```

use super::poison;

/// A heap whose free space is address-ordered free blocks that each start
/// with `META` bytes of metadata (left unpoisoned).
pub(super) trait FreeSpace {
    /// Bytes at the front of a free block that hold its metadata.
    const META: usize;
    /// The smallest free block: a shrink gives back a tail only this long or longer.
    const MIN_FREE: usize;

    /// A pointer to `addr` of the heap's memory, with the provenance of
    /// the region it lies in ([`Regions::at`](super::regions::Regions::at)).
    fn at(&self, addr: usize) -> *mut u8;

    /// Whether freed bytes are poisoned.
    fn poison_flag(&self) -> bool;
    /// Set the poisoning flag (nothing else).
    fn store_poison_flag(&mut self, on: bool);

    /// Make `[start, end)` free, merging with the free blocks that touch it.
    ///
    /// # Safety
    /// `[start, end)` lies in the heap's regions, is not free and overlaps
    /// no free block.
    unsafe fn insert_free(&mut self, start: usize, end: usize);

    /// Whether a free block starts exactly at `at`.
    ///
    /// # Safety
    /// The heap's free-block structure is well formed.
    unsafe fn free_starts_at(&self, at: usize) -> bool;

    /// Every free block in address order, as (start, length).
    fn each_free(&self, f: &mut dyn FnMut(usize, usize));

    /// Grow the used block ending at `end` to end at `want` (> `end`) by
    /// taking the front of the free block that starts at `end`; what is
    /// left of it, if at least [`Self::MIN_FREE`], stays free. Returns the
    /// block's new end, or `None` (nothing changed) when no free block
    /// starts at `end` or it is too short.
    ///
    /// # Safety
    /// `end` is the end of a used block of the heap; the heap's free-block
    /// structure is well formed.
    unsafe fn take_from_next(&mut self, end: usize, want: usize) -> Option<usize>;

    /// [`insert_free`](Self::insert_free), poisoning `[start, end)` first
    /// while poisoning is on; when it merges with the free block right
    /// after it, that block's old metadata becomes plain free bytes and is
    /// poisoned too.
    ///
    /// # Safety
    /// As `insert_free`.
    unsafe fn give_back(&mut self, start: usize, end: usize) {
        // SAFETY: the caller's contract; poisoned bytes lie in [start, end)
        // or in the old metadata of the free block at `end`.
        unsafe {
            if !self.poison_flag() {
                return self.insert_free(start, end);
            }
            poison::fill(self.at(start), end - start);
            let merges = self.free_starts_at(end);
            self.insert_free(start, end);
            if merges {
                poison::fill(self.at(end), Self::META);
            }
        }
    }

    /// Turn poisoning on or off; turning it on poisons every free block
    /// (all but its metadata).
    fn switch_poison(&mut self, on: bool) {
        if on && !self.poison_flag() {
            // SAFETY: free blocks are heap memory no allocation uses; the
            // metadata is left alone.
            self.each_free(&mut |s, len| unsafe {
                poison::fill(self.at(s + Self::META), len - Self::META)
            });
        }
        self.store_poison_flag(on);
    }

    /// The new end of the used block `[start, end)` resized in place to end
    /// at `want` (see the module docs), or `None`, changing nothing, when
    /// it cannot stay in place. The caller rewrites the block's header.
    ///
    /// # Safety
    /// `[start, end)` is a used block of the heap; `want` lies above `start`.
    unsafe fn resize_span(&mut self, start: usize, end: usize, want: usize) -> Option<usize> {
        debug_assert!(want > start);
        if want > end {
            // SAFETY: the caller's contract.
            return unsafe { self.take_from_next(end, want) };
        }
        if end - want < Self::MIN_FREE {
            return Some(end);
        }
        // SAFETY: [want, end) is the used block's tail: heap memory that
        // overlaps no free block.
        unsafe { self.give_back(want, end) };
        Some(want)
    }
}
