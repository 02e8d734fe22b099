//! The process table: one slot per process (a `Box`, so the saved stack
//! pointer of a process never moves while it is switched out), the states,
//! spawning, killing and the exit reports.
//!
//! ```text
//!            spawn                 schedule()           exit / kill / fault
//!   (none) --------> Ready <----------------> Running ---------------------> Zombie
//!                      ^                         |                             |
//!                      +--- Sleeping / Reading / Waiting <--(blocks)           | reap: space,
//!                            (timer, a line, a child)                          | kernel stack,
//!                                                                              v shared regions
//!                                                                     reported and waited: gone
//! ```

use super::kstack::{KSTACK_PAGES, KernelStack};
use super::programs;
use crate::arch::x86::usermode;
use crate::kernel::memory::{self, KernelPhys};
use crate::mm::frame::FrameAllocator;
use crate::mm::paging::NoFlush;
use crate::mm::vm::region::USER_ARGS_START;
use crate::mm::vm::{AddressSpace, UserFrames};
use crate::process::abi::{Errno, KILLED_BY_SHELL, STATUS_KILLED};
use crate::process::elf;
use crate::process::memory::UserMemory;
use crate::process::share::SharedRegions;
use crate::term::style::{ERROR, RESET, WARN};
use crate::text::FixedStr;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use spin::{Mutex, MutexGuard};

/// The most processes alive at once.
pub const MAX_PROCS: usize = 32;
/// Timer ticks a process runs before the next one gets the CPU (20 ms).
pub const SLICE_TICKS: u32 = 2;

/// The longest line `read` hands over.
pub const LINE_MAX: usize = 256;

/// What a process is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for the CPU.
    Ready,
    /// On the CPU.
    Running,
    /// Blocked until this timer tick.
    Sleeping(u32),
    /// Blocked in `read` (raw: any key; else a whole line).
    Reading { raw: bool },
    /// Blocked in `wait` for this child.
    Waiting(u32),
    /// Ended; its status waits to be reported.
    Zombie,
}

impl State {
    /// A short name for `ps`.
    pub fn name(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::Running => "running",
            State::Sleeping(_) => "sleeping",
            State::Reading { .. } => "reading",
            State::Waiting(_) => "waiting",
            State::Zombie => "zombie",
        }
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    /// It called `exit(status)`.
    Status(i32),
    /// The kernel killed it: the exception vector (255 for the shell) and why.
    Killed { vector: u32, reason: FixedStr<160> },
}

impl ExitKind {
    /// The status `wait` reports.
    pub fn status(&self) -> i32 {
        match self {
            ExitKind::Status(s) => *s,
            ExitKind::Killed { vector, .. } => STATUS_KILLED + *vector as i32,
        }
    }
}

/// One process.
pub struct Process {
    pub pid: u32,
    pub parent: u32,
    pub name: FixedStr<32>,
    pub state: State,
    pub space: Option<AddressSpace>,
    pub mem: UserMemory,
    pub kstack: Option<KernelStack>,
    /// The saved kernel stack pointer while switched out.
    pub ctx: u32,
    /// Shared-region keys attached (bit `key`).
    pub shares: u32,
    /// Bytes handed to a blocked `read`.
    pub input: [u8; LINE_MAX],
    pub input_len: usize,
    pub input_ready: bool,
    pub exit: Option<ExitKind>,
    reported: bool,
    pub waited: bool,
}

/// What `ps` shows of a process.
#[derive(Clone, Debug)]
pub struct ProcInfo {
    pub pid: u32,
    pub parent: u32,
    pub name: FixedStr<32>,
    pub state: State,
    pub frames: usize,
    pub heap: usize,
    pub heap_faults: usize,
    pub stack_faults: usize,
}

/// Every process, the one running, and the kernel task's saved stack.
pub struct Table {
    pub slots: [Option<Box<Process>>; MAX_PROCS],
    /// The slot on the CPU; `None` for the kernel task (the shell).
    pub current: Option<usize>,
    /// The kernel task's saved stack pointer while a process runs.
    pub kernel_ctx: u32,
    /// The tick the running task's slice began.
    pub slice_start: u32,
    next_pid: u32,
    foreground: u32,
}

