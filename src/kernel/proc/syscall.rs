//! System calls: `int 0x80` with the number in EAX and the arguments in
//! EBX, ECX, EDX, ESI; the answer in EAX (negative: `-Errno`). Every user
//! pointer is checked (and its demand pages mapped) by `UserMemory::prepare`
//! before the copy, which goes through the exception table all the same.

use super::sched::{reap, schedule};
use super::table::{self, ExitKind, LINE_MAX, State, lock_shared, lock_table};
use crate::arch::x86::usermode::copy_bytes;
use crate::exception::InterruptFrame;
use crate::kernel::interrupts::{self, TIMER_HZ};
use crate::kernel::memory::{self, Invlpg, KernelPhys};
use crate::mm::frame::FrameAllocator;
use crate::mm::paging::Mapper;
use crate::process::abi::*;
use crate::process::memory::{Access, UserMemory};
use core::fmt::Write;

type Answer = Result<u32, Errno>;

/// The largest buffer one `write` prints.
const WRITE_MAX: usize = 1 << 20;

/// The `int 0x80` handler.
pub fn dispatch(frame: &mut InterruptFrame) {
    let (a, b, c, d) = (frame.ebx, frame.ecx, frame.edx, frame.esi);
    let r = match frame.eax {
        SYS_EXIT => sys_exit(a as i32),
        SYS_WRITE => sys_write(a, b, c as usize),
        SYS_READ => sys_read(a, b, c as usize),
        SYS_GETPID => Ok(current_pid()),
        SYS_YIELD => {
            schedule();
            Ok(0)
        }
        SYS_SLEEP => sys_sleep(a),
        SYS_SBRK => with_current(|mem, m, f| mem.sbrk(m, f, a as i32)),
        SYS_MMAP => with_current(|mem, m, f| mem.mmap(m, f, a as usize)),
        SYS_MUNMAP => with_current(|mem, m, f| mem.munmap(m, f, a, b as usize).map(|()| 0)),
        SYS_SHARE => sys_share(a, b as usize),
        SYS_SPAWN => sys_spawn(a, b as usize, c, d as usize),
        SYS_WAIT => sys_wait(a, b),
        SYS_FRAMES => {
            reap();
            Ok(memory::with(|m| m.frames.free_count()) as u32)
        }
        _ => Err(Errno::NoSys),
    };
    frame.eax = match r {
        Ok(v) => v,
        Err(e) => e.to_return() as u32,
    };
}

fn current_pid() -> u32 {
    lock_table().current_mut().map_or(0, |p| p.pid)
}

/// Run `f` on the running process's user memory, its mapper (loaded: TLB
/// flushes with invlpg) and the frame allocator.
fn with_current<R>(
    f: impl FnOnce(&mut UserMemory, &mut Mapper<'_, KernelPhys, Invlpg>, &mut dyn FrameAllocator) -> R,
) -> R {
    let mut t = lock_table();
    let p = t
        .current_mut()
        .expect("a system call with no process on the CPU");
    let space = p.space.as_mut().expect("a running process has a space");
    memory::with(|m| {
        let mut mapper = space.mapper(&KernelPhys, &Invlpg);
        f(&mut p.mem, &mut mapper, &mut m.frames)
    })
}

/// Copy `buf.len()` bytes from user address `addr`.
fn copy_in(addr: u32, buf: &mut [u8]) -> Result<(), Errno> {
    with_current(|mem, m, f| mem.prepare(m, f, addr, buf.len(), Access::Read))?;
    // SAFETY: the user range was just checked (user half, mapped, USER); a
    // fault anyway is caught by the exception table.
    unsafe {
        copy_bytes(
            buf.as_mut_ptr(),
            core::ptr::with_exposed_provenance(addr as usize),
            buf.len(),
        )
    }
    .map_err(|_| Errno::Fault)
}

/// Copy `data` to user address `addr`.
fn copy_out(addr: u32, data: &[u8]) -> Result<(), Errno> {
    with_current(|mem, m, f| mem.prepare(m, f, addr, data.len(), Access::Write))?;
    // SAFETY: the user range was just checked (user half, mapped, USER,
    // WRITABLE); a fault anyway is caught by the exception table.
    unsafe {
        copy_bytes(
            core::ptr::with_exposed_provenance_mut(addr as usize),
            data.as_ptr(),
            data.len(),
        )
    }
    .map_err(|_| Errno::Fault)
}

fn sys_exit(status: i32) -> Answer {
    let mut t = lock_table();
    let pid = t.current_mut().map_or(0, |p| p.pid);
    t.end(pid, ExitKind::Status(status));
    Ok(0) // the user-return hook switches away for good
}

fn sys_write(fd: u32, addr: u32, len: usize) -> Answer {
    if fd != 1 && fd != 2 {
        return Err(Errno::Inval);
    }
    if len > WRITE_MAX {
        return Err(Errno::Inval);
    }
    if len == 0 {
        return Ok(0);
    }
    with_current(|mem, m, f| mem.prepare(m, f, addr, len, Access::Read))?;
    let mut buf = [0u8; 256];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len());
        copy_in(addr + done as u32, &mut buf[..n])?;
        let mut out = crate::kernel::console::Out;
        for &byte in &buf[..n] {
            let ch = if byte.is_ascii() { byte as char } else { '?' };
            let _ = out.write_char(ch);
        }
        done += n;
    }
    Ok(len as u32)
}

