//! The quick cache: deferred merging of small freed blocks (the kernel
//! heap's, off for the playground and the raw fast path).
//!
//! A checked free of a block of scale 4..=B (16 B .. 2 KiB) does not merge
//! it: the block goes on its scale's cache, a bounded stack of offsets, and
//! the next allocation of that scale pops it, with no split. Programs free
//! and reallocate the same small sizes over and over, so most small frees
//! and allocations skip the merge-then-split round trip.
//!
//! ```text
//!   free(p) ─▶ classify (side table, O(1)) ─▶ on cache[s]? ─yes─▶ DoubleFree
//!                                               │ no
//!              cache[s] full, poisoning, or s > B? ─yes─▶ release (merge)
//!                                               │ no
//!                                               ▼
//!                                   link on cache[s]
//!   alloc(s) ─▶ cache[s] not empty? ─yes─▶ pop, rewrite the header
//!                     │ no
//!                     ▼
//!               take (split) ─▶ none? ─▶ flush every cache (merge) ─▶ take
//! ```
//!
//! A cached block stays a *used* block in the buddy view (its tag and
//! side-table bit unchanged), so no merge or resize touches it. Its header
//! links it into its scale's cache list and holds alignment 0, which no
//! live block has: a second free of it reads that one header (the read
//! every free does anyway) and is refused as a double free, in constant
//! time. Each list holds at most [`CACHE_BYTES`] bytes; `check` walks the
//! lists and finds every marked block on one. The caches are flushed
//! before an allocation fails (so no request fails that a merge would
//! serve) and when poisoning is turned on (poisoning bypasses the cache).
//!
//! ```text
//!   cached block header:  next = next cached block of the scale (NIL at the end)
//!                         prev = 0 (the cache mark)   tag = scale (used)
//! ```

use super::{BuddyHeap, Header, NIL, SMALLEST_SCALE};

/// How many scales the cache covers, from scale 4 up (16 B .. 2 KiB blocks).
pub const CACHE_SCALES: usize = 8;
/// The most bytes each scale's cache holds: 262144 blocks of 16 bytes down
/// to 2048 of 2 KiB, 32 MiB over all eight scales (the whole heap may sit
/// in the cache: it is flushed before any request fails). With 256 KiB per
/// scale, the real-program workload still merged over 40% of its frees. Programs free small
/// blocks in bursts of thousands (a parsed document dropped) and allocate
/// them again in bursts: a shallow cache would overflow and merge anyway.
pub const CACHE_BYTES: usize = 4 << 20;

/// The most blocks the cache of scale `s` holds (0 for a scale it does
/// not cover).
pub const fn cache_limit(s: u32) -> usize {
    match row(s) {
        Some(_) => CACHE_BYTES >> s,
        None => 0,
    }
}
/// The alignment field of a cached block's header (no live block has it).
pub(super) const CACHED: u32 = 0;

/// The per-scale lists of freed, unmerged blocks.
pub(super) struct QuickCache {
    /// Newest cached block of each scale (index = scale - 4), NIL if none.
    pub(super) head: [u32; CACHE_SCALES],
    /// How many blocks each list holds.
    pub(super) len: [u32; CACHE_SCALES],
    /// Whether frees may push (allocations pop whatever is there).
    on: bool,
}

impl QuickCache {
    /// An empty, switched-off cache.
    pub(super) const fn off() -> QuickCache {
        QuickCache {
            head: [NIL; CACHE_SCALES],
            len: [0; CACHE_SCALES],
            on: false,
        }
    }
}

/// The cache row of scale `s`, if the cache covers it.
#[inline(always)]
const fn row(s: u32) -> Option<usize> {
    let i = s.wrapping_sub(SMALLEST_SCALE as u32) as usize;
    if i < CACHE_SCALES { Some(i) } else { None }
}

impl BuddyHeap {
    /// Switch the quick cache on or off (off flushes it). The kernel heap
    /// turns it on; a heap starts with it off.
    pub fn set_quick_cache(&mut self, on: bool) {
        if !on {
            self.flush_cache();
        }
        self.cache.on = on;
    }

    /// Whether small frees go to the quick cache.
    pub fn quick_cache(&self) -> bool {
        self.cache.on
    }

    /// Put the used block `b` of scale `s` on the cache instead of merging
    /// it; false (nothing done) when the cache is off, full for `s`, does not
    /// cover `s`, or poisoning is on.
    #[inline(always)]
    pub(super) fn cache_push(&mut self, b: u32, s: u32) -> bool {
        if !self.cache.on || self.poison {
            return false;
        }
        let Some(i) = row(s) else { return false };
        if self.cache.len[i] as usize >= CACHE_BYTES >> s {
            return false;
        }
        // SAFETY: `b` is a genuine used block of this heap; its header is ours.
        unsafe {
            self.hdr(b).write(Header {
                next: self.cache.head[i],
                prev: CACHED,
                tag: s as u8,
            })
        };
        self.cache.head[i] = b;
        self.cache.len[i] += 1;
        true
    }

    /// The most recently cached block of scale `s`, taken off the cache
    /// (its header still holds the mark: the caller rewrites it).
    #[inline(always)]
    pub(super) fn cache_pop(&mut self, s: u32) -> Option<u32> {
        let i = row(s)?;
        let b = self.cache.head[i];
        if b == NIL {
            return None;
        }
        // SAFETY: list nodes are genuine cached blocks.
        self.cache.head[i] = unsafe { (*self.hdr(b)).next };
        self.cache.len[i] -= 1;
        Some(b)
    }

    /// Free every cached block into the buddy heap (merging it); returns
    /// how many there were.
    pub fn flush_cache(&mut self) -> usize {
        let mut flushed = 0;
        for i in 0..CACHE_SCALES {
            let s = i as u32 + SMALLEST_SCALE as u32;
            while let Some(b) = self.cache_pop(s) {
                // SAFETY: cached blocks are genuine used blocks of scale `s`.
                unsafe { self.release(b, s) };
                flushed += 1;
            }
        }
        flushed
    }

    /// The cached blocks as `(offset, scale)`, smallest scale first, newest
    /// first within a scale (each list followed at most its length).
    pub fn cached(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..CACHE_SCALES).flat_map(move |i| {
            let s = i as u32 + SMALLEST_SCALE as u32;
            let mut at = self.cache.head[i];
            (0..self.cache.len[i]).map_while(move |_| {
                if at == NIL || at < self.start || at >= self.end {
                    return None;
                }
                let b = at;
                // SAFETY: `at` lies inside the heap's blocks (checked above).
                at = unsafe { (*self.hdr(b)).next };
                Some((b, s))
            })
        })
    }

    /// How many blocks the quick cache holds.
    pub fn cached_blocks(&self) -> usize {
        self.cache.len.iter().map(|&n| n as usize).sum()
    }

    /// Bytes of the blocks on the quick cache (free for new allocations of
    /// their scale, not merged yet).
    pub fn cached_bytes(&self) -> usize {
        (0..CACHE_SCALES)
            .map(|i| (self.cache.len[i] as usize) << (i + SMALLEST_SCALE as usize))
            .sum()
    }
}
