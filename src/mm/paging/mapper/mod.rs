//! The mapper: walk, map, unmap and translate in one address space, reached
//! through [`PhysMemory`], with page tables drawn from a [`FrameAllocator`].
//!
//! ```text
//!   Mapper { directory: Frame, scope, mem: &PhysMemory, tlb: &TlbFlush }
//!      |            |                    |                 |
//!      |            |                    |                 +-- invlpg after unmap (kernel),
//!      |            |                    |                     NoFlush for a space not in CR3
//!      |            |                    +-- reaches every table frame: linear space or a
//!      |            |                        temporary window (kernel), SimMemory (tests)
//!      |            +-- Scope::User refuses the kernel half (shared tables)
//!      +-- any directory: the current one (CR3) or another address space
//!
//!   a page table's life
//!     (none) --map, walk(Alloc::Yes)--> table --unmap of its last page--> freed
//!     (none) --prepare_tables---------> table, PINNED (shared by every address
//!                                       space): stays when empty
//! ```
//!
//! Every entry is read and written with one `frame_ptr` call per access, so
//! a `PhysMemory` that shows one frame at a time (a temporary window) works.
//! No operation allocates heap memory, so the kernel heap can grow through it.
//!
//! Failed operations change nothing: a range that fails half way is
//! unmapped again, the frames it drew and the page tables it created are
//! given back, and the error names the first page that failed. Unmapping
//! gives back what mapping took: a page table left empty is freed (in the
//! user half and the kernel half alike) unless it is pinned.
//!
//! One idea per file: [`errors`] (why an operation failed), [`pages`]
//! (walk, one page, one 4 MiB page), [`ranges`] (many pages, all or
//! nothing), [`rollback`] (taking a failed range back), [`query`]
//! (translate, find who maps a frame), [`check`] (the integrity check).

mod check;
mod errors;
mod pages;
mod query;
mod ranges;
mod rollback;

pub use check::{CheckError, MapperCheck};
pub use errors::{MapError, UnmapError, WalkError};
pub use query::{FrameUser, find_user_in};

use super::entry::{Entry, EntryFlags, PageTable};
use crate::mm::addr::{Frame, Page, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{KERNEL_BASE, LARGE_PAGE_SIZE, PAGE_SIZE, RECURSIVE_INDEX};
use crate::mm::phys::PhysMemory;

/// Page number limit: 2^20 pages of 4 KiB make the 32-bit space.
const PAGE_LIMIT: u32 = 1 << 20;
/// One past the last byte of the 32-bit space.
const SPACE_END: u64 = 1 << 32;
/// PDX of the first kernel-half entry (768).
pub const KERNEL_PDX: usize = VirtAddr(KERNEL_BASE).pdx();
const PAGE: u64 = PAGE_SIZE as u64;
const LARGE: u64 = LARGE_PAGE_SIZE as u64;

/// Drops cached translations after an entry is removed. The kernel
/// implements it with `invlpg` for the address space in CR3; a space that is
/// not loaded uses [`NoFlush`].
pub trait TlbFlush {
    /// Forget any cached translation of `page` (x86: `invlpg`).
    fn flush_page(&self, page: Page);
}

/// The flush for an address space that is not current: nothing to do.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFlush;

impl TlbFlush for NoFlush {
    fn flush_page(&self, _page: Page) {}
}

/// Which part of the address space a mapper may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everything but the recursive slot (the kernel's own directory).
    All,
    /// Only the user half, below `KERNEL_BASE`: the kernel half's tables are
    /// shared by every address space and changed only through the kernel's.
    User,
}

/// Whether `walk` may create a missing page table, and from where.
pub enum Alloc<'f> {
    /// Create a missing page table with a frame from this allocator.
    Yes(&'f mut dyn FrameAllocator),
    /// Stop at a missing page table.
    No,
}

/// What unmapping does with a frame whose entry is marked
/// [`EntryFlags::OWNED`]. (Page tables left empty are freed either way:
/// they are the mapper's, not the caller's.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Keep every frame (the caller owns them).
    Keep,
    /// Free the OWNED frames to the allocator given.
    OwnedFrames,
}

/// Fill new frames with zeros before mapping them (SerenityOS's `ShouldZeroFill`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZeroFill {
    /// Zero each frame (anything a user sees must be zeroed).
    Yes,
    /// Leave the frame as it was (faster; for memory about to be overwritten).
    No,
}

/// Page size used by `map_linear`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSize {
    /// 4 KiB pages through page tables.
    Small,
    /// 4 MiB pages (PDE with PS; needs CR4.PSE) where the range covers a whole
    /// aligned 4 MiB, 4 KiB pages at unaligned edges.
    Large,
}

/// The location of a page-table entry: a page table and an index in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PteSlot {
    /// The page table.
    pub table: Frame,
    /// The PTE index (`ptx`).
    pub index: usize,
}

