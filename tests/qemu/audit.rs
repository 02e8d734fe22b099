//! The console's two promises kept for every command, checked as a whole
//! so a new command or message cannot slip past them:
//!
//! - every refusal names its cause, in the words of the layer that refused
//!   (a catalogue of bad inputs, each with the words its answer must hold),
//!   in the error colour, and never as a bare "invalid";
//! - every command `help` lists, run with typical arguments, prints no line
//!   wider than the 80-column screen.
//!
//! `CAIRN_AUDIT_SHOW=1` prints every answer (with `--nocapture`).

use crate::support::{Machine, flat, strip_ansi};

const PROMPT: &str = "cairn> ";

/// The error colour (`term::style::ERROR`) as it reaches the serial line.
const RED: &str = "\x1b[91m";
/// The warning colour (`term::style::WARN`).
const YELLOW: &str = "\x1b[93m";

/// Run one command line; its answer with the escape sequences kept.
fn raw_command(m: &mut Machine, line: &str) -> String {
    let start = m.raw_output().len();
    m.type_serial(&format!("{line}\r"));
    m.expect(PROMPT);
    let raw = m.raw_output();
    let answer = &raw[start.min(raw.len())..];
    answer
        .rfind(PROMPT)
        .map_or(answer, |at| &answer[..at])
        .to_string()
}

