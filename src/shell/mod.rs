//! The shell: hotkey mode (ShompOS-compatible single keys) and command mode
//! (`cairn> ` with line editing and history).
//!
//! ```text
//!            ':'                 Esc or `exit`
//!  hotkey ---------> command  ----------------> hotkey
//!  1-9 a q w e r t y u i p 0      help, gdt, heap, frames, translate, ...
//! ```
//!
//! Pure code: the kernel supplies the hotkeys and the commands through
//! [`Host`]; host tests drive the shell with keys and read what it printed.

pub mod input;
pub mod line;
mod number;
pub mod pager;

pub use number::parse_number;

use crate::term::style;
use core::fmt::Write;
use input::Key;
use line::LineEditor;

/// The prompt of command mode.
pub const PROMPT: &str = "cairn> ";

/// The one-line reminder of the hotkeys (fits the 80-column screen).
pub const HOTKEY_HELP: &str =
    "hotkey mode: 1-9 alloc, a q w e r t y u i free, p lists, 0 div by 0, : commands";

/// Which mode the shell is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Hotkey,
    Command,
}

/// Command names Tab completion considers (the kernel has about 40).
const MAX_COMPLETIONS: usize = 128;

/// How many rows Shift+PgUp / Shift+PgDn scroll the VGA screen.
pub const SCROLL_ROWS: isize = 12;

