//! Which frame allocator the kernel runs (`pmm=`), and how many bytes of
//! metadata each needs for a span of frames.

use crate::mm::frame::meta;

/// Which allocator the kernel runs (`pmm=` on the GRUB command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PmmChoice {
    /// [`BitmapFrameAllocator`](crate::mm::frame::BitmapFrameAllocator).
    Bitmap,
    /// [`BuddyFrameAllocator`](crate::mm::frame::BuddyFrameAllocator), the default.
    #[default]
    Buddy,
    /// [`FreeListFrameAllocator`](crate::mm::frame::FreeListFrameAllocator).
    FreeList,
}

impl PmmChoice {
    /// The short name: `bitmap`, `buddy`, `freelist`.
    pub const fn name(self) -> &'static str {
        match self {
            PmmChoice::Bitmap => "bitmap",
            PmmChoice::Buddy => "buddy",
            PmmChoice::FreeList => "freelist",
        }
    }
    /// The choice named `s` (`bitmap`, `buddy`, `freelist`), or `None`.
    pub fn parse(s: &str) -> Option<PmmChoice> {
        match s {
            "bitmap" => Some(PmmChoice::Bitmap),
            "buddy" => Some(PmmChoice::Buddy),
            "freelist" => Some(PmmChoice::FreeList),
            _ => None,
        }
    }
    /// The choice from a kernel command line (`... pmm=bitmap ...`): the last
    /// `pmm=` word wins; none gives the default (buddy); an unknown value is
    /// `Err` with that value so the kernel can say what it ignored.
    pub fn from_cmdline(cmdline: &str) -> Result<PmmChoice, &str> {
        let mut choice = PmmChoice::default();
        for word in cmdline.split_ascii_whitespace() {
            if let Some(value) = word.strip_prefix("pmm=") {
                choice = PmmChoice::parse(value).ok_or(value)?;
            }
        }
        Ok(choice)
    }
    /// Metadata bytes this allocator needs for a span of `span_frames` frames.
    pub fn metadata_bytes(self, span_frames: usize) -> usize {
        match self {
            PmmChoice::Bitmap => meta::bitmap_metadata_bytes(span_frames),
            PmmChoice::Buddy => meta::buddy_metadata_bytes(span_frames),
            PmmChoice::FreeList => meta::freelist_metadata_bytes(span_frames),
        }
    }
}
