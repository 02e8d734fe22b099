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
//! ```
//!
//! Every entry is read and written with one `frame_ptr` call per access, so
//! a `PhysMemory` that shows one frame at a time (a temporary window) works.
//! No operation allocates heap memory, so the kernel heap can grow through it.
//!
//! Failed operations change nothing: a range that fails half way is
//! unmapped again, the frames it drew and the page tables it created are
//! given back, and the error names the first page that failed.

use super::entry::{Entry, EntryFlags, PageTable};
use super::sparse::{SparseError, draw_sparse};
use super::walk::{PageWalk, TableStep};
use crate::mm::addr::{Frame, Page, PhysAddr, VirtAddr};
use crate::mm::frame::{FrameAllocator, FrameError};
use crate::mm::layout::{
    ENTRIES_PER_TABLE, KERNEL_BASE, LARGE_PAGE_SIZE, LINEAR_SPACE_SIZE, PAGE_SHIFT, PAGE_SIZE,
    PDX_SHIFT, RECURSIVE_INDEX,
};
use crate::mm::phys::PhysMemory;
use core::fmt;

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

/// Whether unmapping gives the frames back.
pub enum Release<'f> {
    /// Keep every frame (the caller owns them).
    Keep,
    /// Free frames whose entry is marked [`EntryFlags::OWNED`] to this allocator.
    OwnedFrames(&'f mut dyn FrameAllocator),
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

/// Why `walk` stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError {
    /// No page table (with `Alloc::No`).
    NoTable,
    /// A 4 MiB entry maps the address: there is no page table to return.
    LargePage,
    /// A page table was needed and the allocator had no frame.
    NoFrames,
    /// A page table was needed outside the mapper's scope.
    OutOfScope,
}

/// Why a map failed. Nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The page (or, for a 4 MiB mapping, the directory entry) is already mapped.
    AlreadyMapped(Page),
    /// A 4 MiB entry already covers the page.
    LargePage(Page),
    /// No frame left for a page table or a page.
    NoFrames,
    /// The page is in the recursive slot (PD[1023]), which mirrors the tables.
    Reserved(Page),
    /// The page is in the kernel half and the mapper's scope is `User`.
    OutOfScope(Page),
    /// `HUGE` (PS/PAT) was given for a 4 KiB page.
    BadFlags,
    /// An address or a length is not page aligned (4 MiB aligned for a large page).
    Unaligned,
    /// Empty, past the 32-bit space, a page/frame number too large, or past the linear space.
    BadRange,
}

/// Why an unmap failed. Except for `FreeFailed`, nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmapError {
    /// The page is not mapped (or, for `unmap_large`, not by a 4 MiB entry).
    NotMapped(Page),
    /// A 4 MiB entry maps the page: use `unmap_large`.
    LargePage(Page),
    /// The page is in the recursive slot.
    Reserved(Page),
    /// The page is in the kernel half and the mapper's scope is `User`.
    OutOfScope(Page),
    /// An address or a length is not aligned.
    Unaligned,
    /// Empty or past the 32-bit space, or a page number too large.
    BadRange,
    /// Every page was unmapped, but the allocator refused an owned frame
    /// (the first refusal is reported; the frame is left as the allocator has it).
    FreeFailed {
        /// The page whose frame was refused.
        page: Page,
        /// The allocator's answer.
        error: FrameError,
    },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::AlreadyMapped(p) => write!(f, "{} is already mapped", p.start_address()),
            MapError::LargePage(p) => {
                write!(f, "{} lies in a 4 MiB page", p.start_address())
            }
            MapError::NoFrames => f.write_str("no free frame"),
            MapError::Reserved(p) => {
                write!(f, "{} is in the recursive mapping", p.start_address())
            }
            MapError::OutOfScope(p) => write!(
                f,
                "{} is in the kernel half, shared by every address space",
                p.start_address()
            ),
            MapError::BadFlags => f.write_str("bad flags for a 4 KiB page (PS/PAT set)"),
            MapError::Unaligned => f.write_str("address or length not aligned"),
            MapError::BadRange => f.write_str("empty or impossible range"),
        }
    }
}

