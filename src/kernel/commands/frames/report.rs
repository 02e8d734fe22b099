//! Reports written under the memory lock without allocating: a writer
//! into room reserved beforehand ([`NoGrow`]) and [`report_under_lock`].

use crate::kernel::memory::{self, Memory};
use alloc::format;
use alloc::string::String;
use core::fmt::{self, Write};

/// Bytes reserved for one report; the largest plan (64 managed and 16
/// reserved ranges) needs about 4 KiB.
const REPORT_CAPACITY: usize = 8 * 1024;

/// A `fmt::Write` into the spare capacity of a `String` that never
/// reallocates, so it may be written while `MEMORY` is held. Text that does
/// not fit is dropped (whole pieces, never half a character) and `cut` is set.
pub struct NoGrow<'a> {
    buf: &'a mut String,
    cut: bool,
}

impl<'a> NoGrow<'a> {
    /// A writer over `buf`'s spare capacity (reserve it before taking the lock).
    pub fn new(buf: &'a mut String) -> NoGrow<'a> {
        NoGrow { buf, cut: false }
    }

    /// True when some text did not fit.
    pub fn was_cut(&self) -> bool {
        self.cut
    }
}

impl Write for NoGrow<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.buf.len() + s.len() > self.buf.capacity() {
            self.cut = true;
            return Err(fmt::Error);
        }
        self.buf.push_str(s); // within capacity: no allocation
        Ok(())
    }
}

/// Run `f` on the kernel's memory with the lock held and a [`NoGrow`] writer
/// over a fresh buffer of [`REPORT_CAPACITY`] bytes; returns the text
/// (with a note when it was cut) and `f`'s result. When not even the
/// buffer can be had, `Err("out of memory ...")` and `f` does not run.
pub fn report_under_lock<R>(
    f: impl FnOnce(&mut Memory, &mut NoGrow) -> R,
) -> Result<(String, R), String> {
    let mut buf = String::new();
    buf.try_reserve_exact(REPORT_CAPACITY) // before the lock
        .map_err(|_| format!("out of memory: no room for the report ({REPORT_CAPACITY} bytes)"))?;
    let (r, cut) = memory::with(|m| {
        let mut w = NoGrow::new(&mut buf);
        let r = f(m, &mut w);
        (r, w.was_cut())
    });
    if cut {
        // Within the capacity kept for it: the note never reallocates.
        let note = "... (report cut: longer than the buffer)\n";
        if buf.capacity() - buf.len() >= note.len() {
            buf.push_str(note);
        }
    }
    Ok((buf, r))
}
