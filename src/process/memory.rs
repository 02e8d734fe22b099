//! One process's user memory, the pure part: the break, the stack reserve,
//! anonymous mappings, demand paging, the argument page and the checks of
//! user pointers. The kernel calls it with the process's mapper; host tests
//! call it over `SimMemory`.
//!
//! ```text
//!  0xBFC0_0000 +---------------------+ USER_ARGS_START: argc, argv[], strings (one page)
//!              | stack  (grows down) |  mapped on first touch, USER_STACK_MAX at most
//!              +---------------------+ stack bottom
//!              | guard page          |  a touch here: "stack overflow"
//!              +---------------------+
//!              :                     :
//!  0xA000_0000 | shared regions      |  share(key): the same frames in every space
//!  0x6000_0000 | mmap'd memory       |  mapped at once, zeroed
//!              :                     :
//!              +---------------------+ break (sbrk moves it; nothing mapped yet)
//!              | heap  (grows up)    |  mapped on first touch
//!  0x1000_0000 +---------------------+ USER_HEAP_START
//!              | text, data, bss     |  the ELF loader
//!  0x0040_0000 +---------------------+
//! ```
//!
//! Demand paging: `sbrk` and the stack only reserve address space. A fault
//! inside `[USER_HEAP_START, break)` or inside the stack reserve maps one
//! zeroed frame; any other fault kills the process with a cause.
//!
//! Frame accounting: every frame this module (or the loader) takes for the
//! process is counted from the allocator's free count before and after, so
//! `owned` is exact: pages and page tables alike.

use super::abi::{Errno, MAX_ARGS, MMAP_MAX, USER_FRAME_LIMIT, USER_HEAP_MAX, USER_STACK_MAX};
use crate::mm::addr::{Page, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::{PAGE_SIZE, USER_END, USER_START};
use crate::mm::paging::{EntryFlags, Mapper, Release, TlbFlush, ZeroFill};
use crate::mm::phys::PhysMemory;
use crate::mm::vm::PageFaultCode;
use crate::mm::vm::region::{
    USER_ARGS_START, USER_HEAP_START, USER_PRIVATE_START, USER_SHARE_START, USER_STACK_START,
};
use core::fmt;

const PAGE: u32 = PAGE_SIZE as u32;

/// Lowest address of the stack reserve.
pub const STACK_BOTTOM: u32 = USER_ARGS_START - USER_STACK_MAX as u32;
/// The guard page just below the stack reserve.
pub const STACK_GUARD: u32 = STACK_BOTTOM - PAGE;

/// Which demand region a fault was served in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemandRegion {
    /// Between the heap start and the break.
    Heap,
    /// Inside the stack reserve.
    Stack,
}

/// Why a user fault is fatal to the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillCause {
    /// Page 0: a null pointer.
    NullPointer,
    /// The kernel half: user mode may not touch it.
    KernelAddress,
    /// A present page written but read-only (program text).
    WriteToReadOnly,
    /// A present page the process may not use in this way.
    Protection,
    /// Below the stack reserve: the stack outgrew `USER_STACK_MAX`.
    StackOverflow,
    /// Above the break, below the private mappings: the heap is not that big.
    PastBreak,
    /// No region maps anything there.
    Unmapped,
    /// The process owns `USER_FRAME_LIMIT` frames already.
    FrameLimit,
    /// The kernel had no frame left.
    NoMemory,
}

impl KillCause {
    /// One line of explanation.
    pub const fn explain(self) -> &'static str {
        match self {
            KillCause::NullPointer => "null pointer (page 0 is never mapped)",
            KillCause::KernelAddress => "user mode touched the kernel half",
            KillCause::WriteToReadOnly => "write to a read-only page (program text?)",
            KillCause::Protection => "protection violation",
            KillCause::StackOverflow => "stack overflow: past the stack reserve into its guard",
            KillCause::PastBreak => "heap access above the break (sbrk first)",
            KillCause::Unmapped => "nothing is mapped there",
            KillCause::FrameLimit => "the process reached its frame limit",
            KillCause::NoMemory => "no physical frame left",
        }
    }
}

impl fmt::Display for KillCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.explain())
    }
}

/// Demand faults served, per region.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Heap pages mapped on first touch.
    pub heap: usize,
    /// Stack pages mapped on first touch.
    pub stack: usize,
}

/// The most `mmap`s one process holds at once.
pub const MAX_MMAPS: usize = 16;

