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

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

use super::buddy::{BuddyHeap, HEADER_SIZE, HeapError, MAX_ALIGN, POISON, Scale};

mod blocks;
mod check;
#[cfg(test)]
mod tests;

use blocks::BlockCache;
pub use blocks::{
    DEPTH as BLOCK_CACHE_DEPTH, FIRST_SCALE as BLOCK_CACHE_FIRST, LAST_SCALE as BLOCK_CACHE_LAST,
};

pub use check::{SlabFault, SlabReport};

/// Requests up to this many bytes (with an alignment their class serves)
/// come from slabs; larger ones from the buddy heap.
pub const CUTOFF: usize = 4096;
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

/// One size class: its slot size and the buddy block its slabs take.
#[derive(Clone, Copy, Debug)]
pub struct Class {
    /// Bytes per slot.
    pub size: u32,
    /// Scale of the buddy block a slab takes (12..=15).
    pub scale: u8,
    /// Slots per slab.
    pub slots: u32,
    /// Offset of the metadata from the slab's payload.
    meta_at: u32,
    /// The largest alignment every slot has (the payload is page-aligned).
    pub align: u32,
    /// A full slab goes back on the partial list once this few slots are
    /// used (an eighth of its slots free), not at its first free: a slab
    /// near full would otherwise leave and rejoin the list on every free
    /// and allocation, each time writing its neighbour's links.
    pub relist: u32,
    /// `ceil(2^32 / size)`: `(x * magic) >> 32 == x / size` for every offset
    /// inside a slab (see the test `magic_division_is_exact`).
    magic: u64,
}

impl Class {
    const fn new(size: u32, scale: u8) -> Class {
        // The metadata starts on a cache line: its counters and the first
        // 384 bits of its bitmap share one line.
        let meta_at = (((1u32 << scale) - HEADER_SIZE as u32) - META as u32) & !63;
        let fit = meta_at / size;
        let slots = if fit < MAX_SLOTS as u32 {
            fit
        } else {
            MAX_SLOTS as u32
        };
        let low = size & size.wrapping_neg();
        Class {
            size,
            scale,
            slots,
            meta_at,
            align: if low < MAX_ALIGN as u32 {
                low
            } else {
                MAX_ALIGN as u32
            },
            magic: (1u64 << 32).div_ceil(size as u64),
            relist: slots - if slots >= 4 { slots / 4 } else { 1 },
        }
    }
    /// Bytes of the slab's buddy block.
    pub const fn slab_bytes(&self) -> usize {
        1 << self.scale
    }
    /// The layout the slab's block is allocated with from the buddy heap.
    fn block_layout(&self) -> Layout {
        // A whole block: 2^scale - 9 bytes, alignment 1 (the payload is
        // page-aligned anyway: it sits on the grid).
        match Layout::from_size_align(self.slab_bytes() - HEADER_SIZE, 1) {
            Ok(l) => l,
            Err(_) => panic!("slab: class layout"),
        }
    }
}

/// The classes, index 1 up (the side table's byte; 0 means "no slab").
/// Roughly 4 per doubling from 64 on, as SLUB's kmalloc caches, so a
/// request wastes at most a third of its slot.
pub const CLASSES: [Class; 32] = {
    const SIZES: [u32; 18] = [
        8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096,
    ];
    let mut t = [Class::new(8, 12); 32];
    let mut i = 0;
    while i < SIZES.len() && SIZES[i] as usize <= CUTOFF {
        let size = SIZES[i];
        // 4 KiB slabs up to 256 bytes, 8 KiB to 512, 16 KiB to 1024 (at
        // least 15 slots), 32 KiB above (7 to 21 slots: a larger slab
        // would hold a kernel heap's few big objects in mostly empty
        // memory, a smaller one empties and refills too often).
        let scale = match size {
            0..=256 => 12,
            257..=512 => 13,
            513..=1024 => 14,
            _ => 15,
        };
        t[i + 1] = Class::new(size, scale);
        i += 1;
    }
    t
};
/// Classes in use: `1..CLASS_COUNT`.
pub const CLASS_COUNT: usize = {
    let mut n = 1;
    while n < CLASSES.len() && (CLASSES[n - 1].size as usize) < CUTOFF {
        n += 1;
    }
    n
};

