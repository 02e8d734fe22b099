//! The kernel heap as any of four designs, chosen at boot with `heap=`.
//!
//! ```text
//!   #[global_allocator] ── KernelHeap ── AnyHeap ──┬── Buddy     (default: slabs over the buddy heap)
//!        grow hook: map pages at region_end()      ├── Pool
//!                                                  ├── GapTree
//!                                                  └── FirstFit
//! ```
//!
//! Every design implements [`HeapBackend`]; this enum forwards to the one in
//! use with a `match` (the buddy arm first, each call inlined: no virtual
//! call on the kernel's path), so the kernel has one global allocator and
//! one grow hook for all.

use super::backend::{HeapBackend, HeapStats};
use super::buddy::{BuddyHeap, HeapError};
use super::fault::HeapCheckError;
use super::slab::{SlabBuddy, Slabs};
// course: module 07
use super::firstfit::FirstFitHeap;
use super::gaptree::{GapTreeHeap, VoidPolicy};
use super::poolheap::PoolHeap;
// course: end
use crate::mm::AllocError;
use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

/// Which design the kernel heap uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeapKind {
    Buddy,
    // course: module 07
    Pool,
    GapTree,
    FirstFit,
    // course: end
}

impl HeapKind {
    /// Every kind, in the order the GRUB menu lists them.
    pub const ALL: &[HeapKind] = &[
        HeapKind::Buddy,
        // course: module 07
        HeapKind::Pool,
        HeapKind::GapTree,
        HeapKind::FirstFit,
        // course: end
    ];

    /// The kind named by a `heap=` value.
    pub fn parse(s: &str) -> Result<HeapKind, &'static str> {
        match s {
            "buddy" => Ok(HeapKind::Buddy),
            // course: module 07
            "pool" => Ok(HeapKind::Pool),
            "gaptree" => Ok(HeapKind::GapTree),
            "firstfit" => Ok(HeapKind::FirstFit),
            _ => Err("heap= takes buddy, pool, gaptree or firstfit"),
            // course: else
            // _ => Err("heap= takes buddy (the other designs come in module 7)"),
            // course: end
        }
    }

    /// Bytes at the front of an arena of `arena_len` bytes the design keeps
    /// for bookkeeping (the buddy heap's side table of block starts); the
    /// first region handed to [`AnyHeap::new`] must hold them as well.
    pub const fn table_bytes(self, arena_len: usize) -> usize {
        match self {
            HeapKind::Buddy => SlabBuddy::arena_table_bytes(arena_len, KERNEL_MIN_SCALE),
            // course: module 07
            _ => 0,
            // course: end
        }
    }

    /// The `heap=` name.
    pub fn name(self) -> &'static str {
        match self {
            HeapKind::Buddy => "buddy",
            // course: module 07
            HeapKind::Pool => "pool",
            HeapKind::GapTree => "gaptree",
            HeapKind::FirstFit => "firstfit",
            // course: end
        }
    }
}

/// The buddy heap's scales as the kernel heap: 16-byte blocks up to the
/// whole arena.
pub const KERNEL_MIN_SCALE: u8 = 4;

/// One of the four heaps. It lives in one static for the whole run, so the
/// size difference between the variants costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
pub enum AnyHeap {
    Buddy(SlabBuddy),
    // course: module 07
    Pool(PoolHeap),
    GapTree(GapTreeHeap),
    FirstFit(FirstFitHeap),
    // course: end
}

impl AnyHeap {
    /// A heap of `kind` over `arena_len` bytes of address space at `base`,
    /// of which the first `backed` bytes are memory now (the rest comes
    /// through the grow hook). The buddy, first-fit and gap-tree heaps
    /// derive every pointer from `base`; the pool heap keeps addresses as
    /// integers (the family's), so `base`'s provenance is exposed for it.
    ///
    /// # Safety
    /// `base..base+backed` must be valid, writable memory used by nothing
    /// else for as long as the heap lives.
    pub unsafe fn new(
        kind: HeapKind,
        base: *mut u8,
        arena_len: usize,
        backed: usize,
    ) -> Result<AnyHeap, AllocError> {
        // course: module 07
        // The family's heaps start empty and take the first region.
        let with_region = |mut heap: AnyHeap| {
            // SAFETY: forwarded from the caller.
            unsafe { heap.add_region_ptr(base, backed) }.map(|()| heap)
        };
        // course: end
        match kind {
            // SAFETY: forwarded from the caller.
            HeapKind::Buddy => unsafe { Self::buddy(base, arena_len, backed, Slabs::On) },
            // course: module 07
            HeapKind::Pool => with_region(AnyHeap::Pool(PoolHeap::new())),
            HeapKind::GapTree => {
                with_region(AnyHeap::GapTree(GapTreeHeap::new(VoidPolicy::NoVoid)))
            }
            HeapKind::FirstFit => with_region(AnyHeap::FirstFit(FirstFitHeap::new())),
            // course: end
        }
    }

