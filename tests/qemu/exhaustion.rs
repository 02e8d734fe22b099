//! Out of memory is an answer, not a halt: drain the frames (`falloc` until
//! none is free) and the kernel heap (`alloc` until not one byte fits) with
//! ordinary commands, run every command and the hotkeys once, and check the
//! shell answers each time; `heapcheck` and `frames check` pass; freeing
//! everything restores the counts exactly.
//!
//! ```text
//!   before: frames free F, heapcheck H
//!   falloc 1024.. 1  until "no run"      -> 0 frames free (the heap cannot grow)
//!   alloc 2^k-9 .. 7 until "refused"     -> not a byte left in the heap
//!   every command of `help`, hotkeys 1-9 p a..i
//!                                        -> each answers with the prompt
//!   key 1 x5 on the PS/2 keyboard        -> 4 blocks, then "slot 1: cannot
//!                                           store another block"; p, a x5 answer
//!   heapcheck, frames check              -> ok
//!   free every block, ffree every run    -> frames free F, heapcheck H again
//! ```

use crate::support::{Boot, Machine};
use std::time::Duration;

const PROMPT: &str = "cairn> ";

/// Type `line`, wait for the next prompt, return what the command printed;
/// fails the test if the kernel panicked.
fn command(m: &mut Machine, line: &str) -> String {
    m.type_serial(&format!("{line}\r"));
    let out = m.expect(PROMPT);
    let out = out.strip_suffix(PROMPT).unwrap_or(&out).to_string();
    let out = out
        .split_once('\n')
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_default();
    assert!(
        !out.contains("KERNEL PANIC") && !out.contains("PANIC"),
        "`{line}` panicked:\n{out}"
    );
    out
}

