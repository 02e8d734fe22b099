//! Kernel glue: the one ordered `init()` and the shell loop on top of
//! layers that read bottom-up. Each file may import (`crate::kernel::...`,
//! `super::...`) only files of a lower layer; the host test
//! `tests/kernel_layers.rs` reads the table below and every file's imports,
//! and fails on an import against the order or on a file the table does not
//! place.
//!
//! ```text
//!   top        mod.rs                     init() in order, run() the shell loop
//!   tests      ktests/mod.rs              the runner
//!              ktests/*                   one file (or folder) per subject
//!              ktests/{frames,paging}/*   the frame and paging tests: one file per subject
//!              ktests/{frames,paging}/kit.rs  what each folder's tests share
//!              ktests/kit.rs              Test, kassert!, shared helpers
//!   shell      host.rs                    KernelHost: hotkeys, command dispatch
//!              commands/mod.rs            the tables, `help`, run(line)
//!              commands/*                 one file per layer of commands, or a folder
//!              commands/{heap,frames,paging,family,foundation}/mod.rs   a folder's table,
//!              commands/{heap,frames,paging,family,foundation}/*        one file per command,
//!                                         over the helpers below
//!              commands/heap/capture.rs   writers that never allocate
//!              commands/heap/allocs.rs    `alloc`, `free` and their table
//!              commands/frames/report.rs  reports written under the memory lock
//!              commands/frames/fallocs.rs `falloc`, `ffree` and their table
//!              commands/paging/args.rs    an address, `pid=N`
//!              commands/family/channel/   the channel demo: the command (mod.rs), one
//!                                         file per action, over its ends (ends.rs)
//!                                         and its message format (message.rs)
//!              commands/kit.rs            Command, Outcome, argument parsing
//!   processes  proc/mod.rs                spawn, kill, the foreground, `[pid N] exited`
//!              proc/syscall.rs            int 0x80: the system calls
//!              proc/sched.rs              round robin, CR3/esp0 switch, user faults, reaper
//!              proc/table/mod.rs          the process table's faces
//!              proc/table/*               spawn and kill, exits, input, `ps`
//!              proc/table/process.rs      Process, State, the Table and its locks
//!   services   playground.rs              ShompOS's hotkey heap
//!              fault_report.rs            page-fault detail: region, walk, cause
//!              proc/kstack.rs programs.rs kernel stacks of processes; the programs (modules)
//!   heap       heap/mod.rs                the kernel heap and its reserve
//!              heap/grow.rs               its grow and ungrow hooks over the VMM
//!   machine    memory/                    PMM + kernel space
//!              interrupts/mod.rs          init: every handler installed; the timer handler
//!              interrupts/keys.rs         keyboard, COM1, the input queue, the key tap
//!              interrupts/timer.rs faults.rs  ticks; exceptions, their hooks, the #DF task
//!   policy     halt.rs  boot.rs           fatal, exit codes, test flag; boot info
//!   leaves     console.rs  stack.rs       print!/println!; boot stack symbols
//! ```
//!
//! The order as the test reads it: one line per layer, lowest first; a
//! name ending in `/*` stands for every file of that folder not named on
//! another line; a layer may take several lines. A new file gets a line (or
//! joins one) here, inside the `course:` markers of the module that
//! introduces it (a module branch names only the files it has).
//!
//! <!-- layers -->
//! ```text
//! layer 0: console.rs stack.rs
//! layer 1: halt.rs boot.rs
// course: module 04
//! layer 1: memory/phys.rs memory/image.rs
// course: end
//! layer 2: interrupts/timer.rs interrupts/faults.rs
// course: module 02
//! layer 3: interrupts/keys.rs
// course: end
//! layer 4: interrupts/mod.rs
// course: module 05
//! layer 2: memory/space.rs
// course: end
// course: module 04
//! layer 5: memory/state.rs
//! layer 6: memory/mod.rs
// course: end
// course: module 06
//! layer 7: heap/grow.rs
// course: end
// course: module 03
//! layer 8: heap/mod.rs
//! layer 9: playground.rs
// course: end
// course: module 06
//! layer 9: fault_report.rs
// course: end
// course: module 08
//! layer 9: proc/kstack.rs proc/programs.rs
//! layer 10: proc/table/process.rs
//! layer 11: proc/table/*
//! layer 12: proc/table/mod.rs
//! layer 13: proc/sched.rs
//! layer 14: proc/syscall.rs
//! layer 15: proc/mod.rs
// course: end
// course: module 02
//! layer 16: commands/kit.rs
// course: end
// course: module 03
//! layer 17: commands/heap/capture.rs commands/heap/allocs.rs
//! layer 18: commands/heap/*
//! layer 19: commands/heap/mod.rs
// course: end
// course: module 04
//! layer 17: commands/frames/report.rs commands/frames/fallocs.rs
//! layer 18: commands/frames/*
//! layer 19: commands/frames/mod.rs
// course: end
// course: module 05
//! layer 17: commands/paging/args.rs
//! layer 18: commands/paging/*
//! layer 19: commands/paging/mod.rs
// course: end
// course: module 07
//! layer 16: commands/family/channel/message.rs
//! layer 17: commands/family/channel/ends.rs
//! layer 18: commands/family/*
//! layer 19: commands/family/mod.rs commands/family/channel/mod.rs
// course: end
// course: module 02
//! layer 18: commands/foundation/*
//! layer 19: commands/foundation/mod.rs commands/*
//! layer 20: commands/mod.rs
//! layer 21: host.rs
// course: end
//! layer 22: ktests/kit.rs
// course: module 04
//! layer 23: ktests/frames/kit.rs
//! layer 24: ktests/frames/*
//! layer 25: ktests/frames/mod.rs
// course: end
// course: module 05
//! layer 23: ktests/paging/kit.rs
//! layer 24: ktests/paging/*
//! layer 25: ktests/paging/mod.rs
// course: end
//! layer 25: ktests/*
//! layer 26: ktests/mod.rs
//! layer 27: mod.rs
//! ```
//! <!-- /layers -->

