//! The block cache: freed large blocks kept aside for the next request of
//! their scale, the way Linux keeps per-CPU lists of freed pages of orders
//! 0 to 3 in front of its buddy allocator.
//!
//! A request above [`CUTOFF`](super::CUTOFF) bytes takes a buddy block of
//! 8 KiB or more. Freeing such a block merges it with its buddies, and the
//! next request of the same size splits a larger block again: header
//! writes and free-list links over several cold cache lines, each time. A
//! freed block of a scale from [`FIRST_SCALE`] to [`LAST_SCALE`] (4 to
//! 32 KiB) therefore stays a used block of the buddy heap and goes on its
//! scale's small stack (at most [`DEPTH`] blocks); the next request of that
//! scale takes it back with one header write.
//!
//! ```text
//!   free(p), a used block of scale s in 12..=15, stack s not full:
//!       stack[s].push(block)   side table[page of p] = CACHED
//!   allocate(size) for scale s, stack s not empty:
//!       block = stack[s].pop() side table[page] = 0, header: size, alignment
//!   free(p) again:            side table[page of p] = CACHED ─▶ DoubleFree
//! ```
//!
//! The check stays O(1): a cached block's payload is page-aligned (the
//! buddy grid), so the side-table byte of its first page, which every free
//! reads anyway to tell a slab slot from a block, marks it; a second free
//! of it is refused as a double free, a pointer into its first page as an
//! interior one. The cache hoards nothing: an allocation the buddy heap
//! cannot serve first gives every cached block back
//! ([`SlabBuddy::trim`](super::SlabBuddy::trim)), as `heapcheck` does, and
//! with poisoning on, blocks are not cached (a free block must hold the
//! poison for `heapcheck` to verify).

/// The smallest scale cached: one page.
pub const FIRST_SCALE: u32 = 12;
/// The largest scale cached (32 KiB, Linux's "costly order" 3).
pub const LAST_SCALE: u32 = 15;
/// Blocks cached per scale.
pub const DEPTH: usize = 16;
/// Scales cached.
const SCALES: usize = (LAST_SCALE - FIRST_SCALE + 1) as usize;

/// The stacks of cached blocks (buddy offsets), one per scale.
#[derive(Debug)]
pub(super) struct BlockCache {
    at: [[u32; DEPTH]; SCALES],
    len: [u8; SCALES],
}

impl BlockCache {
    /// An empty cache.
    pub(super) const fn new() -> BlockCache {
        BlockCache {
            at: [[0; DEPTH]; SCALES],
            len: [0; SCALES],
        }
    }

    /// The stack of scale `s`, if that scale is cached.
    #[inline(always)]
    fn slot(s: u32) -> Option<usize> {
        let k = s.wrapping_sub(FIRST_SCALE) as usize;
        (k < SCALES).then_some(k)
    }

    /// Take a cached block of scale `s`.
    #[inline(always)]
    pub(super) fn take(&mut self, s: u32) -> Option<u32> {
        let k = Self::slot(s)?;
        let n = self.len[k] as usize;
        if n == 0 {
            return None;
        }
        self.len[k] -= 1;
        Some(self.at[k][(n - 1) % DEPTH])
    }

    /// Keep block `b` of scale `s`; `false` (nothing kept) when the scale
    /// is not cached or its stack is full.
    #[inline(always)]
    pub(super) fn put(&mut self, b: u32, s: u32) -> bool {
        let Some(k) = Self::slot(s) else {
            return false;
        };
        let n = self.len[k] as usize;
        if n >= DEPTH || XOFF {
            return false;
        }
        self.at[k][n] = b;
        self.len[k] += 1;
        true
    }

    /// Take any cached block: `(offset, scale)`, for giving them all back.
    pub(super) fn pop(&mut self) -> Option<(u32, u32)> {
        let k = self.len.iter().position(|&n| n > 0)?;
        self.len[k] -= 1;
        Some((self.at[k][self.len[k] as usize], FIRST_SCALE + k as u32))
    }

    /// Blocks cached now.
    pub(super) fn count(&self) -> usize {
        self.len.iter().map(|&n| n as usize).sum()
    }

    /// Bytes of the blocks cached now.
    pub(super) fn bytes(&self) -> usize {
        self.len
            .iter()
            .enumerate()
            .map(|(k, &n)| (n as usize) << (FIRST_SCALE as usize + k))
            .sum()
    }

    /// The scale of cached block `b`, if it is cached.
    pub(super) fn scale_of(&self, b: u32) -> Option<u32> {
        (0..SCALES)
            .find(|&k| self.at[k][..self.len[k] as usize].contains(&b))
            .map(|k| FIRST_SCALE + k as u32)
    }
}
const XOFF: bool = false;
