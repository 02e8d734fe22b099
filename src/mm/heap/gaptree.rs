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

use super::backend::{HeapBackend, HeapStats};
use super::fault::{GapTreeFault, HeapCheckError};
use super::inplace::FreeSpace;
use super::poison;
pub use super::regions::MAX_REGIONS;
use super::regions::Regions;
use super::tree::{self, Links, TreeKind};
use crate::mm::family::{AllocError, Allocator, Range, align_down, align_up};
use crate::mm::layout::PAGE_SIZE;
use core::alloc::Layout;
use core::fmt;
use core::mem::size_of;
use core::ptr::{self, NonNull};

const WORD: usize = size_of::<usize>();
const TAG_MASK: usize = 3;
const TAG_GAP: usize = 1;
const TAG_SUPER: usize = 2;
const TAG_FRONT: usize = 3;
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

/// The header in front of every buffer handed out.
#[repr(C)]
struct Superbuffer {
    /// Bytes from block start to block end, `| TAG_SUPER`.
    tag: usize,
    /// Bytes of front void between the block start and this header.
    front: usize,
    /// Bytes the caller asked for.
    size: usize,
    /// `MAGIC ^ header address ^ extent ^ size`: catches wild and double frees.
    check: usize,
}

/// Bytes of a superbuffer header.
pub const HEADER_SIZE: usize = size_of::<Superbuffer>();
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
        n as usize
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
        (unsafe { (*n).tag } & !TAG_MASK, n as usize)
    }
}

/// Where a request lands inside a gap.
#[derive(Clone, Copy, Debug)]
struct Placement {
    /// Bytes left as a (smaller) gap before the block.
    lead: usize,
    /// Front void inside the block, before the header.
    front: usize,
    /// Bytes of the block (front void + header + buffer + tail void).
    extent: usize,
    /// Bytes left as a new gap after the block.
    tail: usize,
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

    fn unit(&self) -> usize {
        match self.policy {
            VoidPolicy::Allow => WORD,
            VoidPolicy::NoVoid => GAP_SIZE,
        }
    }