/// The class of a request of `size` bytes (1..=CUTOFF), by `(size + 7) / 8`.
const CLASS_OF: [u8; CUTOFF / 8 + 1] = {
    let mut t = [0u8; CUTOFF / 8 + 1];
    let mut i = 1;
    while i < t.len() {
        let mut c = 1;
        while (CLASSES[c].size as usize) < i * 8 {
            c += 1;
        }
        t[i] = c as u8;
        i += 1;
    }
    t
};

/// The class serving `size` bytes aligned to `align`, or `None` for the
/// buddy heap (too large, zero, or an alignment the class does not give).
#[inline(always)]
pub fn class_of(size: usize, align: usize) -> Option<usize> {
    if size.wrapping_sub(1) >= CUTOFF {
        return None;
    }
    let c = CLASS_OF[(size + 7) >> 3] as usize % CLASSES.len();
    (align <= CLASSES[c].align as usize).then_some(c)
}

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

    // ----- allocate -----------------------------------------------------------

    /// Allocate for `layout`: a slot of its class when it has one, else a
    /// buddy block (also when no slab can be made). Errors as the buddy
    /// heap's `alloc_layout`; the heap is unchanged after one.
    #[inline]
    pub fn alloc_layout(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        if self.slabs_on
            && let Some(c) = class_of(layout.size(), layout.align())
        {
            let s = self.partial[c];
            if s != NIL {
                // SAFETY: `s` heads class `c`'s partial list.
                return Ok(unsafe { self.take_slot(s, c) });
            }
            return self.alloc_new_slab(c, layout);
        }
        if let Some(p) = self.alloc_cached(layout) {
            return Ok(p);
        }
        self.alloc_buddy(layout)
    }

    /// A cached block of the scale `layout` takes, if the block cache has one.
    #[inline(always)]
    fn alloc_cached(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        // The buddy heap's rounding: 2^s >= size + 9, at least the
        // alignment (a size of 0 or past the heap's scales finds no stack).
        let need = layout.size().wrapping_add(HEADER_SIZE - 1);
        let s = (usize::BITS - need.leading_zeros()).max(layout.align().trailing_zeros());
        let b = self.blocks.take(s)?;
        // SAFETY: a cached block is a used block of scale `s`, which fits
        // the request; its first page lies inside the table.
        unsafe {
            self.table_at(b as usize >> PAGE_SHIFT).write(0);
            Some(self.buddy.reissue(b, layout.size(), layout.align()))
        }
    }

    /// A request for the buddy heap (kept out of the slab fast path, whose
    /// few registers it would otherwise make every call save).
    #[inline(never)]
    fn alloc_buddy(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        match self.buddy.alloc_layout(layout) {
            Err(HeapError::OutOfMemory { .. })
                if self.cached_empty() > 0 || self.blocks.count() > 0 =>
            {
                self.alloc_after_trim(layout)
            }
            r => r,
        }
    }

    /// The buddy heap is short while empty slabs are cached: give them
    /// back and try once more.
    #[cold]
    #[inline(never)]
    fn alloc_after_trim(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        self.trim();
        self.buddy.alloc_layout(layout)
    }

    /// Give every cached empty slab and every cached block back to the
    /// buddy heap (an allocation the buddy heap cannot serve does it first;
    /// `heapcheck` too, so what it reports does not depend on what happens
    /// to be cached). Returns how many slabs and blocks went back.
    pub fn trim(&mut self) -> usize {
        let mut n = self.release_blocks();
        for c in 1..CLASS_COUNT {
            let s = self.empty[c];
            if s != NIL {
                self.empty[c] = NIL;
                self.release_slab(s, c);
                n += 1;
            }
        }
        n
    }

    /// Give every cached block back to the buddy heap; returns how many.
    fn release_blocks(&mut self) -> usize {
        let mut n = 0;
        while let Some((b, s)) = self.blocks.pop() {
            // SAFETY: a cached block is a used block of scale `s`, checked
            // when it was freed; its first page lies inside the table.
            unsafe {
                self.table_at(b as usize >> PAGE_SHIFT).write(0);
                self.buddy.free_block(b, s);
            }
            n += 1;
        }
        n
    }

    /// Blocks cached now (freed large blocks kept for their scale's next
    /// request, see `blocks`).
    pub fn cached_blocks(&self) -> usize {
        self.blocks.count()
    }

    /// Bytes of the blocks cached now.
    pub fn cached_block_bytes(&self) -> usize {
        self.blocks.bytes()
    }

    /// Empty slabs cached now (at most one per class).
    pub fn cached_empty(&self) -> usize {
        self.empty.iter().filter(|&&s| s != NIL).count()
    }

    /// Class `c` has no partial slab: a slot of a new slab, or (no block
    /// for one) a buddy block.
    #[cold]
    #[inline(never)]
    fn alloc_new_slab(&mut self, c: usize, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        match self.new_slab(c) {
            // SAFETY: the new slab heads class `c`'s partial list.
            Some(s) => Ok(unsafe { self.take_slot(s, c) }),
            None => self.alloc_buddy(layout),
        }
    }

    /// A free or fresh slot of the slab at `s` of class `c`.
    ///
    /// # Safety
    /// `s` heads class `c`'s partial list.
    #[inline(always)]
    unsafe fn take_slot(&mut self, s: u32, c: usize) -> NonNull<u8> {
        let k = &CLASSES[c];
        let m = self.meta(s, c);
        // SAFETY: `s` is a live slab of class `c` with a free or a fresh
        // slot (the caller's guarantee); free-list entries are free slots.
        unsafe {
            let i = if (*m).free != NIL {
                let i = (*m).free;
                (*m).free = self.slot_ptr(s, c, i).cast::<u32>().read();
                i
            } else {
                let i = (*m).fresh as u32;
                (*m).fresh += 1;
                i
            };
            (*m).bits[(i as usize >> 6) % (MAX_SLOTS / 64)] |= 1 << (i & 63);
            (*m).used += 1;
            if (*m).used as u32 == k.slots {
                // Full: off the partial list (it is the head).
                let next = (*m).next;
                self.partial[c] = next;
                if next != NIL {
                    (*self.meta(next, c)).prev = NIL;
                }
                (*m).next = NIL;
                (*m).listed = 0;
            }
            self.objects += 1;
            NonNull::new_unchecked(self.slot_ptr(s, c, i))
        }
    }

    /// Take a buddy block for a new slab of class `c`, mark its pages in
    /// the side table and put it on the partial list.
    #[cold]
    fn new_slab(&mut self, c: usize) -> Option<u32> {
        let k = &CLASSES[c];
        if self.empty[c] != NIL {
            let s = self.empty[c];
            self.empty[c] = NIL;
            // SAFETY: the cached slab is a live, empty slab of class `c`.
            unsafe { (*self.meta(s, c)).listed = 1 };
            self.partial[c] = s;
            return Some(s);
        }
        let p = self.buddy.alloc_layout(k.block_layout()).ok()?;
        let s = (p.as_ptr().addr() - self.grid) as u32;
        debug_assert!((s as usize).is_multiple_of(k.slab_bytes()));
        let first = s as usize >> PAGE_SHIFT;
        for page in first..first + (k.slab_bytes() >> PAGE_SHIFT) {
            // SAFETY: the slab lies inside the arena the table covers.
            unsafe { self.table_at(page).write(c as u8) };
        }
        // SAFETY: the metadata lies inside the slab's payload, which we own.
        unsafe {
            self.meta(s, c).write(Meta {
                next: NIL,
                prev: NIL,
                free: NIL,
                fresh: 0,
                used: 0,
                listed: 1,
                _pad: 0,
                bits: [0; MAX_SLOTS / 64],
            });
        }
        self.partial[c] = s;
        self.slabs += 1;
        Some(s)
    }

    /// What the page holding grid offset `off` is, by its side-table
    /// byte: a slab's (its class and its start, an offset from the grid), a
    /// cached block's first page, or neither (the buddy heap's business, or
    /// outside the table). O(1): one byte of the side table.
    #[inline(always)]
    fn page_at(&self, off: usize) -> Page {
        let page = off >> PAGE_SHIFT;
        if page >= self.pages {
            return Page::Other;
        }
        // SAFETY: `page` is inside the table.
        let c = unsafe { self.table_at(page).read() } as usize;
        // One compare: 0 (no slab) and CACHED (a block) are no class.
        if c.wrapping_sub(1) >= CLASS_COUNT - 1 {
            return if c == CACHED as usize {
                Page::Cached
            } else {
                Page::Other
            };
        }
        Page::Slab(c, (off & !(CLASSES[c].slab_bytes() - 1)) as u32)
    }

    /// The class index and the slab start of the slab page holding grid
    /// offset `off`, `None` outside slab pages.
    #[inline(always)]
    fn slab_at(&self, off: usize) -> Option<(usize, u32)> {
        match self.page_at(off) {
            Page::Slab(c, s) => Some((c, s)),
            _ => None,
        }
    }

    /// Why `addr`, at grid offset `off` in the first page of a cached
    /// block, is no live allocation: the block's payload (page-aligned) was
    /// freed already, any other byte of the page is inside it.
    #[cold]
    fn cached_refusal(&self, addr: usize, off: usize) -> HeapError {
        let payload = self.grid + (off & !(SLAB_PAGE - 1));
        if addr == payload {
            HeapError::DoubleFree { addr }
        } else {
            HeapError::Interior { addr, payload }
        }
    }

    // ----- free ---------------------------------------------------------------

    /// The slab slot `ptr` is, if it lies in a slab page: `Some(Ok((slab,
    /// class, slot)))` for a live slot allocated with a layout of that class,
    /// `Some(Err(why))` for any other address in a slab, `None` outside
    /// slabs (the buddy heap's business). O(1).
    #[inline(always)]
    fn slot_of(
        &self,
        ptr: NonNull<u8>,
        layout: Option<Layout>,
    ) -> Option<Result<(u32, usize, u32), HeapError>> {
        let off = ptr.addr().get().wrapping_sub(self.grid);
        let (c, s) = match self.page_at(off) {
            Page::Slab(c, s) => (c, s),
            Page::Cached => return Some(Err(self.cached_refusal(ptr.addr().get(), off))),
            Page::Other => return None,
        };
        let k = &CLASSES[c];
        let rel = off as u32 - s;
        let i = ((rel as u64 * k.magic) >> 32) as u32;
        if i * k.size != rel || i >= k.slots {
            return Some(Err(self.refusal(ptr.addr().get(), s, c, rel)));
        }
        // SAFETY: `s` is a live slab of class `c` (the side table says so).
        let bits = unsafe { (*self.meta(s, c)).bits[(i as usize >> 6) % (MAX_SLOTS / 64)] };
        if bits & (1 << (i & 63)) == 0 {
            return Some(Err(HeapError::DoubleFree {
                addr: ptr.addr().get(),
            }));
        }
        if let Some(l) = layout
            && (l.size() > k.size as usize || l.align() > k.align as usize)
        {
            return Some(Err(HeapError::LayoutMismatch {
                addr: ptr.addr().get(),
            }));
        }
        Some(Ok((s, c, i)))
    }

    /// Why `addr`, at offset `rel` of the slab at `s` of class `c`, is not
    /// a slot: inside a slot, in the slab's metadata, or (its last 9 bytes'
    /// worth past the block) the next block's header.
    #[cold]
    fn refusal(&self, addr: usize, s: u32, c: usize, rel: u32) -> HeapError {
        let k = &CLASSES[c];
        if rel as usize >= k.slab_bytes() - HEADER_SIZE {
            return HeapError::NotPayload { addr };
        }
        let i = rel / k.size;
        let payload = if i < k.slots {
            self.grid + (s + i * k.size) as usize
        } else {
            self.grid + s as usize
        };
        HeapError::Interior { addr, payload }
    }

    /// Give back slot `i` of the slab at `s` of class `c` (a live slot).
    ///
    /// # Safety
    /// `slot_of` just returned `(s, c, i)`.
    #[inline(always)]
    unsafe fn slab_release(&mut self, s: u32, c: usize, i: u32) {
        let k = &CLASSES[c];
        let m = self.meta(s, c);
        let slot = self.slot_ptr(s, c, i);
        // SAFETY: the caller's guarantee: a live slot of a live slab.
        unsafe {
            (*m).bits[(i as usize >> 6) % (MAX_SLOTS / 64)] &= !(1 << (i & 63));
            slot.cast::<u32>().write((*m).free);
            (*m).free = i;
            if self.buddy.poisoning() {
                self.poison_slot(slot, c);
            }
            (*m).used -= 1;
            self.objects -= 1;
            if (*m).used == 0 {
                self.free_slab(s, c);
            } else if (*m).used as u32 + ((*m).listed << 16) <= k.relist {
                // Not listed, and used no more than `relist`: one compare
                // (whether a random slab is listed is not predictable, so it
                // gets no branch of its own; `relist` is below 2^16).
                let head = self.partial[c];
                (*m).next = head;
                (*m).prev = NIL;
                (*m).listed = 1;
                if head != NIL {
                    (*self.meta(head, c)).prev = s;
                }
                self.partial[c] = s;
            }
        }
    }

    /// The slab at `s` of class `c` is empty: off its partial list (if it
    /// is on it), then kept as the class's cached empty slab when it has
    /// none (so a class that empties and fills again does not split and
    /// merge a buddy block each time), else given back to the buddy heap.
    #[cold]
    fn free_slab(&mut self, s: u32, c: usize) {
        let m = self.meta(s, c);
        // SAFETY: `s` is a live, empty slab of class `c`; its links are
        // slabs of the same list.
        unsafe {
            if (*m).listed != 0 {
                let (next, prev) = ((*m).next, (*m).prev);
                if prev == NIL {
                    self.partial[c] = next;
                } else {
                    (*self.meta(prev, c)).next = next;
                }
                if next != NIL {
                    (*self.meta(next, c)).prev = prev;
                }
            }
            if self.empty[c] == NIL {
                // As new: `new_slab` puts it back on the partial list.
                (*m).next = NIL;
                (*m).prev = NIL;
                (*m).free = NIL;
                (*m).fresh = 0;
                (*m).listed = 0;
                self.empty[c] = s;
                return;
            }
        }
        self.release_slab(s, c);
    }

    /// Give the empty slab at `s` of class `c` (on no list) back to the
    /// buddy heap and clear its pages in the side table.
    fn release_slab(&mut self, s: u32, c: usize) {
        let k = &CLASSES[c];
        let first = s as usize >> PAGE_SHIFT;
        for page in first..first + (k.slab_bytes() >> PAGE_SHIFT) {
            // SAFETY: the slab's pages are inside the table.
            unsafe { self.table_at(page).write(0) };
        }
        self.slabs -= 1;
        let payload = NonNull::new(self.at(s)).expect("slab: null payload");
        if let Err(e) = self.buddy.free_layout(payload, k.block_layout()) {
            panic!("slab: the buddy heap refused its own slab at {s:#x}: {e}");
        }
    }

    /// Free what `alloc_layout(layout)` returned, checked in O(1): a
    /// pointer that is not a live allocation, or a layout that does not fit
    /// it, is refused and changes nothing. A slab slot keeps no record of
    /// its exact layout; the rule is the buddy heap's: the size must fit the
    /// slot (the block) and the alignment be one the slot has (the block
    /// was allocated with), as Rust's "fitting layout" allows after an
    /// in-place resize.
    #[inline]
    pub fn free_layout(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        match self.slot_of(ptr, Some(layout)) {
            None => self.free_buddy(ptr, layout),
            Some(Ok((s, c, i))) => {
                // SAFETY: `slot_of` found a live slot.
                unsafe { self.slab_release(s, c, i) };
                Ok(())
            }
            Some(Err(e)) => Err(e),
        }
    }

    /// A free for the buddy heap, checked as its `free_layout` checks; a
    /// block of a cached scale goes on the block cache when there is room
    /// (and poisoning is off), else back to the buddy heap.
    #[inline(always)]
    fn free_buddy(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let (b, s) = self.buddy.used_block(ptr, layout)?;
        if self.slabs_on && !self.buddy.poisoning() && self.blocks.put(b, s) {
            // SAFETY: a block of a cached scale (at least a page) has a
            // page-aligned payload at grid offset `b`, inside the table.
            unsafe { self.table_at(b as usize >> PAGE_SHIFT).write(CACHED) };
            return Ok(());
        }
        // SAFETY: `used_block` found a genuine used block.
        unsafe { self.buddy.free_block(b, s) };
        Ok(())
    }

    /// Free a pointer without its layout (the shell's `free` of an address
    /// it did not hand out uses it to say why that address is wrong):
    /// checked like `free_layout` except for the layout.
    pub fn free(&mut self, ptr: NonNull<u8>) -> Result<(), HeapError> {
        match self.slot_of(ptr, None) {
            None => self.buddy.free(ptr),
            Some(Ok((s, c, i))) => {
                // SAFETY: `slot_of` found a live slot.
                unsafe { self.slab_release(s, c, i) };
                Ok(())
            }
            Some(Err(e)) => Err(e),
        }
    }

    /// Resize the allocation at `ptr` (made with `layout`) to `new_size`
    /// bytes without moving it: a slot stays when `new_size` fits it and
    /// fills more than half of it (a smaller one moves to a smaller class
    /// rather than waste the slot); a buddy block grows or shrinks as the buddy heap's
    /// `resize_in_place` does. `Ok(false)`: not possible (the caller moves
    /// it); errors as `free_layout`. Nothing changes unless `Ok(true)`.
    #[inline]
    pub fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<bool, HeapError> {
        match self.slot_of(ptr, Some(layout)) {
            None => self.buddy.resize_in_place(ptr, layout, new_size),
            Some(Ok((_, c, _))) => {
                let size = CLASSES[c].size as usize;
                Ok(new_size <= size && new_size * 2 > size)
            }
            Some(Err(e)) => Err(e),
        }
    }

    /// Bytes the buddy heap must add before a request for `layout` can
    /// succeed (for a slab class: a whole slab block, or failing that the
    /// request's own block), or `None` when growth cannot help.
    pub fn grow_hint(&self, layout: Layout) -> Option<usize> {
        match class_of(layout.size(), layout.align()).filter(|_| self.slabs_on) {
            Some(c) => self
                .buddy
                .grow_hint(CLASSES[c].block_layout())
                .or_else(|| self.buddy.grow_hint(layout)),
            None => self.buddy.grow_hint(layout),
        }
    }

    /// What `addr` is in a slab: `(class size, slab block scale, slot
    /// start, live)` when it lies in a slab's slots, `None` otherwise.
    pub fn slot_info(&self, addr: usize) -> Option<SlotInfo> {
        let off = addr.wrapping_sub(self.grid);
        let (c, s) = self.slab_at(off)?;
        let k = &CLASSES[c];
        let i = (off as u32 - s) / k.size;
        if i >= k.slots {
            return None;
        }
        // SAFETY: a live slab of class `c`.
        let bits = unsafe { (*self.meta(s, c)).bits[(i as usize >> 6) % (MAX_SLOTS / 64)] };
        Some(SlotInfo {
            size: k.size as usize,
            slab: self.grid + s as usize,
            slab_scale: Scale(k.scale),
            slot: self.grid + (s + i * k.size) as usize,
            live: bits & (1 << (i & 63)) != 0,
        })
    }
}

/// A slab slot as [`SlabBuddy::slot_info`] describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotInfo {
    /// The class's slot size.
    pub size: usize,
    /// The slab's first slot (its buddy block's payload).
    pub slab: usize,
    /// The scale of the slab's buddy block.
    pub slab_scale: Scale,
    /// The slot's first byte.
    pub slot: usize,
    /// Handed out now.
    pub live: bool,
}

impl fmt::Display for SlabReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "slabs: {} ({} bytes of blocks) holding {} objects ({} bytes), {} free slots",
            self.slabs, self.slab_bytes, self.objects, self.object_bytes, self.free_slots
        )
    }
}
