//! The ELF32 loader: check a program's headers, then map its segments into a
//! fresh user address space (text read-only, data and bss writable and
//! zeroed). Parsing is the `elf` crate's (no `unsafe`, no allocation, every
//! offset bounds-checked, fuzzed upstream); the policy is Cairn's.
//!
//! ```text
//!   file                           address space (user data region)
//!  +--------+                     0x0040_0000 +----------------+
//!  | ehdr   |                                 | .text  r-x     | PT_LOAD R+X -> USER
//!  | phdrs  |--- PT_LOAD R X ---------------> +----------------+
//!  | .text  |                                 | .rodata r--    |
//!  | .data  |--- PT_LOAD R W ---------------> +----------------+
//!  +--------+    (memsz > filesz: bss zeroed) | .data .bss rw- | USER | WRITABLE
//!                                             +----------------+ <- image end: the heap starts above
//! ```
//!
//! Everything is checked before the first frame is taken ([`plan`]), so a
//! refused ELF changes nothing; [`load`] can then fail only for want of
//! frames, and the caller destroys the space, which frees every frame the
//! load took (they are mapped OWNED).

use crate::mm::addr::{Page, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, MapError, Mapper, TlbFlush, ZeroFill};
use crate::mm::phys::PhysMemory;
use crate::mm::vm::region::{USER_DATA_START, USER_HEAP_START};
use core::fmt;
use elf::ElfBytes;
use elf::abi::{EM_386, ET_EXEC, PF_W, PF_X, PT_DYNAMIC, PT_INTERP, PT_LOAD};
use elf::endian::LittleEndian;
use elf::file::Class;

/// The most loadable segments a program may have.
pub const MAX_SEGMENTS: usize = 8;

/// Why an ELF was refused. Nothing was mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The file is shorter than its headers say (or not ELF at all).
    Truncated,
    /// Not an ELF file (bad magic) or a header the parser rejects.
    Malformed,
    /// Not 32-bit little-endian i386.
    WrongMachine,
    /// Not an executable (`ET_EXEC`): relocatable, shared object, core.
    NotExecutable,
    /// Dynamically linked (`PT_INTERP` / `PT_DYNAMIC`): Cairn has no loader for that.
    Dynamic,
    /// No `PT_LOAD` segment.
    NoSegments,
    /// More than [`MAX_SEGMENTS`] loadable segments.
    TooManySegments,
    /// A segment's file bytes lie past the end of the file.
    SegmentPastFile { index: usize },
    /// A segment's `filesz` is larger than its `memsz`.
    FileLargerThanMemory { index: usize },
    /// A segment reaches into the kernel half (at or above 0xC000_0000).
    KernelHalf { index: usize, vaddr: u32 },
    /// A segment lies outside the user data region (0x0040_0000..0x1000_0000).
    OutsideDataRegion { index: usize, vaddr: u32 },
    /// Two segments share a page.
    Overlap { first: usize, second: usize },
    /// The entry point is not inside an executable segment's file bytes.
    BadEntry { entry: u32 },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ElfError::Truncated => f.write_str("truncated: the file is shorter than its headers"),
            ElfError::Malformed => f.write_str("not an ELF file (bad magic or header)"),
            ElfError::WrongMachine => f.write_str("not a 32-bit little-endian i386 ELF"),
            ElfError::NotExecutable => f.write_str("not an executable (ET_EXEC)"),
            ElfError::Dynamic => f.write_str("dynamically linked: no dynamic loader"),
            ElfError::NoSegments => f.write_str("no loadable segment"),
            ElfError::TooManySegments => write!(f, "more than {MAX_SEGMENTS} loadable segments"),
            ElfError::SegmentPastFile { index } => {
                write!(f, "segment {index}: its bytes lie past the end of the file")
            }
            ElfError::FileLargerThanMemory { index } => {
                write!(f, "segment {index}: filesz is larger than memsz")
            }
            ElfError::KernelHalf { index, vaddr } => {
                write!(
                    f,
                    "segment {index} at {vaddr:#010x} reaches into the kernel half"
                )
            }
            ElfError::OutsideDataRegion { index, vaddr } => write!(
                f,
                "segment {index} at {vaddr:#010x} lies outside the user data region \
                 ({USER_DATA_START:#010x}..{USER_HEAP_START:#010x})"
            ),
            ElfError::Overlap { first, second } => {
                write!(f, "segments {first} and {second} overlap (share a page)")
            }
            ElfError::BadEntry { entry } => {
                write!(
                    f,
                    "entry point {entry:#010x} is not in an executable segment"
                )
            }
        }
    }
}

/// One loadable segment, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Segment {
    /// First virtual address.
    pub vaddr: u32,
    /// Bytes in memory (the tail past `filesz` is zeroed: bss).
    pub memsz: u32,
    /// Offset of its bytes in the file.
    pub offset: u32,
    /// Bytes taken from the file.
    pub filesz: u32,
    /// Writable (data, bss) or read-only (text, rodata).
    pub writable: bool,
    /// Holds code.
    pub executable: bool,
}

impl Segment {
    /// First page.
    pub fn first_page(&self) -> u32 {
        self.vaddr & !(PAGE_SIZE as u32 - 1)
    }
    /// End of the last page (exclusive).
    pub fn end_page(&self) -> u32 {
        (self.vaddr + self.memsz).next_multiple_of(PAGE_SIZE as u32)
    }
    /// Pages it covers.
    pub fn pages(&self) -> usize {
        ((self.end_page() - self.first_page()) / PAGE_SIZE as u32) as usize
    }
}

/// A checked program: where its segments go and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    /// The entry point.
    pub entry: u32,
    segments: [Segment; MAX_SEGMENTS],
    count: usize,
}