impl fmt::Display for UnmapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnmapError::NotMapped(p) => write!(f, "{} is not mapped", p.start_address()),
            UnmapError::LargePage(p) => {
                write!(f, "{} lies in a 4 MiB page", p.start_address())
            }
            UnmapError::Reserved(p) => {
                write!(f, "{} is in the recursive mapping", p.start_address())
            }
            UnmapError::OutOfScope(p) => write!(
                f,
                "{} is in the kernel half, shared by every address space",
                p.start_address()
            ),
            UnmapError::Unaligned => f.write_str("address or length not aligned"),
            UnmapError::BadRange => f.write_str("empty or impossible range"),
            UnmapError::FreeFailed { page, error } => write!(
                f,
                "unmapped, but the frame of {} was refused: {error:?}",
                page.start_address()
            ),
        }
    }
}

/// The page tables a range operation created, by PDX, so a failure can give
/// them back (a bit set on the stack: no heap).
#[derive(Clone, Copy)]
struct TableSet([u32; ENTRIES_PER_TABLE / 32]);

impl TableSet {
    const fn new() -> TableSet {
        TableSet([0; ENTRIES_PER_TABLE / 32])
    }
    fn insert(&mut self, pdx: usize) {
        self.0[pdx / 32] |= 1 << (pdx % 32);
    }
    fn contains(&self, pdx: usize) -> bool {
        self.0[pdx / 32] & (1 << (pdx % 32)) != 0
    }
}

/// Bookkeeping of a range operation: `[start, start + done)` is mapped by it.
struct RangeOp {
    start: u64,
    done: u64,
    created: TableSet,
}

impl RangeOp {
    const fn new(start: u64) -> RangeOp {
        RangeOp {
            start,
            done: 0,
            created: TableSet::new(),
        }
    }
    fn cursor(&self) -> u64 {
        self.start + self.done
    }
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

    // ---- walk ----

    /// The PTE slot for `va`: the page table the directory points at and the
    /// index in it. With `Alloc::Yes` a missing table is allocated, zeroed and
    /// entered (present, writable, user in the user half).
    pub fn walk(&mut self, va: VirtAddr, alloc: Alloc<'_>) -> Result<PteSlot, WalkError> {
        self.walk_tracked(va, alloc).map(|(slot, _)| slot)
    }

    /// `walk`, also saying whether it created the table.
    fn walk_tracked(
        &mut self,
        va: VirtAddr,
        alloc: Alloc<'_>,
    ) -> Result<(PteSlot, bool), WalkError> {
        let pdx = va.pdx();
        let pde = self.read_entry(self.directory, pdx);
        if pde.is_large() {
            return Err(WalkError::LargePage);
        }
        if pde.is_present() {
            let slot = PteSlot {
                table: pde.frame(),
                index: va.ptx(),
            };
            return Ok((slot, false));
        }
        let frames = match alloc {
            Alloc::No => return Err(WalkError::NoTable),
            Alloc::Yes(frames) => frames,
        };
        if self.scope == Scope::User && pdx >= KERNEL_PDX || pdx == RECURSIVE_INDEX {
            return Err(WalkError::OutOfScope);
        }
        let table = frames.allocate().ok_or(WalkError::NoFrames)?;
        self.zero_frame(table);
        self.write_entry(
            self.directory,
            pdx,
            Entry::new(table, Self::table_flags(pdx)),
        );
        let slot = PteSlot {
            table,
            index: va.ptx(),
        };
        Ok((slot, true))
    }

    /// The entry in a slot returned by `walk`.
    pub fn read_pte(&self, slot: PteSlot) -> Entry {
        self.read_entry(slot.table, slot.index)
    }

    /// The PDE for `va`.
    pub fn read_pde(&self, va: VirtAddr) -> Entry {
        self.read_entry(self.directory, va.pdx())
    }

    // ---- translate ----

    /// The walk the MMU would do for `va`, step by step (never changes anything).
    pub fn trace(&self, va: VirtAddr) -> PageWalk {
        let pde = self.read_entry(self.directory, va.pdx());
        let table = if pde.is_present() && !pde.is_large() {
            Some(TableStep {
                table: pde.frame(),
                pte: self.read_entry(pde.frame(), va.ptx()),
            })
        } else {
            None
        };
        PageWalk {
            va,
            directory: self.directory,
            pde,
            table,
        }
    }

