//! QEMU tests of the allocator family and the heap chosen at boot.
//!
//! Each `heap=` design is booted on its own machine; `heapinfo` must name
//! it, and the shell allocates from it: `alloc 1000` / `free <addr>` (when
//! the kernel has the heap layer's commands), and `channel on` takes two
//! pages of the kernel heap for a MemoryChannel (seen in `heapinfo`'s
//! allocation count), keys pressed on the PS/2 keyboard (QEMU `sendkey`) are written into the
//! channel by IRQ 1, and the shell reads them back. Commands that must not
//! feed the channel are typed on the serial line, which is not its producer.

use crate::support::{Boot, Machine};

/// The number at the end of the `heapinfo` line that starts with `name`.
fn field(heapinfo: &str, name: &str) -> usize {
    let prefix = format!("  {name} ");
    let line = heapinfo
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{name}` line in:\n{heapinfo}"));
    line[prefix.len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number in `{line}`"))
}

/// Run `heapinfo` on the serial line and return its output.
fn heapinfo(m: &mut Machine) -> String {
    m.type_serial("heapinfo\r");
    m.expect("kernel heap: ");
    m.expect("other designs")
}

/// Boot with `heap=kind`, check `heapinfo`, allocate through the shell with
/// the channel demo and give it back.
fn heap_session(kind: &str) {
    let cmdline = format!("heap={kind}");
    let mut m = Machine::boot_with(Boot {
        cmdline: &cmdline,
        ..Boot::default()
    });
    // heapinfo through the PS/2 keyboard (the channel is still off).
    m.type_keys(":heapinfo\n");
    m.expect(&format!(
        "kernel heap: {kind} (chosen with heap= on the command line)"
    ));
    let before = m.expect("other designs");
    assert!(before.contains("check                 ok"), "{before}");
    assert_eq!(field(&before, "refused frees"), 0, "{before}");
    let size = field(&before, "size");
    assert_eq!(
        field(&before, "used") + field(&before, "free"),
        size,
        "{before}"
    );
    assert!(field(&before, "largest free") <= field(&before, "free"));

    // `alloc` and `free` (the heap layer's commands).
    m.type_serial("help alloc\r");
    m.type_serial("echo end-of-help\r");
    let help = m.expect("echo end-of-help\nend-of-help");
    assert!(help.contains("alloc [<size> [align]]"), "{help}");
    m.type_serial("alloc 1000\r");
    m.expect("alloc(1000, align 8) -> ");
    let rest = m.expect(")\n");
    let addr = rest.split_whitespace().next().unwrap().to_string();
    let with = heapinfo(&mut m);
    assert_eq!(
        field(&with, "allocations"),
        field(&before, "allocations") + 1,
        "`alloc 1000` at {addr}:\n{with}"
    );
    assert!(field(&with, "used") >= field(&before, "used") + 1000);
    m.type_serial(&format!("free {addr}\r"));
    m.expect(&format!(
        "free({addr}): 1000 bytes (align 8) returned to the kernel heap"
    ));
    let freed = heapinfo(&mut m);
    assert_eq!(
        field(&freed, "allocations"),
        field(&before, "allocations"),
        "{freed}"
    );
    assert!(freed.contains("check                 ok"), "{freed}");

    // Allocate through the shell: the channel's two pages.
    m.type_serial("channel on 512\r");
    m.expect("(two pages from the kernel heap)");
    m.expect("512-byte messages, 7 slots, 6 usable");
    let on = heapinfo(&mut m);
    assert_eq!(
        field(&on, "allocations"),
        field(&before, "allocations") + 2,
        "before:\n{before}\nafter `channel on`:\n{on}"
    );
    assert!(field(&on, "used") >= field(&before, "used") + 2 * 4096);

    // Fourteen keys on the keyboard: the ring takes six, refuses eight.
    m.type_keys("echo 12345678\n");
    m.expect("cairn> echo 12345678\n12345678\n");
    m.type_serial("channel\r");
    let read = m.expect("refused as full (none overwritten)");
    let keys = ["'e'", "'c'", "'h'", "'o'", "' '", "'1'"];
    for (i, k) in keys.iter().enumerate() {
        let line = format!("index   {i}: seq    {} ", i + 1);
        let at = read
            .find(&line)
            .unwrap_or_else(|| panic!("no `{line}`:\n{read}"));
        let rest = &read[at..];
        let end = rest.find('\n').unwrap_or(rest.len());
        assert!(
            rest[..end].ends_with(&format!("key {k}")),
            "message {i} is not {k}: `{}`",
            &rest[..end]
        );
    }
    assert!(!read.contains("key '2'"), "a seventh message fit:\n{read}");
    assert!(
        read.contains("read 6 messages, then read() reported Empty"),
        "{read}"
    );
    assert!(
        read.contains("14 offered, 6 written, 8 refused as full"),
        "{read}"
    );

    // Empty now; the next key goes in, wrapping the ring.
    m.type_keys("x");
    m.expect("cairn> x");
    m.type_serial("\x08");
    m.type_serial("channel\r");
    let read = m.expect("refused as full (none overwritten)");
    assert!(
        read.contains("index   6: seq   15 ") && read.contains("key 'x'"),
        "{read}"
    );
    m.type_serial("channel off\r");
    m.expect("channel: off: 7 written, 8 refused as full, 0 unread dropped");
    let off = heapinfo(&mut m);
    assert_eq!(
        field(&off, "allocations"),
        field(&before, "allocations"),
        "the channel pages were not given back:\n{off}"
    );
    assert!(off.contains("check                 ok"), "{off}");
    assert_eq!(field(&off, "refused frees"), 0, "{off}");
    m.type_serial("halt\r");
    m.expect("cairn: powering off");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn heap_buddy_is_chosen_and_serves_the_channel() {
    heap_session("buddy");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn heap_pool_is_chosen_and_serves_the_channel() {
    heap_session("pool");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn heap_gaptree_is_chosen_and_serves_the_channel() {
    heap_session("gaptree");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn heap_firstfit_is_chosen_and_serves_the_channel() {
    heap_session("firstfit");
}

/// An unknown `heap=` is reported at boot and the buddy heap is used.
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn unknown_heap_falls_back_to_buddy() {
    let mut m = Machine::boot_with(Boot {
        cmdline: "heap=slab",
        ..Boot::default()
    });
    assert!(
        m.output()
            .contains("memory: heap= takes buddy, pool, gaptree or firstfit; using buddy"),
        "{}",
        m.output()
    );
    m.type_serial(":heapinfo\r");
    m.expect("kernel heap: buddy (the default: the heap= value was not understood)");
    m.type_serial("channel on 3\r");
    m.expect("error: message size `3`: give 16 to 512 bytes");
    m.expect("usage: channel [on [bytes] | read [max] | fill | off]");
    m.type_serial("channel\r");
    m.expect("channel: off;");
}

/// The ISO's GRUB menu: buddy first, booting at once, then one entry per
/// heap, one per other frame allocator, and the test entry. (Reads the
/// file; boots nothing.)
#[test]
#[ignore = "the QEMU tier's check of the ISO's menu: run with `make test-qemu`"]
fn grub_menu_has_an_entry_per_heap_and_boots_buddy_at_once() {
    let cfg = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/iso/boot/grub/grub.cfg"
    ))
    .expect("iso/boot/grub/grub.cfg");
    let setting = |name: &str| {
        cfg.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(&format!("set {name}=")))
            .map(str::to_string)
    };
    assert_eq!(setting("timeout").as_deref(), Some("0"), "{cfg}");
    assert_eq!(setting("timeout_style").as_deref(), Some("hidden"), "{cfg}");
    assert_eq!(setting("default").as_deref(), Some("0"), "{cfg}");
    let cmdlines: Vec<&str> = cfg
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("multiboot2 /boot/cairn.elf"))
        .map(str::trim)
        .collect();
    assert_eq!(
        cmdlines,
        [
            "heap=buddy",
            "heap=pool",
            "heap=gaptree",
            "heap=firstfit",
            "pmm=bitmap",
            "pmm=freelist",
            "test",
            "poison"
        ],
        "{cfg}"
    );
    assert_eq!(
        cfg.matches("menuentry ").count(),
        cmdlines.len(),
        "one multiboot2 line per entry:\n{cfg}"
    );
}

/// The text of one screen row with one byte per cell, so that a byte
/// offset in it is a column: GRUB's box-drawing cells (codes above 0x7F)
/// read as `.`.
fn row_text(row: &[(char, u8)]) -> String {
    row.iter()
        .map(|c| if c.0.is_ascii() { c.0 } else { '.' })
        .collect()
}

/// The ISO's own menu: Esc while GRUB starts shows it (the boot waits),
/// and its third entry boots the gap-tree heap. Keys go through `sendkey`;
/// the menu is read from the screen (GRUB writes to VGA text memory, not
/// to the serial line).
///
/// No step is timed: GRUB's menu is hidden with a timeout of 0, so it shows
/// only if an Esc is waiting when GRUB looks, and how long the BIOS and
/// GRUB take depends on the machine's load. So Esc is pressed again and
/// again until the menu is on the screen (the BIOS buffers the keys), and
/// each key after it waits for the screen to show its effect. (This test
/// once tapped Esc for a fixed 10 s: on a loaded machine GRUB looked after
/// the tapping had stopped and booted its first entry.)
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn grub_menu_third_entry_boots_the_gaptree_heap() {
    let mut m = Machine::boot_with(Boot {
        iso_as_built: true,
        ready: "",
        // A guard against a hang, not a measure: every wait below ends as
        // soon as what it waits for is on the screen or the serial line.
        timeout: std::time::Duration::from_secs(240),
        ..Boot::default()
    });
    // The attribute (colours) of the first cell of `entry` on the screen,
    // once GRUB's menu shows it: GRUB draws the chosen entry in other colours.
    let attr_of = |m: &mut Machine, entry: &str| -> Option<u8> {
        m.vga_screen().into_iter().find_map(|row| {
            let col = row_text(&row).find(entry)?;
            Some(row[col].1)
        })
    };
    let first = "Cairn (heap=buddy)";
    let third = "Cairn (heap=gaptree)";
    let chosen = loop {
        if let (Some(a), Some(_)) = (attr_of(&mut m, first), attr_of(&mut m, third)) {
            break a;
        }
        assert!(
            !m.output().contains("Cairn "),
            "the kernel booted although Esc was pressed while GRUB started:\n{}",
            m.output()
        );
        m.check_deadline("GRUB's menu on the screen");
        m.press("esc");
    };
    assert!(
        !m.output().contains("Cairn "),
        "the kernel booted before GRUB's menu showed:\n{}",
        m.output()
    );
    // Move to the third entry with the screen in the loop: read which entry
    // is drawn as chosen, press Down (or Up) once, wait for the screen to
    // show it. Pressing Down twice blind failed on a loaded machine: the
    // Esc presses that waited for the menu had filled the BIOS's 15-key
    // buffer, which dropped the Downs.
    let chosen_row = |m: &mut Machine| -> (Option<usize>, Option<usize>) {
        // The menu's rows, each with its text read once.
        let rows: Vec<(String, Vec<(char, u8)>)> = m
            .vga_screen()
            .into_iter()
            .map(|row| (row_text(&row), row))
            .filter(|(text, _)| text.contains("Cairn ("))
            .collect();
        let target = rows.iter().position(|(text, _)| text.contains(third));
        let at = rows
            .iter()
            .position(|(text, row)| text.find("Cairn (").is_some_and(|col| row[col].1 == chosen));
        (at, target)
    };
    loop {
        let (at, target) = chosen_row(&mut m);
        if at.is_some() && at == target {
            break;
        }
        m.check_deadline("the third entry chosen in GRUB's menu");
        if let (Some(at), Some(target)) = (at, target) {
            m.press(if at < target { "down" } else { "up" });
            let waited = std::time::Instant::now();
            while chosen_row(&mut m).0 == Some(at)
                && waited.elapsed() < std::time::Duration::from_secs(3)
            {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        } else {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    m.press("ret");
    m.expect("cairn: ready");
    m.type_keys(":heapinfo\n");
    m.expect("kernel heap: gaptree (chosen with heap= on the command line)");
}
