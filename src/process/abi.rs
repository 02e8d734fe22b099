//! The system-call interface, shared word for word by the kernel and the
//! user library (`user/lib` compiles this module for the user target).
//!
//! ```text
//!   user:  eax = number, ebx, ecx, edx, esi = arguments;  int 0x80
//!   CPU:   ring 3 -> ring 0 through the DPL-3 gate, stack from TSS.esp0
//!   kernel: dispatch on eax; the answer goes back in eax:
//!           >= 0  success (a count, an address, a pid)
//!           <  0  -(Errno): the call changed nothing
//! ```

/// The interrupt vector of system calls.
pub const SYSCALL_VECTOR: u8 = 0x80;

/// `exit(status)`: end the calling process; never returns.
pub const SYS_EXIT: u32 = 0;
/// `write(fd, ptr, len) -> written`: fd 1 and 2 are the console.
pub const SYS_WRITE: u32 = 1;
/// `read(fd, ptr, len) -> read`: fd 0 is the console; blocks for one line
/// (the newline included when it fits), only while the process is in the
/// foreground.
pub const SYS_READ: u32 = 2;
/// `getpid() -> pid`.
pub const SYS_GETPID: u32 = 3;
/// `yield()`: give the rest of the time slice to the next process.
pub const SYS_YIELD: u32 = 4;
/// `sleep(ms)`: block for at least `ms` milliseconds.
pub const SYS_SLEEP: u32 = 5;
/// `sbrk(increment) -> old break`: move the heap's end; pages are mapped on
/// first touch (demand paging). A negative increment gives pages back.
pub const SYS_SBRK: u32 = 6;
/// `mmap(len) -> addr`: map `len` bytes (rounded up to pages) of zeroed,
/// anonymous, private memory.
pub const SYS_MMAP: u32 = 7;
/// `munmap(addr, len)`: unmap exactly one earlier `mmap`.
pub const SYS_MUNMAP: u32 = 8;
/// `share(key, len) -> addr`: map shared region `key` (1..=[`SHARE_KEYS`]);
/// the first caller creates it with `len` bytes of zeroed frames, later
/// callers (any process) get the same frames. Freed with its last user.
pub const SYS_SHARE: u32 = 9;
/// `spawn(name, name_len, args, args_len) -> pid`: start the program `name`
/// (a boot module) with the space-separated `args`.
pub const SYS_SPAWN: u32 = 10;
/// `wait(pid, &mut status) -> pid`: block until child `pid` ends; its
/// status is written (exit status, or [`STATUS_KILLED`] + vector).
pub const SYS_WAIT: u32 = 11;
/// `frames() -> free frames`: the physical frames free right now (for leak checks).
pub const SYS_FRAMES: u32 = 12;
/// How many system calls there are (numbers `0..SYSCALLS`).
pub const SYSCALLS: u32 = 13;

/// Status of a process the kernel killed: this plus the exception vector
/// (14 for a page fault, 13 for #GP, ...), or plus 255 for `kill`/Ctrl+C.
pub const STATUS_KILLED: i32 = 256;
/// The vector-like number of a kill from the shell.
pub const KILLED_BY_SHELL: i32 = 255;

/// Shared-region keys are `1..=SHARE_KEYS`.
pub const SHARE_KEYS: u32 = 8;
/// Largest shared region, bytes.
pub const SHARE_MAX: usize = 64 * 1024;

/// Bytes of address space the user stack may grow to (below the args page).
pub const USER_STACK_MAX: usize = 1024 * 1024;
/// The most bytes `sbrk` hands one process.
pub const USER_HEAP_MAX: usize = 32 * 1024 * 1024;
/// The most frames one process may own (directory, tables, pages).
pub const USER_FRAME_LIMIT: usize = 12 * 1024;
/// The most bytes one `mmap` maps.
pub const MMAP_MAX: usize = 4 * 1024 * 1024;
/// The most arguments a program gets (its name included).
pub const MAX_ARGS: usize = 16;

/// Answers in `-MAX_ERRNO..0` are errors; any other answer is a value (an
/// address above 2 GiB, read as an `i32`, is negative but not an error).
pub const MAX_ERRNO: i32 = 4095;

/// Why a system call failed; the call returns `-(errno as i32)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Errno {
    /// No system call has this number.
    NoSys = 1,
    /// A pointer is outside the user half, unmapped, or not writable.
    Fault = 2,
    /// An argument is out of range (a length, a key, an fd).
    Inval = 3,
    /// No memory (frames, heap limit, frame limit).
    NoMem = 4,
    /// No program by that name.
    NoEnt = 5,
    /// No such child to wait for.
    Child = 6,
    /// The program is not a loadable ELF.
    NoExec = 7,
    /// Too many processes, or a shared region of another size.
    Busy = 8,
    /// Reading the console from the background.
    NotForeground = 9,
}

impl Errno {
    /// Every error, for decoding.
    pub const ALL: [Errno; 9] = [
        Errno::NoSys,
        Errno::Fault,
        Errno::Inval,
        Errno::NoMem,
        Errno::NoEnt,
        Errno::Child,
        Errno::NoExec,
        Errno::Busy,
        Errno::NotForeground,
    ];

    /// The error a negative return value stands for (`None` for success or
    /// an unknown code).
    pub fn from_return(r: i32) -> Option<Errno> {
        Errno::ALL.into_iter().find(|e| -(*e as i32) == r)
    }

    /// What the error means, in a few words.
    pub const fn name(self) -> &'static str {
        match self {
            Errno::NoSys => "no such system call",
            Errno::Fault => "bad address",
            Errno::Inval => "invalid argument",
            Errno::NoMem => "out of memory",
            Errno::NoEnt => "no such program",
            Errno::Child => "no such child",
            Errno::NoExec => "not an executable",
            Errno::Busy => "resource busy",
            Errno::NotForeground => "not in the foreground",
        }
    }

    /// The value a system call returns for this error.
    pub const fn to_return(self) -> i32 {
        -(self as i32)
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_through_return_values() {
        for e in Errno::ALL {
            assert!(e.to_return() < 0);
            assert_eq!(Errno::from_return(e.to_return()), Some(e));
        }
        assert_eq!(Errno::from_return(0), None);
        assert_eq!(Errno::from_return(-100), None);
    }
}
