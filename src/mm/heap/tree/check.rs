//! The tree checked: keys in order, stored heights true, the AVL rule
//! held at every node, and the node count within a limit (so a cycle
//! cannot loop forever).
//!
//! Every `unsafe fn` here follows the module convention
//! ([`tree`](super)): all nodes reachable from the pointers it is given
//! are valid, live, and linked only into trees of kind `T`.

use super::TreeKind;
use crate::mm::heap::fault::TreeFault;

/// Verify order, stored heights and the AVL rule; return the node count.
///
/// # Safety
/// See the module convention; the tree must have at most `limit` nodes or
/// the check stops with an error (so a cycle cannot loop forever).
pub(crate) unsafe fn check<T: TreeKind>(
    root: *mut T::Node,
    limit: usize,
) -> Result<usize, TreeFault> {
    unsafe fn rec<T: TreeKind>(
        n: *mut T::Node,
        lo: Option<T::Key>,
        hi: Option<T::Key>,
        count: &mut usize,
        limit: usize,
    ) -> Result<u32, TreeFault> {
        if n.is_null() {
            return Ok(0);
        }
        *count += 1;
        if *count > limit {
            return Err(TreeFault::TooManyNodes);
        }
        // SAFETY: module convention.
        unsafe {
            let k = T::key(n);
            if lo.is_some_and(|lo| k <= lo) || hi.is_some_and(|hi| k >= hi) {
                return Err(TreeFault::KeysOutOfOrder);
            }
            let l = T::links(n);
            let hl = rec::<T>((*l).left, lo, Some(k), count, limit)?;
            let hr = rec::<T>((*l).right, Some(k), hi, count, limit)?;
            if hl.abs_diff(hr) > 1 {
                return Err(TreeFault::Unbalanced);
            }
            let h = 1 + hl.max(hr);
            if (*l).height != h {
                return Err(TreeFault::WrongHeight);
            }
            Ok(h)
        }
    }
    let mut count = 0;
    // SAFETY: module convention.
    unsafe { rec::<T>(root, None, None, &mut count, limit)? };
    Ok(count)
}