    /// The buddy design over `arena_len` bytes at `base`, `backed` of
    /// them memory now, with or without slabs for its small requests (the
    /// kernel heap has them; the small reserve, which must keep a whole
    /// 16 KiB block for the shell's reports, does not).
    ///
    /// # Safety
    /// As [`AnyHeap::new`].
    pub unsafe fn buddy(
        base: *mut u8,
        arena_len: usize,
        backed: usize,
        slabs: Slabs,
    ) -> Result<AnyHeap, AllocError> {
        let max_scale = usize::BITS as u8 - 1 - arena_len.leading_zeros() as u8;
        // SAFETY: forwarded from the caller.
        let b = unsafe {
            SlabBuddy::with_arena(base, arena_len, backed, KERNEL_MIN_SCALE, max_scale, slabs)
        }
        .map_err(to_alloc_error)?;
        Ok(AnyHeap::Buddy(b))
    }

    /// The buddy heap under the slabs, when the buddy design is in use
    /// (for `heap`, `heapmap`...: slabs are used blocks of it).
    pub fn as_buddy(&self) -> Option<&BuddyHeap> {
        match self {
            AnyHeap::Buddy(b) => Some(b.buddy()),
            // course: module 07
            _ => None,
            // course: end
        }
    }

    /// The buddy design with its slabs, when in use (for `heapcheck`,
    /// `free`, `alloc`: what a pointer is, checked frees).
    pub fn as_slab(&mut self) -> Option<&mut SlabBuddy> {
        match self {
            AnyHeap::Buddy(b) => Some(b),
            // course: module 07
            _ => None,
            // course: end
        }
    }

    /// The design in use.
    pub fn kind(&self) -> HeapKind {
        match self {
            AnyHeap::Buddy(_) => HeapKind::Buddy,
            // course: module 07
            AnyHeap::Pool(_) => HeapKind::Pool,
            AnyHeap::GapTree(_) => HeapKind::GapTree,
            AnyHeap::FirstFit(_) => HeapKind::FirstFit,
            // course: end
        }
    }
}

/// `$call` on the design in use, as `h`: one `match`, every arm inlined.
macro_rules! dispatch {
    ($heap:expr, $h:ident => $call:expr) => {
        match $heap {
            AnyHeap::Buddy($h) => $call,
            // course: module 07
            AnyHeap::Pool($h) => $call,
            AnyHeap::GapTree($h) => $call,
            AnyHeap::FirstFit($h) => $call,
            // course: end
        }
    };
}

/// The buddy heap's error, in the family's terms.
pub fn to_alloc_error(e: HeapError) -> AllocError {
    match e {
        HeapError::OutOfMemory { .. } | HeapError::ArenaFull { .. } => AllocError::OutOfMemory,
        HeapError::ZeroSize | HeapError::TooBig { .. } | HeapError::LayoutMismatch { .. } => {
            AllocError::InvalidSize
        }
        HeapError::BadAlign { .. } => AllocError::InvalidAlignment,
        HeapError::Corrupt { .. } => AllocError::Corrupted,
        HeapError::BadScales { .. }
        | HeapError::BadRegion
        | HeapError::OutsideHeap { .. }
        | HeapError::NotPayload { .. }
        | HeapError::Interior { .. }
        | HeapError::DoubleFree { .. } => AllocError::InvalidAddress,
    }
}

/// The `HeapBackend` methods the buddy heap and the kernel's buddy design
/// (slabs over it) share: each forwards to the type's own method of the same
/// name, and regions must follow each other (the heap grows at its end,
/// the buddy heap's `backed_end_addr`, which `$buddy` reaches).
macro_rules! buddy_design_backend {
    ($T:ty, $buddy:expr) => {
        fn name(&self) -> &'static str {
            "buddy"
        }
        unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
            if start != $buddy(&*self).backed_end_addr() {
                return Err(AllocError::InvalidAddress);
            }
            // SAFETY: forwarded from the caller.
            unsafe { self.add_backed(len) }.map_err(to_alloc_error)
        }
        #[inline]
        fn resize_in_place(
            &mut self,
            ptr: NonNull<u8>,
            layout: Layout,
            new_size: usize,
        ) -> Result<bool, AllocError> {
            <$T>::resize_in_place(self, ptr, layout, new_size).map_err(to_alloc_error)
        }
        fn grow_hint(&self, layout: Layout) -> Option<usize> {
            <$T>::grow_hint(self, layout)
        }
        fn side_table_bytes(&self) -> usize {
            <$T>::side_table_bytes(self)
        }
        fn set_poison(&mut self, on: bool) -> bool {
            <$T>::set_poison(self, on);
            true
        }
        fn poisoning(&self) -> bool {
            <$T>::poisoning(self)
        }
        fn region_end(&self) -> usize {
            $buddy(&*self).backed_end_addr()
        }
    };
}

