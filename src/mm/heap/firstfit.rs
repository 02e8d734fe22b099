//! The first-fit heap of seed 004: one address-ordered list of free
//! blocks; allocation takes the first block that fits and splits it; a free
//! coalesces with the free blocks just before and after.
//!
//! ```text
//!   head ──▶ [free 96] ──────────▶ [free 512] ──────────▶ [free 40] ──▶ null
//!   memory:  |free 96|used|used|   |free 512|  used    |  |free 40|used|
//!
//!   used block = [front void][Header{tag,front,size,check}][buffer][tail]
//!   free block = [FreeBlock{tag,next}] .........................
//! ```
//!
//! The baseline of the family: simple and small, but every allocation and
//! every free walks the list, O(n) in the number of free blocks, and first
//! fit piles small leftovers at the front of the heap. Cairn's version
//! aligns up to a page, refuses bad frees (wild pointer, double free, wrong
//! layout) without changing anything, and can be walked block by block by
//! `check()` (the first word of each block is tagged, as in the gap-tree heap).
//!
//! `realloc` in place: a block grows into the free block right after it
//! (taking what it needs, the rest stays free) and shrinks by giving its
//! tail back as a free block (merged with the one after). Poisoning (the
//! `poison` boot option): freed bytes hold [`POISON`](super::poison::POISON)
//! except each free block's own two words (length and link), and `check()`
//! names the first free block written after its free.
//!
//! ```text
//!   grow:    |hdr|buffer|free 200 ...........|   ->  |hdr|buffer ......|free 120|
//!   shrink:  |hdr|buffer ...............|        ->  |hdr|buffer|free 96|
//!   poison:  |tag|next|DB DB DB DB DB ... DB|    (a free block)
//! ```

use super::backend::{HeapBackend, HeapStats};
use super::fault::{FirstFitFault, HeapCheckError};
use super::inplace::FreeSpace;
use super::poison;
pub use super::regions::MAX_REGIONS;
use super::regions::Regions;
use crate::mm::family::{AllocError, Allocator, Range, align_down, align_up};
use crate::mm::layout::PAGE_SIZE;
use core::alloc::Layout;
use core::fmt;
use core::mem::size_of;
use core::ptr::{self, NonNull};

const WORD: usize = size_of::<usize>();
const TAG_MASK: usize = 3;
const TAG_FREE: usize = 1;
const TAG_USED: usize = 2;
const TAG_FRONT: usize = 3;
const MAGIC: usize = 0x0F1F_57F1;
/// The largest alignment served.
pub const MAX_ALIGN: usize = PAGE_SIZE;

#[repr(C)]
struct FreeBlock {
    /// Length `| TAG_FREE`.
    tag: usize,
    next: *mut FreeBlock,
}

#[repr(C)]
struct Header {
    /// Block length (front void to tail void) `| TAG_USED`.
    tag: usize,
    /// Front void bytes before this header.
    front: usize,
    /// Bytes the caller asked for.
    size: usize,
    /// `MAGIC ^ header address ^ length ^ size`.
    check: usize,
}

/// Bytes of a used-block header.
pub const HEADER_SIZE: usize = size_of::<Header>();
/// Bytes at the start of a free block that are its metadata (never poisoned).
const FREE_META: usize = size_of::<FreeBlock>();
/// The smallest block: a free block must be able to become a used one.
pub const MIN_BLOCK: usize = HEADER_SIZE;
const _: () = assert!(size_of::<FreeBlock>() <= MIN_BLOCK);

/// The first-fit free-list heap.
pub struct FirstFitHeap {
    head: *mut FreeBlock,
    regions: Regions,
    size: usize,
    free: usize,
    nfree: usize,
    allocations: usize,
    /// Fill freed bytes with the poison (and let `check` verify it).
    poison: bool,
}

// SAFETY: the heap exclusively owns its regions' memory (contract of
// `add_region`), so moving it moves that ownership.
unsafe impl Send for FirstFitHeap {}

impl Default for FirstFitHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl FirstFitHeap {
    /// An empty heap; give it memory with `add_region`.
    pub const fn new() -> FirstFitHeap {
        FirstFitHeap {
            head: ptr::null_mut(),
            regions: Regions::new(),
            size: 0,
            free: 0,
            nfree: 0,
            allocations: 0,
            poison: false,
        }
    }

