//! Address spaces: one page directory each, the kernel half shared.
//!
//! ```text
//!   kernel directory            user space A                 user space B
//!  +-----------------+        +-----------------+          +-----------------+
//!  | [0..768) empty  |        | [0..768) A's    |          | [0..768) B's    |
//!  |                 |        |   own tables    |          |   own tables    |
//!  +-----------------+  copy  +-----------------+   copy   +-----------------+
//!  | [768..1023)  ---+------->| [768..1023) ----+--+   +---+-- [768..1023)   |
//!  +-----------------+        +-----------------+  |   |   +-----------------+
//!  | [1023] -> self  |        | [1023] -> self  |  v   v   | [1023] -> self  |
//!  +-----------------+        +-----------------+  the same kernel page tables
//! ```
//!
//! A user space copies the kernel's PDEs when it is created, so the kernel
//! tables must exist before (the kernel prepares a table for every 4 MiB of
//! its half at boot with `Mapper::prepare_tables`; from then on kernel PDEs
//! never change and every space sees every kernel mapping). Destroying a
//! space frees its user tables and directory, never the kernel tables.

use crate::mm::addr::{Frame, PhysAddr};
use crate::mm::frame::{FrameAllocator, FrameError};
use crate::mm::layout::{ENTRIES_PER_TABLE, RECURSIVE_INDEX};
use crate::mm::paging::mapper::{find_user_in, read_entry, write_entry, zero_frame};
use crate::mm::paging::{Entry, EntryFlags, FrameUser, KERNEL_PDX, Mapper, Scope, TlbFlush};
use crate::mm::phys::PhysMemory;
use core::fmt;

/// Whose directory it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceKind {
    /// The kernel's own: maps the kernel half, never destroyed.
    Kernel,
    /// A user space: its own user half, the kernel half shared.
    User,
}

/// What to do with the frames a user space maps when it is destroyed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserFrames {
    /// Free the frames marked OWNED (allocated for the mapping).
    FreeOwned,
    /// Free only page tables and the directory; the frames stay allocated.
    Keep,
}

/// Why an address-space operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceError {
    /// No frame for the directory. Nothing was allocated.
    NoFrames,
    /// The kernel's address space cannot be destroyed.
    KernelSpace,
    /// The space was destroyed, but the allocator refused a frame (the first
    /// refusal is reported; a sign that someone else freed it).
    FreeFailed {
        /// The frame refused.
        frame: Frame,
        /// The allocator's answer.
        error: FrameError,
    },
}

impl fmt::Display for SpaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpaceError::NoFrames => f.write_str("no frame for a page directory"),
            SpaceError::KernelSpace => f.write_str("the kernel address space is never destroyed"),
            SpaceError::FreeFailed { frame, error } => {
                write!(f, "destroyed, but {frame:?} was refused: {error:?}")
            }
        }
    }
}

/// What `destroy` gave back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DestroyStats {
    /// User page tables freed.
    pub tables: usize,
    /// Owned user frames freed.
    pub frames: usize,
}

/// One address space: a page directory (FreeNOS `MemoryContext`).
#[derive(Debug, PartialEq, Eq)]
pub struct AddressSpace {
    directory: Frame,
    kind: SpaceKind,
}

/// The recursive slot's entry: present, writable, kernel only.
fn recursive_entry(directory: Frame) -> Entry {
    Entry::new(directory, EntryFlags::PRESENT | EntryFlags::WRITABLE)
}

impl AddressSpace {
    /// A new kernel directory: empty but for the recursive slot. The kernel
    /// then maps its half (linear space, prepared tables) through `mapper`.
    pub fn new_kernel<M: PhysMemory + ?Sized>(
        mem: &M,
        frames: &mut dyn FrameAllocator,
    ) -> Result<AddressSpace, SpaceError> {
        let directory = frames.allocate().ok_or(SpaceError::NoFrames)?;
        zero_frame(mem, directory);
        write_entry(mem, directory, RECURSIVE_INDEX, recursive_entry(directory));
        Ok(AddressSpace {
            directory,
            kind: SpaceKind::Kernel,
        })
    }

    /// A new user space: an empty user half, the kernel half's PDEs copied
    /// from `kernel` (so its tables are shared), and its own recursive slot.
    pub fn create<M: PhysMemory + ?Sized>(
        mem: &M,
        frames: &mut dyn FrameAllocator,
        kernel: &AddressSpace,
    ) -> Result<AddressSpace, SpaceError> {
        // course: lab 06
        let directory = frames.allocate().ok_or(SpaceError::NoFrames)?;
        zero_frame(mem, directory);
        for pdx in KERNEL_PDX..RECURSIVE_INDEX {
            let pde = read_entry(mem, kernel.directory, pdx);
            write_entry(mem, directory, pdx, pde);
        }
        write_entry(mem, directory, RECURSIVE_INDEX, recursive_entry(directory));
        Ok(AddressSpace {
            directory,
            kind: SpaceKind::User,
        })
        // course: stub
        // // LAB 06 (1/3): a fresh directory frame from `frames` (none left:
        // // `SpaceError::NoFrames`), zeroed (`zero_frame`): the user half
        // // (PDEs 0..KERNEL_PDX) stays empty; the kernel half's PDEs
        // // (KERNEL_PDX..RECURSIVE_INDEX) are copied from `kernel`'s directory
        // // (`read_entry` / `write_entry`), so both share the kernel's page
        // // tables; the last PDE points at the directory itself
        // // (`recursive_entry`). The result is a `SpaceKind::User` space.
        // let _ = (mem, frames, kernel, zero_frame::<M>, recursive_entry);
        // let _ = (read_entry::<M>, write_entry::<M>, KERNEL_PDX, RECURSIVE_INDEX);
        // Err(SpaceError::NoFrames)
        // course: end
    }

