//! Allocation: a slot of the request's class from the class's first
//! partial slab (a new slab when there is none), a cached block for a
//! request over [`CUTOFF`] bytes, else a buddy block; and how much growth
//! a request needs.

use core::alloc::Layout;
use core::ptr::NonNull;

use super::*;

impl SlabBuddy {
    /// Allocate for `layout`: a slot of its class when it has one, else a
    /// buddy block (also when no slab can be made). Errors as the buddy
    /// heap's `alloc_layout`; the heap is unchanged after one.
    #[inline(always)]
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
}
