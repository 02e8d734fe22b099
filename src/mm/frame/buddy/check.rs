//! The buddy frame allocator's integrity check: every list against its
//! bitmap and count, every block aligned, managed, not nested and merged,
//! every allocation apart from the free blocks, and the counts adding up.

use super::{BuddyFrameAllocator, NIL};
use crate::mm::frame::check::FrameCheckError;
use crate::mm::frame::{MAX_ORDER, ORDERS};

impl BuddyFrameAllocator<'_> {
    /// Integrity check: every list is well linked and matches its bitmap and
    /// count; blocks are aligned, inside managed memory, not nested in a free
    /// block of a higher order, and not left unmerged with a free buddy;
    /// allocations do not overlap free blocks or each other; the counts add up.
    pub fn check(&self) -> Result<(), FrameCheckError> {
        let mut free = 0;
        for k in 0..ORDERS {
            let mut i = self.first[k];
            let mut prev = NIL;
            let mut n = 0;
            while i != NIL {
                let b = i as usize;
                if n > self.counts[k] {
                    return Err(FrameCheckError::BuddyListTooLong);
                }
                if self.prev[b] != prev {
                    return Err(FrameCheckError::BuddyBrokenLink);
                }
                if !b.is_multiple_of(1 << k) || b + (1 << k) > self.span {
                    return Err(FrameCheckError::BuddyMisaligned);
                }
                if !self.free_at[k].test(b >> k) {
                    return Err(FrameCheckError::BuddyNotInBitmap);
                }
                if !self.plan.is_usable_run(b, 1 << k) {
                    return Err(FrameCheckError::BuddyUnmanaged);
                }
                if ((k + 1)..ORDERS).any(|j| self.free_at[j].test(b >> j)) {
                    return Err(FrameCheckError::BuddyNested);
                }
                if k < MAX_ORDER && self.free_at[k].test((b ^ (1 << k)) >> k) {
                    return Err(FrameCheckError::BuddyUnmerged);
                }
                prev = i;
                i = self.next[b];
                n += 1;
            }
            if n != self.counts[k] || self.free_at[k].count_ones() != n {
                return Err(FrameCheckError::BuddyCountMismatch);
            }
            self.free_at[k].check()?;
            free += n << k;
        }
        if free != self.free {
            return Err(FrameCheckError::BuddyFreeSum);
        }
        self.starts.check()?;
        let mut used = 0;
        let mut end = 0;
        let mut at = 0;
        while let Some(s) = self.starts.next_set(at) {
            let len = self.next[s] as usize;
            if s < end {
                return Err(FrameCheckError::BuddyOverlap);
            }
            if len == 0 || !self.plan.is_usable_run(s, len) {
                return Err(FrameCheckError::BuddyEmptyAllocation);
            }
            if (s..s + len).any(|f| self.is_free(f)) {
                return Err(FrameCheckError::BuddyAllocatedAndFree);
            }
            used += len;
            end = s + len;
            at = s + 1;
        }
        if used + self.free != self.plan.usable_frames() {
            return Err(FrameCheckError::BuddyTotal);
        }
        Ok(())
    }
}
