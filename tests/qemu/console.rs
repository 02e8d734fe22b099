//! The console as a student meets it: input that is never lost, keys that
//! mean the same with Shift or Caps Lock, line editing, Tab completion,
//! escape sequences on serial, scrollback and colour on the VGA screen, and
//! an abuse soak of random keys and bytes.

use crate::support::Machine;

/// The text of one VGA row, trailing blanks removed.
fn row_text(row: &[(char, u8)]) -> String {
    row.iter()
        .map(|&(c, _)| c)
        .collect::<String>()
        .trim_end()
        .to_string()
}

// course: module 03
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn a_2000_byte_serial_burst_is_executed_completely() {
    let mut m = Machine::boot();
    // 700 allocate/free pairs on slot 4 (the playground never fills), then
    // command mode with 45 numbered echoes: 2,000 bytes in one write.
    let mut burst = "4e".repeat(700);
    burst.push(':');
    let mut n = 0;
    while burst.len() < 2000 - "exit\n".len() - "echo burst 00\n".len() {
        burst.push_str(&format!("echo burst {n:02}\n"));
        n += 1;
    }
    burst.push_str("exit\n");
    while burst.len() < 2000 {
        burst.insert(0, '\n'); // Enter in hotkey mode: an empty line
    }
    assert_eq!(burst.len(), 2000);
    m.paste_serial(burst.as_bytes());
    m.expect(&format!("\nburst {:02}\n", n - 1));
    m.expect("hotkey mode: 1-9 alloc");
    let out = m.output();
    assert_eq!(out.matches("slot 4: allocate(").count(), 700, "{out}");
    assert_eq!(out.matches("slot 4: free(").count(), 700, "{out}");
    for i in 0..n {
        assert!(
            out.contains(&format!("\nburst {i:02}\n")),
            "echo {i} missing:\n{out}"
        );
    }
    assert!(!out.contains("were lost"), "{out}");
}
// course: end

// course: module 03
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn a_paste_larger_than_the_queue_is_held_back_not_lost() {
    let mut m = Machine::boot();
    // 10,000 bytes: more than the 4,096-key queue, so COM1 must be paused.
    let burst = "4e".repeat(5000) + ":echo done\n";
    m.paste_serial(burst.as_bytes());
    m.expect("\ndone\n");
    let out = m.output();
    assert_eq!(out.matches("slot 4: allocate(").count(), 5000);
    assert_eq!(out.matches("slot 4: free(").count(), 5000);
    assert!(!out.contains("were lost"));
}
// course: end

// course: module 03
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn escape_sequences_on_serial_are_keys_not_hotkeys() {
    let mut m = Machine::boot();
    // Up (SS3), Delete, Ctrl+Up, Home, PgUp, F5: digits inside them must not
    // allocate; a single hint answers the whole burst.
    m.type_serial("\x1bOA\x1b[3~\x1b[1;5A\x1b[1~\x1b[5~\x1b[15~p");
    let out = m.expect("free blocks of scale A");
    assert!(!out.contains("slot "), "{out}");
    assert_eq!(out.matches("is not a hotkey").count(), 1, "{out}");
    // In command mode they edit: Home, Delete, End.
    m.type_serial(":xecho ab\x1b[H\x1b[3~\x1b[F!\r");
    m.expect("\nab!\n");
}
// course: end

// course: module 03
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn shift_and_caps_lock_leave_hotkeys_alone_via_ps2() {
    let mut m = Machine::boot();
    m.press("shift-p");
    m.expect("1 free blocks of scale A");
    m.press("caps_lock");
    m.type_keys("4p");
    m.expect("slot 4: allocate(1)");
    m.expect("free_block counts:");
    m.press("shift-1");
    m.expect("slot 1: allocate(1)");
    m.press("caps_lock");
    m.type_keys("z");
    m.expect("'z' is not a hotkey: 1-9 a q w e r t y u i p 0, `:` for commands");
}
// course: end

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn line_editing_completion_and_case_via_ps2() {
    let mut m = Machine::boot();
    m.type_keys(":echo ab");
    m.press("left");
    m.type_keys("X\n");
    m.expect("\naXb\n");
    m.type_keys("xecho cd");
    m.press("home");
    m.press("delete");
    m.press("end");
    m.type_keys("e\n");
    m.expect("\ncde\n");
    m.type_keys("upt");
    m.press("tab");
    m.type_keys("\n");
    m.expect("timer ticks at");
    m.type_keys("ECHO Mixed\n");
    m.expect("\nMixed\n");
    assert!(
        m.raw_output().contains("\x1b[92mcairn> \x1b[0m"),
        "a green prompt on serial"
    );
}