pub mod boot;
pub mod commands;
pub mod console;
pub mod fault_report;
pub mod halt;
pub mod heap;
pub mod host;
pub mod interrupts;
pub mod ktests;
pub mod memory;
pub mod playground;
pub mod proc;
pub mod stack;

use crate::arch::x86;
use crate::bootinfo::{BootInfo, FOUR_GIB};
use crate::mm::layout::MIN_USABLE_RAM;
// course: module 02
use crate::shell::Shell;
// course: end
use crate::term::style::{HEADING, RESET};
use crate::text::Size;
// course: module 02
use crate::print;
// course: end
use crate::println;

// course: before 03
// /// The stand-in kernel heap before module 3 teaches the buddy heap: a bump
// /// allocator over a 1 MiB array in the kernel image (`mm::bump`). It hands
// /// memory out and takes it back like a stack (a freed block's bytes return
// /// once every block above it is freed): enough for the shell.
// #[global_allocator]
// static STANDIN_HEAP: crate::mm::bump::BumpHeap<{ 1024 * 1024 }> =
//     crate::mm::bump::BumpHeap::new();
// course: end

/// Stop with a plain message when the machine has less RAM than Cairn needs
/// ([`MIN_USABLE_RAM`]), instead of booting into failures further on.
fn require_minimum_memory(info: &BootInfo) {
    let usable = info.usable_bytes_below(FOUR_GIB);
    if usable < MIN_USABLE_RAM {
        boot::print_summary(info);
        halt::fatal_because(
            "too little memory",
            format_args!(
                "{} usable, and Cairn needs at least {} (a 16 MiB machine: `-m 16M`, `make run MEM=16M`)",
                Size::new(usable),
                Size::new(MIN_USABLE_RAM)
            ),
        );
    }
}

/// Bring the kernel up, in order; each step names what it needs.
///
/// # Safety
/// Called once, from the boot code, with the multiboot2 magic and the
/// physical address of the boot information.
pub unsafe fn init(magic: u32, info_phys: u32) {
    console::init(); // first: everything after may print
    console::init_logger(log::LevelFilter::Info);
    println!(
        "{HEADING}Cairn {} - a teaching kernel for memory management (i686){RESET}",
        env!("CARGO_PKG_VERSION")
    );
    // SAFETY: forwarded from the caller: `info_phys` is what the loader passed.
    let info = unsafe { boot::read(magic, info_phys) }; // needs the linear space of the boot page directory
    halt::set_test_mode(info.flag("test"));
    let info = boot::keep(info);
    interrupts::init(); // GDT, TSS, IDT, PIC, PIT: before anything may fault
    boot::drop_identity_mapping(); // after `boot::read`, the last user of low addresses
    require_minimum_memory(info); // before the memory managers count on it
    // course: module 04
    memory::init(info); // PMM from the memory map, kernel page tables
    // course: end
    // course: module 03
    heap::init(info); // the kernel heap over them: before any Box or Vec
    // course: end
    // course: module 06
    fault_report::install_fault_detail(); // after the heap: fault reports read its tables, regions and heap
    // course: end
    boot::print_summary(info);
    // course: module 03
    playground::init(info); // the playground heap, sized by `playground=`: after the summary
    // course: end
    // course: module 08
    proc::init(); // the system-call gate's handler and the scheduler hooks: after memory::init
    // course: end
    x86::enable_interrupts(); // the timer and the keyboard run from here on
}

/// The shell loop: wait for keys, hand them to the shell. Never returns.
pub fn run() -> ! {
    if halt::test_mode() {
        ktests::run_all();
    }
    println!("cairn: ready");
    // course: module 02
    println!("{}", crate::shell::HOTKEY_HELP);
    let mut shell = Shell::new();
    let mut host = host::KernelHost::new();
    let mut last_key = 0;
    loop {
        while let Some((key, source)) = host.take_held_key().or_else(interrupts::next_key) {
            host.set_source(source);
            shell.feed(key, &mut host, &mut console::Out);
            last_key = interrupts::ticks();
        }
        let dropped = interrupts::unreported_drops();
        if dropped > 0 {
            println!(
                "{}input: {dropped} keys were lost (the input queue was full){}",
                crate::term::style::ERROR,
                crate::term::style::RESET
            );
        }
        // A quiet moment ends a burst of keys (for the unknown-hotkey hint).
        if interrupts::ticks().wrapping_sub(last_key) > interrupts::TIMER_HZ / 3 {
            shell.idle();
        }
        // course: module 08
        proc::report_exits(&mut console::Out); // `[pid N] exited ...` of background processes
        // Run the ready processes, or sleep until the next interrupt (`sti;
        // hlt` cannot miss a key that arrives between the check and the halt).
        proc::idle();
        // course: else
        // // Sleep until the next interrupt; `sti; hlt` cannot miss a key that
        // // arrives between the check above and the halt.
        // x86::disable_interrupts();
        // if interrupts::key_waiting() {
        //     x86::enable_interrupts();
        // } else {
        //     x86::enable_interrupts_and_hlt();
        // }
        // course: end
        print!("");
    }
    // course: else
    // // Before the keyboard and the shell (module 2) there is nothing to
    // // answer: sleep from interrupt to interrupt (the timer keeps ticking).
    // loop {
    //     x86::enable_interrupts_and_hlt();
    // }
    // course: end
}