    /// The physical address `va` maps to, through a PTE or a 4 MiB PDE, or
    /// `None` when it is not mapped.
    pub fn translate(&self, va: VirtAddr) -> Option<PhysAddr> {
        self.trace(va).phys()
    }

    /// The frame and flags of a page mapped by a PTE, or `None` (not mapped
    /// or inside a 4 MiB page).
    pub fn mapping(&self, page: Page) -> Option<(Frame, EntryFlags)> {
        if page.number() >= PAGE_LIMIT {
            return None;
        }
        let step = self.trace(page.start_address()).table?;
        step.pte
            .is_present()
            .then(|| (step.pte.frame(), step.pte.flags()))
    }

    // ---- single pages ----

    /// Map `page` to `frame` with `flags` (PRESENT is added), creating its
    /// page table if needed. A page already mapped is an error, never overwritten.
    pub fn map(
        &mut self,
        page: Page,
        frame: Frame,
        flags: EntryFlags,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        let mut op = RangeOp::new(page.start_address().as_u32() as u64);
        let r = self.map_one(&mut op, page, frame, flags, frames);
        if r.is_err() {
            self.undo(op, Owned::Keep, frames);
        }
        r
    }

    /// Allocate a frame, zero it if asked, and map it at `page` marked
    /// [`EntryFlags::OWNED`]; on failure the frame is given back.
    pub fn map_new(
        &mut self,
        page: Page,
        flags: EntryFlags,
        zero: ZeroFill,
        frames: &mut dyn FrameAllocator,
    ) -> Result<Frame, MapError> {
        self.check_page(page)?;
        if flags.contains(EntryFlags::HUGE) {
            return Err(MapError::BadFlags);
        }
        let frame = frames.allocate().ok_or(MapError::NoFrames)?;
        if zero == ZeroFill::Yes {
            self.zero_frame(frame);
        }
        match self.map(page, frame, flags | EntryFlags::OWNED, frames) {
            Ok(()) => Ok(frame),
            Err(e) => {
                let freed = frames.free(frame);
                debug_assert!(freed.is_ok(), "map_new: cannot return {frame:?}");
                Err(e)
            }
        }
    }

    /// One page, recorded in `op` (tables created, and `done` advanced).
    fn map_one(
        &mut self,
        op: &mut RangeOp,
        page: Page,
        frame: Frame,
        flags: EntryFlags,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        self.check_page(page)?;
        if frame.number() >= PAGE_LIMIT {
            return Err(MapError::BadRange);
        }
        if flags.contains(EntryFlags::HUGE) {
            return Err(MapError::BadFlags);
        }
        let va = page.start_address();
        let (slot, created) = match self.walk_tracked(va, Alloc::Yes(frames)) {
            Ok(x) => x,
            Err(WalkError::LargePage) => return Err(MapError::LargePage(page)),
            Err(WalkError::OutOfScope) => return Err(MapError::OutOfScope(page)),
            Err(WalkError::NoFrames | WalkError::NoTable) => return Err(MapError::NoFrames),
        };
        if created {
            op.created.insert(va.pdx());
        }
        if self.read_pte(slot).is_present() {
            return Err(MapError::AlreadyMapped(page));
        }
        self.write_entry(
            slot.table,
            slot.index,
            Entry::new(frame, flags | EntryFlags::PRESENT),
        );
        op.done += PAGE;
        Ok(())
    }

    /// Remove the mapping of `page` and return its frame, after flushing the
    /// TLB entry. The frame is not freed; the page table stays.
    pub fn unmap(&mut self, page: Page) -> Result<Frame, UnmapError> {
        let slot = self.mapped_slot(page)?;
        let frame = self.read_pte(slot).frame();
        self.write_entry(slot.table, slot.index, Entry::EMPTY);
        self.tlb.flush_page(page);
        Ok(frame)
    }

    /// The slot of a page mapped by a PTE, or why there is none.
    fn mapped_slot(&mut self, page: Page) -> Result<PteSlot, UnmapError> {
        self.check_page(page).map_err(|e| match e {
            MapError::Reserved(p) => UnmapError::Reserved(p),
            MapError::OutOfScope(p) => UnmapError::OutOfScope(p),
            _ => UnmapError::BadRange,
        })?;
        let slot = match self.walk(page.start_address(), Alloc::No) {
            Ok(slot) => slot,
            Err(WalkError::LargePage) => return Err(UnmapError::LargePage(page)),
            Err(_) => return Err(UnmapError::NotMapped(page)),
        };
        if !self.read_pte(slot).is_present() {
            return Err(UnmapError::NotMapped(page));
        }
        Ok(slot)
    }

