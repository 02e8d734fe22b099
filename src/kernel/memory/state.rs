//! The kernel's memory state: [`Memory`] (the PMM, the kernel's address
//! space, the region map) behind one lock, `MEMORY`, reached through
//! [`with`] and [`try_with`] only (the order is in the module doc's
//! "Locking"); and who maps a frame.

use super::phys::KernelPhys;
use crate::arch::x86::without_interrupts;
use crate::mm::frame::AnyFrameAllocator;
// course: module 05
use super::phys::Invlpg;
use crate::mm::addr::{Frame, VirtAddr};
use crate::mm::layout::{KERNEL_HEAP_START, KERNEL_TEMP_MAP_START};
use crate::mm::paging::{EntryFlags, FrameUser, KERNEL_PDX, Mapper, Scope};
// course: module 06
use crate::mm::vm::{
    self, AddressSpace, Grow, GrowError, Region, RegionMap, ShrinkError, VirtRange,
};
// course: else
// use super::space::AddressSpace;
// course: end
// course: end
// course: module 06
use crate::text::FixedStr;
// course: end
use spin::Mutex;

/// The kernel's memory: frames, its address space, the regions.
pub struct Memory {
    pub frames: AnyFrameAllocator<'static, KernelPhys>,
    // course: module 05
    pub kernel: AddressSpace,
    // course: end
    // course: module 06
    pub regions: RegionMap,
    // course: end
}

// course: module 05
impl Memory {
    /// A mapper over the kernel's (loaded) address space.
    pub fn mapper(&self) -> Mapper<'static, KernelPhys, Invlpg> {
        // SAFETY: the kernel directory is a valid directory; KernelPhys reaches
        // every frame; Invlpg flushes the loaded space, which this one is.
        unsafe { Mapper::new(self.kernel.directory(), Scope::All, &KernelPhys, &Invlpg) }
    }

    /// Map `len` bytes (whole pages) at `at` in the kernel's space to fresh
    /// frames from the PMM, marked owned; on error nothing is mapped. Before
    /// the VMM (module 6) the kernel heap is mapped so, once, at boot.
    pub fn map_fresh(
        &mut self,
        at: VirtAddr,
        len: usize,
        flags: EntryFlags,
    ) -> Result<(), crate::mm::paging::MapError> {
        // course: lab 05
        let zero = crate::mm::paging::ZeroFill::No;
        self.mapper()
            .map_range_sparse(at, len, flags, zero, &mut self.frames)
        // course: stub
        // // Provided for lab 05, not part of it: 4 MiB pages need no page
        // // table, so the heap is mapped even while your walk and map are
        // // stubs: 4 MiB of contiguous frames (4 MiB aligned) per 4 MiB.
        // use crate::mm::frame::FrameAllocator;
        // use crate::mm::layout::LARGE_PAGE_SIZE;
        // use crate::mm::paging::MapError;
        // for i in 0..len.div_ceil(LARGE_PAGE_SIZE) {
        //     let run = (self.frames.allocate_contiguous(1024, 1024)).ok_or(MapError::NoFrames)?;
        //     let va = VirtAddr(at.as_u32() + (i * LARGE_PAGE_SIZE) as u32);
        //     self.mapper().map_large(va, run.start_address(), flags)?;
        // }
        // Ok(())
        // course: end
    }

    // course: module 06
    /// Grow a region of the kernel's space as `req` asks, with frames from
    /// the PMM ([`vm::grow_region`]); on error nothing changed.
    pub fn grow_region(&mut self, req: &Grow) -> Result<usize, GrowError> {
        vm::grow_region(&mut self.mapper(), &self.regions, req, &mut self.frames)
    }

    /// Unmap `range` of `region` and give its frames back to the PMM
    /// ([`vm::shrink_region`]).
    pub fn shrink_region(
        &mut self,
        region: Region,
        range: VirtRange,
    ) -> Result<usize, ShrinkError> {
        vm::shrink_region(
            &mut self.mapper(),
            &self.regions,
            region,
            range,
            &mut self.frames,
        )
    }
    // course: end

    /// A page of the kernel's address space that maps a frame of
    /// `first..first + count`, or `None`. Searched: the user half, the heap
    /// and kernel private (where pages map chosen frames). Not searched: the
    /// linear space, which maps all RAM by design, the temporary window,
    /// which shows any frame for a moment, and the recursive slot. User
    /// processes' spaces: [`find_mapping`](Self::find_mapping).
    pub fn find_user(&self, first: Frame, count: usize) -> Option<FrameUser> {
        let m = self.mapper();
        m.find_user(first, count, 0..KERNEL_PDX).or_else(|| {
            m.find_user(
                first,
                count,
                VirtAddr(KERNEL_HEAP_START).pdx()..VirtAddr(KERNEL_TEMP_MAP_START).pdx(),
            )
        })
    }

    // course: module 06
    /// Who maps a frame of `first..first + count`, and at which page: the
    /// kernel's space first ([`find_user`](Self::find_user)), then the user
    /// half of each space `procs` yields, in order ([`vm::find_user_in_spaces`]).
    /// `None` when no page maps any of them. Changes nothing, no heap.
    pub fn find_mapping(
        &self,
        procs: &mut dyn Iterator<Item = ProcSpace<'_>>,
        first: Frame,
        count: usize,
    ) -> Option<(MappedBy, FrameUser)> {
        if let Some(user) = self.find_user(first, count) {
            return Some((MappedBy::Kernel, user));
        }
        let spaces = procs.map(|p| ((p.pid, FixedStr::from_str_truncated(p.name)), p.space));
        vm::find_user_in_spaces(&KernelPhys, spaces, first, count)
            .map(|((pid, name), user)| (MappedBy::Process { pid, name }, user))
    }
    // course: end
}
// course: end

// course: module 06
/// A process's address space as [`Memory::find_mapping`] searches it.
#[derive(Clone, Copy)]
pub struct ProcSpace<'s> {
    /// The process id.
    pub pid: u32,
    /// The program's name.
    pub name: &'s str,
    /// Its address space (only the user half is searched).
    pub space: &'s AddressSpace,
}

/// Whose address space maps a frame ([`Memory::find_mapping`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MappedBy {
    /// The kernel's own space (user half, heap or kernel private).
    Kernel,
    /// The user half of a process's space.
    Process {
        /// Its pid.
        pid: u32,
        /// Its program's name.
        name: FixedStr<32>,
    },
}
// course: end

/// The kernel's memory, once `init` has run.
static MEMORY: Mutex<Option<Memory>> = Mutex::new(None);

/// Run `f` on the kernel's memory with the lock held and interrupts off.
/// `f` must not allocate from the heap (the grow hook takes this lock).
pub fn with<R>(f: impl FnOnce(&mut Memory) -> R) -> R {
    without_interrupts(|| f(MEMORY.lock().as_mut().expect("memory: used before init")))
}

/// Like [`with`], but `None` when the lock is held (or before `init`)
/// instead of waiting: for fault reports, and for the heap's grow hook,
/// whose caller may be the lock's holder (see "Locking" above).
pub fn try_with<R>(f: impl FnOnce(&mut Memory) -> R) -> Option<R> {
    without_interrupts(|| {
        let mut guard = MEMORY.try_lock()?;
        guard.as_mut().map(f)
    })
}

/// Hand the memory `init` built to the lock, once, at boot.
pub(crate) fn install(memory: Memory) {
    *MEMORY.lock() = Some(memory);
}
