//! Split and coalesce, the buddy algorithm itself: taking a free block of
//! one scale (splitting a larger one, the lower half kept, each upper half
//! freed) and releasing one (merging with its buddy while the buddy is free
//! and whole), over the free lists of each scale.

use super::*;

impl BuddyHeap {
    /// Take a free block of exactly `scale`, splitting a larger one if needed
    /// (the lower half is kept, upper halves go to their free lists).
    #[inline(always)]
    pub(super) fn take(&mut self, scale: u32) -> Option<u32> {
        // course: lab 03
        let avail = self.nonempty & (!0u32 << scale);
        if avail == 0 {
            return None;
        }
        let mut s = avail.trailing_zeros();
        // SAFETY: list heads and links are offsets of free blocks inside the
        // heap (invariant kept by push/unlink/take); headers are 9 bytes at
        // offsets aligned to at least 16.
        unsafe {
            let b = *self.head_mut(s);
            let next = (*self.hdr(b)).next;
            *self.head_mut(s) = next;
            if next == NIL {
                self.nonempty &= !(1 << s);
            } else {
                (*self.hdr(next)).prev = NIL;
            }
            // The lists between `scale` and `s` are empty: each upper half
            // becomes the only block of its list.
            while s > scale {
                s -= 1;
                let upper = b + (1 << s);
                self.hdr(upper).write(Header {
                    next: NIL,
                    prev: NIL,
                    tag: FREE | s as u8,
                });
                self.mark_start(upper);
                *self.head_mut(s) = upper;
                self.nonempty |= 1 << s;
            }
            Some(b)
        }
        // course: stub
        // // LAB 03 (split): return the offset of a free block of exactly
        // // 2^scale bytes, taken off the free lists, or `None` when there is
        // // no free block of scale `scale` or more.
        // //   1. Bit s of `self.nonempty` is set when free list s is not
        // //      empty: find the smallest s >= scale with a free block (a
        // //      mask and `trailing_zeros` do it in one step).
        // //   2. Take that list's head, `self.heads[s]`, off its list
        // //      (`self.unlink(b, s)`).
        // //   3. While s > scale, halve the block: it keeps its lower half;
        // //      the upper half, at b + 2^(s-1), becomes a free block of
        // //      scale s - 1: `self.mark_start(upper)` (the side table of
        // //      block starts), then `self.push(upper, s - 1)`.
        // //   4. Return the lower block's offset; the caller writes its header.
        // // Until then every allocation fails with "out of memory".
        // let _ = (scale, self.nonempty, self.heads);
        // let _ = (Self::unlink, Self::mark_start, Self::push);
        // None
        // course: end
    }

    /// Free the block at `b` of scale `s` and merge it with its free buddies.
    ///
    /// # Safety
    /// `b` must be a genuine used block of scale `s` of this heap.
    #[inline(always)]
    pub(super) unsafe fn release(&mut self, b: u32, s: u32) {
        if self.poison {
            // SAFETY: the block's bytes after its header belong to the heap.
            unsafe { self.fill_poison(b + HEADER_SIZE as u32, b + (1 << s)) };
        }
        // course: lab 03
        let (mut b, mut s) = (b, s);
        // SAFETY: the buddy's range is checked to lie inside the heap, where
        // every buddy position of a genuine block is a genuine block start;
        // list links are offsets of free blocks.
        unsafe {
            while s < self.max_scale {
                let size = 1u32 << s;
                let buddy = b ^ size;
                if buddy < self.start || buddy + size > self.end {
                    break;
                }
                if (*self.hdr(buddy)).tag != FREE | s as u8 {
                    break;
                }
                self.unlink(buddy, s);
                let upper = b.max(buddy);
                self.unmark_start(upper);
                if self.poison {
                    self.fill_poison(upper, upper + HEADER_SIZE as u32);
                }
                b &= !size;
                s += 1;
            }
            self.push(b, s);
        }
        // course: stub
        // // LAB 03 (coalesce): the block at offset `b`, of scale `s`, is free
        // // now (its payload already poisoned above when poisoning is on).
        // // Merge it with its buddy for as long as the buddy is free and
        // // whole, then put the result on its free list.
        // //   1. The buddy of b at scale s is at `b ^ (1 << s)`. Stop at
        // //      `self.max_scale`, when the buddy's range is not inside
        // //      `self.start..self.end`, or when the buddy's header
        // //      (`*self.hdr(buddy)`) is not `tag == FREE | s as u8` (free,
        // //      of the same scale: a used or a split buddy does not merge).
        // //   2. To merge: take the buddy off its list (`self.unlink`); the
        // //      upper of the two is no block start any more
        // //      (`self.unmark_start(upper)`; with `self.poison` on, poison
        // //      its old header too: `self.fill_poison(upper, upper + 9)`);
        // //      keep the lower offset (`b & !(1 << s)`) and go up one scale.
        // //   3. Put the merged block on list s: `self.push(b, s)`.
        // // Until then a freed block is lost, and a new heap (which frees
        // // its memory into itself) has no free block at all.
        // let _ = (b, s, self.start, self.end, self.max_scale);
        // let _ = (Self::unlink, Self::unmark_start, Self::push, Self::hdr);
        // course: end
    }

    /// Put the free block `b` of scale `s` at the head of free list `s`:
    /// its header becomes free, scale `s`, linked to the old head.
    ///
    /// # Safety
    /// `b` must be a block start of scale `s` of this heap (marked in the
    /// side table) that nobody uses and that is on no free list.
    #[inline(always)]
    unsafe fn push(&mut self, b: u32, s: u32) {
        // SAFETY: `b` is a block of this heap (the caller's guarantee); the
        // old head is a free block.
        unsafe {
            let head = *self.head_mut(s);
            self.hdr(b).write(Header {
                next: head,
                prev: NIL,
                tag: FREE | s as u8,
            });
            if head != NIL {
                (*self.hdr(head)).prev = b;
            }
            *self.head_mut(s) = b;
            self.nonempty |= 1 << s;
        }
    }

    /// Remove the free block `o` from list `s`.
    ///
    /// # Safety
    /// `o` must be on free list `s`.
    #[inline(always)]
    pub(super) unsafe fn unlink(&mut self, o: u32, s: u32) {
        // SAFETY: `o` and its links are free blocks of this heap.
        unsafe {
            let next = (*self.hdr(o)).next;
            let prev = (*self.hdr(o)).prev;
            if prev == NIL {
                *self.head_mut(s) = next;
                if next == NIL {
                    self.nonempty &= !(1 << s);
                }
            } else {
                (*self.hdr(prev)).next = next;
            }
            if next != NIL {
                (*self.hdr(next)).prev = prev;
            }
        }
    }
}
