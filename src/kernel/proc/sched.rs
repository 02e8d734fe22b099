//! The scheduler: round robin over the ready processes and the kernel task,
//! on the timer for code interrupted in ring 3, and where kernel code blocks.
//! Also the user-exception handler (demand paging or death) and the reaper.

use super::table::{ExitKind, MAX_PROCS, SLICE_TICKS, State, lock_shared, lock_table};
use crate::arch::x86::{self, gdt, usermode};
use crate::exception::{InterruptFrame, vector};
use crate::kernel::memory::{self, Invlpg, KernelPhys};
use crate::mm::addr::VirtAddr;
use crate::mm::vm::{PageFaultCode, RegionMap, UserFrames};
use crate::text::FixedStr;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering};

static KERNEL_CR3: AtomicU32 = AtomicU32::new(0);

/// Remember the kernel's directory (the kernel task runs on it).
pub fn init() {
    KERNEL_CR3.store(memory::with(|m| m.kernel.cr3().as_u32()), Ordering::Relaxed);
}

fn now() -> u32 {
    crate::kernel::interrupts::ticks()
}

/// True when some process is ready to run (sleepers whose time came are woken).
pub fn any_ready() -> bool {
    x86::without_interrupts(|| {
        let mut t = lock_table();
        t.wake_sleepers(now());
        t.slots.iter().flatten().any(|p| p.state == State::Ready)
    })
}

/// Give the CPU away if another task is ready; returns when this task runs again.
pub fn yield_now() {
    x86::without_interrupts(schedule);
}

/// Switch to the next ready task after the current one (the kernel task is
/// always ready). Interrupts must be off. Returns when the current task is
/// picked again (never, for a zombie).
pub fn schedule() {
    let (from, to, cr3, esp0) = {
        let mut guard = lock_table();
        let t = &mut *guard;
        t.wake_sleepers(now());
        let kernel = MAX_PROCS;
        let cur = t.current.unwrap_or(kernel);
        let mut next = kernel;
        for k in 1..=MAX_PROCS + 1 {
            let i = (cur + k) % (MAX_PROCS + 1);
            if i == kernel {
                // The kernel task is always ready: it has its turn in the ring.
                next = kernel;
                break;
            }
            if t.slots[i].as_ref().is_some_and(|p| p.state == State::Ready) {
                next = i;
                break;
            }
        }
        t.slice_start = now();
        if next == cur {
            return;
        }
        if let Some(p) = t.current_mut()
            && p.state == State::Running
        {
            p.state = State::Ready;
        }
        let from: *mut u32 = match t.current_mut() {
            Some(p) => &mut p.ctx,
            None => &mut t.kernel_ctx,
        };
        let (to, cr3, esp0) = if next == kernel {
            t.current = None;
            (t.kernel_ctx, KERNEL_CR3.load(Ordering::Relaxed), 0)
        } else {
            t.current = Some(next);
            let p = t.slots[next]
                .as_deref_mut()
                .expect("schedule: picked an empty slot");
            p.state = State::Running;
            let space = p
                .space
                .as_ref()
                .expect("schedule: a runnable process without a space");
            let stack = p
                .kstack
                .as_ref()
                .expect("schedule: a runnable process without a stack");
            (p.ctx, space.cr3().as_u32(), stack.top())
        };
        (from, to, cr3, esp0)
    };
    if esp0 != 0 {
        gdt::set_kernel_stack(esp0);
    }
    if x86::cr3() != cr3 {
        // SAFETY: every directory shares the kernel half (its PDEs are copied
        // at creation and never change), so the kernel code, this stack and
        // the table stay mapped across the switch.
        unsafe { x86::write_cr3(cr3) };
    }
    // SAFETY: interrupts are off; `from` points into the table (a boxed
    // process or the kernel task's slot), which outlives the switch; `to` was
    // saved by switch_context or prepared by prepare_user_stack.
    unsafe { usermode::switch_context(from, to) };
    reap();
}

