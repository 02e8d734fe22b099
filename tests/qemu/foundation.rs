//! The boot foundation, seen from outside.

use crate::support::Machine;

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn boot_prints_memory_map_and_ready() {
    // course: module 02
    let mut m = Machine::boot();
    // course: else
    // let m = Machine::boot();
    // course: end
    let out = m.output();
    assert!(out.contains("boot loader: GRUB"), "{out}");
    assert!(out.contains("memory map ("), "{out}");
    assert!(out.contains("available"), "{out}");
    assert!(out.contains("usable RAM: 127.4 MiB"), "{out}");
    // ready is the last boot line before the hotkey hint
    let ready = out.find("cairn: ready").unwrap();
    assert!(out.find("usable RAM").unwrap() < ready);
    // course: module 02
    m.type_keys(":halt\n");
    m.expect("cairn: powering off");
    // course: end
}

// course: module 02
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn help_lists_every_foundation_command_via_ps2() {
    let mut m = Machine::boot();
    m.type_keys(":help\n");
    let out = m.expect("return to hotkey mode");
    let layer = |name: &str| -> Vec<String> {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("help has no `{name}` line:\n{out}"));
        line.split_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        layer("foundation"),
        [
            "help", "clear", "echo", "uptime", "mmap", "gdt", "idt", "fault", "reboot", "halt"
        ],
        "{out}"
    );
    // course: module 03
    assert_eq!(
        layer("heap"),
        [
            "heap",
            "heapmap",
            "heapcheck",
            "alloc",
            "free",
            "playground"
        ]
    );
    // course: end
    // course: module 04
    assert_eq!(layer("frames"), ["frames", "buddyinfo", "falloc", "ffree"]);
    // course: end
    // course: module 05
    // course: module 06
    assert_eq!(
        layer("paging"),
        [
            "translate",
            "pagedir",
            "vmregions",
            "map",
            "unmap",
            "segdemo"
        ]
    );
    // course: else
    // assert_eq!(
    //     layer("paging"),
    //     ["translate", "pagedir", "map", "unmap", "segdemo"]
    // );
    // course: end
    // course: end
    // course: module 07
    assert_eq!(layer("family"), ["heapinfo", "channel", "bench"]);
    // course: end
    for line in out.lines() {
        assert!(line.len() < 80, "help line wider than the screen: {line}");
    }
    // `help <command>` explains one.
    m.type_keys("help fault\n");
    m.expect("fault de|bp|ud|gp|pf");
    m.expect("raise an exception on purpose");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn fault_ud_is_reported_and_the_shell_answers_after() {
    let mut m = Machine::boot();
    m.type_keys(":fault ud\n");
    m.expect("EXCEPTION #UD invalid opcode (vector 6)");
    m.expect("EIP 0x");
    m.expect("survived #UD");
    m.type_keys("echo alive\n");
    m.expect("cairn> echo alive\nalive");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn every_fault_kind_is_survived_via_serial() {
    let mut m = Machine::boot();
    m.type_serial(":fault de\r");
    m.expect("EXCEPTION #DE divide error (vector 0)");
    m.expect("survived #DE");
    m.type_serial("fault bp\r");
    m.expect("EXCEPTION #BP breakpoint (vector 3)");
    m.expect("survived the breakpoint");
    m.type_serial("fault gp\r");
    m.expect("EXCEPTION #GP general protection fault (vector 13)");
    m.expect("error code 0xfff8: GDT index 8191 (selector 0xfff8)");
    m.expect("survived #GP");
    // course: module 05
    m.type_serial("fault pf 0xdead0000\r");
    m.expect("EXCEPTION #PF page fault (vector 14)");
    m.expect("CR2 (faulting address) 0xdead0000");
    m.expect("survived #PF at 0xdead0000");
    // course: else
    // // The boot page directory maps 0xC0000000..0xF0000000 whole (4 MiB
    // // pages): an address above it faults.
    // m.type_serial("fault pf 0xf7000000\r");
    // m.expect("EXCEPTION #PF page fault (vector 14)");
    // m.expect("CR2 (faulting address) 0xf7000000");
    // m.expect("survived #PF at 0xf7000000");
    // course: end
    m.type_serial("uptime\r");
    m.expect("timer ticks at 100 Hz");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn zero_hotkey_divides_by_zero_and_survives() {
    let mut m = Machine::boot();
    m.type_keys("0");
    m.expect("EXCEPTION #DE divide error");
    m.expect("divide error survived");
    m.type_keys(":echo after\n");
    m.expect("after");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn line_editing_history_and_escape_via_ps2() {
    let mut m = Machine::boot();
    m.type_keys(":echo abx\x08c\n");
    m.expect("\nabc\n");
    // Up recalls the last line; Enter runs it again.
    m.monitor_command("sendkey up");
    m.type_keys("\n");
    m.expect("\nabc\n");
    // Escape leaves command mode: `0` is a hotkey again.
    m.type_keys("\x1b");
    m.expect("hotkey mode:");
    m.type_keys("0");
    m.expect("divide error survived");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn halt_powers_qemu_off() {
    let mut m = Machine::boot();
    m.type_serial(":halt\r");
    m.expect("cairn: powering off");
    let status = m.wait_exit();
    assert!(
        status.code().is_some(),
        "QEMU was killed rather than powered off"
    );
}
// course: end
