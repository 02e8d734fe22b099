//! Kernel glue: the one ordered `init()`, the boot information, the shell
//! loop, the commands and the in-kernel tests.

pub mod boot;
pub mod commands;
pub mod console;
pub mod hotkeys;
pub mod interrupts;
pub mod ktest;
pub mod ktests;
pub mod memory;

use crate::arch::x86;
use crate::bootinfo::BootInfo;
use crate::shell::Shell;
use crate::{print, println};
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Once;

/// What the boot loader said, kept for the whole run.
pub static BOOT_INFO: Once<BootInfo> = Once::new();

static TEST_MODE: AtomicBool = AtomicBool::new(false);

/// True when the command line asked for the in-kernel tests.
pub fn test_mode() -> bool {
    TEST_MODE.load(Ordering::Relaxed)
}

/// The boot information (empty before `init` has read it).
pub fn boot_info() -> &'static BootInfo {
    static EMPTY: BootInfo = BootInfo::empty();
    BOOT_INFO.get().unwrap_or(&EMPTY)
}

unsafe extern "C" {
    static boot_stack_guard: [u8; 0];
    static boot_stack_bottom: [u8; 0];
    static boot_stack_top: [u8; 0];
}

/// The boot stack: (guard page start, stack bottom, stack top).
pub fn boot_stack() -> (u32, u32, u32) {
    (
        (&raw const boot_stack_guard) as u32,
        (&raw const boot_stack_bottom) as u32,
        (&raw const boot_stack_top) as u32,
    )
}

/// A hint about `esp` when a double fault hits: is it at the stack's guard page?
pub fn stack_note(esp: u32) -> Option<&'static str> {
    let (guard, bottom, _) = boot_stack();
    if esp >= guard.saturating_sub(64) && esp < bottom + 64 {
        Some("ESP is at the guard page below the kernel stack: kernel stack overflow")
    } else {
        None
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
        "Cairn {} - a teaching kernel for memory management (i686)",
        env!("CARGO_PKG_VERSION")
    );
    // SAFETY: forwarded from the caller: `info_phys` is what the loader passed.
    let info = unsafe { boot::read(magic, info_phys) }; // needs the linear space of the boot page directory
    TEST_MODE.store(info.flag("test"), Ordering::Relaxed);
    let info = BOOT_INFO.call_once(|| info);
    interrupts::init(); // GDT, TSS, IDT, PIC, PIT: before anything may fault
    boot::drop_identity_mapping(); // after `boot::read`, the last user of low addresses
    memory::init(info); // PMM from the memory map, kernel page tables, heap: before any Box or Vec
    commands::paging::install_fault_detail(); // after memory::init: fault reports read its tables and regions
    boot::print_summary(info);
    hotkeys::init(info); // the playground heap, sized by `playground=`: after the summary
    x86::enable_interrupts(); // the timer and the keyboard run from here on
}

/// The shell loop: wait for keys, hand them to the shell. Never returns.
pub fn run() -> ! {
    let info = boot_info();
    if test_mode() {
        ktest::run_all();
    }
    println!("cairn: ready");
    println!("{}", crate::shell::HOTKEY_HELP);
    let _ = info;
    let mut shell = Shell::new();
    let mut host = hotkeys::KernelHost::new();
    let mut last_key = 0;
    loop {
        while let Some((key, _source)) = interrupts::next_key() {
            shell.feed(key, &mut host, &mut console::Out);
            last_key = interrupts::TICKS.load(Ordering::Relaxed);
        }
        let dropped = interrupts::INPUT.take_unreported_drops();
        if dropped > 0 {
            println!(
                "{}input: {dropped} keys were lost (the input queue was full){}",
                crate::term::style::ERROR,
                crate::term::style::RESET
            );
        }
        // A quiet moment ends a burst of keys (for the unknown-hotkey hint).
        if interrupts::TICKS
            .load(Ordering::Relaxed)
            .wrapping_sub(last_key)
            > interrupts::TIMER_HZ / 3
        {
            shell.idle();
        }
        // Sleep until the next interrupt; `sti; hlt` cannot miss a key that
        // arrives between the check above and the halt.
        x86::disable_interrupts();
        if interrupts::INPUT.is_empty() {
            x86::enable_interrupts_and_hlt();
        } else {
            x86::enable_interrupts();
        }
        print!("");
    }
}