/// What the kernel provides to the shell.
pub trait Host {
    /// Handle `c` pressed in hotkey mode; false when `c` is not a hotkey.
    fn hotkey(&mut self, c: char, out: &mut dyn Write) -> bool;
    /// Run one command line (already trimmed, not empty, not `exit`; the
    /// command name in lower case).
    fn command(&mut self, line: &str, out: &mut dyn Write);
    /// Call `each` with every command name, for Tab completion (no heap:
    /// the shell keeps what it needs on its stack).
    fn command_names(&self, _each: &mut dyn FnMut(&'static str)) {}
    /// Scroll the VGA screen back (`rows` > 0) or forward.
    fn scroll(&mut self, _rows: isize) {}
}

/// The hotkey a character stands for, whatever Shift or Caps Lock did to
/// it: letters in lower case, the shifted digit row (US layout) as digits.
pub fn hotkey_of(c: char) -> char {
    const SHIFTED_DIGITS: &str = ")!@#$%^&*(";
    match SHIFTED_DIGITS.find(c) {
        Some(d) => (b'0' + d as u8) as char,
        None => c.to_ascii_lowercase(),
    }
}

/// The shell's state.
pub struct Shell {
    mode: Mode,
    editor: LineEditor,
    /// An unknown-hotkey hint was printed in this burst of keys.
    hinted: bool,
    /// The "line is full" notice was printed for this line.
    warned_full: bool,
}

impl Default for Shell {
    fn default() -> Self {
        Self::new()
    }
}

impl Shell {
    /// A shell in hotkey mode.
    pub const fn new() -> Shell {
        Shell {
            mode: Mode::Hotkey,
            editor: LineEditor::new(),
            hinted: false,
            warned_full: false,
        }
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The keyboard has been quiet for a while: the next unknown hotkey
    /// starts a new burst and gets its hint again.
    pub fn idle(&mut self) {
        self.hinted = false;
    }

    /// Handle one key.
    pub fn feed(&mut self, key: Key, host: &mut impl Host, out: &mut dyn Write) {
        match key {
            Key::ScrollUp => return host.scroll(SCROLL_ROWS),
            Key::ScrollDown => return host.scroll(-SCROLL_ROWS),
            _ => {}
        }
        match self.mode {
            Mode::Hotkey => match key {
                Key::Char(':') => self.enter_command_mode(out),
                Key::Char(c) => {
                    if !host.hotkey(hotkey_of(c), out) {
                        self.hint(&key, out);
                    }
                }
                Key::Enter => {
                    let _ = out.write_char('\n');
                }
                Key::Escape => {}
                key => self.hint(&key, out),
            },
            Mode::Command => self.command_key(key, host, out),
        }
    }

    /// One line saying what the hotkeys are, once per burst of unknown keys.
    fn hint(&mut self, key: &Key, out: &mut dyn Write) {
        if core::mem::replace(&mut self.hinted, true) {
            return;
        }
        let _ = match key {
            Key::Char(c) if !c.is_control() => {
                write!(out, "\n{}'{c}' is not a hotkey", style::WARN)
            }
            key => write!(out, "\n{}{key:?} is not a hotkey", style::WARN),
        };
        let _ = writeln!(
            out,
            "{}: 1-9 a q w e r t y u i p 0, `:` for commands{}",
            style::NOTE,
            style::RESET
        );
    }

    fn command_key(&mut self, key: Key, host: &mut impl Host, out: &mut dyn Write) {
        let o = &mut &mut *out;
        match key {
            Key::Char(c) => {
                if !self.editor.insert(c, o) && self.editor.is_full_for(c) {
                    self.line_full(o);
                }
            }
            Key::Backspace => self.editor.backspace(o),
            Key::Delete | Key::Ctrl('d') => self.editor.delete(o),
            Key::Left | Key::Ctrl('b') => self.editor.left(o),
            Key::Right | Key::Ctrl('f') => self.editor.right(o),
            Key::Home | Key::Ctrl('a') => self.editor.home(o),
            Key::End | Key::Ctrl('e') => self.editor.end(o),
            Key::Up => self.editor.up(o),
            Key::Down => self.editor.down(o),
            Key::Tab => {
                let mut names = [""; MAX_COMPLETIONS];
                let mut n = 0;
                host.command_names(&mut |name| {
                    if n < names.len() {
                        names[n] = name;
                        n += 1;
                    }
                });
                self.complete(&names[..n], o)
            }
            Key::Escape => {
                self.editor.clear();
                self.leave_command_mode(out);
            }
            Key::Ctrl('c') => {
                self.editor.clear();
                let _ = writeln!(out, "^C");
                self.prompt(out);
            }
            Key::Ctrl('l') => {
                host.command("clear", out);
                self.prompt(out);
                self.editor.reprint(&mut &mut *out);
            }
            Key::Enter => {
                let _ = out.write_char('\n');
                self.warned_full = false;
                let mut exit = false;
                self.editor.submit(|line| {
                    let mut buf = [0u8; line::MAX_LINE];
                    let line = lower_command_name(line.trim(), &mut buf);
                    if line == "exit" {
                        exit = true;
                    } else if !line.is_empty() {
                        host.command(line, out);
                    }
                });
                if exit {
                    self.leave_command_mode(out);
                } else {
                    self.prompt(out);
                }
            }
            _ => {}
        }
        if self.editor.text().len() + 4 < line::MAX_LINE {
            self.warned_full = false;
        }
    }

    /// The line is at its limit: beep, and say so once (then show the line again).
    fn line_full(&mut self, mut out: &mut dyn Write) {
        let _ = out.write_char('\x07');
        if core::mem::replace(&mut self.warned_full, true) {
            return;
        }
        let rest = &self.editor.text()[self.editor.cursor()..];
        let _ = out.write_str(rest);
        let _ = writeln!(
            out,
            "\n{}the line is full ({} characters): Enter runs it, Backspace shortens it{}",
            style::WARN,
            line::MAX_LINE,
            style::RESET
        );
        self.prompt(out);
        self.editor.reprint(&mut out);
    }

    /// Tab: complete the command name being typed (the first word, cursor
    /// at its end). One candidate: completed with a space; several: as far
    /// as they agree, or listed when they agree no further; none: a beep.
    fn complete(&mut self, names: &[&str], mut out: &mut dyn Write) {
        let text = self.editor.text();
        if text.contains(' ') || self.editor.cursor() != text.len() {
            let _ = out.write_char('\x07');
            return;
        }
        let typed = text.trim_start();
        let matches = || {
            names.iter().filter(move |n| {
                n.len() >= typed.len() && n[..typed.len()].eq_ignore_ascii_case(typed)
            })
        };
        let Some(first) = matches().next() else {
            let _ = out.write_char('\x07');
            return;
        };
        let common = matches().fold(first.len(), |len, n| {
            first
                .bytes()
                .zip(n.bytes())
                .take(len)
                .take_while(|(a, b)| a == b)
                .count()
        });
        let mut owned = [0u8; line::MAX_LINE];
        let rest_len = common - typed.len();
        owned[..rest_len].copy_from_slice(&first.as_bytes()[typed.len()..common]);
        let rest = core::str::from_utf8(&owned[..rest_len]).unwrap_or("");
        if matches().count() == 1 {
            self.editor.insert_str(rest, &mut out);
            self.editor.insert(' ', &mut out);
        } else if !rest.is_empty() {
            self.editor.insert_str(rest, &mut out);
        } else {
            let _ = out.write_char('\n');
            let mut col = 0;
            for n in matches() {
                if col + n.len() + 2 > 80 {
                    let _ = out.write_char('\n');
                    col = 0;
                }
                let _ = write!(out, "{n}  ");
                col += n.len() + 2;
            }
            let _ = out.write_char('\n');
            self.prompt(out);
            self.editor.reprint(&mut out);
        }
    }

    fn prompt(&self, out: &mut dyn Write) {
        let _ = write!(out, "{}{PROMPT}{}", style::PROMPT, style::RESET);
    }

    fn enter_command_mode(&mut self, out: &mut dyn Write) {
        self.mode = Mode::Command;
        let _ = writeln!(
            out,
            "\ncommand mode: `help` lists commands, Tab completes, `exit` or Esc: hotkeys"
        );
        self.prompt(out);
    }

    fn leave_command_mode(&mut self, out: &mut dyn Write) {
        self.mode = Mode::Hotkey;
        let _ = writeln!(out, "\n{HOTKEY_HELP}");
    }
}

/// `line` with its first word (the command name) in lower case, written
/// into `buf`: commands are case-insensitive, their arguments are not.
fn lower_command_name<'b>(line: &str, buf: &'b mut [u8; line::MAX_LINE]) -> &'b str {
    let bytes = line.as_bytes();
    let n = bytes.len().min(buf.len());
    buf[..n].copy_from_slice(&bytes[..n]);
    let name_len = line.find(char::is_whitespace).unwrap_or(n);
    buf[..name_len].make_ascii_lowercase();
    core::str::from_utf8(&buf[..n]).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct FakeHost {
        hotkeys: Vec<char>,
        commands: Vec<String>,
    }

    impl Host for FakeHost {
        fn hotkey(&mut self, c: char, out: &mut dyn Write) -> bool {
            self.hotkeys.push(c);
            let _ = writeln!(out, "[hotkey {c}]");
            c.is_ascii_digit()
        }
        fn command(&mut self, line: &str, out: &mut dyn Write) {
            self.commands.push(line.to_string());
            let _ = writeln!(out, "[ran {line}]");
        }
    }

    fn feed_str(shell: &mut Shell, host: &mut FakeHost, out: &mut String, s: &str) {
        for c in s.chars() {
            let key = match c {
                '\n' => Key::Enter,
                '\x1b' => Key::Escape,
                '\x08' => Key::Backspace,
                c => Key::Char(c),
            };
            shell.feed(key, host, out);
        }
    }

    #[test]
    fn hotkeys_then_commands_then_back() {
        let mut shell = Shell::new();
        let mut host = FakeHost::default();
        let mut out = String::new();
        feed_str(&mut shell, &mut host, &mut out, "49p");
        assert_eq!(host.hotkeys, vec!['4', '9', 'p']);
        feed_str(&mut shell, &mut host, &mut out, ":help\necho  hi \n\n");
        assert_eq!(shell.mode(), Mode::Command);
        assert_eq!(host.commands, vec!["help", "echo  hi"]);
        let out = crate::testutil::strip_ansi(&out);
        assert!(out.contains("cairn> help\n[ran help]\ncairn> "));
        assert!(out.lines().all(|l| l.len() <= 80), "{out}");
        let mut out = out;
        feed_str(&mut shell, &mut host, &mut out, "exit\n");
        assert_eq!(shell.mode(), Mode::Hotkey);
        assert!(out.ends_with(&format!("{HOTKEY_HELP}\n")));
        feed_str(&mut shell, &mut host, &mut out, "1:gd\x08dt\n\x1b2");
        assert_eq!(host.commands.last().unwrap(), "gdt");
        assert_eq!(host.hotkeys, vec!['4', '9', 'p', '1', '2']);
        assert_eq!(shell.mode(), Mode::Hotkey);
    }

    impl FakeHost {
        fn names() -> &'static [&'static str] {
            &["heap", "heapmap", "heapcheck", "help", "halt", "uptime"]
        }
    }