fn sys_read(fd: u32, addr: u32, len: usize) -> Answer {
    let raw = match fd {
        0 => false,
        3 => true,
        _ => return Err(Errno::Inval),
    };
    if len == 0 {
        return Ok(0);
    }
    with_current(|mem, m, f| mem.prepare(m, f, addr, len, Access::Write))?;
    {
        let mut t = lock_table();
        let fg = super::table::foreground_locked(&t);
        let p = t.current_mut().expect("read with no process");
        if p.pid != fg {
            return Err(Errno::NotForeground);
        }
        p.input_ready = false;
        p.state = State::Reading { raw };
    }
    loop {
        schedule();
        let mut t = lock_table();
        let p = t.current_mut().expect("read with no process");
        if p.input_ready {
            let n = p.input_len.min(len);
            let mut line = [0u8; LINE_MAX];
            line[..n].copy_from_slice(&p.input[..n]);
            p.input_ready = false;
            drop(t);
            copy_out(addr, &line[..n])?;
            return Ok(n as u32);
        }
        // Woken without input (cannot happen today): block again.
        p.state = State::Reading { raw };
    }
}

fn sys_sleep(ms: u32) -> Answer {
    let ticks = (ms as u64 * TIMER_HZ as u64).div_ceil(1000).max(1) as u32;
    let until = interrupts::ticks().wrapping_add(ticks);
    if let Some(p) = lock_table().current_mut() {
        p.state = State::Sleeping(until);
    }
    schedule();
    Ok(0)
}

fn sys_share(key: u32, len: usize) -> Answer {
    let mut t = lock_table();
    let p = t.current_mut().expect("share with no process");
    if key == 0 || key > SHARE_KEYS {
        return Err(Errno::Inval);
    }
    if p.shares & (1 << key) != 0 {
        return Ok(crate::process::share::address(key));
    }
    let space = p.space.as_mut().expect("a running process has a space");
    let mut shared = lock_shared();
    let addr = memory::with(|m| {
        let mut mapper = space.mapper(&KernelPhys, &Invlpg);
        shared.attach(&mut mapper, &mut m.frames, key, len)
    })?;
    p.shares |= 1 << key;
    Ok(addr)
}

fn sys_spawn(name_ptr: u32, name_len: usize, args_ptr: u32, args_len: usize) -> Answer {
    let mut name = [0u8; 32];
    let mut args = [0u8; LINE_MAX];
    if name_len == 0 || name_len > name.len() || args_len > args.len() {
        return Err(Errno::Inval);
    }
    copy_in(name_ptr, &mut name[..name_len])?;
    copy_in(args_ptr, &mut args[..args_len])?;
    let name = core::str::from_utf8(&name[..name_len]).map_err(|_| Errno::Inval)?;
    let args = core::str::from_utf8(&args[..args_len]).map_err(|_| Errno::Inval)?;
    let mut argv = [""; MAX_ARGS];
    argv[0] = name;
    let mut n = 1;
    for w in args.split_whitespace() {
        if n == MAX_ARGS {
            return Err(Errno::Inval);
        }
        argv[n] = w;
        n += 1;
    }
    let parent = current_pid();
    table::spawn(name, &argv[..n], parent)
}

fn sys_wait(pid: u32, status_ptr: u32) -> Answer {
    if status_ptr != 0 {
        with_current(|mem, m, f| mem.prepare(m, f, status_ptr, 4, Access::Write))?;
    }
    let me = current_pid();
    loop {
        let status = {
            let mut t = lock_table();
            let Some(child) = t.by_pid(pid).filter(|c| c.parent == me && !c.waited) else {
                return Err(Errno::Child);
            };
            if child.state == State::Zombie {
                child.waited = true;
                Some(child.exit.map_or(0, |e| e.status()))
            } else {
                if let Some(p) = t.current_mut() {
                    p.state = State::Waiting(pid);
                }
                None
            }
        };
        match status {
            Some(s) => {
                reap();
                table::forget_waited(pid);
                if status_ptr != 0 {
                    copy_out(status_ptr, &s.to_le_bytes())?;
                }
                return Ok(pid);
            }
            None => schedule(),
        }
    }
}