/// Read entry `index` (< 1024) of the table or directory in frame `table`,
/// with one `frame_ptr` call.
pub(crate) fn read_entry<M: PhysMemory + ?Sized>(mem: &M, table: Frame, index: usize) -> Entry {
    let t = mem.frame_ptr(table) as *const PageTable;
    // SAFETY: PhysMemory's contract: the pointer is valid for PAGE_SIZE
    // bytes until the next call on `mem`, and page-aligned (Mapper::new), so
    // entry `index` (< 1024, checked by the indexing) is an aligned u32
    // inside it. Volatile: the CPU sets A/D bits behind the compiler.
    unsafe { (&raw const (*t).entries[index]).read_volatile() }
}

/// Write entry `index` (< 1024) of the table or directory in frame `table`.
/// The caller owns that table (see `Mapper::new`).
pub(crate) fn write_entry<M: PhysMemory + ?Sized>(
    mem: &M,
    table: Frame,
    index: usize,
    entry: Entry,
) {
    let t = mem.frame_ptr(table) as *mut PageTable;
    // SAFETY: as in read_entry; the table is the caller's to change.
    unsafe { (&raw mut (*t).entries[index]).write_volatile(entry) }
}

/// Fill `frame` with zeros. The caller owns the frame (just allocated).
pub(crate) fn zero_frame<M: PhysMemory + ?Sized>(mem: &M, frame: Frame) {
    let p = mem.frame_ptr(frame);
    // SAFETY: the pointer is valid for PAGE_SIZE bytes (PhysMemory), and the
    // frame is the caller's, so nothing else uses it.
    unsafe { core::ptr::write_bytes(p, 0, PAGE_SIZE) }
}

/// Check `(va, len)` as a page-aligned, non-empty range inside 32 bits and
/// return its end (exclusive).
fn check_range(va: u64, len: usize) -> Result<u64, MapError> {
    let len = len as u64;
    if !va.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) {
        return Err(MapError::Unaligned);
    }
    match va.checked_add(len) {
        Some(end) if len != 0 && end <= SPACE_END => Ok(end),
        _ => Err(MapError::BadRange),
    }
}

/// The page at a byte address below 2^32.
fn page_at(addr: u64) -> Page {
    Page((addr / PAGE) as u32)
}

/// Map, unmap and translate in the address space whose directory is a frame.
pub struct Mapper<'a, M: PhysMemory + ?Sized, T: TlbFlush + ?Sized> {
    directory: Frame,
    scope: Scope,
    mem: &'a M,
    tlb: &'a T,
}

impl<'a, M: PhysMemory + ?Sized, T: TlbFlush + ?Sized> Mapper<'a, M, T> {
    /// A mapper over the page directory in `directory`.
    ///
    /// # Safety
    ///
    /// The caller must guarantee that `directory` holds a page directory
    /// whose present entries point at page tables (or are 4 MiB pages, or
    /// the recursive slot), that `mem` reaches every frame they name with
    /// page-aligned pointers, that no other code changes these tables while
    /// the mapper lives, and that `tlb` flushes the TLB that caches this
    /// directory (when it is in CR3). Writing entries changes what memory
    /// means to the CPU: a wrong directory corrupts memory.
    pub unsafe fn new(directory: Frame, scope: Scope, mem: &'a M, tlb: &'a T) -> Self {
        Mapper {
            directory,
            scope,
            mem,
            tlb,
        }
    }

    /// The page directory this mapper works on (the value for CR3).
    pub fn directory(&self) -> Frame {
        self.directory
    }
    /// The mapper's scope.
    pub fn scope(&self) -> Scope {
        self.scope
    }
    /// The physical memory access the mapper uses.
    pub fn mem(&self) -> &'a M {
        self.mem
    }

    // ---- entry access: one frame_ptr call per access ----

    /// Read entry `index` of the table (or directory) in `table`.
    pub(crate) fn read_entry(&self, table: Frame, index: usize) -> Entry {
        read_entry(self.mem, table, index)
    }

    fn write_entry(&self, table: Frame, index: usize, entry: Entry) {
        write_entry(self.mem, table, index, entry)
    }

    fn zero_frame(&self, frame: Frame) {
        zero_frame(self.mem, frame)
    }

    /// Flags of the PDE of a new page table: present, writable, and user in
    /// the user half; each page's PTE then decides.
    fn table_flags(pdx: usize) -> EntryFlags {
        let base = EntryFlags::PRESENT | EntryFlags::WRITABLE;
        if pdx < KERNEL_PDX {
            base | EntryFlags::USER
        } else {
            base
        }
    }

    /// Refuse pages this mapper must not change.
    fn check_page(&self, page: Page) -> Result<(), MapError> {
        if page.number() >= PAGE_LIMIT {
            return Err(MapError::BadRange);
        }
        let va = page.start_address();
        if va.pdx() == RECURSIVE_INDEX {
            return Err(MapError::Reserved(page));
        }
        if self.scope == Scope::User && va.as_u32() >= KERNEL_BASE {
            return Err(MapError::OutOfScope(page));
        }
        Ok(())
    }
}
