//! `KernelHeap`: the kernel's `#[global_allocator]`, one of the heap designs
//! behind a spin lock, growing through a hook when it runs short.
//!
//! ```text
//!   Box::new / Vec::push / String ...
//!        │ GlobalAlloc
//!        ▼
//!   KernelHeap ──lock──▶ AnyHeap ──match──▶ BuddyHeap (default) | Pool | GapTree | FirstFit
//!        │  alloc: OutOfMemory and grow_hint(layout) = Some(n)?
//!        ▼  (lock released)
//!   grow hook(region_end, n) ──▶ maps pages ──▶ add_region ──▶ retry
//!        │  the heap refuses the region?  ──▶ ungrow hook unmaps it
//!
//!   dealloc ──▶ the design's checked free: a wild, interior, header,
//!               double or layout-mismatched free is refused, changes
//!               nothing, and is counted here (with its address)
//!   realloc ──▶ resize_in_place (no copy) or allocate + copy + free
//! ```
//!
//! The kernel builds it with [`KernelHeap::empty`] in a `static` and
//! [`KernelHeap::init`]; a host program or benchmark builds the same thing
//! over memory of its own with [`KernelHeap::over`] (no grow hook).
//!
//! Locking: a spin lock. Interrupt handlers must not allocate (STYLE.md
//! rule 11), so a handler never wants it and interrupts stay enabled. The
//! grow and ungrow hooks run *without* the heap lock held.

use super::any::{AnyHeap, HeapKind};
use super::backend::{HeapBackend, HeapStats};
use crate::mm::AllocError;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};

/// The grow hook: called with the end of the heap's highest region and the
/// least number of bytes that would let the failed request succeed; it maps
/// memory at that address and returns how many bytes it mapped (any
/// positive amount is added as a region and the request retried), or `None`
/// having mapped nothing.
pub type GrowFn = fn(end: usize, min_bytes: usize) -> Option<usize>;

/// Undoes a growth the heap refused: called with the range the grow hook
/// mapped when `add_region` would not take it, so the pages go back.
pub type UngrowFn = fn(start: usize, len: usize);

struct Inner {
    heap: Option<AnyHeap>,
    grow: Option<GrowFn>,
    ungrow: Option<UngrowFn>,
}

/// The kernel heap: see the module docs.
pub struct KernelHeap {
    inner: spin::Mutex<Inner>,
    bad_frees: AtomicUsize,
    last_bad_free: AtomicUsize,
    grown: AtomicUsize,
}

impl KernelHeap {
    /// A heap with no memory yet (every allocation fails until `init`), for
    /// the kernel's `static`.
    pub const fn empty() -> KernelHeap {
        KernelHeap {
            inner: spin::Mutex::new(Inner {
                heap: None,
                grow: None,
                ungrow: None,
            }),
            bad_frees: AtomicUsize::new(0),
            last_bad_free: AtomicUsize::new(0),
            grown: AtomicUsize::new(0),
        }
    }

    /// The kernel heap exactly as the kernel installs it (same lock, same
    /// dispatch, same checked frees) over `len` bytes of memory at `base`,
    /// with no grow hook: for host programs, tests and benchmarks.
    ///
    /// # Safety
    /// `base..base+len` must be valid, writable memory used by nothing else
    /// for as long as the heap (or anything it hands out) lives.
    pub unsafe fn over(
        kind: HeapKind,
        base: *mut u8,
        len: usize,
    ) -> Result<KernelHeap, AllocError> {
        let heap = KernelHeap::empty();
        // SAFETY: forwarded from the caller; the whole region is memory.
        heap.init(unsafe { AnyHeap::new(kind, base, len, len)? });
        Ok(heap)
    }

    /// Install `heap` (replacing any earlier one, which is returned).
    pub fn init(&self, heap: AnyHeap) -> Option<AnyHeap> {
        self.inner.lock().heap.replace(heap)
    }