/// One process's user memory (everything but the ELF image, which the
/// loader maps). Fixed-size: no call allocates from the kernel heap (the
/// kernel calls them with its memory lock held).
#[derive(Debug)]
pub struct UserMemory {
    brk: u32,
    mmaps: [(u32, u32); MAX_MMAPS],
    mmap_count: usize,
    owned: usize,
    limit: usize,
    /// Demand faults served.
    pub faults: FaultCounts,
}

impl Default for UserMemory {
    fn default() -> Self {
        UserMemory::new()
    }
}

/// Where a user buffer is going: read by the kernel or written by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The kernel reads the buffer (`write`'s data, a name).
    Read,
    /// The kernel writes the buffer (`read`'s data, a status).
    Write,
}

/// Check that `[addr, addr + len)` lies inside the user half without
/// wrapping; `len == 0` is allowed anywhere in it.
pub fn check_user_range(addr: u32, len: usize) -> Result<(), Errno> {
    let end = (addr as u64) + len as u64;
    if addr < USER_START || end > USER_END as u64 {
        return Err(Errno::Fault);
    }
    Ok(())
}

impl UserMemory {
    /// An empty memory: break at the heap start, no mappings, limit
    /// `USER_FRAME_LIMIT` frames.
    pub fn new() -> UserMemory {
        UserMemory {
            brk: USER_HEAP_START,
            mmaps: [(0, 0); MAX_MMAPS],
            mmap_count: 0,
            owned: 0,
            limit: USER_FRAME_LIMIT,
            faults: FaultCounts::default(),
        }
    }

    /// Change the frame limit (tests use a small one).
    pub fn set_limit(&mut self, frames: usize) {
        self.limit = frames;
    }

    /// The current break.
    pub fn brk(&self) -> u32 {
        self.brk
    }

    /// Bytes between the heap start and the break.
    pub fn heap_size(&self) -> usize {
        (self.brk - USER_HEAP_START) as usize
    }

    /// Frames taken for this process so far (pages and page tables).
    pub fn owned(&self) -> usize {
        self.owned
    }

    /// Count the frames `f` takes from (or gives back to) `frames`.
    fn account<R>(
        &mut self,
        frames: &mut dyn FrameAllocator,
        f: impl FnOnce(&mut dyn FrameAllocator) -> R,
    ) -> R {
        let before = frames.free_count();
        let r = f(frames);
        let after = frames.free_count();
        self.owned = (self.owned + before).saturating_sub(after);
        r
    }

    /// Record frames taken outside this module (the ELF loader's), from the
    /// free counts before and after.
    pub fn charge(&mut self, before: usize, after: usize) {
        self.owned = (self.owned + before).saturating_sub(after);
    }

    /// What a fault at `addr` with `code` means: a page to map, or a cause to die.
    pub fn decide(&self, addr: u32, code: PageFaultCode) -> Result<DemandRegion, KillCause> {
        if addr < USER_START {
            return Err(KillCause::NullPointer);
        }
        if addr >= USER_END {
            return Err(KillCause::KernelAddress);
        }
        if code.contains(PageFaultCode::PRESENT) {
            return Err(if code.contains(PageFaultCode::WRITE) {
                KillCause::WriteToReadOnly
            } else {
                KillCause::Protection
            });
        }
        if (USER_HEAP_START..self.brk).contains(&addr) {
            return Ok(DemandRegion::Heap);
        }
        if (STACK_BOTTOM..USER_ARGS_START).contains(&addr) {
            return Ok(DemandRegion::Stack);
        }
        if (USER_STACK_START..STACK_BOTTOM).contains(&addr) {
            return Err(KillCause::StackOverflow);
        }
        if (self.brk..USER_PRIVATE_START).contains(&addr) {
            return Err(KillCause::PastBreak);
        }
        Err(KillCause::Unmapped)
    }

