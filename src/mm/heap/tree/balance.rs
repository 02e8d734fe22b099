//! The AVL rule kept: a node's height from its children's, the two
//! rotations, and the rebalancing of a node whose subtrees' heights
//! differ by two.
//!
//! Every `unsafe fn` here follows the module convention
//! ([`tree`](super)): all nodes reachable from the pointers it is given
//! are valid, live, and linked only into trees of kind `T`.

use super::TreeKind;

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
pub(super) unsafe fn rebalance<T: TreeKind>(n: *mut T::Node) -> *mut T::Node {
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
