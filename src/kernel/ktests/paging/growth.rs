//! The kernel heap grows through the VMM: pages of the heap region mapped
//! as it grows, frames taken from the PMM.

use crate::kassert;
use crate::kernel::heap::{self as kheap, INITIAL_HEAP};
use crate::kernel::memory;
use crate::mm::addr::{Page, VirtAddr};
use crate::mm::layout::{KERNEL_HEAP_START, PAGE_SIZE};
use crate::mm::paging::EntryFlags;
use alloc::string::String;
use alloc::vec::Vec;

/// The kernel heap grows through the VMM past `INITIAL_HEAP`: a block larger
/// than what is mapped forces the grow hook; every page of the heap then
/// translates to an owned frame, and the page after the heap is unmapped.
pub fn heap_grows() -> Result<(), String> {
    const BLOCK: usize = 32 * 1024;
    let before = kheap::mapped_bytes();
    // More bytes than are mapped cannot fit: the heap must grow on the way.
    let most = (before + 2 * 1024 * 1024) / BLOCK;
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    blocks
        .try_reserve_exact(most)
        .map_err(|e| alloc::format!("cannot allocate the block list: {e:?}"))?;
    while kheap::mapped_bytes() == before && blocks.len() < most {
        let mut block = Vec::new();
        block
            .try_reserve_exact(BLOCK)
            .map_err(|e| alloc::format!("block {}: {e:?}", blocks.len()))?;
        block.resize(BLOCK, blocks.len() as u8);
        blocks.push(block);
    }
    let after = kheap::mapped_bytes();
    kassert!(
        after > before,
        "the heap did not grow ({before} bytes mapped, {} blocks of {BLOCK})",
        blocks.len()
    );
    kassert!(
        after > INITIAL_HEAP,
        "mapped {after} <= INITIAL_HEAP {INITIAL_HEAP}"
    );
    let heap_end = KERNEL_HEAP_START as usize + after;
    for (i, block) in blocks.iter().enumerate() {
        let (start, end) = (block.as_ptr().addr(), block.as_ptr().addr() + BLOCK);
        kassert!(
            start >= KERNEL_HEAP_START as usize && end <= heap_end,
            "block {i} at {start:#x}..{end:#x} is outside the mapped heap"
        );
        kassert!(
            block.iter().all(|&b| b == i as u8),
            "block {i} lost its bytes"
        );
    }
    let (unmapped, not_owned, past) = memory::with(|m| {
        let mapper = m.mapper();
        let (mut unmapped, mut not_owned) = (0, 0);
        for page in (KERNEL_HEAP_START..heap_end as u32).step_by(PAGE_SIZE) {
            match mapper.mapping(Page::containing_address(VirtAddr(page))) {
                None => unmapped += 1,
                Some((_, flags)) if !flags.contains(EntryFlags::OWNED) => not_owned += 1,
                Some(_) => {}
            }
        }
        (
            unmapped,
            not_owned,
            mapper.translate(VirtAddr(heap_end as u32)),
        )
    });
    kassert!(
        unmapped == 0,
        "{unmapped} heap pages below the mapped end do not translate"
    );
    kassert!(
        not_owned == 0,
        "{not_owned} heap pages are not owned frames"
    );
    kassert!(past.is_none(), "the page after the heap maps to {past:?}");
    Ok(())
}