/// The process table (reached through [`lock_table`]).
static TABLE: Mutex<Table> = Mutex::new(Table {
    slots: [const { None }; MAX_PROCS],
    current: None,
    kernel_ctx: 0,
    slice_start: 0,
    next_pid: 1,
    foreground: 0,
});

/// The shared regions (reached through [`lock_shared`]; lock order: the
/// table, then the shared regions, then the memory lock).
static SHARED: Mutex<SharedRegions> = Mutex::new(SharedRegions::new());

/// Locks the process table and returns its guard (interrupts must be off
/// while it is held; take it before [`lock_shared`] and the memory lock).
pub fn lock_table() -> MutexGuard<'static, Table> {
    TABLE.lock()
}

/// Locks the shared regions and returns their guard (interrupts must be
/// off; take it after [`lock_table`] and before the memory lock).
pub fn lock_shared() -> MutexGuard<'static, SharedRegions> {
    SHARED.lock()
}

impl Table {
    /// The running process.
    pub fn current_mut(&mut self) -> Option<&mut Process> {
        let i = self.current?;
        self.slots[i].as_deref_mut()
    }
    /// The process `pid`.
    pub fn by_pid(&mut self, pid: u32) -> Option<&mut Process> {
        self.slots
            .iter_mut()
            .flatten()
            .find(|p| p.pid == pid)
            .map(|b| &mut **b)
    }
    /// Wake sleepers whose tick has come.
    pub fn wake_sleepers(&mut self, now: u32) {
        for p in self.slots.iter_mut().flatten() {
            if let State::Sleeping(until) = p.state
                && now.wrapping_sub(until) as i32 >= 0
            {
                p.state = State::Ready;
            }
        }
    }
    /// Mark `pid` ended with `how`: a zombie, its parent woken if it waits,
    /// its children handed to the shell. Its resources go at the next reap.
    pub fn end(&mut self, pid: u32, how: ExitKind) {
        let Some(p) = self.by_pid(pid) else { return };
        if p.state == State::Zombie {
            return;
        }
        p.state = State::Zombie;
        p.exit = Some(how);
        let parent = p.parent;
        for q in self.slots.iter_mut().flatten() {
            if q.pid == parent && q.state == State::Waiting(pid) {
                q.state = State::Ready;
            }
            if q.parent == pid {
                q.parent = 0;
            }
        }
    }
}

/// Start program `name` with `args` as a child of `parent` (0: the shell).
pub fn spawn(name: &str, args: &[&str], parent: u32) -> Result<u32, Errno> {
    let prog = programs::find(name).ok_or(Errno::NoEnt)?;
    let plan = elf::plan(prog.bytes).map_err(|e| {
        crate::kernel::console::error_line(format_args!("spawn {name}: refused: {e}"));
        Errno::NoExec
    })?;
    let slot = crate::arch::x86::without_interrupts(|| {
        TABLE.lock().slots.iter().position(|s| s.is_none())
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
        let mut t = TABLE.lock();
        let pid = t.next_pid;
        t.next_pid += 1;
        p.pid = pid;
        t.slots[slot] = Some(p);
        pid
    }))
}

