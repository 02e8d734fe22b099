//! Resizing without moving: a slot keeps a new size that fits it and
//! fills more than half of it; a buddy block resizes as the buddy heap's
//! `resize_in_place` does.

use core::alloc::Layout;
use core::ptr::NonNull;

use super::*;

impl SlabBuddy {
    /// Resize the allocation at `ptr` (made with `layout`) to `new_size`
    /// bytes without moving it: a slot stays when `new_size` fits it and
    /// fills more than half of it (a smaller one moves to a smaller class
    /// rather than waste the slot); a buddy block grows or shrinks as the buddy heap's
    /// `resize_in_place` does. `Ok(false)`: not possible (the caller moves
    /// it); errors as `free_layout`. Nothing changes unless `Ok(true)`.
    #[inline]
    pub fn resize_in_place(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<bool, HeapError> {
        match self.slot_of(ptr, Some(layout)) {
            None => self.buddy.resize_in_place(ptr, layout, new_size),
            Some(Ok((_, c, _))) => {
                let size = CLASSES[c].size as usize;
                Ok(new_size <= size && new_size * 2 > size)
            }
            Some(Err(e)) => Err(e),
        }
    }
}
