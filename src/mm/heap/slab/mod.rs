//! Slab caches in front of the buddy heap: the kernel heap's small objects
//! (up to [`CUTOFF`] bytes) come from slabs, the rest from the buddy heap,
//! the way Linux puts SLUB caches over its buddy allocator.
//!
//! A slab is one used block of the buddy heap (4, 8, 16 or 32 KiB, with its
//! 9-byte header as every block has) cut into equal slots of one size
//! class. Slots carry no header: a `Vec` of 64 bytes takes 64 bytes, not
//! the 128-byte block the buddy heap would round 64 + 9 up to.
//!
//! ```text
//!   buddy block of 2^12 bytes (a slab of class 64)
//!   [hdr 9][slot 0 ][slot 1 ][slot 2 ] ... [slot 61][..][meta: links, counts, bitmap]
//!          ^ payload: a page boundary (the buddy grid), slot i at payload + 64 * i
//!
//!   side table: one byte per 4 KiB page of the grid, 0 = no slab,
//!   else the class of the slab covering the page (every page of a larger slab)
//!
//!   free(p):  page = (p - grid) >> 12 ── table[page] = 0 ──▶ the buddy heap's free
//!                                   └── class c ──▶ slab = page & !(slab pages - 1)
//!             offset a multiple of the slot size?   no ─▶ Interior / NotPayload
//!             bit of the slot set in the bitmap?    no ─▶ DoubleFree
//!             layout fits the slot (size, alignment)? no ─▶ LayoutMismatch
//!             clear the bit, push the slot on the slab's free list
//! ```
//!
//! Every free is checked in O(1) with the buddy heap's refusal catalogue:
//! the side table (out of band, as the buddy heap's table of block starts:
//! a heap user cannot forge it) names the slab, the slot's offset and the
//! slab's bitmap tell a live slot from an interior or freed one. The
//! metadata of a slab (bitmap, free list head, partial-list links, counts)
//! sits at the slab's end; a free slot holds the index of the next free
//! slot in its first 4 bytes, and (with poisoning on) the poison after it.
//!
//! Each class keeps a list of its partial slabs (free slots to hand out);
//! a full slab leaves it and comes back once a quarter of its slots are
//! free again (not at its first free: a slab near full would otherwise
//! leave and rejoin on every free and allocation). An empty slab is kept
//! as its class's one cached empty slab, or goes back to the buddy heap;
//! an allocation the buddy heap cannot serve first gives the cached ones
//! back ([`SlabBuddy::trim`]), so the slabs hoard nothing. When the buddy
//! heap has no block for a new slab, a small request is served by the
//! buddy heap directly (its block's page has table byte 0).
//!
//! One idea per file: `class` (the size classes), `allocate`, `lookup`
//! (what an address is: the O(1) check), `free`, `resize`, `blocks` (the
//! block cache for freed large blocks), `trim` (the caches given back),
//! `check` (`heapcheck`'s walk); this file holds the type, its side table
//! and its slabs' metadata.

use core::fmt;

use super::buddy::{BuddyHeap, HEADER_SIZE, HeapError, MAX_ALIGN, POISON, Scale};

mod allocate;
mod blocks;
mod check;
mod class;
mod free;
mod lookup;
mod resize;
#[cfg(test)]
mod tests;
mod trim;

use blocks::BlockCache;
pub use blocks::{
    DEPTH as BLOCK_CACHE_DEPTH, FIRST_SCALE as BLOCK_CACHE_FIRST, LAST_SCALE as BLOCK_CACHE_LAST,
};

pub use check::{SlabFault, SlabReport};
pub use class::{CLASS_COUNT, CLASSES, CUTOFF, Class, class_of};
pub use lookup::SlotInfo;

/// The side table's page: one byte describes this many bytes of the grid.
pub const SLAB_PAGE: usize = 4096;
const PAGE_SHIFT: u32 = 12;
/// Bytes of a slab's metadata ([`Meta`]) at its end.
const META: usize = core::mem::size_of::<Meta>();
/// Most slots a slab holds: the bitmap's bits.
const MAX_SLOTS: usize = 512;
/// The "no slab" / "no slot" link.
const NIL: u32 = u32::MAX;
/// The side-table byte of the first page of a cached block (see `blocks`).
const CACHED: u8 = 0xFF;