/// Kill `pid` (not the kernel) with exception `vector` and `reason`.
pub fn kill(pid: u32, vector: u32, reason: &str) -> Result<(), Errno> {
    let mut t = TABLE.lock();
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

/// Fill `lines` with the exit lines of ended, reaped, unreported processes
/// whose parent is the shell; drop entries nobody will ask about. Returns
/// how many lines were filled.
pub fn take_reports(lines: &mut [Option<String>]) -> usize {
    let mut t = TABLE.lock();
    let mut n = 0;
    let current = t.current;
    for (i, slot) in t.slots.iter_mut().enumerate() {
        let Some(p) = slot.as_deref_mut() else {
            continue;
        };
        if p.state != State::Zombie || p.space.is_some() || p.kstack.is_some() || Some(i) == current
        {
            continue;
        }
        if !p.reported && !p.waited && p.parent == 0 {
            if n == lines.len() {
                break;
            }
            // A fault that killed it is an error, a failing status a
            // warning; what the shell asked for (kill, Ctrl+C) is plain.
            lines[n] = Some(match p.exit {
                Some(ExitKind::Killed { vector, reason }) => {
                    let (on, off) = if vector == KILLED_BY_SHELL as u32 {
                        ("", "")
                    } else {
                        (ERROR, RESET)
                    };
                    alloc::format!("{on}[pid {}] killed: {}{off}", p.pid, reason.as_str())
                }
                Some(ExitKind::Status(s)) => {
                    let (on, off) = if s == 0 { ("", "") } else { (WARN, RESET) };
                    alloc::format!("{on}[pid {}] exited with status {s}{off}", p.pid)
                }
                None => alloc::format!("[pid {}] ended", p.pid),
            });
            n += 1;
            p.reported = true;
        }
        let done = p.waited || (p.parent == 0 && p.reported);
        if done {
            *slot = None;
        }
    }
    n
}

/// How `pid` ended, once it has and its resources are reaped; the entry
/// is dropped (nobody reports it). `None` while it lives or is unknown.
pub fn take_exit(pid: u32) -> Option<ExitKind> {
    let mut t = TABLE.lock();
    let current = t.current;
    for (i, slot) in t.slots.iter_mut().enumerate() {
        if let Some(p) = slot
            && p.pid == pid
            && p.state == State::Zombie
            && p.space.is_none()
            && p.kstack.is_none()
            && Some(i) != current
        {
            let exit = p.exit;
            *slot = None;
            return exit;
        }
    }
    None
}

/// Forget `pid` if it has ended, been waited for and reaped (frees its slot).
pub fn forget_waited(pid: u32) {
    let mut t = TABLE.lock();
    let current = t.current;
    for (i, slot) in t.slots.iter_mut().enumerate() {
        if let Some(p) = slot
            && p.pid == pid
            && p.waited
            && p.space.is_none()
            && p.kstack.is_none()
            && Some(i) != current
        {
            *slot = None;
        }
    }
}

/// Is `pid` alive (not ended)?
pub fn is_alive(pid: u32) -> bool {
    let mut t = TABLE.lock();
    t.by_pid(pid).is_some_and(|p| p.state != State::Zombie)
}

/// Some(raw) when `pid` is blocked in `read`.
pub fn reading_raw(pid: u32) -> Option<bool> {
    let mut t = TABLE.lock();
    match t.by_pid(pid)?.state {
        State::Reading { raw } => Some(raw),
        _ => None,
    }
}

/// Hand `bytes` to `pid`'s blocked `read` and make it ready.
pub fn deliver(pid: u32, bytes: &[u8]) {
    let mut t = TABLE.lock();
    if let Some(p) = t.by_pid(pid)
        && matches!(p.state, State::Reading { .. })
    {
        let n = bytes.len().min(LINE_MAX);
        p.input[..n].copy_from_slice(&bytes[..n]);
        p.input_len = n;
        p.input_ready = true;
        p.state = State::Ready;
    }
}

/// Make `pid` the process the keyboard goes to (0: none).
pub fn set_foreground(pid: u32) {
    crate::arch::x86::without_interrupts(|| TABLE.lock().foreground = pid);
}

/// The foreground process (0: none), with the table locked.
pub fn foreground_locked(t: &Table) -> u32 {
    t.foreground
}

/// A snapshot for `ps`.
pub fn list() -> Vec<ProcInfo> {
    let t = TABLE.lock();
    let mut v = Vec::new();
    for p in t.slots.iter().flatten() {
        let alive = p.space.is_some();
        v.push(ProcInfo {
            pid: p.pid,
            parent: p.parent,
            name: p.name,
            state: p.state,
            frames: if alive {
                p.mem.owned() + p.kstack.as_ref().map_or(0, |_| KSTACK_PAGES)
            } else {
                0
            },
            heap: p.mem.heap_size(),
            heap_faults: p.mem.faults.heap,
            stack_faults: p.mem.faults.stack,
        });
    }
    v.sort_by_key(|p| p.pid);
    v
}
