//! Shared regions (FreeNOS's `MemoryChannel` lives in one): frames owned by
//! the kernel, mapped into every process that asks for the same key, freed
//! when the last one is gone.
//!
//! ```text
//!   process A space                          process B space
//!   0xA000_0000 + (key-1)*64K --+        +-- 0xA000_0000 + (key-1)*64K
//!                               v        v
//!                         SharedRegions[key]: frames [f1 f2 ..], users 2
//! ```
//!
//! The pages are mapped without `OWNED`, so destroying a space never frees
//! them; [`SharedRegions::detach`] does, when the user count drops to zero.

use super::abi::{Errno, SHARE_KEYS, SHARE_MAX};
use crate::mm::addr::{Frame, Page, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::layout::PAGE_SIZE;
use crate::mm::paging::{EntryFlags, Mapper, TlbFlush};
use crate::mm::phys::PhysMemory;
use crate::mm::vm::region::USER_SHARE_START;

/// The address region `key` is mapped at in every space.
pub fn address(key: u32) -> u32 {
    USER_SHARE_START + (key - 1) * SHARE_MAX as u32
}

/// Pages of the largest region.
const MAX_PAGES: usize = SHARE_MAX / PAGE_SIZE;

#[derive(Clone, Copy, Debug)]
struct Shared {
    frames: [Frame; MAX_PAGES],
    pages: usize,
    users: usize,
}

/// Every shared region, by key. Fixed-size: attaching never allocates from
/// the kernel heap (the kernel calls it with its memory lock held).
#[derive(Debug, Default)]
pub struct SharedRegions {
    regions: [Option<Shared>; SHARE_KEYS as usize],
}

impl SharedRegions {
    /// No region.
    pub const fn new() -> SharedRegions {
        SharedRegions {
            regions: [None; SHARE_KEYS as usize],
        }
    }

    /// Frames held by every region.
    pub fn frames(&self) -> usize {
        self.regions.iter().flatten().map(|s| s.pages).sum()
    }

    /// (key, pages, users) of each region.
    pub fn list(&self) -> impl Iterator<Item = (u32, usize, usize)> + '_ {
        self.regions
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (i as u32 + 1, s.pages, s.users)))
    }

    /// Map region `key` into the space of `mapper` and count one more user.
    /// The first user creates it with `len` bytes (rounded up to pages) of
    /// zeroed frames; a later one must ask for the same size (or 0: any).
    /// Returns the address. On error nothing changed.
    pub fn attach<M: PhysMemory + ?Sized, T: TlbFlush + ?Sized>(
        &mut self,
        mapper: &mut Mapper<'_, M, T>,
        frames: &mut dyn FrameAllocator,
        key: u32,
        len: usize,
    ) -> Result<u32, Errno> {
        if key == 0 || key > SHARE_KEYS || len > SHARE_MAX {
            return Err(Errno::Inval);
        }
        let slot = (key - 1) as usize;
        let pages = len.div_ceil(PAGE_SIZE);
        let created = match self.regions[slot] {
            Some(s) => {
                if pages != 0 && pages != s.pages {
                    return Err(Errno::Busy);
                }
                false
            }
            None => {
                if pages == 0 {
                    return Err(Errno::Inval);
                }
                let mut s = Shared {
                    frames: [Frame(0); MAX_PAGES],
                    pages: 0,
                    users: 0,
                };
                for _ in 0..pages {
                    let Some(f) = frames.allocate() else {
                        free_all(frames, &s.frames[..s.pages]);
                        return Err(Errno::NoMem);
                    };
                    let p = mapper.mem().frame_ptr(f);
                    // SAFETY: a fresh frame, PAGE_SIZE bytes, ours alone.
                    unsafe { core::ptr::write_bytes(p, 0, PAGE_SIZE) };
                    s.frames[s.pages] = f;
                    s.pages += 1;
                }
                self.regions[slot] = Some(s);
                true
            }
        };
        let s = self.regions[slot].expect("shared region present");
        let base = address(key);
        let flags = EntryFlags::USER | EntryFlags::WRITABLE;
        for (n, &f) in s.frames[..s.pages].iter().enumerate() {
            let page = Page::containing_address(VirtAddr(base + (n * PAGE_SIZE) as u32));
            if mapper.map(page, f, flags, frames).is_err() {
                // Undo this attach: unmap what was mapped (tables stay, the
                // space frees them), and drop a region just created.
                for m in 0..n {
                    let p = Page::containing_address(VirtAddr(base + (m * PAGE_SIZE) as u32));
                    let _ = mapper.unmap(p, frames);
                }
                if created {
                    free_all(frames, &s.frames[..s.pages]);
                    self.regions[slot] = None;
                }
                return Err(Errno::NoMem);
            }
        }
        if let Some(s) = &mut self.regions[slot] {
            s.users += 1;
        }
        Ok(base)
    }

    /// One user of `key` is gone (its space destroyed or about to be); the
    /// last one frees the frames. An unknown key is ignored.
    pub fn detach(&mut self, frames: &mut dyn FrameAllocator, key: u32) {
        if key == 0 || key > SHARE_KEYS {
            return;
        }
        let slot = (key - 1) as usize;
        let Some(s) = &mut self.regions[slot] else {
            return;
        };
        s.users = s.users.saturating_sub(1);
        if s.users == 0 {
            let pages = s.pages;
            let list = s.frames;
            self.regions[slot] = None;
            free_all(frames, &list[..pages]);
        }
    }
}

fn free_all(frames: &mut dyn FrameAllocator, list: &[Frame]) {
    for &f in list {
        let r = frames.free(f);
        debug_assert!(r.is_ok(), "shared region: cannot free {f:?}");
    }
}
