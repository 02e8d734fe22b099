//! Searches down a tree: the node with the smallest key at or above a key
//! (`lower_bound`) and with the largest key below it (`below`), the largest
//! key (`max`): each one walk down from the root, O(height), without
//! recursion; and every node in key order (`walk`).
//!
//! ```text
//!   keys 10 20 30 40 50:   lower_bound(25) = 30    below(25) = 20
//!                          lower_bound(60) = null  below(10) = null
//! ```
//!
//! Every `unsafe fn` here follows the module convention
//! ([`tree`](super)): all nodes reachable from the pointers it is given
//! are valid, live, and linked only into trees of kind `T`.

use super::TreeKind;
use core::ptr;

/// The node with the smallest key `>= key`, or null.
///
/// # Safety
/// See the module convention.
// course: lab 07
pub(crate) unsafe fn lower_bound<T: TreeKind>(mut n: *mut T::Node, key: T::Key) -> *mut T::Node {
    let mut best = ptr::null_mut();
    // SAFETY: module convention.
    unsafe {
        while !n.is_null() {
            if T::key(n) >= key {
                best = n;
                n = (*T::links(n)).left;
            } else {
                n = (*T::links(n)).right;
            }
        }
    }
    best
}
// course: stub
// pub(crate) unsafe fn lower_bound<T: TreeKind>(n: *mut T::Node, key: T::Key) -> *mut T::Node {
//     // LAB 07 (1/4): walk down from the root `n`. A node whose key is >= `key`
//     // is a candidate: remember it and look for a smaller one on its left;
//     // otherwise go right. Return the last candidate (null when none).
//     // Read a node's key with `T::key(node)` and its children with
//     // `(*T::links(node)).left` / `.right` (inside `unsafe`: the module
//     // convention above says why it is sound). O(height), no recursion.
//     let _ = (n, key);
//     ptr::null_mut()
// }
// course: end

/// The node with the largest key `< key`, or null.
///
/// # Safety
/// See the module convention.
// course: lab 07
pub(crate) unsafe fn below<T: TreeKind>(mut n: *mut T::Node, key: T::Key) -> *mut T::Node {
    let mut best = ptr::null_mut();
    // SAFETY: module convention.
    unsafe {
        while !n.is_null() {
            if T::key(n) < key {
                best = n;
                n = (*T::links(n)).right;
            } else {
                n = (*T::links(n)).left;
            }
        }
    }
    best
}
// course: stub
// pub(crate) unsafe fn below<T: TreeKind>(n: *mut T::Node, key: T::Key) -> *mut T::Node {
//     // LAB 07 (2/4): the mirror of `lower_bound`: the node with the largest
//     // key strictly below `key`, or null. The gap tree asks it for the gap
//     // that may end where a freed block starts.
//     let _ = (n, key);
//     ptr::null_mut()
// }
// course: end

/// The node with the largest key, or null for an empty tree.
///
/// # Safety
/// See the module convention.
pub(crate) unsafe fn max<T: TreeKind>(mut n: *mut T::Node) -> *mut T::Node {
    // SAFETY: module convention.
    unsafe {
        while !n.is_null() && !(*T::links(n)).right.is_null() {
            n = (*T::links(n)).right;
        }
    }
    n
}

/// Call `f` on every node in key order; stop early when `f` returns false.
/// Returns false when stopped early.
///
/// # Safety
/// See the module convention; `f` must not change the tree.
pub(crate) unsafe fn walk<T: TreeKind>(
    n: *mut T::Node,
    f: &mut dyn FnMut(*mut T::Node) -> bool,
) -> bool {
    if n.is_null() {
        return true;
    }
    // SAFETY: module convention.
    unsafe {
        let l = T::links(n);
        walk::<T>((*l).left, f) && f(n) && walk::<T>((*l).right, f)
    }
}
