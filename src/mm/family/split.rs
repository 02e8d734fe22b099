//! SplitAllocator: physical memory handed out in pages, together with the
//! virtual window where that physical range is mapped (FreeNOS's primary
//! allocator, the model for the paging layer's sparse mappings).
//!
//! ```text
//!   physical  P:base ────────────────────── P:base+size
//!                 │ page │ page │ page │ ...          (a BitAllocator)
//!                 ▼ to_virtual             ▲ to_physical
//!   virtual   V:window ──────────────────── V:window+size
//!
//!   allocate_sparse(32 pages, f):  f(P:a) f(P:b) f(P:c) f(P:d)
//!                                  four 8-page chunks, not contiguous
//! ```
//!
//! Fixed from FreeNOS: `to_physical` had no return statement and both
//! translations did unchecked arithmetic; here an address outside the
//! window is `None`. `allocate_sparse` asserted in its callback and leaked
//! the chunks already taken when a later one failed; here the callback may
//! fail, the chunk it refused is given back, and the error says how many
//! bytes were handed over (those stay with the caller).

use super::bit::BitAllocator;
use super::{AllocError, Allocator, FamilyCheckError, Range};
use crate::mm::addr::{PhysAddr, VirtAddr};
use crate::mm::paging::sparse::{ChunkError, SPARSE_CHUNK, in_chunks};
use core::fmt;

/// Pages per `allocate_sparse` chunk (FreeNOS: `m_pageSize * 8`): the
/// paging layer's chunk, whose [`in_chunks`] hands them out.
pub const SPARSE_CHUNK_PAGES: usize = SPARSE_CHUNK;

/// Why `allocate_sparse` stopped. `done` bytes were handed to the callback
/// successfully before it; those chunks belong to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparseError<E> {
    /// The allocator refused (size not a multiple of a chunk, or no memory).
    Alloc { done: usize, error: AllocError },
    /// The callback refused a chunk (it has been released again).
    Callback { done: usize, error: E },
}

/// A page allocator over a physical range mapped at a virtual window.
pub struct SplitAllocator<S> {
    alloc: BitAllocator<S>,
    virt: Range,
    page: usize,
}

impl<S: AsRef<[u32]> + AsMut<[u32]>> SplitAllocator<S> {
    /// Storage words each bit array needs for `phys_size` bytes of pages.
    pub const fn words_needed(phys_size: usize, page_size: usize) -> usize {
        BitAllocator::<S>::words_needed(phys_size, page_size)
    }

    /// Pages of `page_size` bytes from `phys`, which is mapped at `virt`.
    /// Errors: `InvalidAlignment` (page size not a power of two, or a range
    /// not page-aligned), `InvalidSize` (window smaller than the physical
    /// range, a range past 4 GiB, storage too small).
    pub fn new(
        phys: Range,
        virt: Range,
        page_size: usize,
        used: S,
        starts: S,
    ) -> Result<Self, AllocError> {
        if !page_size.is_power_of_two()
            || !phys.address.is_multiple_of(page_size)
            || !virt.address.is_multiple_of(page_size)
        {
            return Err(AllocError::InvalidAlignment);
        }
        // Both ranges must lie below 4 GiB (PhysAddr and VirtAddr are 32-bit).
        let below_4g = |r: &Range| {
            r.size == 0
                || r.address
                    .checked_add(r.size - 1)
                    .is_some_and(|last| u32::try_from(last).is_ok())
        };
        if virt.size < phys.size || !below_4g(&phys) || !below_4g(&virt) {
            return Err(AllocError::InvalidSize);
        }
        let range = Range {
            alignment: page_size,
            ..phys
        };
        Ok(SplitAllocator {
            alloc: BitAllocator::new(range, page_size, used, starts)?,
            virt,
            page: page_size,
        })
    }

    /// Bytes per page.
    pub fn page_size(&self) -> usize {
        self.page
    }

    /// The virtual window.
    pub fn window(&self) -> Range {
        self.virt
    }

    /// The virtual address where `phys` is mapped, or `None` outside the range.
    pub fn to_virtual(&self, phys: PhysAddr) -> Option<VirtAddr> {
        let off = (phys.0 as usize).checked_sub(self.alloc.base())?;
        if off >= self.alloc.size() {
            return None;
        }
        Some(VirtAddr((self.virt.address + off) as u32))
    }

    /// The physical address behind `virt`, or `None` outside the window's
    /// mapped part.
    pub fn to_physical(&self, virt: VirtAddr) -> Option<PhysAddr> {
        let off = (virt.0 as usize).checked_sub(self.virt.address)?;
        if off >= self.alloc.size() {
            return None;
        }
        Some(PhysAddr((self.alloc.base() + off) as u32))
    }

