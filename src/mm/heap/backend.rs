//! One interface for a kernel heap, and a locked wrapper that makes any
//! heap the kernel's `#[global_allocator]`.
//!
//! ```text
//!   Box::new(..) ──▶ GlobalAlloc for LockedHeap<H> ──lock──▶ H: HeapBackend
//!                          │ OutOfMemory?                    (gaptree, firstfit,
//!                          ▼                                  pool, buddy…)
//!                grow hook(end, min bytes) ──▶ VMM maps pages at end ──▶ add_region
//! ```
//!
//! The kernel picks a heap at boot (`heap=buddy|pool|gaptree|firstfit`): it
//! either keeps one `LockedHeap<H>` per design and dispatches, or wraps an
//! enum of heaps that implements [`HeapBackend`]; the trait is object-safe,
//! so `&'static mut dyn HeapBackend` works as well.
//!
//! Locking: the heap lock is a spin lock. Interrupt handlers must not
//! allocate (STYLE.md rule 11), so the lock is never wanted by a handler and
//! interrupts need not be disabled around it. The grow hook runs *without*
//! the heap lock held, so it may itself use the heap.

use crate::mm::family::AllocError;
use core::alloc::{GlobalAlloc, Layout};
use core::fmt;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};

/// Usage figures every heap reports (the `heapinfo` command prints them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes of memory the heap manages.
    pub size: usize,
    /// Bytes not free: handed out, headers, padding.
    pub used: usize,
    /// Bytes free.
    pub free: usize,
    /// The largest free block, in bytes.
    pub largest_free: usize,
    /// Live allocations.
    pub allocations: usize,
}

impl HeapStats {
    /// External fragmentation in thousandths: `1000 * (1 - largest_free / free)`;
    /// 0 when everything free is one block (or nothing is free).
    pub fn fragmentation_permille(&self) -> u32 {
        if self.free == 0 {
            return 0;
        }
        let whole = (self.largest_free as u64 * 1000) / self.free as u64;
        1000 - whole.min(1000) as u32
    }
}

impl fmt::Display for HeapStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frag = self.fragmentation_permille();
        write!(
            f,
            "size {} used {} free {} largest free {} allocations {} fragmentation {}.{}%",
            self.size,
            self.used,
            self.free,
            self.largest_free,
            self.allocations,
            frag / 10,
            frag % 10
        )
    }
}

/// What the kernel needs from a heap to make it the global allocator.
pub trait HeapBackend {
    /// Short name: `gaptree`, `firstfit`, `pool`, `buddy`.
    fn name(&self) -> &'static str;
    /// Give the heap `len` more bytes at `start`.
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, used by nothing else,
    /// and live as long as the heap.
    unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError>;
    /// Allocate for `layout` (alignment up to a page). Unchanged on error.
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError>;
    /// Give back `ptr`, allocated with `layout`. A pointer this heap did not
    /// hand out, a double free or a wrong layout is an error and changes nothing.
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError>;
    /// Current usage.
    fn stats(&self) -> HeapStats;
    /// Integrity check of every internal structure.
    fn check(&self) -> Result<(), &'static str>;
    /// A human-readable report of the heap's blocks.
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result;
    /// Bytes of new region that surely let `layout` succeed once added.
    fn grow_hint(&self, layout: Layout) -> usize;
    /// One past the last byte of the highest region (0 with no memory):
    /// where the grow hook maps more.
    fn region_end(&self) -> usize;
}

impl<H: HeapBackend + ?Sized> HeapBackend for &mut H {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
        // SAFETY: the caller upholds the contract of `add_region`.
        unsafe { (**self).add_region(start, len) }
    }
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        (**self).alloc(layout)
    }
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        (**self).dealloc(ptr, layout)
    }
    fn stats(&self) -> HeapStats {
        (**self).stats()
    }
    fn check(&self) -> Result<(), &'static str> {
        (**self).check()
    }
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        (**self).dump(out)
    }
    fn grow_hint(&self, layout: Layout) -> usize {
        (**self).grow_hint(layout)
    }
    fn region_end(&self) -> usize {
        (**self).region_end()
    }
}

