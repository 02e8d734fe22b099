//! One interface for a kernel heap: what [`KernelHeap`](super::KernelHeap)
//! needs from a design to make it the global allocator.
//!
//! ```text
//!   KernelHeap (lock, grow hook, bad-free count)
//!        │
//!        ▼
//!   AnyHeap ──▶ H: HeapBackend   (buddy, pool, gaptree, firstfit)
//!                alloc / dealloc (checked) / resize_in_place
//!                grow_hint: how much more memory would let a request succeed
//!                region_end: where the grow hook maps it
//! ```
//!
//! The trait is object-safe, so `&mut dyn HeapBackend` works too.

use super::fault::HeapCheckError;
use crate::mm::AllocError;
use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

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
    /// Give the heap `len` more bytes at `start`, reached through that
    /// pointer: the designs that derive their pointers from the memory they
    /// were given keep its provenance; the others (by default) take its
    /// address, exposed, through [`add_region`](Self::add_region).
    ///
    /// # Safety
    /// As [`add_region`](Self::add_region).
    unsafe fn add_region_ptr(&mut self, start: *mut u8, len: usize) -> Result<(), AllocError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.add_region(start.expose_provenance(), len) }
    }
    /// Allocate for `layout` (alignment up to a page). Unchanged on error.
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError>;
    /// Give back `ptr`, allocated with `layout`. A pointer this heap did not
    /// hand out, a double free or a wrong layout is an error and changes nothing.
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError>;
    /// Resize the allocation `ptr` (made with `layout`) to `new_size` bytes
    /// without moving it. `Ok(false)`: not possible in place (the caller
    /// moves the data); an error: `ptr`/`layout` refused as by `dealloc`.
    /// Either way nothing changed. Designs that cannot resize keep this default.
    fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<bool, AllocError> {
        let _ = (ptr, layout, new_size);
        Ok(false)
    }
    /// Current usage.
    fn stats(&self) -> HeapStats;
    /// Integrity check of every internal structure.
    fn check(&self) -> Result<(), HeapCheckError>;
    /// A human-readable report of the heap's blocks.
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result;
    /// Bytes of new region that surely let `layout` succeed once added, or
    /// `None` when no growth can make it succeed (too big for the arena or
    /// for the design): the allocation then fails without growing.
    fn grow_hint(&self, layout: Layout) -> Option<usize>;
    /// Bytes of bookkeeping kept outside the blocks (the buddy heap's side
    /// table of block starts); 0 by default.
    fn side_table_bytes(&self) -> usize {
        0
    }
    /// Fill freed payloads with a pattern and let `check` verify it (catches
    /// writes after free). Returns false, changing nothing, for designs
    /// that do not poison.
    fn set_poison(&mut self, on: bool) -> bool {
        let _ = on;
        false
    }
    /// Whether freed payloads are being poisoned now.
    fn poisoning(&self) -> bool {
        false
    }
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
    unsafe fn add_region_ptr(&mut self, start: *mut u8, len: usize) -> Result<(), AllocError> {
        // SAFETY: the caller upholds the contract of `add_region`.
        unsafe { (**self).add_region_ptr(start, len) }
    }
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        (**self).alloc(layout)
    }
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        (**self).dealloc(ptr, layout)
    }
    fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<bool, AllocError> {
        (**self).resize_in_place(ptr, layout, new_size)
    }
    fn stats(&self) -> HeapStats {
        (**self).stats()
    }
    fn check(&self) -> Result<(), HeapCheckError> {
        (**self).check()
    }
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        (**self).dump(out)
    }
    fn grow_hint(&self, layout: Layout) -> Option<usize> {
        (**self).grow_hint(layout)
    }
    fn side_table_bytes(&self) -> usize {
        (**self).side_table_bytes()
    }
    fn set_poison(&mut self, on: bool) -> bool {
        (**self).set_poison(on)
    }
    fn poisoning(&self) -> bool {
        (**self).poisoning()
    }
    fn region_end(&self) -> usize {
        (**self).region_end()
    }
}