    /// Allocate physical pages and return them with their virtual mapping:
    /// (physical range, virtual range).
    pub fn allocate_mapped(&mut self, request: Range) -> Result<(Range, Range), AllocError> {
        let phys = self.allocate(request)?;
        let virt = Range {
            address: self.virt.address + (phys.address - self.alloc.base()),
            ..phys
        };
        Ok((phys, virt))
    }

    /// Reserve the pages covering `[phys, phys + size)` exactly there.
    pub fn allocate_at(&mut self, phys: PhysAddr, size: usize) -> Result<Range, AllocError> {
        self.alloc.allocate_at(phys.0 as usize, size)
    }

    /// Allocate `size` bytes as separate chunks of [`SPARSE_CHUNK_PAGES`]
    /// pages and call `map` with each chunk's first physical address (the
    /// caller maps it). `size` must be a multiple of a chunk.
    pub fn allocate_sparse<E>(
        &mut self,
        size: usize,
        mut map: impl FnMut(PhysAddr) -> Result<(), E>,
    ) -> Result<(), SparseError<E>> {
        let chunk = self.page * SPARSE_CHUNK_PAGES;
        if size == 0 || !size.is_multiple_of(chunk) {
            return Err(SparseError::Alloc {
                done: 0,
                error: AllocError::InvalidSize,
            });
        }
        if size > self.available() {
            return Err(SparseError::Alloc {
                done: 0,
                error: AllocError::OutOfMemory,
            });
        }
        let page = self.page;
        in_chunks(
            self,
            size / page,
            |a, pages| a.allocate(Range::request(pages * page, 0)),
            |a, r| {
                map(PhysAddr(r.address as u32)).inspect_err(|_| {
                    // Never fails: r is a live allocation just made.
                    let _ = a.release(r.address);
                })
            },
        )
        .map_err(|e| match e {
            ChunkError::Take { delivered, error } => SparseError::Alloc {
                done: delivered * page,
                error,
            },
            ChunkError::Give { delivered, error } => SparseError::Callback {
                done: delivered * page,
                error,
            },
        })
    }

    /// Integrity check of the page bits.
    pub fn check(&self) -> Result<(), FamilyCheckError> {
        self.alloc.check()
    }

    /// The window line, then the page allocator's dump.
    pub fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(
            out,
            "split P{:#010x}..P{:#010x} mapped at V{:#010x}, page {}",
            self.alloc.base(),
            self.alloc.base() + self.alloc.size(),
            self.virt.address,
            self.page
        )?;
        self.alloc.dump(out)
    }
}

