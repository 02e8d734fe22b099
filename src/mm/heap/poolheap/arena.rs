//! The pool heap's page arena: every region the kernel adds (at boot, or
//! later through the grow hook) becomes one bitmap allocator of 4 KiB
//! pages, its two bit arrays in the region's first page(s); pools and large
//! blocks come from the first region with room.
//!
//! ```text
//!   region  [used bits|start bits| page | page | page | ... ]
//!            meta pages            managed by a BitAllocator
//! ```
//!
//! Each region keeps the pointer it was added with: the bit arrays, and
//! every pointer the pools and the heap make into the region
//! ([`PageArena::at`], [`Allocator::pointer`]), are derived from it
//! (strict provenance).

use crate::mm::bitmap::Bitmap;
use crate::mm::family::bit::{BitAllocator, RawWords};
use crate::mm::family::{AllocError, Allocator, FamilyCheckError, Range, align_down, align_up};
use crate::mm::layout::PAGE_SIZE;
use core::fmt;
use core::ptr;

/// Most regions the arena holds.
pub const MAX_ARENAS: usize = 16;

/// Pages of one or more regions, each tracked by a [`BitAllocator`].
pub struct PageArena {
    arenas: [Option<BitAllocator<RawWords>>; MAX_ARENAS],
    /// Per region, the pointer to its first byte (the bit arrays').
    roots: [*mut u8; MAX_ARENAS],
}

// SAFETY: the arena exclusively owns the memory of its regions (contract of
// `add_region`); the roots reach only that memory, so moving the arena to
// another thread moves that ownership with it.
unsafe impl Send for PageArena {}

impl Default for PageArena {
    fn default() -> Self {
        Self::new()
    }
}

impl PageArena {
    /// An arena with no memory yet.
    pub const fn new() -> PageArena {
        PageArena {
            arenas: [const { None }; MAX_ARENAS],
            roots: [ptr::null_mut(); MAX_ARENAS],
        }
    }

    /// Add `len` bytes at `start` (trimmed to pages); the first page(s) hold
    /// the region's bit arrays. Errors: `InvalidSize` (less than two pages
    /// after trimming), `InvalidAddress` (overlap), `OutOfMemory` (full).
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, used by nothing else,
    /// and live as long as the arena.
    /// Every pointer into the region is derived from `start`.
    pub unsafe fn add_region(&mut self, start: *mut u8, len: usize) -> Result<(), AllocError> {
        let (root, start) = (start, start.addr());
        let end = align_down(
            start.checked_add(len).ok_or(AllocError::InvalidSize)?,
            PAGE_SIZE,
        );
        let start = align_up(start, PAGE_SIZE).ok_or(AllocError::InvalidSize)?;
        if end <= start {
            return Err(AllocError::InvalidSize);
        }
        let pages = (end - start) / PAGE_SIZE;
        let words = Bitmap::<RawWords>::words_for(pages);
        let meta_pages = (2 * words * 4).div_ceil(PAGE_SIZE);
        if pages <= meta_pages {
            return Err(AllocError::InvalidSize);
        }
        if self
            .arenas
            .iter()
            .flatten()
            .any(|a| start < a.base() + a.size() && a.base() < end)
        {
            return Err(AllocError::InvalidAddress);
        }
        let slot = self
            .arenas
            .iter()
            .position(|a| a.is_none())
            .ok_or(AllocError::OutOfMemory)?;
        let managed = Range {
            address: start + meta_pages * PAGE_SIZE,
            size: (pages - meta_pages) * PAGE_SIZE,
            alignment: PAGE_SIZE,
        };
        // SAFETY: the first meta_pages pages are ours (contract) and hold
        // 2 * words words; nothing else uses them.
        let (used, starts) = unsafe {
            (
                RawWords::new(root.with_addr(start).cast(), words),
                RawWords::new(root.with_addr(start + words * 4).cast(), words),
            )
        };
        self.arenas[slot] = Some(BitAllocator::new(managed, PAGE_SIZE, used, starts)?);
        self.roots[slot] = root.with_addr(start);
        Ok(())
    }

