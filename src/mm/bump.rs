//! The simplest heap that serves a shell: a bump allocator over an array it
//! holds, which takes memory back like a stack.
//!
//! ```text
//!   arena [h|block|h|block (freed)|h|block|        free            ]
//!          ^start                            ^top (bumps up)      ^N
//!   alloc: a 16-byte header, then the block, aligned, at `top`; bump `top`
//!   free:  mark the block freed; then, while the topmost block is freed,
//!          pop it: `top` drops back to where that block began
//! ```
//!
//! A block freed below a live one is only marked: its bytes come back once
//! every block above it is freed too. A shell's long-lived buffers sit at
//! the bottom; what one command allocates sits above them and goes away
//! with the command. This is the course's stand-in wherever the kernel needs
//! `Box` and `Vec` before (or beside) a real heap: on the branches of
//! modules 1 and 2, before the buddy heap is taught, and on the lab branch
//! of module 3, where the buddy heap's split and coalesce are the student's
//! to write and the kernel's own allocations must not depend on them
//! (docs/teaching.md, "Stand-ins").

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use spin::Mutex;

/// Bytes of the header before every block.
const HEADER: usize = 16;
/// "No block": the header offset of an empty stack.
const NONE: u32 = u32::MAX;

/// The arena: `N` bytes, 16-aligned (larger alignments are reached by
/// padding).
#[repr(C, align(16))]
struct Arena<const N: usize>(UnsafeCell<[u8; N]>);

/// What the header before a block records.
#[derive(Clone, Copy)]
#[repr(C)]
struct Header {
    /// `top` before this block was allocated (where popping it returns to).
    below: u32,
    /// The header offset of the block allocated before it (`NONE`: none).
    prev: u32,
    /// 1 once `free` gave the block back; it is popped once it is the topmost.
    freed: u32,
}

const _: () = assert!(core::mem::size_of::<Header>() <= HEADER);
/// The heap's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BumpStats {
    /// Bytes of the arena.
    pub size: usize,
    /// Offset of the first byte above every block not yet popped.
    pub top: usize,
    /// Blocks handed out and not freed.
    pub live: usize,
    /// Requests refused (no room left).
    pub refused: usize,
}

struct State {
    stats: BumpStats,
    /// The header offset of the topmost block, or `NONE`.
    last: u32,
}

/// A bump allocator over an `N`-byte array of its own; usable as a
/// `#[global_allocator]` as it is (no init: the array is in the static).
pub struct BumpHeap<const N: usize> {
    arena: Arena<N>,
    state: Mutex<State>,
}

// SAFETY: the arena is only reached through blocks the lock hands out, each
// to one owner, and through headers, which are read and written under the lock.
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
            state: Mutex::new(State {
                stats: BumpStats {
                    size: N,
                    top: 0,
                    live: 0,
                    refused: 0,
                },
                last: NONE,
            }),
        }
    }

    /// The arena's first byte: every pointer the heap makes (blocks,
    /// headers) is derived from it, so it carries the arena's provenance.
    fn base_ptr(&self) -> *mut u8 {
        self.arena.0.get().cast::<u8>()
    }

    fn base(&self) -> usize {
        self.base_ptr().addr()
    }

    fn header(&self, off: u32) -> *mut Header {
        self.base_ptr().wrapping_add(off as usize).cast::<Header>()
    }

    /// The heap's figures now.
    pub fn stats(&self) -> BumpStats {
        self.state.lock().stats
    }

    /// True when `ptr` points into the arena.
    pub fn contains(&self, ptr: *const u8) -> bool {
        (self.base()..self.base() + N).contains(&ptr.addr())
    }

    /// `layout.size()` bytes aligned to `layout.align()`, or `None` when the
    /// arena has no room left (zero-size layouts get one byte).
    pub fn allocate(&self, layout: Layout) -> Option<*mut u8> {
        let base = self.base();
        let mut s = self.state.lock();
        let below = s.stats.top;
        let at = (base + below + HEADER).checked_next_multiple_of(layout.align().max(HEADER))?;
        let end = at.checked_add(layout.size().max(1))?;
        if end > base + N {
            s.stats.refused += 1;
            return None;
        }
        let (Ok(h), Ok(below)) = (u32::try_from(at - HEADER - base), u32::try_from(below)) else {
            s.stats.refused += 1;
            return None;
        };
        // SAFETY: the header's 16 bytes lie in the arena above `top`, which
        // no block holds; 16-aligned.
        unsafe {
            self.header(h).write(Header {
                below,
                prev: s.last,
                freed: 0,
            })
        };
        s.last = h;
        s.stats.top = end - base;
        s.stats.live += 1;
        Some(self.base_ptr().wrapping_add(at - base))
    }

    /// Give back a block [`allocate`](Self::allocate) returned: it is marked
    /// freed, and every freed block on top of the stack is popped. A pointer
    /// outside the arena, or one whose header says it is free already, is
    /// ignored.
    pub fn free(&self, ptr: *mut u8) {
        if !self.contains(ptr) || ptr.addr() < self.base() + HEADER {
            return;
        }
        let mut s = self.state.lock();
        let Ok(h) = u32::try_from(ptr.addr() - self.base() - HEADER) else {
            return;
        };
        // SAFETY: a block's header lies in the 16 bytes below it (the
        // caller passes a pointer `allocate` returned); the lock is held.
        unsafe {
            let hdr = self.header(h);
            if (*hdr).freed != 0 {
                return;
            }
            (*hdr).freed = 1;
            s.stats.live = s.stats.live.saturating_sub(1);
            while s.last != NONE && (*self.header(s.last)).freed != 0 {
                let top = *self.header(s.last);
                s.stats.top = top.below as usize;
                s.last = top.prev;
            }
        }
    }
}

