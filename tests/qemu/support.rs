//! A booted Cairn under QEMU, driven like a person would: keys through the
//! QEMU monitor's `sendkey` (the real PS/2 path), bytes through the serial
//! line, and everything read back from the serial log.
//!
//! Every machine has a deadline and is killed when dropped: no test can hang.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../common/ansi.rs"]
mod ansi;
pub use ansi::strip_ansi;

/// The kernel ELF the ISOs are made from (`make iso` puts it there).
fn kernel_elf() -> PathBuf {
    let iso = std::env::var("CAIRN_ISO")
        .expect("CAIRN_ISO is not set: run these tests with `make test-qemu`");
    let dir = Path::new(&iso)
        .parent()
        .expect("CAIRN_ISO has a directory")
        .to_path_buf();
    let elf = dir.join("iso/boot/cairn.elf");
    assert!(
        elf.exists(),
        "{} is missing: run `make iso` first",
        elf.display()
    );
    elf
}

/// Time between two keys pressed through `sendkey` (held 20 ms each): long
/// enough that QEMU has sent one key's releases before the next key's
/// presses, even on a busy machine (a Shift released late would change the
/// next key).
const KEY_GAP: Duration = Duration::from_millis(80);

/// What the kernel prints when it stops for good: a panic, or `fatal`
/// (`kernel::halt`) after a fault it cannot survive. Nothing comes after it.
const STOPPED: [&str; 2] = ["KERNEL PANIC", "cairn: halted:"];

/// How long the serial line must stay quiet after a [`STOPPED`] line before
/// a wait gives up (the rest of the report may still be on its way).
const STOPPED_GRACE: Duration = Duration::from_secs(2);

/// One QEMU running Cairn.
pub struct Machine {
    child: Child,
    dir: PathBuf,
    monitor: UnixStream,
    serial: UnixStream,
    /// Everything read from the serial line, filled by a reader thread (the
    /// line must be drained, or the guest's UART stalls).
    received: Arc<Mutex<Vec<u8>>>,
    /// How far `expect` has read the log.
    cursor: usize,
    deadline: Instant,
}

/// Boot options.
pub struct Boot<'a> {
    pub cmdline: &'a str,
    pub memory: &'a str,
    pub timeout: Duration,
    /// QEMU's gdb stub on a Unix socket in the machine's directory.
    pub gdb: bool,
    /// What boot_with waits for.
    pub ready: &'a str,
    /// More QEMU arguments; `{dir}` stands for the machine's directory
    /// (see [`Machine::file`]).
    pub qemu_args: &'a [&'a str],
    /// Boot the ISO `make iso` built (`CAIRN_ISO`) as it is, with its own
    /// GRUB menu and entries, instead of one made with `cmdline`.
    pub iso_as_built: bool,
}

impl Default for Boot<'_> {
    fn default() -> Self {
        Boot {
            cmdline: "",
            memory: "128M",
            timeout: Duration::from_secs(90),
            gdb: false,
            ready: "cairn: ready",
            qemu_args: &[],
            iso_as_built: false,
        }
    }
}

impl Machine {
    /// Boot with the default options (128 MiB, empty command line).
    pub fn boot() -> Machine {
        Machine::boot_with(Boot::default())
    }

