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
//!
//! One file per idea:
//!
//! ```text
//!   mod.rs     UserMemory: the break, the mappings, the frames owned and their limit
//!   fault.rs   demand paging: what a user fault means, and serving it
//!   access.rs  user buffers: checked, and made usable by the kernel
//!   brk.rs     sbrk: the break moved
//!   mmap.rs    mmap, munmap: anonymous mappings
//!   args.rs    the argument page
//! ```

mod access;
mod args;
mod brk;
mod fault;
mod mmap;

pub use access::{Access, check_user_range};
#[cfg(test)]
pub use args::build_args;
pub use args::{args_fit, write_args};
pub use fault::{DemandRegion, KillCause};

use super::abi::{USER_FRAME_LIMIT, USER_STACK_MAX};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::vm::region::{USER_ARGS_START, USER_HEAP_START};

const PAGE: u32 = PAGE_SIZE as u32;

/// Lowest address of the stack reserve.
pub const STACK_BOTTOM: u32 = USER_ARGS_START - USER_STACK_MAX as u32;
/// The guard page just below the stack reserve.
pub const STACK_GUARD: u32 = STACK_BOTTOM - PAGE;

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

    /// The anonymous mappings: (start, length).
    pub fn mappings(&self) -> &[(u32, u32)] {
        &self.mmaps[..self.mmap_count]
    }
}
