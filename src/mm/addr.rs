//! Newtypes for addresses and units, so physical and virtual never mix.
//!
//! ```text
//!   PhysAddr(u32) --containing--> Frame { number }   (4 KiB of RAM)
//!   VirtAddr(u32) --containing--> Page  { number }   (4 KiB of an address space)
//! ```
//!
//! Printed with a prefix: `P0x00100000` is physical, `V0xC0100000` virtual.

use super::layout::{KERNEL_BASE, LINEAR_SPACE_END, PAGE_SHIFT, PAGE_SIZE, PDX_SHIFT, PTX_SHIFT};
use core::fmt;

/// A physical address (32 bits: Cairn does not use PAE).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct PhysAddr(pub u32);

/// A virtual address in some address space.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct VirtAddr(pub u32);

/// A 4 KiB frame of physical memory, named by its frame number (`PhysAddr >> 12`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct Frame(pub u32);

/// A 4 KiB page of virtual memory, named by its page number (`VirtAddr >> 12`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct Page(pub u32);

impl PhysAddr {
    /// The raw address.
    pub const fn as_u32(self) -> u32 {
        self.0
    }
    /// True when the address is a multiple of `PAGE_SIZE`.
    pub const fn is_page_aligned(self) -> bool {
        (self.0 as usize).is_multiple_of(PAGE_SIZE)
    }
    /// The address in the kernel's linear space, or `None` when it lies
    /// beyond the 768 MiB the linear space maps.
    pub const fn to_linear(self) -> Option<VirtAddr> {
        if self.0 < LINEAR_SPACE_END - KERNEL_BASE {
            Some(VirtAddr(self.0 + KERNEL_BASE))
        } else {
            None
        }
    }
}

impl VirtAddr {
    /// The raw address.
    pub const fn as_u32(self) -> u32 {
        self.0
    }
    /// Page-directory index: bits 31..22.
    pub const fn pdx(self) -> usize {
        (self.0 >> PDX_SHIFT) as usize
    }
    /// Page-table index: bits 21..12.
    pub const fn ptx(self) -> usize {
        ((self.0 >> PTX_SHIFT) & 0x3FF) as usize
    }
    /// Offset inside the page: bits 11..0.
    pub const fn page_offset(self) -> u32 {
        self.0 & (PAGE_SIZE as u32 - 1)
    }
    /// True when the address is a multiple of `PAGE_SIZE`.
    pub const fn is_page_aligned(self) -> bool {
        self.page_offset() == 0
    }
    /// The physical address behind a linear-space address, or `None` when
    /// the address is outside the linear space.
    pub const fn linear_to_phys(self) -> Option<PhysAddr> {
        if self.0 >= KERNEL_BASE && self.0 < LINEAR_SPACE_END {
            Some(PhysAddr(self.0 - KERNEL_BASE))
        } else {
            None
        }
    }
}

impl Frame {
    /// The frame that holds `addr`.
    pub const fn containing_address(addr: PhysAddr) -> Frame {
        Frame(addr.0 >> PAGE_SHIFT)
    }
    /// The first byte of the frame.
    pub const fn start_address(self) -> PhysAddr {
        PhysAddr(self.0 << PAGE_SHIFT)
    }
    /// The frame number.
    pub const fn number(self) -> u32 {
        self.0
    }
}

impl Page {
    /// The page that holds `addr`.
    pub const fn containing_address(addr: VirtAddr) -> Page {
        Page(addr.0 >> PAGE_SHIFT)
    }
    /// The first byte of the page.
    pub const fn start_address(self) -> VirtAddr {
        VirtAddr(self.0 << PAGE_SHIFT)
    }
    /// The page number.
    pub const fn number(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{:#010x}", self.0)
    }
}
impl fmt::Display for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{:#010x}", self.0)
    }
}
impl fmt::Debug for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "V{:#010x}", self.0)
    }
}
impl fmt::Display for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "V{:#010x}", self.0)
    }
}
impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({:?})", self.start_address())
    }
}
impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Page({:?})", self.start_address())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_of_a_virtual_address() {
        let v = VirtAddr(0xC010_2345);
        assert_eq!(v.pdx(), 0x300);
        assert_eq!(v.ptx(), 0x102);
        assert_eq!(v.page_offset(), 0x345);
    }

    #[test]
    fn linear_space_round_trip() {
        assert_eq!(
            PhysAddr(0x0010_0000).to_linear(),
            Some(VirtAddr(0xC010_0000))
        );
        assert_eq!(
            VirtAddr(0xC010_0000).linear_to_phys(),
            Some(PhysAddr(0x0010_0000))
        );
        assert_eq!(PhysAddr(0x3000_0000).to_linear(), None);
        assert_eq!(VirtAddr(0xF000_0000).linear_to_phys(), None);
    }

    #[test]
    fn frames_and_pages() {
        assert_eq!(Frame::containing_address(PhysAddr(0x1FFF)), Frame(1));
        assert_eq!(Frame(3).start_address(), PhysAddr(0x3000));
        assert_eq!(
            Page::containing_address(VirtAddr(0xC000_0FFF)).start_address(),
            VirtAddr(0xC000_0000)
        );
        assert_eq!(format!("{:?}", PhysAddr(0x10)), "P0x00000010");
    }
}