/// A slab's metadata, at its payload's offset `meta_at` (a cache line).
#[repr(C)]
struct Meta {
    /// The class's partial list (slab offsets from the grid, NIL at the ends).
    next: u32,
    prev: u32,
    /// The first slot of the free list (NIL: none; the next index is in the slot).
    free: u32,
    /// Slots `fresh..` were never handed out (taken in order once the free list is empty).
    fresh: u16,
    /// Slots handed out now.
    used: u16,
    /// 1 while on the partial list.
    listed: u32,
    _pad: u32,
    /// Bit `i` set while slot `i` is handed out.
    bits: [u64; MAX_SLOTS / 64],
}

const _: () = assert!(META == 88);
const _: () = assert!(CLASSES[CLASS_COUNT - 1].size as usize == CUTOFF);

/// A page of the grid as its side-table byte describes it.
#[derive(Clone, Copy)]
enum Page {
    /// A slab's page: its class and the slab's start (a grid offset).
    Slab(usize, u32),
    /// The first page of a cached block.
    Cached,
    /// Neither: the buddy heap's, or outside the table.
    Other,
}

/// Whether small requests come from slabs (the kernel heap) or from the
/// buddy heap alone (the small reserve heap, whose few KiB must keep whole
/// blocks for the shell's reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slabs {
    On,
    Off,
}

/// Slab caches over a buddy heap: the kernel heap's buddy design. See the
/// module docs.
pub struct SlabBuddy {
    buddy: BuddyHeap,
    /// Small requests go to slabs.
    slabs_on: bool,
    /// The arena pointer every pointer is derived from (`with_addr`).
    arena: *mut u8,
    /// Address of the page-aligned payload grid (the buddy origin + 9).
    grid: usize,
    /// The side table: one byte per [`SLAB_PAGE`] of the grid.
    table: *mut u8,
    pages: usize,
    /// Head of each class's partial list (slab offset from the grid, NIL).
    partial: [u32; CLASSES.len()],
    empty: [u32; CLASSES.len()],
    /// Freed large blocks kept for the next request of their scale.
    blocks: BlockCache,
    /// Live slabs and the objects in them.
    slabs: usize,
    objects: usize,
}

// SAFETY: the heap owns its arena exclusively (the constructor's contract);
// moving it to another thread moves that ownership.
unsafe impl Send for SlabBuddy {}

impl fmt::Debug for SlabBuddy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlabBuddy")
            .field("buddy", &self.buddy)
            .field("slab_table_bytes", &self.pages)
            .field("slabs", &self.slabs)
            .field("objects", &self.objects)
            .finish()
    }
}

impl SlabBuddy {
    /// Bytes at the front of an arena of `arena_len` bytes that
    /// [`SlabBuddy::with_arena`] keeps for its side table (page-rounded)
    /// and the buddy heap's table of block starts.
    pub const fn arena_table_bytes(arena_len: usize, min_scale: u8) -> usize {
        let own = Self::own_table_bytes(arena_len);
        own + BuddyHeap::arena_table_bytes(arena_len - own, min_scale)
    }

    /// The slab side table's share: one byte per page of the arena (one
    /// more for the grid's offset from the base), rounded up to a page.
    const fn own_table_bytes(arena_len: usize) -> usize {
        (arena_len / SLAB_PAGE + 2).next_multiple_of(MAX_ALIGN)
    }

    /// Slab caches over a buddy heap of scales `min_scale..=max_scale` in
    /// an arena of `arena_len` bytes at `base`, of which the first
    /// `backed` are memory now (see [`BuddyHeap::with_arena`]); with
    /// [`Slabs::Off`] every request goes to the buddy heap and there is no
    /// slab table. The slab
    /// side table takes the arena's first page(s), the buddy heap's table
    /// the next ones, the blocks the rest.
    ///
    /// # Safety
    /// As [`BuddyHeap::with_arena`]: `base..base+backed` is valid, writable
    /// memory used by nothing else while the heap lives.
    pub unsafe fn with_arena(
        base: *mut u8,
        arena_len: usize,
        backed: usize,
        min_scale: u8,
        max_scale: u8,
        slabs: Slabs,
    ) -> Result<SlabBuddy, HeapError> {
        // Without slabs there is no slab table: the arena is the buddy heap's.
        let own = match slabs {
            Slabs::On => Self::own_table_bytes(arena_len),
            Slabs::Off => 0,
        };
        if base.is_null() || backed < own || arena_len < own {
            return Err(HeapError::BadRegion);
        }
        // SAFETY: the rest of the arena, forwarded from the caller.
        let buddy = unsafe {
            BuddyHeap::with_arena(
                base.wrapping_add(own),
                arena_len - own,
                backed - own,
                min_scale,
                max_scale,
            )?
        };
        let grid = buddy.origin_addr() + HEADER_SIZE;
        let pages = match slabs {
            Slabs::On => (buddy.arena_end_addr() - grid) / SLAB_PAGE + 1,
            Slabs::Off => 0,
        };
        debug_assert!(pages <= own);
        // SAFETY: the first `own` bytes are backed and the heap's alone.
        unsafe { base.write_bytes(0, pages) };
        Ok(SlabBuddy {
            buddy,
            slabs_on: slabs == Slabs::On,
            arena: base,
            grid,
            table: base,
            pages,
            partial: [NIL; CLASSES.len()],
            empty: [NIL; CLASSES.len()],
            blocks: BlockCache::new(),
            slabs: 0,
            objects: 0,
        })
    }

