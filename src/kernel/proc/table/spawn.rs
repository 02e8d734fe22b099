//! A process started from a program (its address space built, its ELF
//! loaded, its arguments laid out, its kernel stack prepared) or killed.
//! A start that fails undoes what it built.

use super::process::{ExitKind, LINE_MAX, Process, State, lock_table};
use crate::arch::x86::usermode;
use crate::kernel::memory::{self, KernelPhys};
use crate::kernel::proc::kstack::KernelStack;
use crate::kernel::proc::programs;
use crate::mm::frame::FrameAllocator;
use crate::mm::paging::NoFlush;
use crate::mm::vm::region::USER_ARGS_START;
use crate::mm::vm::{AddressSpace, UserFrames};
use crate::process::abi::Errno;
use crate::process::elf;
use crate::process::memory::UserMemory;
use crate::text::FixedStr;
use alloc::boxed::Box;

/// Start program `name` with `args` as a child of `parent` (0: the shell).
pub fn spawn(name: &str, args: &[&str], parent: u32) -> Result<u32, Errno> {
    let prog = programs::find(name).ok_or(Errno::NoEnt)?;
    let plan = elf::plan(prog.bytes).map_err(|e| {
        crate::kernel::console::error_line(format_args!("spawn {name}: refused: {e}"));
        Errno::NoExec
    })?;
    let slot = crate::arch::x86::without_interrupts(|| {
        lock_table().slots.iter().position(|s| s.is_none())
    })
    .ok_or(Errno::Busy)?;
    let mut p = Box::new(Process {
        pid: 0,
        parent,
        name: FixedStr::from_str_truncated(name),
        state: State::Ready,
        space: None,
        mem: UserMemory::new(),
        kstack: None,
        ctx: 0,
        shares: 0,
        input: [0; LINE_MAX],
        input_len: 0,
        input_ready: false,
        exit: None,
        reported: false,
        waited: false,
    });
    let kstack = KernelStack::map(slot).ok_or(Errno::NoMem)?;
    let built = memory::with(|m| {
        let before = m.frames.free_count();
        let mut space = AddressSpace::create(&KernelPhys, &mut m.frames, &m.kernel)
            .map_err(|_| Errno::NoMem)?;
        let r = {
            let mut mapper = space.mapper(&KernelPhys, &NoFlush);
            elf::load(&plan, prog.bytes, &mut mapper, &mut m.frames)
                .map_err(|_| Errno::NoMem)
                .and_then(|()| {
                    p.mem.charge(before, m.frames.free_count());
                    p.mem.setup_args(&mut mapper, &mut m.frames, args)
                })
        };
        match r {
            Ok(a) => Ok((space, a)),
            Err(e) => {
                let _ = space.destroy(&KernelPhys, &mut m.frames, UserFrames::FreeOwned);
                Err(e)
            }
        }
    });
    let (space, (argc, argv)) = match built {
        Ok(x) => x,
        Err(e) => {
            kstack.unmap();
            return Err(e);
        }
    };
    // SAFETY: the kernel stack was just mapped for this process alone.
    p.ctx = unsafe {
        usermode::prepare_user_stack(kstack.top(), plan.entry, USER_ARGS_START, argc, argv)
    };
    p.space = Some(space);
    p.kstack = Some(kstack);
    Ok(crate::arch::x86::without_interrupts(|| {
        let mut t = lock_table();
        let pid = t.next_pid;
        t.next_pid += 1;
        p.pid = pid;
        t.slots[slot] = Some(p);
        pid
    }))
}

/// Kill `pid` (not the kernel) with exception `vector` and `reason`.
pub fn kill(pid: u32, vector: u32, reason: &str) -> Result<(), Errno> {
    let mut t = lock_table();
    match t.by_pid(pid) {
        Some(p) if p.state != State::Zombie => {}
        _ => return Err(Errno::Child),
    }
    t.end(
        pid,
        ExitKind::Killed {
            vector,
            reason: FixedStr::from_str_truncated(reason),
        },
    );
    Ok(())
}
