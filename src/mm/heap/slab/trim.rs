//! Giving cached memory back: the empty slabs each class keeps and the
//! block cache's blocks go back to the buddy heap when it is short (and
//! before `heapcheck`), so the caches hoard nothing.

use super::*;

impl SlabBuddy {
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
    pub(super) fn release_blocks(&mut self) -> usize {
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
}