// course: module 07
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn vga_scrollback_and_colours() {
    let mut m = Machine::boot();
    m.type_serial(":help all\r");
    m.expect("timed by the PIT");
    m.type_serial("nosuchcommand\r");
    m.expect("`help` lists them");
    let live = m.vga_screen();
    let error_row = live
        .iter()
        .find(|r| row_text(r).starts_with("unknown command"))
        .expect("the error is on screen");
    assert_eq!(error_row[0].1, 0x0C, "errors are bright red on VGA");
    let prompt_row = live
        .iter()
        .rev()
        .find(|r| row_text(r).starts_with("cairn>"))
        .unwrap();
    assert_eq!(prompt_row[0].1, 0x0A, "the prompt is bright green");
    // `help all` is about 90 rows: Shift+PgUp (12 rows a press) reaches its top.
    let mut presses = 0;
    let mut shown: Vec<String> = live.iter().map(|r| row_text(r)).collect();
    loop {
        m.press("shift-pgup");
        presses += 1;
        // The picture moves once the kernel has taken the key.
        let texts = settled(&mut m, &shown);
        if texts.iter().any(|t| t.starts_with("help [command|all]")) {
            break;
        }
        shown = texts.clone();
        assert!(
            presses < 12,
            "the start of `help all` never came back:\n{}",
            texts.join("\n")
        );
    }
    assert!(presses >= 3, "the start had scrolled off the live screen");
    let live: Vec<String> = live.iter().map(|r| row_text(r)).collect();
    let mut again = Vec::new();
    for _ in 0..presses + 3 {
        m.press("shift-pgdn");
        again = settled(&mut m, &shown);
        if again == live {
            break;
        }
        shown = again.clone();
    }
    assert_eq!(again, live, "Shift+PgDn returns to the live screen");
}
// course: end

/// The VGA screen's rows once they differ from `before` (the kernel has
/// taken the key just pressed), or as they are after a second.
fn settled(m: &mut Machine, before: &[String]) -> Vec<String> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let rows: Vec<String> = m.vga_screen().iter().map(|r| row_text(r)).collect();
        if rows != before || std::time::Instant::now() > until {
            return rows;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A small seeded generator (xorshift), so a failing soak can be replayed.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("CAIRN_SOAK_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("console soak: seed {seed} (CAIRN_SOAK_SEED={seed} replays it)");
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Keys the soak presses: every kind the shell handles. Tab is left out (it
/// could complete `re` into `reboot`), as are keys QEMU's monitor keeps.
const SOAK_KEYS: &[&str] = &[
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "g",
    "h",
    "i",
    "j",
    "k",
    "l",
    "m",
    "n",
    "o",
    "p",
    "q",
    "r",
    "s",
    "t",
    "u",
    "v",
    "w",
    "x",
    "y",
    "z",
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "shift-p",
    "shift-a",
    "shift-4",
    "shift-semicolon",
    "semicolon",
    "spc",
    "ret",
    "esc",
    "backspace",
    "delete",
    "left",
    "right",
    "up",
    "down",
    "home",
    "end",
    "pgup",
    "pgdn",
    "shift-pgup",
    "shift-pgdn",
    "caps_lock",
    "ctrl-c",
    "ctrl-l",
    "minus",
    "dot",
    "slash",
    "f1",
    "insert",
    "kp_5",
];

// course: module 04
/// Press `keys` random keys and send `bytes` random serial bytes, then the
/// kernel must still check its heaps and frames clean and answer an echo.
fn soak(keys: usize, bytes: usize) {
    let mut m = Machine::boot_with(crate::support::Boot {
        timeout: std::time::Duration::from_secs(120 + keys as u64 / 10 + bytes as u64 / 100),
        ..Default::default()
    });
    let mut rng = Rng::seeded();
    let start = std::time::Instant::now();
    for _ in 0..keys {
        let key = SOAK_KEYS[rng.below(SOAK_KEYS.len())];
        m.monitor_command(&format!("sendkey {key} 10"));
        // One key at a time, as a fast typist: QEMU's PS/2 buffer holds
        // only a few, and a key it drops never reaches the kernel.
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let mut noise = Vec::with_capacity(bytes);
    while noise.len() < bytes {
        let b = rng.next() as u8;
        if b != b'\t' {
            noise.push(b);
        }
    }
    for chunk in noise.chunks(500) {
        m.paste_serial(chunk);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    eprintln!(
        "console soak: {keys} keys and {bytes} bytes sent in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    // The checks get their own time, however long the sending took.
    m.extend_deadline(std::time::Duration::from_secs(120));
    // Back to a known state: Esc leaves command mode (after the line is
    // quiet), Ctrl-C in case it is still there.
    std::thread::sleep(std::time::Duration::from_millis(500));
    m.type_serial("\x03\x1b");
    std::thread::sleep(std::time::Duration::from_millis(500));
    m.type_serial(":heapcheck\rframes check\recho soak survived\r");
    let out = m.expect("\nsoak survived\n");
    let tail = &out[out.rfind("heapcheck").unwrap_or(0)..];
    assert!(tail.contains("kernel heap"), "{tail}");
    assert!(tail.contains("playground: heap ok"), "{tail}");
    assert!(!tail.contains("error"), "{tail}");
    assert!(!m.output().contains("cairn: halted"), "{}", m.output());
}
// course: end

// course: module 04
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn abuse_soak_of_random_keys_and_bytes() {
    let n = |var: &str, default: usize| {
        std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    soak(n("CAIRN_SOAK_KEYS", 1_000), n("CAIRN_SOAK_BYTES", 1_000));
}
// course: end

// course: module 05
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn a_fatal_fault_in_test_mode_prints_the_true_totals() {
    let mut m = Machine::boot_with(crate::support::Boot {
        cmdline: "test teststop",
        ready: "running in-kernel tests",
        timeout: std::time::Duration::from_secs(240),
        ..Default::default()
    });
    let status = m.wait_exit();
    assert_eq!(status.code(), Some(35), "QEMU leaves with the failure code");
    let out = m.output();
    let passed = out.matches(" ... ok\n").count();
    assert!(passed > 20, "{out}");
    assert!(
        out.contains(
            "test stop_the_kernel_on_purpose ... FAILED: the kernel stopped in it (double fault)"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!("\n{passed} passed, 1 failed\n")),
        "{out}"
    );
}
// course: end
