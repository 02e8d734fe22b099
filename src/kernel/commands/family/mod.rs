//! Commands for the allocator family and the heap chosen at boot:
//! `heapinfo` (the kernel heap in use and its figures), `channel` (a
//! MemoryChannel fed by the keyboard interrupt and read by the shell) and
//! `bench` (a random workload on the kernel heap, timed by the PIT).
//!
//! One file per command:
//!
//! ```text
//!   heapinfo.rs  the kernel heap in use: design, figures, growth, check
//!   channel.rs   the keyboard tap (IRQ 1 producer) and the shell's consumer
//!   bench.rs     the random allocate/free workload and its timing
//! ```

mod bench;
mod channel;
mod heapinfo;

use super::kit::Command;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "heapinfo",
        args: "",
        help: "the kernel heap chosen at boot (heap=): size, use, largest free, fragmentation",
        run: heapinfo::heapinfo,
    },
    Command {
        name: "channel",
        args: "[on [bytes] | read [max] | fill | off]",
        help: "a MemoryChannel: the keyboard IRQ writes each key, the shell reads",
        run: channel::channel,
    },
    Command {
        name: "bench",
        args: "[operations]",
        help: "random allocate/free on the kernel heap, timed by the PIT",
        run: bench::bench,
    },
];
