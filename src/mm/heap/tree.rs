//! An intrusive AVL tree: the links live inside the nodes, so the tree
//! allocates nothing of its own. The gap-tree heap threads every free gap
//! into two of these at once (by address and by length).
//!
//! ```text
//!              ┌────────── node (e.g. a gap header) ──────────┐
//!              │ key fields … │ Links{left,right,height} │ …  │
//!              └──────────────┴───────────┬──────────────┴────┘
//!                                 left ◀──┴──▶ right
//!   AVL rule: the heights of the two subtrees differ by at most 1,
//!   so every search, insert and remove is O(log n).
//! ```
//!
//! All functions take raw node pointers: the caller guarantees that every
//! node reachable from `root` is valid and that keys are unique.

use super::fault::TreeFault;
use core::mem::size_of;
use core::ptr;

/// Bytes after `height` up to the next word on a 64-bit host (none on i686).
const HEIGHT_PAD: usize = size_of::<usize>() - size_of::<u32>();

/// The per-tree links inside a node. No implicit padding: on a 64-bit host
/// `_pad` fills the word after `height` with zeros, so every byte of a node
/// header is initialised (the gap tree reads a gap's first words back as a
/// superbuffer header when it checks a free of a pointer inside a gap).
#[repr(C)]
pub(crate) struct Links<N> {
    pub left: *mut N,
    pub right: *mut N,
    pub height: u32,
    _pad: [u8; HEIGHT_PAD],
}

const _: () = assert!(size_of::<Links<u8>>() == 3 * size_of::<usize>());

impl<N> Links<N> {
    /// Links of a node that is in no tree.
    pub const fn new() -> Links<N> {
        Links {
            left: ptr::null_mut(),
            right: ptr::null_mut(),
            height: 0,
            _pad: [0; HEIGHT_PAD],
        }
    }
}

/// How one tree finds its links and its key inside a node.
pub(crate) trait TreeKind {
    type Node;
    type Key: Ord + Copy;
    /// The links this tree uses inside `n`.
    ///
    /// # Safety
    /// `n` must point to a valid node.
    unsafe fn links(n: *mut Self::Node) -> *mut Links<Self::Node>;
    /// The node's key, unique within the tree.
    ///
    /// # Safety
    /// `n` must point to a valid node.
    unsafe fn key(n: *mut Self::Node) -> Self::Key;
}

// SAFETY (module-wide convention): every `unsafe fn` below requires that all
// nodes reachable from the pointers it is given are valid, live, and linked
// only into trees of kind `T` through `T::links`.

unsafe fn height<T: TreeKind>(n: *mut T::Node) -> u32 {
    if n.is_null() {
        0
    } else {
        // SAFETY: non-null nodes are valid (module convention).
        unsafe { (*T::links(n)).height }
    }
}

unsafe fn update<T: TreeKind>(n: *mut T::Node) {
    // SAFETY: n is valid (module convention).
    unsafe {
        let l = T::links(n);
        (*l).height = 1 + height::<T>((*l).left).max(height::<T>((*l).right));
    }
}

/// One side of a node: its left or its right child.
#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
}

