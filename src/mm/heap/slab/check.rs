//! The slabs' integrity check: every slab is a used buddy block of its
//! class's scale marked on all its pages, its bitmap agrees with its count
//! and its free list, the partial lists hold exactly the slabs with free
//! slots, and (poisoning on) every free slot still holds the poison.
//!
//! ```text
//!   side table ─▶ each slab ─▶ buddy block? pages marked? used = popcount(bits)?
//!                           └▶ free list: slots < fresh, bit clear, no repeat,
//!                              free + used = fresh; bits >= fresh clear; poison
//!   partial[c] ─▶ links, back links, count = slabs of c with a free slot
//! ```

use core::fmt;

use super::{CACHED, CLASS_COUNT, CLASSES, MAX_SLOTS, NIL, PAGE_SHIFT, SlabBuddy};
use crate::mm::heap::buddy::{CheckReport, POISON};
use crate::mm::heap::fault::HeapCheckError;

/// What a successful slab check counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlabReport {
    /// Live slabs, and the bytes of their buddy blocks.
    pub slabs: usize,
    pub slab_bytes: usize,
    /// Objects handed out from slabs, and the bytes of their slots.
    pub objects: usize,
    pub object_bytes: usize,
    /// Slots on the slabs' free lists or never handed out.
    pub free_slots: usize,
    /// Empty slabs kept (at most one per class).
    pub cached_empty: usize,
    /// Freed blocks kept in the block cache, and their bytes.
    pub cached_blocks: usize,
    pub cached_block_bytes: usize,
}

/// What the slab check found wrong (addresses are of the slab's payload,
/// or of the slot for a poisoned one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlabFault {
    /// The side table marks a slab where the buddy heap has no used block
    /// of the slab's size.
    NotABlock { slab: usize },
    /// A page of the slab is not marked with its class.
    PagesUnmarked { slab: usize },
    /// The bitmap's count of live slots differs from the slab's count.
    BitmapCount {
        slab: usize,
        bits: usize,
        used: usize,
    },
    /// A bit is set for a slot never handed out, or `fresh` is past the end.
    BadFresh { slab: usize },
    /// The free list holds a live, fresh or repeated slot, or the wrong
    /// number of slots.
    BadFreeList { slab: usize },
    /// An empty slab was kept other than as its class's one cached slab.
    EmptyKept { slab: usize },
    /// A partial list links a slab of another class, a full one, or has a
    /// wrong back link.
    BadPartialList { class_size: u32 },
    /// A partial list misses slabs with free slots.
    PartialCount {
        class_size: u32,
        listed: usize,
        partial: usize,
    },
    /// The heap's counters differ from the slabs found.
    Counters { slabs: usize, objects: usize },
    /// A page marked as a cached block's is not one (no used buddy block
    /// of a cached scale starts there, or the cache does not hold it), or
    /// the cache holds a block whose page is not marked.
    BadCachedBlock { addr: usize },
    /// A free slot's bytes after its link are not the poison: the slot at
    /// `slot` was written at `at` after its free (poisoning on).
    Poisoned { slot: usize, at: usize },
}

impl fmt::Display for SlabFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SlabFault::NotABlock { slab } => {
                write!(f, "slab {slab:#x} is no used buddy block of its size")
            }
            SlabFault::PagesUnmarked { slab } => {
                write!(f, "slab {slab:#x}: a page is not marked in the side table")
            }
            SlabFault::BitmapCount { slab, bits, used } => {
                write!(f, "slab {slab:#x}: {bits} bits set, {used} slots counted")
            }
            SlabFault::BadFresh { slab } => {
                write!(f, "slab {slab:#x}: a slot never handed out is marked live")
            }
            SlabFault::BadFreeList { slab } => write!(f, "slab {slab:#x}: free list wrong"),
            SlabFault::EmptyKept { slab } => {
                write!(f, "slab {slab:#x} is empty but kept (not the cached one)")
            }
            SlabFault::BadPartialList { class_size } => {
                write!(f, "partial list of class {class_size}: bad link")
            }
            SlabFault::PartialCount {
                class_size,
                listed,
                partial,
            } => write!(
                f,
                "partial list of class {class_size}: {listed} listed, {partial} slabs with free slots"
            ),
            SlabFault::Counters { slabs, objects } => write!(
                f,
                "counters disagree: {slabs} slabs and {objects} objects found"
            ),
            SlabFault::BadCachedBlock { addr } => {
                write!(f, "block cache: {addr:#x} is not a cached block")
            }
            SlabFault::Poisoned { slot, at } => write!(
                f,
                "free slot at {slot:#x} written after its free, at {at:#x} (use after free)"
            ),
        }
    }
}

