//! The kernel side of the shell: the [`Host`] the shell loop feeds keys
//! through, with ShompOS's hotkeys and command dispatch.
//!
//! ```text
//!   key ──► Shell (hotkey mode) ──► KernelHost::hotkey
//!                │                    ├─ '0'  divide by zero (probe, survived)
//!                │                    └─ 1-9 a q w e r t y u i p
//!                │                         ──► playground::with_playground ──► Playground::key
//!                └ (command mode) ──► KernelHost::command ──► commands::run
//! ```

use crate::arch::x86::probe;
use crate::drivers::vga::{HEIGHT, WIDTH};
use crate::kernel::commands;
// course: module 03
use crate::kernel::playground::with_playground;
use crate::mm::heap::playground::{Tone, tone_of};
// course: end
use crate::kernel::{console, interrupts};
use crate::shell::Host;
use crate::shell::input::{Key, Source};
use crate::shell::pager::{MoreKey, Pager, more_key};
// course: module 03
use crate::term::style::{ERROR, RESET, WARN};
// course: end
use core::fmt::Write;

/// The kernel's [`Host`] for the shell. Its state (the playground) is
/// global; the host keeps whether the
/// key being handled came from the PS/2 keyboard (then long output pauses
/// at `-- more --` on VGA), and a serial key that arrived during such a pause.
pub struct KernelHost {
    paging: bool,
    held: Option<(Key, Source)>,
}

impl KernelHost {
    /// The host; the playground is the shared one of [`with_playground`].
    pub fn new() -> KernelHost {
        KernelHost {
            paging: false,
            held: None,
        }
    }

    /// Where the key about to be fed came from: output it causes is paged
    /// on VGA only for a key from the keyboard.
    pub fn set_source(&mut self, source: Source) {
        self.paging = source == Source::Keyboard;
    }

    /// A key that arrived from the serial line while the pager waited; the
    /// shell loop feeds it next.
    pub fn take_held_key(&mut self) -> Option<(Key, Source)> {
        self.held.take()
    }
}

// course: module 03
/// Bytes of one playground line [`Toned`] holds (its lines are short;
/// a longer one is passed on in pieces, uncoloured).
const TONED_LINE: usize = 96;

/// The playground's output, each line in the colour its [`tone_of`] says:
/// refusals red, an empty slot yellow (without the heap: lines are held in
/// a small buffer until their newline).
struct Toned<'a> {
    out: &'a mut dyn Write,
    line: [u8; TONED_LINE],
    len: usize,
}

impl Toned<'_> {
    /// Pass on the line held so far, in its colour.
    fn end_line(&mut self) {
        let text = core::str::from_utf8(&self.line[..self.len]).unwrap_or("");
        let colour = match tone_of(text) {
            Tone::Error => ERROR,
            Tone::Warning => WARN,
            Tone::Plain => "",
        };
        let _ = if colour.is_empty() {
            self.out.write_str(text)
        } else {
            write!(self.out, "{colour}{text}{RESET}")
        };
        self.len = 0;
    }
}

/// A playground key: its output in the colours its lines mean; false when
/// `c` is not a playground key.
fn playground_key(c: char, out: &mut dyn Write) -> bool {
    let mut toned = Toned {
        out,
        line: [0; TONED_LINE],
        len: 0,
    };
    let handled = with_playground(|p| p.key(c, &mut toned));
    toned.end_line();
    handled
}

impl Write for Toned<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for c in s.chars() {
            if c == '\n' {
                self.end_line();
                self.out.write_char('\n')?;
                continue;
            }
            if self.len + c.len_utf8() > TONED_LINE {
                self.end_line();
            }
            self.len += c.encode_utf8(&mut self.line[self.len..]).len();
        }
        Ok(())
    }
}
// course: end

/// Output of one command typed at the keyboard: pauses at `-- more --` on
/// VGA each screenful; serial gets every byte without a prompt.
struct PagedOut<'a> {
    out: &'a mut dyn Write,
    pager: Pager,
    /// `q` was pressed, or a serial key came: the rest goes unpaged
    /// (`vga_too`: still to both screens; else to serial only).
    stopped: bool,
    vga_too: bool,
    held: &'a mut Option<(Key, Source)>,
}

impl PagedOut<'_> {
    /// `-- more --` on VGA, then wait for a key that answers it.
    fn more(&mut self) {
        console::with(|c| {
            let _ = c
                .screen
                .write_str("\x1b[30;47m-- more --\x1b[0m (Space, Enter, q)");
        });
        let answer = loop {
            match interrupts::next_key() {
                Some((key, Source::Keyboard)) => match more_key(key) {
                    MoreKey::Ignore => {}
                    how => break how,
                },
                Some(held) => {
                    // Someone on the serial line: stop pausing, keep the key.
                    *self.held = Some(held);
                    self.stopped = true;
                    self.vga_too = true;
                    break MoreKey::Page;
                }
                None => interrupts::wait_for_interrupt(),
            }
        };
        console::with(|c| {
            let _ = c.screen.write_str("\r\x1b[K");
        });
        if answer == MoreKey::Quit {
            self.stopped = true;
            self.vga_too = false;
        } else {
            self.pager.resume(answer);
        }
    }
}

impl Write for PagedOut<'_> {
    fn write_str(&mut self, mut s: &str) -> core::fmt::Result {
        loop {
            if self.stopped {
                return if self.vga_too {
                    self.out.write_str(s)
                } else {
                    console::with(|c| c.serial.write_str(s))
                };
            }
            let (n, full) = self.pager.fit(s);
            self.out.write_str(&s[..n])?;
            s = &s[n..];
            if !full {
                return Ok(());
            }
            self.more();
        }
    }
}

impl Default for KernelHost {
    fn default() -> Self {
        Self::new()
    }
}

impl Host for KernelHost {
    /// `0` divides by zero (reported and survived); `1`-`9`, `a q w e r t y
    /// u i` and `p` go to the playground and print the console contract's
    /// lines; anything else is not a hotkey.
    fn hotkey(&mut self, c: char, out: &mut dyn Write) -> bool {
        match c {
            '0' => {
                let _ = writeln!(out, "\nkey 0: dividing 1 by 0, as ShompOS does");
                match probe::divide(1, 0) {
                    Ok(q) => {
                        let _ = writeln!(out, "no fault? quotient {q}");
                    }
                    Err(_) => {
                        let _ = writeln!(out, "divide error survived");
                    }
                }
                true
            }
            // course: module 03
            c => playground_key(c, out),
            // course: else
            // // The playground's keys before module 3 teaches its heap.
            // c if "123456789aqwertyuip".contains(c) => {
            //     let _ = writeln!(out, "key {c}: the playground's heap comes with module 3");
            //     true
            // }
            // _ => false,
            // course: end
        }
    }

    fn command(&mut self, line: &str, out: &mut dyn Write) {
        if !self.paging {
            return commands::run_styled(line, out, true);
        }
        let mut paged = PagedOut {
            out,
            pager: Pager::new(WIDTH, HEIGHT - 1),
            stopped: false,
            vga_too: false,
            held: &mut self.held,
        };
        commands::run_styled(line, &mut paged, true);
    }

    fn command_names(&self, each: &mut dyn FnMut(&'static str)) {
        commands::names().for_each(&mut *each);
        each("exit");
    }

    fn scroll(&mut self, rows: isize) {
        crate::kernel::console::with(|c| c.screen.scroll_view(rows));
    }
}