/// Bad input, one per line, and the words its answer must hold: the cause
/// from the layer that refused. Each answer is also an `error:` line in the
/// error colour (or, for a name the shell does not know, `unknown command`).
const CATALOGUE: &[(&str, &[&str])] = &[
    // Numbers: not one at all, or one too large for 32 bits.
    ("alloc x", &["`x`: not a number"]),
    ("alloc -1", &["`-1`: not a number"]),
    ("alloc 99999999999", &["too large for 32 bits"]),
    ("segdemo 99999999999", &["too large for 32 bits"]),
    ("fault pf x", &["`x`: not a number"]),
    ("falloc x", &["count `x`: not a number"]),
    (
        "frames draw 0x100000000",
        &["from `0x100000000`", "too large"],
    ),
    // The heap: the size limit, its largest block, alignment, free.
    ("alloc 0", &["at least 1 byte"]),
    (
        "alloc 4294967295",
        &["past the size limit of an allocation"],
    ),
    (
        "alloc 999999999",
        &["do not fit in the largest block (scale 1B"],
    ),
    ("alloc 16 3", &["alignment 3: a power of two"]),
    ("free", &["which address?"]),
    ("free 0", &["outside the heap"]),
    ("free 0xF0130010", &["is not allocated"]),
    ("heapmap foo", &["no heap `foo`"]),
    ("playground 99", &["out of range 5..=16"]),
    ("playground x", &["not a number"]),
    // Frames: counts, alignment, what a frame is.
    ("falloc 0", &["at least 1"]),
    ("falloc 999999", &["999999 frames asked, only", "free"]),
    ("falloc 1 3", &["align 3 is not a power of two"]),
    ("ffree 0x1001", &["not the start of a frame"]),
    ("ffree 0x100000", &["reserved: kernel image"]),
    ("ffree 0xB8000", &["reserved: low memory"]),
    ("ffree 0xFFFFF000", &["not managed"]),
    ("ffree 0x7000000", &["already free (double free)"]),
    ("frames x", &["unknown option `x` (dump, check or draw)"]),
    ("frames draw 0 1 99", &["order 99: the orders are 0..=10"]),
    ("frames draw 0 0", &["do not fit: 1..=64 columns"]),
    ("frames draw 0xFFFFF 2", &["pass 4 GiB"]),
    // Paging: alignment, the regions the kernel keeps, what is not mapped.
    ("map 0x1001", &["not page aligned"]),
    ("map 0xC0000000", &["kernel linear region"]),
    ("map 0xF0000000", &["kernel heap region"]),
    ("map 0xFFC00000", &["recursive map region"]),
    ("map 0x400000 0x7000000", &["is free in the PMM"]),
    ("unmap 0", &["null guard region"]),
    ("unmap 0x400000", &["not mapped"]),
    ("translate", &["which address?"]),
    ("translate 0x1 pid=x", &["`pid=x`: not a pid"]),
    ("translate 0x1 pid=99", &["no live process 99"]),
    ("pagedir pid=1 pid=2", &["unexpected argument `pid=2`"]),
    ("vmregions pid=7", &["no live process 7"]),
    // The allocator family.
    ("channel x", &["unknown channel action `x`"]),
    ("channel on x", &["message size `x`: not a number"]),
    ("channel on 3", &["message size `3`: give 16 to 512 bytes"]),
    ("channel read 0", &["read at least 1"]),
    ("channel off", &["already off"]),
    ("channel fill", &["the channel is off"]),
    ("bench x", &["`x`: not a number"]),
    ("bench 0", &["0 operations: out of range"]),
    // The foundation and the console.
    ("fault", &["which fault?"]),
    ("fault x", &["unknown fault kind `x`"]),
    ("help x", &["no command `x`"]),
    ("color x", &["`x`: color takes on or off"]),
    ("color on off", &["unexpected argument `off`"]),
    // User space.
    ("run", &["name a program"]),
    ("run nosuch", &["nosuch: no such program"]),
    ("kill", &["name one pid"]),
    ("kill x", &["`x` is not a pid"]),
    ("kill 99", &["no live process 99"]),
    ("kill 1 2", &["unexpected argument `2`"]),
    ("ps x", &["unexpected argument `x`"]),
    ("progs x", &["unexpected argument `x`"]),
    // Too many words, and one the shell does not know.
    (
        "echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
        &["too many arguments (at most 15)"],
    ),
    ("nosuchcommand", &["unknown command `nosuchcommand`"]),
];

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn every_refusal_names_its_cause_in_red() {
    let mut m = Machine::boot();
    m.type_serial(":");
    m.expect(PROMPT);
    let mut wrong = Vec::new();
    for &(line, words) in CATALOGUE {
        let raw = raw_command(&mut m, line);
        let text = strip_ansi(&raw).replace('\r', "");
        if std::env::var_os("CAIRN_AUDIT_SHOW").is_some() {
            eprintln!("{text}");
        }
        // The answer, as one line (a long one is wrapped to 80 columns).
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let missing: Vec<&&str> = words.iter().filter(|w| !flat.contains(*w)).collect();
        let refused = flat.contains("error: ") || flat.contains("unknown command");
        let red = raw.contains(&format!("{RED}error: ")) || raw.contains(&format!("{RED}unknown"));
        if !missing.is_empty() || !refused || !red || flat.contains("invalid") {
            wrong.push(format!(
                "`{line}`: missing {missing:?}, refused {refused}, red {red}:\n{text}"
            ));
        }
    }
    // The hotkeys: an empty slot is a warning, a full playground an error.
    m.type_serial("exit\r");
    m.expect("hotkey mode");
    m.type_serial("a");
    m.expect("slot 1 is empty");
    m.type_serial("99999");
    m.expect("Out of memory!");
    let raw = m.raw_output();
    if !raw.contains(&format!("{YELLOW}slot 1 is empty")) {
        wrong.push("`a` on an empty slot: not in the warning colour".into());
    }
    if !raw.contains(&format!("{RED}Out of memory!")) {
        wrong.push("`9` on a full playground: not in the error colour".into());
    }
    // `color off`: the same words, no colour.
    // `:` and the command one after the other: each answers with a prompt.
    m.type_serial(":");
    m.expect(PROMPT);
    m.type_serial("color off\r");
    m.expect(PROMPT);
    let raw = raw_command(&mut m, "alloc x");
    if raw.contains('\x1b') || !raw.contains("error: `x`: not a number") {
        wrong.push(format!("`alloc x` after `color off`: {raw:?}"));
    }
    assert!(
        wrong.is_empty(),
        "{} of {} answers lose their cause:\n\n{}",
        wrong.len(),
        CATALOGUE.len(),
        wrong.join("\n\n")
    );
}

/// The heap designs other than the buddy answer in their own words: an
/// allocation the arena cannot hold says the heap could not grow and why
/// (the VMM's region is full), a foreign pointer that it is not theirs.
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn the_other_heap_designs_name_their_cause_too() {
    let mut m = Machine::boot_with(crate::support::Boot {
        cmdline: "heap=pool",
        ..Default::default()
    });
    m.type_serial(":");
    m.expect(PROMPT);
    for (line, words) in [
        (
            "alloc 999999999",
            &["it could not grow", "the kernel heap region has"][..],
        ),
        (
            "free 0",
            &["outside the heap", "not a block it handed out"][..],
        ),
    ] {
        let text = flat(&strip_ansi(&raw_command(&mut m, line)));
        for w in words {
            assert!(text.contains(w), "`{line}`: no `{w}` in: {text}");
        }
        assert!(!text.contains("invalid"), "`{line}`: {text}");
    }
}

