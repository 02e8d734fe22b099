//! PoolAllocator: objects of power-of-two sizes in pools drawn from a
//! parent allocator; an empty pool goes back to the parent.
//!
//! ```text
//!   pools[7] ──▶ Pool ◀──▶ Pool ◀──▶ Pool          (128-byte slots)
//!
//!   one pool (one block from the parent):
//!   ┌──────────┬────────┬────────────────────────────────────────────┐
//!   │ Pool hdr │ bitmap │ slot │ slot │ slot │ ...                   │
//!   └──────────┴────────┴────────────────────────────────────────────┘
//!   one slot:  [ObjectPrefix{sig,pool}][object ....][ObjectPostfix{sig}]..[guard]
//!                                      ^ allocate returns this           ^ last word
//! ```
//!
//! A request of `n` bytes takes the smallest slot `2^i >= n + prefix +
//! postfix` (i from 2 to 27, FreeNOS's limits). A pool of slot size `s`
//! holds `16 KiB / s` objects (at least 1), times the number of pools of
//! that size already there, so busy sizes get bigger pools.
//!
//! Fixed from FreeNOS: a bad release (wild pointer, double free, an
//! address inside an object) is found by looking the address up in the
//! pools *before* touching it, and returns `InvalidAddress`; a wrong
//! signature returns `Corrupted` instead of halting in an assert; nothing
//! changes on either. FreeNOS found the postfix by scanning backwards for
//! the signature (user data holding that value fooled it); Cairn checks the
//! postfix exactly where it was written when the size is known
//! ([`PoolAllocator::release_sized`], which the kernel heap uses) and always
//! checks a guard word in the slot's last word, which any overflow into the
//! next object must cross.
//!
//! One file per idea:
//!
//! ```text
//!   mod.rs      the layouts (pool header, prefix, postfix), the sizes, the
//!               allocator's state and what it reports about its pools
//!   pools.rs    pools drawn from the parent and given back when empty
//!   objects.rs  an object: placed in a slot, found, checked, released, resized
//!   fill.rs     freed slots filled with a byte (the heap's poisoning), and checked
//!   check.rs    check() and dump()
//! ```
//!
//! Every pointer into a pool is derived from the pool's header pointer,
//! and that one from the parent's [`Allocator::pointer`] (strict provenance).

mod check;
mod fill;
mod objects;
mod pools;

use super::bit::RawWords;
use super::{Allocator, Range, align_up};
use crate::mm::bitmap::Bitmap;
use core::mem::size_of;
use core::ptr;

/// Smallest pool index: slots of 2^2 bytes.
pub const MIN_POOL_INDEX: usize = 2;
/// Largest pool index: slots of 2^27 bytes (128 MiB).
pub const MAX_POOL_INDEX: usize = 27;
/// Written around every object to catch overflows (FreeNOS's value).
pub const OBJECT_SIGNATURE: u32 = 0xF731_2A56;
/// Bytes a pool of small objects aims for (FreeNOS: 16 KiB).
pub const POOL_BYTES: usize = 16 * 1024;

/// Stored just before every object.
#[repr(C)]
pub struct ObjectPrefix {
    /// [`OBJECT_SIGNATURE`].
    pub signature: u32,
    /// The pool the object belongs to.
    pub pool: *mut Pool,
}

impl ObjectPrefix {
    /// Store a prefix at `at` field by field with its padding (4 bytes on
    /// 64-bit hosts) zeroed: a typed write would leave the padding
    /// uninitialised, and a byte snapshot of the heap would read it.
    ///
    /// # Safety
    /// `at` is valid for writes of an `ObjectPrefix` and aligned for it.
    unsafe fn store(at: *mut ObjectPrefix, signature: u32, pool: *mut Pool) {
        // SAFETY: the caller's contract: `at` is writable and aligned.
        unsafe {
            at.cast::<u8>().write_bytes(0, size_of::<ObjectPrefix>());
            ptr::addr_of_mut!((*at).signature).write(signature);
            ptr::addr_of_mut!((*at).pool).write(pool);
        }
    }
}

/// Stored just after every object (at its size rounded to 4 bytes).
#[repr(C)]
pub struct ObjectPostfix {
    /// [`OBJECT_SIGNATURE`].
    pub signature: u32,
}

const PREFIX: usize = size_of::<ObjectPrefix>();
const POSTFIX: usize = size_of::<ObjectPostfix>();
/// Alignment of every object handed out (8 on i686).
pub const POOL_ALIGN: usize = if PREFIX > 8 { PREFIX } else { 8 };
const _: () = assert!(POOL_ALIGN.is_power_of_two() && PREFIX.is_multiple_of(POOL_ALIGN));
#[cfg(target_pointer_width = "32")]
const _: () = assert!(PREFIX == 8 && POOL_ALIGN == 8);

/// One pool: a header at the start of the block taken from the parent.
#[repr(C)]
pub struct Pool {
    prev: *mut Pool,
    next: *mut Pool,
    index: usize,
    block: Range,
    payload: usize,
    bitmap_size: usize,
    cursor: usize,
    bits: Bitmap<RawWords>,
}