/// The buddy heap as a family member; frees are the checked kind.
impl HeapBackend for BuddyHeap {
    buddy_design_backend!(BuddyHeap, core::convert::identity);
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        self.alloc_layout(layout).map_err(to_alloc_error)
    }
    #[inline]
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        self.free_layout(ptr, layout).map_err(to_alloc_error)
    }
    fn stats(&self) -> HeapStats {
        let free = self.free_counts().total_bytes();
        let report = self.check().ok();
        HeapStats {
            size: self.heap_bytes(),
            used: self.heap_bytes() - free,
            free,
            largest_free: self.largest_free().map(|s| s.bytes()).unwrap_or(0),
            allocations: report.map(|r| r.used_blocks).unwrap_or(0),
        }
    }
    fn check(&self) -> Result<(), HeapCheckError> {
        BuddyHeap::check(self)
            .map(|_| ())
            .map_err(HeapCheckError::Buddy)
    }
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        super::report::write_report(self, &mut &mut *out)
    }
}

/// The kernel heap's buddy design: slabs for small requests, the buddy
/// heap for the rest; every free checked (see `heap::slab`).
impl HeapBackend for SlabBuddy {
    buddy_design_backend!(SlabBuddy, SlabBuddy::buddy);
    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        self.alloc_layout(layout).map_err(to_alloc_error)
    }
    #[inline(always)]
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        self.free_layout(ptr, layout).map_err(to_alloc_error)
    }
    fn stats(&self) -> HeapStats {
        let b = self.buddy();
        // Cached blocks are used blocks of the buddy heap but free memory.
        let free = b.free_counts().total_bytes() + self.cached_block_bytes();
        let report = b.check().ok();
        HeapStats {
            size: b.heap_bytes(),
            used: b.heap_bytes() - free,
            free,
            largest_free: b.largest_free().map(|s| s.bytes()).unwrap_or(0),
            // A slab is one used block holding its objects.
            allocations: report
                .map(|r| {
                    r.used_blocks - self.slab_count() - self.cached_blocks() + self.object_count()
                })
                .unwrap_or(0),
        }
    }
    fn check(&self) -> Result<(), HeapCheckError> {
        SlabBuddy::check(self).map(|_| ())
    }
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        super::report::write_report(self.buddy(), &mut &mut *out)?;
        match self.check_slabs() {
            Ok(r) => writeln!(out, "{r}"),
            Err(e) => writeln!(out, "slabs CORRUPT: {e}"),
        }
    }
}

impl HeapBackend for AnyHeap {
    fn name(&self) -> &'static str {
        dispatch!(self, h => h.name())
    }
    unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
        // SAFETY: forwarded from the caller.
        dispatch!(self, h => unsafe { HeapBackend::add_region(h, start, len) })
    }
    unsafe fn add_region_ptr(&mut self, start: *mut u8, len: usize) -> Result<(), AllocError> {
        // SAFETY: forwarded from the caller.
        dispatch!(self, h => unsafe { HeapBackend::add_region_ptr(h, start, len) })
    }
    #[inline(always)]
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        dispatch!(self, h => HeapBackend::alloc(h, layout))
    }
    #[inline(always)]
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        dispatch!(self, h => HeapBackend::dealloc(h, ptr, layout))
    }
    fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<bool, AllocError> {
        dispatch!(self, h => HeapBackend::resize_in_place(h, ptr, layout, new_size))
    }
    fn stats(&self) -> HeapStats {
        dispatch!(self, h => HeapBackend::stats(h))
    }
    fn check(&self) -> Result<(), HeapCheckError> {
        dispatch!(self, h => HeapBackend::check(h))
    }
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        dispatch!(self, h => HeapBackend::dump(h, out))
    }
    fn grow_hint(&self, layout: Layout) -> Option<usize> {
        dispatch!(self, h => HeapBackend::grow_hint(h, layout))
    }
    fn side_table_bytes(&self) -> usize {
        dispatch!(self, h => HeapBackend::side_table_bytes(h))
    }
    fn set_poison(&mut self, on: bool) -> bool {
        dispatch!(self, h => HeapBackend::set_poison(h, on))
    }
    fn poisoning(&self) -> bool {
        dispatch!(self, h => HeapBackend::poisoning(h))
    }
    fn region_end(&self) -> usize {
        dispatch!(self, h => HeapBackend::region_end(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_and_name() {
        for &k in HeapKind::ALL {
            assert_eq!(HeapKind::parse(k.name()), Ok(k));
        }
        assert!(HeapKind::parse("slab").is_err());
    }
}
