//! What `ps` shows: a snapshot of every process, by pid.

use super::process::{State, lock_table};
use crate::kernel::proc::kstack::KSTACK_PAGES;
use crate::text::FixedStr;
use alloc::vec::Vec;

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

/// A snapshot for `ps`.
pub fn list() -> Vec<ProcInfo> {
    let t = lock_table();
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
