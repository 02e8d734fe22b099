//! A heap with a reserve: the kernel's `#[global_allocator]` so that running
//! out of memory is an answer, not a halt.
//!
//! ```text
//!   Box / Vec / String of kernel code
//!        │ GlobalAlloc
//!        ▼
//!   WithReserve ──► main heap (grows through the VMM)
//!        │            └─ out of memory, even after growing?
//!        └──────────► reserve heap (a fixed buffer, never grows)
//!                       └─ out of memory too? null: the caller's
//!                          `try_reserve` says "out of memory"
//!   dealloc / realloc ─► the heap whose memory the pointer lies in
//! ```
//!
//! Rust's collections abort the kernel when an allocation fails (there is
//! no unwinding), and the shell itself allocates: its reports, its error
//! messages, the playground's slot stacks. A user can drain the kernel heap
//! on purpose (`falloc` every frame so it cannot grow, then `alloc` every
//! block), and the next `frames` used to halt the kernel. The reserve is
//! memory the user's commands cannot reach: `alloc` asks the main heap
//! alone ([`WithReserve::main`]), so the reserve is left for the kernel's
//! own small allocations, and the shell keeps answering. Commands whose
//! allocation size a user chooses still use `try_reserve` and print
//! `out of memory`: the reserve is small on purpose. Data a user asks the
//! kernel to keep (the playground's slot stacks) is stored with the reserve
//! closed ([`WithReserve::main_only`]): when the main heap is dry, the hotkey
//! says it cannot store the block instead of spending the shell's reserve.

use crate::mm::heap::KernelHeap;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};

/// See the module docs: a main heap, and a reserve used only when the main
/// heap cannot serve a request.
pub struct WithReserve {
    main: &'static KernelHeap,
    reserve: &'static KernelHeap,
    /// The reserve's memory, `[start, end)` (empty until `set_reserve_range`).
    start: AtomicUsize,
    end: AtomicUsize,
    /// Allocations the reserve served since boot (a live count is in its stats).
    served: AtomicUsize,
    /// Requests neither heap could serve.
    refused: AtomicUsize,
    /// Open [`main_only`](Self::main_only) scopes: while above 0, the
    /// reserve serves nothing.
    main_only: AtomicUsize,
}

impl WithReserve {
    /// A pair of heaps; both are installed (`KernelHeap::init`) separately,
    /// and the reserve's memory named with [`set_reserve_range`](Self::set_reserve_range).
    pub const fn new(main: &'static KernelHeap, reserve: &'static KernelHeap) -> WithReserve {
        WithReserve {
            main,
            reserve,
            start: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            main_only: AtomicUsize::new(0),
        }
    }

    /// Say where the reserve heap's memory is, so frees find their heap.
    /// Call once, when the reserve heap is installed, before it serves anything.
    pub fn set_reserve_range(&self, start: usize, len: usize) {
        self.start.store(start, Ordering::Relaxed);
        self.end.store(start + len, Ordering::Relaxed);
    }

