//! Building a buddy heap over a region or an arena, and growing it: new
//! memory becomes the largest aligned free blocks that fit, which merge
//! with their free buddies below.

use super::*;

impl BuddyHeap {
    /// A heap over `len` bytes at `base`: blocks of `2^min_scale..=2^max_scale`
    /// bytes cover the front of the region, the side table of block starts
    /// (see [`table_bytes`]) takes its last bytes. [`BuddyHeap::region_for`]
    /// says how long a region must be for a given length of blocks. The
    /// blocks are the largest aligned ones that fit, so the length need not
    /// be a power of two; a tail below one minimum block is left unused.
    ///
    /// # Safety
    /// `base..base+len` must be valid, writable memory used by nothing else for
    /// as long as the heap (or any pointer it hands out) lives.
    pub unsafe fn new(
        base: *mut u8,
        len: usize,
        min_scale: u8,
        max_scale: u8,
    ) -> Result<BuddyHeap, HeapError> {
        check_scales(min_scale, max_scale)?;
        // The largest `blocks` with blocks + table_bytes(blocks) <= len.
        let table = len.div_ceil((8usize << min_scale) + 1);
        let blocks = len - table;
        if base.is_null() || len >= OFFSET_LIMIT {
            return Err(HeapError::BadRegion);
        }
        // SAFETY: the table is the region's last `table` bytes, the blocks
        // its first `blocks`: the caller's guarantee covers both.
        unsafe {
            Self::build(
                base.wrapping_add(blocks),
                table,
                base,
                blocks,
                blocks,
                min_scale,
                max_scale,
            )
        }
    }

    /// Bytes of region [`BuddyHeap::new`] needs for `blocks_len` bytes of blocks.
    pub const fn region_for(blocks_len: usize, min_scale: u8) -> usize {
        blocks_len + table_bytes(blocks_len, min_scale)
    }

    /// Bytes at the front of an arena [`BuddyHeap::with_arena`] keeps for the
    /// side table: [`table_bytes`] rounded up to [`MAX_ALIGN`], so the blocks
    /// after it sit on the same grid as the arena's base would.
    pub const fn arena_table_bytes(arena_len: usize, min_scale: u8) -> usize {
        table_bytes(arena_len, min_scale).next_multiple_of(MAX_ALIGN)
    }

    /// A heap over an arena of `arena_len` bytes at `base` of which only the
    /// first `backed` bytes are memory now; `add_backed` adds more later. The
    /// side table of block starts, sized for the whole arena, takes the
    /// arena's first [`BuddyHeap::arena_table_bytes`] bytes, so `backed`
    /// must be at least that; the blocks follow it.
    ///
    /// # Safety
    /// `base..base+backed` must be valid, writable memory used by nothing else
    /// while the heap lives; the rest of the arena is not touched until it is
    /// handed over with `add_backed`.
    pub unsafe fn with_arena(
        base: *mut u8,
        arena_len: usize,
        backed: usize,
        min_scale: u8,
        max_scale: u8,
    ) -> Result<BuddyHeap, HeapError> {
        check_scales(min_scale, max_scale)?;
        let table = Self::arena_table_bytes(arena_len, min_scale);
        if base.is_null() || backed > arena_len || backed < table || arena_len >= OFFSET_LIMIT {
            return Err(HeapError::BadRegion);
        }
        // SAFETY: the table is the first `table` backed bytes, the blocks'
        // backed part the rest: the caller's guarantee covers both.
        unsafe {
            Self::build(
                base,
                table,
                base.wrapping_add(table),
                arena_len - table,
                backed - table,
                min_scale,
                max_scale,
            )
        }
    }

    /// The heap over a side table of `table_len` bytes at `table` and an
    /// arena of `arena_len` bytes of blocks at `base`, `backed` of them memory.
    ///
    /// # Safety
    /// The table and the backed part of the arena are valid, writable,
    /// disjoint memory used by nothing else while the heap lives.
    unsafe fn build(
        table: *mut u8,
        table_len: usize,
        base: *mut u8,
        arena_len: usize,
        backed: usize,
        min_scale: u8,
        max_scale: u8,
    ) -> Result<BuddyHeap, HeapError> {
        let skew = (base.addr() + HEADER_SIZE) & (MAX_ALIGN - 1);
        if base.is_null() || backed > arena_len || arena_len > OFFSET_LIMIT - skew {
            return Err(HeapError::BadRegion);
        }
        let min_block = 1usize << min_scale;
        let start = (skew + min_block - 1) & !(min_block - 1);
        let mut heap = BuddyHeap {
            origin: base.wrapping_sub(skew),
            heads: [NIL; SCALE_SLOTS],
            nonempty: 0,
            min_scale: min_scale as u32,
            max_scale: max_scale as u32,
            start: start as u32,
            end: start as u32,
            backed: skew as u32,
            limit: (skew + arena_len) as u32,
            // SAFETY: the caller's guarantee for the table.
            starts: unsafe { Starts::new(table, table_len) },
            poison: cfg!(debug_assertions),
        };
        debug_assert!(heap.starts.capacity() >= (arena_len >> min_scale));
        // SAFETY: the caller guarantees the first `backed` bytes.
        unsafe { heap.add_backed(backed)? };
        Ok(heap)
    }

    /// Hand the next `bytes` of the arena (right after the backed part) to the
    /// heap as free blocks, which merge with their free buddies. Fails, changing
    /// nothing, when the arena has less room left.
    ///
    /// # Safety
    /// Those bytes must now be valid, writable memory used by nothing else.
    pub unsafe fn add_backed(&mut self, bytes: usize) -> Result<(), HeapError> {
        let room = (self.limit - self.backed) as usize;
        if bytes > room {
            return Err(HeapError::ArenaFull {
                requested: bytes,
                room,
            });
        }
        self.backed += bytes as u32;
        let min_block = 1u32 << self.min_scale;
        let new_end = self.backed & !(min_block - 1);
        while self.end < new_end {
            let at = self.end;
            let align_scale = at.trailing_zeros(); // 32 for offset 0
            let fit_scale = 31 - (new_end - at).leading_zeros();
            let s = align_scale.min(fit_scale).min(self.max_scale);
            // Write the block as used first, make it part of the heap, then free
            // it: its buddies below are genuine blocks, none above is in range.
            // SAFETY: [at, at + 2^s) lies in the newly backed memory.
            unsafe {
                self.hdr(at).write(Header {
                    next: 0,
                    prev: 1,
                    tag: s as u8,
                });
                self.end = at + (1 << s);
                self.mark_start(at);
                self.release(at, s);
            }
        }
        Ok(())
    }
}