    /// Install the hook called for more memory when an allocation fails.
    pub fn set_grow(&self, grow: GrowFn) {
        self.inner.lock().grow = Some(grow);
    }

    /// Install the hook that gives back memory the grow hook mapped but the
    /// heap refused (so a refused growth leaves nothing mapped behind).
    pub fn set_ungrow(&self, ungrow: UngrowFn) {
        self.inner.lock().ungrow = Some(ungrow);
    }

    /// Run `f` on the heap under the lock; `None` before `init`. `f` must
    /// not allocate (the lock is not re-entrant).
    pub fn with<R>(&self, f: impl FnOnce(&mut AnyHeap) -> R) -> Option<R> {
        self.inner.lock().heap.as_mut().map(f)
    }

    /// Like [`with`](Self::with), but `None` also when the lock is held
    /// (for fault reports, which must never wait).
    pub fn try_with<R>(&self, f: impl FnOnce(&mut AnyHeap) -> R) -> Option<R> {
        self.inner.try_lock()?.heap.as_mut().map(f)
    }

    /// The heap's usage, or `None` before `init`.
    pub fn stats(&self) -> Option<HeapStats> {
        self.with(|h| h.stats())
    }

    /// The design in use, or `None` before `init`.
    pub fn kind(&self) -> Option<HeapKind> {
        self.with(|h| h.kind())
    }

    /// How many frees (and reallocs) were refused: bad pointer or layout.
    pub fn bad_frees(&self) -> usize {
        self.bad_frees.load(Ordering::Relaxed)
    }

    /// The address of the last refused free, if any was refused.
    pub fn last_bad_free(&self) -> Option<usize> {
        (self.bad_frees() > 0).then(|| self.last_bad_free.load(Ordering::Relaxed))
    }

    /// How many times the grow hook added memory.
    pub fn times_grown(&self) -> usize {
        self.grown.load(Ordering::Relaxed)
    }

    fn refused(&self, addr: usize) {
        self.last_bad_free.store(addr, Ordering::Relaxed);
        self.bad_frees.fetch_add(1, Ordering::Relaxed);
    }

    /// Allocate for `layout`, growing the heap through the hook once if it
    /// is short and growth can help (`grow_hint`); a request no growth can
    /// serve fails at once and maps nothing.
    #[inline]
    pub fn allocate(&self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let mut inner = self.inner.lock();
        let r = match inner.heap.as_mut() {
            Some(heap) => heap.alloc(layout),
            None => return Err(AllocError::OutOfMemory),
        };
        match r {
            Err(AllocError::OutOfMemory) => self.out_of_memory(inner, layout),
            other => other,
        }
    }

    /// The heap (still locked) could not serve `layout`: ask it how much
    /// growth would help, then grow and retry without the lock held.
    #[cold]
    #[inline(never)]
    fn out_of_memory(
        &self,
        mut inner: spin::MutexGuard<'_, Inner>,
        layout: Layout,
    ) -> Result<NonNull<u8>, AllocError> {
        let grow = inner.grow;
        let heap = inner.heap.as_mut().ok_or(AllocError::OutOfMemory)?;
        let (end, hint) = (heap.region_end(), heap.grow_hint(layout));
        drop(inner);
        self.grow_and_retry(layout, end, hint, grow)
    }

    #[cold]
    fn grow_and_retry(
        &self,
        layout: Layout,
        end: usize,
        hint: Option<usize>,
        grow: Option<GrowFn>,
    ) -> Result<NonNull<u8>, AllocError> {
        let (grow, hint) = grow.zip(hint).ok_or(AllocError::OutOfMemory)?;
        let mapped = grow(end, hint)
            .filter(|&n| n > 0)
            .ok_or(AllocError::OutOfMemory)?;
        let mut inner = self.inner.lock();
        let ungrow = inner.ungrow;
        let heap = inner.heap.as_mut().ok_or(AllocError::OutOfMemory)?;
        // SAFETY: the hook's contract: it mapped `mapped` bytes at `end` for
        // this heap alone, for ever.
        if let Err(e) = unsafe { heap.add_region(end, mapped) } {
            // The heap refused the memory: give it back, outside the lock.
            drop(inner);
            if let Some(ungrow) = ungrow {
                ungrow(end, mapped);
            }
            return Err(e);
        }
        self.grown.fetch_add(1, Ordering::Relaxed);
        heap.alloc(layout)
    }