    /// Serve a user page fault at `addr`: map a zeroed frame if the address
    /// is in a demand region and the process is under its limit, else say
    /// why the process must die. Nothing changes on `Err`.
    pub fn fault<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        addr: u32,
        code: PageFaultCode,
    ) -> Result<DemandRegion, KillCause> {
        let region = self.decide(addr, code)?;
        // One page plus, perhaps, its page table.
        if self.owned + 2 > self.limit {
            return Err(KillCause::FrameLimit);
        }
        let page = Page::containing_address(VirtAddr(addr));
        let flags = EntryFlags::USER | EntryFlags::WRITABLE;
        self.account(frames, |f| mapper.map_new(page, flags, ZeroFill::Yes, f))
            .map_err(|_| KillCause::NoMemory)?;
        match region {
            DemandRegion::Heap => self.faults.heap += 1,
            DemandRegion::Stack => self.faults.stack += 1,
        }
        Ok(region)
    }

    /// Make `[addr, addr + len)` usable by the kernel for `access`: inside the
    /// user half, every page mapped USER (and WRITABLE for `Access::Write`);
    /// an empty range is always fine (Rust's empty slices dangle);
    /// pages of the demand regions not touched yet are mapped now, as the
    /// process's own touch would. Any other hole is `Errno::Fault`.
    pub fn prepare<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        addr: u32,
        len: usize,
        access: Access,
    ) -> Result<(), Errno> {
        if len == 0 {
            return Ok(()); // an empty buffer touches nothing, wherever it points
        }
        check_user_range(addr, len)?;
        let first = addr & !(PAGE - 1);
        let last = (addr + (len as u32 - 1)) & !(PAGE - 1);
        let mut va = first;
        loop {
            let page = Page::containing_address(VirtAddr(va));
            match mapper.mapping(page) {
                Some((_, flags)) => {
                    if !flags.contains(EntryFlags::USER)
                        || (access == Access::Write && !flags.contains(EntryFlags::WRITABLE))
                    {
                        return Err(Errno::Fault);
                    }
                }
                None => {
                    let mut code = PageFaultCode::USER;
                    if access == Access::Write {
                        code |= PageFaultCode::WRITE;
                    }
                    self.fault(mapper, frames, va, code)
                        .map_err(|_| Errno::Fault)?;
                }
            }
            if va == last {
                return Ok(());
            }
            va += PAGE;
        }
    }

    /// `sbrk(increment)`: move the break and return the old one. Growing
    /// only reserves; shrinking unmaps the pages wholly above the new break
    /// that were touched. Past `USER_HEAP_MAX` or below the heap start: an
    /// error, nothing changed.
    pub fn sbrk<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        increment: i32,
    ) -> Result<u32, Errno> {
        let old = self.brk;
        let new = old as i64 + increment as i64;
        if new < USER_HEAP_START as i64 {
            return Err(Errno::Inval);
        }
        if new > USER_HEAP_START as i64 + USER_HEAP_MAX as i64 {
            return Err(Errno::NoMem);
        }
        let new = new as u32;
        if new < old {
            let from = new.next_multiple_of(PAGE);
            let to = old.next_multiple_of(PAGE);
            for va in (from..to).step_by(PAGE_SIZE) {
                let page = Page::containing_address(VirtAddr(va));
                if mapper.mapping(page).is_some() {
                    let r = self.account(frames, |f| {
                        mapper.unmap_range(VirtAddr(va), PAGE_SIZE, Release::OwnedFrames, f)
                    });
                    debug_assert!(r.is_ok(), "sbrk: unmap of a mapped page failed");
                }
            }
        }
        self.brk = new;
        Ok(old)
    }

    /// `mmap(len)`: map `len` bytes (rounded up to pages) of zeroed memory in
    /// the private region, at the lowest gap that fits; returns the address.
    pub fn mmap<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        len: usize,
    ) -> Result<u32, Errno> {
        if len == 0 || len > MMAP_MAX {
            return Err(Errno::Inval);
        }
        if self.mmap_count == MAX_MMAPS {
            return Err(Errno::NoMem);
        }
        let len = len.next_multiple_of(PAGE_SIZE) as u32;
        if self.owned + (len / PAGE) as usize + 2 > self.limit {
            return Err(Errno::NoMem);
        }
        let mut at = USER_PRIVATE_START;
        for &(start, l) in self.mappings() {
            if at + len <= start {
                break;
            }
            at = start + l;
        }
        if at + len > USER_SHARE_START {
            return Err(Errno::NoMem);
        }
        let flags = EntryFlags::USER | EntryFlags::WRITABLE;
        self.account(frames, |f| {
            mapper.map_range_sparse(VirtAddr(at), len as usize, flags, ZeroFill::Yes, f)
        })
        .map_err(|_| Errno::NoMem)?;
        let i = self.mappings().partition_point(|&(s, _)| s < at);
        self.mmaps.copy_within(i..self.mmap_count, i + 1);
        self.mmaps[i] = (at, len);
        self.mmap_count += 1;
        Ok(at)
    }

    /// `munmap(addr, len)`: unmap exactly one earlier mapping (`len` rounded
    /// up to pages) and free its frames.
    pub fn munmap<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        addr: u32,
        len: usize,
    ) -> Result<(), Errno> {
        let len = len.next_multiple_of(PAGE_SIZE) as u32;
        let i = self
            .mappings()
            .iter()
            .position(|&m| m == (addr, len))
            .ok_or(Errno::Inval)?;
        self.account(frames, |f| {
            mapper.unmap_range(VirtAddr(addr), len as usize, Release::OwnedFrames, f)
        })
        .map_err(|_| Errno::Inval)?;
        self.mmaps.copy_within(i + 1..self.mmap_count, i);
        self.mmap_count -= 1;
        Ok(())
    }

    /// The anonymous mappings: (start, length).
    pub fn mappings(&self) -> &[(u32, u32)] {
        &self.mmaps[..self.mmap_count]
    }

    /// Map the argument page at `USER_ARGS_START` and fill it:
    /// `argc`, then `argv[argc + 1]` (pointers, the last null), then the
    /// NUL-terminated strings. Returns (argc, argv's address).
    pub fn setup_args<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        args: &[&str],
    ) -> Result<(u32, u32), Errno> {
        // Checked before anything is mapped; then written straight into the
        // frame: a page-sized buffer on a process's 16 KiB kernel stack (a
        // spawn from a system call runs there) would overflow it.
        args_fit(args)?;
        let frame = self
            .account(frames, |f| {
                mapper.map_new(
                    Page::containing_address(VirtAddr(USER_ARGS_START)),
                    EntryFlags::USER,
                    ZeroFill::Yes,
                    f,
                )
            })
            .map_err(|_| Errno::NoMem)?;
        let dst = mapper.mem().frame_ptr(frame);
        // SAFETY: the frame was just allocated (and zeroed) for this page
        // alone; `frame_ptr` maps its PAGE_SIZE bytes while we hold it.
        let page = unsafe { core::slice::from_raw_parts_mut(dst, PAGE_SIZE) };
        write_args(args, USER_ARGS_START, page)?;
        Ok((args.len() as u32, USER_ARGS_START + 4))
    }
}

