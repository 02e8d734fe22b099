//! The pool allocator's integrity check (list links, pool indices,
//! bitmaps, every live object's prefix and guard) and its dump.

use super::{MAX_POOL_INDEX, MIN_POOL_INDEX, Pool, PoolAllocator, object_size};
use crate::mm::family::{Allocator, FamilyCheckError};
use core::fmt;
use core::ptr;

impl<P: Allocator> PoolAllocator<P> {
    /// Integrity check: list links, pool indices, bitmaps, and every live
    /// object's prefix and guard.
    pub fn check(&self) -> Result<(), FamilyCheckError> {
        for i in 0..=MAX_POOL_INDEX {
            let mut prev: *mut Pool = ptr::null_mut();
            let mut p = self.pools[i];
            let mut n = 0;
            // SAFETY: list members are live pools (what we check).
            unsafe {
                while !p.is_null() {
                    n += 1;
                    if n > 1 << 20 {
                        return Err(FamilyCheckError::PoolListCycle);
                    }
                    if (*p).prev != prev || (*p).index != i || i < MIN_POOL_INDEX {
                        return Err(FamilyCheckError::PoolBrokenList);
                    }
                    (*p).bits.check().map_err(FamilyCheckError::Bitmap)?;
                    let osize = object_size(i);
                    if (*p).payload + (*p).bits.len() * osize > (*p).block.end() {
                        return Err(FamilyCheckError::PoolSlotsPastBlock);
                    }
                    let mut b = 0;
                    while let Some(s) = (*p).bits.next_set(b) {
                        if !Self::guards_ok(p, (*p).payload + s * osize) {
                            return Err(FamilyCheckError::PoolGuardOverwritten);
                        }
                        b = s + 1;
                    }
                    prev = p;
                    p = (*p).next;
                }
            }
        }
        Ok(())
    }

    /// One line per pool size in use, then one per pool.
    pub fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        for i in MIN_POOL_INDEX..=MAX_POOL_INDEX {
            let (mut n, mut objs, mut used) = (0, 0, 0);
            self.for_each_pool(i, &mut |p| {
                n += 1;
                objs += p.objects;
                used += p.used;
            });
            if n == 0 {
                continue;
            }
            writeln!(
                out,
                "pool 2^{} ({} bytes): {} pools, {} of {} objects used",
                i,
                object_size(i),
                n,
                used,
                objs
            )?;
            let mut res = Ok(());
            self.for_each_pool(i, &mut |p| {
                if res.is_ok() {
                    res = writeln!(
                        out,
                        "  pool at V{:#010x}: {} bytes, {}/{} used",
                        p.address, p.block_size, p.used, p.objects
                    );
                }
            });
            res?;
        }
        Ok(())
    }
}
