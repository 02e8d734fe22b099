//! The gap-tree heap of seed 002: allocated *superbuffers* and free *gaps*,
//! every gap threaded into two balanced trees at once — one ordered by
//! address, one by length — through links kept inside the gap's own header.
//!
//! ```text
//!  region (memory given to the heap, one or more)
//!  ┌──────────────┬───────────────────────────┬──────────────┬───────────┐
//!  │ superbuffer  │ gap                       │ superbuffer  │ gap       │
//!  │[hdr|buffer ] │[Gap{tag,by_addr,by_len}  ]│[f|hdr|buffer]│[Gap ...  ]│
//!  └──────────────┴───────────────────────────┴──────────────┴───────────┘
//!                   ▲ in the address tree (key: start)
//!                   ▲ in the length tree  (key: length, start)
//!
//!  superbuffer = [front void][Superbuffer header][buffer .....][tail void]
//!                 ^ block start                  ^ kmalloc returns this
//! ```
//!
//! A *void* is free space too small to hold a gap header. The original
//! heap lost voids until a lucky merge; here a void is always attached to
//! the superbuffer next to it (a front void before its header, a tail void
//! after its buffer) and comes back when that superbuffer is freed. With
//! [`VoidPolicy::NoVoid`] (the seed's `NO_VOID`) every superbuffer length is
//! rounded to a multiple of the gap-header size, so no tail void ever forms.
//!
//! What Cairn does better than the seed:
//! - both trees are AVL trees (the original's were unbalanced);
//! - allocation is *best fit*: the smallest gap that fits, found by a
//!   lower-bound search in the length tree (the original took the largest);
//! - a free merges only with the gap just before and just after the block,
//!   found in the address tree in O(log n) (the original re-walked every gap);
//! - bad frees (wild pointer, double free, wrong size) are reported and
//!   change nothing.
//!
//! The first word of every block says what it is (low two bits): a gap
//! (`len|1`), a superbuffer header (`extent|2`) or a front void pointing at
//! the header (`front|3`). So `check()` can walk a region block by block.
//!
//! `realloc` in place: a superbuffer grows into the gap right after it
//! (found in the address tree; what it does not need stays a gap) and
//! shrinks by giving its tail back as a gap. Poisoning (the `poison` boot
//! option): freed bytes hold [`POISON`](super::poison::POISON) except each
//! gap's own header (tag and tree links), and `check()` names the first
//! gap written after its free.
//!
//! ```text
//!   grow:    |hdr|buffer|Gap 256 ........|  ->  |hdr|buffer ......|Gap 128|
//!   shrink:  |hdr|buffer ............|      ->  |hdr|buffer|Gap 96|
//!   poison:  |Gap{tag,links}|DB DB DB ... DB|
//! ```
//!
//! One file per idea:
//!
//! ```text
//!   mod.rs      the blocks' layout, the two trees' keys, the heap's state and
//!               figures; the faces (Allocator, HeapBackend) from the shared adapter
//!   search.rs   best fit: the smallest gap that fits, and carving a block out of it
//!   merge.rs    free space made a gap, merged with the gaps just before and after
//!   release.rs  a pointer handed back: validated, freed, resized in place
//!   check.rs    the walk of every block: check() and the dumps
//! ```
//!
//! Every block pointer is derived from the pointer of the region it lies
//! in ([`Regions::at`]), never made from an integer alone (strict provenance).

mod check;
mod merge;
mod release;
mod search;

use super::adapter::list_heap_adapter;
use super::fault::HeapCheckError;
use super::inplace::FreeSpace;
pub use super::regions::MAX_REGIONS;
use super::regions::Regions;
use super::tree::{self, Links, TreeKind};
use super::used::{TAG_FREE as TAG_GAP, TAG_MASK, UsedHeader};
use crate::mm::family::AllocError;
use crate::mm::layout::PAGE_SIZE;
use core::mem::size_of;
use core::ptr::{self, NonNull};

const WORD: usize = size_of::<usize>();
const MAGIC: usize = 0x5EED_6A95;
/// The largest alignment served (one page).
pub const MAX_ALIGN: usize = PAGE_SIZE;
/// Default alignment of `kmalloc`.
pub const KMALLOC_ALIGN: usize = 8;