    /// The main heap (for commands that must never touch the reserve).
    pub fn main(&self) -> &'static KernelHeap {
        self.main
    }

    /// The reserve heap (for reports and checks).
    pub fn reserve(&self) -> &'static KernelHeap {
        self.reserve
    }

    /// True when `ptr` lies in the reserve's memory.
    pub fn in_reserve(&self, ptr: *const u8) -> bool {
        let p = ptr.addr();
        p >= self.start.load(Ordering::Relaxed) && p < self.end.load(Ordering::Relaxed)
    }

    /// How many allocations the reserve has served (live or not).
    pub fn served(&self) -> usize {
        self.served.load(Ordering::Relaxed)
    }

    /// How many requests neither heap could serve.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::Relaxed)
    }

    /// Run `f` with the reserve closed: allocations made inside come from
    /// the main heap alone, and fail (null, `try_reserve` errors) when it has
    /// no room. For data a user asks to keep, which must not drain the
    /// memory kept for the shell's answers. Scopes nest.
    pub fn main_only<R>(&self, f: impl FnOnce() -> R) -> R {
        /// Reopens the reserve when the scope ends, even by unwinding (host tests).
        struct Reopen<'a>(&'a AtomicUsize);
        impl Drop for Reopen<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.main_only.fetch_add(1, Ordering::Relaxed);
        let _reopen = Reopen(&self.main_only);
        f()
    }

    /// Allocate from the main heap, or else from the reserve (unless a
    /// [`main_only`](Self::main_only) scope is open); `None` when neither
    /// may serve it.
    pub fn allocate(&self, layout: Layout) -> Option<NonNull<u8>> {
        if let Ok(p) = self.main.allocate(layout) {
            return Some(p);
        }
        if self.main_only.load(Ordering::Relaxed) > 0 {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        match self.reserve.allocate(layout) {
            Ok(p) => {
                self.served.fetch_add(1, Ordering::Relaxed);
                Some(p)
            }
            Err(_) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Give `ptr` back to the heap it came from (found by address).
    pub fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        let heap = if self.in_reserve(ptr.as_ptr()) {
            self.reserve
        } else {
            self.main
        };
        // A refused free is counted by that heap and changes nothing.
        let _ = heap.deallocate(ptr, layout);
    }

    /// Resize: in place or within the main heap when it can; otherwise a
    /// new block from either heap, the bytes copied, the old block freed.
    /// `None` (the old block untouched) when no heap has room.
    ///
    /// # Safety
    /// As `GlobalAlloc::realloc`: `ptr` came from this allocator with
    /// `layout`, `new_size` is non-zero and does not overflow when rounded up.
    pub unsafe fn reallocate(
        &self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Option<NonNull<u8>> {
        if !self.in_reserve(ptr.as_ptr()) {
            // SAFETY: forwarded from the caller.
            if let Ok(p) = unsafe { self.main.reallocate(ptr, layout, new_size) } {
                return Some(p);
            }
        }
        // SAFETY: the caller's guarantee on `new_size`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = self.allocate(new_layout)?;
        // SAFETY: both blocks are live and distinct; the smaller size is copied.
        unsafe {
            ptr::copy_nonoverlapping(ptr.as_ptr(), new.as_ptr(), layout.size().min(new_size))
        };
        self.deallocate(ptr, layout);
        Some(new)
    }
}

// SAFETY: every method returns memory one of the two heaps handed out for
// the layout (valid, aligned, unaliased until dealloc) or null; each heap
// is behind its own lock, and a pointer is always freed to the heap whose
// memory it lies in.
unsafe impl GlobalAlloc for WithReserve {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocate(layout)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            self.deallocate(p, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(p) = NonNull::new(ptr) else {
            return ptr::null_mut();
        };
        // SAFETY: GlobalAlloc's contract, forwarded.
        unsafe { self.reallocate(p, layout, new_size) }.map_or(ptr::null_mut(), NonNull::as_ptr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::heap::{AnyHeap, HeapKind, Slabs};
    use crate::testutil::Arena;
    use alloc::vec::Vec;

    /// Two heaps over arenas that live for the rest of the test run.
    fn pair(main_bytes: usize, reserve_bytes: usize) -> &'static WithReserve {
        let a = alloc::boxed::Box::leak(alloc::boxed::Box::new(Arena::new(main_bytes)));
        let b = alloc::boxed::Box::leak(alloc::boxed::Box::new(Arena::new(reserve_bytes)));
        // SAFETY: the arenas are leaked: valid for ever, used by nothing else.
        let main = unsafe { KernelHeap::over(HeapKind::Buddy, a.ptr(), a.len()) };
        // The reserve as the kernel builds it: the buddy heap without slabs.
        let reserve = KernelHeap::empty();
        // SAFETY: as above.
        reserve.init(unsafe { AnyHeap::buddy(b.ptr(), b.len(), b.len(), Slabs::Off) }.unwrap());
        let main: &'static KernelHeap =
            alloc::boxed::Box::leak(alloc::boxed::Box::new(main.unwrap()));
        let reserve: &'static KernelHeap = alloc::boxed::Box::leak(alloc::boxed::Box::new(reserve));
        let w = alloc::boxed::Box::leak(alloc::boxed::Box::new(WithReserve::new(main, reserve)));
        w.set_reserve_range(b.start(), b.len());
        w
    }

    /// Drain the main heap, largest blocks first, until not even one byte
    /// fits; the blocks with their layouts, largest first.
    fn drain(h: &KernelHeap) -> Vec<(NonNull<u8>, Layout)> {
        let mut v = Vec::new();
        for size in [4096, 1024, 256, 64, 16, 1] {
            let l = Layout::from_size_align(size, 1).unwrap();
            while let Ok(p) = h.allocate(l) {
                v.push((p, l));
            }
        }
        v
    }

    #[test]
    fn the_reserve_serves_only_when_the_main_heap_is_dry() {
        let w = pair(16 * 1024, 8 * 1024);
        let l = Layout::from_size_align(100, 8).unwrap();
        let p = w.allocate(l).unwrap();
        assert!(!w.in_reserve(p.as_ptr()), "the main heap had room");
        w.deallocate(p, l);
        let drained = drain(w.main());
        let q = w.allocate(l).unwrap();
        assert!(w.in_reserve(q.as_ptr()), "the main heap was dry");
        assert_eq!(w.served(), 1);
        let used = w.reserve().stats().unwrap().used;
        w.deallocate(q, l);
        assert!(
            w.reserve().stats().unwrap().used < used,
            "freed to the reserve"
        );
        assert_eq!(w.reserve().bad_frees(), 0);
        assert_eq!(w.main().bad_frees(), 0);
        // Neither has room for this: null, counted, nothing changed.
        assert!(
            w.allocate(Layout::from_size_align(64 * 1024, 8).unwrap())
                .is_none()
        );
        assert_eq!(w.refused(), 1);
        for (p, l) in drained {
            w.deallocate(p, l);
        }
        assert_eq!(w.main().stats().unwrap().allocations, 0);
        assert_eq!(w.reserve().stats().unwrap().allocations, 0);
    }

    /// Inside `main_only` the reserve serves nothing (a dry main heap
    /// refuses); scopes nest, and the reserve opens again when they end.
    #[test]
    fn main_only_closes_the_reserve_for_its_scope() {
        let w = pair(16 * 1024, 8 * 1024);
        let l = Layout::from_size_align(64, 8).unwrap();
        let drained = drain(w.main());
        let (inner, outer) = w.main_only(|| (w.main_only(|| w.allocate(l)), w.allocate(l)));
        assert_eq!((inner, outer), (None, None), "the reserve stayed closed");
        assert_eq!((w.served(), w.refused()), (0, 2));
        let used = w.reserve().stats().unwrap().used;
        let q = w.allocate(l).expect("the reserve is open again");
        assert!(w.in_reserve(q.as_ptr()));
        w.deallocate(q, l);
        assert_eq!(w.reserve().stats().unwrap().used, used);
        // With room in the main heap, main_only changes nothing.
        let (p, pl) = drained[0];
        w.deallocate(p, pl);
        let r = w
            .main_only(|| w.allocate(l))
            .expect("the main heap had room");
        assert!(!w.in_reserve(r.as_ptr()));
    }

    #[test]
    fn realloc_moves_between_the_heaps_and_keeps_the_bytes() {
        let w = pair(16 * 1024, 8 * 1024);
        let drained = drain(w.main());
        let l = Layout::from_size_align(40, 8).unwrap();
        let p = w.allocate(l).unwrap();
        assert!(w.in_reserve(p.as_ptr()));
        // SAFETY: p is a live 40-byte block.
        unsafe { ptr::write_bytes(p.as_ptr(), 0xA5, 40) };
        // Room again in the main heap: growing moves the block there.
        let (q, ql) = drained[0];
        w.deallocate(q, ql);
        // SAFETY: p came from w with l; 300 is non-zero.
        let r = unsafe { w.reallocate(p, l, 300) }.unwrap();
        assert!(!w.in_reserve(r.as_ptr()), "moved to the main heap");
        // SAFETY: r is a live 300-byte block whose first 40 bytes were copied.
        let bytes = unsafe { core::slice::from_raw_parts(r.as_ptr(), 40) };
        assert!(bytes.iter().all(|&b| b == 0xA5));
        assert_eq!(
            w.reserve().stats().unwrap().allocations,
            0,
            "the old block freed"
        );
        w.deallocate(r, Layout::from_size_align(300, 8).unwrap());
        for &(q, ql) in &drained[1..] {
            w.deallocate(q, ql);
        }
        assert_eq!(w.main().stats().unwrap().allocations, 0);
    }

    /// Through `GlobalAlloc`: served by the reserve when the main heap is
    /// dry, null (which `try_reserve` turns into an error, not an abort)
    /// when neither can serve.
    #[test]
    fn global_alloc_falls_back_then_returns_null() {
        let w = pair(16 * 1024, 8 * 1024);
        let drained = drain(w.main());
        let l = Layout::from_size_align(1024, 8).unwrap();
        // SAFETY: non-zero size.
        let p = unsafe { w.alloc(l) };
        assert!(!p.is_null() && w.in_reserve(p));
        // SAFETY: no heap is that large: null, never an abort.
        let big = unsafe { w.alloc(Layout::from_size_align(1 << 20, 8).unwrap()) };
        assert!(big.is_null());
        // SAFETY: p came from w.alloc(l).
        unsafe { w.dealloc(p, l) };
        for (q, ql) in drained {
            w.deallocate(q, ql);
        }
    }
}