/// Free the space, kernel stack and shared regions of every ended process
/// that is not on the CPU.
pub fn reap() {
    loop {
        let taken = x86::without_interrupts(|| {
            let mut t = lock_table();
            let current = t.current;
            for (i, slot) in t.slots.iter_mut().enumerate() {
                let Some(p) = slot.as_deref_mut() else {
                    continue;
                };
                if p.state == State::Zombie
                    && Some(i) != current
                    && (p.space.is_some() || p.kstack.is_some())
                {
                    let shares = core::mem::take(&mut p.shares);
                    return Some((p.space.take(), p.kstack.take(), shares));
                }
            }
            None
        });
        let Some((space, kstack, shares)) = taken else {
            return;
        };
        x86::without_interrupts(|| {
            let mut shared = lock_shared();
            memory::with(|m| {
                if let Some(space) = space
                    && let Err(e) = space.destroy(&KernelPhys, &mut m.frames, UserFrames::FreeOwned)
                {
                    panic!("reap: destroying a process's space: {e}");
                }
                for key in 1..32 {
                    if shares & (1 << key) != 0 {
                        shared.detach(&mut m.frames, key);
                    }
                }
            });
        });
        if let Some(k) = kstack {
            k.unmap();
        }
    }
}

/// At the end of every entry from ring 3: switch away when the slice is
/// over or the process has ended.
pub fn on_user_return(_frame: &mut InterruptFrame) {
    let (dying, over) = {
        let mut t = lock_table();
        let over = now().wrapping_sub(t.slice_start) >= SLICE_TICKS;
        let dying = t.current_mut().is_none_or(|p| p.state != State::Running);
        (dying, over)
    };
    if dying || over {
        schedule();
    }
}

/// An exception in ring 3: a page fault in a demand region maps a page and
/// the instruction runs again; a breakpoint is reported; anything else
/// kills the process with a report naming the address, region and cause.
pub fn user_exception(frame: &mut InterruptFrame, cr2: u32) {
    let mut t = lock_table();
    let Some(p) = t.current_mut() else {
        drop(t);
        crate::kernel::halt::fatal("an exception from ring 3 with no process on the CPU");
    };
    let pid = p.pid;
    let mut reason = FixedStr::<160>::new();
    if frame.vector == vector::PAGE_FAULT {
        let code = PageFaultCode::from_raw(frame.error_code);
        let served = memory::with(|m| {
            let space = p.space.as_mut().expect("a running process has a space");
            let mut mapper = space.mapper(&KernelPhys, &Invlpg);
            p.mem.fault(&mut mapper, &mut m.frames, cr2, code)
        });
        let cause = match served {
            Ok(_) => return,
            Err(cause) => cause,
        };
        let region = RegionMap::standard()
            .region_of(VirtAddr(cr2))
            .map_or("no region", |r| r.name());
        let access = if code.contains(PageFaultCode::WRITE) {
            "write"
        } else {
            "read"
        };
        let _ = write!(
            reason,
            "page fault: {access} at {cr2:#010x} ({region}), eip {:#010x}: {cause}",
            frame.eip
        );
    } else if frame.vector == vector::BREAKPOINT {
        drop(t);
        crate::println!(
            "[pid {pid}] breakpoint at eip {:#010x}; going on",
            frame.eip
        );
        return;
    } else {
        let (short, long) = crate::exception::name(frame.vector);
        let _ = write!(reason, "{short} {long} at eip {:#010x}", frame.eip);
        if crate::exception::has_selector_error(frame.vector) && frame.error_code != 0 {
            let _ = write!(reason, ", error code {:#x}", frame.error_code);
        }
        let why = match frame.vector {
            vector::GENERAL_PROTECTION => ": a privileged instruction or a bad selector",
            vector::DIVIDE_ERROR => ": division by zero",
            vector::INVALID_OPCODE => ": not an instruction",
            _ => "",
        };
        let _ = reason.write_str(why);
    }
    t.end(
        pid,
        ExitKind::Killed {
            vector: frame.vector,
            reason,
        },
    );
    // The user-return hook switches away; the reaper frees the rest.
}
