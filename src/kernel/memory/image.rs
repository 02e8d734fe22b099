//! The kernel image as the linker laid it out: its bounds rounded to pages
//! ([`image`]) and the bytes of each section ([`image_sections`]).

use crate::mm::layout::PAGE_SIZE;

unsafe extern "C" {
    static __kernel_start: [u8; 0];
    static __text_end: [u8; 0];
    static __rodata_start: [u8; 0];
    static __rodata_end: [u8; 0];
    static __data_start: [u8; 0];
    static __data_end: [u8; 0];
    static __bss_start: [u8; 0];
    static __bss_end: [u8; 0];
    static __kernel_end: [u8; 0];
}

/// Virtual bounds of the kernel image parts: (start, text end, rodata end, end).
pub fn image() -> (u32, u32, u32, u32) {
    (
        (&raw const __kernel_start).addr() as u32,
        ((&raw const __text_end).addr() as u32).next_multiple_of(PAGE_SIZE as u32),
        ((&raw const __rodata_end).addr() as u32).next_multiple_of(PAGE_SIZE as u32),
        ((&raw const __kernel_end).addr() as u32).next_multiple_of(PAGE_SIZE as u32),
    )
}

/// The bytes the loader filled, section by section (virtual, end
/// exclusive): `.text`, `.rodata`, `.data`, `.bss`. Each starts on a page;
/// the padding after each one's end, up to the next page, is no byte of the
/// kernel's, and the loader may put its own data there (GRUB's multiboot2
/// information): the kernel image reserves whole frames, so such a frame is
/// the image's and the loader's both (`FramePlan::shared`).
pub fn image_sections() -> [(&'static str, u32, u32); 4] {
    let at = |p: *const [u8; 0]| p.addr() as u32;
    [
        (
            ".text",
            at(&raw const __kernel_start),
            at(&raw const __text_end),
        ),
        (
            ".rodata",
            at(&raw const __rodata_start),
            at(&raw const __rodata_end),
        ),
        (
            ".data",
            at(&raw const __data_start),
            at(&raw const __data_end),
        ),
        (".bss", at(&raw const __bss_start), at(&raw const __bss_end)),
    ]
}
