//! A kernel no machine can knock over: too little memory stops the kernel
//! with a message that names the minimum; memory above 4 GiB is left alone
//! and said so.

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