/// The header of a free gap: its tag (`length | 1`) and its links in the
/// address tree and the length tree.
#[repr(C)]
struct Gap {
    tag: usize,
    by_addr: Links<Gap>,
    by_len: Links<Gap>,
}

/// Bytes a gap occupies at least: its header rounded up to a power of two.
/// This is also the unit of the `NoVoid` rounding.
pub const GAP_SIZE: usize = size_of::<Gap>().next_power_of_two();

/// The header in front of every buffer handed out (the list heaps' used-block
/// header: tag, front void, size, check word).
type Superbuffer = UsedHeader;

/// Bytes of a superbuffer header.
pub const HEADER_SIZE: usize = super::used::HEADER_SIZE;
/// Bytes at the start of a gap that are its header (never poisoned).
const GAP_META: usize = size_of::<Gap>();

const _: () = assert!(GAP_SIZE >= size_of::<Gap>() && GAP_SIZE.is_power_of_two());
const _: () = assert!(HEADER_SIZE == 4 * WORD);
#[cfg(target_pointer_width = "32")]
const _: () = assert!(GAP_SIZE == 32 && HEADER_SIZE == 16);

/// Whether free space too small for a gap may form (seed 002's `NO_VOID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoidPolicy {
    /// Superbuffers are rounded to a word; leftovers smaller than a gap
    /// become voids attached to the superbuffer beside them.
    Allow,
    /// Superbuffers are rounded to a multiple of [`GAP_SIZE`]: no tail void
    /// can form (only alignment padding inside a superbuffer remains).
    NoVoid,
}

struct ByAddr;
impl TreeKind for ByAddr {
    type Node = Gap;
    type Key = usize;
    unsafe fn links(n: *mut Gap) -> *mut Links<Gap> {
        // SAFETY: the caller passes a valid gap.
        unsafe { &raw mut (*n).by_addr }
    }
    unsafe fn key(n: *mut Gap) -> usize {
        n.addr()
    }
}

struct ByLen;
impl TreeKind for ByLen {
    type Node = Gap;
    type Key = (usize, usize);
    unsafe fn links(n: *mut Gap) -> *mut Links<Gap> {
        // SAFETY: the caller passes a valid gap.
        unsafe { &raw mut (*n).by_len }
    }
    unsafe fn key(n: *mut Gap) -> (usize, usize) {
        // SAFETY: the caller passes a valid gap.
        (unsafe { (*n).tag } & !TAG_MASK, n.addr())
    }
}

/// The gap-tree kernel heap.
pub struct GapTreeHeap {
    by_addr: *mut Gap,
    by_len: *mut Gap,
    regions: Regions,
    policy: VoidPolicy,
    size: usize,
    free: usize,
    gaps: usize,
    superbuffers: usize,
    requested: usize,
    /// Fill freed bytes with the poison (and let `check` verify it).
    poison: bool,
}

// SAFETY: the heap exclusively owns the memory of its regions (the contract
// of `add_region`); its raw pointers point only into that memory, so moving
// the heap to another thread moves that ownership with it.
unsafe impl Send for GapTreeHeap {}

/// Counters of a gap-tree heap (see also [`super::HeapStats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GapTreeCounts {
    /// Free gaps.
    pub gaps: usize,
    /// Superbuffers (live allocations).
    pub superbuffers: usize,
    /// Bytes the callers asked for, summed over live allocations.
    pub requested: usize,
    /// Bytes of void (front and tail voids, rounding) inside superbuffers.
    pub void_bytes: usize,
}

impl GapTreeHeap {
    /// An empty heap with no memory; give it memory with `add_region`.
    pub const fn new(policy: VoidPolicy) -> GapTreeHeap {
        GapTreeHeap {
            by_addr: ptr::null_mut(),
            by_len: ptr::null_mut(),
            regions: Regions::new(),
            policy,
            size: 0,
            free: 0,
            gaps: 0,
            superbuffers: 0,
            requested: 0,
            poison: false,
        }
    }

