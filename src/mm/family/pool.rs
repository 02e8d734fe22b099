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

use super::bit::RawWords;
use super::{AllocError, Allocator, FamilyCheckError, Range, align_up};
use crate::mm::bitmap::Bitmap;
use core::fmt;
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

fn pool_bytes(objects: usize, object_size: usize) -> Option<usize> {
    let head = size_of::<Pool>() + Bitmap::<RawWords>::bytes_for(objects);
    align_up(head, POOL_ALIGN)?.checked_add(objects.checked_mul(object_size)?)
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

    /// Fill freed objects with `fill` from now on (`None`: stop). Turning
    /// it on fills every free slot of every pool; a pool block given back
    /// to the parent is filled whole after the parent took it, so the
    /// parent must keep no bookkeeping inside the blocks it hands out (the
    /// kernel heap's page arena keeps its bits apart).
    pub fn set_freed_fill(&mut self, fill: Option<u8>) {
        if let Some(b) = fill
            && self.freed_fill.is_none()
        {
            self.for_each_free_slot(&mut |from, to| {
                // SAFETY: a free slot's bytes between its prefix and its
                // guard belong to the pool and no object uses them.
                unsafe { ptr::write_bytes(from as *mut u8, b, to - from) }
            });
        }
        self.freed_fill = fill;
    }

    /// The fill set by [`PoolAllocator::set_freed_fill`].
    pub fn freed_fill(&self) -> Option<u8> {
        self.freed_fill
    }

    /// While a fill is set: the first free slot (its object address) with
    /// a byte between prefix and guard that is not the fill, and that
    /// byte's address; `None` when every free slot holds the fill.
    pub fn first_unfilled(&self) -> Option<(usize, usize)> {
        let b = self.freed_fill?;
        let mut found = None;
        self.for_each_free_slot(&mut |from, to| {
            if found.is_none() {
                // SAFETY: a free slot's bytes belong to the pool.
                let bytes = unsafe { core::slice::from_raw_parts(from as *const u8, to - from) };
                found = bytes.iter().position(|&x| x != b).map(|i| (from, from + i));
            }
        });
        found
    }

    /// `f(from, to)` for the bytes between prefix and guard of every free
    /// slot of every pool.
    fn for_each_free_slot(&self, f: &mut dyn FnMut(usize, usize)) {
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            let osize = object_size(i);
            let mut p = self.pools[i];
            // SAFETY: list members are live pools; their slots lie in their block.
            unsafe {
                while !p.is_null() {
                    for s in 0..(*p).bits.len() {
                        if !(*p).bits.test(s) {
                            let slot = (*p).payload + s * osize;
                            f(slot + PREFIX, slot + osize - POSTFIX);
                        }
                    }
                    p = (*p).next;
                }
            }
        }
    }

    /// Resize the object at `address` (allocated with `size` bytes) to
    /// `new_size` without moving it: possible when both sizes take the same
    /// slot size, by moving the postfix signature. The object is checked
    /// as by [`PoolAllocator::release_sized`] (an error changes nothing);
    /// `Ok(false)` (nothing changed) when the new size needs another pool.
    pub fn resize_sized(
        &mut self,
        address: usize,
        size: usize,
        new_size: usize,
    ) -> Result<bool, AllocError> {
        let (p, _) = self.find(address)?;
        // SAFETY: find() proved address - PREFIX is a live slot of pool p.
        unsafe {
            self.sized_ok(p, address, size)?;
            if new_size == 0 || pool_index(new_size) != Some((*p).index) {
                return Ok(false);
            }
            let at = address + align_up(new_size, 4).ok_or(AllocError::InvalidSize)?;
            let was = address + align_up(size, 4).ok_or(AllocError::InvalidSize)?;
            // The old postfix goes (past the old bytes, so no data is lost):
            // a later free with the old size is refused. Unless it is the
            // slot's guard word, which stays.
            let guard = address - PREFIX + object_size((*p).index) - POSTFIX;
            if was != guard {
                (was as *mut u32).write(0);
            }
            (at as *mut u32).write(OBJECT_SIGNATURE);
        }
        Ok(true)
    }

    /// The size, postfix and guard checks of a sized release.
    ///
    /// # Safety
    /// `address - PREFIX` is a live slot of pool `p`.
    unsafe fn sized_ok(&self, p: *mut Pool, address: usize, size: usize) -> Result<(), AllocError> {
        // SAFETY: the caller's guarantee.
        unsafe {
            if pool_index(size) != Some((*p).index) {
                return Err(AllocError::InvalidSize);
            }
            let at = address + align_up(size, 4).ok_or(AllocError::InvalidSize)?;
            if (at as *const u32).read() != OBJECT_SIGNATURE {
                return Err(AllocError::Corrupted);
            }
            if !Self::guards_ok(p, address - PREFIX) {
                return Err(AllocError::Corrupted);
            }
        }
        Ok(())
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

    /// # Safety
    /// `p` is a live pool.
    unsafe fn info(&self, p: *mut Pool) -> PoolInfo {
        // SAFETY: the caller passes a live pool.
        unsafe {
            PoolInfo {
                address: p as usize,
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

    /// A pool of `2^index` slots with a free slot: an existing one or a new
    /// one from the parent.
    fn retrieve_pool(&mut self, index: usize) -> Result<*mut Pool, AllocError> {
        let mut n = 0;
        let mut p = self.pools[index];
        // SAFETY: list members are live pools.
        unsafe {
            while !p.is_null() {
                if (*p).bits.count_zeros() > 0 {
                    return Ok(p);
                }
                n += 1;
                p = (*p).next;
            }
        }
        self.allocate_pool(index, object_count(object_size(index)) * n.max(1))
    }

    /// Take a block for a pool of `objects` slots from the parent, use all
    /// of what it gives, and link the pool first in its list.
    fn allocate_pool(&mut self, index: usize, objects: usize) -> Result<*mut Pool, AllocError> {
        let osize = object_size(index);
        let want = pool_bytes(objects, osize).ok_or(AllocError::OutOfMemory)?;
        let r = self.parent.allocate(Range::request(want, POOL_ALIGN))?;
        if r.size < want || !r.address.is_multiple_of(POOL_ALIGN) {
            // A parent breaking its contract: give the block back, refuse.
            let _ = self.parent.release(r.address);
            return Err(AllocError::OutOfMemory);
        }
        // The parent may give more than asked: fit as many slots as we can.
        let mut n = (r.size - size_of::<Pool>()) / osize;
        while n > objects && pool_bytes(n, osize).is_none_or(|b| b > r.size) {
            n -= 1;
        }
        let words = Bitmap::<RawWords>::words_for(n);
        let bitmap = r.address + size_of::<Pool>();
        let payload = align_up(bitmap + words * 4, POOL_ALIGN).ok_or(AllocError::OutOfMemory)?;
        let p = r.address as *mut Pool;
        // SAFETY: [r.address, r.end()) is ours (contract of `new`) and holds
        // the header, the bitmap words and n slots (pool_bytes(n) <= r.size).
        unsafe {
            let raw = RawWords::new(bitmap as *mut u32, words);
            let bits = match Bitmap::new(raw, n) {
                Ok(b) => b,
                Err(_) => {
                    let _ = self.parent.release(r.address);
                    return Err(AllocError::OutOfMemory);
                }
            };
            p.write(Pool {
                prev: ptr::null_mut(),
                next: self.pools[index],
                index,
                block: r,
                payload,
                bitmap_size: words * 4,
                cursor: 0,
                bits,
            });
            if !self.pools[index].is_null() {
                (*self.pools[index]).prev = p;
            }
        }
        self.pools[index] = p;
        Ok(p)
    }

    /// Unlink pool `p` and give its block back to the parent; a refusal by
    /// the parent keeps the pool (FreeNOS's rule).
    ///
    /// # Safety
    /// `p` is a live pool with no objects.
    unsafe fn release_pool(&mut self, p: *mut Pool) {
        // SAFETY: p is live; its neighbours are live pools.
        unsafe {
            let (prev, next, index, block) = ((*p).prev, (*p).next, (*p).index, (*p).block);
            if self.parent.release(block.address).is_err() {
                return;
            }
            if let Some(b) = self.freed_fill {
                // The header is gone with the pool; the links were read above.
                ptr::write_bytes(block.address as *mut u8, b, block.size);
            }
            if !prev.is_null() {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            if self.pools[index] == p {
                self.pools[index] = next;
            }
        }
    }

    /// The pool and slot number of the object at `address`, found without
    /// reading the object's memory.
    fn find(&self, address: usize) -> Result<(*mut Pool, usize), AllocError> {
        let slot = address
            .checked_sub(PREFIX)
            .ok_or(AllocError::InvalidAddress)?;
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            let osize = object_size(i);
            let mut p = self.pools[i];
            // SAFETY: list members are live pools.
            unsafe {
                while !p.is_null() {
                    let start = (*p).payload;
                    let end = start + (*p).bits.len() * osize;
                    if slot >= start && slot < end {
                        let off = slot - start;
                        if !off.is_multiple_of(osize) || !(*p).bits.test(off / osize) {
                            return Err(AllocError::InvalidAddress);
                        }
                        return Ok((p, off / osize));
                    }
                    p = (*p).next;
                }
            }
        }
        Err(AllocError::InvalidAddress)
    }

    /// Check the prefix and the guard of a live slot.
    ///
    /// # Safety
    /// `slot` is a live slot of pool `p`.
    unsafe fn guards_ok(p: *mut Pool, slot: usize) -> bool {
        // SAFETY: the slot lies inside the pool's payload.
        unsafe {
            let osize = object_size((*p).index);
            let pre = (slot as *const ObjectPrefix).read();
            let guard = ((slot + osize - POSTFIX) as *const u32).read();
            pre.signature == OBJECT_SIGNATURE && pre.pool == p && guard == OBJECT_SIGNATURE
        }
    }

    fn release_checked(&mut self, address: usize, size: Option<usize>) -> Result<(), AllocError> {
        let (p, slot_no) = self.find(address)?;
        let slot = address - PREFIX;
        // SAFETY: find() proved slot is a live slot of pool p.
        unsafe {
            if let Some(size) = size {
                self.sized_ok(p, address, size)?;
            } else if !Self::guards_ok(p, slot) {
                return Err(AllocError::Corrupted);
            }
            ObjectPrefix::store(slot as *mut ObjectPrefix, 0, ptr::null_mut());
            if let Some(b) = self.freed_fill {
                let osize = object_size((*p).index);
                ptr::write_bytes(address as *mut u8, b, osize - PREFIX - POSTFIX);
            }
            (*p).bits.clear(slot_no);
            if (*p).bits.count_ones() == 0 {
                self.release_pool(p);
            }
        }
        Ok(())
    }

    /// Release the object at `address` that was allocated with `size`
    /// bytes: also checks the postfix right after the object and that the
    /// size belongs to this pool (`InvalidSize`).
    pub fn release_sized(&mut self, address: usize, size: usize) -> Result<(), AllocError> {
        self.release_checked(address, Some(size))
    }

    /// Integrity check: list links, pool indices, bitmaps, and every live
    /// object's prefix and guard.
    pub fn check(&self) -> Result<(), FamilyCheckError> {
        for i in 0..=MAX_POOL_INDEX {
            let mut prev: *mut Pool = ptr::null_mut();
            let mut p = self.pools[i];
            let mut n = 0;
            // SAFETY: list members are live pools (what we check).
            unsafe {
                while !p.is_null() {
                    n += 1;
                    if n > 1 << 20 {
                        return Err(FamilyCheckError::PoolListCycle);
                    }
                    if (*p).prev != prev || (*p).index != i || i < MIN_POOL_INDEX {
                        return Err(FamilyCheckError::PoolBrokenList);
                    }
                    (*p).bits.check().map_err(FamilyCheckError::Bitmap)?;
                    let osize = object_size(i);
                    if (*p).payload + (*p).bits.len() * osize > (*p).block.end() {
                        return Err(FamilyCheckError::PoolSlotsPastBlock);
                    }
                    let mut b = 0;
                    while let Some(s) = (*p).bits.next_set(b) {
                        if !Self::guards_ok(p, (*p).payload + s * osize) {
                            return Err(FamilyCheckError::PoolGuardOverwritten);
                        }
                        b = s + 1;
                    }
                    prev = p;
                    p = (*p).next;
                }
            }
        }
        Ok(())
    }

    /// One line per pool size in use, then one per pool.
    pub fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            let (mut n, mut objs, mut used) = (0, 0, 0);
            self.for_each_pool(i, &mut |p| {
                n += 1;
                objs += p.objects;
                used += p.used;
            });
            if n == 0 {
                continue;
            }
            writeln!(
                out,
                "pool 2^{} ({} bytes): {} pools, {} of {} objects used",
                i,
                object_size(i),
                n,
                used,
                objs
            )?;
            let mut res = Ok(());
            self.for_each_pool(i, &mut |p| {
                if res.is_ok() {
                    res = writeln!(
                        out,
                        "  pool at V{:#010x}: {} bytes, {}/{} used",
                        p.address, p.block_size, p.used, p.objects
                    );
                }
            });
            res?;
        }
        Ok(())
    }
}

impl<P: Allocator> Allocator for PoolAllocator<P> {
    /// `alignment` 0 or a power of two up to [`POOL_ALIGN`] (FreeNOS took only 0).
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        if request.alignment != 0
            && (!request.alignment.is_power_of_two() || request.alignment > POOL_ALIGN)
        {
            return Err(AllocError::InvalidAlignment);
        }
        if request.size == 0 {
            return Err(AllocError::InvalidSize);
        }
        let index = pool_index(request.size).ok_or(AllocError::InvalidSize)?;
        let p = self.retrieve_pool(index)?;
        let osize = object_size(index);
        // SAFETY: p is a live pool with a free slot; all writes stay in it.
        unsafe {
            let bit = (*p)
                .bits
                .find_clear((*p).cursor)
                .ok_or(AllocError::OutOfMemory)?;
            (*p).bits.set(bit);
            (*p).cursor = bit + 1;
            let slot = (*p).payload + bit * osize;
            ObjectPrefix::store(slot as *mut ObjectPrefix, OBJECT_SIGNATURE, p);
            let input = align_up(request.size, 4).ok_or(AllocError::InvalidSize)?;
            ((slot + PREFIX + input) as *mut u32).write(OBJECT_SIGNATURE);
            ((slot + osize - POSTFIX) as *mut u32).write(OBJECT_SIGNATURE);
            Ok(Range {
                address: slot + PREFIX,
                size: request.size,
                alignment: request.alignment,
            })
        }
    }

    /// Release an object; the pool goes back to the parent when empty.
    fn release(&mut self, address: usize) -> Result<(), AllocError> {
        self.release_checked(address, None)
    }

    /// Bytes taken from the parent for pools.
    fn size(&self) -> usize {
        let mut n = 0;
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            self.for_each_pool(i, &mut |p| n += p.block_size);
        }
        n
    }

    /// Bytes of free slots.
    fn available(&self) -> usize {
        let mut n = 0;
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            self.for_each_pool(i, &mut |p| n += (p.objects - p.used) * object_size(i));
        }
        n
    }

    fn base(&self) -> usize {
        0
    }

    fn alignment(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests;
