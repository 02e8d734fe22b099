//! A process and the table that holds them: its states and how it ended,
//! one slot per process (a `Box`, so the saved stack pointer of a process
//! never moves while it is switched out), and the two locks in their
//! order: the table, then the shared regions, then the memory lock.

use crate::kernel::proc::kstack::KernelStack;
use crate::mm::vm::AddressSpace;
use crate::process::abi::STATUS_KILLED;
use crate::process::memory::UserMemory;
use crate::process::share::SharedRegions;
use crate::text::FixedStr;
use alloc::boxed::Box;
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
    pub(super) reported: bool,
    pub waited: bool,
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
    pub(super) next_pid: u32,
    pub(super) foreground: u32,
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
