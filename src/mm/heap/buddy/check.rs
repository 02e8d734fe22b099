//! Reports and the integrity check.

use super::{BuddyHeap, CheckError, FREE, HEADER_SIZE, MAX_ALIGN, NIL, SCALE_MASK, Scale};

/// What a successful `check()` counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Blocks in the heap, free and used.
    pub blocks: usize,
    /// Free blocks and their bytes (headers included).
    pub free_blocks: usize,
    pub free_bytes: usize,
    /// Used blocks, their bytes (headers included) and the bytes requested.
    pub used_blocks: usize,
    pub used_bytes: usize,
    pub requested_bytes: usize,
}

/// Number of free blocks per scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreeCounts {
    min: u8,
    max: u8,
    counts: [u32; 32],
}

impl FreeCounts {
    /// Free blocks of `scale` (0 outside the heap's scales).
    pub fn get(&self, scale: Scale) -> usize {
        self.counts.get(scale.0 as usize).map_or(0, |&c| c as usize)
    }
    /// `(scale, count)` for each scale of the heap, smallest first.
    pub fn iter(&self) -> impl Iterator<Item = (Scale, usize)> + '_ {
        (self.min..=self.max).map(|s| (Scale(s), self.counts[s as usize] as usize))
    }
    /// Free bytes in all blocks (headers included).
    pub fn total_bytes(&self) -> usize {
        self.iter().map(|(s, c)| s.bytes() * c).sum()
    }
    /// Free blocks of all scales.
    pub fn total_blocks(&self) -> usize {
        self.iter().map(|(_, c)| c).sum()
    }
}

/// One block as `blocks()` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Offset from the heap origin.
    pub offset: u32,
    /// Address of the block (of its header).
    pub addr: usize,
    pub scale: Scale,
    pub free: bool,
    /// Used blocks: bytes requested.
    pub requested: Option<usize>,
    /// Used blocks: payload address.
    pub payload: Option<usize>,
}

impl BuddyHeap {
    // ----- reports and integrity ---------------------------------------------

