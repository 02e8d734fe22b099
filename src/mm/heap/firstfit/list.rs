//! The free list of the first-fit heap: one address-ordered singly linked
//! list of free blocks. Allocation walks it for the first block that fits
//! and splits it (a lead and a tail stay free); inserting links a block in
//! order and coalesces it with the blocks just before and after; growing in
//! place takes the front of the free block right after a used one.
//!
//! ```text
//!   alloc:   [free ............................]
//!            [lead][front|Header|buffer ][tail ]   lead, tail: free if >= MIN_BLOCK
//!   insert:  [free A][new][free B]  ->  [free A ............. B]
//! ```

use super::{
    FREE_META, FirstFitHeap, FreeBlock, HEADER_SIZE, MAX_ALIGN, MIN_BLOCK, TAG_FREE, block_len,
};
use crate::mm::family::{AllocError, align_up};
use crate::mm::heap::inplace::FreeSpace;
use crate::mm::heap::used::{self, UsedBlocks};
use core::ptr::{self, NonNull};

impl FirstFitHeap {
    /// The free blocks just before and at-or-after `start` (list order).
    ///
    /// # Safety
    /// The list must be well formed.
    pub(super) unsafe fn neighbours(&self, start: usize) -> (*mut FreeBlock, *mut FreeBlock) {
        let mut prev: *mut FreeBlock = ptr::null_mut();
        let mut cur = self.head;
        // SAFETY: list nodes are valid free blocks inside our regions.
        unsafe {
            while !cur.is_null() && cur.addr() < start {
                prev = cur;
                cur = (*cur).next;
            }
        }
        (prev, cur)
    }

    /// Link `[start, end)` into the list, coalescing with the neighbours.
    ///
    /// # Safety
    /// `[start, end)` lies in our regions and overlaps no free block.
    unsafe fn insert_free(&mut self, start: usize, end: usize) {
        // SAFETY: see the contract; every node touched is a valid free block.
        unsafe {
            let (prev, next) = self.neighbours(start);
            let node = if !prev.is_null() && prev.addr() + block_len(prev) == start {
                (*prev).tag = (end - prev.addr()) | TAG_FREE;
                prev
            } else {
                let n = self.at::<FreeBlock>(start);
                n.write(FreeBlock {
                    tag: (end - start) | TAG_FREE,
                    next,
                });
                if prev.is_null() {
                    self.head = n;
                } else {
                    (*prev).next = n;
                }
                self.nfree += 1;
                n
            };
            if !next.is_null() && next.addr() == end {
                (*node).tag = (next.addr() + block_len(next) - node.addr()) | TAG_FREE;
                (*node).next = (*next).next;
                self.nfree -= 1;
            }
            self.free += end - start;
        }
    }

    /// Allocate `size` bytes aligned to `align` (power of two up to a page):
    /// the first free block that fits. Errors: `InvalidSize`,
    /// `InvalidAlignment`, `OutOfMemory`.
    pub fn alloc(&mut self, size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        let (align, body) = used::request(size, align, MAX_ALIGN)?;
        let mut prev: *mut FreeBlock = ptr::null_mut();
        let mut cur = self.head;
        // SAFETY: list nodes are valid free blocks inside our regions; all
        // writes stay inside the block being split.
        unsafe {
            while !cur.is_null() {
                let f = cur.addr();
                let len = block_len(cur);
                let p = align_up(f + HEADER_SIZE, align).ok_or(AllocError::OutOfMemory)?;
                let front0 = p - HEADER_SIZE - f;
                let (lead, front) = if front0 >= MIN_BLOCK {
                    (front0, 0)
                } else {
                    (0, front0)
                };
                let mut extent = (front + HEADER_SIZE + body).max(MIN_BLOCK);
                if lead + extent <= len {
                    let mut tail = len - lead - extent;
                    if tail < MIN_BLOCK {
                        extent += tail;
                        tail = 0;
                    }
                    let next = (*cur).next;
                    let b = f + lead;
                    // Relink: the lead stays where `cur` is, the tail follows.
                    let after = if tail > 0 {
                        let t = self.at::<FreeBlock>(b + extent);
                        t.write(FreeBlock {
                            tag: tail | TAG_FREE,
                            next,
                        });
                        self.nfree += 1;
                        t
                    } else {
                        next
                    };
                    if lead > 0 {
                        (*cur).tag = lead | TAG_FREE;
                        (*cur).next = after;
                    } else {
                        if prev.is_null() {
                            self.head = after;
                        } else {
                            (*prev).next = after;
                        }
                        self.nfree -= 1;
                    }
                    self.free -= extent;
                    self.allocations += 1;
                    return Ok(self.mark_used(b, extent, front, size));
                }
                prev = cur;
                cur = (*cur).next;
            }
        }
        Err(AllocError::OutOfMemory)
    }
}

impl FreeSpace for FirstFitHeap {
    const META: usize = FREE_META;
    const MIN_FREE: usize = MIN_BLOCK;

    fn at(&self, addr: usize) -> *mut u8 {
        FirstFitHeap::at(self, addr)
    }
    fn poison_flag(&self) -> bool {
        self.poison
    }
    fn store_poison_flag(&mut self, on: bool) {
        self.poison = on;
    }
    unsafe fn insert_free(&mut self, start: usize, end: usize) {
        // SAFETY: forwarded contract.
        unsafe { FirstFitHeap::insert_free(self, start, end) }
    }
    unsafe fn free_starts_at(&self, at: usize) -> bool {
        // SAFETY: the list is well formed (the caller's contract).
        let (_, next) = unsafe { self.neighbours(at) };
        !next.is_null() && next.addr() == at
    }
    fn each_free(&self, f: &mut dyn FnMut(usize, usize)) {
        self.for_each_free(f);
    }
    unsafe fn take_from_next(&mut self, end: usize, want: usize) -> Option<usize> {
        // SAFETY: the caller's contract: list nodes are valid free blocks;
        // the writes stay inside the free block at `end`.
        unsafe {
            let (prev, next) = self.neighbours(end);
            if next.is_null() || next.addr() != end || end + block_len(next) < want {
                return None;
            }
            let (after, rest) = ((*next).next, end + block_len(next) - want);
            let link = if rest >= MIN_BLOCK {
                let t = self.at::<FreeBlock>(want);
                t.write(FreeBlock {
                    tag: rest | TAG_FREE,
                    next: after,
                });
                t
            } else {
                self.nfree -= 1;
                after
            };
            if prev.is_null() {
                self.head = link;
            } else {
                (*prev).next = link;
            }
            let new_end = if rest >= MIN_BLOCK { want } else { want + rest };
            self.free -= new_end - end;
            Some(new_end)
        }
    }
}
