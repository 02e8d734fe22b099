//! QEMU tests of the buddy heap and the playground: the hotkeys pressed on
//! the PS/2 keyboard (`sendkey`), the output read from the serial line.
//!
//! ```text
//!   boot `p`      1 block of scale A, 0 elsewhere          (ShompOS)
//!   `4 9 p`       one free block at each of scales 4-8     (ShompOS)
//!   `9 9 9`       the third prints `Out of memory!`        (ShompOS)
//!   `4 4 e e e`   stacked blocks, newest freed first       (ShompOS leaked)
//!   (`1 4`)x12 `a`x12 `p`   12 free blocks of scale 4     (ShompOS misprinted)
//! ```

use crate::support::{Boot, Machine, flat};

/// `p`'s output for the counts of scales 4, 5, ... in order.
fn counts(c: &[usize]) -> String {
    let mut s = String::from("free_block counts:\n");
    for (i, n) in c.iter().enumerate() {
        s += &format!("{n} free blocks of scale {:X}\n", i + 4);
    }
    s
}

/// The playground's first address, from its boot line.
fn playground_base(m: &Machine) -> usize {
    let out = m.output();
    let at = out
        .split("-byte buddy heap at 0x")
        .nth(1)
        .expect("the boot prints the playground line");
    usize::from_str_radix(&at[..8], 16).unwrap()
}

