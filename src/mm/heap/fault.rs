//! What a heap's integrity check (`HeapBackend::check`) found wrong: one
//! enum per design, gathered in [`HeapCheckError`], each variant one cause.
//!
//! ```text
//!   HeapCheckError ─┬─ Buddy(CheckError)      (heap::buddy: headers, lists, side table, poison)
//!                   ├─ Slab(SlabFault)        (heap::slab: slabs, bitmaps, free lists, poison)
//!                   ├─ FirstFit(FirstFitFault) (free list, block tiling)
//!                   ├─ GapTree(GapTreeFault)   (the two AVL trees, gaps, superbuffers)
//!                   └─ Pool(PoolFault)         (page arena and pools)
//! ```

use core::fmt;

use super::buddy::CheckError;
use super::slab::SlabFault;

/// A heap's integrity check failed: which design, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeapCheckError {
    Buddy(CheckError),
    Slab(SlabFault),
    FirstFit(FirstFitFault),
    GapTree(GapTreeFault),
    Pool(PoolFault),
}

impl fmt::Display for HeapCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapCheckError::Buddy(e) => write!(f, "buddy: {e}"),
            HeapCheckError::Slab(e) => write!(f, "slab: {e}"),
            HeapCheckError::FirstFit(e) => write!(f, "firstfit: {e}"),
            HeapCheckError::GapTree(e) => write!(f, "gaptree: {e}"),
            HeapCheckError::Pool(e) => write!(f, "poolheap: {e}"),
        }
    }
}

/// What the first-fit heap's check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstFitFault {
    FreeBlockTooShort,
    FreeBlockOutsideRegions,
    FreeListUnsorted,
    FreeBlocksNotCoalesced,
    CountersDisagree,
    BadFrontVoid,
    BadUsedHeader,
    UntaggedBlock,
    BlockPastRegion,
    RegionsNotTiled,
    /// A free block's bytes after its header are not all the poison: the
    /// block at `block` was written at `at` after its free (checked while
    /// poisoning is on).
    Poisoned {
        block: usize,
        at: usize,
    },
}

impl fmt::Display for FirstFitFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FirstFitFault::Poisoned { block, at } => return written_after_free(f, *block, *at),
            FirstFitFault::FreeBlockTooShort => "free block too short",
            FirstFitFault::FreeBlockOutsideRegions => "free block outside the regions",
            FirstFitFault::FreeListUnsorted => "free list unsorted or overlapping",
            FirstFitFault::FreeBlocksNotCoalesced => "touching free blocks not coalesced",
            FirstFitFault::CountersDisagree => "counters disagree with the list",
            FirstFitFault::BadFrontVoid => "bad front void",
            FirstFitFault::BadUsedHeader => "bad used-block header",
            FirstFitFault::UntaggedBlock => "untagged block",
            FirstFitFault::BlockPastRegion => "block runs past its region",
            FirstFitFault::RegionsNotTiled => "blocks do not tile the regions",
        })
    }
}

/// What the gap-tree heap's check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapTreeFault {
    Tree(TreeFault),
    TreeSizes,
    GapTag,
    GapTooShort,
    GapOutsideRegions,
    GapsOverlap,
    GapsNotMerged,
    GapNotInLengthTree,
    FreeCounter,
    SuperCheckWord,
    SuperTooShort,
    SuperNotUnitMultiple,
    MalformedBlock,
    RegionsNotTiled,
    SuperCounters,
    /// A gap's bytes after its header are not all the poison: the gap at
    /// `block` was written at `at` after the memory was freed (checked while
    /// poisoning is on).
    Poisoned {
        block: usize,
        at: usize,
    },
}

impl fmt::Display for GapTreeFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GapTreeFault::Tree(t) => return write!(f, "tree: {t}"),
            GapTreeFault::Poisoned { block, at } => return written_after_free(f, *block, *at),
            GapTreeFault::TreeSizes => "tree sizes differ from the gap count",
            GapTreeFault::GapTag => "gap tag wrong",
            GapTreeFault::GapTooShort => "gap too short or not a unit multiple",
            GapTreeFault::GapOutsideRegions => "gap outside the regions",
            GapTreeFault::GapsOverlap => "gaps overlap",
            GapTreeFault::GapsNotMerged => "touching gaps not merged",
            GapTreeFault::GapNotInLengthTree => "gap missing from the length tree",
            GapTreeFault::FreeCounter => "free counter wrong",
            GapTreeFault::SuperCheckWord => "superbuffer check word wrong",
            GapTreeFault::SuperTooShort => "superbuffer shorter than its contents",
            GapTreeFault::SuperNotUnitMultiple => "superbuffer not a unit multiple",
            GapTreeFault::MalformedBlock => "malformed block",
            GapTreeFault::RegionsNotTiled => "blocks do not tile the regions",
            GapTreeFault::SuperCounters => "superbuffer counters wrong",
        })
    }
}

/// The words every design uses for a write after free (the `heapcheck`
/// command and the in-kernel test look for "written after its free").
fn written_after_free(f: &mut fmt::Formatter<'_>, block: usize, at: usize) -> fmt::Result {
    write!(
        f,
        "free block at {block:#x} written after its free, at {at:#x} (use after free)"
    )
}

impl HeapCheckError {
    /// The free block a write after free was found in and the address of
    /// the first byte written, for the designs that poison by address
    /// (first-fit, gap tree, pool, the slabs); the buddy heap names offsets in its own
    /// [`CheckError::Poisoned`](super::buddy::CheckError::Poisoned).
    pub fn written_after_free(&self) -> Option<(usize, usize)> {
        match *self {
            HeapCheckError::FirstFit(FirstFitFault::Poisoned { block, at })
            | HeapCheckError::GapTree(GapTreeFault::Poisoned { block, at })
            | HeapCheckError::Pool(PoolFault::Poisoned { block, at })
            | HeapCheckError::Slab(SlabFault::Poisoned { slot: block, at }) => Some((block, at)),
            _ => None,
        }
    }
}

/// What the AVL tree check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeFault {
    /// More nodes than the heap can hold: a cycle.
    TooManyNodes,
    KeysOutOfOrder,
    Unbalanced,
    WrongHeight,
}

impl fmt::Display for TreeFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TreeFault::TooManyNodes => "more nodes than expected (cycle?)",
            TreeFault::KeysOutOfOrder => "keys out of order",
            TreeFault::Unbalanced => "AVL balance broken",
            TreeFault::WrongHeight => "stored height wrong",
        })
    }
}

/// What the pool heap's check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolFault {
    /// The page arena's allocations are not the pools plus the large blocks.
    ArenaCount,
    /// A free slot or free page no longer holds the poison: the block at
    /// `block` was written at `at` after its free (checked while poisoning
    /// is on).
    Poisoned { block: usize, at: usize },
    // course: module 07
    /// A check of the FreeNOS family member underneath (page arena bits,
    /// pool lists and guards) failed; the family reports its own cause.
    Family(crate::mm::family::FamilyCheckError),
    // course: end
}

impl fmt::Display for PoolFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolFault::ArenaCount => {
                f.write_str("arena allocations differ from pools + large blocks")
            }
            PoolFault::Poisoned { block, at } => written_after_free(f, *block, *at),
            // course: module 07
            PoolFault::Family(e) => write!(f, "{e}"),
            // course: end
        }
    }
}
