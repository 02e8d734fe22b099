//! The recursive slot: the directory and the page tables seen through
//! PD[1023] agree with the tables themselves.

use crate::arch::x86::{self, probe};
use crate::kassert;
use crate::kernel::memory;
use crate::mm::addr::VirtAddr;
use crate::mm::layout::{KERNEL_HEAP_START, RECURSIVE_DIRECTORY, RECURSIVE_INDEX};
use crate::mm::paging::{Entry, EntryFlags, recursive};
use alloc::string::String;

/// Through PD[1023], the directory appears at 0xFFFFF000 and the tables at
/// 0xFFC00000: the entries read there are the ones the mapper reads.
pub fn recursive_slot() -> Result<(), String> {
    let read = |va: VirtAddr| probe::read_u32(va.as_u32()).map(Entry::from_raw);
    let self_entry = read(VirtAddr(RECURSIVE_DIRECTORY + RECURSIVE_INDEX as u32 * 4))
        .map_err(|c| alloc::format!("{c:?}"))?;
    let cr3 = x86::cr3();
    let text = VirtAddr(recursive_slot as fn() -> Result<(), String> as usize as u32);
    let heap = VirtAddr(KERNEL_HEAP_START);
    let (dir, pde_text, pte_text, pte_heap) = memory::with(|m| {
        let mut mapper = m.mapper();
        let mut pte = |va: VirtAddr| {
            let slot = mapper.walk(va, crate::mm::paging::Alloc::No).ok();
            slot.map(|s| mapper.read_pte(s))
        };
        let (pte_text, pte_heap) = (pte(text), pte(heap));
        (
            m.kernel.directory(),
            m.mapper().read_pde(text),
            pte_text,
            pte_heap,
        )
    });
    kassert!(
        self_entry.is_present() && self_entry.frame() == dir,
        "PD[1023] = {:#010x}, directory {dir:?}",
        self_entry.raw()
    );
    kassert!(
        dir.start_address().as_u32() == cr3,
        "CR3 {cr3:#x} is not the kernel directory {dir:?}"
    );
    kassert!(
        !self_entry.flags().contains(EntryFlags::USER),
        "the recursive slot is user-accessible"
    );
    let r_pde = read(recursive::pde_of(text)).map_err(|c| alloc::format!("{c:?}"))?;
    kassert!(
        r_pde == pde_text,
        "PDE via PD[1023] {:#x}, mapper {:#x}",
        r_pde.raw(),
        pde_text.raw()
    );
    for (va, mine) in [(text, pte_text), (heap, pte_heap)] {
        let r = read(recursive::pte_of(va)).map_err(|c| alloc::format!("{c:?}"))?;
        let mine = mine.ok_or_else(|| alloc::format!("no page table for {va:?}"))?;
        // The CPU may set accessed/dirty between the two reads.
        let strip = |e: Entry| e.raw() & !EntryFlags::CPU_SET.bits();
        kassert!(
            strip(r) == strip(mine),
            "PTE of {va:?}: {:#x} via PD[1023], {:#x} mapper",
            r.raw(),
            mine.raw()
        );
    }
    // The directory seen as a page: the last word is PD[1023] itself.
    kassert!(
        read(VirtAddr(recursive::directory().as_u32() + 0xFFC)).ok() == Some(self_entry),
        "0xFFFFFFFC does not hold PD[1023]"
    );
    Ok(())
}
