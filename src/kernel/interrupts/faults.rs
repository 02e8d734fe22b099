//! Exceptions: reported in the frame colours (and survived when they come
//! from a probe or a breakpoint), ring 3's handed to the process layer, the
//! page-fault detail hook, and the double-fault task on its own stack.
//! Handlers run with interrupts off and must not block or allocate.
//!
//! ```text
//!   exception ─┬─ from ring 3 ─────────▶ the user exception handler
//!              ├─ int3 ────────────────▶ report, go on
//!              ├─ inside a probe ──────▶ report (unless quiet), resume at its fixup
//!              └─ else ───────────────▶ report + detail hook, fatal
//!   #DF ─▶ double_fault_task (own TSS and stack): report, fatal
//! ```

use crate::arch::x86::{self, gdt, probe};
use crate::exception::{self, InterruptFrame, vector};
use crate::kernel::console;
use crate::kernel::halt::fatal;
use crate::kernel::stack::{boot_stack, overflow, page_fingerprint, stack_note};
use crate::mm::layout::{KERNEL_BASE, PAGE_SIZE};
use crate::term::style::{ERROR, FRAME, RESET};
use crate::text::{WRAP_WIDTH, Wrap};
use crate::{print, println};
use core::sync::atomic::Ordering;
use spin::Mutex;

/// Adds detail to a fault report, given CR2, the faulting EIP and the #PF
/// error code (`None` from the double-fault report: that code is lost).
/// Runs inside an exception handler: it must not block or allocate.
pub type FaultDetail = fn(cr2: u32, eip: u32, code: Option<u32>);

/// The detail hook of page-fault and double-fault reports (the fault
/// reporter installs one: the region, the walk and the likely cause).
static PAGE_FAULT_DETAIL: Mutex<Option<FaultDetail>> = Mutex::new(None);

/// Install the detail hook of page-fault and double-fault reports.
pub fn set_fault_detail(detail: FaultDetail) {
    x86::without_interrupts(|| *PAGE_FAULT_DETAIL.lock() = Some(detail));
}

/// The installed detail hook; `None` also when its lock is held (never wait
/// in a handler).
fn fault_detail() -> Option<FaultDetail> {
    PAGE_FAULT_DETAIL.try_lock().and_then(|hook| *hook)
}

/// Handles every exception raised in ring 3, given the frame and CR2 (the
/// process layer installs it: demand paging, or the process is killed).
static USER_EXCEPTION: spin::Once<fn(&mut InterruptFrame, u32)> = spin::Once::new();

/// Installs the handler of every exception raised in ring 3, given the frame
/// and CR2; only the first call counts (later ones change nothing).
pub fn set_user_exception_handler(handler: fn(&mut InterruptFrame, u32)) {
    USER_EXCEPTION.call_once(|| handler);
}

/// Every CPU exception but the double fault lands here.
pub(super) fn exception(frame: &mut InterruptFrame) {
    let cr2 = if frame.vector == vector::PAGE_FAULT {
        x86::cr2()
    } else {
        0
    };
    if frame.from_user()
        && let Some(handler) = USER_EXCEPTION.get()
    {
        handler(frame, cr2);
        return;
    }
    if frame.vector == vector::BREAKPOINT {
        report(frame, cr2);
        println!("breakpoint: execution goes on after the int3");
        return;
    }
    if let Some(fixup) = probe::fixup_for(frame.eip) {
        probe::record(frame.vector, frame.error_code, cr2);
        if !probe::is_quiet() {
            report(frame, cr2);
            println!("recovered: the fault came from a probe; the kernel goes on");
        }
        frame.eip = fixup;
        return;
    }
    console::force_unlock();
    report(frame, cr2);
    fatal("unrecoverable exception in kernel code")
}