    /// The buddy heap under the slabs (its blocks, reports, map); slabs
    /// are used blocks of it.
    pub fn buddy(&self) -> &BuddyHeap {
        &self.buddy
    }

    /// Live slabs.
    pub fn slab_count(&self) -> usize {
        self.slabs
    }

    /// Objects handed out from slabs now.
    pub fn object_count(&self) -> usize {
        self.objects
    }

    /// Bytes of the slab side table (one per page of the arena).
    pub fn slab_table_bytes(&self) -> usize {
        self.pages
    }

    /// Both side tables' bytes: the slabs' class per page and the buddy
    /// heap's block starts (`heapinfo` shows them).
    pub fn side_table_bytes(&self) -> usize {
        self.pages + self.buddy.side_table_bytes()
    }

    /// Whether freed memory is poisoned.
    pub fn poisoning(&self) -> bool {
        self.buddy.poisoning()
    }

    /// Turn poisoning on or off; turning it on poisons every free slot and
    /// every free block now, so `check` can verify all of them.
    pub fn set_poison(&mut self, on: bool) {
        if on && !self.poisoning() {
            // Cached blocks are free memory: give them back to be poisoned.
            self.release_blocks();
            for c in 1..CLASS_COUNT {
                let mut s = self.partial[c];
                while s != NIL {
                    let m = self.meta(s, c);
                    // SAFETY: partial slabs are live slabs of class `c`; their
                    // free lists hold free slot indexes.
                    unsafe {
                        let mut i = (*m).free;
                        while i != NIL {
                            let slot = self.slot_ptr(s, c, i);
                            self.poison_slot(slot, c);
                            i = slot.cast::<u32>().read();
                        }
                        s = (*m).next;
                    }
                }
            }
        }
        self.buddy.set_poison(on);
    }

    /// Hand the next `bytes` of the arena to the buddy heap (see
    /// [`BuddyHeap::add_backed`]); the side table already covers the arena.
    ///
    /// # Safety
    /// As [`BuddyHeap::add_backed`].
    pub unsafe fn add_backed(&mut self, bytes: usize) -> Result<(), HeapError> {
        // SAFETY: forwarded.
        unsafe { self.buddy.add_backed(bytes) }
    }

    // ----- pointers ---------------------------------------------------------

    /// The pointer to grid offset `off` (derived from the arena pointer).
    #[inline(always)]
    fn at(&self, off: u32) -> *mut u8 {
        self.arena.with_addr(self.grid + off as usize)
    }

    /// The metadata of the slab at grid offset `s` of class `c`.
    #[inline(always)]
    fn meta(&self, s: u32, c: usize) -> *mut Meta {
        self.at(s + CLASSES[c].meta_at).cast()
    }

    /// Slot `i` of the slab at `s` of class `c`.
    #[inline(always)]
    fn slot_ptr(&self, s: u32, c: usize, i: u32) -> *mut u8 {
        self.at(s + i * CLASSES[c].size)
    }

    /// The side table's byte for page `p` (below `pages`).
    #[inline(always)]
    fn table_at(&self, p: usize) -> *mut u8 {
        debug_assert!(p < self.pages);
        self.table.wrapping_add(p)
    }

    /// Fill a free slot after its link with [`POISON`].
    ///
    /// # Safety
    /// `slot` is a free slot of class `c`.
    unsafe fn poison_slot(&self, slot: *mut u8, c: usize) {
        // SAFETY: the slot's bytes after its 4-byte link are the heap's.
        unsafe {
            slot.add(4)
                .write_bytes(POISON, CLASSES[c].size as usize - 4)
        };
    }
}
