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

/// What the kernel provides to the shell.
pub trait Host {
    /// Handle `c` pressed in hotkey mode; false when `c` is not a hotkey.
    fn hotkey(&mut self, c: char, out: &mut dyn Write) -> bool;
    /// Run one command line (already trimmed, not empty, not `exit`).
    fn command(&mut self, line: &str, out: &mut dyn Write);
}

/// The shell's state.
pub struct Shell {
    mode: Mode,
    editor: LineEditor,
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
        }
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Handle one key.
    pub fn feed(&mut self, key: Key, host: &mut impl Host, out: &mut dyn Write) {
        match self.mode {
            Mode::Hotkey => match key {
                Key::Char(':') => self.enter_command_mode(out),
                Key::Char(c) => {
                    host.hotkey(c, out);
                }
                Key::Enter => {
                    let _ = out.write_char('\n');
                }
                _ => {}
            },
            Mode::Command => match key {
                Key::Char(c) => {
                    self.editor.insert(c, &mut &mut *out);
                }
                Key::Backspace => self.editor.backspace(&mut &mut *out),
                Key::Up => self.editor.up(&mut &mut *out),
                Key::Down => self.editor.down(&mut &mut *out),
                Key::Escape => {
                    self.editor.clear();
                    self.leave_command_mode(out);
                }
                Key::Ctrl('c') => {
                    self.editor.clear();
                    let _ = write!(out, "^C\n{PROMPT}");
                }
                Key::Ctrl('l') => host.command("clear", out),
                Key::Enter => {
                    let _ = out.write_char('\n');
                    let mut exit = false;
                    self.editor.submit(|line| {
                        let line = line.trim();
                        if line == "exit" {
                            exit = true;
                        } else if !line.is_empty() {
                            host.command(line, out);
                        }
                    });
                    if exit {
                        self.leave_command_mode(out);
                    } else {
                        let _ = out.write_str(PROMPT);
                    }
                }
                _ => {}
            },
        }
    }

    fn enter_command_mode(&mut self, out: &mut dyn Write) {
        self.mode = Mode::Command;
        let _ = write!(
            out,
            "\ncommand mode: `help` lists the commands, `exit` or Esc returns to hotkeys\n{PROMPT}"
        );
    }

    fn leave_command_mode(&mut self, out: &mut dyn Write) {
        self.mode = Mode::Hotkey;
        let _ = writeln!(out, "\n{HOTKEY_HELP}");
    }
}

/// Parse a number the way commands take them: `0x` hex, or decimal
/// (with optional `K`/`M` suffix for KiB/MiB).
pub fn parse_number(s: &str) -> Result<u32, &'static str> {
    let s = s.trim();
    let (digits, scale) = match s.as_bytes().last() {
        Some(b'K' | b'k') if !s.starts_with("0x") => (&s[..s.len() - 1], 1024),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1024 * 1024),
        _ => (s, 1),
    };
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u32::from_str_radix(&hex.replace_underscores(), 16)
    } else {
        digits.parse::<u32>()
    }
    .map_err(|_| "not a number (use decimal, 0x hex, or a K/M suffix)")?;
    value
        .checked_mul(scale)
        .ok_or("number too large for 32 bits")
}

/// `_` separators in hex numbers (`0xC000_0000`) are allowed.
trait ReplaceUnderscores {
    fn replace_underscores(&self) -> HexDigits;
}

/// Up to 8 hex digits without separators.
struct HexDigits {
    buf: [u8; 16],
    len: usize,
}

impl core::ops::Deref for HexDigits {
    type Target = str;
    fn deref(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("!")
    }
}

impl ReplaceUnderscores for str {
    fn replace_underscores(&self) -> HexDigits {
        let mut d = HexDigits {
            buf: [0; 16],
            len: 0,
        };
        for b in self.bytes().filter(|&b| b != b'_') {
            if d.len == d.buf.len() {
                d.buf[0] = b'!'; // too long: make it fail to parse
                break;
            }
            d.buf[d.len] = b;
            d.len += 1;
        }
        d
    }
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
        assert!(out.contains("cairn> help\n[ran help]\ncairn> "));
        feed_str(&mut shell, &mut host, &mut out, "exit\n");
        assert_eq!(shell.mode(), Mode::Hotkey);
        assert!(out.ends_with(&format!("{HOTKEY_HELP}\n")));
        feed_str(&mut shell, &mut host, &mut out, "1:gd\x08dt\n\x1b2");
        assert_eq!(host.commands.last().unwrap(), "gdt");
        assert_eq!(host.hotkeys, vec!['4', '9', 'p', '1', '2']);
        assert_eq!(shell.mode(), Mode::Hotkey);
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

    #[test]
    fn numbers() {
        assert_eq!(parse_number("4096"), Ok(4096));
        assert_eq!(parse_number("0x1000"), Ok(4096));
        assert_eq!(parse_number("0xC000_0000"), Ok(0xC000_0000));
        assert_eq!(parse_number("4K"), Ok(4096));
        assert_eq!(parse_number("2M"), Ok(2 << 20));
        assert!(parse_number("0x1_0000_0000").is_err());
        assert!(parse_number("5000M").is_err());
        assert!(parse_number("twelve").is_err());
        assert!(parse_number("").is_err());
    }
}