    /// Hand the heap `len` bytes at `start`; they become one gap (merged with
    /// a touching region). The ends are trimmed to the heap's unit.
    /// Errors: `InvalidSize` (too small), `InvalidAddress` (overlaps memory
    /// the heap already has), `OutOfMemory` (region table full).
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, used by nothing else,
    /// and live as long as the heap.
    pub unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
        let unit = self.unit();
        let end = align_down(start.checked_add(len).ok_or(AllocError::InvalidSize)?, unit);
        let start = align_up(start, unit).ok_or(AllocError::InvalidSize)?;
        if start == 0 || end <= start || end - start < GAP_SIZE {
            return Err(AllocError::InvalidSize);
        }
        self.regions.add(start, end, unit)?;
        self.size += end - start;
        // SAFETY: [start, end) is ours now and overlaps no block; the
        // neighbours found by `free_block` lie in merged regions.
        unsafe { self.give_back(start, end) };
        Ok(())
    }

    /// Whether freed bytes are poisoned.
    pub fn poisoning(&self) -> bool {
        self.poison
    }

    /// Turn poisoning on or off; turning it on poisons every gap (all but
    /// its header).
    pub fn set_poison(&mut self, on: bool) {
        self.switch_poison(on);
    }

    /// Resize the allocation at `ptr` (made with `layout`) to `new_size`
    /// bytes without moving it: shrinking gives the tail back as a gap,
    /// growing takes what it needs from the gap right after. `ptr` and
    /// `layout` are checked as by `free_layout` (an error changes nothing);
    /// `Ok(false)` when it cannot stay in place, changing nothing.
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
        let (front, old_size) = unsafe { ((*h).front, (*h).size) };
        let body = align_up(new_size, WORD).ok_or(AllocError::InvalidSize)?;
        let Some(need) = align_up(front + HEADER_SIZE + body, self.unit()) else {
            return Ok(false);
        };
        let want = start + need.max(GAP_SIZE);
        // SAFETY: `[start, end)` is the validated superbuffer; writes stay
        // inside it and the gap right after it.
        unsafe {
            let Some(new_end) = self.resize_span(start, end, want) else {
                return Ok(false);
            };
            h.write(Superbuffer {
                tag: (new_end - start) | TAG_SUPER,
                front,
                size: new_size,
                check: check_word(h as usize, new_end - start, new_size),
            });
            self.requested = self.requested - old_size + new_size;
        }
        Ok(true)
    }

    /// Turn `[start, end)` into free space, merging with the gap that ends at
    /// `start` and the gap that begins at `end`. O(log n).
    ///
    /// # Safety
    /// `[start, end)` lies in a region, is not free, and overlaps no gap.
    // course: lab 07
    unsafe fn free_block(&mut self, start: usize, end: usize) {
        // SAFETY: all gaps in the trees are valid headers inside our regions.
        unsafe {
            let left = tree::below::<ByAddr>(self.by_addr, start);
            let right = tree::lower_bound::<ByAddr>(self.by_addr, end);
            let mut lo = start;
            let mut hi = end;
            let mut node: *mut Gap = ptr::null_mut();
            if !left.is_null() && left as usize + gap_len(left) == start {
                self.by_len = tree::remove::<ByLen>(self.by_len, ByLen::key(left)).0;
                lo = left as usize;
                node = left;
                self.gaps -= 1;
            }
            let mut placed = !node.is_null();
            if !right.is_null() && right as usize == end {
                self.by_len = tree::remove::<ByLen>(self.by_len, ByLen::key(right)).0;
                hi = end + gap_len(right);
                self.gaps -= 1;
                if placed {
                    self.by_addr = tree::remove::<ByAddr>(self.by_addr, end).0;
                } else {
                    // The new gap takes the right gap's place in the address
                    // tree: no gap lies between `start` and `end`.
                    node = lo as *mut Gap;
                    node.write(Gap {
                        tag: 0,
                        by_addr: Links::new(),
                        by_len: Links::new(),
                    });
                    self.by_addr = tree::replace::<ByAddr>(self.by_addr, end, node);
                    placed = true;
                }
            }
            if !placed {
                node = lo as *mut Gap;
                node.write(Gap {
                    tag: 0,
                    by_addr: Links::new(),
                    by_len: Links::new(),
                });
                self.by_addr = tree::insert::<ByAddr>(self.by_addr, node);
            }
            (*node).tag = (hi - lo) | TAG_GAP;
            self.by_len = tree::insert::<ByLen>(self.by_len, node);
            self.gaps += 1;
            self.free += end - start;
        }
    }
    // course: stub
    // unsafe fn free_block(&mut self, start: usize, end: usize) {
    //     // LAB 07 (4/4): make [start, end) one gap, merged with its neighbours.
    //     // - the gap just before: `tree::below::<ByAddr>(self.by_addr, start)`;
    //     //   it touches when `left as usize + gap_len(left) == start`;
    //     // - the gap just after: `tree::lower_bound::<ByAddr>(self.by_addr, end)`;
    //     //   it touches when `right as usize == end`.
    //     // A gap that touches leaves the length tree (its length changes);
    //     // the merged gap starts at the lowest address: write a fresh `Gap`
    //     // header there when it is a new node, keep the address tree's node
    //     // when the left neighbour already is it (`tree::replace` swaps the
    //     // right neighbour's node for a new one at the same place in order).
    //     // Then: tag = length | TAG_GAP, insert into `by_len`, and keep the
    //     // `gaps` and `free` counters true. `check()` tells you what is off.
    //     let _ = (start, end, TAG_GAP, Links::<Gap>::new, gap_len);
    //     let _ = (tree::insert::<ByLen>, tree::remove::<ByLen>, tree::replace::<ByAddr>);
    // }
    // course: end

    /// Where a block of `body` buffer bytes aligned to `align` would sit in a
    /// gap at `g` of `len` bytes, or `None` when it does not fit.
    fn place(&self, g: usize, len: usize, body: usize, align: usize) -> Option<Placement> {
        let unit = self.unit();
        let p = align_up(g.checked_add(HEADER_SIZE)?, align)?;
        let front0 = p - HEADER_SIZE - g;
        let (lead, front) = if front0 >= GAP_SIZE {
            let lead = align_down(front0, unit);
            (lead, front0 - lead)
        } else {
            (0, front0)
        };
        let raw = front.checked_add(HEADER_SIZE)?.checked_add(body)?;
        let mut extent = align_up(raw, unit)?.max(GAP_SIZE);
        let used = lead.checked_add(extent)?;
        if used > len {
            return None;
        }
        let mut tail = len - used;
        if tail < GAP_SIZE {
            extent += tail;
            tail = 0;
        }
        Some(Placement {
            lead,
            front,
            extent,
            tail,
        })
    }

    /// Allocate `size` bytes aligned to `align` (a power of two up to
    /// [`MAX_ALIGN`]); best fit. Errors: `InvalidSize` (0 or huge),
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
        let min_extent = align_up(HEADER_SIZE + body, self.unit())
            .ok_or(AllocError::InvalidSize)?
            .max(GAP_SIZE);
        // course: lab 07
        // SAFETY: the trees hold valid gaps inside our regions.
        unsafe {
            // Best fit: the smallest gaps that are long enough, in length
            // order; alignment padding can make a few of them miss.
            let mut key = (min_extent, 0);
            for _ in 0..8 {
                let g = tree::lower_bound::<ByLen>(self.by_len, key);
                if g.is_null() {
                    return Err(AllocError::OutOfMemory);
                }
                let len = gap_len(g);
                if let Some(pl) = self.place(g as usize, len, body, align) {
                    return Ok(self.carve(g, len, pl, size));
                }
                key = (len, g as usize + 1);
            }
            // A gap this long always fits, whatever the padding.
            let sure = min_extent
                .checked_add(align + GAP_SIZE)
                .ok_or(AllocError::InvalidSize)?;
            let g = tree::lower_bound::<ByLen>(self.by_len, (sure, 0));
            if g.is_null() {
                return Err(AllocError::OutOfMemory);
            }
            let len = gap_len(g);
            match self.place(g as usize, len, body, align) {
                Some(pl) => Ok(self.carve(g, len, pl, size)),
                None => panic!("gaptree: a gap of the sure length did not fit"),
            }
        }
        // course: stub
        // // LAB 07 (3/4): best fit. The length tree orders gaps by
        // // (length, address): `tree::lower_bound::<ByLen>(self.by_len,
        // // (min_extent, 0))` is the smallest gap that may hold the block.
        // // Ask `self.place(gap, len, body, align)` where the block would sit
        // // (alignment padding can make a long-enough gap miss: then try the
        // // next one, key (len, gap + 1), a few times), and cut the block
        // // out with `self.carve(gap, len, placement, size)` (unsafe: the
        // // gap must be in both trees). Give up on the search after a few
        // // misses and take a gap of `min_extent + align + GAP_SIZE` bytes,
        // // which always fits. No gap at all: `AllocError::OutOfMemory`.
        // let _ = (size, align, body, min_extent, Self::place, Self::carve);
        // Err(AllocError::OutOfMemory)
        // course: end
    }

    /// Cut a superbuffer out of gap `g` as `pl` says and return its buffer.
    ///
    /// # Safety
    /// `g` is a gap in both trees, `len` its length, `pl` from `place`.
    unsafe fn carve(&mut self, g: *mut Gap, len: usize, pl: Placement, size: usize) -> NonNull<u8> {
        let gaddr = g as usize;
        // SAFETY: g is a valid gap; every address written lies in [g, g+len).
        unsafe {
            self.by_len = tree::remove::<ByLen>(self.by_len, ByLen::key(g)).0;
            let b = gaddr + pl.lead;
            let t = (b + pl.extent) as *mut Gap;
            if pl.lead > 0 {
                (*g).tag = pl.lead | TAG_GAP;
                self.by_len = tree::insert::<ByLen>(self.by_len, g);
            } else if pl.tail > 0 {
                // The tail gap takes g's place in the address tree (nothing
                // lies between them); write it before g's header is reused.
                t.write(Gap {
                    tag: pl.tail | TAG_GAP,
                    by_addr: Links::new(),
                    by_len: Links::new(),
                });
                self.by_addr = tree::replace::<ByAddr>(self.by_addr, gaddr, t);
                self.by_len = tree::insert::<ByLen>(self.by_len, t);
            } else {
                self.by_addr = tree::remove::<ByAddr>(self.by_addr, gaddr).0;
                self.gaps -= 1;
            }
            if pl.front > 0 {
                (b as *mut usize).write(pl.front | TAG_FRONT);
            }
            let h = b + pl.front;
            (h as *mut Superbuffer).write(Superbuffer {
                tag: pl.extent | TAG_SUPER,
                front: pl.front,
                size,
                check: check_word(h, pl.extent, size),
            });
            if pl.tail > 0 && pl.lead > 0 {
                t.write(Gap {
                    tag: pl.tail | TAG_GAP,
                    by_addr: Links::new(),
                    by_len: Links::new(),
                });
                self.by_addr = tree::insert::<ByAddr>(self.by_addr, t);
                self.by_len = tree::insert::<ByLen>(self.by_len, t);
                self.gaps += 1;
            }
            debug_assert_eq!(pl.lead + pl.extent + pl.tail, len);
            self.free -= pl.extent;
            self.superbuffers += 1;
            self.requested += size;
            NonNull::new_unchecked((h + HEADER_SIZE) as *mut u8)
        }
    }

    /// Find and validate the superbuffer whose buffer starts at `p`; return
    /// (block start, block end, header). Never reads outside our regions.
    fn lookup(&self, p: usize) -> Result<(usize, usize, *mut Superbuffer), AllocError> {
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
        // SAFETY: [h, p) lies inside one of our regions (checked above).
        let hdr = unsafe { (h as *const Superbuffer).read() };
        if hdr.tag & TAG_MASK != TAG_SUPER {
            return Err(AllocError::InvalidAddress);
        }
        let extent = hdr.tag & !TAG_MASK;
        if hdr.check != check_word(h, extent, hdr.size) || hdr.front >= GAP_SIZE {
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
        // SAFETY: start lies in the region (checked above).
        if hdr.front > 0 && unsafe { (start as *const usize).read() } != hdr.front | TAG_FRONT {
            return Err(AllocError::InvalidAddress);
        }
        // No gap may overlap the block: that would be a double free or a
        // forged header.
        // SAFETY: the trees hold valid gaps.
        unsafe {
            let left = tree::below::<ByAddr>(self.by_addr, start);
            if !left.is_null() && left as usize + gap_len(left) > start {
                return Err(AllocError::InvalidAddress);
            }
            let right = tree::lower_bound::<ByAddr>(self.by_addr, start);
            if !right.is_null() && (right as usize) < end {
                return Err(AllocError::InvalidAddress);
            }
        }
        Ok((start, end, h as *mut Superbuffer))
    }

    /// Free the buffer at `ptr`. Errors (nothing changes): `InvalidAddress`
    /// for a pointer this heap did not hand out or already freed.
    pub fn free(&mut self, ptr: NonNull<u8>) -> Result<(), AllocError> {
        let (start, end, h) = self.lookup(ptr.as_ptr() as usize)?;
        // SAFETY: lookup validated the header and the block bounds.
        unsafe { self.release_block(start, end, h) };
        Ok(())
    }

    /// # Safety
    /// `(start, end, h)` came from `lookup` with no change since.
    unsafe fn release_block(&mut self, start: usize, end: usize, h: *mut Superbuffer) {
        // SAFETY: the caller's contract.
        unsafe {
            let size = (*h).size;
            (*h).check = 0;
            (*h).tag = 0;
            self.superbuffers -= 1;
            self.requested -= size;
            self.give_back(start, end);
        }
    }

    /// The superbuffer `ptr` is the buffer of, allocated with `layout`:
    /// `lookup` plus the size (`InvalidSize`) and alignment
    /// (`InvalidAlignment`) checks; the one check of `free_layout` and
    /// `resize_in_place`.
    fn checked(
        &self,
        ptr: NonNull<u8>,
        layout: Layout,
    ) -> Result<(usize, usize, *mut Superbuffer), AllocError> {
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

    /// Free `ptr` allocated with `layout`; also checks that the size and
    /// alignment match the allocation (`InvalidSize`, `InvalidAlignment`).
    pub fn free_layout(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), AllocError> {
        let (start, end, h) = self.checked(ptr, layout)?;
        // SAFETY: just validated, nothing changed since.
        unsafe { self.release_block(start, end, h) };
        Ok(())
    }

    /// `kmalloc` of seed 002: `size` bytes aligned to [`KMALLOC_ALIGN`].
    pub fn kmalloc(&mut self, size: usize) -> Result<NonNull<u8>, AllocError> {
        self.alloc(size, KMALLOC_ALIGN)
    }

    /// `kfree` of seed 002: give back a buffer from `kmalloc`.
    pub fn kfree(&mut self, ptr: NonNull<u8>) -> Result<(), AllocError> {
        self.free(ptr)
    }

    /// The bytes the caller asked for when `ptr` was allocated.
    pub fn size_of(&self, ptr: NonNull<u8>) -> Result<usize, AllocError> {
        let (_, _, h) = self.lookup(ptr.as_ptr() as usize)?;
        // SAFETY: lookup validated the header.
        Ok(unsafe { (*h).size })
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
    fn requested_rounded(&self) -> usize {
        // Sum of buffer sizes rounded to a word, from a walk (exact) — the
        // counter keeps the unrounded sum, so recompute on demand.
        let mut sum = 0;
        self.for_each_block(&mut |b| {
            if let Block::Super { size, .. } = b {
                sum += align_up(size, WORD).unwrap_or(size);
            }
        });
        sum
    }

    /// The gaps in address order, as (start, length).
    pub fn for_each_gap(&self, f: &mut dyn FnMut(usize, usize)) {
        // SAFETY: the address tree holds valid gaps and `f` cannot reach it.
        unsafe {
            tree::walk::<ByAddr>(self.by_addr, &mut |g| {
                f(g as usize, gap_len(g));
                true
            });
        }
    }

    /// Walk every block of every region in address order (regions in table
    /// order). Stops a region's walk at the first malformed block.
    fn for_each_block(&self, f: &mut dyn FnMut(Block)) {
        for r in self.regions.as_slice() {
            let mut x = r.address;
            while x < r.end() {
                // SAFETY: x lies inside the region; each step moves to the
                // next block start, never past the region's end.
                let w = unsafe { (x as *const usize).read() };
                let (b, next) = match w & TAG_MASK {
                    TAG_GAP => (
                        Block::Gap {
                            start: x,
                            len: w & !TAG_MASK,
                        },
                        x + (w & !TAG_MASK),
                    ),
                    TAG_SUPER | TAG_FRONT => {
                        let front = if w & TAG_MASK == TAG_FRONT {
                            w & !TAG_MASK
                        } else {
                            0
                        };
                        let h = x.saturating_add(front);
                        if h.saturating_add(HEADER_SIZE) > r.end() {
                            f(Block::Bad { at: x });
                            break;
                        }
                        // SAFETY: the header lies inside the region (checked).
                        let hdr = unsafe { (h as *const Superbuffer).read() };
                        let extent = hdr.tag & !TAG_MASK;
                        if hdr.tag & TAG_MASK != TAG_SUPER || hdr.front != front {
                            f(Block::Bad { at: x });
                            break;
                        }
                        (
                            Block::Super {
                                start: x,
                                extent,
                                front,
                                size: hdr.size,
                                ok: hdr.check == check_word(h, extent, hdr.size),
                            },
                            x.saturating_add(extent),
                        )
                    }
                    _ => {
                        f(Block::Bad { at: x });
                        break;
                    }
                };
                if next <= x || next > r.end() {
                    f(Block::Bad { at: x });
                    break;
                }
                f(b);
                x = next;
            }
        }
    }

    /// Integrity check: both trees are valid AVL trees over the same gaps;
    /// gaps are in bounds, long enough, never touching (fully merged); every
    /// region is tiled exactly by gaps and well-formed superbuffers; the
    /// counters match; while poisoning, every gap past its header still
    /// holds the poison.
    pub fn check(&self) -> Result<(), GapTreeFault> {
        let limit = self.size / GAP_SIZE + 1;
        // SAFETY: the trees hold valid gaps (what we are checking; the walk
        // is bounded by `limit` so a cycle cannot hang it).
        let (na, nl) = unsafe {
            (
                tree::check::<ByAddr>(self.by_addr, limit).map_err(GapTreeFault::Tree)?,
                tree::check::<ByLen>(self.by_len, limit).map_err(GapTreeFault::Tree)?,
            )
        };
        if na != self.gaps || nl != self.gaps {
            return Err(GapTreeFault::TreeSizes);
        }
        let unit = self.unit();
        let mut prev_end = 0usize;
        let mut err = None;
        let mut gap_sum = 0;
        // SAFETY: as above.
        unsafe {
            tree::walk::<ByAddr>(self.by_addr, &mut |g| {
                let (s, len) = (g as usize, gap_len(g));
                let e = s + len;
                let in_region = self.regions.contain(s, e);
                let found = tree::lower_bound::<ByLen>(self.by_len, (len, s));
                err = if (*g).tag & TAG_MASK != TAG_GAP {
                    Some(GapTreeFault::GapTag)
                } else if len < GAP_SIZE || !len.is_multiple_of(unit) {
                    Some(GapTreeFault::GapTooShort)
                } else if !in_region {
                    Some(GapTreeFault::GapOutsideRegions)
                } else if s < prev_end {
                    Some(GapTreeFault::GapsOverlap)
                } else if s == prev_end {
                    Some(GapTreeFault::GapsNotMerged)
                } else if found != g {
                    Some(GapTreeFault::GapNotInLengthTree)
                } else {
                    None
                };
                prev_end = e;
                gap_sum += len;
                err.is_none()
            });
        }
        if let Some(e) = err {
            return Err(e);
        }
        if gap_sum != self.free {
            return Err(GapTreeFault::FreeCounter);
        }
        let (mut walked_free, mut walked_used, mut supers, mut req) = (0, 0, 0, 0);
        let mut bad = None;
        self.for_each_block(&mut |b| match b {
            Block::Gap { len, .. } => walked_free += len,
            Block::Super {
                extent,
                front,
                size,
                ok,
                ..
            } => {
                if !ok {
                    bad = Some(GapTreeFault::SuperCheckWord);
                } else if extent < front.saturating_add(HEADER_SIZE).saturating_add(size)
                    || extent < GAP_SIZE
                {
                    bad = Some(GapTreeFault::SuperTooShort);
                } else if !extent.is_multiple_of(unit) {
                    bad = Some(GapTreeFault::SuperNotUnitMultiple);
                }
                walked_used += extent;
                supers += 1;
                req += size;
            }
            Block::Bad { .. } => bad = Some(GapTreeFault::MalformedBlock),
        });
        if let Some(e) = bad {
            return Err(e);
        }
        if walked_free != self.free || walked_free + walked_used != self.size {
            return Err(GapTreeFault::RegionsNotTiled);
        }
        if supers != self.superbuffers || req != self.requested {
            return Err(GapTreeFault::SuperCounters);
        }
        if self.poison {
            let mut written = None;
            self.for_each_gap(&mut |g, len| {
                if written.is_none() {
                    // SAFETY: a gap (the trees were verified above).
                    written = unsafe { poison::first_written(g + GAP_META, g + len) }
                        .map(|at| GapTreeFault::Poisoned { block: g, at });
                }
            });
            if let Some(e) = written {
                return Err(e);
            }
        }
        Ok(())
    }

    /// `heapdump` of seed 002: one line `gap [start , end] N bytes` per gap
    /// (end inclusive), then a summary line.
    pub fn heapdump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let mut res = Ok(());
        self.for_each_gap(&mut |s, len| {
            if res.is_ok() {
                res = writeln!(
                    out,
                    "gap [V{:#010x} , V{:#010x}] {} bytes",
                    s,
                    s + len - 1,
                    len
                );
            }
        });
        res?;
        let c = self.counts();
        writeln!(
            out,
            "{} gaps, {} free of {} bytes; {} superbuffers, {} bytes of voids; largest gap {}",
            c.gaps,
            self.free,
            self.size,
            c.superbuffers,
            c.void_bytes,
            self.largest_gap()
        )
    }

    /// Every block in address order: `gap`, `super` (with its voids), one line each.
    pub fn blockdump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let mut res = Ok(());
        self.for_each_block(&mut |b| {
            if res.is_err() {
                return;
            }
            res = match b {
                Block::Gap { start, len } => writeln!(
                    out,
                    "gap   [V{:#010x} , V{:#010x}] {} bytes",
                    start,
                    start + len - 1,
                    len
                ),
                Block::Super {
                    start,
                    extent,
                    front,
                    size,
                    ..
                } => writeln!(
                    out,
                    "super [V{:#010x} , V{:#010x}] {} bytes: buffer {} at V{:#010x}, void {}",
                    start,
                    start + extent - 1,
                    extent,
                    size,
                    start + front + HEADER_SIZE,
                    extent - HEADER_SIZE - align_up(size, WORD).unwrap_or(size)
                ),
                Block::Bad { at } => writeln!(out, "bad block at V{:#010x}", at),
            };
        });
        res
    }

    #[cfg(test)]
    fn gaps(&self) -> alloc::vec::Vec<(usize, usize)> {
        let mut v = alloc::vec::Vec::new();
        self.for_each_gap(&mut |s, l| v.push((s, l)));
        v
    }
}