/// The background colour of each of the 80x25 text cells, one string per
/// row: `R` red, `G` green, `Y` brown, `.` black, `?` other. Read from a
/// QEMU `screendump` (720x400: cells of 9x16 pixels; the ninth column of a
/// cell is background for the glyphs heapmap draws).
fn screen_backgrounds(m: &mut Machine) -> Vec<String> {
    let path = std::env::temp_dir().join(format!("cairn-heapmap-{}.ppm", std::process::id()));
    let _ = std::fs::remove_file(&path);
    m.monitor_command(&format!("screendump {}", path.display()));
    let mut data = Vec::new();
    for _ in 0..100 {
        data = std::fs::read(&path).unwrap_or_default();
        if data.len() >= 720 * 400 * 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = std::fs::remove_file(&path);
    // P6 header: magic, width, height, max value, each followed by whitespace.
    let mut fields = 0;
    let mut at = 0;
    while fields < 4 {
        while data[at].is_ascii_whitespace() {
            at += 1;
        }
        while !data[at].is_ascii_whitespace() {
            at += 1;
        }
        fields += 1;
    }
    let header = String::from_utf8_lossy(&data[..at]).to_string();
    assert!(
        header.starts_with("P6") && header.contains("720 400"),
        "{header}"
    );
    let pixels = &data[at + 1..];
    (0..25)
        .map(|row| {
            (0..80)
                .map(|col| {
                    let (x, y) = (col * 9 + 8, row * 16 + 1);
                    let i = (y * 720 + x) * 3;
                    // The VGA palette's dark colours: 0xA8 on, 0x57 half (brown).
                    let on = |v: u8| v >= 0x98;
                    let half = |v: u8| (0x40..0x70).contains(&v);
                    match (pixels[i], pixels[i + 1], pixels[i + 2]) {
                        (r, 0, 0) if on(r) => 'R',
                        (0, g, 0) if on(g) => 'G',
                        (r, g, 0) if on(r) && half(g) => 'Y',
                        (0, 0, 0) => '.',
                        _ => '?',
                    }
                })
                .collect()
        })
        .collect()
}

/// The address after `-> 0x` in `line`.
fn returned(text: &str) -> usize {
    let at = text.rsplit("-> 0x").next().unwrap();
    usize::from_str_radix(&at[..8], 16).unwrap()
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn boot_p_shows_one_block_of_scale_a_via_ps2() {
    let mut m = Machine::boot();
    assert!(
        m.output()
            .contains("playground: 1024-byte buddy heap at 0x"),
        "{}",
        m.output()
    );
    m.type_keys("p");
    let want = counts(&[0, 0, 0, 0, 0, 0, 1]);
    let out = m.expect("free blocks of scale A\n");
    assert!(out.ends_with(&want), "p printed:\n{out}");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn keys_4_9_p_split_like_shompos_via_ps2() {
    let mut m = Machine::boot();
    let base = playground_base(&m);
    m.type_keys("49p");
    let out = m.expect("free blocks of scale A\n");
    let want = format!(
        "slot 4: allocate(1) -> {:#010X} (scale 4)\nslot 9: allocate(248) -> {:#010X} (scale 9)\n{}",
        base + 9,
        base + 512 + 9,
        counts(&[1, 1, 1, 1, 1, 0, 0])
    );
    assert!(out.ends_with(&want), "4 9 p printed:\n{out}\nwant:\n{want}");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn third_9_prints_out_of_memory_via_ps2() {
    let mut m = Machine::boot();
    m.type_keys("999");
    let out = m.expect("Out of memory!\n");
    let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    let n = lines.len();
    assert!(n >= 3, "{out}");
    assert!(
        lines[n - 3].starts_with("slot 9: allocate(248) -> 0x"),
        "{out}"
    );
    assert!(
        lines[n - 2].starts_with("slot 9: allocate(248) -> 0x"),
        "{out}"
    );
    assert_ne!(returned(lines[n - 3]), returned(lines[n - 2]));
    assert_eq!(lines[n - 1], "Out of memory!");
    // Both halves are used: no free block anywhere.
    m.type_keys("p");
    let out = m.expect("free blocks of scale A\n");
    assert!(out.ends_with(&counts(&[0; 7])), "{out}");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn a_second_press_stacks_and_e_frees_newest_first_via_ps2() {
    let mut m = Machine::boot();
    let base = playground_base(&m);
    m.type_keys("44eee");
    let out = m.expect("slot 4 is empty\n");
    let (a, b) = (base + 9, base + 16 + 9);
    let want = format!(
        "slot 4: allocate(1) -> {a:#010X} (scale 4)\nslot 4: allocate(1) -> {b:#010X} (scale 4)\n\
         slot 4: free({b:#010X})\nslot 4: free({a:#010X})\nslot 4 is empty\n"
    );
    assert!(
        out.ends_with(&want),
        "4 4 e e e printed:\n{out}\nwant:\n{want}"
    );
    // Nothing leaked: one block of scale A again.
    m.type_keys("p");
    let out = m.expect("free blocks of scale A\n");
    assert!(out.ends_with(&counts(&[0, 0, 0, 0, 0, 0, 1])), "{out}");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn counts_of_ten_and_more_print_in_decimal_via_ps2() {
    let mut m = Machine::boot();
    // Slots 1 and 4 take 16-byte buddies in turn; freeing slot 1 leaves 12
    // free blocks of scale 4 whose buddies are used.
    m.type_keys(&"14".repeat(12));
    m.type_keys(&"a".repeat(12));
    m.type_keys("p");
    let out = m.expect("free blocks of scale A\n");
    assert_eq!(out.matches("slot 1: free(0x").count(), 12, "{out}");
    // 24 blocks of 16 bytes were taken: 640 = 512 + 128 bytes are left whole.
    assert!(
        out.ends_with(&counts(&[12, 0, 0, 1, 0, 1, 0])),
        "p printed:\n{out}"
    );
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn heap_heapcheck_alloc_and_free_commands_via_ps2() {
    let mut m = Machine::boot();
    // course: module 06
    m.type_keys(":heap\n");
    // course: else
    // // The stand-in heaps' reports (scales 4..15 on a static arena, up to
    // // 1B on module 05's arena mapped once) are longer than a screen:
    // // typed on the keyboard they would pause at `-- more --`.
    // m.type_serial(":heap\r");
    // course: end
    let out = m.expect("live blocks from `alloc`\n");
    assert!(
        out.contains("kernel heap: buddy design (heap=buddy)"),
        "{out}"
    );
    assert!(
        out.contains("scale        bytes  free blocks    free bytes\n    4           16 "),
        "{out}"
    );
    assert!(out.contains("\nfree: "), "{out}");
    m.type_keys("alloc 100\n");
    // A slot of the 128-byte class, in a slab that is a 4 KiB buddy block.
    let out = m.expect("a block of scale C)\n");
    assert!(out.contains("alloc(100, align 8) -> 0x"), "{out}");
    assert!(
        flat(&out).contains("(slot of 128 bytes in the slab at 0x"),
        "{out}"
    );
    let addr = returned(out.lines().rev().find(|l| l.contains("-> 0x")).unwrap());
    // An interior pointer: the heap's error, nothing changes.
    m.type_keys(&format!("free {:#x}\n", addr + 4));
    let out = flat(&m.expect("usage: free <addr>\n"));
    assert!(
        out.contains(&format!(
            "error: free({:#010X}) refused: {:#x} points inside the block whose payload starts at {addr:#x}",
            addr + 4,
            addr + 4
        )),
        "{out}"
    );
    m.type_keys(&format!("free {addr:#x}\n"));
    m.expect(&format!(
        "free({addr:#010X}): 100 bytes (align 8) returned to the kernel heap\n"
    ));
    // Freed twice, and a wild pointer: refused.
    m.type_keys(&format!("free {addr:#x}\n"));
    let out = m.expect("usage: free <addr>\n");
    assert!(
        out.contains(&format!("error: free({addr:#010X}) refused: ")),
        "{out}"
    );
    assert!(
        out.contains("double free") || out.contains("the kernel itself uses"),
        "{out}"
    );
    m.type_keys("free 0x1000\n");
    let out = m.expect("usage: free <addr>\n");
    assert!(
        out.contains("error: free(0x00001000) refused: 0x1000 is outside the heap"),
        "{out}"
    );
    m.type_keys("heapcheck\n");
    let out = m.expect("playground: heap ok: ");
    assert!(out.contains("kernel heap (buddy): heap ok: "), "{out}");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn heapmap_draws_the_playground_after_4_and_9_via_serial() {
    let mut m = Machine::boot();
    let base = playground_base(&m);
    m.type_serial("49:heapmap\r");
    let out = m.expect("legend: ");
    // scale 4 used, free 4, 5, 6, 7, 8 (1, 1, 2, 4, 8, 16 cells), 9 used (32).
    let row = format!(
        "{base:#010X} @++.+...+.......+...............@{}\n",
        "#".repeat(31)
    );
    assert!(out.contains(&row), "heapmap printed:\n{out}\nwant:\n{row}");
    assert!(
        out.contains(&format!(
            "playground map: 1 KiB at {base:#010X}; one cell = 16 bytes (scale 4)"
        )),
        "{out}"
    );
    // On the VGA screen the same cells are painted: red backgrounds for
    // used blocks, green for free ones.
    let screen = screen_backgrounds(&mut m);
    let want = format!("R{}{}", "G".repeat(31), "R".repeat(32));
    assert!(
        screen.iter().any(|row| row.contains(&want)),
        "no painted heapmap row on the screen:\n{}",
        screen.join("\n")
    );
    m.type_serial("heapmap kernel\r");
    let out = m.expect("legend: ");
    assert!(out.contains("kernel heap map: "), "{out}");
    // course: module 05
    let rows = "0xF"; // the kernel heap's arena at 0xF0000000
    // course: else
    // let rows = "0xC"; // the stand-in arena, in the kernel image
    // course: end
    // Rows of 64 cells: as many as the heap's bytes need (16 rows of 256
    // bytes on main's 256 KiB heap, 12 rows of 4 KiB on module 05's branch,
    // whose heap is mapped once at boot).
    let number = |after: &str, before: &str| -> u64 {
        out.split_once(after)
            .and_then(|(_, r)| r.split_once(before))
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or_else(|| panic!("no `{after}N{before}` in:\n{out}"))
    };
    let bytes = number("kernel heap map: ", " bytes");
    let cell = if out.contains(" KiB (scale ") {
        number("one cell = ", " KiB") * 1024
    } else {
        number("one cell = ", " bytes")
    };
    assert_eq!(
        out.lines().filter(|l| l.starts_with(rows)).count() as u64,
        bytes.div_ceil(64 * cell),
        "{out}"
    );
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn playground_12_command_resizes_then_p_via_ps2() {
    let mut m = Machine::boot();
    m.type_keys("9:playground 12\n");
    let out = flat(&m.expect("blocks dropped)\n"));
    assert!(
        out.contains("playground reset: 4096-byte buddy heap at 0x")
            && out.contains("scales 4..C; every slot emptied (1 blocks dropped)"),
        "{out}"
    );
    m.type_keys("playground 17\n");
    let out = m.expect("usage: playground [max-scale]\n");
    assert!(
        out.contains("error: `17`: max scale 17 is out of range 5..=16"),
        "{out}"
    );
    m.type_keys("\x1b");
    m.expect("hotkey mode:");
    m.type_keys("p");
    let out = m.expect("free blocks of scale C\n");
    assert!(
        out.ends_with(&counts(&[0, 0, 0, 0, 0, 0, 0, 0, 1])),
        "p printed:\n{out}"
    );
    // Eight 512-byte blocks fit in 4 KiB.
    m.type_keys("999999999");
    let out = m.expect("Out of memory!\n");
    assert_eq!(out.matches("slot 9: allocate(248)").count(), 8, "{out}");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn playground_boot_option_sizes_it_and_a_bad_one_keeps_the_default() {
    let mut m = Machine::boot_with(Boot {
        cmdline: "playground=12",
        ..Boot::default()
    });
    assert!(
        m.output()
            .contains("playground: 4096-byte buddy heap at 0x"),
        "{}",
        m.output()
    );
    m.type_keys("p");
    let out = m.expect("free blocks of scale C\n");
    assert!(
        out.ends_with(&counts(&[0, 0, 0, 0, 0, 0, 0, 0, 1])),
        "{out}"
    );
    drop(m);

    let m = Machine::boot_with(Boot {
        cmdline: "playground=99",
        ..Boot::default()
    });
    let out = flat(&m.output());
    assert!(
        out.contains("playground: playground=99: max scale 99 is out of range 5..=16")
            && out.contains("keeping the default 10 (1024 bytes)")
            && out.contains("playground: 1024-byte buddy heap at 0x"),
        "{out}"
    );
}
