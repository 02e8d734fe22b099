//! Commands for the physical memory manager: `frames`, `buddyinfo`,
//! `falloc`, `ffree`.
//!
//! ```text
//!   cairn> falloc 16 16          cairn> ffree 0x00210000        cairn> ffree 0x00210000
//!   allocated 16 frames (64 KiB) freed 16 frames (64 KiB)       error: P0x00210000: frame
//!   at P0x00210000-P0x0021ffff   at P0x00210000-P0x0021ffff     is already free (double free)
//!
//!   the kernel's own frames     ┌─ FALLOCS ─────────────┐     ffree <addr>
//!   (page tables, heap pages)   │ start  len  (≤ 256)   │ <── only these, so a typo cannot
//!   are refused by ffree        └───────────────────────┘     free a page table under the kernel
//! ```
//!
//! Rule of these files: nothing allocates from the heap while `memory::MEMORY`
//! is held (the heap's grow hook takes it). Reports are written under the
//! lock into a [`NoGrow`] buffer reserved beforehand, and printed after.
//!
//! One file per idea: `show.rs` (`frames`, `buddyinfo`), `fallocs.rs`
//! (`falloc`, `ffree` and their table), `report.rs` (the writer that never
//! allocates).

mod fallocs;
mod report;
mod show;

use super::kit::Command;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "frames",
        args: "[dump|check|draw [from] [count] [order]]",
        help: "PMM: allocator, counts, managed and reserved ranges (why)",
        run: show::frames,
    },
    Command {
        name: "buddyinfo",
        args: "",
        help: "free blocks per order 0..10 (Linux /proc/buddyinfo layout)",
        run: show::buddyinfo,
    },
    Command {
        name: "falloc",
        args: "<n> [align]",
        help: "allocate n contiguous frames, the first a multiple of align frames",
        run: fallocs::falloc,
    },
    Command {
        name: "ffree",
        args: "<addr>",
        help: "free the falloc allocation that starts at physical address addr",
        run: fallocs::ffree,
    },
];