impl LoadPlan {
    /// The loadable segments, in address order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.count]
    }
    /// The first page above every segment: where the heap may start.
    pub fn image_end(&self) -> u32 {
        self.segments()
            .iter()
            .map(|s| s.end_page())
            .max()
            .unwrap_or(USER_DATA_START)
    }
    /// Frames the segments need (page tables not counted).
    pub fn pages(&self) -> usize {
        self.segments().iter().map(|s| s.pages()).sum()
    }
}

/// Check every header of `data`; nothing is mapped. The contract is the
/// list of [`ElfError`]s: any one of them refuses the file.
pub fn plan(data: &[u8]) -> Result<LoadPlan, ElfError> {
    let file = ElfBytes::<LittleEndian>::minimal_parse(data).map_err(|e| match e {
        elf::ParseError::SliceReadError(_) => ElfError::Truncated,
        elf::ParseError::BadMagic(_) => ElfError::Malformed,
        elf::ParseError::UnsupportedElfEndianness(_) | elf::ParseError::UnsupportedElfClass(_) => {
            ElfError::WrongMachine
        }
        _ => ElfError::Malformed,
    })?;
    let h = &file.ehdr;
    if h.class != Class::ELF32 || h.e_machine != EM_386 {
        return Err(ElfError::WrongMachine);
    }
    if h.e_type != ET_EXEC {
        return Err(ElfError::NotExecutable);
    }
    let table = file.segments().ok_or(ElfError::NoSegments)?;
    let mut plan = LoadPlan {
        entry: h.e_entry as u32,
        segments: [Segment::default(); MAX_SEGMENTS],
        count: 0,
    };
    for (index, ph) in table.iter().enumerate() {
        match ph.p_type {
            PT_INTERP | PT_DYNAMIC => return Err(ElfError::Dynamic),
            PT_LOAD => {}
            _ => continue,
        }
        if ph.p_memsz == 0 {
            continue;
        }
        if ph.p_filesz > ph.p_memsz {
            return Err(ElfError::FileLargerThanMemory { index });
        }
        let file_end = ph.p_offset.checked_add(ph.p_filesz);
        if file_end.is_none_or(|end| end > data.len() as u64) {
            return Err(ElfError::SegmentPastFile { index });
        }
        let vaddr = ph.p_vaddr as u32;
        let end = ph.p_vaddr.saturating_add(ph.p_memsz);
        if end > crate::mm::layout::KERNEL_BASE as u64 || ph.p_vaddr >= 1 << 32 {
            return Err(ElfError::KernelHalf { index, vaddr });
        }
        if ph.p_vaddr < USER_DATA_START as u64 || end > USER_HEAP_START as u64 {
            return Err(ElfError::OutsideDataRegion { index, vaddr });
        }
        if plan.count == MAX_SEGMENTS {
            return Err(ElfError::TooManySegments);
        }
        plan.segments[plan.count] = Segment {
            vaddr,
            memsz: ph.p_memsz as u32,
            offset: ph.p_offset as u32,
            filesz: ph.p_filesz as u32,
            writable: ph.p_flags & PF_W != 0,
            executable: ph.p_flags & PF_X != 0,
        };
        plan.count += 1;
    }
    if plan.count == 0 {
        return Err(ElfError::NoSegments);
    }
    // Overlap: compare every pair by page ranges (so two segments never
    // fight over one page's permissions). Report the file order.
    let segs = plan.segments();
    for i in 0..segs.len() {
        for j in i + 1..segs.len() {
            let (a, b) = (segs[i], segs[j]);
            if a.first_page() < b.end_page() && b.first_page() < a.end_page() {
                return Err(ElfError::Overlap {
                    first: i,
                    second: j,
                });
            }
        }
    }
    plan.segments[..plan.count].sort_by_key(|s| s.vaddr);
    let entry = plan.entry;
    let entry_ok = plan
        .segments()
        .iter()
        .any(|s| s.executable && entry >= s.vaddr && entry < s.vaddr + s.filesz);
    if !entry_ok {
        return Err(ElfError::BadEntry { entry });
    }
    Ok(plan)
}

/// Map `plan`'s segments into the user space `mapper` works on, copying
/// their bytes from `data` (the file `plan` checked) into fresh zeroed
/// frames mapped USER (and WRITABLE for data), marked OWNED. On failure some
/// pages may be mapped: the caller destroys the space, which frees them.
pub fn load<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
    plan: &LoadPlan,
    data: &[u8],
    mapper: &mut Mapper<'_, M, T>,
    frames: &mut dyn FrameAllocator,
) -> Result<(), MapError> {
    for s in plan.segments() {
        let flags = if s.writable {
            EntryFlags::USER | EntryFlags::WRITABLE
        } else {
            EntryFlags::USER
        };
        let file = &data[s.offset as usize..(s.offset + s.filesz) as usize];
        for page_va in (s.first_page()..s.end_page()).step_by(PAGE_SIZE) {
            let page = Page::containing_address(VirtAddr(page_va));
            let frame = mapper.map_new(page, flags, ZeroFill::Yes, frames)?;
            // The file bytes that land in this page: [lo, hi) in virtual terms.
            let lo = page_va.max(s.vaddr);
            let hi = (page_va + PAGE_SIZE as u32).min(s.vaddr + s.filesz);
            if lo < hi {
                let src = &file[(lo - s.vaddr) as usize..(hi - s.vaddr) as usize];
                let dst = mapper.mem().frame_ptr(frame);
                // SAFETY: `dst` points at the frame just allocated (PAGE_SIZE
                // bytes) and `lo - page_va + src.len() <= PAGE_SIZE`; nothing
                // else uses the frame yet.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        src.as_ptr(),
                        dst.add((lo - page_va) as usize),
                        src.len(),
                    )
                };
            }
        }
    }
    Ok(())
}