    /// Hand the heap `len` bytes at `start` (trimmed to words); they become
    /// one free block, merged with a touching region. Errors: `InvalidSize`,
    /// `InvalidAddress` (overlap), `OutOfMemory` (region table full).
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, used by nothing else,
    /// and live as long as the heap.
    pub unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
        let end = align_down(start.checked_add(len).ok_or(AllocError::InvalidSize)?, WORD);
        let start = align_up(start, WORD).ok_or(AllocError::InvalidSize)?;
        if start == 0 || end <= start || end - start < MIN_BLOCK {
            return Err(AllocError::InvalidSize);
        }
        self.regions.add(start, end, WORD)?;
        self.size += end - start;
        // SAFETY: [start, end) is ours and overlaps no block.
        unsafe { self.give_back(start, end) };
        Ok(())
    }

    /// Whether freed bytes are poisoned.
    pub fn poisoning(&self) -> bool {
        self.poison
    }

    /// Turn poisoning on or off; turning it on poisons every free block
    /// (all but its metadata words).
    pub fn set_poison(&mut self, on: bool) {
        self.switch_poison(on);
    }

    /// Resize the allocation at `ptr` (made with `layout`) to `new_size`
    /// bytes without moving it: shrinking gives the tail back as a free
    /// block, growing takes what it needs from the free block right after.
    /// `ptr` and `layout` are checked as by `free_layout` (an error changes
    /// nothing); `Ok(false)` when it cannot stay in place, changing nothing.
    pub fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<bool, AllocError> {
        let (start, end, h) = self.checked(ptr, layout)?;
        if new_size == 0 || new_size > isize::MAX as usize / 2 {
            return Ok(false);
        }
        // SAFETY: `checked` validated the header.
        let front = unsafe { (*h).front };
        let Some(body) = align_up(new_size, WORD) else {
            return Ok(false);
        };
        let want = start + (front + HEADER_SIZE + body).max(MIN_BLOCK);
        // SAFETY: `[start, end)` is the validated used block; writes stay
        // inside it and the free block right after it.
        unsafe {
            let Some(new_end) = self.resize_span(start, end, want) else {
                return Ok(false);
            };
            h.write(Header {
                tag: (new_end - start) | TAG_USED,
                front,
                size: new_size,
                check: check_word(h as usize, new_end - start, new_size),
            });
        }
        Ok(true)
    }

    /// The free blocks just before and at-or-after `start` (list order).
    ///
    /// # Safety
    /// The list must be well formed.
    unsafe fn neighbours(&self, start: usize) -> (*mut FreeBlock, *mut FreeBlock) {
        let mut prev: *mut FreeBlock = ptr::null_mut();
        let mut cur = self.head;
        // SAFETY: list nodes are valid free blocks inside our regions.
        unsafe {
            while !cur.is_null() && (cur as usize) < start {
                prev = cur;
                cur = (*cur).next;
            }
        }
        (prev, cur)
    }

    /// Link `[start, end)` into the list, coalescing with the neighbours.
    ///
    /// # Safety
    /// `[start, end)` lies in our regions and overlaps no free block.
    unsafe fn insert_free(&mut self, start: usize, end: usize) {
        // SAFETY: see the contract; every node touched is a valid free block.
        unsafe {
            let (prev, next) = self.neighbours(start);
            let node = if !prev.is_null() && prev as usize + block_len(prev) == start {
                (*prev).tag = (end - prev as usize) | TAG_FREE;
                prev
            } else {
                let n = start as *mut FreeBlock;
                n.write(FreeBlock {
                    tag: (end - start) | TAG_FREE,
                    next,
                });
                if prev.is_null() {
                    self.head = n;
                } else {
                    (*prev).next = n;
                }
                self.nfree += 1;
                n
            };
            if !next.is_null() && next as usize == end {
                (*node).tag = (next as usize + block_len(next) - node as usize) | TAG_FREE;
                (*node).next = (*next).next;
                self.nfree -= 1;
            }
            self.free += end - start;
        }
    }

    /// Allocate `size` bytes aligned to `align` (power of two up to a page):
    /// the first free block that fits. Errors: `InvalidSize`,
    /// `InvalidAlignment`, `OutOfMemory`.
    pub fn alloc(&mut self, size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        if !align.is_power_of_two() || align > MAX_ALIGN {
            return Err(AllocError::InvalidAlignment);
        }
        if size == 0 || size > isize::MAX as usize / 2 {
            return Err(AllocError::InvalidSize);
        }
        let align = align.max(WORD);
        let body = align_up(size, WORD).ok_or(AllocError::InvalidSize)?;
        let mut prev: *mut FreeBlock = ptr::null_mut();
        let mut cur = self.head;
        // SAFETY: list nodes are valid free blocks inside our regions; all
        // writes stay inside the block being split.
        unsafe {
            while !cur.is_null() {
                let f = cur as usize;
                let len = block_len(cur);
                let p = align_up(f + HEADER_SIZE, align).ok_or(AllocError::OutOfMemory)?;
                let front0 = p - HEADER_SIZE - f;
                let (lead, front) = if front0 >= MIN_BLOCK {
                    (front0, 0)
                } else {
                    (0, front0)
                };
                let mut extent = (front + HEADER_SIZE + body).max(MIN_BLOCK);
                if lead + extent <= len {
                    let mut tail = len - lead - extent;
                    if tail < MIN_BLOCK {
                        extent += tail;
                        tail = 0;
                    }
                    let next = (*cur).next;
                    let b = f + lead;
                    // Relink: the lead stays where `cur` is, the tail follows.
                    let after = if tail > 0 {
                        let t = (b + extent) as *mut FreeBlock;
                        t.write(FreeBlock {
                            tag: tail | TAG_FREE,
                            next,
                        });
                        self.nfree += 1;
                        t
                    } else {
                        next
                    };
                    if lead > 0 {
                        (*cur).tag = lead | TAG_FREE;
                        (*cur).next = after;
                    } else {
                        if prev.is_null() {
                            self.head = after;
                        } else {
                            (*prev).next = after;
                        }
                        self.nfree -= 1;
                    }
                    if front > 0 {
                        (b as *mut usize).write(front | TAG_FRONT);
                    }
                    let h = b + front;
                    (h as *mut Header).write(Header {
                        tag: extent | TAG_USED,
                        front,
                        size,
                        check: check_word(h, extent, size),
                    });
                    self.free -= extent;
                    self.allocations += 1;
                    return Ok(NonNull::new_unchecked((h + HEADER_SIZE) as *mut u8));
                }
                prev = cur;
                cur = (*cur).next;
            }
        }
        Err(AllocError::OutOfMemory)
    }

    /// Validate the used block whose buffer is `p`: (start, end, header).
    fn lookup(&self, p: usize) -> Result<(usize, usize, *mut Header), AllocError> {
        if !p.is_multiple_of(WORD) {
            return Err(AllocError::InvalidAddress);
        }
        let region = self
            .regions
            .as_slice()
            .iter()
            .find(|r| p >= r.address + HEADER_SIZE && p < r.end())
            .ok_or(AllocError::InvalidAddress)?;
        let h = p - HEADER_SIZE;
        // SAFETY: the header lies inside the region (checked above).
        let hdr = unsafe { (h as *const Header).read() };
        let extent = hdr.tag & !TAG_MASK;
        if hdr.tag & TAG_MASK != TAG_USED
            || hdr.check != check_word(h, extent, hdr.size)
            || hdr.front >= MIN_BLOCK
        {
            return Err(AllocError::InvalidAddress);
        }
        let start = h.checked_sub(hdr.front).ok_or(AllocError::InvalidAddress)?;
        let end = start
            .checked_add(extent)
            .ok_or(AllocError::InvalidAddress)?;
        let need = hdr
            .front
            .saturating_add(HEADER_SIZE)
            .saturating_add(hdr.size);
        if start < region.address || end > region.end() || extent < need {
            return Err(AllocError::InvalidAddress);
        }
        // SAFETY: start lies in the region.
        if hdr.front > 0 && unsafe { (start as *const usize).read() } != hdr.front | TAG_FRONT {
            return Err(AllocError::InvalidAddress);
        }
        // SAFETY: the list is well formed.
        let (prev, next) = unsafe { self.neighbours(start) };
        // SAFETY: prev is a valid free block when non-null.
        if !prev.is_null() && prev as usize + unsafe { block_len(prev) } > start {
            return Err(AllocError::InvalidAddress);
        }
        if !next.is_null() && (next as usize) < end {
            return Err(AllocError::InvalidAddress);
        }
        Ok((start, end, h as *mut Header))
    }

    /// Free the buffer at `ptr`. Errors (nothing changes): `InvalidAddress`
    /// for a pointer not handed out by this heap or already freed.
    pub fn free(&mut self, ptr: NonNull<u8>) -> Result<(), AllocError> {
        let (start, end, h) = self.lookup(ptr.as_ptr() as usize)?;
        // SAFETY: lookup validated the block.
        unsafe {
            (*h).check = 0;
            (*h).tag = 0;
            self.allocations -= 1;
            self.give_back(start, end);
        }
        Ok(())
    }

    /// The used block `ptr` is the buffer of, allocated with `layout`:
    /// `lookup` plus the size (`InvalidSize`) and alignment
    /// (`InvalidAlignment`) checks; the one check of `free_layout` and
    /// `resize_in_place`.
    fn checked(
        &self,
        ptr: NonNull<u8>,
        layout: Layout,
    ) -> Result<(usize, usize, *mut Header), AllocError> {
        let found = self.lookup(ptr.as_ptr() as usize)?;
        // SAFETY: lookup validated the header.
        if unsafe { (*found.2).size } != layout.size() {
            return Err(AllocError::InvalidSize);
        }
        if !(ptr.as_ptr() as usize).is_multiple_of(layout.align()) {
            return Err(AllocError::InvalidAlignment);
        }
        Ok(found)
    }

    /// Free `ptr` allocated with `layout`, checking size (`InvalidSize`) and
    /// alignment (`InvalidAlignment`) first.
    pub fn free_layout(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        self.checked(ptr, layout)?;
        self.free(ptr)
    }

    /// Bytes managed.
    pub fn size(&self) -> usize {
        self.size
    }
    /// Bytes free.
    pub fn free_bytes(&self) -> usize {
        self.free
    }
    /// Number of free blocks.
    pub fn free_blocks(&self) -> usize {
        self.nfree
    }

    /// The free blocks in address order, as (start, length).
    pub fn for_each_free(&self, f: &mut dyn FnMut(usize, usize)) {
        let mut cur = self.head;
        let mut n = 0;
        // SAFETY: list nodes are valid; the count bounds a corrupted cycle.
        unsafe {
            while !cur.is_null() && n <= self.nfree {
                f(cur as usize, block_len(cur));
                cur = (*cur).next;
                n += 1;
            }
        }
    }

    /// The longest free block (0 when none). O(n).
    pub fn largest_free(&self) -> usize {
        let mut m = 0;
        self.for_each_free(&mut |_, len| m = m.max(len));
        m
    }

    /// Integrity check: the list is sorted, inside the regions, fully
    /// coalesced and matches the counters; every region is tiled exactly by
    /// free blocks and well-formed used blocks; while poisoning, every free
    /// block's bytes after its metadata still hold the poison.
    pub fn check(&self) -> Result<(), FirstFitFault> {
        let (mut n, mut sum, mut prev_end) = (0, 0, 0usize);
        let mut err = None;
        self.for_each_free(&mut |s, len| {
            let in_region = self.regions.contain(s, s + len);
            if err.is_none() {
                err = if len < MIN_BLOCK || !len.is_multiple_of(WORD) {
                    Some(FirstFitFault::FreeBlockTooShort)
                } else if !in_region {
                    Some(FirstFitFault::FreeBlockOutsideRegions)
                } else if n > 0 && s < prev_end {
                    Some(FirstFitFault::FreeListUnsorted)
                } else if n > 0 && s == prev_end {
                    Some(FirstFitFault::FreeBlocksNotCoalesced)
                } else {
                    None
                };
            }
            n += 1;
            sum += len;
            prev_end = s + len;
        });
        if let Some(e) = err {
            return Err(e);
        }
        if n != self.nfree || sum != self.free {
            return Err(FirstFitFault::CountersDisagree);
        }
        let (mut walked_free, mut walked_used, mut used_blocks) = (0, 0, 0);
        for r in self.regions.as_slice() {
            let mut x = r.address;
            while x < r.end() {
                // SAFETY: x is a block start inside the region.
                let w = unsafe { (x as *const usize).read() };
                let len = match w & TAG_MASK {
                    TAG_FREE => {
                        walked_free += w & !TAG_MASK;
                        w & !TAG_MASK
                    }
                    TAG_USED | TAG_FRONT => {
                        let front = if w & TAG_MASK == TAG_FRONT {
                            w & !TAG_MASK
                        } else {
                            0
                        };
                        let h = x.saturating_add(front);
                        if front >= MIN_BLOCK || h + HEADER_SIZE > r.end() {
                            return Err(FirstFitFault::BadFrontVoid);
                        }
                        // SAFETY: the header lies inside the region.
                        let hdr = unsafe { (h as *const Header).read() };
                        let ext = hdr.tag & !TAG_MASK;
                        if hdr.tag & TAG_MASK != TAG_USED
                            || hdr.front != front
                            || hdr.check != check_word(h, ext, hdr.size)
                        {
                            return Err(FirstFitFault::BadUsedHeader);
                        }
                        walked_used += ext;
                        used_blocks += 1;
                        ext
                    }
                    _ => return Err(FirstFitFault::UntaggedBlock),
                };
                if len < MIN_BLOCK || x + len > r.end() {
                    return Err(FirstFitFault::BlockPastRegion);
                }
                x += len;
            }
        }
        if walked_free != self.free
            || walked_free + walked_used != self.size
            || used_blocks != self.allocations
        {
            return Err(FirstFitFault::RegionsNotTiled);
        }
        if self.poison {
            let mut written = None;
            self.for_each_free(&mut |s, len| {
                if written.is_none() {
                    // SAFETY: a free block (the list was verified above).
                    written = unsafe { poison::first_written(s + FREE_META, s + len) }
                        .map(|at| FirstFitFault::Poisoned { block: s, at });
                }
            });
            if let Some(e) = written {
                return Err(e);
            }
        }
        Ok(())
    }

    /// One line `free [start , end] N bytes` per free block, then a summary.
    pub fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let mut res = Ok(());
        self.for_each_free(&mut |s, len| {
            if res.is_ok() {
                res = writeln!(
                    out,
                    "free [V{:#010x} , V{:#010x}] {} bytes",
                    s,
                    s + len - 1,
                    len
                );
            }
        });
        res?;
        writeln!(
            out,
            "{} free blocks, {} free of {} bytes; {} allocations",
            self.nfree, self.free, self.size, self.allocations
        )
    }
}

