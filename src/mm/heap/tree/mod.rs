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
//!
//! One file per idea:
//!
//! ```text
//!   mod.rs      the links inside a node, how a tree finds them and its key
//!   balance.rs  heights, rotations, rebalancing
//!   edit.rs     insert, remove, replace
//!   search.rs   lower_bound, below, max, walk
//!   check.rs    check(): order, heights, the AVL rule
//! ```

mod balance;
mod check;
mod edit;
mod search;

pub(crate) use check::check;
pub(crate) use edit::{insert, remove, replace};
pub(crate) use search::{below, lower_bound, max, walk};

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

#[cfg(test)]
mod tests;
