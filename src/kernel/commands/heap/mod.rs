//! Commands for the kernel heap and the playground: `heap`, `heapmap`,
//! `heapcheck`, `alloc`, `free`, `playground`.
//!
//! ```text
//!   heap ───────────┐                      ┌── playground (hotkeys, 1 KiB)
//!   heapmap [which] ├─ snapshot ─ print ───┤
//!   heapcheck ──────┘  (under the lock)    └── kernel heap (#[global_allocator])
//!   alloc <size> [align] ──► heap::allocate ──► ALLOCS (table of live blocks)
//!   free <addr> ───────────► ALLOCS? ─yes─► kheap::deallocate(addr, layout)
//!                                   └─no──► ask the heap why (never frees)
//! ```
//!
//! One file per command (`show` is `heap`), over two helpers: `capture`
//! (writers that never allocate) and `allocs` (the table behind `alloc`).
//!
//! Rule: the kernel heap's lock is a spin lock and `out` may be a `String`
//! (the in-kernel tests capture output). So nothing is written to `out` while
//! the kernel heap is locked: each command copies what it needs (numbers, a
//! `Vec` reserved beforehand, a `String` with room reserved beforehand) under
//! the lock, and prints after.

mod allocs;
mod capture;
mod check;
mod map;
mod playground;
mod show;

use super::kit::Command;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "heap",
        args: "",
        help: "the kernel heap's free lists per scale, with byte sizes and totals",
        run: show::heap,
    },
    Command {
        name: "heapmap",
        args: "[playground|kernel]",
        help: "a coloured map of a heap: one cell per minimum block, free/used, block starts",
        run: map::heapmap,
    },
    Command {
        name: "heapcheck",
        args: "",
        help: "verify the kernel heap and the playground block by block",
        run: check::heapcheck,
    },
    Command {
        name: "alloc",
        args: "[<size> [align]]",
        help: "allocate from the kernel heap (align 8 by default); no size: list them",
        run: allocs::alloc_cmd,
    },
    Command {
        name: "free",
        args: "<addr>",
        help: "free a block made by `alloc`; a bad pointer is refused, nothing changes",
        run: allocs::free_cmd,
    },
    Command {
        name: "playground",
        args: "[max-scale]",
        help: "show the hotkeys' playground heap, or rebuild it empty at 2^max-scale bytes",
        run: playground::playground_cmd,
    },
];
