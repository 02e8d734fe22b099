//! A tree changed: a node inserted, a key removed, a node put in the
//! place of another with the same position; each change rebalances the
//! nodes on its path back up.
//!
//! Every `unsafe fn` here follows the module convention
//! ([`tree`](super)): all nodes reachable from the pointers it is given
//! are valid, live, and linked only into trees of kind `T`.

use super::balance::rebalance;
use super::{Links, TreeKind};
use core::ptr;

/// Insert `node` (not yet in this tree) and return the new root.
///
/// # Safety
/// See the module convention; `node`'s key must not be in the tree.
pub(crate) unsafe fn insert<T: TreeKind>(root: *mut T::Node, node: *mut T::Node) -> *mut T::Node {
    // SAFETY: module convention.
    unsafe {
        if root.is_null() {
            let l = T::links(node);
            (*l).left = ptr::null_mut();
            (*l).right = ptr::null_mut();
            (*l).height = 1;
            return node;
        }
        let rl = T::links(root);
        if T::key(node) < T::key(root) {
            (*rl).left = insert::<T>((*rl).left, node);
        } else {
            (*rl).right = insert::<T>((*rl).right, node);
        }
        rebalance::<T>(root)
    }
}

unsafe fn remove_min<T: TreeKind>(n: *mut T::Node) -> (*mut T::Node, *mut T::Node) {
    // SAFETY: module convention; n is non-null.
    unsafe {
        let l = T::links(n);
        if (*l).left.is_null() {
            return ((*l).right, n);
        }
        let (new_left, min) = remove_min::<T>((*l).left);
        (*l).left = new_left;
        (rebalance::<T>(n), min)
    }
}

/// Remove the node whose key is `key`; return the new root and the removed
/// node (null when the key is absent, the tree then unchanged).
///
/// # Safety
/// See the module convention.
pub(crate) unsafe fn remove<T: TreeKind>(
    root: *mut T::Node,
    key: T::Key,
) -> (*mut T::Node, *mut T::Node) {
    // SAFETY: module convention.
    unsafe {
        if root.is_null() {
            return (root, ptr::null_mut());
        }
        let rl = T::links(root);
        let k = T::key(root);
        if key < k {
            let (nl, gone) = remove::<T>((*rl).left, key);
            (*rl).left = nl;
            return (rebalance::<T>(root), gone);
        }
        if key > k {
            let (nr, gone) = remove::<T>((*rl).right, key);
            (*rl).right = nr;
            return (rebalance::<T>(root), gone);
        }
        let (left, right) = ((*rl).left, (*rl).right);
        *rl = Links::new();
        if left.is_null() {
            return (right, root);
        }
        if right.is_null() {
            return (left, root);
        }
        let (new_right, m) = remove_min::<T>(right);
        let ml = T::links(m);
        (*ml).left = left;
        (*ml).right = new_right;
        (rebalance::<T>(m), root)
    }
}

/// Put `new` where the node with key `old` is, keeping its links and
/// height; the caller guarantees `new`'s key sorts in the same place (no
/// other key lies between the two). No rebalancing is needed. Returns the
/// new root; the tree is unchanged when `old` is absent.
///
/// # Safety
/// See the module convention; `new` is not in the tree.
pub(crate) unsafe fn replace<T: TreeKind>(
    root: *mut T::Node,
    old: T::Key,
    new: *mut T::Node,
) -> *mut T::Node {
    // SAFETY: module convention.
    unsafe {
        let mut slot: *mut *mut T::Node = ptr::null_mut();
        let mut n = root;
        while !n.is_null() {
            let k = T::key(n);
            if old == k {
                let (from, to) = (T::links(n), T::links(new));
                (*to).left = (*from).left;
                (*to).right = (*from).right;
                (*to).height = (*from).height;
                if slot.is_null() {
                    return new;
                }
                *slot = new;
                return root;
            }
            slot = if old < k {
                &raw mut (*T::links(n)).left
            } else {
                &raw mut (*T::links(n)).right
            };
            n = *slot;
        }
        root
    }
}
