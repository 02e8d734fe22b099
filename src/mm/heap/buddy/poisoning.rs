//! Poisoning: freed payloads filled with [`POISON`] so that `check` can
//! name a block written after its free.

use super::*;

impl BuddyHeap {
    /// Turn poisoning on or off. Turning it on poisons every free block
    /// now, so `check` can verify all of them from here on.
    pub fn set_poison(&mut self, on: bool) {
        if on && !self.poison {
            for s in self.min_scale..=self.max_scale {
                let mut at = self.heads[s as usize];
                while at != NIL {
                    // SAFETY: list nodes are free blocks of scale `s` in the heap.
                    unsafe {
                        self.fill_poison(at + HEADER_SIZE as u32, at + (1 << s));
                        at = (*self.hdr(at)).next;
                    }
                }
            }
        }
        self.poison = on;
    }

    /// Fill offsets `from..to` with [`POISON`].
    ///
    /// # Safety
    /// The range must lie inside the heap's blocks.
    pub(super) unsafe fn fill_poison(&self, from: u32, to: u32) {
        // SAFETY: the caller guarantees the range is heap memory.
        unsafe {
            core::ptr::write_bytes(
                self.origin.wrapping_add(from as usize),
                POISON,
                (to - from) as usize,
            )
        };
    }
}
