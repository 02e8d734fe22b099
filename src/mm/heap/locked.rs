//! `LockedHeap`: a [`BuddyHeap`] behind a spin lock, usable as the kernel's
//! `#[global_allocator]`, with a grow hook that maps more of the heap's arena
//! when an allocation fails.
//!
//! ```text
//!   alloc(layout) ──► heap.alloc_layout ──ok──► pointer
//!                          │ OutOfMemory
//!                          ▼
//!                  grow(end, min_bytes) ── maps pages at `end` ──► Some(n)
//!                          │                                         │
//!                          │ None: null pointer     heap.add_backed(n), retry
//! ```
//!
//! The lock is a plain `spin::Mutex`: interrupt handlers must not allocate,
//! and the grow hook runs with the lock held, so it must not allocate from
//! this heap either (it takes frames from the frame allocator and maps them).

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};

use super::buddy::{BuddyHeap, HeapError};

/// The grow hook: called with the address of the first unbacked byte of the
/// arena and the least number of bytes that would let the failed request
/// succeed. It maps memory at that address and returns how many bytes it
/// mapped (at least `min_bytes` is best; any positive amount is retried), or
/// `None` when it cannot.
pub type GrowFn = fn(end: usize, min_bytes: usize) -> Option<usize>;

/// A buddy heap behind a spin lock; implements `GlobalAlloc`.
pub struct LockedHeap {
    heap: spin::Mutex<BuddyHeap>,
    grow: spin::Mutex<Option<GrowFn>>,
}

impl Default for LockedHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl LockedHeap {
    /// An empty heap (every allocation fails) for a `static`; give it memory
    /// with `init` or `init_arena`.
    pub const fn new() -> LockedHeap {
        LockedHeap {
            heap: spin::Mutex::new(BuddyHeap::empty()),
            grow: spin::Mutex::new(None),
        }
    }

    /// Give the heap `len` bytes at `base`, blocks of scales `min..=max`.
    /// Replaces any earlier heap (whose allocations must all be gone).
    ///
    /// # Safety
    /// As [`BuddyHeap::new`].
    pub unsafe fn init(
        &self,
        base: *mut u8,
        len: usize,
        min_scale: u8,
        max_scale: u8,
    ) -> Result<(), HeapError> {
        // SAFETY: forwarded to the caller.
        let heap = unsafe { BuddyHeap::new(base, len, min_scale, max_scale)? };
        *self.heap.lock() = heap;
        Ok(())
    }

    /// Give the heap an arena of `arena_len` bytes at `base` whose first
    /// `backed` bytes are memory; the grow hook backs the rest on demand.
    ///
    /// # Safety
    /// As [`BuddyHeap::with_arena`].
    pub unsafe fn init_arena(
        &self,
        base: *mut u8,
        arena_len: usize,
        backed: usize,
        min_scale: u8,
        max_scale: u8,
    ) -> Result<(), HeapError> {
        // SAFETY: forwarded to the caller.
        let heap = unsafe { BuddyHeap::with_arena(base, arena_len, backed, min_scale, max_scale)? };
        *self.heap.lock() = heap;
        Ok(())
    }

    /// Install the hook called when an allocation fails (see [`GrowFn`]).
    pub fn set_grow(&self, grow: GrowFn) {
        *self.grow.lock() = Some(grow);
    }

    /// Lock the heap for reports, checks and the shell's `alloc`/`free`.
    /// Do not allocate while holding the guard.
    pub fn lock(&self) -> spin::MutexGuard<'_, BuddyHeap> {
        self.heap.lock()
    }

    /// Allocate for `layout`, growing the heap through the hook when it is
    /// short. Errors as [`BuddyHeap::alloc_layout`].
    pub fn allocate(&self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        let mut heap = self.heap.lock();
        loop {
            match heap.alloc_layout(layout) {
                Err(HeapError::OutOfMemory { .. }) => {
                    let grow = *self.grow.lock();
                    let more = grow.and_then(|grow| {
                        let min = heap.grow_hint(layout)?;
                        grow(heap.backed_end_addr(), min)
                    });
                    match more {
                        // SAFETY: the hook's contract: it mapped `n` bytes at
                        // the backed end, inside the arena, for the heap only.
                        Some(n) if n > 0 && unsafe { heap.add_backed(n) }.is_ok() => continue,
                        _ => return heap.alloc_layout(layout),
                    }
                }
                other => return other,
            }
        }
    }
}