    /// Make an ISO whose single GRUB entry passes `cmdline` (or take the
    /// one `make iso` built, `iso_as_built`), boot it headless, and wait for
    /// `ready` (`cairn: ready` by default; `""` waits for nothing).
    pub fn boot_with(opts: Boot) -> Machine {
        let dir =
            std::env::temp_dir().join(format!("cairn-qemu-{}-{}", std::process::id(), unique()));
        let iso = if opts.iso_as_built {
            std::fs::create_dir_all(&dir).unwrap();
            PathBuf::from(
                std::env::var("CAIRN_ISO")
                    .expect("CAIRN_ISO is not set: run these tests with `make test-qemu`"),
            )
        } else {
            make_iso(&dir, opts.cmdline)
        };

        let monitor_path = dir.join("monitor.sock");
        let serial_path = dir.join("serial.sock");
        let gdb_args = if opts.gdb {
            vec![
                "-gdb".to_string(),
                format!("unix:{},server=on,wait=off", dir.join("gdb.sock").display()),
            ]
        } else {
            vec![]
        };
        let extra: Vec<String> = opts
            .qemu_args
            .iter()
            .map(|a| a.replace("{dir}", &dir.display().to_string()))
            .collect();
        let child = Command::new("qemu-system-i386")
            .args(&gdb_args)
            .args(&extra)
            .args(["-m", opts.memory, "-no-reboot", "-display", "none"])
            .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
            .arg("-cdrom")
            .arg(&iso)
            .arg("-chardev")
            .arg(format!(
                "socket,id=ser0,path={},server=on,wait=off",
                serial_path.display()
            ))
            .args(["-serial", "chardev:ser0"])
            .arg("-monitor")
            .arg(format!("unix:{},server,nowait", monitor_path.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("qemu-system-i386 starts (run `make deps`)");
        let deadline = Instant::now() + opts.timeout;
        let monitor = connect(&monitor_path, deadline);
        let serial = connect(&serial_path, deadline);
        monitor
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut reader = serial.try_clone().unwrap();
        let sink = Arc::clone(&received);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut m = Machine {
            child,
            dir,
            monitor,
            serial,
            received,
            cursor: 0,
            deadline,
        };
        m.monitor_command("info status");
        m.expect(opts.ready);
        m
    }

    /// Everything the serial line has carried so far, as a reader sees it:
    /// without carriage returns and without the colour and cursor escape
    /// sequences (`ESC [ ... final`).
    pub fn output(&self) -> String {
        strip_ansi(&String::from_utf8_lossy(&self.received.lock().unwrap())).replace('\r', "")
    }

    /// Everything the serial line has carried, escape sequences included.
    pub fn raw_output(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).replace('\r', "")
    }

    /// Wait until `text` appears after what earlier `expect`s consumed;
    /// returns the output up to and including it. Fails the test at the
    /// deadline. The console keeps lines within 80 columns, so a run of
    /// spaces in `text` also matches a line break there (see [`find_wrapped`]).
    /// A kernel that has stopped (panic, `cairn: halted`) fails the test as
    /// soon as its report is complete: nothing more can come.
    pub fn expect(&mut self, text: &str) -> String {
        let mut quiet = Quiet::default();
        loop {
            let out = self.output();
            if let Some((pos, len)) = find_wrapped(&out[self.cursor.min(out.len())..], text) {
                let start = self.cursor;
                self.cursor += pos + len;
                return out[start..self.cursor].to_string();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "QEMU exited ({status}) before `{text}` appeared; output:\n{}",
                    out
                );
            }
            if quiet.stopped(&out) {
                panic!("the kernel stopped before `{text}` appeared; output:\n{out}");
            }
            if Instant::now() > self.deadline {
                panic!("timed out waiting for `{text}`; output:\n{}", out);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until the output after what earlier calls consumed satisfies
    /// `done` and the line has then been quiet for `quiet`, or until it has
    /// been quiet for `give_up` whatever it holds (a command that never
    /// prompts again, such as `halt`); consume it and return it.
    /// Fails the test at the deadline. (The doccheck replays use it.)
    #[allow(dead_code)]
    pub fn take_when(
        &mut self,
        quiet: Duration,
        give_up: Duration,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let mut seen = usize::MAX;
        let mut changed = Instant::now();
        loop {
            let out = self.output();
            if out.len() != seen {
                seen = out.len();
                changed = Instant::now();
            }
            let tail = &out[self.cursor.min(out.len())..];
            let idle = changed.elapsed();
            let exited = matches!(self.child.try_wait(), Ok(Some(_)))
                || (idle >= STOPPED_GRACE && STOPPED.iter().any(|s| out.contains(s)));
            if (done(tail) && idle >= quiet) || idle >= give_up || exited {
                let taken = tail.to_string();
                self.cursor = out.len();
                return taken;
            }
            if Instant::now() > self.deadline {
                panic!("timed out; output after the last step:\n{tail}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Send one QEMU monitor command and return its answer.
    pub fn monitor_command(&mut self, cmd: &str) -> String {
        let mut buf = [0u8; 4096];
        // Drop what is left of earlier answers without waiting for more
        // (a blocking read here would cost its whole timeout every time).
        self.monitor.set_nonblocking(true).unwrap();
        while self.monitor.read(&mut buf).map(|n| n > 0).unwrap_or(false) {}
        self.monitor.set_nonblocking(false).unwrap();
        self.monitor
            .write_all(format!("{cmd}\n").as_bytes())
            .unwrap();
        // The answer is what follows the monitor's echo of the whole line
        // (`{cmd}`, erase to end of line, CR LF) up to the next prompt. A
        // prompt before that echo belongs to an earlier command whose
        // answer came late (a loaded machine): waiting for any prompt
        // returned such a tail as this command's answer, and every later
        // command then read the tail of the one before.
        let echo = format!("{cmd}\x1b[K\r\n");
        let mut raw = String::new();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            match self.monitor.read(&mut buf) {
                Ok(0) => break, // the machine has gone: no answer will come
                Ok(n) => raw.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(_) => continue, // the read timed out: ask again
            }
            if let Some(start) = raw.rfind(&echo).map(|i| i + echo.len())
                && let Some(end) = raw[start..].find("(qemu)")
            {
                return raw[start..start + end].to_string();
            }
        }
        raw
    }

    /// Press keys on the PS/2 keyboard through the monitor's `sendkey`.
    /// Text is typed character by character; `\n` is Enter, `\x1b` Escape.
    pub fn type_keys(&mut self, text: &str) {
        for c in text.chars() {
            let key = qcode(c);
            self.monitor_command(&format!("sendkey {key} 20"));
            std::thread::sleep(KEY_GAP);
        }
    }

    /// A file in the machine's directory (`{dir}` in [`Boot::qemu_args`]).
    #[allow(dead_code)]
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The gdb stub's socket (booted with `gdb: true`).
    pub fn gdb_socket(&self) -> PathBuf {
        self.dir.join("gdb.sock")
    }

    /// Press one key given by its QEMU name (`shift-pgup`, `caps_lock`, `left`).
    pub fn press(&mut self, qcode: &str) {
        self.monitor_command(&format!("sendkey {qcode} 20"));
        std::thread::sleep(KEY_GAP);
    }

    /// Send bytes on the serial line all at once (a paste).
    pub fn paste_serial(&mut self, bytes: &[u8]) {
        self.serial.write_all(bytes).unwrap();
    }

    /// The text of the VGA screen as it shows now, row by row, with each
    /// cell's attribute byte: read from video memory through the monitor.
    pub fn vga_screen(&mut self) -> Vec<Vec<(char, u8)>> {
        // An answer may still hold the tail of an earlier command's (the
        // monitor's first prompt comes before the answer to the first
        // command): ask again until one answer is the whole screen.
        let mut answer = String::new();
        let mut cells: Vec<u16> = Vec::new();
        for _ in 0..10 {
            answer = self.monitor_command("xp /2000hx 0xb8000");
            cells = answer
                .lines()
                .filter_map(|l| l.split_once(": "))
                .flat_map(|(_, words)| {
                    words
                        .split_whitespace()
                        .filter_map(|w| u16::from_str_radix(w.trim_start_matches("0x"), 16).ok())
                        .collect::<Vec<_>>()
                })
                .collect();
            if cells.len() == 2000 {
                break;
            }
        }
        assert_eq!(cells.len(), 2000, "80x25 cells from the monitor: {answer}");
        cells
            .chunks(80)
            .map(|row| {
                row.iter()
                    .map(|&c| ((c & 0xFF) as u8 as char, (c >> 8) as u8))
                    .collect()
            })
            .collect()
    }

    /// Type bytes on the serial line.
    pub fn type_serial(&mut self, text: &str) {
        for b in text.bytes() {
            self.serial.write_all(&[b]).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Give the machine `more` time from now (for a test whose first part,
    /// like the soak's thousands of keys, takes longer than it can know).
    #[allow(dead_code)]
    pub fn extend_deadline(&mut self, more: Duration) {
        self.deadline = self.deadline.max(Instant::now() + more);
    }

    /// Fail the test, with `what` it was waiting for, once the machine's
    /// deadline has passed (for a loop that polls something else than the
    /// serial line, such as the screen).
    #[allow(dead_code)]
    pub fn check_deadline(&self, what: &str) {
        assert!(
            Instant::now() < self.deadline,
            "timed out waiting for {what}; serial output:\n{}",
            self.output()
        );
    }

    /// Wait for QEMU to exit by itself (after `halt`); its exit status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < self.deadline,
                "QEMU did not exit; output:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- serial log of the failed machine ---\n{}",
                self.output()
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Write, in `dir`, an ISO whose single GRUB entry boots the kernel of
/// `make iso` with `cmdline` (and the user programs beside it); its path.
fn make_iso(dir: &Path, cmdline: &str) -> PathBuf {
    let elf = kernel_elf();
    std::fs::create_dir_all(dir.join("iso/boot/grub")).unwrap();
    std::fs::copy(&elf, dir.join("iso/boot/cairn.elf")).unwrap();
    let modules = copy_programs(&elf, &dir.join("iso/boot"));
    std::fs::write(
        dir.join("iso/boot/grub/grub.cfg"),
        format!("set timeout=0\nmenuentry \"Cairn\" {{\n    multiboot2 /boot/cairn.elf {}\n{modules}    boot\n}}\n", cmdline),
    )
    .unwrap();
    let iso = dir.join("cairn.iso");
    let status = Command::new("grub-mkrescue")
        .arg("-o")
        .arg(&iso)
        .arg(dir.join("iso"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("grub-mkrescue runs");
    assert!(status.success(), "grub-mkrescue failed");
    iso
}

/// Copy the user programs `make iso` put beside the kernel (boot/progs/)
/// into the ISO tree at `boot`; the `module2` lines that load them.
fn copy_programs(elf: &Path, boot: &Path) -> String {
    let progs = elf.parent().expect("the kernel has a folder").join("progs");
    let mut lines = String::new();
    let Ok(entries) = std::fs::read_dir(&progs) else {
        return lines;
    };
    std::fs::create_dir_all(boot.join("progs")).unwrap();
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        std::fs::copy(progs.join(&name), boot.join("progs").join(&name)).unwrap();
        lines += &format!("    module2 /boot/progs/{name} {name}\n");
    }
    lines
}

fn connect(path: &Path, deadline: Instant) -> UnixStream {
    loop {
        if let Ok(s) = UnixStream::connect(path) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "QEMU did not open {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Where `text` first occurs in `hay`, as (start, length in `hay`): as it
/// is, or broken over lines the way the console wraps a line wider than
/// the screen (a run of spaces in `text` stands for a newline and the
/// continuation's indentation).
pub fn find_wrapped(hay: &str, text: &str) -> Option<(usize, usize)> {
    if let Some(pos) = hay.find(text) {
        return Some((pos, text.len()));
    }
    let (h, t) = (hay.as_bytes(), text.as_bytes());
    let matches_at = |start: usize| -> Option<usize> {
        let (mut i, mut j) = (start, 0);
        while j < t.len() {
            if t[j] == b' ' {
                let run = t[j..].iter().take_while(|&&b| b == b' ').count();
                if h[i..].starts_with(&t[j..j + run]) {
                    i += run;
                } else if h.get(i) == Some(&b'\n') {
                    let indent = h[i + 1..].iter().take_while(|&&b| b == b' ').count();
                    if indent == 0 {
                        return None;
                    }
                    i += 1 + indent;
                } else {
                    return None;
                }
                j += run;
            } else if h.get(i) == Some(&t[j]) {
                i += 1;
                j += 1;
            } else {
                return None;
            }
        }
        Some(i - start)
    };
    (0..h.len())
        .filter(|&s| hay.is_char_boundary(s) && h[s] == t[0])
        .find_map(|s| matches_at(s).map(|len| (s, len)))
}

/// `s` with every run of whitespace made one space: the console's
/// wrapping undone, for `contains` checks of sentences that a line break
/// may cut.
#[allow(dead_code)]
pub fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The QEMU key name (`qcode`) that types `c` on a US keyboard.
fn qcode(c: char) -> String {
    let named = match c {
        '\n' => "ret",
        '\x1b' => "esc",
        '\x08' => "backspace",
        ' ' => "spc",
        ':' => "shift-semicolon",
        ';' => "semicolon",
        '-' => "minus",
        '_' => "shift-minus",
        '=' => "equal",
        '.' => "dot",
        ',' => "comma",
        '/' => "slash",
        '<' => "shift-comma",
        '>' => "shift-dot",
        '|' => "shift-backslash",
        _ => "",
    };
    if !named.is_empty() {
        return named.to_string();
    }
    if c.is_ascii_uppercase() {
        return format!("shift-{}", c.to_ascii_lowercase());
    }
    assert!(c.is_ascii_alphanumeric(), "no key for {c:?}");
    c.to_string()
}

/// Tells when the kernel has stopped for good: a [`STOPPED`] line is on the
/// serial line and nothing has come for [`STOPPED_GRACE`].
#[derive(Default)]
struct Quiet {
    seen: usize,
    since: Option<Instant>,
}

impl Quiet {
    fn stopped(&mut self, out: &str) -> bool {
        if out.len() != self.seen || self.since.is_none() {
            self.seen = out.len();
            self.since = Some(Instant::now());
            return false;
        }
        self.since.is_some_and(|t| t.elapsed() >= STOPPED_GRACE)
            && STOPPED.iter().any(|s| out.contains(s))
    }
}