/// `Ok` when `args` fit in the argument page: at most `MAX_ARGS`, no NUL
/// inside, the pointers and the strings within one page; else `Inval`.
pub fn args_fit(args: &[&str]) -> Result<(), Errno> {
    if args.len() > MAX_ARGS {
        return Err(Errno::Inval);
    }
    let mut at = 4 + (args.len() + 1) * 4;
    for a in args {
        if a.as_bytes().contains(&0) || at + a.len() + 1 > PAGE_SIZE {
            return Err(Errno::Inval);
        }
        at += a.len() + 1;
    }
    Ok(())
}

/// Write the argument page for `args`, to be mapped at `base`, into `page`
/// (zeroed, `PAGE_SIZE` bytes): `argc`, `argv[argc + 1]` (the last null),
/// then the NUL-terminated strings. `Inval` (and `page` untouched) when
/// they do not fit ([`args_fit`]).
pub fn write_args(args: &[&str], base: u32, page: &mut [u8]) -> Result<(), Errno> {
    args_fit(args)?;
    if page.len() < PAGE_SIZE {
        return Err(Errno::Inval);
    }
    let argc = args.len();
    page[..4].copy_from_slice(&(argc as u32).to_le_bytes());
    let mut at = 4 + (argc + 1) * 4;
    for (i, a) in args.iter().enumerate() {
        let ptr = base + at as u32;
        page[4 + i * 4..8 + i * 4].copy_from_slice(&ptr.to_le_bytes());
        page[at..at + a.len()].copy_from_slice(a.as_bytes());
        at += a.len() + 1;
    }
    Ok(())
}

/// The argument page's bytes for `args`, to be mapped at `base` (the host
/// tests read it; the kernel writes straight into the frame).
#[cfg(test)]
pub fn build_args(args: &[&str], base: u32) -> Result<[u8; PAGE_SIZE], Errno> {
    let mut page = [0u8; PAGE_SIZE];
    write_args(args, base, &mut page)?;
    Ok(page)
}
