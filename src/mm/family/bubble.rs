//! BubbleAllocator: a bump pointer that never gives memory back.
//!
//! ```text
//!   base                      base+allocated                 base+size
//!   |██ a ██|pad|██ b ██|██ c ██|..........free.................|
//!                               ^ next allocation starts here (aligned)
//! ```
//!
//! FreeNOS's version rounds each size up to the range's alignment and
//! ignores the alignment asked for; Cairn honours the requested alignment
//! (the padding counts as used), refuses size 0 and bad alignments, and
//! cannot overflow. Release is refused, as in FreeNOS: the memory comes back
//! only when the whole allocator is dropped. Use it for boot-time tables
//! that live forever, or as the parent of a short-lived pool.

use super::{AllocError, Allocator, FamilyCheckError, Range, align_up};
use core::fmt;

/// A bump allocator over one range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BubbleAllocator {
    range: Range,
    allocated: usize,
}

impl BubbleAllocator {
    /// A bump allocator over `range`; its `alignment` (a power of two, at
    /// least 4) is the default for requests and sizes are rounded to it.
    /// Fails with `InvalidAlignment` or `InvalidSize` (size 0, not a multiple
    /// of the alignment, or running past the end of the address space).
    pub fn new(range: Range) -> Result<BubbleAllocator, AllocError> {
        if range.alignment < 4 || !range.alignment.is_power_of_two() {
            return Err(AllocError::InvalidAlignment);
        }
        if range.size == 0
            || !range.size.is_multiple_of(range.alignment)
            || range.address.checked_add(range.size).is_none()
            || !range.address.is_multiple_of(range.alignment)
        {
            return Err(AllocError::InvalidSize);
        }
        Ok(BubbleAllocator {
            range,
            allocated: 0,
        })
    }

    /// Bytes handed out so far, padding included.
    pub fn allocated(&self) -> usize {
        self.allocated
    }

    /// Integrity check: the bump pointer lies inside the range and on the
    /// range's alignment.
    pub fn check(&self) -> Result<(), FamilyCheckError> {
        if self.allocated > self.range.size {
            return Err(FamilyCheckError::BumpPastEnd);
        }
        if !self.allocated.is_multiple_of(self.range.alignment) {
            return Err(FamilyCheckError::BumpMisaligned);
        }
        Ok(())
    }

    /// Write a one-line report: range, used and free bytes.
    pub fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(
            out,
            "bubble [{:#010x} , {:#010x}] {} bytes: {} used, {} free",
            self.range.address,
            self.range.end() - 1,
            self.range.size,
            self.allocated,
            self.available()
        )
    }
}

