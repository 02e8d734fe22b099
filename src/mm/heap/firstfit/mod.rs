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
//!
//! One file per idea:
//!
//! ```text
//!   mod.rs     the blocks' layout, the heap's state, its figures; the faces
//!              (Allocator, HeapBackend) from the shared adapter
//!   list.rs    the free list: first-fit search and split, insert and coalesce
//!   release.rs a pointer handed back: validated, freed, resized in place
//!   check.rs   check(): the list, the tiling of every region, the poison; dump
//! ```
//!
//! Every block pointer is derived from the pointer of the region it lies in
//! ([`Regions::at`]), never made from an integer alone (strict provenance).

mod check;
mod list;
mod release;

use super::adapter::list_heap_adapter;
use super::fault::HeapCheckError;
use super::inplace::FreeSpace;
pub use super::regions::MAX_REGIONS;
use super::regions::Regions;
use super::used::{TAG_FREE, TAG_MASK};
use crate::mm::family::AllocError;
use crate::mm::layout::PAGE_SIZE;
use core::mem::size_of;
use core::ptr;

const WORD: usize = size_of::<usize>();
const MAGIC: usize = 0x0F1F_57F1;
/// The largest alignment served.
pub const MAX_ALIGN: usize = PAGE_SIZE;

#[repr(C)]
struct FreeBlock {
    /// Length `| TAG_FREE`.
    tag: usize,
    next: *mut FreeBlock,
}

/// Bytes of a used-block header.
pub const HEADER_SIZE: usize = super::used::HEADER_SIZE;
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
    /// `InvalidAddress` (overlap), `OutOfMemory` (region table full). Every
    /// pointer into these bytes is derived from `start` (its provenance).
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, used by nothing else,
    /// and live as long as the heap.
    pub unsafe fn add_region(&mut self, start: *mut u8, len: usize) -> Result<(), AllocError> {
        let (start, end) = self.regions.add_trimmed(start, len, WORD, MIN_BLOCK)?;
        self.size += end - start;
        // SAFETY: [start, end) is ours and overlaps no block.
        unsafe { self.give_back(start, end) };
        Ok(())
    }

    /// A pointer to `addr` of the heap's memory, with its region's provenance.
    fn at<T>(&self, addr: usize) -> *mut T {
        self.regions.at(addr)
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
                f(cur.addr(), block_len(cur));
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
}

/// The length of the free block `b`.
///
/// # Safety
/// `b` must be a valid free block.
unsafe fn block_len(b: *mut FreeBlock) -> usize {
    // SAFETY: the caller passes a valid free block.
    unsafe { (*b).tag & !TAG_MASK }
}

list_heap_adapter!(FirstFitHeap {
    name: "firstfit",
    fault: HeapCheckError::FirstFit,
    align: |requested: usize| requested.max(WORD),
    largest_free: largest_free,
    allocations: allocations,
    dump: dump,
    grow_slack: 2 * HEADER_SIZE + MIN_BLOCK,
});

#[cfg(test)]
mod tests;
