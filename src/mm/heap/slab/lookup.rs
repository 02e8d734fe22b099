//! What an address is, from the side table in O(1): a slot of a slab (its
//! class, slab and index, live or not), a cached block's first page, or
//! the buddy heap's business; and why an address that is no live slot is
//! refused.
//!
//! ```text
//!   page = (p - grid) >> 12 ── byte 0 ─────────▶ the buddy heap's (its own O(1) check)
//!                          ├── byte CACHED ────▶ DoubleFree (the payload) / Interior
//!                          └── class c ──▶ slab = page & !(slab pages - 1)
//!        offset a multiple of the slot size, below the slots' end?  no ─▶ Interior / NotPayload
//!        the slot's bit set?                                       no ─▶ DoubleFree
//!        the layout fits the slot?                                 no ─▶ LayoutMismatch
//! ```

use core::alloc::Layout;
use core::ptr::NonNull;

use super::*;

impl SlabBuddy {
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

    /// The slab slot `ptr` is, if it lies in a slab page: `Some(Ok((slab,
    /// class, slot)))` for a live slot allocated with a layout of that class,
    /// `Some(Err(why))` for any other address in a slab, `None` outside
    /// slabs (the buddy heap's business). O(1).
    #[inline(always)]
    pub(super) fn slot_of(
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

    /// Whether `addr` lies in the first page of a block the block cache
    /// holds: a block freed and kept for reuse, which the buddy heap still
    /// counts as used. O(1): one byte of the side table.
    pub fn in_cached_block(&self, addr: usize) -> bool {
        matches!(self.page_at(addr.wrapping_sub(self.grid)), Page::Cached)
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