    /// Every block from the lowest address up, free and used.
    pub fn blocks(&self) -> Blocks<'_> {
        Blocks {
            heap: self,
            at: self.start,
        }
    }

    /// The offsets on the free list of `scale`, head first (bounded, so a
    /// corrupt cycle cannot loop forever).
    pub fn free_list(&self, scale: Scale) -> FreeList<'_> {
        let s = scale.0 as u32;
        let in_range = s >= self.min_scale && s <= self.max_scale;
        FreeList {
            heap: self,
            at: if in_range {
                self.heads[s as usize]
            } else {
                NIL
            },
            left: self.max_list_len(),
        }
    }

    fn max_list_len(&self) -> usize {
        ((self.end - self.start) >> self.min_scale) as usize + 1
    }

    /// Free blocks per scale, counted on the free lists.
    pub fn free_counts(&self) -> FreeCounts {
        let mut counts = [0u32; 32];
        for s in self.min_scale..=self.max_scale {
            counts[s as usize] = self.free_list(Scale(s as u8)).count() as u32;
        }
        FreeCounts {
            min: self.min_scale as u8,
            max: self.max_scale as u8,
            counts,
        }
    }

    /// Walk the whole heap and verify it: blocks tile it exactly (sizes add
    /// up), each free list holds exactly the free blocks of its scale with
    /// correct links and mask bit, no two free buddies are left unmerged, and
    /// (debug builds) freed payloads still hold the poison.
    pub fn check(&self) -> Result<CheckReport, CheckError> {
        let mut rep = CheckReport::default();
        let mut free_per_scale = [0usize; 32];
        let mut at = self.start;
        while at < self.end {
            // SAFETY: `at` is the start of the next block: the walk steps by
            // block sizes from the first block, each checked to lie in the heap.
            let h = unsafe { self.hdr(at).read() };
            let scale = h.tag & SCALE_MASK;
            let s = scale as u32;
            if s < self.min_scale || s > self.max_scale {
                return Err(CheckError::BadScale { offset: at, scale });
            }
            let size = 1u32 << s;
            if at & (size - 1) != 0 {
                return Err(CheckError::Misaligned { offset: at, scale });
            }
            if at + size > self.end {
                return Err(CheckError::Overrun { offset: at, scale });
            }
            if !self.starts.get(self.start_bit(at)) {
                return Err(CheckError::StartUnmarked { offset: at });
            }
            rep.blocks += 1;
            if h.tag & FREE != 0 {
                rep.free_blocks += 1;
                rep.free_bytes += size as usize;
                free_per_scale[s as usize] += 1;
                let buddy = at ^ size;
                if s < self.max_scale && buddy > at && buddy + size <= self.end {
                    // SAFETY: a buddy inside the heap starts a genuine block.
                    if unsafe { (*self.hdr(buddy)).tag } == h.tag {
                        return Err(CheckError::Unmerged { offset: at, scale });
                    }
                }
                if self.poison {
                    // SAFETY: the block's payload is heap memory.
                    let payload = unsafe {
                        core::slice::from_raw_parts(
                            self.origin.wrapping_add(at as usize + HEADER_SIZE),
                            size as usize - HEADER_SIZE,
                        )
                    };
                    if let Some(i) = crate::mm::heap::poison::first_not_poison(payload) {
                        return Err(CheckError::Poisoned {
                            block: at,
                            offset: at + (HEADER_SIZE + i) as u32,
                        });
                    }
                }
            } else {
                let (req, align) = (h.next, h.prev);
                let align_ok = align.is_power_of_two() && align <= size.min(MAX_ALIGN as u32);
                if !align_ok || req as usize > size as usize - HEADER_SIZE {
                    return Err(CheckError::BadUsedHeader { offset: at });
                }
                rep.used_blocks += 1;
                rep.used_bytes += size as usize;
                rep.requested_bytes += req as usize;
            }
            at += size;
        }
        // Every block start is marked (above), and nothing else is.
        let marked = self.starts.count();
        if marked != rep.blocks {
            return Err(CheckError::StartCount {
                marked,
                blocks: rep.blocks,
            });
        }
        for s in 0..32u32 {
            let head = self.heads[s as usize];
            let bit = self.nonempty & (1 << s) != 0;
            if bit != (head != NIL) {
                return Err(CheckError::BadMask { scale: s as u8 });
            }
            if s < self.min_scale || s > self.max_scale {
                if head != NIL {
                    return Err(CheckError::BadListNode {
                        scale: s as u8,
                        offset: head,
                    });
                }
                continue;
            }
            let mut listed = 0usize;
            let mut prev = NIL;
            let mut node = head;
            while node != NIL {
                let bad = CheckError::BadListNode {
                    scale: s as u8,
                    offset: node,
                };
                if node < self.start || node >= self.end || self.locate(node) != Some((node, s)) {
                    return Err(bad);
                }
                // SAFETY: `locate` confirmed a genuine block at `node`.
                let h = unsafe { self.hdr(node).read() };
                if h.tag != FREE | s as u8 {
                    return Err(bad);
                }
                if h.prev != prev {
                    return Err(CheckError::BadBackLink {
                        scale: s as u8,
                        offset: node,
                    });
                }
                listed += 1;
                if listed > free_per_scale[s as usize] {
                    break;
                }
                prev = node;
                node = h.next;
            }
            if listed != free_per_scale[s as usize] {
                return Err(CheckError::ListCount {
                    scale: s as u8,
                    listed,
                    free: free_per_scale[s as usize],
                });
            }
        }
        Ok(rep)
    }
}

/// Iterator over the blocks of a heap, lowest address first.
pub struct Blocks<'a> {
    heap: &'a BuddyHeap,
    at: u32,
}

impl Iterator for Blocks<'_> {
    type Item = BlockInfo;
    fn next(&mut self) -> Option<BlockInfo> {
        if self.at >= self.heap.end {
            return None;
        }
        let info = self.heap.info(self.at);
        let s = info.scale.0 as u32;
        if s < self.heap.min_scale || s > self.heap.max_scale {
            self.at = self.heap.end; // corrupt: stop (check() reports it)
            return None;
        }
        self.at += 1 << s;
        Some(info)
    }
}

/// Iterator over the offsets on one free list.
pub struct FreeList<'a> {
    heap: &'a BuddyHeap,
    at: u32,
    left: usize,
}

impl Iterator for FreeList<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let heap = self.heap;
        if self.at == NIL || self.left == 0 || self.at < heap.start || self.at >= heap.end {
            return None;
        }
        self.left -= 1;
        let here = self.at;
        // SAFETY: `here` is inside the heap; list nodes are free blocks.
        self.at = unsafe { (*heap.hdr(here)).next };
        Some(here)
    }
}
