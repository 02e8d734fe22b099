//! The size classes: which slot a request takes, and how each class's
//! slabs are cut. Roughly 4 classes per doubling from 64 bytes on, as
//! SLUB's kmalloc caches, so a request wastes at most a third of its slot;
//! the smallest classes get 4 KiB slabs, the largest 32 KiB ones.

use core::alloc::Layout;

use super::{MAX_SLOTS, META};
use crate::mm::heap::buddy::{HEADER_SIZE, MAX_ALIGN};

/// Requests up to this many bytes (with an alignment their class serves)
/// come from slabs; larger ones from the buddy heap.
pub const CUTOFF: usize = 4096;

/// One size class: its slot size and the buddy block its slabs take.
#[derive(Clone, Copy, Debug)]
pub struct Class {
    /// Bytes per slot.
    pub size: u32,
    /// Scale of the buddy block a slab takes (12..=15).
    pub scale: u8,
    /// Slots per slab.
    pub slots: u32,
    /// Offset of the metadata from the slab's payload.
    pub(super) meta_at: u32,
    /// The largest alignment every slot has (the payload is page-aligned).
    pub align: u32,
    /// A full slab goes back on the partial list once this few slots are
    /// used (an eighth of its slots free), not at its first free: a slab
    /// near full would otherwise leave and rejoin the list on every free
    /// and allocation, each time writing its neighbour's links.
    pub relist: u32,
    /// `ceil(2^32 / size)`: `(x * magic) >> 32 == x / size` for every offset
    /// inside a slab (see the test `magic_division_is_exact`).
    pub(super) magic: u64,
}

impl Class {
    const fn new(size: u32, scale: u8) -> Class {
        // The metadata starts on a cache line: its counters and the first
        // 384 bits of its bitmap share one line.
        let meta_at = (((1u32 << scale) - HEADER_SIZE as u32) - META as u32) & !63;
        let fit = meta_at / size;
        let slots = if fit < MAX_SLOTS as u32 {
            fit
        } else {
            MAX_SLOTS as u32
        };
        let low = size & size.wrapping_neg();
        Class {
            size,
            scale,
            slots,
            meta_at,
            align: if low < MAX_ALIGN as u32 {
                low
            } else {
                MAX_ALIGN as u32
            },
            magic: (1u64 << 32).div_ceil(size as u64),
            relist: slots - if slots >= 4 { slots / 4 } else { 1 },
        }
    }
    /// Bytes of the slab's buddy block.
    pub const fn slab_bytes(&self) -> usize {
        1 << self.scale
    }
    /// The layout the slab's block is allocated with from the buddy heap.
    pub(super) fn block_layout(&self) -> Layout {
        // A whole block: 2^scale - 9 bytes, alignment 1 (the payload is
        // page-aligned anyway: it sits on the grid).
        match Layout::from_size_align(self.slab_bytes() - HEADER_SIZE, 1) {
            Ok(l) => l,
            Err(_) => panic!("slab: class layout"),
        }
    }
}

/// The classes, index 1 up (the side table's byte; 0 means "no slab").
/// Roughly 4 per doubling from 64 on, as SLUB's kmalloc caches, so a
/// request wastes at most a third of its slot.
pub const CLASSES: [Class; 32] = {
    const SIZES: [u32; 18] = [
        8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096,
    ];
    let mut t = [Class::new(8, 12); 32];
    let mut i = 0;
    while i < SIZES.len() && SIZES[i] as usize <= CUTOFF {
        let size = SIZES[i];
        // 4 KiB slabs up to 256 bytes, 8 KiB to 512, 16 KiB to 1024 (at
        // least 15 slots), 32 KiB above (7 to 21 slots: a larger slab
        // would hold a kernel heap's few big objects in mostly empty
        // memory, a smaller one empties and refills too often).
        let scale = match size {
            0..=256 => 12,
            257..=512 => 13,
            513..=1024 => 14,
            _ => 15,
        };
        t[i + 1] = Class::new(size, scale);
        i += 1;
    }
    t
};
/// Classes in use: `1..CLASS_COUNT`.
pub const CLASS_COUNT: usize = {
    let mut n = 1;
    while n < CLASSES.len() && (CLASSES[n - 1].size as usize) < CUTOFF {
        n += 1;
    }
    n
};

/// The class of a request of `size` bytes (1..=CUTOFF), by `(size + 7) / 8`.
const CLASS_OF: [u8; CUTOFF / 8 + 1] = {
    let mut t = [0u8; CUTOFF / 8 + 1];
    let mut i = 1;
    while i < t.len() {
        let mut c = 1;
        while (CLASSES[c].size as usize) < i * 8 {
            c += 1;
        }
        t[i] = c as u8;
        i += 1;
    }
    t
};

/// The class serving `size` bytes aligned to `align`, or `None` for the
/// buddy heap (too large, zero, or an alignment the class does not give).
#[inline(always)]
pub fn class_of(size: usize, align: usize) -> Option<usize> {
    if size.wrapping_sub(1) >= CUTOFF {
        return None;
    }
    let c = CLASS_OF[(size + 7) >> 3] as usize % CLASSES.len();
    (align <= CLASSES[c].align as usize).then_some(c)
}