    /// A pointer to `addr`, with the provenance of the region that holds it
    /// or ends at it (growth continues a region); `None` for an address of
    /// no region.
    pub fn at(&self, addr: usize) -> Option<*mut u8> {
        self.arenas.iter().zip(&self.roots).find_map(|(a, &root)| {
            let a = a.as_ref()?;
            (root.addr() <= addr && addr <= a.base() + a.size()).then(|| root.with_addr(addr))
        })
    }

    /// The longest free run, in bytes, over all regions.
    pub fn largest_free(&self) -> usize {
        self.arenas
            .iter()
            .flatten()
            .map(|a| a.largest_free())
            .max()
            .unwrap_or(0)
    }

    /// Live allocations (pools and large blocks).
    pub fn allocations(&self) -> usize {
        self.arenas.iter().flatten().map(|a| a.allocations()).sum()
    }

    /// Bytes of the allocation starting at `address`.
    pub fn allocation_size(&self, address: usize) -> Result<usize, AllocError> {
        self.owner(address)
            .ok_or(AllocError::InvalidAddress)?
            .allocation_size(address)
    }

    /// The region allocator that manages `address`, if any.
    fn owner(&self, address: usize) -> Option<&BitAllocator<RawWords>> {
        self.arenas
            .iter()
            .flatten()
            .find(|a| address >= a.base() && address < a.base() + a.size())
    }

    /// One past the highest region's last byte (0 with none).
    pub fn region_end(&self) -> usize {
        self.arenas
            .iter()
            .flatten()
            .map(|a| a.base() + a.size())
            .max()
            .unwrap_or(0)
    }

    /// `f(page)` for every free page of every region.
    pub fn for_each_free_page(&self, f: &mut dyn FnMut(usize)) {
        for a in self.arenas.iter().flatten() {
            for page in (a.base()..a.base() + a.size()).step_by(PAGE_SIZE) {
                if !a.is_allocated(page) {
                    f(page);
                }
            }
        }
    }

    /// Integrity check of every region's bits.
    pub fn check(&self) -> Result<(), FamilyCheckError> {
        self.arenas.iter().flatten().try_for_each(|a| a.check())
    }

    /// One summary line per region.
    pub fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        for a in self.arenas.iter().flatten() {
            writeln!(
                out,
                "arena [V{:#010x} , V{:#010x}] {} pages, {} free, {} allocations",
                a.base(),
                a.base() + a.size() - 1,
                a.chunks(),
                a.available() / PAGE_SIZE,
                a.allocations()
            )?;
        }
        Ok(())
    }
}

impl Allocator for PageArena {
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        let align = if request.alignment <= PAGE_SIZE {
            0
        } else {
            request.alignment
        };
        let req = Range {
            alignment: align,
            ..request
        };
        let mut err = AllocError::OutOfMemory;
        for a in self.arenas.iter_mut().flatten() {
            match a.allocate(req) {
                Ok(r) => return Ok(r),
                Err(AllocError::OutOfMemory) => {}
                Err(e) => err = e,
            }
        }
        Err(err)
    }
    fn release(&mut self, address: usize) -> Result<(), AllocError> {
        self.arenas
            .iter_mut()
            .flatten()
            .find(|a| address >= a.base() && address < a.base() + a.size())
            .ok_or(AllocError::InvalidAddress)?
            .release(address)
    }
    fn size(&self) -> usize {
        self.arenas.iter().flatten().map(|a| a.size()).sum()
    }
    fn available(&self) -> usize {
        self.arenas.iter().flatten().map(|a| a.available()).sum()
    }
    fn base(&self) -> usize {
        self.arenas
            .iter()
            .flatten()
            .map(|a| a.base())
            .next()
            .unwrap_or(0)
    }
    fn alignment(&self) -> usize {
        PAGE_SIZE
    }
    /// `address` with the provenance of its region (as [`PageArena::at`]);
    /// an address of no region gets none (it is never read through).
    fn pointer(&self, address: usize) -> *mut u8 {
        self.at(address)
            .unwrap_or_else(|| ptr::without_provenance_mut(address))
    }
}
