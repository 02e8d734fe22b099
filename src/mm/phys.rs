//! How pure `mm` code reaches physical memory without importing `arch`.
//!
//! The kernel implements [`PhysMemory`] over the linear space (and a
//! temporary mapping window for frames above it); host tests implement it
//! over [`SimMemory`], a `Vec` that stands in for RAM.

use super::addr::{Frame, PhysAddr};
use super::layout::PAGE_SIZE;
use alloc::vec::Vec;

/// Access to the bytes of physical frames.
pub trait PhysMemory {
    /// A pointer to the first byte of `frame`, valid for `PAGE_SIZE` bytes
    /// until the next call on this object.
    ///
    /// Panics if the frame is not backed (a broken invariant of the caller).
    fn frame_ptr(&self, frame: Frame) -> *mut u8;
}

/// Simulated physical memory for host tests and benchmarks: `frames` frames
/// starting at physical address 0.
pub struct SimMemory {
    bytes: Vec<u8>,
}

impl SimMemory {
    /// `frames` zeroed frames, page-aligned in host memory.
    pub fn new(frames: usize) -> SimMemory {
        // Over-allocate by one page so the frames can start page-aligned.
        SimMemory {
            bytes: alloc::vec![0; (frames + 1) * PAGE_SIZE],
        }
    }
    /// How many frames are simulated.
    pub fn frames(&self) -> usize {
        self.bytes.len() / PAGE_SIZE - 1
    }
    fn base(&self) -> *mut u8 {
        let p = self.bytes.as_ptr() as usize;
        let aligned = (p + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        aligned as *mut u8
    }
    /// Read a 32-bit word at a physical address.
    pub fn read_u32(&self, addr: PhysAddr) -> u32 {
        assert!(
            (addr.0 as usize) + 4 <= self.frames() * PAGE_SIZE,
            "SimMemory: read past end"
        );
        // SAFETY: bounds checked above; the buffer lives as long as self.
        unsafe { (self.base().add(addr.0 as usize) as *const u32).read_unaligned() }
    }
}

impl PhysMemory for SimMemory {
    fn frame_ptr(&self, frame: Frame) -> *mut u8 {
        assert!(
            (frame.0 as usize) < self.frames(),
            "SimMemory: {frame:?} is not simulated"
        );
        // SAFETY: the frame lies inside the buffer (checked above).
        unsafe { self.base().add(frame.0 as usize * PAGE_SIZE) }
    }
}
