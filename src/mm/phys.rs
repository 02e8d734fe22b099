//! How pure `mm` code reaches physical memory without importing `arch`.
//!
//! The kernel implements [`PhysMemory`] over the linear space (and a
//! temporary mapping window for frames above it); host tests implement it
//! over [`SimMemory`], a `Vec` that stands in for RAM.

use super::addr::{Frame, PhysAddr};
use super::layout::PAGE_SIZE;
use core::alloc::Layout;
use core::ptr::NonNull;

/// Access to the bytes of physical frames.
pub trait PhysMemory {
    /// A pointer to the first byte of `frame`, valid for `PAGE_SIZE` bytes
    /// until the next call on this object.
    ///
    /// Panics if the frame is not backed (a broken invariant of the caller).
    fn frame_ptr(&self, frame: Frame) -> *mut u8;
}

/// Simulated physical memory for host tests and benchmarks: `frames` frames
/// starting at physical address 0, in one page-aligned host allocation.
///
/// Every frame pointer is derived from the allocation's own pointer (never
/// from an integer), so Miri checks accesses through it with strict
/// provenance; the allocation is written through those pointers, never
/// through a reference, so handing out `*mut u8` from `&self` is sound.
pub struct SimMemory {
    base: NonNull<u8>,
    layout: Layout,
}

// SAFETY: SimMemory owns its allocation; the pointers it hands out are raw,
// and whoever writes through them from several threads synchronises (as
// with real RAM).
unsafe impl Send for SimMemory {}
// SAFETY: as above: `&SimMemory` gives only raw pointers.
unsafe impl Sync for SimMemory {}

impl SimMemory {
    /// `frames` zeroed frames (at least one is allocated), page-aligned in host memory.
    pub fn new(frames: usize) -> SimMemory {
        let layout = Layout::from_size_align(frames.max(1) * PAGE_SIZE, PAGE_SIZE)
            .expect("SimMemory: size overflows");
        // SAFETY: the size is non-zero.
        let p = unsafe { alloc::alloc::alloc_zeroed(layout) };
        let Some(base) = NonNull::new(p) else {
            alloc::alloc::handle_alloc_error(layout)
        };
        SimMemory { base, layout }
    }
    /// How many frames are simulated.
    pub fn frames(&self) -> usize {
        self.layout.size() / PAGE_SIZE
    }
    /// Read a 32-bit word at a physical address.
    pub fn read_u32(&self, addr: PhysAddr) -> u32 {
        assert!(
            (addr.0 as usize) + 4 <= self.frames() * PAGE_SIZE,
            "SimMemory: read past end"
        );
        // SAFETY: bounds checked above; the allocation lives as long as self.
        unsafe {
            self.base
                .as_ptr()
                .add(addr.0 as usize)
                .cast::<u32>()
                .read_unaligned()
        }
    }
}

impl Drop for SimMemory {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { alloc::alloc::dealloc(self.base.as_ptr(), self.layout) }
    }
}

impl PhysMemory for SimMemory {
    fn frame_ptr(&self, frame: Frame) -> *mut u8 {
        assert!(
            (frame.0 as usize) < self.frames(),
            "SimMemory: {frame:?} is not simulated"
        );
        // SAFETY: the frame lies inside the buffer (checked above).
        unsafe { self.base.as_ptr().add(frame.0 as usize * PAGE_SIZE) }
    }
}
