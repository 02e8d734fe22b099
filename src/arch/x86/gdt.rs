//! The global descriptor table, the task-state segments and the segment reloads.
//!
//! ```text
//!  index selector  segment
//!    0    0x00     null
//!    1    0x08     kernel code   base 0, limit 4 GiB, DPL 0
//!    2    0x10     kernel data   base 0, limit 4 GiB, DPL 0
//!    3    0x1B     user code     base 0, limit 4 GiB, DPL 3
//!    4    0x23     user data     base 0, limit 4 GiB, DPL 3
//!    5    0x28     TSS           esp0 for ring-3 -> ring-0 entries
//!    6    0x30     double-fault TSS (a task of its own, with its own stack)
//!    7    0x38     demo data segment, set by `segdemo`
//!    8    0x40     demo code segment, set by `segdemo`
//! ```
//!
//! Flat segments make logical = linear for everything but the demo segment;
//! paging then does the real work.

use crate::mm::segment::{Descriptor, Kind, Selector};
use core::arch::asm;
use spin::Mutex;

/// Kernel code selector.
pub const KERNEL_CODE: Selector = Selector::new(1, 0);
/// Kernel data selector.
pub const KERNEL_DATA: Selector = Selector::new(2, 0);
/// User code selector (RPL 3).
pub const USER_CODE: Selector = Selector::new(3, 3);
/// User data selector (RPL 3).
pub const USER_DATA: Selector = Selector::new(4, 3);
/// The main task-state segment.
pub const TSS: Selector = Selector::new(5, 0);
/// The double-fault task-state segment.
pub const DOUBLE_FAULT_TSS: Selector = Selector::new(6, 0);
/// The demonstration data segment `segdemo` configures.
pub const DEMO: Selector = Selector::new(7, 0);
/// The demonstration code segment `segdemo` configures.
pub const DEMO_CODE: Selector = Selector::new(8, 0);

/// Entries in the GDT.
pub const GDT_ENTRIES: usize = 9;

/// A 32-bit task-state segment (Intel SDM Vol. 3A, 8.2.1).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TaskStateSegment {
    pub link: u32,
    pub esp0: u32,
    pub ss0: u32,
    pub esp1: u32,
    pub ss1: u32,
    pub esp2: u32,
    pub ss2: u32,
    pub cr3: u32,
    pub eip: u32,
    pub eflags: u32,
    pub eax: u32,
    pub ecx: u32,
    pub edx: u32,
    pub ebx: u32,
    pub esp: u32,
    pub ebp: u32,
    pub esi: u32,
    pub edi: u32,
    pub es: u32,
    pub cs: u32,
    pub ss: u32,
    pub ds: u32,
    pub fs: u32,
    pub gs: u32,
    pub ldt: u32,
    pub trap: u16,
    pub iomap_base: u16,
}

const _: () = assert!(core::mem::size_of::<TaskStateSegment>() == 104);

impl TaskStateSegment {
    const fn zeroed() -> TaskStateSegment {
        // SAFETY: all-zero is a valid TSS value (plain integers).
        unsafe { core::mem::zeroed() }
    }
}

/// Bytes of the double-fault handler's own stack. `asm/boot.s` reserves it
/// in `.bss`, above a guard page of its own that the kernel page tables
/// leave unmapped.
pub const DOUBLE_FAULT_STACK_SIZE: usize = 16 * 1024;

unsafe extern "C" {
    static double_fault_stack_guard: [u8; 0];
    static double_fault_stack_bottom: [u8; 0];
    static double_fault_stack_top: [u8; 0];
}

/// The TSSes live at fixed addresses the CPU reads and writes on task switches.
static mut MAIN_TSS: TaskStateSegment = TaskStateSegment::zeroed();
static mut DF_TSS: TaskStateSegment = TaskStateSegment::zeroed();

static GDT: Mutex<[Descriptor; GDT_ENTRIES]> = Mutex::new([Descriptor::NULL; GDT_ENTRIES]);

