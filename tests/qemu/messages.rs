//! Messages that say what happened: the size limit of `alloc`, "not
//! allocated" for free memory never handed out, the address `fault pf`
//! tried, why TCG answered `segdemo` past the limit with #PF, and extra
//! arguments refused in the same words by every command.

use crate::support::{Machine, flat};

const PROMPT: &str = "cairn> ";

/// Run `line`; its answer on one line (long answers are wrapped on screen).
fn command(m: &mut Machine, line: &str) -> String {
    m.type_serial(&format!("{line}\r"));
    let out = m.expect(PROMPT);
    flat(out.strip_suffix(PROMPT).unwrap_or(&out))
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn messages_name_what_happened() {
    let mut m = Machine::boot();
    m.type_serial(":");
    m.expect(PROMPT);

    let out = command(&mut m, "alloc 4294967295");
    assert!(
        out.contains("past the size limit of an allocation: at most 2147483640 bytes"),
        "{out}"
    );
    assert!(!out.contains("Layout"), "{out}");
    let out = command(&mut m, "alloc 999999999");
    assert!(
        out.contains("do not fit in the largest block (scale 1B"),
        "{out}"
    );

    // Free memory at the top of the first heap pages: never handed out.
    let out = command(&mut m, "free 0xF0130010");
    assert!(out.contains("is not allocated"), "{out}");
    assert!(!out.contains("double free"), "{out}");
    // A block `alloc` made and `free` freed: freeing it again is a double free.
    let out = command(&mut m, "alloc 64");
    let addr: String = out
        .split_once("-> ")
        .map(|(_, r)| r.chars().take(10).collect())
        .unwrap_or_else(|| panic!("{out}"));
    command(&mut m, &format!("free {addr}"));
    let out = command(&mut m, &format!("free {addr}"));
    assert!(out.contains("double free"), "{out}");

    let out = command(&mut m, "fault pf 0xFFFFFFFF");
    assert!(
        out.contains("survived #PF at 0x00000000")
            && out.contains("tried 0xffffffff: the 4-byte read wraps past 0xffffffff"),
        "{out}"
    );

    let out = command(&mut m, "segdemo 0x40000000");
    assert!(
        out.contains("not #GP: this CPU did not check the data-segment limit")
            && out.contains("+ offset 0x40000000 = V0x")
            && out.contains("paging found no page there"),
        "{out}"
    );

    for (line, extra) in [
        ("uptime x", "x"),
        ("frames check x", "x"),
        ("falloc 1 2 3", "3"),
        ("ffree 1 2", "2"),
        ("help heap all", "all"),
        // course: module 07
        ("channel fill x", "x"),
        // course: end
        ("fault de x", "x"),
        ("fault pf 1 2", "2"),
        ("map 1 2 3", "3"),
        ("unmap 1 2", "2"),
        ("segdemo 1 2", "2"),
        ("pagedir x", "x"),
        // course: module 07
        ("heapinfo x", "x"),
        ("bench 1 2", "2"),
        // course: end
        ("heap x", "x"),
        ("halt now", "now"),
        ("reboot now", "now"),
    ] {
        let out = command(&mut m, line);
        assert!(
            out.contains(&format!("error: unexpected argument `{extra}`")),
            "`{line}`: {out}"
        );
    }
    // Still here: neither `halt now` nor `reboot now` ran.
    let out = command(&mut m, "uptime");
    assert!(out.contains("up "), "{out}");
}