    // ---- 4 MiB pages ----

    /// Map the 4 MiB page at `va` to physical `pa` with one PDE (PS set;
    /// needs CR4.PSE). Both must be 4 MiB aligned; a PDE already present
    /// (a 4 MiB page or a page table, even an empty one) is `AlreadyMapped`.
    pub fn map_large(
        &mut self,
        va: VirtAddr,
        pa: PhysAddr,
        flags: EntryFlags,
    ) -> Result<(), MapError> {
        let page = Page::containing_address(va);
        if !(va.as_u32() as u64).is_multiple_of(LARGE)
            || !(pa.as_u32() as u64).is_multiple_of(LARGE)
        {
            return Err(MapError::Unaligned);
        }
        self.check_page(page)?;
        let pdx = va.pdx();
        if self.read_entry(self.directory, pdx).is_present() {
            return Err(MapError::AlreadyMapped(page));
        }
        self.write_entry(
            self.directory,
            pdx,
            Entry::new_large(pa, flags | EntryFlags::PRESENT),
        );
        Ok(())
    }

    /// Remove the 4 MiB mapping at `va` (4 MiB aligned) and return its
    /// physical address, after flushing the TLB.
    pub fn unmap_large(&mut self, va: VirtAddr) -> Result<PhysAddr, UnmapError> {
        let page = Page::containing_address(va);
        if !(va.as_u32() as u64).is_multiple_of(LARGE) {
            return Err(UnmapError::Unaligned);
        }
        if va.pdx() == RECURSIVE_INDEX {
            return Err(UnmapError::Reserved(page));
        }
        if self.scope == Scope::User && va.as_u32() >= KERNEL_BASE {
            return Err(UnmapError::OutOfScope(page));
        }
        let pde = self.read_entry(self.directory, va.pdx());
        if !pde.is_large() {
            return Err(UnmapError::NotMapped(page));
        }
        self.write_entry(self.directory, va.pdx(), Entry::EMPTY);
        self.tlb.flush_page(page);
        Ok(pde.large_addr())
    }

    // ---- ranges ----

    /// Map `len` bytes at `va` to the physical range at `pa`, page by page
    /// (FreeNOS `mapRangeContiguous` with the frames given). All three must be
    /// page aligned; on failure nothing stays mapped.
    pub fn map_range_contiguous(
        &mut self,
        va: VirtAddr,
        pa: PhysAddr,
        len: usize,
        flags: EntryFlags,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        let end = check_range(va.as_u32() as u64, len)?;
        if !pa.is_page_aligned() {
            return Err(MapError::Unaligned);
        }
        if pa.as_u32() as u64 + len as u64 > SPACE_END {
            return Err(MapError::BadRange);
        }
        let mut op = RangeOp::new(va.as_u32() as u64);
        let delta = (pa.as_u32() as u64).wrapping_sub(op.start);
        let r = self.map_small_until(&mut op, end, delta, flags, frames);
        if r.is_err() {
            self.undo(op, Owned::Keep, frames);
        }
        r
    }

    /// Map `[op.cursor(), end)` with 4 KiB pages to `va + delta` (mod 2^64).
    fn map_small_until(
        &mut self,
        op: &mut RangeOp,
        end: u64,
        delta: u64,
        flags: EntryFlags,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        while op.cursor() < end {
            let va = op.cursor();
            let pa = va.wrapping_add(delta);
            self.map_one(op, page_at(va), Frame((pa / PAGE) as u32), flags, frames)?;
        }
        Ok(())
    }

