//! The faces of a list heap (first fit, gap tree), written once: the
//! family's [`Allocator`](crate::mm::family::Allocator) and the kernel's
//! [`HeapBackend`](super::HeapBackend), both forwarding to the heap's own
//! methods. Each heap names what differs (its name, its check error, its
//! default alignment, what a growth must bring beyond the request).
//!
//! ```text
//!   Range request ──Allocator──┐
//!                              ├──▶ heap.alloc(size, align) / free / free_layout /
//!   Layout ───────HeapBackend──┘    resize_in_place / check / dump / set_poison
//! ```
//!
//! The heap type must have the fields `regions` ([`Regions`](super::regions::Regions)),
//! `size`, `free` and `poison`, the inherent methods `add_region(*mut u8,
//! usize)`, `alloc(size, align)`, `free`, `free_layout`, `resize_in_place`
//! and `check`, and implement [`FreeSpace`](super::inplace::FreeSpace);
//! the macro also gives it the inherent `poisoning` and `set_poison`.

/// `Allocator` and `HeapBackend` for a list heap:
///
/// ```text
///   list_heap_adapter!(Heap {
///       name: "heap",                        HeapBackend::name
///       fault: HeapCheckError::Variant,      wraps the heap's own check error
///       align: |requested| requested.max(8), a Range request's alignment (0: default)
///       largest_free: method,                HeapStats::largest_free
///       allocations: field,                  HeapStats::allocations
///       dump: method,                        HeapBackend::dump
///       grow_slack: bytes,                   a growth brings size + align + this
///   });
/// ```
macro_rules! list_heap_adapter {
    ($heap:ty {
        name: $name:literal,
        fault: $fault:path,
        align: $align:expr,
        largest_free: $largest:ident,
        allocations: $allocations:ident,
        dump: $dump:ident,
        grow_slack: $slack:expr $(,)?
    }) => {
        impl $heap {
            /// Whether freed bytes are poisoned.
            pub fn poisoning(&self) -> bool {
                self.poison
            }

            /// Turn poisoning on or off; turning it on poisons every free
            /// block (all but its metadata).
            pub fn set_poison(&mut self, on: bool) {
                $crate::mm::heap::inplace::FreeSpace::switch_poison(self, on);
            }
        }

        impl $crate::mm::family::Allocator for $heap {
            fn allocate(
                &mut self,
                request: $crate::mm::family::Range,
            ) -> Result<$crate::mm::family::Range, $crate::mm::family::AllocError> {
                let align = ($align)(request.alignment);
                let p = self.alloc(request.size, align)?;
                Ok($crate::mm::family::Range {
                    address: p.as_ptr().addr(),
                    size: request.size,
                    alignment: align,
                })
            }
            fn release(&mut self, address: usize) -> Result<(), $crate::mm::family::AllocError> {
                let p = core::ptr::NonNull::new(self.regions.at::<u8>(address))
                    .ok_or($crate::mm::family::AllocError::InvalidAddress)?;
                self.free(p)
            }
            fn size(&self) -> usize {
                self.size
            }
            fn available(&self) -> usize {
                self.free
            }
            fn base(&self) -> usize {
                self.regions.as_slice().first().map_or(0, |r| r.address)
            }
            fn alignment(&self) -> usize {
                ($align)(0)
            }
        }

        impl $crate::mm::heap::HeapBackend for $heap {
            fn name(&self) -> &'static str {
                $name
            }
            /// Memory at an address: growth at the end of a region (the
            /// grow hook's) is reached through that region's pointer.
            unsafe fn add_region(
                &mut self,
                start: usize,
                len: usize,
            ) -> Result<(), $crate::mm::family::AllocError> {
                let start = self.regions.at::<u8>(start);
                // SAFETY: the caller upholds the contract.
                unsafe { <$heap>::add_region(self, start, len) }
            }
            unsafe fn add_region_ptr(
                &mut self,
                start: *mut u8,
                len: usize,
            ) -> Result<(), $crate::mm::family::AllocError> {
                // SAFETY: the caller upholds the contract.
                unsafe { <$heap>::add_region(self, start, len) }
            }
            fn alloc(
                &mut self,
                layout: core::alloc::Layout,
            ) -> Result<core::ptr::NonNull<u8>, $crate::mm::family::AllocError> {
                <$heap>::alloc(self, layout.size(), layout.align())
            }
            fn dealloc(
                &mut self,
                ptr: core::ptr::NonNull<u8>,
                layout: core::alloc::Layout,
            ) -> Result<(), $crate::mm::family::AllocError> {
                self.free_layout(ptr, layout)
            }
            fn resize_in_place(
                &mut self,
                ptr: core::ptr::NonNull<u8>,
                layout: core::alloc::Layout,
                new_size: usize,
            ) -> Result<bool, $crate::mm::family::AllocError> {
                <$heap>::resize_in_place(self, ptr, layout, new_size)
            }
            fn set_poison(&mut self, on: bool) -> bool {
                <$heap>::set_poison(self, on);
                true
            }
            fn poisoning(&self) -> bool {
                self.poison
            }
            fn stats(&self) -> $crate::mm::heap::HeapStats {
                $crate::mm::heap::HeapStats {
                    size: self.size,
                    used: self.size - self.free,
                    free: self.free,
                    largest_free: self.$largest(),
                    allocations: self.$allocations,
                }
            }
            fn check(&self) -> Result<(), $crate::mm::heap::HeapCheckError> {
                <$heap>::check(self).map_err($fault)
            }
            fn dump(&self, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
                self.$dump(out)
            }
            fn grow_hint(&self, layout: core::alloc::Layout) -> Option<usize> {
                let need = layout.size().saturating_add(layout.align() + $slack);
                $crate::mm::family::align_up(need, $crate::mm::layout::PAGE_SIZE)
            }
            fn region_end(&self) -> usize {
                self.regions.end()
            }
        }
    };
}

pub(super) use list_heap_adapter;