/// One block, as `for_each_block` sees it.
enum Block {
    Gap {
        start: usize,
        len: usize,
    },
    Super {
        start: usize,
        extent: usize,
        front: usize,
        size: usize,
        ok: bool,
    },
    Bad {
        at: usize,
    },
}

/// # Safety
/// `g` must be a valid gap.
unsafe fn gap_len(g: *mut Gap) -> usize {
    // SAFETY: the caller passes a valid gap.
    unsafe { (*g).tag & !TAG_MASK }
}

fn check_word(h: usize, extent: usize, size: usize) -> usize {
    MAGIC ^ h ^ extent.rotate_left(7) ^ size.rotate_left(13)
}

impl Allocator for GapTreeHeap {
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        let align = if request.alignment == 0 {
            KMALLOC_ALIGN
        } else {
            request.alignment
        };
        let p = self.alloc(request.size, align)?;
        Ok(Range {
            address: p.as_ptr() as usize,
            size: request.size,
            alignment: align,
        })
    }
    fn release(&mut self, address: usize) -> Result<(), AllocError> {
        let p = NonNull::new(address as *mut u8).ok_or(AllocError::InvalidAddress)?;
        self.free(p)
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
        KMALLOC_ALIGN
    }
}

impl FreeSpace for GapTreeHeap {
    const META: usize = GAP_META;
    const MIN_FREE: usize = GAP_SIZE;

