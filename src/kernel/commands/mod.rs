//! Command mode's commands, one table per layer.
//!
//! Each command gets its arguments (the words after its name) and a writer;
//! bad arguments print `error: ...` and change nothing.

mod console;
mod family;
mod foundation;
mod frames;
mod heap;
pub mod kit;
mod paging;
mod user;

use crate::term::ColorFilter;
use crate::term::style::{ERROR, RESET};
use crate::text::{WRAP_WIDTH, Wrap};
use core::fmt::Write;
pub use kit::{Command, Outcome};

/// `help` itself: it lists the tables, so it lives above them, and heads
/// the foundation layer.
static HELP: &[Command] = &[Command {
    name: "help",
    args: "[command|all]",
    help: "list the commands by layer; `help <command>` or `help all` explains them",
    run: help,
}];

/// Every table, layer by layer, with the layer's name (the layers of later
/// course modules are cut on earlier module branches).
fn layers() -> impl Iterator<Item = (&'static str, [&'static [Command]; 2])> {
    [
        ("foundation", [HELP, foundation::COMMANDS]),
        // course: module 03
        ("heap", [heap::COMMANDS, &[]]),
        // course: end
        // course: module 04
        ("frames", [frames::COMMANDS, &[]]),
        // course: end
        // course: module 05
        ("paging", [paging::COMMANDS, &[]]),
        // course: end
        // course: module 07
        ("family", [family::COMMANDS, &[]]),
        // course: end
        ("console", [console::COMMANDS, &[]]),
        // course: module 08
        ("user", [user::COMMANDS, &[]]),
        // course: end
    ]
    .into_iter()
}

/// Every table, layer by layer.
fn tables() -> impl Iterator<Item = &'static [Command]> {
    layers().flat_map(|(_, cmds)| cmds)
}

/// Find a command by name.
pub fn find(name: &str) -> Option<&'static Command> {
    tables().flatten().find(|c| c.name == name)
}

/// Every command's name, layer by layer.
pub fn names() -> impl Iterator<Item = &'static str> {
    tables().flatten().map(|c| c.name)
}

/// Run one command line, in plain text (the in-kernel tests read this):
/// the colour sequences commands write are dropped on the way.
pub fn run(line: &str, out: &mut dyn Write) {
    let mut plain = Plain {
        out,
        filter: ColorFilter::new(),
        buf: [0; PLAIN_BUF],
        len: 0,
    };
    run_styled(line, &mut plain, false);
    plain.flush();
}

/// Bytes [`Plain`] holds before passing them on.
const PLAIN_BUF: usize = 64;

/// A writer that drops colour sequences (`ESC [ ... m`) and passes the rest,
/// without the heap (commands write while the memory lock is held). It
/// passes text on in whole UTF-8 characters.
struct Plain<'a> {
    out: &'a mut dyn Write,
    filter: ColorFilter,
    buf: [u8; PLAIN_BUF],
    len: usize,
}

impl Plain<'_> {
    /// Pass on the held bytes up to the last whole character.
    fn flush(&mut self) {
        let valid = match core::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        if let Ok(s) = core::str::from_utf8(&self.buf[..valid]) {
            let _ = self.out.write_str(s);
        }
        self.buf.copy_within(valid..self.len, 0);
        self.len -= valid;
    }
}

impl Write for Plain<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            // One byte fed may release a whole held sequence (up to 16).
            if self.len > PLAIN_BUF - 20 {
                self.flush();
            }
            let (buf, len) = (&mut self.buf, &mut self.len);
            self.filter.feed(b, |c| {
                buf[*len] = c;
                *len += 1;
            });
        }
        self.flush();
        Ok(())
    }
}

/// Run one command line; with `styled` (the shell's console), errors are
/// printed in the error colour (VGA and serial turn the sequences into
/// colour, `color off` drops them) and every line is kept within the
/// 80-column screen: a longer one goes on below, indented
/// ([`Wrap`](crate::text::Wrap)), so neither the screen nor a terminal
/// breaks it mid-word.
pub fn run_styled(line: &str, out: &mut dyn Write, styled: bool) {
    if styled {
        let mut wrapped = Wrap::new(&mut *out, WRAP_WIDTH);
        run_line(line, &mut wrapped, true);
        let _ = wrapped.finish();
    } else {
        run_line(line, out, false);
    }
}

/// Run one command line (see [`run_styled`]).
fn run_line(line: &str, out: &mut dyn Write, styled: bool) {
    let (err, reset) = if styled { (ERROR, RESET) } else { ("", "") };
    let mut words = [""; 16];
    let mut n = 0;
    for w in line.split_whitespace() {
        if n == words.len() {
            let _ = writeln!(
                out,
                "{err}error: too many arguments (at most {}){reset}",
                words.len() - 1
            );
            return;
        }
        words[n] = w;
        n += 1;
    }
    let Some((name, args)) = words[..n].split_first() else {
        return;
    };
    match find(name) {
        Some(cmd) => {
            if let Err(msg) = (cmd.run)(args, out) {
                let _ = writeln!(out, "{err}error: {msg}{reset}");
                if !cmd.args.is_empty() {
                    let _ = writeln!(out, "usage: {} {}", cmd.name, cmd.args);
                }
            }
        }
        None => {
            let _ = writeln!(
                out,
                "{err}unknown command `{name}`; `help` lists them{reset}"
            );
        }
    }
}

/// One command: its name and arguments, then its help wrapped to fit the
/// 80-column screen under a 6-column indent.
fn explain(cmd: &Command, out: &mut dyn Write) {
    const INDENT: usize = 6;
    const WIDTH: usize = 79;
    let _ = writeln!(out, "{} {}", cmd.name, cmd.args);
    let mut col = 0;
    for word in cmd.help.split(' ') {
        if col > 0 && col + 1 + word.len() > WIDTH {
            let _ = writeln!(out);
            col = 0;
        }
        if col == 0 {
            let _ = write!(out, "{:INDENT$}{word}", "");
            col = INDENT + word.len();
        } else {
            let _ = write!(out, " {word}");
            col += 1 + word.len();
        }
    }
    let _ = writeln!(out);
}

/// `help`: every command with its arguments and one line of help.
fn help(args: &[&str], out: &mut dyn Write) -> Outcome {
    kit::at_most(args, 1)?;
    match args.first() {
        Some(&"all") => {
            for cmd in tables().flatten() {
                explain(cmd, out);
            }
        }
        Some(name) => {
            let cmd = find(name).ok_or_else(|| alloc::format!("no command `{name}`"))?;
            explain(cmd, out);
        }
        None => {
            // One line per layer, so the list fits the 80x25 screen.
            let _ = writeln!(
                out,
                "commands by layer (`help <command>` explains one, `help all` every one):"
            );
            for (layer, cmds) in layers() {
                let _ = write!(out, "  {layer:<11}");
                for cmd in cmds.into_iter().flatten() {
                    let _ = write!(out, " {}", cmd.name);
                }
                let _ = writeln!(out);
            }
            let _ = writeln!(out, "  {:<11} return to hotkey mode (or press Esc)", "exit");
        }
    }
    Ok(())
}