impl Side {
    /// The mirror side.
    fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

/// `n`'s child on `side` (null if none).
unsafe fn child<T: TreeKind>(n: *mut T::Node, side: Side) -> *mut T::Node {
    // SAFETY: n is valid (module convention).
    unsafe {
        let l = T::links(n);
        match side {
            Side::Left => (*l).left,
            Side::Right => (*l).right,
        }
    }
}

/// Make `c` (possibly null) `n`'s child on `side`.
unsafe fn set_child<T: TreeKind>(n: *mut T::Node, side: Side, c: *mut T::Node) {
    // SAFETY: n is valid (module convention).
    unsafe {
        let l = T::links(n);
        match side {
            Side::Left => (*l).left = c,
            Side::Right => (*l).right = c,
        }
    }
}

/// Lift `n`'s child on `side` into `n`'s place and return it: a right
/// rotation when `side` is `Left`, a left rotation when it is `Right`.
///
/// ```text
///        n                c          (side = Left)
///       / \              / \
///      c   z    ──▶     x   n
///     / \                  / \
///    x   y                y   z
/// ```
unsafe fn rotate<T: TreeKind>(n: *mut T::Node, side: Side) -> *mut T::Node {
    // SAFETY: called only when n has a child on `side` (module convention).
    unsafe {
        let c = child::<T>(n, side);
        set_child::<T>(n, side, child::<T>(c, side.other()));
        set_child::<T>(c, side.other(), n);
        update::<T>(n);
        update::<T>(c);
        c
    }
}

/// Restore the AVL rule at `n` (whose subtrees are valid AVL trees whose
/// heights differ by at most 2) and return the new subtree root.
unsafe fn rebalance<T: TreeKind>(n: *mut T::Node) -> *mut T::Node {
    // SAFETY: n is valid (module convention); the heavy side has a child,
    // and a child heavy on its inner side has a child there.
    unsafe {
        update::<T>(n);
        let hl = height::<T>(child::<T>(n, Side::Left));
        let hr = height::<T>(child::<T>(n, Side::Right));
        let heavy = if hl > hr + 1 {
            Side::Left
        } else if hr > hl + 1 {
            Side::Right
        } else {
            return n;
        };
        let c = child::<T>(n, heavy);
        // Heavy on its inner side: first rotate the child so the outer side
        // is the taller (the double rotation).
        if height::<T>(child::<T>(c, heavy)) < height::<T>(child::<T>(c, heavy.other())) {
            set_child::<T>(n, heavy, rotate::<T>(c, heavy.other()));
        }
        rotate::<T>(n, heavy)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Rng, soak_ops};
    use alloc::boxed::Box;
    use alloc::collections::BTreeSet;
    use alloc::vec::Vec;

    struct Node {
        key: u32,
        links: Links<Node>,
    }
    struct ByKey;
    impl TreeKind for ByKey {
        type Node = Node;
        type Key = u32;
        unsafe fn links(n: *mut Node) -> *mut Links<Node> {
            // SAFETY: caller passes a valid node.
            unsafe { &raw mut (*n).links }
        }
        unsafe fn key(n: *mut Node) -> u32 {
            // SAFETY: caller passes a valid node.
            unsafe { (*n).key }
        }
    }

    #[test]
    fn tree_soak_against_btreeset() {
        let ops = soak_ops(40_000);
        let mut rng = Rng::new(3);
        // Node storage: one boxed node per key, reused when re-inserted.
        let mut nodes: Vec<Box<Node>> = (0..512)
            .map(|k| {
                Box::new(Node {
                    key: k,
                    links: Links::new(),
                })
            })
            .collect();
        let mut root: *mut Node = ptr::null_mut();
        let mut model = BTreeSet::new();
        for i in 0..ops {
            let k = rng.range(0, 512) as u32;
            // SAFETY: every node lives in `nodes` for the whole test.
            unsafe {
                if model.contains(&k) {
                    let (r, gone) = remove::<ByKey>(root, k);
                    root = r;
                    assert_eq!((*gone).key, k);
                    model.remove(&k);
                } else {
                    let n: *mut Node = &mut *nodes[k as usize];
                    root = insert::<ByKey>(root, n);
                    model.insert(k);
                }
                let q = rng.range(0, 520) as u32;
                let lb = lower_bound::<ByKey>(root, q);
                assert_eq!(
                    (!lb.is_null()).then(|| (*lb).key),
                    model.range(q..).next().copied()
                );
                let b = below::<ByKey>(root, q);
                assert_eq!(
                    (!b.is_null()).then(|| (*b).key),
                    model.range(..q).next_back().copied()
                );
                let m = max::<ByKey>(root);
                assert_eq!((!m.is_null()).then(|| (*m).key), model.last().copied());
                if i % 64 == 0 || ops < 5000 {
                    assert_eq!(check::<ByKey>(root, 1000), Ok(model.len()));
                    let mut seen = Vec::new();
                    walk::<ByKey>(root, &mut |n| {
                        seen.push((*n).key);
                        true
                    });
                    assert!(seen.iter().copied().eq(model.iter().copied()));
                }
                // Removing an absent key changes nothing.
                let absent = 600;
                let (r, gone) = remove::<ByKey>(root, absent);
                assert!(gone.is_null());
                assert_eq!(r, root);
            }
        }
    }

    #[test]
    fn sequential_inserts_stay_logarithmic() {
        let mut nodes: Vec<Box<Node>> = (0..4096)
            .map(|k| {
                Box::new(Node {
                    key: k,
                    links: Links::new(),
                })
            })
            .collect();
        let mut root: *mut Node = ptr::null_mut();
        // SAFETY: nodes outlive the tree.
        unsafe {
            for n in nodes.iter_mut() {
                root = insert::<ByKey>(root, &mut **n);
            }
            assert_eq!(check::<ByKey>(root, 5000), Ok(4096));
            // AVL height bound: 1.44 log2(n+2) ≈ 17.3 for 4096 nodes.
            assert!((*root).links.height <= 17);
        }
    }
}
