//! Why a frame allocator's `check()` failed: one enum for the three
//! allocators (and the run map and bitmaps under them), each variant one
//! broken invariant, printed as the allocator's own message.

use crate::mm::bitmap::BitmapCheckError;
use crate::mm::runs::RunsCheckError;
use core::fmt;

/// The first broken invariant a frame allocator's `check()` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameCheckError {
    /// One of the allocator's bitmaps is unsound.
    Bitmap(BitmapCheckError),
    /// The run map (used and start bits) is unsound.
    Runs(RunsCheckError),
    /// The bitmap allocator's next-fit cursor is past its span.
    CursorPastSpan,
    /// A buddy free list is longer than its count (a cycle?).
    BuddyListTooLong,
    /// A buddy free list's back link is wrong.
    BuddyBrokenLink,
    /// A free buddy block is misaligned or past the span.
    BuddyMisaligned,
    /// A listed buddy block is not marked in its order's bitmap.
    BuddyNotInBitmap,
    /// A free buddy block covers a frame that is not managed.
    BuddyUnmanaged,
    /// A free buddy block lies inside a larger free block.
    BuddyNested,
    /// A free buddy block and its free buddy were not merged.
    BuddyUnmerged,
    /// A buddy order's list length, count and bitmap disagree.
    BuddyCountMismatch,
    /// The free buddy blocks do not add up to the free count.
    BuddyFreeSum,
    /// Two buddy allocations overlap.
    BuddyOverlap,
    /// A buddy allocation is empty or outside managed memory.
    BuddyEmptyAllocation,
    /// An allocated frame is also in a free buddy block.
    BuddyAllocatedAndFree,
    /// Free plus allocated frames are not the managed total.
    BuddyTotal,
    /// The free list is longer than the free count (a cycle or a stray frame).
    FreelistTooLong,
    /// A frame on the free list is not managed.
    FreelistUnmanaged,
    /// A frame on the free list is marked allocated.
    FreelistAllocated,
    /// The free list's back link is wrong.
    FreelistBrokenLink,
    /// The free list is shorter than the free count.
    FreelistTooShort,
    /// The managed ranges overlap or are out of order.
    RunsOutOfOrder,
    /// A frame outside the managed ranges is not marked used and start.
    RunsUnmanagedNotMarked,
}

impl FrameCheckError {
    /// The message.
    pub const fn as_str(self) -> &'static str {
        match self {
            FrameCheckError::Bitmap(e) => e.as_str(),
            FrameCheckError::Runs(RunsCheckError::Used(e) | RunsCheckError::Starts(e)) => {
                e.as_str()
            }
            FrameCheckError::Runs(RunsCheckError::StartOnFree(_)) => {
                "runs: a start frame is not marked used"
            }
            FrameCheckError::Runs(RunsCheckError::Orphan(_)) => {
                "runs: a used frame belongs to no run"
            }
            FrameCheckError::CursorPastSpan => "bitmap: cursor past the span",
            FrameCheckError::BuddyListTooLong => {
                "buddy: a free list is longer than its count (cycle?)"
            }
            FrameCheckError::BuddyBrokenLink => "buddy: broken prev link",
            FrameCheckError::BuddyMisaligned => "buddy: free block misaligned or past the span",
            FrameCheckError::BuddyNotInBitmap => {
                "buddy: listed block not marked in its order's bitmap"
            }
            FrameCheckError::BuddyUnmanaged => {
                "buddy: free block covers a frame that is not managed"
            }
            FrameCheckError::BuddyNested => "buddy: free block inside a larger free block",
            FrameCheckError::BuddyUnmerged => {
                "buddy: free block and its free buddy were not merged"
            }
            FrameCheckError::BuddyCountMismatch => "buddy: list length, count and bitmap disagree",
            FrameCheckError::BuddyFreeSum => "buddy: free blocks do not add up to the free count",
            FrameCheckError::BuddyOverlap => "buddy: allocations overlap",
            FrameCheckError::BuddyEmptyAllocation => {
                "buddy: allocation empty or outside managed memory"
            }
            FrameCheckError::BuddyAllocatedAndFree => "buddy: an allocated frame is also free",
            FrameCheckError::BuddyTotal => "buddy: free + allocated is not the managed total",
            FrameCheckError::FreelistTooLong => {
                "freelist: list longer than the free count (cycle or stray frame)"
            }
            FrameCheckError::FreelistUnmanaged => "freelist: a listed frame is not managed",
            FrameCheckError::FreelistAllocated => "freelist: a listed frame is marked allocated",
            FrameCheckError::FreelistBrokenLink => "freelist: broken prev link",
            FrameCheckError::FreelistTooShort => "freelist: list shorter than the free count",
            FrameCheckError::RunsOutOfOrder => "runs: managed ranges overlap or are out of order",
            FrameCheckError::RunsUnmanagedNotMarked => {
                "runs: an unmanaged frame is not marked used and start"
            }
        }
    }
}

impl fmt::Display for FrameCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<BitmapCheckError> for FrameCheckError {
    fn from(e: BitmapCheckError) -> FrameCheckError {
        FrameCheckError::Bitmap(e)
    }
}