// SAFETY: allocations come from a `BuddyHeap` that owns its memory; the
// payload is aligned to `layout.align()` (up to MAX_ALIGN, larger alignments
// get null) and holds `layout.size()` bytes; all state is behind the lock.
unsafe impl GlobalAlloc for LockedHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocate(layout)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: GlobalAlloc's contract: `ptr` came from `alloc(layout)`.
            unsafe { self.heap.lock().dealloc(ptr, layout) };
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(nn) = NonNull::new(ptr) else {
            return ptr::null_mut();
        };
        // SAFETY: GlobalAlloc's contract: `ptr` is live with `layout`.
        if unsafe { self.heap.lock().resize_in_place(nn, layout, new_size) } {
            return ptr;
        }
        // SAFETY: GlobalAlloc's contract: the new size is non-zero and, rounded
        // to the alignment, does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as above.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct; copy the smaller size.
            unsafe {
                ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    use crate::mm::heap::buddy::{MAX_ALIGN, grid_base};

    struct Arena([u8; (1 << 16) + MAX_ALIGN]);

    #[test]
    fn global_alloc_round_trip_and_realloc_in_place() {
        let mut arena = Box::new(Arena([0; (1 << 16) + MAX_ALIGN]));
        let heap = LockedHeap::new();
        // SAFETY: the arena outlives the heap's use below.
        unsafe {
            heap.init(grid_base(arena.0.as_mut_ptr()), 1 << 16, 4, 16)
                .unwrap()
        };
        let layout = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: non-zero layout; pointers are used only while live.
        unsafe {
            let p = heap.alloc(layout);
            assert!(!p.is_null());
            assert_eq!(p.addr() % 8, 0);
            p.write_bytes(0xAB, 100);
            // 100 + 9 fits scale 7 (128); growing to 200 needs scale 8: the
            // free upper buddy is absorbed, the pointer stays.
            let q = heap.realloc(p, layout, 200);
            assert_eq!(q, p);
            assert!((0..100).all(|i| *q.add(i) == 0xAB));
            let big = Layout::from_size_align(200, 8).unwrap();
            // Shrinking stays in place and gives back the upper halves.
            let r = heap.realloc(q, big, 10);
            assert_eq!(r, p);
            heap.dealloc(r, Layout::from_size_align(10, 8).unwrap());
        }
        let h = heap.lock();
        h.check().unwrap();
        assert_eq!(h.free_counts().total_blocks(), 1);
    }

    #[test]
    fn realloc_moves_when_the_buddy_is_used() {
        let mut arena = Box::new(Arena([0; (1 << 16) + MAX_ALIGN]));
        let heap = LockedHeap::new();
        // SAFETY: the arena outlives the heap's use below.
        unsafe {
            heap.init(grid_base(arena.0.as_mut_ptr()), 1 << 16, 4, 16)
                .unwrap()
        };
        let l = Layout::from_size_align(40, 8).unwrap();
        // SAFETY: valid layouts; pointers live until freed.
        unsafe {
            let a = heap.alloc(l);
            let b = heap.alloc(l); // a's buddy
            a.write_bytes(7, 40);
            let a2 = heap.realloc(a, l, 100);
            assert_ne!(a2, a);
            assert!((0..40).all(|i| *a2.add(i) == 7));
            heap.dealloc(a2, Layout::from_size_align(100, 8).unwrap());
            heap.dealloc(b, l);
        }
        assert_eq!(heap.lock().free_counts().total_blocks(), 1);
    }

    /// The kernel's form: a `static` built by the `const fn`.
    static STATIC_HEAP: LockedHeap = LockedHeap::new();

    #[test]
    fn a_static_heap_is_empty_until_init() {
        let l = Layout::from_size_align(8, 8).unwrap();
        // SAFETY: a valid layout; an empty heap returns null.
        assert!(unsafe { STATIC_HEAP.alloc(l) }.is_null());
        let buf: &'static mut [u8] = alloc::vec![0u8; 8192].leak();
        // SAFETY: the leaked buffer lives forever and is used by nothing else.
        unsafe {
            STATIC_HEAP
                .init(grid_base(buf.as_mut_ptr()), 4096, 4, 12)
                .unwrap();
            let p = STATIC_HEAP.alloc(l);
            assert!(!p.is_null() && p.addr().is_multiple_of(8));
            STATIC_HEAP.dealloc(p, l);
        }
        assert_eq!(STATIC_HEAP.lock().free_counts().total_blocks(), 1);
    }

    static GROW_ARENA: spin::Mutex<usize> = spin::Mutex::new(0);

    fn grow_by_pages(end: usize, min: usize) -> Option<usize> {
        let limit = *GROW_ARENA.lock();
        let n = min.div_ceil(4096) * 4096;
        (end + n <= limit).then_some(n)
    }

    #[test]
    fn grow_hook_backs_more_of_the_arena() {
        const ARENA: usize = 1 << 20;
        let mut arena: Vec<u8> = alloc::vec![0; ARENA + 2 * 4096];
        // A page-aligned arena, as the kernel's.
        let base = grid_base(arena.as_mut_ptr()).wrapping_add(9);
        *GROW_ARENA.lock() = base.addr() + ARENA;
        let heap = LockedHeap::new();
        // SAFETY: the whole arena is memory here; the heap only uses what is
        // handed over.
        unsafe { heap.init_arena(base, ARENA, 4096, 4, 20).unwrap() };
        let big = Layout::from_size_align(100_000, 8).unwrap();
        // Without a hook, a request larger than the backed part fails.
        assert!(matches!(
            heap.allocate(big),
            Err(HeapError::OutOfMemory { .. })
        ));
        heap.set_grow(grow_by_pages);
        let p = heap.allocate(big).unwrap();
        assert!(heap.lock().backed_end_addr() >= p.as_ptr().addr() + 100_000);
        let mut ptrs = Vec::new();
        // Fill the rest of the arena through the hook, then fail cleanly.
        loop {
            match heap.allocate(Layout::from_size_align(50_000, 16).unwrap()) {
                Ok(q) => ptrs.push(q),
                Err(e) => {
                    assert!(matches!(e, HeapError::OutOfMemory { .. }));
                    break;
                }
            }
        }
        assert!(ptrs.len() >= 10);
        assert_eq!(heap.lock().unbacked_bytes(), 0);
        // SAFETY: each pointer is live with the layout it was allocated with.
        unsafe {
            heap.dealloc(p.as_ptr(), big);
            for q in ptrs {
                heap.dealloc(q.as_ptr(), Layout::from_size_align(50_000, 16).unwrap());
            }
        }
        let h = heap.lock();
        h.check().unwrap();
        // Everything merged back into the blocks of a fresh heap: the base is
        // page-aligned (like the kernel's arena), so the block grid starts 16
        // bytes in with one block of each scale 4..=19.
        assert!(
            h.free_counts()
                .iter()
                .all(|(s, c)| c == usize::from(s.0 < 20))
        );
        assert_eq!(h.heap_bytes(), ARENA - 16);
    }
}
