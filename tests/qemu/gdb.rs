//! gdb that knows Cairn: `gdb/cairn.py`'s commands, run by gdb in batch mode
//! against QEMU's gdb stub, must print what the kernel itself printed.

use crate::support::{Boot, Machine};
use std::path::PathBuf;
use std::process::Command;

/// The kernel ELF with its debug information (the ISO's copy has none).
fn kernel_with_symbols() -> PathBuf {
    std::env::var("CAIRN_KERNEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/i686-kernel/release/cairn")
        })
}

/// Run gdb in batch mode on the machine's stub with `commands`; its output.
fn gdb(m: &Machine, commands: &[&str]) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("gdb/cairn.py");
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx", "-ex", "set architecture i386"])
        .arg("-ex")
        .arg(format!("file {}", kernel_with_symbols().display()))
        .arg("-ex")
        .arg(format!("target remote {}", m.gdb_socket().display()))
        .arg("-ex")
        .arg(format!("source {}", script.display()));
    for c in commands {
        cmd.arg("-ex").arg(c);
    }
    let out = cmd.output().expect("gdb runs (make deps installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("Python Exception"), "gdb: {err}\n{text}");
    text
}

/// The lines of `text` from the one starting with `first`, `n` of them.
fn block(text: &str, first: &str, n: usize) -> Vec<String> {
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let at = lines
        .iter()
        .rposition(|l| l.starts_with(first))
        .unwrap_or_else(|| panic!("no line starting with `{first}` in:\n{text}"));
    lines[at..(at + n).min(lines.len())].to_vec()
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn gdb_commands_print_what_the_kernel_prints() {
    let mut m = Machine::boot_with(Boot {
        gdb: true,
        ..Boot::default()
    });
    m.type_serial("49p:translate 0xC0100000 0x1000\rpagedir\rbuddyinfo\rheap\r");
    m.expect("live blocks from `alloc`");
    let kernel = m.output();
    let g = gdb(
        &m,
        &[
            "cairn-walk 0xC0100000",
            "cairn-walk 0x1000",
            "cairn-pagedir",
            "cairn-playground",
            "cairn-heap",
            "cairn-frames",
        ],
    );
    // The walks, line by line as `translate` prints them.
    assert_eq!(
        block(&g, "translate V0xc0100000", 5),
        block(&kernel, "translate V0xc0100000", 5),
        "gdb:\n{g}"
    );
    assert_eq!(
        block(&g, "translate V0x00001000", 3),
        block(&kernel, "translate V0x00001000", 3)
    );
    // The directory: the same number of 4 KiB and 4 MiB pages.
    let summary = g
        .lines()
        .find(|l| l.contains(" pages of 4 KiB, "))
        .expect("cairn-pagedir's summary");
    assert!(
        kernel.contains(summary),
        "`{summary}` vs the kernel's pagedir:\n{kernel}"
    );
    // The playground: `p`'s block, free blocks per scale 4..A.
    assert_eq!(
        block(&g, "free_block counts:", 8),
        block(&kernel, "free_block counts:", 8)
    );
    // The kernel heap: every scale with free blocks, as the `heap` table.
    let rows = |text: &str| -> Vec<String> {
        block(text, "scale bytes free blocks", 40)
            .into_iter()
            .skip(1)
            .take_while(|l| l.split(' ').count() == 4 && !l.starts_with("free"))
            .filter(|l| l.split(' ').nth(2) != Some("0"))
            .collect()
    };
    let kernel_rows = rows(&kernel);
    assert!(kernel_rows.len() > 3, "{kernel}");
    assert_eq!(rows(&g), kernel_rows, "gdb:\n{g}");
    // The frames: buddyinfo's line.
    assert_eq!(
        block(&g, "Node 0, zone", 1),
        block(&kernel, "Node 0, zone", 1)
    );
    // And the kernel goes on after gdb detached.
    m.type_serial("echo after gdb\r");
    m.expect("\nafter gdb\n");
}
