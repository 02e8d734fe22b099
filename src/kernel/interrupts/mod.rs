//! The kernel's interrupt handlers: exceptions (reported; survived when they
//! come from a probe), the double-fault task, the timer, the keyboard and COM1.
//!
//! Handlers run with interrupts off and must not block or allocate.
//!
//! One file per idea:
//!
//! ```text
//!   mod.rs     init(): every handler installed, the PIC and the PIT; the timer handler
//!   timer.rs   ticks and time
//!   faults.rs  exceptions, their reports and hooks, the double-fault task
//!   keys.rs    the keyboard, COM1, the input queue, the key tap
//! ```

mod faults;
// course: module 02
mod keys;
// course: end
mod timer;

pub use faults::{
    FaultDetail, overflow_double_fault_stack, set_fault_detail, set_user_exception_handler,
};
// course: module 02
pub use keys::{key_tap, key_waiting, next_key, set_key_tap, unreported_drops, wait_for_interrupt};
// course: end
pub use timer::{TIMER_HZ, ticks, uptime_ms};

use crate::arch::x86::{gdt, idt, pic, pit};

/// Install every handler, remap the PIC, start the PIT; interrupts stay off.
pub fn init() {
    gdt::init(faults::double_fault_task);
    idt::init();
    idt::set_exception_handler(faults::exception);
    pic::init(idt::IRQ_BASE);
    pit::init(TIMER_HZ);
    idt::set_irq_handler(0, timer);
    pic::unmask(0);
    // course: module 02
    idt::set_irq_handler(1, keys::keyboard);
    idt::set_irq_handler(4, keys::com1);
    pic::unmask(1);
    pic::unmask(4);
    // course: end
}

/// The timer handler: one tick more; a lone ESC from the serial line is
/// delivered once the line is quiet.
fn timer() {
    // course: module 02
    keys::flush_lone_escape(timer::tick());
    // course: else
    // timer::tick();
    // course: end
}
