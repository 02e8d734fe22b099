//! A kernel no machine can knock over: too little memory stops the kernel
//! with a message that names the minimum; memory above 4 GiB is left alone
//! and said so; the double-fault stack, overflowed, stops at its guard page.

use crate::support::{Boot, Machine};

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn below_16_mib_the_kernel_stops_and_names_the_minimum() {
    let mut m = Machine::boot_with(Boot {
        memory: "8M",
        ready: "cairn: halted: too little memory",
        ..Boot::default()
    });
    m.expect("make run MEM=16M");
    let out = m.output();
    assert!(
        out.contains("usable RAM: "),
        "the memory map is shown first:\n{out}"
    );
    assert!(
        out.contains("and Cairn needs at least 15 MiB (a 16 MiB machine"),
        "{out}"
    );
    assert!(!out.contains("cairn: ready"));
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn at_4g_the_ram_above_4_gib_is_left_alone_and_said_so() {
    let m = Machine::boot_with(Boot {
        memory: "4G",
        ..Boot::default()
    });
    let out = m.output();
    assert!(
        out.contains("left alone: 1 GiB above 4 GiB (32-bit paging without PAE cannot address it)"),
        "{out}"
    );
    let usable = out
        .lines()
        .find(|l| l.starts_with("usable RAM: "))
        .expect("the usable line");
    assert!(
        !usable.contains("4094"),
        "the RAM above 4 GiB is not counted: {usable}"
    );
}

// course: module 05
/// The hexadecimal number after `key` in `text` (`0x` optional).
fn hex_after(text: &str, key: &str) -> u32 {
    let at = text
        .find(key)
        .unwrap_or_else(|| panic!("no `{key}` in:\n{text}"));
    let digits: String = text[at + key.len()..]
        .trim_start_matches("0x")
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u32::from_str_radix(&digits, 16).unwrap_or_else(|_| panic!("`{key}` {digits}:\n{text}"))
}

/// The double-fault handler overflows its own stack: by architecture the
/// #PF at its guard page cannot be delivered, the #DF it becomes finds the
/// double-fault task busy, and the CPU gives up with a triple fault, which
/// QEMU (`-no-reboot`, shutdown=pause) stops at, keeping the state to read:
/// the log says "Triple fault", CR2 lies in the guard page, and the page
/// below the guard still has the fingerprint the handler printed before it
/// recursed (nothing wrote it).
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn the_double_fault_stack_overflows_into_its_guard_page_and_stops() {
    let mut m = Machine::boot_with(Boot {
        qemu_args: &[
            "-action",
            "shutdown=pause",
            "-d",
            "cpu_reset",
            "-D",
            "{dir}/qemu.log",
        ],
        ..Boot::default()
    });
    m.type_serial(":fault dfstack\r");
    let out = m.expect("expect a triple fault");
    // The report of the double fault itself comes first, then the test's.
    assert!(
        out.contains("EXCEPTION #DF double fault (vector 8)"),
        "{out}"
    );
    assert!(
        out.contains("ESP is at the guard page below the kernel stack"),
        "{out}"
    );
    let boot_line = out
        .lines()
        .find(|l| l.starts_with("  kernel stack "))
        .unwrap_or_else(|| panic!("{out}"));
    let guard = hex_after(boot_line, "guard page ");
    let (df_guard, df_bottom) = {
        let line = out
            .lines()
            .find(|l| l.contains("fault dfstack: stack "))
            .unwrap_or_else(|| panic!("{out}"));
        (
            hex_after(line, "guard page "),
            hex_after(line, "fault dfstack: stack "),
        )
    };
    assert_ne!(guard, df_guard, "two stacks, two guard pages");
    assert_eq!(df_bottom - df_guard, 4096, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("below the guard: "))
        .unwrap_or_else(|| panic!("{out}"));
    let below = hex_after(line, "below the guard: ");
    assert_eq!(below, df_guard - 4096);
    let below_phys = hex_after(line, "(physical ");
    let fingerprint = hex_after(line, "fingerprint ");

    // The machine stops: QEMU pauses on the shutdown the triple fault became.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = m.monitor_command("info status");
        if status.contains("paused (shutdown)") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "QEMU did not stop: {status}\n{}",
            m.output()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let log = std::fs::read_to_string(m.file("qemu.log")).expect("QEMU's -D log");
    assert!(log.contains("Triple fault"), "{log}");

    // The state it stopped in: the double-fault task (TR 0x30), its last
    // page fault in the guard page, its stack pointer run down into it.
    let regs = m.monitor_command("info registers");
    let cr2 = hex_after(&regs, "CR2=");
    let esp = hex_after(&regs, "ESP=");
    assert_eq!(hex_after(&regs, "TR ="), 0x30, "{regs}");
    assert!(
        (df_guard..df_bottom).contains(&cr2),
        "CR2 {cr2:#x} is not in the guard page {df_guard:#x}:\n{regs}"
    );
    assert!(
        (df_guard..df_bottom + 4096).contains(&esp),
        "ESP {esp:#x} is not at the bottom of the double-fault stack:\n{regs}"
    );

    // Nothing below the guard page was written: the same fingerprint.
    let dump = m.monitor_command(&format!("xp /1024wx {below_phys:#x}"));
    let words: Vec<u32> = dump
        .lines()
        .filter_map(|l| l.split_once(": "))
        .flat_map(|(_, w)| {
            w.split_whitespace()
                .filter_map(|x| u32::from_str_radix(x.trim_start_matches("0x"), 16).ok())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(words.len(), 1024, "{dump}");
    let now = words
        .iter()
        .fold(0x811C_9DC5u32, |h, &w| (h ^ w).wrapping_mul(0x0100_0193));
    assert_eq!(
        now, fingerprint,
        "the page below the guard changed after the handler fingerprinted it"
    );
}
// course: end