impl SlabBuddy {
    /// Verify the buddy heap (its own `check`) and then every slab (see the
    /// module docs): the buddy heap's report and the slabs'.
    pub fn check(&self) -> Result<(CheckReport, SlabReport), HeapCheckError> {
        let buddy = self.buddy.check().map_err(HeapCheckError::Buddy)?;
        let slabs = self.check_slabs().map_err(HeapCheckError::Slab)?;
        Ok((buddy, slabs))
    }

    /// The slabs' half of [`check`](Self::check).
    pub fn check_slabs(&self) -> Result<SlabReport, SlabFault> {
        let mut rep = SlabReport::default();
        let mut partial = [0usize; CLASSES.len()];
        let mut page = 0;
        while page < self.pages {
            // SAFETY: inside the table.
            let c = unsafe { self.table_at(page).read() } as usize;
            if c == 0 {
                page += 1;
                continue;
            }
            let slab = self.grid + (page << PAGE_SHIFT);
            if c == CACHED as usize {
                self.check_cached(page, &mut rep)?;
                page += 1;
                continue;
            }
            if c >= CLASS_COUNT {
                return Err(SlabFault::NotABlock { slab });
            }
            let k = &CLASSES[c];
            let pages = k.slab_bytes() >> PAGE_SHIFT;
            let s = (page << PAGE_SHIFT) as u32;
            // The block: used, of the slab's scale, its payload here.
            let block = self.buddy.block_of(slab);
            let genuine =
                block.is_some_and(|b| !b.free && b.scale.0 == k.scale && b.payload == Some(slab));
            if !genuine || !(s as usize).is_multiple_of(k.slab_bytes()) {
                return Err(SlabFault::NotABlock { slab });
            }
            for p in page..page + pages {
                // SAFETY: the slab's pages are inside the table (its block is).
                if p >= self.pages || unsafe { self.table_at(p).read() } as usize != c {
                    return Err(SlabFault::PagesUnmarked { slab });
                }
            }
            self.check_one(s, c, &mut rep)?;
            // SAFETY: a genuine slab of class `c`.
            let (used, listed) =
                unsafe { ((*self.meta(s, c)).used as u32, (*self.meta(s, c)).listed) };
            if listed != 0 {
                partial[c] += 1;
            } else if used <= k.relist && self.empty[c] != s {
                return Err(SlabFault::BadPartialList { class_size: k.size });
            }
            rep.slabs += 1;
            rep.slab_bytes += k.slab_bytes();
            page += pages;
        }
        for (c, &want) in partial.iter().enumerate().take(CLASS_COUNT).skip(1) {
            let listed = self.check_partial_list(c)?;
            if listed != want {
                return Err(SlabFault::PartialCount {
                    class_size: CLASSES[c].size,
                    listed,
                    partial: want,
                });
            }
        }
        if rep.cached_empty != self.cached_empty() {
            let slab = self
                .empty
                .iter()
                .find(|&&s| s != NIL)
                .map_or(0, |&s| s as usize);
            return Err(SlabFault::EmptyKept {
                slab: self.grid + slab,
            });
        }
        if rep.cached_blocks != self.blocks.count() {
            return Err(SlabFault::BadCachedBlock { addr: self.grid });
        }
        if rep.slabs != self.slabs || rep.objects != self.objects {
            return Err(SlabFault::Counters {
                slabs: rep.slabs,
                objects: rep.objects,
            });
        }
        Ok(rep)
    }