/// The grow hook, the same shape as the buddy heap's (`mm::heap::GrowFn`):
/// called with the end of the heap's highest region and the least number of
/// bytes that would let the failed request succeed; it maps memory at that
/// address and returns how many bytes it mapped (any positive amount is
/// added as a region and the request retried), or `None`.
pub type GrowFn = fn(end: usize, min_bytes: usize) -> Option<usize>;

/// Undoes a growth the heap refused: called with the range the grow hook
/// mapped when `add_region` would not take it, so the pages go back.
pub type UngrowFn = fn(start: usize, len: usize);

struct Inner<H> {
    heap: Option<H>,
    grow: Option<GrowFn>,
    ungrow: Option<UngrowFn>,
}

/// A heap behind a spin lock, usable as `#[global_allocator]`.
pub struct LockedHeap<H> {
    inner: spin::Mutex<Inner<H>>,
    bad_frees: AtomicUsize,
    grown: AtomicUsize,
}

impl<H: HeapBackend> LockedHeap<H> {
    /// A wrapper with no heap yet: every allocation fails until `init`.
    pub const fn empty() -> LockedHeap<H> {
        LockedHeap {
            inner: spin::Mutex::new(Inner {
                heap: None,
                grow: None,
                ungrow: None,
            }),
            bad_frees: AtomicUsize::new(0),
            grown: AtomicUsize::new(0),
        }
    }

    /// Install `heap` (replacing any earlier one, which is returned).
    pub fn init(&self, heap: H) -> Option<H> {
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

    /// Run `f` on the heap under the lock; `None` before `init`.
    pub fn with<R>(&self, f: impl FnOnce(&mut H) -> R) -> Option<R> {
        self.inner.lock().heap.as_mut().map(f)
    }

    /// Like [`with`](Self::with), but `None` also when the lock is held
    /// (for fault reports, which must never wait).
    pub fn try_with<R>(&self, f: impl FnOnce(&mut H) -> R) -> Option<R> {
        self.inner.try_lock()?.heap.as_mut().map(f)
    }

    /// The heap's usage, or `None` before `init`.
    pub fn stats(&self) -> Option<HeapStats> {
        self.with(|h| h.stats())
    }

    /// How many `dealloc` calls were refused (bad pointer or layout).
    pub fn bad_frees(&self) -> usize {
        self.bad_frees.load(Ordering::Relaxed)
    }

    /// How many times the grow hook added memory.
    pub fn times_grown(&self) -> usize {
        self.grown.load(Ordering::Relaxed)
    }

    /// Allocate for `layout`, growing the heap through the hook once if it
    /// is short.
    pub fn allocate(&self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let (end, hint, grow) = {
            let mut inner = self.inner.lock();
            let grow = inner.grow;
            let heap = inner.heap.as_mut().ok_or(AllocError::OutOfMemory)?;
            match heap.alloc(layout) {
                Err(AllocError::OutOfMemory) => (heap.region_end(), heap.grow_hint(layout), grow),
                other => return other,
            }
        };
        let grow = grow.ok_or(AllocError::OutOfMemory)?;
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

    /// Give back `ptr`; an error is counted (see `bad_frees`) and returned.
    pub fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        let r = self
            .with(|h| h.dealloc(ptr, layout))
            .unwrap_or(Err(AllocError::InvalidAddress));
        if r.is_err() {
            self.bad_frees.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
}

// SAFETY: every method either returns memory the heap handed out for the
// layout (valid, aligned, unaliased until dealloc) or null; the heap is
// behind a lock, so concurrent calls do not race.
unsafe impl<H: HeapBackend + Send> GlobalAlloc for LockedHeap<H> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.allocate(layout) {
            Ok(p) => p.as_ptr(),
            Err(_) => ptr::null_mut(),
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match NonNull::new(ptr) {
            Some(p) => {
                let _ = self.deallocate(p, layout);
            }
            None => {
                self.bad_frees.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