impl<S: AsRef<[u32]> + AsMut<[u32]>> Allocator for SplitAllocator<S> {
    /// Physical pages (alignment 0: one page).
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        let alignment = request.alignment.max(self.page);
        self.alloc.allocate(Range {
            alignment,
            ..request
        })
    }
    fn release(&mut self, address: usize) -> Result<(), AllocError> {
        self.alloc.release(address)
    }
    fn size(&self) -> usize {
        self.alloc.size()
    }
    fn available(&self) -> usize {
        self.alloc.available()
    }
    fn base(&self) -> usize {
        self.alloc.base()
    }
    fn alignment(&self) -> usize {
        self.page
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::layout::PAGE_SIZE;
    use crate::testutil::{Rng, soak_ops};
    use alloc::collections::BTreeSet;
    use alloc::vec;
    use alloc::vec::Vec;

    type Split = SplitAllocator<Vec<u32>>;

    fn bases(seed: u64) -> (usize, usize) {
        let mut r = Rng::new(seed);
        let phys = r.range(0x8000_0000, 0xF000_0000) & !(PAGE_SIZE - 1);
        let virt = r.range(0x4000_0000, 0x8000_0000) & !(PAGE_SIZE - 1);
        (phys, virt)
    }

    fn split(phys: usize, virt: usize, pages: usize) -> Split {
        let w = Split::words_needed(pages * PAGE_SIZE, PAGE_SIZE);
        let r = |address| Range {
            address,
            size: pages * PAGE_SIZE,
            alignment: PAGE_SIZE,
        };
        SplitAllocator::new(r(phys), r(virt), PAGE_SIZE, vec![0; w], vec![0; w]).unwrap()
    }

    // FreeNOS SplitConstruct.
    #[test]
    fn construct() {
        let (p, v) = bases(1);
        let s = split(p, v, 16);
        assert_eq!(s.available(), 16 * PAGE_SIZE);
        assert_eq!(s.base(), p);
        assert_eq!(s.size(), 16 * PAGE_SIZE);
        assert_eq!(s.alignment(), PAGE_SIZE);
        assert_eq!(s.page_size(), PAGE_SIZE);
        assert_eq!(s.window().address, v);
        s.check().unwrap();
    }

    #[test]
    fn construct_rejects_bad_ranges() {
        let r = |address, size| Range {
            address,
            size,
            alignment: PAGE_SIZE,
        };
        let w = || vec![0u32; 1];
        assert!(matches!(
            Split::new(r(0x1000, 0x4000), r(0x2000, 0x2000), PAGE_SIZE, w(), w()),
            Err(AllocError::InvalidSize)
        ));
        assert!(matches!(
            Split::new(r(0x1001, 0x4000), r(0x2000, 0x4000), PAGE_SIZE, w(), w()),
            Err(AllocError::InvalidAlignment)
        ));
        assert!(matches!(
            Split::new(r(0x1000, 0x4000), r(0x2000, 0x4000), 3000, w(), w()),
            Err(AllocError::InvalidAlignment)
        ));
    }

    // FreeNOS SplitAllocatePhysical.
    #[test]
    fn allocate_physical() {
        let (p, v) = bases(2);
        let mut s = split(p, v, 16);
        for i in 0..10 {
            let r = s.allocate(Range::request(PAGE_SIZE, 0)).unwrap();
            assert_eq!(r.address, p + i * PAGE_SIZE);
            assert_eq!(r.size, PAGE_SIZE);
        }
        assert_eq!(s.available(), 6 * PAGE_SIZE);
    }

    // FreeNOS SplitAllocatePhysicalVirtual.
    #[test]
    fn allocate_physical_virtual() {
        let (p, v) = bases(3);
        let mut s = split(p, v, 16);
        for i in 0..10 {
            let (ph, vi) = s.allocate_mapped(Range::request(PAGE_SIZE, 0)).unwrap();
            assert_eq!(ph.address, p + i * PAGE_SIZE);
            assert_eq!(vi.address, v + i * PAGE_SIZE);
            assert_eq!(vi.size, PAGE_SIZE);
            let pa = PhysAddr(ph.address as u32);
            let va = VirtAddr(vi.address as u32);
            assert_eq!(s.to_virtual(pa), Some(va));
            assert_eq!(s.to_physical(va), Some(pa));
        }
        assert_eq!(s.available(), 6 * PAGE_SIZE);
        // Outside the range or the window: no translation.
        assert_eq!(s.to_virtual(PhysAddr((p - 1) as u32)), None);
        assert_eq!(s.to_virtual(PhysAddr((p + 16 * PAGE_SIZE) as u32)), None);
        assert_eq!(s.to_physical(VirtAddr((v + 16 * PAGE_SIZE) as u32)), None);
        assert_eq!(s.to_physical(VirtAddr(0)), None);
    }

    // FreeNOS SplitAllocateFull.
    #[test]
    fn allocate_full() {
        let (p, v) = bases(4);
        let mut s = split(p, v, 10);
        for i in 0..10 {
            assert_eq!(
                s.allocate(Range::request(PAGE_SIZE, 0)).unwrap().address,
                p + i * PAGE_SIZE
            );
        }
        assert_eq!(
            s.allocate(Range::request(PAGE_SIZE, 0)),
            Err(AllocError::OutOfMemory)
        );
        assert_eq!(s.available(), 0);
    }

    // FreeNOS SplitAllocateRelease.
    #[test]
    fn allocate_release() {
        let (p, v) = bases(5);
        let mut s = split(p, v, 10);
        for _ in 0..10 {
            s.allocate(Range::request(PAGE_SIZE, 0)).unwrap();
        }
        assert_eq!(s.available(), 0);
        for i in 0..10 {
            s.release(p + i * PAGE_SIZE).unwrap();
        }
        assert_eq!(s.available(), 10 * PAGE_SIZE);
        assert_eq!(s.allocate(Range::request(PAGE_SIZE, 0)).unwrap().address, p);
        assert_eq!(s.release(p + PAGE_SIZE), Err(AllocError::InvalidAddress));
    }

    #[test]
    fn sparse_hands_out_eight_page_chunks() {
        let (p, v) = bases(6);
        let mut s = split(p, v, 64);
        // Fragment: take every other 8-page chunk's first page.
        let mut holes = Vec::new();
        for i in 0..8 {
            holes.push(
                s.allocate_at(PhysAddr((p + i * 8 * PAGE_SIZE) as u32), PAGE_SIZE)
                    .unwrap(),
            );
        }
        for h in holes.iter().skip(1).step_by(2) {
            s.release(h.address).unwrap();
        }
        let mut got = Vec::new();
        let chunk = 8 * PAGE_SIZE;
        s.allocate_sparse(3 * chunk, |pa| {
            got.push(pa.0 as usize);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(got.len(), 3);
        for &g in &got {
            assert!(g.is_multiple_of(PAGE_SIZE) && g >= p && g + chunk <= p + 64 * PAGE_SIZE);
            assert_eq!(s.alloc.allocation_size(g), Ok(chunk));
        }
        assert_eq!(
            s.allocate_sparse(chunk + 1, |_| Ok::<(), ()>(())),
            Err(SparseError::Alloc {
                done: 0,
                error: AllocError::InvalidSize
            })
        );
        assert_eq!(
            s.allocate_sparse(64 * PAGE_SIZE, |_| Ok::<(), ()>(())),
            Err(SparseError::Alloc {
                done: 0,
                error: AllocError::OutOfMemory
            })
        );
    }

    #[test]
    fn sparse_callback_failure_gives_the_chunk_back() {
        let (p, v) = bases(7);
        let mut s = split(p, v, 32);
        let mut calls = 0;
        let r = s.allocate_sparse(3 * 8 * PAGE_SIZE, |_| {
            calls += 1;
            if calls == 2 {
                Err("no page table")
            } else {
                Ok(())
            }
        });
        assert_eq!(
            r,
            Err(SparseError::Callback {
                done: 8 * PAGE_SIZE,
                error: "no page table"
            })
        );
        // The first chunk stays with the caller, the refused one came back.
        assert_eq!(s.available(), 24 * PAGE_SIZE);
        s.check().unwrap();
    }

    /// Too little contiguous room: the second chunk cannot be found; the
    /// first was already handed over and is reported in `done`.
    #[test]
    fn sparse_runs_out_midway() {
        let (p, v) = bases(8);
        let mut s = split(p, v, 32);
        for i in [12, 20, 28] {
            s.allocate_at(PhysAddr((p + i * PAGE_SIZE) as u32), PAGE_SIZE)
                .unwrap();
        }
        let r = s.allocate_sparse(16 * PAGE_SIZE, |_| Ok::<(), ()>(()));
        assert_eq!(
            r,
            Err(SparseError::Alloc {
                done: 8 * PAGE_SIZE,
                error: AllocError::OutOfMemory
            })
        );
        assert_eq!(s.available(), (32 - 3 - 8) * PAGE_SIZE);
        s.check().unwrap();
    }

    #[test]
    fn split_soak_translations_and_pages() {
        let (p, v) = bases(9);
        let pages = 128;
        let mut s = split(p, v, pages);
        let mut rng = Rng::new(0x5917);
        let mut live: BTreeSet<usize> = BTreeSet::new();
        let mut model_used = vec![0usize; 0];
        for _ in 0..soak_ops(30_000) {
            if rng.chance(1, 10) {
                // Bad release: any page address that starts no allocation.
                let a = p + rng.range(0, pages + 2) * PAGE_SIZE + rng.range(0, 2);
                if !live.contains(&a) {
                    let before = s.alloc.words();
                    assert_eq!(s.release(a), Err(AllocError::InvalidAddress));
                    assert_eq!(s.alloc.words(), before);
                }
            } else if rng.chance(1, 2) {
                let n = rng.range(1, 5);
                match s.allocate_mapped(Range::request(n * PAGE_SIZE, 0)) {
                    Ok((ph, vi)) => {
                        assert_eq!(vi.address - v, ph.address - p);
                        let pa = PhysAddr(ph.address as u32);
                        assert_eq!(s.to_physical(s.to_virtual(pa).unwrap()), Some(pa));
                        for q in 0..n {
                            let page = (ph.address - p) / PAGE_SIZE + q;
                            assert!(!model_used.contains(&page), "page {page} twice");
                            model_used.push(page);
                        }
                        live.insert(ph.address);
                    }
                    Err(e) => assert_eq!(e, AllocError::OutOfMemory),
                }
            } else if let Some(&a) = live.iter().nth(rng.range(0, live.len().max(1))) {
                let len = s.alloc.allocation_size(a).unwrap() / PAGE_SIZE;
                s.release(a).unwrap();
                live.remove(&a);
                let first = (a - p) / PAGE_SIZE;
                model_used.retain(|&pg| pg < first || pg >= first + len);
            }
            assert_eq!(s.available(), (pages - model_used.len()) * PAGE_SIZE);
        }
        s.check().unwrap();
    }
}