// SAFETY: `allocate` hands out disjoint, aligned ranges of the arena (or
// null); `free` pops only blocks that are freed.
unsafe impl<const N: usize> GlobalAlloc for BumpHeap<N> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocate(layout).unwrap_or(core::ptr::null_mut())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        self.free(ptr)
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
            let block = h.allocate(l(size, align)).unwrap();
            let p = block.addr();
            assert_eq!(p % align, 0);
            assert!(h.contains(block) && h.contains(block.wrapping_add(size - 1)));
            for &(q, n) in &got {
                assert!(p >= q + n + HEADER || p + size + HEADER <= q, "overlap");
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
        assert!(h.allocate(l(8, 1)).is_some());
    }

    #[test]
    fn frees_pop_the_stack_once_the_top_is_free() {
        let h = Box::new(BumpHeap::<1024>::new());
        let a = h.allocate(l(100, 1)).unwrap();
        let b = h.allocate(l(100, 1)).unwrap();
        let c = h.allocate(l(100, 1)).unwrap();
        let full = h.stats().top;
        h.free(b);
        assert_eq!(h.stats().live, 2);
        assert_eq!(h.stats().top, full, "b is below c: only marked");
        h.free(c);
        let top = h.stats().top;
        assert!(top < 2 * (100 + HEADER), "c and then b popped: top {top}");
        let d = h.allocate(l(100, 1)).unwrap();
        assert_eq!(d, b, "b's bytes are reused");
        h.free(a);
        h.free(d);
        assert_eq!(
            h.stats(),
            BumpStats {
                size: 1024,
                top: 0,
                live: 0,
                refused: 0
            }
        );
    }

    #[test]
    fn bad_frees_change_nothing() {
        let h = Box::new(BumpHeap::<1024>::new());
        let a = h.allocate(l(10, 1)).unwrap();
        let _b = h.allocate(l(10, 1)).unwrap();
        h.free(a);
        let s = h.stats();
        h.free(a); // twice: its header says freed
        let mut x = 0u8;
        h.free(&mut x); // not from this heap
        assert_eq!(h.stats(), s);
    }

    #[test]
    fn a_growing_vec_and_churn_do_not_exhaust_it() {
        let h = Box::new(BumpHeap::<4096>::new());
        let keep = h.allocate(l(64, 8)).unwrap();
        for round in 0..1000 {
            let n = 1 + round % 700;
            let p = h
                .allocate(l(n, 8))
                .unwrap_or_else(|| panic!("round {round}"));
            let q = h.allocate(l(n / 2 + 1, 1)).unwrap();
            h.free(p);
            h.free(q);
        }
        assert_eq!(h.stats().live, 1);
        h.free(keep);
        assert_eq!(h.stats().top, 0);
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
