//! The simplest heap there is: a bump allocator over an array it holds.
//!
//! ```text
//!   arena [ block | pad | block | block |            free             ]
//!           ^start                        ^next (bumps up)            ^N
//!   alloc: align `next` up, hand out `size` bytes, bump `next` past them
//!   free:  the last block handed out gives its bytes back (`next` drops);
//!          when no block is live at all, `next` goes back to the start
//! ```
//!
//! It never reuses a block in the middle: a free there only counts. This is
//! the course's stand-in wherever the kernel needs `Box` and `Vec` before
//! (or beside) a real heap: on the branches of modules 1 and 2, before the
//! buddy heap is taught, and on the lab branch of module 3, where the buddy
//! heap's split and coalesce are the student's to write and the kernel's own
//! allocations must not depend on them (docs/teaching.md, "Stand-ins").

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use spin::Mutex;

/// The arena: `N` bytes, 16-aligned (every alignment above is reached by
/// padding).
#[repr(C, align(16))]
struct Arena<const N: usize>(UnsafeCell<[u8; N]>);

/// Where the bump is, and how many blocks are live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BumpStats {
    /// Bytes of the arena.
    pub size: usize,
    /// Offset of the first byte never handed out since the last reset.
    pub next: usize,
    /// Blocks handed out and not freed.
    pub live: usize,
    /// Requests refused (no room left).
    pub refused: usize,
}

/// A bump allocator over an `N`-byte array of its own; usable as a
/// `#[global_allocator]` as it is (no init: the array is in the static).
pub struct BumpHeap<const N: usize> {
    arena: Arena<N>,
    state: Mutex<BumpStats>,
}

// SAFETY: the arena is only reached through blocks the lock hands out, each
// to one owner; the lock guards the bookkeeping.
unsafe impl<const N: usize> Sync for BumpHeap<N> {}

impl<const N: usize> Default for BumpHeap<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> BumpHeap<N> {
    /// An empty heap over its zeroed array.
    pub const fn new() -> BumpHeap<N> {
        BumpHeap {
            arena: Arena(UnsafeCell::new([0; N])),
            state: Mutex::new(BumpStats {
                size: N,
                next: 0,
                live: 0,
                refused: 0,
            }),
        }
    }

    fn base(&self) -> usize {
        self.arena.0.get() as usize
    }

    /// The heap's figures now.
    pub fn stats(&self) -> BumpStats {
        *self.state.lock()
    }

    /// True when `ptr` points into the arena.
    pub fn contains(&self, ptr: *const u8) -> bool {
        (self.base()..self.base() + N).contains(&(ptr as usize))
    }

    /// `layout.size()` bytes aligned to `layout.align()`, or `None` when the
    /// arena has no room left (zero-size layouts get one byte).
    pub fn allocate(&self, layout: Layout) -> Option<*mut u8> {
        let base = self.base();
        let mut s = self.state.lock();
        let at = (base + s.next).checked_next_multiple_of(layout.align())?;
        let end = at.checked_add(layout.size().max(1))?;
        if end > base + N {
            s.refused += 1;
            return None;
        }
        s.next = end - base;
        s.live += 1;
        Some(at as *mut u8)
    }

    /// Give back a block [`allocate`](Self::allocate) returned: the last
    /// block's bytes are reused, and every byte once no block is live.
    /// A pointer outside the arena is ignored.
    pub fn free(&self, ptr: *mut u8, layout: Layout) {
        if !self.contains(ptr) {
            return;
        }
        let off = ptr as usize - self.base();
        let mut s = self.state.lock();
        s.live = s.live.saturating_sub(1);
        if s.live == 0 {
            s.next = 0;
        } else if off + layout.size().max(1) == s.next {
            s.next = off;
        }
    }
}

// SAFETY: `allocate` hands out disjoint, aligned ranges of the arena (or
// null); `free` only moves the bump down over bytes no live block holds.
unsafe impl<const N: usize> GlobalAlloc for BumpHeap<N> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocate(layout).unwrap_or(core::ptr::null_mut())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.free(ptr, layout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    fn l(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn blocks_are_aligned_disjoint_and_inside() {
        let h = Box::new(BumpHeap::<4096>::new());
        let mut got: Vec<(usize, usize)> = Vec::new();
        for (i, align) in [1, 2, 8, 64, 256, 4, 16].into_iter().enumerate() {
            let size = 10 + i * 7;
            let p = h.allocate(l(size, align)).unwrap() as usize;
            assert_eq!(p % align, 0);
            assert!(h.contains(p as *const u8) && h.contains((p + size - 1) as *const u8));
            for &(q, n) in &got {
                assert!(p >= q + n || p + size <= q, "overlap");
            }
            got.push((p, size));
        }
        assert_eq!(h.stats().live, 7);
    }

    #[test]
    fn a_full_arena_refuses_and_counts() {
        let h = Box::new(BumpHeap::<256>::new());
        assert!(h.allocate(l(200, 1)).is_some());
        assert!(h.allocate(l(100, 1)).is_none());
        assert!(h.allocate(l(usize::MAX / 2, 1)).is_none());
        assert_eq!(h.stats().refused, 2);
        assert!(h.allocate(l(56, 1)).is_some());
    }

    #[test]
    fn the_last_block_comes_back_and_all_when_none_is_live() {
        let h = Box::new(BumpHeap::<1024>::new());
        let a = h.allocate(l(100, 1)).unwrap();
        let b = h.allocate(l(100, 1)).unwrap();
        h.free(b, l(100, 1));
        assert_eq!(h.stats().next, 100, "the last block's bytes are reused");
        let c = h.allocate(l(100, 1)).unwrap();
        assert_eq!(c, b);
        h.free(a, l(100, 1));
        assert_eq!(h.stats().next, 200, "a middle block only counts");
        h.free(c, l(100, 1));
        assert_eq!(
            h.stats(),
            BumpStats {
                size: 1024,
                next: 0,
                live: 0,
                refused: 0
            }
        );
        // A pointer from elsewhere changes nothing.
        let mut x = 0u8;
        h.free(&mut x, l(1, 1));
        assert_eq!(h.stats().live, 0);
    }

    #[test]
    fn works_as_a_global_allocator() {
        let h = Box::new(BumpHeap::<4096>::new());
        // SAFETY: a non-zero layout; freed once with the same layout.
        unsafe {
            let p = h.alloc(l(32, 8));
            assert!(!p.is_null());
            p.write_bytes(0xAB, 32);
            h.dealloc(p, l(32, 8));
            assert!(h.alloc(l(8192, 8)).is_null());
        }
        assert_eq!(h.stats().live, 0);
    }
}
