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
//!
//! One file per idea:
//!
//! ```text
//!   process.rs  Process, State, ExitKind, the Table and its locks
//!   spawn.rs    spawn, kill
//!   exits.rs    exit lines, statuses, slots freed
//!   input.rs    the foreground, a blocked read's input
//!   ps.rs       the snapshot `ps` prints
//! ```

mod exits;
mod input;
mod process;
mod ps;
mod spawn;

pub use exits::{forget_waited, is_alive, take_exit, take_reports};
pub use input::{deliver, foreground_locked, reading_raw, set_foreground};
pub use process::{ExitKind, LINE_MAX, MAX_PROCS, SLICE_TICKS, State, lock_shared, lock_table};
pub use ps::{ProcInfo, list};
pub use spawn::{kill, spawn};
