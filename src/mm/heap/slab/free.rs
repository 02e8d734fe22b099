//! Freeing, checked in O(1) (see `lookup`): a slot goes on its slab's
//! free list, its slab back on the partial list once a quarter of it is
//! free, an empty slab into the class's cache or back to the buddy heap;
//! a buddy block onto the block cache or back to the buddy heap.

use core::alloc::Layout;
use core::ptr::NonNull;

use super::*;

impl SlabBuddy {
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
    pub(super) fn release_slab(&mut self, s: u32, c: usize) {
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
}