    /// The void policy chosen at construction.
    pub fn policy(&self) -> VoidPolicy {
        self.policy
    }

    /// The unit every block length is a multiple of: a word, or (with
    /// `NoVoid`) the size of a gap.
    fn unit(&self) -> usize {
        match self.policy {
            VoidPolicy::Allow => WORD,
            VoidPolicy::NoVoid => GAP_SIZE,
        }
    }

    /// Hand the heap `len` bytes at `start`; they become one gap (merged with
    /// a touching region). The ends are trimmed to the heap's unit.
    /// Errors: `InvalidSize` (too small), `InvalidAddress` (overlaps memory
    /// the heap already has), `OutOfMemory` (region table full). Every
    /// pointer into these bytes is derived from `start` (its provenance).
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, used by nothing else,
    /// and live as long as the heap.
    pub unsafe fn add_region(&mut self, start: *mut u8, len: usize) -> Result<(), AllocError> {
        let (start, end) = self
            .regions
            .add_trimmed(start, len, self.unit(), GAP_SIZE)?;
        self.size += end - start;
        // SAFETY: [start, end) is ours now and overlaps no block; the
        // neighbours found by `free_block` lie in merged regions.
        unsafe { self.give_back(start, end) };
        Ok(())
    }

    /// A pointer to `addr` of the heap's memory, with its region's provenance.
    fn at<T>(&self, addr: usize) -> *mut T {
        self.regions.at(addr)
    }

    /// `kmalloc` of seed 002: `size` bytes aligned to [`KMALLOC_ALIGN`].
    pub fn kmalloc(&mut self, size: usize) -> Result<NonNull<u8>, AllocError> {
        self.alloc(size, KMALLOC_ALIGN)
    }

    /// `kfree` of seed 002: give back a buffer from `kmalloc`.
    pub fn kfree(&mut self, ptr: NonNull<u8>) -> Result<(), AllocError> {
        self.free(ptr)
    }

    /// Bytes managed (all regions).
    pub fn size(&self) -> usize {
        self.size
    }
    /// Bytes in gaps.
    pub fn free_bytes(&self) -> usize {
        self.free
    }
    /// Length of the longest gap (0 when none).
    pub fn largest_gap(&self) -> usize {
        // SAFETY: the length tree holds valid gaps.
        unsafe {
            let m = tree::max::<ByLen>(self.by_len);
            if m.is_null() { 0 } else { gap_len(m) }
        }
    }
    /// The largest request that would succeed now with [`KMALLOC_ALIGN`].
    pub fn largest_allocation(&self) -> usize {
        self.largest_gap()
            .saturating_sub(HEADER_SIZE + KMALLOC_ALIGN)
    }
    /// Gap, superbuffer and void counters.
    pub fn counts(&self) -> GapTreeCounts {
        GapTreeCounts {
            gaps: self.gaps,
            superbuffers: self.superbuffers,
            requested: self.requested,
            void_bytes: self.size
                - self.free
                - self.superbuffers * HEADER_SIZE
                - self.requested_rounded(),
        }
    }

    /// The gaps in address order, as (start, length).
    pub fn for_each_gap(&self, f: &mut dyn FnMut(usize, usize)) {
        // SAFETY: the address tree holds valid gaps and `f` cannot reach it.
        unsafe {
            tree::walk::<ByAddr>(self.by_addr, &mut |g| {
                f(g.addr(), gap_len(g));
                true
            });
        }
    }
}

/// The length of the gap `g`.
///
/// # Safety
/// `g` must be a valid gap.
unsafe fn gap_len(g: *mut Gap) -> usize {
    // SAFETY: the caller passes a valid gap.
    unsafe { (*g).tag & !TAG_MASK }
}

list_heap_adapter!(GapTreeHeap {
    name: "gaptree",
    fault: HeapCheckError::GapTree,
    align: |requested: usize| if requested == 0 {
        KMALLOC_ALIGN
    } else {
        requested
    },
    largest_free: largest_gap,
    allocations: superbuffers,
    dump: heapdump,
    grow_slack: HEADER_SIZE + 2 * GAP_SIZE,
});

#[cfg(test)]
mod tests;
