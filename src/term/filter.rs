//! The serial line's `color off`: colour sequences dropped from a byte
//! stream, everything else (cursor movements included) passed on.

/// Drops colour sequences (`ESC [ ... m`) from a byte stream and passes
/// everything else, cursor movements included: the serial line's `color off`.
/// Sequences split across calls are handled (the filter keeps its state).
#[derive(Default)]
pub struct ColorFilter {
    held: [u8; 16],
    len: usize,
}

impl ColorFilter {
    /// A filter outside any sequence.
    pub const fn new() -> ColorFilter {
        ColorFilter {
            held: [0; 16],
            len: 0,
        }
    }

    /// Feed one byte; `emit` receives the bytes that pass.
    pub fn feed(&mut self, byte: u8, mut emit: impl FnMut(u8)) {
        if self.len == 0 {
            if byte == 0x1B {
                self.held[0] = byte;
                self.len = 1;
            } else {
                emit(byte);
            }
            return;
        }
        self.held[self.len] = byte;
        self.len += 1;
        let in_csi = self.held[1] == b'[';
        let done = !in_csi || (self.len > 2 && (0x40..=0x7E).contains(&byte));
        if done || self.len == self.held.len() {
            let colour = in_csi && byte == b'm';
            if !colour {
                self.held[..self.len].iter().for_each(|&b| emit(b));
            }
            self.len = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn the_filter_drops_colours_only() {
        let mut f = ColorFilter::new();
        let mut out = Vec::new();
        for part in [&b"\x1b[91merr\x1b["[..], b"0m ok \x1b[3D\x1bx"] {
            for &b in part {
                f.feed(b, |b| out.push(b));
            }
        }
        assert_eq!(out, b"err ok \x1b[3D\x1bx");
    }
}
