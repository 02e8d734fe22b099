//! The kernel binary: the boot code, the entry from it, and the panic handler.
//! Everything else lives in the library (`cairn`), so it can be tested.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod kernel_entry {
    use cairn::arch::x86;
    use cairn::mm::layout::{KERNEL_BASE, PAGE_SIZE, PDX_SHIFT};

    /// Bytes of the boot (and first kernel) stack.
    const BOOT_STACK_SIZE: usize = 64 * 1024;

    core::arch::global_asm!(
        include_str!("../asm/boot.s"),
        kernel_base = const KERNEL_BASE,
        pdx_shift = const PDX_SHIFT,
        linear_pdes = const (cairn::mm::layout::LINEAR_SPACE_SIZE >> PDX_SHIFT),
        boot_stack_size = const BOOT_STACK_SIZE,
        double_fault_stack_size = const cairn::arch::x86::gdt::DOUBLE_FAULT_STACK_SIZE,
        page_size = const PAGE_SIZE,
        options(att_syntax)
    );

    core::arch::global_asm!(
        include_str!("../asm/interrupts.s"),
        kernel_data = const cairn::arch::x86::gdt::KERNEL_DATA.0,
        options(att_syntax)
    );

    /// Called by `asm/boot.s` in the higher half, on the boot stack.
    #[unsafe(no_mangle)]
    extern "C" fn kernel_main(magic: u32, info_phys: u32) -> ! {
        // SAFETY: called once, by the boot code, with what the loader passed.
        unsafe { cairn::kernel::init(magic, info_phys) };
        cairn::kernel::run()
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo) -> ! {
        x86::disable_interrupts();
        cairn::kernel::console::force_unlock();
        cairn::println!("\nKERNEL PANIC: {}", info.message());
        if let Some(loc) = info.location() {
            cairn::println!("  at {}:{}:{}", loc.file(), loc.line(), loc.column());
        }
        cairn::kernel::halt::fatal("panic")
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("cairn is a kernel: build and boot it with `make run`");
}