    /// Take an existing directory (the one the boot code built, say) as an
    /// address space.
    ///
    /// # Safety
    ///
    /// The caller must guarantee that `directory` holds a page directory in
    /// the form `Mapper::new` requires, that nothing else owns it, and, for
    /// `SpaceKind::User`, that its user tables are its own to free.
    pub unsafe fn adopt(directory: Frame, kind: SpaceKind) -> AddressSpace {
        AddressSpace { directory, kind }
    }

    /// The page directory's frame.
    pub fn directory(&self) -> Frame {
        self.directory
    }
    /// Kernel or user.
    pub fn kind(&self) -> SpaceKind {
        self.kind
    }
    /// The value to load into CR3 to switch to this space.
    pub fn cr3(&self) -> PhysAddr {
        self.directory.start_address()
    }

    /// A mapper over this space: `Scope::All` for the kernel's,
    /// `Scope::User` for a user space. Pass the kernel's `invlpg` flush when
    /// the space is current (in CR3), `NoFlush` otherwise.
    pub fn mapper<'a, M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &'a mut self,
        mem: &'a M,
        tlb: &'a T,
    ) -> Mapper<'a, M, T> {
        let scope = match self.kind {
            SpaceKind::Kernel => Scope::All,
            SpaceKind::User => Scope::User,
        };
        // SAFETY: the directory was built by new_kernel/create (or handed
        // over through `adopt`, whose caller vouched for it); `&mut self`
        // keeps a second mapper of this space from living at the same time.
        unsafe { Mapper::new(self.directory, scope, mem, tlb) }
    }

    /// The first page of this space's user half (PDEs `0..KERNEL_PDX`) that
    /// maps a frame of `first..first + count`, or `None`. The kernel half is
    /// not searched: its tables are shared by every space (ask the kernel's
    /// space with a [`Mapper`]). Changes nothing.
    pub fn find_user<M: PhysMemory + ?Sized>(
        &self,
        mem: &M,
        first: Frame,
        count: usize,
    ) -> Option<FrameUser> {
        find_user_in(mem, self.directory, first, count, 0..KERNEL_PDX)
    }

    /// Free the space: every user page table, the directory, and with
    /// `UserFrames::FreeOwned` the frames its 4 KiB pages own (4 MiB user
    /// pages go with the directory; their frames stay the caller's). Kernel
    /// tables are shared and stay. The space must not be in CR3. A kernel
    /// space is refused.
    pub fn destroy<M: PhysMemory + ?Sized>(
        self,
        mem: &M,
        frames: &mut dyn FrameAllocator,
        user_frames: UserFrames,
    ) -> Result<DestroyStats, SpaceError> {
        if self.kind == SpaceKind::Kernel {
            return Err(SpaceError::KernelSpace);
        }
        // course: lab 06
        let mut stats = DestroyStats::default();
        let mut failed = None;
        let mut give_back = |frames: &mut dyn FrameAllocator, frame: Frame| {
            let r = frames.free(frame);
            if let Err(error) = r {
                failed.get_or_insert(SpaceError::FreeFailed { frame, error });
            }
            r.is_ok()
        };
        for pdx in 0..KERNEL_PDX {
            let pde = read_entry(mem, self.directory, pdx);
            if !pde.is_present() || pde.is_large() {
                continue;
            }
            if user_frames == UserFrames::FreeOwned {
                for ptx in 0..ENTRIES_PER_TABLE {
                    let pte = read_entry(mem, pde.frame(), ptx);
                    if pte.is_present()
                        && pte.flags().contains(EntryFlags::OWNED)
                        && give_back(frames, pte.frame())
                    {
                        stats.frames += 1;
                    }
                }
            }
            if give_back(frames, pde.frame()) {
                stats.tables += 1;
            }
        }
        give_back(frames, self.directory);
        match failed {
            None => Ok(stats),
            Some(e) => Err(e),
        }
        // course: stub
        // // LAB 06 (2/3): give back what the space owns, and count it in a
        // // `DestroyStats`. For every user PDE (0..KERNEL_PDX) that is present
        // // and not a 4 MiB page (`is_large`), its page table frame goes back
        // // to `frames`; before that, with `UserFrames::FreeOwned`, so does
        // // every present PTE's frame flagged `EntryFlags::OWNED`. Then the
        // // directory itself. A `frames.free` that fails must not stop the
        // // others: remember the first error (`SpaceError::FreeFailed`) and
        // // return it at the end. Kernel tables are shared: never free them.
        // let _ = (mem, user_frames, ENTRIES_PER_TABLE, read_entry::<M>);
        // let _ = frames.free(self.directory);
        // Ok(DestroyStats::default())
        // course: end
    }
}

/// The first of `spaces` whose user half maps a frame of `first..first + count`,
/// with the page that maps it: `(key, page)`, where `key` names the space
/// for the caller (a process id, say). `None` when none of them maps any of
/// those frames. Every space is searched with [`AddressSpace::find_user`];
/// nothing changes.
pub fn find_user_in_spaces<'s, K, M: PhysMemory + ?Sized>(
    mem: &M,
    spaces: impl IntoIterator<Item = (K, &'s AddressSpace)>,
    first: Frame,
    count: usize,
) -> Option<(K, FrameUser)> {
    spaces
        .into_iter()
        .find_map(|(key, space)| Some((key, space.find_user(mem, first, count)?)))
}
