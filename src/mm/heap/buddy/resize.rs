//! Resizing in place (shrinking frees upper halves, growing absorbs free
//! upper buddies), and how much growth a request needs.

use core::alloc::Layout;
use core::ptr::NonNull;

use super::*;

impl BuddyHeap {
    /// Resize the allocation at `ptr` (made with `layout`) to `new_size` bytes
    /// without moving it: shrinking frees upper halves, growing absorbs free
    /// upper buddies. `ptr` and `layout` are checked as by `free_layout`
    /// (an error changes nothing); `Ok(false)` when the block cannot be
    /// resized in place (the caller moves it), also changing nothing.
    pub fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<bool, HeapError> {
        let (b, s) = self.checked_block(ptr, layout)?;
        let Ok(target) = self.request_scale(new_size, layout.align()) else {
            return Ok(false);
        };
        // SAFETY: `checked_block` found a genuine used block of scale `s`;
        // buddies are read only when their range lies inside the heap.
        unsafe {
            let mut s = s;
            if target > s {
                // Every upper buddy up to `target` must be free and whole.
                for j in s..target {
                    let buddy = b + (1 << j);
                    if b & (1 << j) != 0
                        || buddy + (1 << j) > self.end
                        || (*self.hdr(buddy)).tag != FREE | j as u8
                    {
                        return Ok(false);
                    }
                }
                for j in s..target {
                    self.unlink(b + (1 << j), j);
                    self.unmark_start(b + (1 << j));
                }
            } else {
                while s > target {
                    s -= 1;
                    let upper = b + (1 << s);
                    self.hdr(upper).write(Header {
                        next: 0,
                        prev: 1,
                        tag: s as u8,
                    });
                    self.mark_start(upper);
                    self.release(upper, s);
                }
            }
            self.hdr(b).write(Header {
                next: new_size as u32,
                prev: layout.align() as u32,
                tag: target as u8,
            });
        }
        Ok(true)
    }

    /// Bytes `add_backed` must add before a request for `layout` can succeed,
    /// or `None` when the request is impossible or the arena is too small.
    pub fn grow_hint(&self, layout: Layout) -> Option<usize> {
        let s = self.request_scale(layout.size(), layout.align()).ok()?;
        let size = 1usize << s;
        let at = (self.end as usize + size - 1) & !(size - 1);
        let need_end = at + size;
        (need_end <= self.limit as usize).then(|| need_end - self.backed as usize)
    }
}