    struct NamedHost(FakeHost);

    impl Host for NamedHost {
        fn hotkey(&mut self, c: char, out: &mut dyn Write) -> bool {
            self.0.hotkey(c, out)
        }
        fn command(&mut self, line: &str, out: &mut dyn Write) {
            self.0.command(line, out)
        }
        fn command_names(&self, each: &mut dyn FnMut(&'static str)) {
            FakeHost::names().iter().for_each(|n| each(n));
        }
    }

    #[test]
    fn shift_and_caps_lock_do_not_change_hotkeys() {
        let mut shell = Shell::new();
        let mut host = FakeHost::default();
        let mut out = String::new();
        feed_str(&mut shell, &mut host, &mut out, "P!)Q");
        assert_eq!(host.hotkeys, vec!['p', '1', '0', 'q']);
    }

    #[test]
    fn unknown_hotkeys_get_one_hint_per_burst() {
        let mut shell = Shell::new();
        let mut host = FakeHost::default();
        let mut out = String::new();
        feed_str(&mut shell, &mut host, &mut out, "zz");
        shell.feed(Key::Left, &mut host, &mut out);
        assert_eq!(out.matches("is not a hotkey").count(), 1);
        assert!(out.contains("'z' is not a hotkey"));
        shell.idle();
        shell.feed(Key::Up, &mut host, &mut out);
        let plain = crate::testutil::strip_ansi(&out);
        assert_eq!(plain.matches("is not a hotkey").count(), 2);
        assert!(plain.contains("Up is not a hotkey: 1-9"));
        assert!(plain.lines().all(|l| l.len() <= 80));
    }