/// The `free` line of `frames`: "free       N frames (...)".
fn free_frames(m: &mut Machine) -> u64 {
    let out = command(m, "frames");
    out.lines()
        .find_map(|l| l.trim_start().strip_prefix("free"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no free count in:\n{out}"))
}

/// `heapcheck`'s verdict on the kernel heap: its whole line.
fn heap_line(m: &mut Machine) -> String {
    let out = command(m, "heapcheck");
    assert!(!out.contains("CORRUPT"), "{out}");
    assert!(!out.contains("error"), "{out}");
    out.lines()
        .find(|l| l.starts_with("kernel heap"))
        .unwrap_or_else(|| panic!("no kernel heap line in:\n{out}"))
        .to_string()
}

/// `P0x........` after " at " in an answer of `falloc` or `alloc`.
fn address_after(out: &str, marker: &str) -> String {
    let rest = out
        .split_once(marker)
        .unwrap_or_else(|| panic!("no `{marker}` in:\n{out}"))
        .1;
    rest.chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == 'x' || *c == 'X')
        .collect()
}

/// Every command of this kernel run once, with ordinary arguments. A
/// command that `help` lists and this table does not is a test failure,
/// so a new command is exhausted too. `reboot` and `halt` would end the
/// run: `halt` goes last, `reboot` is only checked for being listed.
const EVERY_COMMAND: &[(&str, &str)] = &[
    ("help", "help all"),
    ("clear", "clear"),
    ("echo", "echo out of memory is an answer"),
    ("color", "color on"),
    ("uptime", "uptime"),
    ("mmap", "mmap"),
    ("gdt", "gdt"),
    ("idt", "idt"),
    ("fault", "fault pf 0x10000000"),
    ("reboot", ""),
    ("halt", ""),
    ("heap", "heap"),
    ("heapmap", "heapmap kernel"),
    ("heapcheck", "heapcheck"),
    ("alloc", "alloc"),
    ("free", "free 0x10"),
    ("playground", "playground"),
    ("frames", "frames"),
    ("buddyinfo", "buddyinfo"),
    ("falloc", "falloc 1"),
    ("ffree", "ffree 0x1000"),
    ("translate", "translate 0xc0100000"),
    ("pagedir", "pagedir"),
    ("vmregions", "vmregions"),
    ("map", "map 0x10000000"),
    ("unmap", "unmap 0x10000000"),
    ("segdemo", "segdemo"),
    ("heapinfo", "heapinfo"),
    ("channel", "channel on"),
    ("bench", "bench 2000"),
    ("progs", "progs"),
    ("run", "run hello a b"),
    ("ps", "ps"),
    ("kill", "kill 99"),
];

/// The command names `help` lists, layer by layer.
fn listed_commands(m: &mut Machine) -> Vec<String> {
    let out = command(m, "help");
    out.lines()
        .skip(1)
        .filter(|l| !l.trim_start().starts_with("exit"))
        .flat_map(|l| l.split_whitespace().skip(1).map(String::from))
        .collect()
}

/// Leave the shell for hotkey mode and press every slot once (`1`-`9`),
/// the free lists (`p`), then free every slot (`a`, `q`-`i`); the caller
/// goes on in hotkey mode.
fn every_hotkey(m: &mut Machine) {
    m.type_serial("exit\r");
    m.expect("hotkey mode");
    m.type_serial("123456789p");
    m.expect("free_block counts:");
    m.type_serial("aqwertyui");
    m.expect("slot 9");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn draining_frames_and_heap_leaves_a_shell_that_answers() {
    let mut m = Machine::boot_with(Boot {
        timeout: Duration::from_secs(300),
        ..Boot::default()
    });
    m.type_serial(":");
    m.expect(PROMPT);

    let listed = listed_commands(&mut m);
    for name in &listed {
        assert!(
            EVERY_COMMAND.iter().any(|(n, _)| n == name),
            "`{name}` is a command this test does not run"
        );
    }
    // Warm-up: the slot stacks of the hotkeys get their capacity now, from
    // the heap, as in any session; later presses reuse it.
    every_hotkey(&mut m);
    m.type_serial(":");
    m.expect(PROMPT);
    let frames_before = free_frames(&mut m);
    let heap_before = heap_line(&mut m);

    // Drain the frames: the largest runs first, down to single frames.
    let mut runs = Vec::new();
    let mut n = 1024;
    while n > 0 {
        let out = command(&mut m, &format!("falloc {n}"));
        if out.lines().any(|l| l.starts_with("allocated")) {
            runs.push(address_after(&out, " at P"));
        } else {
            assert!(out.contains("error: "), "falloc {n}: {out}");
            n /= 2;
        }
    }
    assert_eq!(free_frames(&mut m), 0, "every frame is taken");

    // Drain the heap (it cannot grow now): blocks that fill a buddy block
    // exactly (9-byte header), the largest first, down to one byte.
    let mut blocks = Vec::new();
    for size in (4..=20).rev().map(|k| (1u32 << k) - 9).chain([1]) {
        loop {
            let out = command(&mut m, &format!("alloc {size}"));
            if out.lines().any(|l| l.starts_with("alloc(")) {
                blocks.push(address_after(&out, "-> "));
            } else {
                assert!(out.contains("error: "), "alloc {size}: {out}");
                break;
            }
        }
    }
    let last = command(&mut m, "alloc 1");
    assert!(last.contains("refused 1 bytes"), "the heap is dry: {last}");
    eprintln!(
        "exhausted: {} falloc runs, {} heap blocks; frames free before {frames_before}",
        runs.len(),
        blocks.len()
    );

    // Every command once: each answers (the prompt comes back, no panic).
    for (name, line) in EVERY_COMMAND {
        if line.is_empty() || *name == "halt" {
            continue;
        }
        let out = command(&mut m, line);
        eprintln!("at exhaustion `{line}`: {} lines", out.lines().count());
        assert!(!out.is_empty() || *name == "clear", "`{line}` said nothing");
        if *name == "heap" {
            // The kernel's own allocations (this report's text, error
            // messages) came from the reserve: the heap has not a byte.
            let served: u64 = out
                .split_once("(served ")
                .and_then(|(_, r)| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no reserve line in:\n{out}"));
            assert!(served > 0, "the reserve served nothing:\n{out}");
            eprintln!("{}", out.lines().last().unwrap_or(""));
        }
    }
    command(&mut m, "channel off");
    every_hotkey(&mut m);
    // Key `1` five times on the PS/2 keyboard (`sendkey`, the real path):
    // slot 1's stack holds 4 blocks since the warm-up (a `Vec`'s first
    // capacity); the fifth needs the kernel heap, which is dry, and the
    // reserve is not spent on hotkeys, so the key says it cannot store the
    // block. The kernel answers the keys after it, then the shell.
    m.type_keys("11111");
    let said = m.expect("slot 1: cannot store another block: out of memory (nothing allocated)");
    assert_eq!(
        said.matches("slot 1: allocate(1) -> ").count(),
        4,
        "four blocks stored before the fifth was refused:\n{said}"
    );
    m.type_keys("p");
    m.expect("free_block counts:");
    m.type_keys("aaaaa");
    let freed = m.expect("slot 1 is empty");
    assert_eq!(freed.matches("slot 1: free(").count(), 4, "{freed}");
    m.type_serial(":");
    m.expect(PROMPT);

    // Still consistent at exhaustion.
    let check = command(&mut m, "heapcheck");
    assert!(
        check.contains("kernel heap") && check.contains("reserve") && !check.contains("CORRUPT"),
        "{check}"
    );
    let check = command(&mut m, "frames check");
    assert!(
        check.contains("check: the frame allocator is consistent"),
        "{check}"
    );
    assert_eq!(free_frames(&mut m), 0, "commands took no frame back");

    // Give everything back: the counts are exactly those of before.
    for b in &blocks {
        let out = command(&mut m, &format!("free {b}"));
        assert!(out.starts_with("free("), "free {b}: {out}");
    }
    for r in &runs {
        let out = command(&mut m, &format!("ffree {r}"));
        assert!(out.starts_with("freed"), "ffree {r}: {out}");
    }
    let frames_after = free_frames(&mut m);
    let heap_after = heap_line(&mut m);
    eprintln!("frames free: before {frames_before}, at exhaustion 0, after {frames_after}");
    eprintln!("heap before: {heap_before}\nheap after:  {heap_after}");
    assert_eq!(frames_after, frames_before, "frames restored");
    assert_eq!(heap_after, heap_before, "heap restored");
    let heap = command(&mut m, "heap");
    assert!(
        heap.contains("in use by 0 blocks"),
        "the reserve is empty again:\n{heap}"
    );

    m.type_serial("halt\r");
    m.wait_exit();
}
