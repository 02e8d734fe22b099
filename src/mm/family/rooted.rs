//! An allocator of the family whose memory is reached through a pointer:
//! [`Rooted`] wraps any [`Allocator`] (they keep addresses as integers)
//! with the pointer its range was given as, and answers
//! [`Allocator::pointer`] from it, so what is built on top (the pools)
//! derives every pointer from that one (strict provenance).
//!
//! ```text
//!   Rooted { inner: BitAllocator over [base, base+len), root: *mut u8 at base }
//!   pointer(addr) = root.with_addr(addr)        for addr in [base, base+len]
//! ```

use super::{AllocError, Allocator, Range};

/// `inner`, whose memory is reached through `root`.
pub struct Rooted<A> {
    inner: A,
    root: *mut u8,
}

// SAFETY: `root` only gives provenance to the memory `inner` manages and
// owns; moving the pair to another thread moves that ownership with it.
unsafe impl<A: Send> Send for Rooted<A> {}

impl<A: Allocator> Rooted<A> {
    /// `inner` over memory reached through `root` (a pointer whose
    /// provenance covers every range `inner` hands out).
    pub fn new(inner: A, root: *mut u8) -> Rooted<A> {
        Rooted { inner, root }
    }

    /// The wrapped allocator.
    pub fn inner(&self) -> &A {
        &self.inner
    }
}

impl<A: Allocator> Allocator for Rooted<A> {
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        self.inner.allocate(request)
    }
    fn release(&mut self, address: usize) -> Result<(), AllocError> {
        self.inner.release(address)
    }
    fn size(&self) -> usize {
        self.inner.size()
    }
    fn available(&self) -> usize {
        self.inner.available()
    }
    fn base(&self) -> usize {
        self.inner.base()
    }
    fn alignment(&self) -> usize {
        self.inner.alignment()
    }
    /// `address` with the provenance of the root.
    fn pointer(&self, address: usize) -> *mut u8 {
        self.root.with_addr(address)
    }
}
