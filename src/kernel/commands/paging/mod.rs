//! Commands for paging and the virtual memory manager, and the detail that
//! page-fault and double-fault reports print (the region, the walk, the cause).
//!
//! ```text
//!   translate <vaddr>   CR3 -> PD[PDX] -> PT[PTX] -> frame + offset, step by step
//!   pagedir             every mapping of the kernel directory, merged into runs
//!   vmregions           the region table: range, size, pages mapped, use
//!   map <vaddr> [phys]  map one page in the kernel's address space
//!   unmap <vaddr>       remove it again (invlpg; a frame `map` took goes back,
//!                       and a page table `map` made, once empty)
//!   segdemo [offset]    selector:offset --segment--> linear --paging--> physical
//!
//!   where `map` and `unmap` work (the rest is the kernel's own and stays intact):
//!     user data .. user args   V0x00400000-V0xbfffffff  (the kernel directory's user half)
//!     kernel private           V0xf8000000-V0xff7fffff  (no kernel stack lives there yet)
//!
//!   what `map <vaddr> <phys>` does with the frame, by what the PMM says of it:
//!     free in the PMM ............... refused: the PMM would hand it out again
//!     in use, or reserved RAM ....... mapped read-only: an alias to look at, not to break
//!     low memory, or not RAM at all . mapped writable, cache disabled: device memory
//!   `map <vaddr>` alone takes a fresh zeroed frame from the PMM, marked OWNED,
//!   and `unmap` gives exactly those frames back.
//! ```
//!
//! Rule of these files: nothing allocates while `memory::MEMORY` is held. The
//! commands copy what they need out of `memory::with` and format afterwards;
//! `pagedir` and `vmregions` write while they walk, so their writer must not
//! allocate (the shell passes the console's `Out`, which does not).
//!
//! One file per command (`map.rs` holds `map` and `unmap`), over `args.rs`
//! (an address, `pid=N`).

mod args;
mod map;
mod pagedir;
mod segdemo;
mod translate;
// course: module 06
mod vmregions;
// course: end

use super::kit::Command;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "translate",
        args: "<vaddr>... [pid=N]",
        help: "walk the page tables for an address, step by step (in process N's space with pid=N)",
        run: translate::translate,
    },
    Command {
        name: "pagedir",
        args: "[pid=N]",
        help: "the kernel's mappings (or process N's), merged into runs, with their flags",
        run: pagedir::pagedir,
    },
    // course: module 06
    Command {
        name: "vmregions",
        args: "[pid=N]",
        help: "the region table: ranges, sizes, pages mapped (in process N's space with pid=N), use",
        run: vmregions::vmregions,
    },
    // course: end
    Command {
        name: "map",
        args: "<vaddr> [phys]",
        help: "map a page (a fresh frame, or the frame at phys) in a user or kernel-private region",
        run: map::map,
    },
    Command {
        name: "unmap",
        args: "<vaddr>",
        help: "unmap a page `map` could have made; a frame it took goes back to the PMM",
        run: map::unmap,
    },
    Command {
        name: "segdemo",
        args: "[offset]",
        help: "a small data segment: selector:offset -> linear -> physical, and the #GP past its limit",
        run: segdemo::segdemo,
    },
];