/// Commands that end the machine (tested on their own): not run here.
const ENDS_THE_MACHINE: &[&str] = &["reboot", "halt"];

/// Every command with typical arguments; `{addr}`, `{frame}` and `{pid}`
/// are filled from answers before them.
const TYPICAL: &[&str] = &[
    "help",
    "help all",
    "help alloc",
    "clear",
    "echo hello world",
    "uptime",
    "mmap",
    "gdt",
    "idt",
    "fault de",
    "fault bp",
    "fault ud",
    "fault gp",
    "fault pf",
    "fault pf 0xFFFFFFFF",
    "fault wp",
    "heap",
    "heapmap",
    "heapmap kernel",
    "heapcheck",
    "alloc 100",
    "alloc",
    "free {addr}",
    "playground 12",
    "heapmap playground",
    "playground",
    "playground 10",
    "frames",
    "frames dump",
    "frames check",
    "frames draw",
    "buddyinfo",
    "falloc 3",
    "ffree {frame}",
    "translate 0xC0100000 0xF0000000 0x400000 0",
    "pagedir",
    "vmregions",
    "map 0xF8000000",
    "unmap 0xF8000000",
    "map 0xF8001000 0xB8000",
    "unmap 0xF8001000",
    "segdemo",
    "segdemo 0x40000000",
    "heapinfo",
    "channel on",
    "channel fill",
    "channel",
    "channel read 3",
    "channel off",
    "bench 2000",
    "color",
    "color off",
    "color on",
    "progs",
    "run hello a b",
    "run crash",
    "run heapdemo &",
    "ps",
    "translate 0x400000 pid={pid}",
    "pagedir pid={pid}",
    "vmregions pid={pid}",
    "kill {pid}",
];

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn every_command_of_help_prints_within_80_columns() {
    let mut m = Machine::boot_with(crate::support::Boot {
        timeout: std::time::Duration::from_secs(300),
        ..Default::default()
    });
    m.type_serial(":");
    m.expect(PROMPT);
    // Every name `help` lists is in the table (or ends the machine).
    let help = strip_ansi(&raw_command(&mut m, "help"));
    let names: Vec<&str> = help
        .lines()
        .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with("exit"))
        .flat_map(|l| l.split_whitespace().skip(1))
        .collect();
    assert!(names.len() > 30, "{help}");
    for name in &names {
        assert!(
            ENDS_THE_MACHINE.contains(name)
                || TYPICAL
                    .iter()
                    .any(|t| t.split_whitespace().next() == Some(name)),
            "`{name}` is listed by help but has no typical run here"
        );
    }
    let (mut addr, mut frame, mut pid) = (String::new(), String::new(), String::new());
    let mut wide = Vec::new();
    for typical in TYPICAL {
        let line = typical
            .replace("{addr}", &addr)
            .replace("{frame}", &frame)
            .replace("{pid}", &pid);
        let text = strip_ansi(&raw_command(&mut m, &line)).replace('\r', "");
        if std::env::var_os("CAIRN_AUDIT_SHOW").is_some() {
            eprintln!("{text}");
        }
        if let Some((_, rest)) = text.split_once("-> 0x") {
            addr = format!("0x{}", &rest[..8]);
        }
        if let Some((_, rest)) = text.split_once(" at P0x") {
            frame = format!("0x{}", &rest[..8]);
        }
        if text.contains("started in the background")
            && let Some((_, rest)) = text.split_once("[pid ")
        {
            pid = rest.split(']').next().unwrap_or("").to_string();
        }
        for l in text.lines() {
            if l.chars().count() > 80 {
                wide.push(format!("`{line}` ({} columns): {l}", l.chars().count()));
            }
        }
    }
    assert!(!pid.is_empty() && !addr.is_empty() && !frame.is_empty());
    assert!(
        wide.is_empty(),
        "lines wider than 80 columns:\n{}",
        wide.join("\n")
    );
}
