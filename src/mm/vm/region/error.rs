//! Why the region table refused a change ([`RegionError`]) and why a
//! search for free pages found none ([`FindFreeError`]).

use super::Region;

/// Why `set_range` refused a range. The map is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionError {
    /// Start or size not page aligned, or size zero.
    Unaligned,
    /// The range passes the end of the 32-bit space.
    BadRange,
    /// The range overlaps another region.
    Overlaps(Region),
    /// A user region would reach the kernel half, or a kernel region the user half.
    WrongHalf,
}

/// Why `find_free` found nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindFreeError {
    /// Size zero, or larger than the region.
    BadSize,
    /// Nothing may be mapped in this region (null guard, recursive slot).
    NotMappable(Region),
    /// No stretch of unmapped pages that long in the region.
    NoSpace,
}