    /// Give back `ptr`, checked by the design; a refused free is counted
    /// (see `bad_frees`), changes nothing and is returned.
    #[inline]
    pub fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        let r = self
            .with(|h| h.dealloc(ptr, layout))
            .unwrap_or(Err(AllocError::InvalidAddress));
        if r.is_err() {
            self.refused(ptr.addr().get());
        }
        r
    }

    /// Resize `ptr` (made with `layout`) to `new_size` bytes: in place when
    /// the design can (no copy), else allocate, copy and free, all under
    /// one taking of the lock (only a move that needs the heap to grow
    /// lets go of it, for the grow hook). A refused pointer is counted like
    /// a refused free and gives an error.
    ///
    /// # Safety
    /// As `GlobalAlloc::realloc`: `new_size` is non-zero and, rounded up to
    /// `layout.align()`, does not overflow `isize`.
    #[inline]
    pub unsafe fn reallocate(
        &self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: the caller's guarantee on `new_size`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let moved = {
            let mut inner = self.inner.lock();
            let Some(heap) = inner.heap.as_mut() else {
                drop(inner);
                self.refused(ptr.addr().get());
                return Err(AllocError::InvalidAddress);
            };
            match heap.resize_in_place(ptr, layout, new_size) {
                Ok(true) => return Ok(ptr),
                Ok(false) => {}
                Err(e) => {
                    drop(inner);
                    self.refused(ptr.addr().get());
                    return Err(e);
                }
            }
            match heap.alloc(new_layout) {
                Ok(new) => {
                    // SAFETY: both blocks are live and distinct; the smaller
                    // size is copied.
                    unsafe { copy_payload(ptr, new, layout.size().min(new_size)) };
                    // `resize_in_place` accepted `ptr` and `layout`: this
                    // free is the same check and cannot be refused.
                    heap.dealloc(ptr, layout)?;
                    return Ok(new);
                }
                Err(AllocError::OutOfMemory) => None,
                Err(e) => Some(e),
            }
        };
        if let Some(e) = moved {
            return Err(e);
        }
        // The heap is short: the growing path, then copy and free.
        let new = self.allocate(new_layout)?;
        // SAFETY: as above.
        unsafe { copy_payload(ptr, new, layout.size().min(new_size)) };
        self.deallocate(ptr, layout)?;
        Ok(new)
    }
}

/// Copy `n` bytes from the payload at `from` to the one at `to`.
///
/// # Safety
/// Both are live, distinct allocations of at least `n` bytes.
#[inline(always)]
unsafe fn copy_payload(from: NonNull<u8>, to: NonNull<u8>, n: usize) {
    // SAFETY: the caller's guarantee.
    unsafe { ptr::copy_nonoverlapping(from.as_ptr(), to.as_ptr(), n) };
}

// SAFETY: every method either returns memory the heap handed out for the
// layout (valid, aligned, unaliased until dealloc) or null; the heap is
// behind a lock, so concurrent calls do not race.
unsafe impl GlobalAlloc for KernelHeap {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocate(layout)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match NonNull::new(ptr) {
            Some(p) => {
                let _ = self.deallocate(p, layout);
            }
            None => self.refused(0),
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(p) = NonNull::new(ptr) else {
            self.refused(0);
            return ptr::null_mut();
        };
        // SAFETY: GlobalAlloc's contract on `new_size`.
        unsafe { self.reallocate(p, layout, new_size) }.map_or(ptr::null_mut(), NonNull::as_ptr)
    }
}

#[cfg(test)]
mod tests;