impl Allocator for BubbleAllocator {
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        let align = match request.alignment {
            0 => self.range.alignment,
            a if a.is_power_of_two() => a.max(self.range.alignment),
            _ => return Err(AllocError::InvalidAlignment),
        };
        if request.size == 0 {
            return Err(AllocError::InvalidSize);
        }
        let size = align_up(request.size, self.range.alignment).ok_or(AllocError::InvalidSize)?;
        let next = self.range.address + self.allocated;
        let start = align_up(next, align).ok_or(AllocError::OutOfMemory)?;
        let end = start.checked_add(size).ok_or(AllocError::OutOfMemory)?;
        if end > self.range.end() {
            return Err(AllocError::OutOfMemory);
        }
        self.allocated = end - self.range.address;
        Ok(Range {
            address: start,
            size,
            alignment: align,
        })
    }

    /// Always `InvalidAddress`: a bubble allocator never releases.
    fn release(&mut self, _address: usize) -> Result<(), AllocError> {
        Err(AllocError::InvalidAddress)
    }

    fn size(&self) -> usize {
        self.range.size
    }

    fn available(&self) -> usize {
        self.range.size - self.allocated
    }

    fn base(&self) -> usize {
        self.range.address
    }

    fn alignment(&self) -> usize {
        self.range.alignment
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::layout::PAGE_SIZE;
    use crate::testutil::{Rng, soak_ops};

    fn bubble(base: usize, size: usize) -> BubbleAllocator {
        BubbleAllocator::new(Range {
            address: base,
            size,
            alignment: 4,
        })
        .unwrap()
    }

    // FreeNOS BubbleConstruct: the range is taken as given.
    #[test]
    fn construct() {
        let mut rng = Rng::new(7);
        let base = rng.range(1, 0x4000_0000) & !3;
        let size = rng.range(PAGE_SIZE, PAGE_SIZE * 16) & !3;
        let b = bubble(base, size);
        assert_eq!(b.base(), base);
        assert_eq!(b.size(), size);
        assert_eq!(b.available(), size);
        assert_eq!(b.alignment(), 4);
        assert_eq!(b.allocated(), 0);
        b.check().unwrap();
    }

    #[test]
    fn construct_rejects_bad_ranges() {
        let r = |address, size, alignment| Range {
            address,
            size,
            alignment,
        };
        assert_eq!(
            BubbleAllocator::new(r(0, 64, 3)),
            Err(AllocError::InvalidAlignment)
        );
        assert_eq!(
            BubbleAllocator::new(r(0, 64, 2)),
            Err(AllocError::InvalidAlignment)
        );
        assert_eq!(
            BubbleAllocator::new(r(0, 0, 4)),
            Err(AllocError::InvalidSize)
        );
        assert_eq!(
            BubbleAllocator::new(r(0, 66, 4)),
            Err(AllocError::InvalidSize)
        );
        assert_eq!(
            BubbleAllocator::new(r(usize::MAX - 3, 8, 4)),
            Err(AllocError::InvalidSize)
        );
    }

    #[test]
    fn allocates_in_order_and_rounds_sizes() {
        let mut b = bubble(0x1000, 64);
        let a = b.allocate(Range::request(5, 0)).unwrap();
        assert_eq!((a.address, a.size), (0x1000, 8));
        let c = b.allocate(Range::request(4, 0)).unwrap();
        assert_eq!(c.address, 0x1008);
        assert_eq!(b.available(), 64 - 12);
    }

    #[test]
    fn honours_requested_alignment() {
        let mut b = bubble(0x1004, 0x100);
        let a = b.allocate(Range::request(4, 0)).unwrap();
        assert_eq!(a.address, 0x1004);
        let c = b.allocate(Range::request(4, 0x40)).unwrap();
        assert_eq!(c.address, 0x1040);
        assert_eq!(b.allocated(), 0x40);
        assert_eq!(
            b.allocate(Range::request(4, 24)),
            Err(AllocError::InvalidAlignment)
        );
    }

    #[test]
    fn full_and_release_refused() {
        let mut b = bubble(0x2000, 16);
        b.allocate(Range::request(8, 0)).unwrap();
        b.allocate(Range::request(8, 0)).unwrap();
        let before = b.clone();
        assert_eq!(
            b.allocate(Range::request(1, 0)),
            Err(AllocError::OutOfMemory)
        );
        assert_eq!(b.release(0x2000), Err(AllocError::InvalidAddress));
        assert_eq!(
            b.allocate(Range::request(0, 0)),
            Err(AllocError::InvalidSize)
        );
        assert_eq!(
            b.allocate(Range::request(usize::MAX, 0)),
            Err(AllocError::InvalidSize)
        );
        assert_eq!(b, before);
        assert_eq!(b.available(), 0);
    }

    #[test]
    fn dump_reports_usage() {
        let mut b = bubble(0x1000, 0x100);
        b.allocate(Range::request(0x10, 0)).unwrap();
        let mut s = alloc::string::String::new();
        b.dump(&mut s).unwrap();
        assert_eq!(
            s,
            "bubble [0x00001000 , 0x000010ff] 256 bytes: 16 used, 240 free\n"
        );
    }

    /// Model: the bump pointer and the list of ranges handed out.
    #[test]
    fn bubble_soak_against_model() {
        let ops = soak_ops(100_000);
        let mut rng = Rng::new(0xB0B);
        let size = 1 << 20;
        let mut b = bubble(0x4000_0000, size);
        let mut model_next = 0x4000_0000usize;
        let mut last_end = 0x4000_0000usize;
        for _ in 0..ops {
            if b.available() < 64 {
                b = bubble(0x4000_0000, size);
                model_next = 0x4000_0000;
                last_end = model_next;
            }
            match rng.range(0, 10) {
                0 => {
                    let before = b.clone();
                    let addr = rng.range(0x4000_0000, 0x4000_0000 + size);
                    assert_eq!(b.release(addr), Err(AllocError::InvalidAddress));
                    assert_eq!(b, before);
                }
                1 => {
                    let before = b.clone();
                    let bad_align = rng.range(2, 64) * 2 + 1;
                    assert_eq!(
                        b.allocate(Range::request(8, bad_align)),
                        Err(AllocError::InvalidAlignment)
                    );
                    assert_eq!(b, before);
                }
                _ => {
                    let req = rng.range(1, 2048);
                    let align = 1 << rng.range(0, 9);
                    let eff = align.max(4);
                    let start = (model_next + eff - 1) & !(eff - 1);
                    let rounded = (req + 3) & !3;
                    let fits = start + rounded <= 0x4000_0000 + size;
                    let before = b.clone();
                    match b.allocate(Range::request(req, align)) {
                        Ok(r) => {
                            assert!(fits);
                            assert_eq!(r.address, start);
                            assert!(r.size >= req);
                            assert!(r.address.is_multiple_of(align));
                            assert!(r.address >= last_end, "overlap");
                            assert!(r.end() <= 0x4000_0000 + size);
                            model_next = r.end();
                            last_end = r.end();
                        }
                        Err(e) => {
                            assert!(!fits);
                            assert_eq!(e, AllocError::OutOfMemory);
                            assert_eq!(b, before);
                        }
                    }
                }
            }
            assert_eq!(b.available(), 0x4000_0000 + size - model_next);
            b.check().unwrap();
        }
    }
}
