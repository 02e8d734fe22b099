//! An allocation of the buddy frame allocator: handed out (the block of
//! the smallest order that holds it, its unused tail given back at once)
//! and given back after its start and length are validated. A bad free
//! names its cause and changes nothing.
//!
//! ```text
//!   allocate_contiguous(3, 1): order 2 block 0x1D8..0x1DC taken,
//!     frame 0x1DB given back; starts[0x1D8] set, next[0x1D8] = 3
//! ```

use super::{BuddyFrameAllocator, order_for};
use crate::mm::addr::Frame;
use crate::mm::frame::{FrameAllocator, FrameError, normalize_align};

impl BuddyFrameAllocator<'_> {
    /// Give back the whole allocation that starts at `start` and return its length.
    pub fn release(&mut self, start: Frame) -> Result<usize, FrameError> {
        let len = self.validate(start, None)?;
        self.finish_free(start.0 as usize, len);
        Ok(len)
    }

    /// The length of the allocation starting at `start`, checked against
    /// `count` when given; the allocator is not changed.
    fn validate(&self, start: Frame, count: Option<usize>) -> Result<usize, FrameError> {
        self.plan.check_managed(start)?;
        let i = start.0 as usize;
        if !self.starts.test(i) {
            return Err(if self.is_free(i) {
                FrameError::AlreadyFree
            } else {
                FrameError::BadRun
            });
        }
        let len = self.next[i] as usize;
        match count {
            Some(c) if c != len => Err(FrameError::BadRun),
            _ => Ok(len),
        }
    }

    fn finish_free(&mut self, i: usize, len: usize) {
        self.starts.clear(i);
        self.give_range(i, i + len);
        self.free += len;
    }
}

impl FrameAllocator for BuddyFrameAllocator<'_> {
    fn name(&self) -> &'static str {
        "buddy"
    }

    fn allocate(&mut self) -> Option<Frame> {
        self.allocate_contiguous(1, 1)
    }

    fn allocate_contiguous(&mut self, count: usize, align: usize) -> Option<Frame> {
        if count == 0 {
            return None;
        }
        let k = order_for(count.max(normalize_align(align)?))?;
        let i = self.take_block(k)?;
        // Give the unused tail back at once (alloc_pages_exact).
        self.give_range(i + count, i + (1 << k));
        self.starts.set(i);
        self.next[i] = count as u32;
        self.free -= count;
        Some(Frame(i as u32))
    }

    fn free(&mut self, frame: Frame) -> Result<(), FrameError> {
        self.free_contiguous(frame, 1)
    }

    fn free_contiguous(&mut self, start: Frame, count: usize) -> Result<(), FrameError> {
        let len = self.validate(start, Some(count))?;
        self.finish_free(start.0 as usize, len);
        Ok(())
    }

    fn free_count(&self) -> usize {
        self.free
    }

    fn total_count(&self) -> usize {
        self.plan.usable_frames()
    }

    fn is_allocated(&self, frame: Frame) -> bool {
        self.plan.check_managed(frame).is_ok() && !self.is_free(frame.0 as usize)
    }
}
