//! `print!` and `println!` to the console (fd 1). One `print!` is one
//! `write` system call when it fits in 512 bytes, so lines of processes
//! running side by side do not interleave mid-line.

use core::fmt::{self, Write};

/// The console as a `fmt::Write` (unbuffered: each piece is a system call).
pub struct Stdout;

impl Write for Stdout {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        crate::sys::write(1, s.as_bytes())
            .map(|_| ())
            .map_err(|_| fmt::Error)
    }
}

/// Collects formatted text and writes it in as few system calls as it can.
struct Buffered {
    buf: [u8; 512],
    len: usize,
}

impl Buffered {
    fn flush(&mut self) -> fmt::Result {
        if self.len > 0 {
            let r = crate::sys::write(1, &self.buf[..self.len]);
            self.len = 0;
            r.map(|_| ()).map_err(|_| fmt::Error)?;
        }
        Ok(())
    }
}

impl Write for Buffered {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        if self.len + bytes.len() > self.buf.len() {
            self.flush()?;
        }
        if bytes.len() > self.buf.len() {
            return Stdout.write_str(s);
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    let mut b = Buffered {
        buf: [0; 512],
        len: 0,
    };
    let _ = b.write_fmt(args);
    let _ = b.flush();
}

/// Print to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::io::_print(format_args!($($arg)*)) };
}

/// Print a line to the console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::io::_print(format_args!("{}\n", format_args!($($arg)*))) };
}