/// # Safety
/// `b` must be a valid free block.
unsafe fn block_len(b: *mut FreeBlock) -> usize {
    // SAFETY: the caller passes a valid free block.
    unsafe { (*b).tag & !TAG_MASK }
}

fn check_word(h: usize, extent: usize, size: usize) -> usize {
    MAGIC ^ h ^ extent.rotate_left(5) ^ size.rotate_left(11)
}

impl Allocator for FirstFitHeap {
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        let align = request.alignment.max(WORD);
        let p = self.alloc(request.size, align)?;
        Ok(Range {
            address: p.as_ptr() as usize,
            size: request.size,
            alignment: align,
        })
    }
    fn release(&mut self, address: usize) -> Result<(), AllocError> {
        self.free(NonNull::new(address as *mut u8).ok_or(AllocError::InvalidAddress)?)
    }
    fn size(&self) -> usize {
        self.size
    }
    fn available(&self) -> usize {
        self.free
    }
    fn base(&self) -> usize {
        if !self.regions.is_empty() {
            self.regions.as_slice()[0].address
        } else {
            0
        }
    }
    fn alignment(&self) -> usize {
        WORD
    }
}

impl FreeSpace for FirstFitHeap {
    const META: usize = FREE_META;
    const MIN_FREE: usize = MIN_BLOCK;