    /// Map `len` bytes at `va` to fresh frames that need not be contiguous,
    /// drawn eight at a time through a callback (FreeNOS `mapRangeSparse`).
    /// Each page is marked [`EntryFlags::OWNED`]; on failure every frame
    /// drawn and every table created is given back.
    pub fn map_range_sparse(
        &mut self,
        va: VirtAddr,
        len: usize,
        flags: EntryFlags,
        zero: ZeroFill,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        check_range(va.as_u32() as u64, len)?;
        if flags.contains(EntryFlags::HUGE) {
            return Err(MapError::BadFlags);
        }
        let mut op = RangeOp::new(va.as_u32() as u64);
        let flags = flags | EntryFlags::OWNED;
        let r = draw_sparse(frames, len / PAGE_SIZE, |chunk, frames| {
            for (i, &frame) in chunk.iter().enumerate() {
                if zero == ZeroFill::Yes {
                    self.zero_frame(frame);
                }
                let page = page_at(op.cursor());
                if let Err(e) = self.map_one(&mut op, page, frame, flags, frames) {
                    // The chunk is ours: return the frames not mapped.
                    for &f in &chunk[i..] {
                        let freed = frames.free(f);
                        debug_assert!(freed.is_ok(), "map_range_sparse: cannot return {f:?}");
                    }
                    return Err(e);
                }
            }
            Ok(())
        });
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                self.undo(op, Owned::Free, frames);
                Err(match e {
                    SparseError::NoFrames { .. } => MapError::NoFrames,
                    SparseError::Callback(e) => e,
                })
            }
        }
    }

    /// Map physical `[phys, phys + len)` at `phys + KERNEL_BASE`, the kernel's
    /// linear space (seed 002's `pagetable_map_linear`), with 4 KiB pages or
    /// with 4 MiB pages where whole aligned 4 MiB fit. The range must be page
    /// aligned and inside the linear space; on failure nothing stays mapped.
    pub fn map_linear(
        &mut self,
        phys: PhysAddr,
        len: usize,
        flags: EntryFlags,
        size: PageSize,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        let pa = phys.as_u32() as u64;
        let pa_end = check_range(pa, len)?;
        if pa_end > LINEAR_SPACE_SIZE as u64 {
            return Err(MapError::BadRange);
        }
        let mut op = RangeOp::new(pa + KERNEL_BASE as u64);
        let r = self.map_linear_steps(&mut op, pa_end + KERNEL_BASE as u64, flags, size, frames);
        if r.is_err() {
            self.undo(op, Owned::Keep, frames);
        }
        r
    }

    fn map_linear_steps(
        &mut self,
        op: &mut RangeOp,
        end: u64,
        flags: EntryFlags,
        size: PageSize,
        frames: &mut dyn FrameAllocator,
    ) -> Result<(), MapError> {
        let delta = 0u64.wrapping_sub(KERNEL_BASE as u64);
        if size == PageSize::Small {
            return self.map_small_until(op, end, delta, flags, frames);
        }
        let head_end = op.start.next_multiple_of(LARGE).min(end);
        self.map_small_until(op, head_end, delta, flags, frames)?;
        while op.cursor() + LARGE <= end {
            let va = op.cursor();
            self.map_large(
                VirtAddr(va as u32),
                PhysAddr(va.wrapping_add(delta) as u32),
                flags,
            )?;
            op.done += LARGE;
        }
        self.map_small_until(op, end, delta, flags, frames)
    }

    /// Make sure a page table exists for every 4 MiB that `[va, va + len)`
    /// touches, without mapping pages; returns how many were created. The
    /// kernel does this once for its whole half so that every address space,
    /// which copies the kernel PDEs when it is created, shares the same tables.
    pub fn prepare_tables(
        &mut self,
        va: VirtAddr,
        len: usize,
        frames: &mut dyn FrameAllocator,
    ) -> Result<usize, MapError> {
        let end = check_range(va.as_u32() as u64, len)?;
        let mut op = RangeOp::new(va.as_u32() as u64);
        let mut created = 0;
        let mut cur = va.as_u32() as u64;
        while cur < end {
            let page = page_at(cur);
            let r = self.check_page(page).and_then(|()| {
                match self.walk_tracked(page.start_address(), Alloc::Yes(frames)) {
                    Ok((_, c)) => Ok(c),
                    Err(WalkError::LargePage) => Err(MapError::LargePage(page)),
                    Err(WalkError::OutOfScope) => Err(MapError::OutOfScope(page)),
                    Err(WalkError::NoFrames | WalkError::NoTable) => Err(MapError::NoFrames),
                }
            });
            match r {
                Ok(true) => {
                    op.created.insert(page.start_address().pdx());
                    created += 1;
                }
                Ok(false) => {}
                Err(e) => {
                    self.undo(op, Owned::Keep, frames);
                    return Err(e);
                }
            }
            cur = (cur / LARGE + 1) * LARGE;
        }
        Ok(created)
    }

    /// Unmap every page of `[va, va + len)` (all must be mapped by PTEs, or
    /// nothing is changed), flushing each from the TLB, and free the frames
    /// marked OWNED when asked. Returns the number of pages unmapped.
    pub fn unmap_range(
        &mut self,
        va: VirtAddr,
        len: usize,
        mut release: Release<'_>,
    ) -> Result<usize, UnmapError> {
        let end = check_range(va.as_u32() as u64, len).map_err(|e| match e {
            MapError::Unaligned => UnmapError::Unaligned,
            _ => UnmapError::BadRange,
        })?;
        let start = va.as_u32() as u64;
        let pages = || (start..end).step_by(PAGE_SIZE).map(page_at);
        for page in pages() {
            self.mapped_slot(page)?;
        }
        let mut failed = None;
        for page in pages() {
            let Ok(slot) = self.mapped_slot(page) else {
                panic!("unmap_range: {page:?} vanished between the passes");
            };
            let pte = self.read_pte(slot);
            self.write_entry(slot.table, slot.index, Entry::EMPTY);
            self.tlb.flush_page(page);
            if let Release::OwnedFrames(frames) = &mut release
                && pte.flags().contains(EntryFlags::OWNED)
                && let Err(error) = frames.free(pte.frame())
            {
                failed.get_or_insert(UnmapError::FreeFailed { page, error });
            }
        }
        match failed {
            None => Ok(((end - start) / PAGE) as usize),
            Some(e) => Err(e),
        }
    }

    /// Take back what a failed range operation did: unmap `[start, start +
    /// done)` (4 KiB and 4 MiB entries), free OWNED frames if asked, and free
    /// the page tables it created (empty again by then).
    fn undo(&mut self, op: RangeOp, owned: Owned, frames: &mut dyn FrameAllocator) {
        let end = op.cursor();
        let mut va = op.start;
        while va < end {
            let v = VirtAddr(va as u32);
            let pde = self.read_entry(self.directory, v.pdx());
            if pde.is_large() {
                self.write_entry(self.directory, v.pdx(), Entry::EMPTY);
                self.tlb.flush_page(page_at(va));
                va += LARGE;
                continue;
            }
            if pde.is_present() {
                let pte = self.read_entry(pde.frame(), v.ptx());
                self.write_entry(pde.frame(), v.ptx(), Entry::EMPTY);
                self.tlb.flush_page(page_at(va));
                if owned == Owned::Free && pte.flags().contains(EntryFlags::OWNED) {
                    let freed = frames.free(pte.frame());
                    debug_assert!(freed.is_ok(), "undo: cannot return {:?}", pte.frame());
                }
            }
            va += PAGE;
        }
        for pdx in 0..ENTRIES_PER_TABLE {
            if !op.created.contains(pdx) {
                continue;
            }
            let pde = self.read_entry(self.directory, pdx);
            debug_assert!(
                (0..ENTRIES_PER_TABLE).all(|i| !self.read_entry(pde.frame(), i).is_present()),
                "undo: table {pdx} created by the operation is not empty"
            );
            self.write_entry(self.directory, pdx, Entry::EMPTY);
            self.tlb
                .flush_page(Page((pdx as u32) << (PDX_SHIFT - PAGE_SHIFT)));
            let freed = frames.free(pde.frame());
            debug_assert!(freed.is_ok(), "undo: cannot return table {:?}", pde.frame());
        }
    }

    // ---- integrity ----

    /// Check the directory's invariants: the recursive slot (if present)
    /// points at the directory and is kernel-only; no other PDE points at the
    /// directory; no two PDEs share a table; table PDEs are writable and user
    /// exactly in the user half; 4 MiB PDEs have no reserved bits; no PTE has
    /// the PAT bit. With `frames`, every table and every OWNED frame must be
    /// allocated there. Returns counts of what is mapped.
    pub fn check(&self, frames: Option<&dyn FrameAllocator>) -> Result<MapperCheck, CheckError> {
        let mut report = MapperCheck::default();
        for pdx in 0..ENTRIES_PER_TABLE {
            let pde = self.read_entry(self.directory, pdx);
            if !pde.is_present() {
                continue;
            }
            if pdx == RECURSIVE_INDEX && pde.frame() == self.directory {
                let bad = EntryFlags::USER | EntryFlags::HUGE;
                if pde.flags().intersects(bad) {
                    return Err(CheckError::RecursiveSlot { raw: pde.raw() });
                }
                report.recursive = true;
                continue;
            }
            if pdx == RECURSIVE_INDEX {
                return Err(CheckError::RecursiveSlot { raw: pde.raw() });
            }
            if pde.is_large() {
                if pde.raw() & super::entry::LARGE_RESERVED_MASK != 0 {
                    return Err(CheckError::LargeReserved {
                        pdx,
                        raw: pde.raw(),
                    });
                }
                report.large += 1;
                continue;
            }
            if pde.frame() == self.directory {
                return Err(CheckError::DirectoryAsTable { pdx });
            }
            let user = pde.flags().contains(EntryFlags::USER);
            if !pde.flags().contains(EntryFlags::WRITABLE) || user != (pdx < KERNEL_PDX) {
                return Err(CheckError::TableFlags {
                    pdx,
                    raw: pde.raw(),
                });
            }
            for other in 0..pdx {
                let o = self.read_entry(self.directory, other);
                if o.is_present() && !o.is_large() && o.frame() == pde.frame() {
                    return Err(CheckError::SharedTable { pdx, other });
                }
            }
            if let Some(f) = frames
                && !f.is_allocated(pde.frame())
            {
                return Err(CheckError::NotAllocated { pdx, ptx: None });
            }
            report.tables += 1;
            for ptx in 0..ENTRIES_PER_TABLE {
                let pte = self.read_entry(pde.frame(), ptx);
                if !pte.is_present() {
                    continue;
                }
                if pte.flags().contains(EntryFlags::HUGE) {
                    return Err(CheckError::PteFlags {
                        pdx,
                        ptx,
                        raw: pte.raw(),
                    });
                }
                if pte.flags().contains(EntryFlags::OWNED) {
                    report.owned += 1;
                    if let Some(f) = frames
                        && !f.is_allocated(pte.frame())
                    {
                        return Err(CheckError::NotAllocated {
                            pdx,
                            ptx: Some(ptx),
                        });
                    }
                }
                report.pages += 1;
            }
        }
        Ok(report)
    }
}