/// What a test or report may know about one pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolInfo {
    /// The pool's block address (where its header is).
    pub address: usize,
    /// Power of two of the slot size.
    pub index: usize,
    /// Bytes of the block taken from the parent.
    pub block_size: usize,
    /// Bytes of the bitmap, right after the header.
    pub bitmap_size: usize,
    /// Address of the first slot.
    pub payload: usize,
    /// Slots.
    pub objects: usize,
    /// Slots in use.
    pub used: usize,
}

/// A pool allocator drawing its pools from parent `P`.
pub struct PoolAllocator<P> {
    parent: P,
    pools: [*mut Pool; MAX_POOL_INDEX + 1],
    /// While set, freed objects (between prefix and guard) and pool blocks
    /// given back to the parent are filled with this byte (the kernel
    /// heap's poisoning; see [`PoolAllocator::set_freed_fill`]).
    freed_fill: Option<u8>,
}

// SAFETY: the allocator exclusively owns its pools' memory (contract of
// `new`); moving it moves that ownership.
unsafe impl<P: Send> Send for PoolAllocator<P> {}

/// The pool index for an object of `size` bytes, or `None` when too large.
pub fn pool_index(size: usize) -> Option<usize> {
    let need = align_up(size, 4)?.checked_add(PREFIX + POSTFIX)?;
    let index = (need.next_power_of_two().trailing_zeros() as usize).max(MIN_POOL_INDEX);
    (index <= MAX_POOL_INDEX).then_some(index)
}

/// Slot bytes of pool `index`.
pub const fn object_size(index: usize) -> usize {
    1 << index
}

/// Objects a first pool of `object_size`-byte slots holds (FreeNOS
/// `calculateObjectCount`): 16 KiB worth, at least one.
pub const fn object_count(object_size: usize) -> usize {
    if object_size >= POOL_BYTES {
        1
    } else {
        POOL_BYTES / object_size
    }
}

/// Bytes of a pool of `objects` slots of `object_size` bytes: header,
/// bitmap, padding to the pools' alignment, slots; `None` on overflow.
fn pool_bytes(objects: usize, object_size: usize) -> Option<usize> {
    let head = size_of::<Pool>() + Bitmap::<RawWords>::bytes_for(objects);
    align_up(head, POOL_ALIGN)?.checked_add(objects.checked_mul(object_size)?)
}

/// A pointer to `addr` inside pool `p`'s block, derived from `p` (whose
/// provenance covers the whole block the parent gave).
fn in_pool<T>(p: *mut Pool, addr: usize) -> *mut T {
    p.cast::<u8>().with_addr(addr).cast()
}

impl<P: Allocator> PoolAllocator<P> {
    /// A pool allocator with no pools yet, drawing memory from `parent`.
    ///
    /// # Safety
    /// Every range `parent` hands out must be memory valid for reads and
    /// writes, used by nothing else until released back to it.
    pub const unsafe fn new(parent: P) -> PoolAllocator<P> {
        PoolAllocator {
            parent,
            pools: [ptr::null_mut(); MAX_POOL_INDEX + 1],
            freed_fill: None,
        }
    }

    /// The parent allocator.
    pub fn parent(&self) -> &P {
        &self.parent
    }

    /// The parent, mutably (for memory not managed as pools).
    pub fn parent_mut(&mut self) -> &mut P {
        &mut self.parent
    }

    /// Call `f` for each pool of slot size `2^index`, newest first.
    pub fn for_each_pool(&self, index: usize, f: &mut dyn FnMut(PoolInfo)) {
        let mut p = self.pools.get(index).copied().unwrap_or(ptr::null_mut());
        // SAFETY: list members are live pool headers we wrote.
        unsafe {
            while !p.is_null() {
                f(self.info(p));
                p = (*p).next;
            }
        }
    }

    /// What may be known about pool `p`.
    ///
    /// # Safety
    /// `p` is a live pool.
    unsafe fn info(&self, p: *mut Pool) -> PoolInfo {
        // SAFETY: the caller passes a live pool.
        unsafe {
            PoolInfo {
                address: p.addr(),
                index: (*p).index,
                block_size: (*p).block.size,
                bitmap_size: (*p).bitmap_size,
                payload: (*p).payload,
                objects: (*p).bits.len(),
                used: (*p).bits.count_ones(),
            }
        }
    }

    /// Number of pools of slot size `2^index`.
    pub fn pool_count(&self, index: usize) -> usize {
        let mut n = 0;
        self.for_each_pool(index, &mut |_| n += 1);
        n
    }

    /// Live objects in all pools.
    pub fn objects(&self) -> usize {
        let mut n = 0;
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            self.for_each_pool(i, &mut |p| n += p.used);
        }
        n
    }

    /// The largest slot size with a free slot (0 when none).
    pub fn largest_free_slot(&self) -> usize {
        let mut best = 0;
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            self.for_each_pool(i, &mut |p| {
                if p.used < p.objects {
                    best = object_size(i);
                }
            });
        }
        best
    }

    /// True when `address` is the block of a live pool (its header).
    pub fn is_pool_block(&self, address: usize) -> bool {
        let mut hit = false;
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            self.for_each_pool(i, &mut |p| hit |= p.address == address);
        }
        hit
    }
}

#[cfg(test)]
mod tests;
