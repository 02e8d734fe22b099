//! Output capture without allocation: the writers the heap commands use
//! while the kernel heap is locked (room reserved before, never grown).

use alloc::string::String;
use core::fmt::{self, Write};

/// A writer into a `String` whose room was reserved before a lock was taken:
/// it never grows the string (that would allocate under the heap lock), and
/// keeps only lines `..head` and `total - tail..` of a text of `total` lines.
pub struct Clip<'a> {
    pub buf: &'a mut String,
    /// Lines seen so far (the index of the line being written).
    pub line: usize,
    pub head: usize,
    pub tail_from: usize,
    /// Set when the reserved room ran out.
    pub full: bool,
}

impl Write for Clip<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for part in s.split_inclusive('\n') {
            if self.line < self.head || self.line >= self.tail_from {
                if !self.full && self.buf.len() + part.len() <= self.buf.capacity() {
                    self.buf.push_str(part);
                } else {
                    self.full = true;
                }
            }
            if part.ends_with('\n') {
                self.line += 1;
            }
        }
        Ok(())
    }
}

/// Counts the lines a writer would get (no allocation).
pub struct LineCount(pub usize);

impl Write for LineCount {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.bytes().filter(|&b| b == b'\n').count();
        Ok(())
    }
}
