//! The ELF32 loader: check a program's headers, then map its segments into a
//! fresh user address space (text read-only, data and bss writable and
//! zeroed). Parsing is the `elf` crate's (no `unsafe`, no allocation, every
//! offset bounds-checked, fuzzed upstream); the policy is Cairn's.
//!
//! ```text
//!   file                           address space (user data region)
//!  +--------+                     0x0040_0000 +----------------+
//!  | ehdr   |                                 | .text  r-x     | PT_LOAD R+X -> USER
//!  | phdrs  |--- PT_LOAD R X ---------------> +----------------+
//!  | .text  |                                 | .rodata r--    |
//!  | .data  |--- PT_LOAD R W ---------------> +----------------+
//!  +--------+    (memsz > filesz: bss zeroed) | .data .bss rw- | USER | WRITABLE
//!                                             +----------------+ <- image end: the heap starts above
//! ```
//!
//! Everything is checked before the first frame is taken ([`plan`]), so a
//! refused ELF changes nothing; [`load`] can then fail only for want of
//! frames, and the caller destroys the space, which frees every frame the
//! load took (they are mapped OWNED).
//!
//! One file per idea:
//!
//! ```text
//!   error.rs  ElfError: every rule a file can break
//!   plan.rs   plan(): every header checked, a LoadPlan
//!   load.rs   load(): the plan's segments mapped and filled
//! ```

mod error;
mod load;
mod plan;

pub use error::ElfError;
pub use load::load;
pub use plan::{LoadPlan, Segment, plan};

/// The most loadable segments a program may have.
pub const MAX_SEGMENTS: usize = 8;