/// Build the GDT, load it, reload every segment register (CS with a far
/// jump) and load the task register. `double_fault_entry` is where the
/// double-fault task starts.
pub fn init(double_fault_entry: extern "C" fn() -> !) {
    let flat = 0xFFFF_FFFF;
    let code = Kind::Code {
        readable: true,
        conforming: false,
    };
    let data = Kind::Data {
        writable: true,
        expand_down: false,
    };
    let tss_limit = core::mem::size_of::<TaskStateSegment>() as u32 - 1;

    // SAFETY: init runs once, on one CPU, before interrupts are enabled; no
    // other reference to the TSS statics exists yet.
    let (main_tss, df_tss) = unsafe {
        let main = &raw mut MAIN_TSS;
        let df = &raw mut DF_TSS;
        (*main).ss0 = KERNEL_DATA.0 as u32;
        (*main).esp0 = 0; // set when a ring-3 task first runs
        (*main).iomap_base = core::mem::size_of::<TaskStateSegment>() as u16;

        let (_, _, stack_top) = double_fault_stack();
        (*df).esp = stack_top;
        (*df).esp0 = stack_top;
        (*df).ss0 = KERNEL_DATA.0 as u32;
        (*df).eip = double_fault_entry as usize as u32;
        (*df).eflags = 0x2; // reserved bit 1; interrupts off
        (*df).cs = KERNEL_CODE.0 as u32;
        for seg in [
            &mut (*df).ds,
            &mut (*df).es,
            &mut (*df).fs,
            &mut (*df).gs,
            &mut (*df).ss,
        ] {
            *seg = KERNEL_DATA.0 as u32;
        }
        (*df).cr3 = super::cr3();
        (*df).iomap_base = core::mem::size_of::<TaskStateSegment>() as u16;
        (
            main.expose_provenance() as u32,
            df.expose_provenance() as u32,
        )
    };

    let mut gdt = GDT.lock();
    gdt[KERNEL_CODE.index() as usize] = Descriptor::segment(0, flat, code, 0);
    gdt[KERNEL_DATA.index() as usize] = Descriptor::segment(0, flat, data, 0);
    gdt[USER_CODE.index() as usize] = Descriptor::segment(0, flat, code, 3);
    gdt[USER_DATA.index() as usize] = Descriptor::segment(0, flat, data, 3);
    gdt[TSS.index() as usize] =
        Descriptor::segment(main_tss, tss_limit, Kind::Tss { busy: false }, 0);
    gdt[DOUBLE_FAULT_TSS.index() as usize] =
        Descriptor::segment(df_tss, tss_limit, Kind::Tss { busy: false }, 0);
    gdt[DEMO.index() as usize] = Descriptor::segment(0, 0, data, 0);
    gdt[DEMO_CODE.index() as usize] = Descriptor::segment(0, 0, code, 0);

    let pointer = x86::dtables::DescriptorTablePointer::new_from_slice(&gdt[..]);
    // SAFETY: the table lives in a static (its address never changes) and its
    // code and data entries are flat, so reloading the segments keeps every
    // address meaning what it meant.
    unsafe {
        x86::dtables::lgdt(&pointer);
        asm!(
            "push {code}",
            "lea {tmp}, [2f]",
            "push {tmp}",
            "retf",
            "2:",
            "mov ds, {data:x}",
            "mov es, {data:x}",
            "mov fs, {data:x}",
            "mov gs, {data:x}",
            "mov ss, {data:x}",
            code = in(reg) KERNEL_CODE.0 as u32,
            data = in(reg) KERNEL_DATA.0 as u32,
            tmp = out(reg) _,
        );
        x86::task::load_tr(x86::segmentation::SegmentSelector::from_raw(TSS.0));
    }
}

/// Tell the double-fault task which page directory to run on (after the
/// kernel replaces the boot directory).
pub fn set_double_fault_cr3(cr3: u32) {
    // SAFETY: a 32-bit store to a field the CPU reads only on a double fault.
    unsafe { DF_TSS.cr3 = cr3 };
}

/// The state the CPU saved in the main TSS when it switched to the
/// double-fault task: (EIP, ESP, EBP) of the code that faulted.
pub fn faulting_task_state() -> (u32, u32, u32) {
    // SAFETY: read-only copies of plain integers the CPU wrote.
    unsafe {
        let t = &raw const MAIN_TSS;
        ((*t).eip, (*t).esp, (*t).ebp)
    }
}

/// The double-fault stack: (guard page start, stack bottom, stack top).
pub fn double_fault_stack() -> (u32, u32, u32) {
    (
        (&raw const double_fault_stack_guard).addr() as u32,
        (&raw const double_fault_stack_bottom).addr() as u32,
        (&raw const double_fault_stack_top).addr() as u32,
    )
}

/// A copy of the GDT, for `gdt` and `segdemo`.
pub fn entries() -> [Descriptor; GDT_ENTRIES] {
    *GDT.lock()
}

/// Set the demo segment (entry 7) to `base`/`limit`, writable data, DPL 0.
pub fn set_demo_segment(base: u32, limit: u32) -> Descriptor {
    let d = Descriptor::segment(
        base,
        limit,
        Kind::Data {
            writable: true,
            expand_down: false,
        },
        0,
    );
    GDT.lock()[DEMO.index() as usize] = d;
    d
}

/// Set the demo code segment (entry 8) to `base`/`limit`, 32-bit code, DPL 0.
pub fn set_demo_code_segment(base: u32, limit: u32) -> Descriptor {
    let d = Descriptor::segment(
        base,
        limit,
        Kind::Code {
            readable: true,
            conforming: false,
        },
        0,
    );
    GDT.lock()[DEMO_CODE.index() as usize] = d;
    d
}

/// The stack the CPU loads on an entry from ring 3 (TSS.esp0): the top of
/// the kernel stack of the process about to run. Set on every switch.
pub fn set_kernel_stack(esp0: u32) {
    // SAFETY: a 32-bit store to a field the CPU reads on ring-3 entries;
    // called with interrupts off, so no entry can see half of it.
    unsafe { MAIN_TSS.esp0 = esp0 };
}