    fn poison_flag(&self) -> bool {
        self.poison
    }
    fn store_poison_flag(&mut self, on: bool) {
        self.poison = on;
    }
    unsafe fn insert_free(&mut self, start: usize, end: usize) {
        // SAFETY: forwarded contract.
        unsafe { self.free_block(start, end) }
    }
    unsafe fn free_starts_at(&self, at: usize) -> bool {
        // SAFETY: the address tree holds valid gaps (the caller's contract).
        let right = unsafe { tree::lower_bound::<ByAddr>(self.by_addr, at) };
        !right.is_null() && right as usize == at
    }
    fn each_free(&self, f: &mut dyn FnMut(usize, usize)) {
        self.for_each_gap(f);
    }
    unsafe fn take_from_next(&mut self, end: usize, want: usize) -> Option<usize> {
        // SAFETY: the caller's contract: the gap at `end` is in both trees;
        // the writes stay inside it.
        unsafe {
            let right = tree::lower_bound::<ByAddr>(self.by_addr, end);
            if right.is_null() || right as usize != end || end + gap_len(right) < want {
                return None;
            }
            let gap_end = end + gap_len(right);
            self.by_len = tree::remove::<ByLen>(self.by_len, ByLen::key(right)).0;
            self.by_addr = tree::remove::<ByAddr>(self.by_addr, end).0;
            let new_end = if gap_end - want >= GAP_SIZE {
                let t = want as *mut Gap;
                t.write(Gap {
                    tag: (gap_end - want) | TAG_GAP,
                    by_addr: Links::new(),
                    by_len: Links::new(),
                });
                self.by_addr = tree::insert::<ByAddr>(self.by_addr, t);
                self.by_len = tree::insert::<ByLen>(self.by_len, t);
                want
            } else {
                self.gaps -= 1;
                gap_end
            };
            self.free -= new_end - end;
            Some(new_end)
        }
    }
}

impl HeapBackend for GapTreeHeap {
    fn name(&self) -> &'static str {
        "gaptree"
    }
    unsafe fn add_region(&mut self, start: usize, len: usize) -> Result<(), AllocError> {
        // SAFETY: the caller upholds the contract.
        unsafe { GapTreeHeap::add_region(self, start, len) }
    }
    fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        GapTreeHeap::alloc(self, layout.size(), layout.align())
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
        GapTreeHeap::resize_in_place(self, ptr, layout, new_size)
    }
    fn set_poison(&mut self, on: bool) -> bool {
        GapTreeHeap::set_poison(self, on);
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
            largest_free: self.largest_gap(),
            allocations: self.superbuffers,
        }
    }
    fn check(&self) -> Result<(), HeapCheckError> {
        GapTreeHeap::check(self).map_err(HeapCheckError::GapTree)
    }
    fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        self.heapdump(out)
    }
    fn grow_hint(&self, layout: Layout) -> Option<usize> {
        let need = layout
            .size()
            .saturating_add(layout.align() + HEADER_SIZE + 2 * GAP_SIZE);
        align_up(need, PAGE_SIZE)
    }
    fn region_end(&self) -> usize {
        self.regions.end()
    }
}

#[cfg(test)]
mod tests;