    fn poison_flag(&self) -> bool {
        self.poison
    }
    fn store_poison_flag(&mut self, on: bool) {
        self.poison = on;
    }
    unsafe fn insert_free(&mut self, start: usize, end: usize) {
        // SAFETY: forwarded contract.
        unsafe { FirstFitHeap::insert_free(self, start, end) }
    }
    unsafe fn free_starts_at(&self, at: usize) -> bool {
        // SAFETY: the list is well formed (the caller's contract).
        let (_, next) = unsafe { self.neighbours(at) };
        !next.is_null() && next as usize == at
    }
    fn each_free(&self, f: &mut dyn FnMut(usize, usize)) {
        self.for_each_free(f);
    }
    unsafe fn take_from_next(&mut self, end: usize, want: usize) -> Option<usize> {
        // SAFETY: the caller's contract: list nodes are valid free blocks;
        // the writes stay inside the free block at `end`.
        unsafe {
            let (prev, next) = self.neighbours(end);
            if next.is_null() || next as usize != end || end + block_len(next) < want {
                return None;
            }
            let (after, rest) = ((*next).next, end + block_len(next) - want);
            let link = if rest >= MIN_BLOCK {
                let t = want as *mut FreeBlock;
                t.write(FreeBlock {
                    tag: rest | TAG_FREE,
                    next: after,
                });
                t
            } else {
                self.nfree -= 1;
                after
            };
            if prev.is_null() {
                self.head = link;
            } else {
                (*prev).next = link;
            }
            let new_end = if rest >= MIN_BLOCK { want } else { want + rest };
            self.free -= new_end - end;
            Some(new_end)
        }
    }
}