    #[test]
    fn commands_are_case_insensitive_but_arguments_are_not() {
        let mut shell = Shell::new();
        let mut host = FakeHost::default();
        let mut out = String::new();
        feed_str(
            &mut shell,
            &mut host,
            &mut out,
            ":ECHO Hi There\nHeLp\nEXIT\n",
        );
        assert_eq!(host.commands, vec!["echo Hi There", "help"]);
        assert_eq!(shell.mode(), Mode::Hotkey);
    }

    #[test]
    fn arrows_edit_the_line() {
        let mut shell = Shell::new();
        let mut host = FakeHost::default();
        let mut out = String::new();
        feed_str(&mut shell, &mut host, &mut out, ":echo ab");
        shell.feed(Key::Left, &mut host, &mut out);
        feed_str(&mut shell, &mut host, &mut out, "X");
        shell.feed(Key::Home, &mut host, &mut out);
        shell.feed(Key::Delete, &mut host, &mut out);
        feed_str(&mut shell, &mut host, &mut out, "E");
        shell.feed(Key::End, &mut host, &mut out);
        feed_str(&mut shell, &mut host, &mut out, "!\n");
        assert_eq!(host.commands, vec!["echo aXb!"]);
    }

    #[test]
    fn tab_completes_command_names() {
        let mut shell = Shell::new();
        let mut host = NamedHost(FakeHost::default());
        let mut out = String::new();
        let feed = |shell: &mut Shell, host: &mut NamedHost, out: &mut String, keys: &[Key]| {
            for &k in keys {
                shell.feed(k, host, out);
            }
        };
        let c = Key::Char;
        feed(
            &mut shell,
            &mut host,
            &mut out,
            &[c(':'), c('u'), Key::Tab, Key::Enter],
        );
        feed(&mut shell, &mut host, &mut out, &[c('H'), c('e'), Key::Tab]);
        assert!(out.contains("heap  heapmap  heapcheck  help  \n"), "{out}");
        out.clear();
        feed(&mut shell, &mut host, &mut out, &[c('a'), Key::Tab]);
        assert_eq!(out, "ap", "Tab extends as far as the candidates agree");
        feed(
            &mut shell,
            &mut host,
            &mut out,
            &[c('c'), Key::Tab, Key::Enter],
        );
        feed(
            &mut shell,
            &mut host,
            &mut out,
            &[c('x'), Key::Tab, Key::Enter],
        );
        assert_eq!(host.0.commands, vec!["uptime", "heapcheck", "x"]);
    }

    #[test]
    fn a_full_line_beeps_and_says_so_once() {
        let mut shell = Shell::new();
        let mut host = FakeHost::default();
        let mut out = String::new();
        feed_str(&mut shell, &mut host, &mut out, ":");
        feed_str(
            &mut shell,
            &mut host,
            &mut out,
            &"e".repeat(line::MAX_LINE + 3),
        );
        assert_eq!(out.matches('\x07').count(), 3);
        assert_eq!(out.matches("the line is full").count(), 1);
        feed_str(&mut shell, &mut host, &mut out, "\n");
        assert_eq!(host.commands, vec!["e".repeat(line::MAX_LINE)]);
    }

    #[test]
    fn history_recalls_a_command() {
        let mut shell = Shell::new();
        let mut host = FakeHost::default();
        let mut out = String::new();
        feed_str(&mut shell, &mut host, &mut out, ":uptime\n");
        shell.feed(Key::Up, &mut host, &mut out);
        shell.feed(Key::Enter, &mut host, &mut out);
        assert_eq!(host.commands, vec!["uptime", "uptime"]);
    }
}
