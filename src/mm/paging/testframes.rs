//! A tiny frame allocator for the paging and VM host tests: a shuffled stack
//! of free frames (so consecutive allocations are rarely contiguous) and a
//! set of the frames handed out, with an optional budget to force failures.

use crate::mm::addr::Frame;
use crate::mm::frame::{FrameAllocator, FrameError};
use crate::testutil::Rng;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

/// See the module doc.
pub(crate) struct TestFrames {
    first: u32,
    count: u32,
    free: Vec<Frame>,
    allocated: BTreeSet<Frame>,
    /// Allocations still allowed; `None` for no limit.
    budget: Option<usize>,
}

impl TestFrames {
    /// Frames `first..first + count`, free, in an order shuffled by `seed`.
    pub(crate) fn new(first: u32, count: usize, seed: u64) -> TestFrames {
        let mut free: Vec<Frame> = (first..first + count as u32).map(Frame).collect();
        let mut rng = Rng::new(seed);
        for i in (1..free.len()).rev() {
            let j = rng.range(0, i + 1);
            free.swap(i, j);
        }
        TestFrames {
            first,
            count: count as u32,
            free,
            allocated: BTreeSet::new(),
            budget: None,
        }
    }
    /// Allow only `n` more allocations (`None`: no limit).
    pub(crate) fn set_budget(&mut self, n: Option<usize>) {
        self.budget = n;
    }
    /// The frames handed out now.
    pub(crate) fn allocated(&self) -> &BTreeSet<Frame> {
        &self.allocated
    }
    fn take_budget(&mut self) -> bool {
        match &mut self.budget {
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
            None => true,
        }
    }
    fn managed(&self, f: Frame) -> bool {
        f.0 >= self.first && f.0 < self.first + self.count
    }
}

impl FrameAllocator for TestFrames {
    fn name(&self) -> &'static str {
        "test"
    }
    fn allocate(&mut self) -> Option<Frame> {
        if self.free.is_empty() || !self.take_budget() {
            return None;
        }
        let f = self.free.pop()?;
        self.allocated.insert(f);
        Some(f)
    }
    fn allocate_contiguous(&mut self, count: usize, align: usize) -> Option<Frame> {
        let count = count as u32;
        let align = align.max(1) as u32;
        let mut start = self.first.next_multiple_of(align);
        while start + count <= self.first + self.count {
            if (start..start + count).all(|n| !self.allocated.contains(&Frame(n))) {
                if !self.take_budget() {
                    return None;
                }
                self.free.retain(|f| f.0 < start || f.0 >= start + count);
                self.allocated.extend((start..start + count).map(Frame));
                return Some(Frame(start));
            }
            start += align;
        }
        None
    }
    fn free(&mut self, frame: Frame) -> Result<(), FrameError> {
        if !self.managed(frame) {
            return Err(FrameError::Unmanaged);
        }
        if !self.allocated.remove(&frame) {
            return Err(FrameError::AlreadyFree);
        }
        self.free.push(frame);
        Ok(())
    }
    fn free_contiguous(&mut self, start: Frame, count: usize) -> Result<(), FrameError> {
        let run = start.0..start.0 + count as u32;
        if !run.clone().all(|n| self.allocated.contains(&Frame(n))) {
            return Err(FrameError::BadRun);
        }
        for n in run {
            self.free(Frame(n))?;
        }
        Ok(())
    }
    fn free_count(&self) -> usize {
        self.free.len()
    }
    fn total_count(&self) -> usize {
        self.count as usize
    }
    fn is_allocated(&self, frame: Frame) -> bool {
        self.allocated.contains(&frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_allocator_counts_and_refuses_double_free() {
        let mut t = TestFrames::new(10, 5, 1);
        let a = t.allocate().unwrap();
        assert!(t.is_allocated(a));
        assert_eq!(t.free_count(), 4);
        assert_eq!(t.free(a), Ok(()));
        assert_eq!(t.free(a), Err(FrameError::AlreadyFree));
        assert_eq!(t.free(Frame(3)), Err(FrameError::Unmanaged));
        t.set_budget(Some(1));
        assert!(t.allocate().is_some());
        assert!(t.allocate().is_none());
        t.set_budget(None);
        let run = t.allocate_contiguous(2, 2).unwrap();
        assert_eq!(run.0 % 2, 0);
        assert_eq!(t.free_contiguous(run, 2), Ok(()));
    }
}
