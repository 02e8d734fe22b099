//! Every header of a program checked before a frame is taken: 32-bit
//! i386, an executable, statically linked, its loadable segments inside
//! the file and the user data region, apart from each other, and its entry
//! point in code. The result is a [`LoadPlan`] (or the first broken rule).
//!
//! ```text
//!   ehdr: class, machine, type  ->  phdrs: no INTERP/DYNAMIC; each LOAD:
//!     offset+filesz <= file, filesz <= memsz, in [USER_DATA_START, USER_HEAP_START),
//!     no shared page  ->  entry inside an executable segment's file bytes
//! ```

use super::{ElfError, MAX_SEGMENTS};
use crate::mm::layout::PAGE_SIZE;
use crate::mm::vm::region::{USER_DATA_START, USER_HEAP_START};
use elf::ElfBytes;
use elf::abi::{EM_386, ET_EXEC, PF_W, PF_X, PT_DYNAMIC, PT_INTERP, PT_LOAD};
use elf::endian::LittleEndian;
use elf::file::Class;

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
