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
use alloc::vec::Vec;

/// The address region `key` is mapped at in every space.
pub fn address(key: u32) -> u32 {
    USER_SHARE_START + (key - 1) * SHARE_MAX as u32
}

#[derive(Debug)]
struct Shared {
    frames: Vec<Frame>,
    users: usize,
}

/// Every shared region, by key.
#[derive(Debug, Default)]
pub struct SharedRegions {
    regions: Vec<(u32, Shared)>,
}

impl SharedRegions {
    /// No region.
    pub const fn new() -> SharedRegions {
        SharedRegions {
            regions: Vec::new(),
        }
    }

    /// Frames held by every region.
    pub fn frames(&self) -> usize {
        self.regions.iter().map(|(_, s)| s.frames.len()).sum()
    }

    /// (key, pages, users) of each region.
    pub fn list(&self) -> impl Iterator<Item = (u32, usize, usize)> + '_ {
        self.regions
            .iter()
            .map(|(k, s)| (*k, s.frames.len(), s.users))
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
        let pages = len.div_ceil(PAGE_SIZE);
        let created = match self.regions.iter().position(|(k, _)| *k == key) {
            Some(i) => {
                let have = self.regions[i].1.frames.len();
                if pages != 0 && pages != have {
                    return Err(Errno::Busy);
                }
                None
            }
            None => {
                if pages == 0 {
                    return Err(Errno::Inval);
                }
                let mut got = Vec::with_capacity(pages);
                for _ in 0..pages {
                    match frames.allocate() {
                        Some(f) => {
                            let p = mapper.mem().frame_ptr(f);
                            // SAFETY: a fresh frame, PAGE_SIZE bytes, ours alone.
                            unsafe { core::ptr::write_bytes(p, 0, PAGE_SIZE) };
                            got.push(f);
                        }
                        None => {
                            free_all(frames, &got);
                            return Err(Errno::NoMem);
                        }
                    }
                }
                self.regions.push((
                    key,
                    Shared {
                        frames: got,
                        users: 0,
                    },
                ));
                Some(self.regions.len() - 1)
            }
        };
        let i = self.regions.iter().position(|(k, _)| *k == key).unwrap();
        let base = address(key);
        let flags = EntryFlags::USER | EntryFlags::WRITABLE;
        let list = self.regions[i].1.frames.clone();
        for (n, &f) in list.iter().enumerate() {
            let page = Page::containing_address(VirtAddr(base + (n * PAGE_SIZE) as u32));
            if mapper.map(page, f, flags, frames).is_err() {
                // Undo this attach: unmap what was mapped (tables stay, the
                // space frees them), and drop a region just created.
                for m in 0..n {
                    let p = Page::containing_address(VirtAddr(base + (m * PAGE_SIZE) as u32));
                    let _ = mapper.unmap(p);
                }
                if let Some(c) = created {
                    let (_, s) = self.regions.remove(c);
                    free_all(frames, &s.frames);
                }
                return Err(Errno::NoMem);
            }
        }
        self.regions[i].1.users += 1;
        Ok(base)
    }

    /// One user of `key` is gone (its space destroyed or about to be); the
    /// last one frees the frames. An unknown key is ignored.
    pub fn detach(&mut self, frames: &mut dyn FrameAllocator, key: u32) {
        let Some(i) = self.regions.iter().position(|(k, _)| *k == key) else {
            return;
        };
        let s = &mut self.regions[i].1;
        s.users = s.users.saturating_sub(1);
        if s.users == 0 {
            let (_, s) = self.regions.remove(i);
            free_all(frames, &s.frames);
        }
    }
}

fn free_all(frames: &mut dyn FrameAllocator, list: &[Frame]) {
    for &f in list {
        let r = frames.free(f);
        debug_assert!(r.is_ok(), "shared region: cannot free {f:?}");
    }
}
