//! Finding a pointer's block: the constant-time check every free goes
//! through, and the walk that names what a refused pointer points at.
//!
//! ```text
//!   free(p):  b = p - 9 - origin
//!             side table bit(b) set? ──yes──▶ header at b is genuine:
//!                  │                           free bit ─▶ DoubleFree
//!                  no (rare: a bad free)        used     ─▶ Ok(b, scale)
//!                  ▼
//!             locate(p): descend from the top scale ─▶ OutsideHeap /
//!                        NotPayload / Interior / DoubleFree
//! ```

use core::ptr::NonNull;

use super::{BlockInfo, BuddyHeap, FREE, HEADER_SIZE, HeapError, SCALE_MASK, Scale};

impl BuddyHeap {
    /// The genuine block containing offset `x` (inside `start..end`): start
    /// from the largest aligned region around `x` and descend through split
    /// boundaries, reading only headers the heap wrote. O(scales): used to
    /// name what a refused pointer points at, and by reports.
    pub(super) fn locate(&self, x: u32) -> Option<(u32, u32)> {
        let mut k = self.max_scale;
        let mut r;
        loop {
            r = x & !((1u32 << k) - 1);
            if r >= self.start && r + (1 << k) <= self.end {
                break;
            }
            if k == self.min_scale {
                return None;
            }
            k -= 1;
        }
        loop {
            // SAFETY: `r` is the start of a region tiled by genuine blocks, so
            // a genuine header sits there.
            let tag = unsafe { (*self.hdr(r)).tag } & SCALE_MASK;
            let s = tag as u32;
            if s == k {
                return Some((r, k));
            }
            if s > k || s < self.min_scale {
                return None;
            }
            // Split region: descend to the half holding `x`; the lower half
            // starts with the same header.
            while k > s {
                k -= 1;
                if x >= r + (1 << k) {
                    r += 1 << k;
                    break;
                }
            }
        }
    }

    /// The used block whose payload `ptr` is: `(offset, scale, alignment)`.
    /// Constant time when `ptr` is a genuine payload (one side-table bit,
    /// one header); a refused pointer takes the slower walk that says why.
    #[inline(always)]
    pub(super) fn classify(&self, ptr: NonNull<u8>) -> Result<(u32, u32, u32), HeapError> {
        let addr = ptr.addr().get();
        let b = addr
            .wrapping_sub(self.origin.addr())
            .wrapping_sub(HEADER_SIZE);
        if b < self.end as usize && self.is_start(b as u32) {
            let b = b as u32;
            // SAFETY: the side table says a genuine block starts at `b`.
            let h = unsafe { self.hdr(b).read() };
            if h.tag & FREE != 0 {
                return Err(HeapError::DoubleFree { addr });
            }
            return Ok((b, h.tag as u32, h.prev));
        }
        Err(self.refusal(addr))
    }

    /// Why `addr` is not the payload of a used block (the side table said
    /// no block starts 9 bytes below it).
    #[cold]
    fn refusal(&self, addr: usize) -> HeapError {
        let x = addr.wrapping_sub(self.origin.addr());
        if x < self.start as usize || x >= self.end as usize {
            return HeapError::OutsideHeap { addr };
        }
        let x = x as u32;
        let Some((b, _)) = self.locate(x) else {
            return HeapError::Corrupt { offset: x };
        };
        // SAFETY: `b` is a genuine block.
        let h = unsafe { self.hdr(b).read() };
        if h.tag & FREE != 0 {
            return HeapError::DoubleFree { addr };
        }
        if x - b < HEADER_SIZE as u32 {
            HeapError::NotPayload { addr }
        } else {
            HeapError::Interior {
                addr,
                payload: self.origin.addr() + b as usize + HEADER_SIZE,
            }
        }
    }

    /// The block `ptr` points into, used or free, if it lies in the heap.
    pub fn block_of(&self, addr: usize) -> Option<BlockInfo> {
        let x = addr.wrapping_sub(self.origin.addr());
        if x < self.start as usize || x >= self.end as usize {
            return None;
        }
        let (b, _) = self.locate(x as u32)?;
        Some(self.info(b))
    }

    pub(super) fn info(&self, b: u32) -> BlockInfo {
        // SAFETY: callers pass genuine block offsets.
        let h = unsafe { self.hdr(b).read() };
        let free = h.tag & FREE != 0;
        let addr = self.origin.addr() + b as usize;
        BlockInfo {
            offset: b,
            addr,
            scale: Scale(h.tag & SCALE_MASK),
            free,
            requested: (!free).then_some(h.next as usize),
            payload: (!free).then_some(addr + HEADER_SIZE),
        }
    }
}
