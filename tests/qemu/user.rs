//! QEMU tests of user space: every program run from the shell, in ring 3,
//! in its own address space. One boot runs many programs (the machines
//! share two cores): the crashes kill only their process, the shell answers
//! after each, and `frames` is back to its starting count at the end.

use crate::support::{Boot, Machine};
use std::time::Duration;

/// The free count `frames` prints.
fn free_frames(m: &mut Machine) -> u64 {
    m.type_serial("frames\r");
    let out = m.expect("\nused ");
    let out = match out.rfind("\nfree ") {
        Some(i) => &out[i..],
        None => panic!("no free line in:\n{out}"),
    };
    out.split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no free count in `{out}`"))
}

/// Wait for the prompt after a command: the shell answers.
fn prompt(m: &mut Machine) {
    m.expect("cairn> ");
}

fn boot() -> Machine {
    let mut m = Machine::boot_with(Boot {
        timeout: Duration::from_secs(240),
        ..Boot::default()
    });
    m.type_serial(":");
    prompt(&mut m);
    m
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn programs_run_in_ring_3_crashes_kill_only_their_process_and_frames_come_back() {
    let mut m = boot();
    let start = free_frames(&mut m);
    prompt(&mut m);
    m.type_serial("progs\r");
    for p in [
        "badptr",
        "channel",
        "crash",
        "cycle",
        "grow",
        "heapbench",
        "heapdemo",
        "hello",
        "isolation",
        "usertests",
    ] {
        m.expect(&format!("  {p} "));
    }
    prompt(&mut m);

    m.type_serial("run hello a b\r");
    m.expect("hello from ring 3: pid 1, 3 args: [\"hello\", \"a\", \"b\"]");
    m.expect("[pid 1] exited with status 0");
    prompt(&mut m);

    // The keyboard goes to the foreground process while it reads.
    m.type_serial("run hello read\r");
    m.expect("hello: type a line");
    m.type_serial("cairn rocks\r");
    m.expect("hello: you typed `cairn rocks` (12 bytes)");
    m.expect("exited with status 0");
    prompt(&mut m);

    m.type_serial("run isolation\r");
    let out = m.expect("isolation: ok");
    assert!(
        out.contains("isolation A (pid 3): wrote 0xaaaa0000.."),
        "{out}"
    );
    assert!(
        out.contains("isolation B (pid 4): wrote 0xbbbb0000.."),
        "{out}"
    );
    m.expect("[pid 3] exited with status 0");
    prompt(&mut m);

    let crashes = [
        (
            "1",
            "page fault: read at 0xc0100000 (kernel linear)",
            "user mode touched the kernel half",
        ),
        (
            "2",
            "page fault: write at 0x004",
            "write to a read-only page",
        ),
        (
            "3",
            "#GP general protection fault",
            "privileged instruction",
        ),
        ("4", "#DE divide error", "division by zero"),
        ("5", "(user stack)", "past the stack reserve"),
    ];
    for (arg, what, cause) in crashes {
        m.type_serial(&format!("run crash {arg}\r"));
        let out = m.expect(cause);
        assert!(
            out.contains("killed: ") && out.contains(what),
            "crash {arg}:\n{out}"
        );
        prompt(&mut m);
    }
    // The kernel and the shell go on: a program still runs.
    m.type_serial("run hello\r");
    m.expect("exited with status 0");
    prompt(&mut m);

    m.type_serial("run grow\r");
    let out = m.expect("grow: ok");
    assert!(out.contains("64 pages by sbrk"), "{out}");
    prompt(&mut m);

    m.type_serial("run channel\r");
    m.expect("got 300 messages in order");
    m.expect("channel: ok");
    prompt(&mut m);

    m.type_serial("run badptr\r");
    m.expect("badptr: 14 passed, 0 failed; still alive");
    m.expect("exited with status 0");
    prompt(&mut m);

    // The ShompOS keys, typed on the PS/2 keyboard, to a heap in ring 3.
    m.type_serial("run heapdemo\r");
    m.expect("x or Esc quits");
    m.type_keys("49p");
    let out = m.expect("free blocks of scale A\n");
    for scale in 4..=8 {
        assert!(
            out.contains(&format!("1 free blocks of scale {scale:X}")),
            "{out}"
        );
    }
    m.type_keys("x");
    m.expect("heapdemo: bye");
    prompt(&mut m);

    // Ctrl+C kills the foreground process; `&` runs one in the background.
    m.type_serial("run heapdemo\r");
    m.expect("x or Esc quits");
    m.type_serial("\x03");
    m.expect("killed: Ctrl+C");
    prompt(&mut m);
    m.type_serial("run hello bg &\r");
    m.expect("started in the background");
    m.expect("exited with status 0");
    m.type_serial("ps\r");
    m.expect("pid  ppid  state");
    prompt(&mut m);

    let end = free_frames(&mut m);
    assert_eq!(start, end, "free frames before the programs and after");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn usertests_pass_and_heapbench_prints_its_table() {
    let mut m = boot();
    let start = free_frames(&mut m);
    prompt(&mut m);
    m.type_serial("run usertests\r");
    let out = m.expect("usertests: 13 passed, 0 failed");
    assert!(!out.contains("FAIL"), "{out}");
    prompt(&mut m);
    m.type_serial("run heapbench 3000\r");
    m.expect("design     cycles/action");
    for design in ["buddy", "firstfit", "gaptree", "pool"] {
        m.expect(&format!("  {design} "));
    }
    m.expect("exited with status 0");
    prompt(&mut m);
    // Preemption: heapbench never yields, yet the shell answers while it
    // runs in the background (the timer switches it away).
    m.type_serial("run heapbench 20000 &\r");
    m.expect("heapbench started in the background");
    prompt(&mut m);
    m.type_serial("ps\r");
    let out = m.expect("  heapbench   ");
    assert!(out.contains("ready") || out.contains("running"), "{out}");
    prompt(&mut m);
    m.expect("  pool ");
    m.expect("exited with status 0");
    // A background process, listed by `ps` and killed by `kill`.
    m.type_serial("run heapdemo &\r");
    m.expect("started in the background");
    prompt(&mut m);
    m.type_serial("ps\r");
    let out = m.expect("  heapdemo    ");
    assert!(out.contains("sleeping") || out.contains("ready"), "{out}");
    prompt(&mut m);
    let end_before_kill = m.output();
    let pid = end_before_kill
        .rsplit("[pid ")
        .next()
        .and_then(|s| s.split(']').next())
        .expect("the background pid")
        .to_string();
    // Inside the process's own address space: its text, user and read-only.
    m.type_serial(&format!("translate 0x00400000 pid={pid}\r"));
    m.expect(&format!("in the address space of pid {pid}:"));
    m.expect("region: user data");
    prompt(&mut m);
    m.type_serial(&format!("vmregions pid={pid}\r"));
    m.expect(&format!("the address space of pid {pid}:"));
    prompt(&mut m);
    m.type_serial(&format!("kill {pid}\r"));
    m.expect("killed: killed by the shell");
    prompt(&mut m);
    let end = free_frames(&mut m);
    assert_eq!(start, end, "free frames before usertests and after");
}
