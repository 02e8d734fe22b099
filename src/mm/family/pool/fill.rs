//! Freed slots filled with a byte (the kernel heap's poisoning): while a
//! fill is set, a freed object's bytes between its prefix and its guard,
//! and a pool block given back, hold it; [`first_unfilled`](PoolAllocator::first_unfilled)
//! finds the first free byte written since.

use super::{MAX_POOL_INDEX, MIN_POOL_INDEX, POSTFIX, PREFIX, PoolAllocator, in_pool, object_size};
use crate::mm::family::Allocator;
use core::ptr;

impl<P: Allocator> PoolAllocator<P> {
    /// Fill freed objects with `fill` from now on (`None`: stop). Turning
    /// it on fills every free slot of every pool; a pool block given back
    /// to the parent is filled whole after the parent took it, so the
    /// parent must keep no bookkeeping inside the blocks it hands out (the
    /// kernel heap's page arena keeps its bits apart).
    pub fn set_freed_fill(&mut self, fill: Option<u8>) {
        if let Some(b) = fill
            && self.freed_fill.is_none()
        {
            self.for_each_free_slot(&mut |from, len| {
                // SAFETY: a free slot's bytes between its prefix and its
                // guard belong to the pool and no object uses them.
                unsafe { ptr::write_bytes(from, b, len) }
            });
        }
        self.freed_fill = fill;
    }

    /// The fill set by [`PoolAllocator::set_freed_fill`].
    pub fn freed_fill(&self) -> Option<u8> {
        self.freed_fill
    }

    /// While a fill is set: the first free slot (its object address) with
    /// a byte between prefix and guard that is not the fill, and that
    /// byte's address; `None` when every free slot holds the fill.
    pub fn first_unfilled(&self) -> Option<(usize, usize)> {
        let b = self.freed_fill?;
        let mut found = None;
        self.for_each_free_slot(&mut |from, len| {
            if found.is_none() {
                // SAFETY: a free slot's bytes belong to the pool.
                let bytes = unsafe { core::slice::from_raw_parts(from, len) };
                let from = from.addr();
                found = first_other(bytes, b).map(|i| (from, from + i));
            }
        });
        found
    }

    /// `f(from, len)` for the bytes between prefix and guard of every free
    /// slot of every pool (`from` derived from the pool's pointer).
    fn for_each_free_slot(&self, f: &mut dyn FnMut(*mut u8, usize)) {
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            let osize = object_size(i);
            let mut p = self.pools[i];
            // SAFETY: list members are live pools; their slots lie in their block.
            unsafe {
                while !p.is_null() {
                    for s in 0..(*p).bits.len() {
                        if !(*p).bits.test(s) {
                            let slot = (*p).payload + s * osize;
                            f(in_pool(p, slot + PREFIX), osize - PREFIX - POSTFIX);
                        }
                    }
                    p = (*p).next;
                }
            }
        }
    }
}

/// The index of the first byte of `bytes` that is not `b`: runs of 256
/// compared at once (one `memcmp`, one step for Miri), then the run that
/// differs byte by byte.
fn first_other(bytes: &[u8], b: u8) -> Option<usize> {
    let run = [b; 256];
    bytes
        .chunks(run.len())
        .enumerate()
        .find(|(_, c)| *c != &run[..c.len()])
        .and_then(|(k, c)| c.iter().position(|&x| x != b).map(|i| k * run.len() + i))
}

#[cfg(test)]
mod tests {
    use super::first_other;

    #[test]
    fn first_other_finds_the_first_differing_byte_in_any_run() {
        assert_eq!(first_other(&[], 0xDB), None);
        assert_eq!(first_other(&[0xDBu8; 700], 0xDB), None);
        for at in [0, 1, 255, 256, 511, 512, 699] {
            let mut v = [0xDBu8; 700];
            v[at] = 7;
            assert_eq!(first_other(&v, 0xDB), Some(at), "at {at}");
        }
        let mut v = [0xDBu8; 700];
        v[300] = 1;
        v[600] = 2;
        assert_eq!(first_other(&v, 0xDB), Some(300));
    }
}