/// Whether `undo` frees the OWNED frames it unmaps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owned {
    Free,
    Keep,
}

/// What `Mapper::check` counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapperCheck {
    /// Page tables (not counting the recursive slot).
    pub tables: usize,
    /// 4 KiB pages mapped by PTEs.
    pub pages: usize,
    /// Of those, pages marked OWNED.
    pub owned: usize,
    /// 4 MiB pages.
    pub large: usize,
    /// True when PD[1023] is the recursive slot.
    pub recursive: bool,
}

/// A broken invariant found by `Mapper::check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckError {
    /// PD[1023] is present but is not a kernel-only entry pointing at the directory.
    RecursiveSlot {
        /// The entry.
        raw: u32,
    },
    /// A PDE other than PD[1023] points at the directory.
    DirectoryAsTable {
        /// Its index.
        pdx: usize,
    },
    /// Two PDEs point at the same page table.
    SharedTable {
        /// The later index.
        pdx: usize,
        /// The earlier index.
        other: usize,
    },
    /// A table PDE is read-only, or its user bit does not match its half.
    TableFlags {
        /// Its index.
        pdx: usize,
        /// The entry.
        raw: u32,
    },
    /// A 4 MiB PDE has reserved bits 21..13 set.
    LargeReserved {
        /// Its index.
        pdx: usize,
        /// The entry.
        raw: u32,
    },
    /// A PTE has the PAT bit (bit 7), which Cairn never sets.
    PteFlags {
        /// Directory index.
        pdx: usize,
        /// Table index.
        ptx: usize,
        /// The entry.
        raw: u32,
    },
    /// A page table (`ptx` None) or an OWNED frame is not allocated in the allocator given.
    NotAllocated {
        /// Directory index.
        pdx: usize,
        /// Table index of the OWNED page, `None` for the table itself.
        ptx: Option<usize>,
    },
}
