//! The playground: ShompOS's hotkey heap, a small buddy heap in a static
//! buffer, shared by the hotkeys, the heap commands and the in-kernel tests.
//!
//! ```text
//!   PLAYGROUND_BUF (.bss, 64 KiB + 4 KiB)
//!   [ .. grid_base ─► [ heap: 2^max-scale bytes, scales 4..max ] .......... ]
//!                       1 KiB (scale A) by default, `playground=` at boot,
//!                       `playground <max-scale>` later
//! ```
//!
//! The playground lives in one static so the hotkeys, the heap commands
//! (`playground`, `heapmap`, `heapcheck`) and the in-kernel tests share it.
//! It is only touched from the shell loop and the tests, never from an
//! interrupt handler; its slot stacks are `Vec`s on the kernel heap (grown
//! with the reserve closed: at exhaustion a key says `cannot store another
//! block`), so it must not be used while the memory lock is held.

use crate::bootinfo::BootInfo;
use crate::mm::heap::playground::{self, DEFAULT_MAX_SCALE, MAX_SCALE_RANGE, buffer_bytes};
use crate::mm::heap::{Playground, PlaygroundError};
use crate::println;
use spin::Mutex;

/// The largest max scale `playground=` and `playground <max-scale>` accept:
/// a 64 KiB playground. The static buffer is sized for it.
pub const PLAYGROUND_MAX_SCALE: u8 = 16;

const _: () = assert!(PLAYGROUND_MAX_SCALE <= *MAX_SCALE_RANGE.end());
const _: () = assert!(DEFAULT_MAX_SCALE <= PLAYGROUND_MAX_SCALE);

/// The playground's memory: room for the largest playground on the block grid.
static mut PLAYGROUND_BUF: [u8; buffer_bytes(PLAYGROUND_MAX_SCALE)] =
    [0; buffer_bytes(PLAYGROUND_MAX_SCALE)];

/// The playground, built on first use (normally by [`init`] at boot).
static PLAYGROUND: Mutex<Option<Playground<'static>>> = Mutex::new(None);

/// Why a max scale for the playground was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleError {
    /// Not a number at all.
    NotANumber,
    /// A number outside `5..=PLAYGROUND_MAX_SCALE`.
    OutOfRange(u32),
}

impl core::fmt::Display for ScaleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (lo, hi) = (*MAX_SCALE_RANGE.start(), PLAYGROUND_MAX_SCALE);
        match self {
            ScaleError::NotANumber => write!(f, "not a number (a max scale {lo}..={hi})"),
            ScaleError::OutOfRange(n) => write!(
                f,
                "max scale {n} is out of range {lo}..={hi} ({}..{} bytes)",
                1usize << lo,
                1usize << hi
            ),
        }
    }
}

/// Parse a playground max scale: decimal or `0x` hex, in
/// `5..=PLAYGROUND_MAX_SCALE` (the kernel's buffer bounds the pure range).
pub fn parse_max_scale(s: &str) -> Result<u8, ScaleError> {
    let n = crate::shell::parse_number(s).map_err(|_| ScaleError::NotANumber)?;
    match u8::try_from(n) {
        Ok(m) if (*MAX_SCALE_RANGE.start()..=PLAYGROUND_MAX_SCALE).contains(&m) => Ok(m),
        _ => Err(ScaleError::OutOfRange(n)),
    }
}

/// Build the playground at boot, sized by `playground=<max-scale>` on the
/// command line (a bad value prints why and keeps the default, 1 KiB), and
/// print one line saying where it is. Needs the kernel heap (slot stacks).
pub fn init(info: &BootInfo) {
    let scale = match info.option("playground").map(|v| (v, parse_max_scale(v))) {
        None => DEFAULT_MAX_SCALE,
        Some((_, Ok(s))) => s,
        Some((v, Err(e))) => {
            crate::kernel::console::warn_line(format_args!(
                "playground: playground={v}: {e}; keeping the default {DEFAULT_MAX_SCALE} ({} bytes)",
                1usize << DEFAULT_MAX_SCALE
            ));
            DEFAULT_MAX_SCALE
        }
    };
    let (start, bytes, max) = with_playground_sized(scale, |p| {
        let h = p.heap();
        (h.start_addr(), h.heap_bytes(), h.max_scale())
    });
    println!(
        "playground: {bytes}-byte buddy heap at {start:#010X}, scales {:X}..{max}",
        playground::MIN_SCALE
    );
}

/// Run `f` on the playground (built at the default size if [`init`] has not
/// run). Holds the playground lock: `f` must not call back into it.
pub fn with_playground<R>(f: impl FnOnce(&mut Playground<'static>) -> R) -> R {
    with_playground_sized(DEFAULT_MAX_SCALE, f)
}

/// Like [`with_playground`]; a playground built here gets `max_scale`.
fn with_playground_sized<R>(max_scale: u8, f: impl FnOnce(&mut Playground<'static>) -> R) -> R {
    let mut guard = PLAYGROUND.lock();
    let p = guard.get_or_insert_with(|| {
        // SAFETY: this closure runs only while PLAYGROUND is None, under its
        // lock, and PLAYGROUND never returns to None: the buffer is borrowed
        // exactly once, for the rest of the run, by the playground alone.
        let buf: &'static mut [u8] = unsafe {
            core::slice::from_raw_parts_mut(
                (&raw mut PLAYGROUND_BUF).cast::<u8>(),
                buffer_bytes(PLAYGROUND_MAX_SCALE),
            )
        };
        match Playground::new(buf, max_scale) {
            Ok(mut p) => {
                // The slot stacks never spend the reserve (see `heap::without_reserve`).
                p.set_store_scope(|grow| crate::kernel::heap::without_reserve(grow));
                p
            }
            // The scale was checked against the buffer's size: a broken invariant.
            Err(e) => panic!("playground: {e}"),
        }
    });
    f(p)
}

/// `playground <max-scale>`: empty every slot and rebuild the playground as
/// one free block of `2^max_scale` bytes. On error nothing changes.
pub fn resize_playground(max_scale: u8) -> Result<(), PlaygroundError> {
    if max_scale > PLAYGROUND_MAX_SCALE {
        return Err(PlaygroundError::BadScale(max_scale));
    }
    with_playground(|p| p.resize(max_scale))
}