impl HeapBackend for FirstFitHeap {
    fn name(&self) -> &'static str {
        "firstfit"
    }
    unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
        // SAFETY: the caller upholds the contract.
        unsafe { FirstFitHeap::add_region(self, start, len) }
    }
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        FirstFitHeap::alloc(self, layout.size(), layout.align())
    }
    fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        self.free_layout(ptr, layout)
    }
    fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<bool, AllocError> {
        FirstFitHeap::resize_in_place(self, ptr, layout, new_size)
    }
    fn set_poison(&mut self, on: bool) -> bool {
        FirstFitHeap::set_poison(self, on);
        true
    }
    fn poisoning(&self) -> bool {
        self.poison
    }
    fn stats(&self) -> HeapStats {
        HeapStats {
            size: self.size,
            used: self.size - self.free,
            free: self.free,
            largest_free: self.largest_free(),
            allocations: self.allocations,
        }
    }
    fn check(&self) -> Result<(), HeapCheckError> {
        FirstFitHeap::check(self).map_err(HeapCheckError::FirstFit)
    }
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        FirstFitHeap::dump(self, out)
    }
    fn grow_hint(&self, layout: Layout) -> Option<usize> {
        let need = layout
            .size()
            .saturating_add(layout.align() + 2 * HEADER_SIZE + MIN_BLOCK);
        align_up(need, PAGE_SIZE)
    }
    fn region_end(&self) -> usize {
        self.regions.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::heap::testkit::{Arena, Soak, heap_soak, snapshot};
    use crate::testutil::soak_ops;
    use alloc::string::String;
    use alloc::vec::Vec;

    fn heap_on(a: &Arena) -> FirstFitHeap {
        let mut h = FirstFitHeap::new();
        // SAFETY: the arena outlives the heap and is used by nothing else.
        unsafe { h.add_region(a.start(), a.len()).unwrap() };
        h
    }
    fn frees(h: &FirstFitHeap) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        h.for_each_free(&mut |s, l| v.push((s, l)));
        v
    }
    fn at(p: NonNull<u8>) -> usize {
        p.as_ptr() as usize
    }

    #[test]
    fn construct_and_first_allocation() {
        let a = Arena::new(4096);
        let mut h = heap_on(&a);
        assert_eq!(frees(&h), [(a.start(), 4096)]);
        let p = h.alloc(10, 8).unwrap();
        assert_eq!(at(p), a.start() + HEADER_SIZE);
        let used = HEADER_SIZE + align_up(10, WORD).unwrap();
        assert_eq!(frees(&h), [(a.start() + used, 4096 - used)]);
        h.check().unwrap();
        h.free(p).unwrap();
        assert_eq!(frees(&h), [(a.start(), 4096)]);
    }

    /// First fit takes the first hole in address order even when a later
    /// one fits better.
    #[test]
    fn first_fit_takes_the_first_hole() {
        let a = Arena::new(8192);
        let mut h = heap_on(&a);
        let big = h.alloc(512, 8).unwrap();
        let _s1 = h.alloc(8, 8).unwrap();
        let small = h.alloc(64, 8).unwrap();
        let _s2 = h.alloc(8, 8).unwrap();
        h.free(big).unwrap();
        h.free(small).unwrap();
        let p = h.alloc(64, 8).unwrap();
        assert_eq!(at(p), at(big), "first fit, not best fit");
        h.check().unwrap();
    }

    #[test]
    fn coalesces_both_sides() {
        let a = Arena::new(4096);
        let mut h = heap_on(&a);
        let ps: Vec<_> = (0..4).map(|_| h.alloc(100, 8).unwrap()).collect();
        h.free(ps[0]).unwrap();
        h.free(ps[2]).unwrap();
        assert_eq!(h.free_blocks(), 3);
        h.free(ps[1]).unwrap();
        assert_eq!(h.free_blocks(), 2);
        h.free(ps[3]).unwrap();
        assert_eq!(frees(&h), [(a.start(), 4096)]);
        h.check().unwrap();
    }

    #[test]
    fn page_alignment_and_small_tails() {
        let a = Arena::new(3 * 4096);
        let mut h = heap_on(&a);
        let s = h.alloc(8, 8).unwrap();
        let p = h.alloc(100, 4096).unwrap();
        assert!(at(p).is_multiple_of(4096));
        h.check().unwrap();
        // A request leaving less than MIN_BLOCK behind takes the whole block.
        let rest = h.largest_free();
        let last = frees(&h).last().copied().unwrap();
        let q = h.alloc(rest - HEADER_SIZE - WORD, 8).unwrap();
        assert!(at(q) > last.0);
        assert!(!frees(&h).iter().any(|&(b, _)| b > at(q)));
        h.check().unwrap();
        for x in [s, p, q] {
            h.free(x).unwrap();
        }
        assert_eq!(frees(&h), [(a.start(), 3 * 4096)]);
    }

    #[test]
    fn bad_frees_change_nothing() {
        let a = Arena::new(4096);
        let mut h = heap_on(&a);
        let p = h.alloc(48, 8).unwrap();
        let q = h.alloc(48, 8).unwrap();
        h.free(p).unwrap();
        let before = snapshot(&h, &[&a]);
        let bad = |x: usize| a.pointer(x);
        assert_eq!(h.free(p), Err(AllocError::InvalidAddress));
        assert_eq!(h.free(bad(at(q) + WORD)), Err(AllocError::InvalidAddress));
        assert_eq!(h.free(bad(at(q) + 1)), Err(AllocError::InvalidAddress));
        assert_eq!(h.free(bad(a.end() + 32)), Err(AllocError::InvalidAddress));
        assert_eq!(h.free(bad(16)), Err(AllocError::InvalidAddress));
        assert_eq!(
            h.free_layout(q, Layout::from_size_align(47, 8).unwrap()),
            Err(AllocError::InvalidSize)
        );
        assert_eq!(h.alloc(0, 8), Err(AllocError::InvalidSize));
        assert_eq!(h.alloc(8, 12), Err(AllocError::InvalidAlignment));
        assert_eq!(h.alloc(8192, 8), Err(AllocError::OutOfMemory));
        assert!(snapshot(&h, &[&a]) == before);
    }

    #[test]
    fn dump_lists_free_blocks() {
        let a = Arena::new(4096);
        let mut h = heap_on(&a);
        let _p = h.alloc(8, 8).unwrap();
        let mut s = String::new();
        h.dump(&mut s).unwrap();
        let b = a.start() + HEADER_SIZE + 8;
        assert_eq!(
            s,
            alloc::format!(
                "free [V{:#010x} , V{:#010x}] {} bytes\n1 free blocks, {} free of 4096 bytes; 1 allocations\n",
                b,
                a.end() - 1,
                a.end() - b,
                a.end() - b
            )
        );
    }

    #[test]
    fn regions_merge_when_adjacent() {
        let a = Arena::new(3 * 4096);
        let mut h = FirstFitHeap::new();
        // SAFETY: disjoint pieces of one arena that outlives the heap.
        unsafe {
            h.add_region(a.start(), 4096).unwrap();
            h.add_region(a.start() + 2 * 4096, 4096).unwrap();
            h.add_region(a.start() + 4096, 4096).unwrap();
            assert_eq!(
                h.add_region(a.start() + 8, 64),
                Err(AllocError::InvalidAddress)
            );
        }
        assert_eq!(frees(&h), [(a.start(), 3 * 4096)]);
        h.check().unwrap();
    }

    #[test]
    fn firstfit_soak() {
        let a = Arena::new(128 * 1024);
        let b = Arena::new(32 * 1024);
        let mut h = heap_on(&a);
        // SAFETY: as in heap_on.
        unsafe { h.add_region(b.start(), b.len()).unwrap() };
        let ops = soak_ops(30_000);
        let rep = heap_soak(
            &mut h,
            &[&a, &b],
            &Soak {
                seed: 0xF1F,
                ops,
                max_size: 4000,
                aligns: &[1, 8, 32, 128, 4096],
                bad_every: 41,
                check_every: 89,
                max_live: 300,
                exact_sizes: true,
            },
        );
        rep.assert_busy(ops);
        assert!(rep.in_place > 0 && rep.not_in_place > 0, "{rep:?}");
        let mut f = frees(&h);
        f.sort();
        let mut want = alloc::vec![(a.start(), a.len()), (b.start(), b.len())];
        want.sort();
        assert_eq!(f, want);
    }

    #[test]
    fn firstfit_soak_poisoned() {
        let a = Arena::new(128 * 1024);
        let mut h = heap_on(&a);
        crate::mm::heap::testkit::poisoned_soak(&mut h, &a, 0xF1F0, soak_ops(10_000));
    }

    #[test]
    fn firstfit_catches_a_write_after_free() {
        let a = Arena::new(16 * 1024);
        let mut h = heap_on(&a);
        crate::mm::heap::testkit::catches_write_after_free(&mut h);
    }

    /// Growing takes from the free block right after; shrinking gives the
    /// tail back; a used neighbour or a short free one means "move".
    #[test]
    fn resize_in_place_grows_into_the_next_free_block_and_shrinks() {
        let a = Arena::new(4096);
        let mut h = heap_on(&a);
        let l = Layout::from_size_align(100, 8).unwrap();
        let p = h.alloc(100, 8).unwrap();
        // SAFETY: a live block of 100 bytes.
        unsafe { p.as_ptr().write_bytes(0xAB, 100) };
        assert_eq!(h.resize_in_place(p, l, 1000), Ok(true));
        // SAFETY: the block now holds 1000 bytes, the first 100 kept.
        assert!((0..100).all(|i| unsafe { *p.as_ptr().add(i) } == 0xAB));
        let grown = HEADER_SIZE + 1000;
        assert_eq!(frees(&h), [(a.start() + grown, 4096 - grown)]);
        h.check().unwrap();
        let big = Layout::from_size_align(1000, 8).unwrap();
        assert_eq!(h.resize_in_place(p, big, 40), Ok(true));
        let shrunk = HEADER_SIZE + 40;
        assert_eq!(frees(&h), [(a.start() + shrunk, 4096 - shrunk)]);
        h.check().unwrap();
        // A used block right after: growing cannot stay in place.
        let small = Layout::from_size_align(40, 8).unwrap();
        let q = h.alloc(8, 8).unwrap();
        let snap = snapshot(&h, &[&a]);
        assert_eq!(h.resize_in_place(p, small, 100), Ok(false));
        assert!(snapshot(&h, &[&a]) == snap);
        // The wrong layout is refused as by free.
        assert_eq!(
            h.resize_in_place(p, Layout::from_size_align(41, 8).unwrap(), 10),
            Err(AllocError::InvalidSize)
        );
        assert!(snapshot(&h, &[&a]) == snap);
        h.free(q).unwrap();
        // Growing into all of the free space after it (no tail left).
        let rest = 4096 - HEADER_SIZE;
        assert_eq!(h.resize_in_place(p, small, rest), Ok(true));
        assert_eq!(h.free_blocks(), 0);
        h.check().unwrap();
        h.free(p).unwrap();
        assert_eq!(frees(&h), [(a.start(), 4096)]);
    }
}