    /// The page `page` is marked as a cached block's first page: the block
    /// cache holds a block there, and the buddy heap has a used block of
    /// that scale whose payload is the page.
    fn check_cached(&self, page: usize, rep: &mut SlabReport) -> Result<(), SlabFault> {
        let addr = self.grid + (page << PAGE_SHIFT);
        let b = (page << PAGE_SHIFT) as u32;
        let scale = self
            .blocks
            .scale_of(b)
            .ok_or(SlabFault::BadCachedBlock { addr })?;
        let block = self.buddy.block_of(addr);
        if !block.is_some_and(|k| !k.free && k.scale.0 as u32 == scale && k.payload == Some(addr)) {
            return Err(SlabFault::BadCachedBlock { addr });
        }
        rep.cached_blocks += 1;
        rep.cached_block_bytes += 1 << scale;
        Ok(())
    }

    /// One slab's bitmap, counts, free list and poison.
    fn check_one(&self, s: u32, c: usize, rep: &mut SlabReport) -> Result<(), SlabFault> {
        let k = &CLASSES[c];
        let slab = self.grid + s as usize;
        // SAFETY: `s` is a genuine slab of class `c` (checked by the caller).
        let m = unsafe { &*self.meta(s, c) };
        let (fresh, used) = (m.fresh as usize, m.used as usize);
        if fresh > k.slots as usize {
            return Err(SlabFault::BadFresh { slab });
        }
        let bits: usize = m.bits.iter().map(|w| w.count_ones() as usize).sum();
        if bits != used {
            return Err(SlabFault::BitmapCount { slab, bits, used });
        }
        let live = |i: usize| m.bits[i / 64] & (1 << (i % 64)) != 0;
        if (fresh..MAX_SLOTS).any(live) {
            return Err(SlabFault::BadFresh { slab });
        }
        if used == 0 {
            // Only the class's one cached empty slab, as new.
            if self.empty[c] != s || m.listed != 0 || m.free != NIL || fresh != 0 {
                return Err(SlabFault::EmptyKept { slab });
            }
            rep.cached_empty += 1;
        }
        // The free list: slots below `fresh`, not live, each once, and
        // exactly the ones not live.
        let mut seen = [0u64; MAX_SLOTS / 64];
        let mut listed = 0;
        let mut i = m.free;
        while i != NIL {
            let ix = i as usize;
            if ix >= fresh || live(ix) || seen[ix / 64] & (1 << (ix % 64)) != 0 {
                return Err(SlabFault::BadFreeList { slab });
            }
            seen[ix / 64] |= 1 << (ix % 64);
            listed += 1;
            let slot = self.slot_ptr(s, c, i);
            if self.poisoning() {
                // SAFETY: a free slot: its bytes are the heap's.
                let bytes = unsafe { core::slice::from_raw_parts(slot, k.size as usize) };
                if let Some(at) = bytes[4..].iter().position(|&b| b != POISON) {
                    return Err(SlabFault::Poisoned {
                        slot: slot.addr(),
                        at: slot.addr() + 4 + at,
                    });
                }
            }
            // SAFETY: as above: the link is the slot's first 4 bytes.
            i = unsafe { slot.cast::<u32>().read() };
        }
        if listed + used != fresh {
            return Err(SlabFault::BadFreeList { slab });
        }
        rep.objects += used;
        rep.object_bytes += used * k.size as usize;
        rep.free_slots += k.slots as usize - used;
        Ok(())
    }

    /// Walk class `c`'s partial list: slabs of class `c` with a free slot,
    /// back links right, no longer than the slabs there are. Its length.
    fn check_partial_list(&self, c: usize) -> Result<usize, SlabFault> {
        let k = &CLASSES[c];
        let bad = SlabFault::BadPartialList { class_size: k.size };
        let (mut s, mut prev, mut n) = (self.partial[c], NIL, 0);
        while s != NIL {
            let page = s as usize >> PAGE_SHIFT;
            // SAFETY: inside the table (checked first).
            if page >= self.pages || unsafe { self.table_at(page).read() } as usize != c {
                return Err(bad);
            }
            if !(s as usize).is_multiple_of(k.slab_bytes()) || n > self.slabs {
                return Err(bad);
            }
            // SAFETY: the side table says a slab of class `c` is here.
            let m = unsafe { &*self.meta(s, c) };
            if m.prev != prev || m.used as u32 >= k.slots || m.listed != 1 {
                return Err(bad);
            }
            n += 1;
            prev = s;
            s = m.next;
        }
        Ok(n)
    }
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