/// An exception report as a block in the frame colours: its first line
/// white on red, the rest bright red (the text itself is unchanged, so a
/// plain reader, or `color off`, sees exactly the report).
fn report(frame: &InterruptFrame, cr2: u32) {
    let mut out = Wrap::new(Framed { first: true }, WRAP_WIDTH);
    let _ = exception::write_report(&mut out, frame, cr2);
    let _ = out.finish();
    if frame.vector == vector::PAGE_FAULT
        && let Some(detail) = fault_detail()
    {
        print!("{ERROR}");
        detail(cr2, frame.eip, Some(frame.error_code));
    }
    print!("{RESET}");
}

/// Writes to the console: the first line in the frame colour, then the error colour.
struct Framed {
    first: bool,
}

impl core::fmt::Write for Framed {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        if !self.first {
            print!("{ERROR}{s}");
            return Ok(());
        }
        match s.split_once('\n') {
            Some((head, rest)) => {
                self.first = false;
                print!("{FRAME}{head}{RESET}\n{ERROR}{rest}");
            }
            None => print!("{FRAME}{s}"),
        }
        Ok(())
    }
}

/// Set by `fault dfstack`: the next double fault, after its report,
/// overflows its own stack (see [`overflow_double_fault_stack`]).
static OVERFLOW_DF_STACK: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

/// Make the next double fault overflow its own stack after its report (the
/// `fault dfstack` test of the double-fault stack's guard page).
pub fn overflow_double_fault_stack() {
    OVERFLOW_DF_STACK.store(true, Ordering::SeqCst);
}

/// The double-fault task: runs on its own TSS and stack, so even a kernel
/// stack overflow (a #PF that cannot push its frame) is reported.
pub(super) extern "C" fn double_fault_task() -> ! {
    console::force_unlock();
    let (eip, esp, ebp) = gdt::faulting_task_state();
    // The #PF that could not be delivered left its address in CR2.
    let cr2 = x86::cr2();
    let (guard, bottom, top) = boot_stack();
    println!("{FRAME}EXCEPTION #DF double fault (vector 8){RESET}{ERROR}");
    println!("  the CPU could not deliver an exception; state of the faulting code:");
    println!("  EIP {eip:#010x}  ESP {esp:#010x}  EBP {ebp:#010x}  CR2 {cr2:#010x}");
    println!(
        "  kernel stack {bottom:#010x}-{:#010x}, guard page {guard:#010x}-{:#010x}",
        top - 1,
        bottom - 1
    );
    if let Some(note) = stack_note(esp) {
        println!("  {note}");
    }
    if let Some(detail) = fault_detail() {
        println!("  the last page fault (CR2), which could not be delivered:");
        detail(cr2, eip, None);
    }
    if OVERFLOW_DF_STACK.load(Ordering::SeqCst) {
        overflow_own_stack();
    }
    println!("  a double fault cannot be survived: the kernel stops here (no reboot){RESET}");
    print!("");
    fatal("double fault")
}

/// `fault dfstack`, inside the double-fault task: say where the stack and
/// its guard are and fingerprint the page below the guard, then recurse
/// until the guard page stops it. What follows is the CPU's: the #PF at the
/// guard cannot be delivered on this stack, the #DF it becomes finds its
/// task busy, and the triple fault resets the machine (QEMU's `-no-reboot`
/// stops it). Nothing returns here.
fn overflow_own_stack() {
    let (guard, bottom, top) = gdt::double_fault_stack();
    let below = guard - PAGE_SIZE as u32;
    println!(
        "  fault dfstack: stack {bottom:#010x}-{:#010x}, guard page {guard:#010x}-{:#010x}",
        top - 1,
        bottom - 1
    );
    println!(
        "  below the guard: {below:#010x} (physical {:#010x}), fingerprint {:#010x}",
        below - KERNEL_BASE,
        page_fingerprint(below)
    );
    println!("  recursing on the double-fault stack: expect a triple fault{RESET}");
    let depth = overflow(0);
    println!("{ERROR}  the recursion returned ({depth}): no guard page stopped it");
}
