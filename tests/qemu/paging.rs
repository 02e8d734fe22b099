//! QEMU tests of paging and the virtual memory manager: the walk, the
//! faults (reported with their region and survived), segmentation, the
//! double fault on a kernel stack overflow, and map/unmap/pagedir/vmregions.

use crate::support::{Machine, find_wrapped, flat};
// course: module 06
use std::time::Duration;
// course: end

// course: module 06
/// The `mapped` column of a `vmregions` line for `region`.
fn mapped_pages(report: &str, region: &str) -> u64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(region))
        .unwrap_or_else(|| panic!("no `{region}` line in:\n{report}"));
    let words: Vec<&str> = line[region.len()..].split_whitespace().collect();
    // start-last size unit mapped use...
    words[3]
        .parse()
        .unwrap_or_else(|_| panic!("no page count in `{line}`"))
}
// course: end

// course: module 06
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn translate_kernel_text_walks_to_one_mib_via_ps2() {
    let mut m = Machine::boot();
    m.type_keys(":translate 0xC0100000\n");
    m.expect("translate V0xc0100000: PDX 0x300 (768) | PTX 0x100 (256) | offset 0x000");
    m.expect("CR3  directory at P0x");
    m.expect("PDE  PD[768] = ");
    m.expect("-> page table at P0x");
    let pte = m.expect("-> frame P0x00100000");
    assert!(pte.contains("PTE  PT[256] = 0x00100"), "{pte}");
    m.expect("=>   physical P0x00100000 (frame P0x00100000 + offset 0x000)");
    m.expect("region: kernel linear (physical 0..768 MiB); kernel text (read-only)");
    m.expect("the PDE is at V0xfffffc00, the PTE at V0xfff00400");
    // An address inside a 4 MiB page stops at the directory.
    m.type_serial("translate 0xC0400010\r");
    m.expect("-> 4 MiB page at P0x00400000");
    m.expect("=>   physical P0x00400010");
}
// course: end

// course: module 06
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn page_faults_are_decoded_placed_and_survived() {
    let mut m = Machine::boot();
    m.type_serial(":fault pf\r");
    m.expect("EXCEPTION #PF page fault (vector 14)");
    m.expect("error code 0x0: page not present, read, supervisor mode");
    m.expect("CR2 (faulting address) 0x00000000");
    m.expect("region: null guard (never mapped: null pointers fault)");
    m.expect("PDE  PD[0] = 0x00000000 [---------] not present");
    m.expect("cause: null pointer dereference");
    m.expect("survived #PF at 0x00000000");

    m.type_serial("fault wp\r");
    let intro = m.expect("CR0.WP is on) ...");
    let text = intro
        .rsplit("back to ")
        .next()
        .and_then(|s| s.split_whitespace().next())
        .expect("the address written")
        .to_string();
    m.expect("EXCEPTION #PF page fault (vector 14)");
    m.expect("error code 0x3: protection violation, write, supervisor mode");
    m.expect(&format!("CR2 (faulting address) {text}"));
    m.expect("region: kernel linear (physical 0..768 MiB); kernel text (read-only)");
    let walk = m.expect("cause: write to a read-only page");
    // The PTE of kernel text: present, not writable.
    assert!(walk.contains("PTE  PT["), "{walk}");
    assert!(walk.contains("[P----A--G] -> frame"), "{walk}");
    m.expect(&format!(
        "survived #PF at {text} (error code 0x3: protection violation, write, supervisor mode)"
    ));

    m.type_serial("echo alive\r");
    m.expect("cairn> echo alive\nalive");
}
// course: end

/// Type `line` on the serial line and return its answer: everything up to
/// the next prompt. A refusal (or a stub's error) is known at once, not at
/// the deadline: the graded lab test that uses it fails fast on the stubs.
fn command(m: &mut Machine, line: &str) -> String {
    m.type_serial(&format!("{line}\r"));
    m.expect("cairn> ")
}

/// `map`, `translate` and `unmap` of one user-half page, typed over the
/// serial line: the walk goes through the page table `map` created to the
/// frame it took; a second `map` is refused; `unmap` gives back the frame
/// and the page table it left empty, and the walk stops at the directory.
/// (Lab 05's graded QEMU test: each answer is read up to the prompt, so on
/// the stubs it fails at the first `map`, in seconds.)
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn map_translate_unmap_one_page_over_serial() {
    let mut m = Machine::boot();
    m.type_serial(":");
    m.expect("cairn> ");
    let mapped = command(&mut m, "map 0x10000000");
    assert!(
        find_wrapped(&mapped, "a fresh zeroed frame from the PMM").is_some(),
        "{mapped}"
    );
    let frame = mapped
        .split("mapped V0x10000000 -> ")
        .nth(1)
        .and_then(|s| s.get(..11))
        .unwrap_or_else(|| panic!("no frame in:\n{mapped}"))
        .to_string();
    assert!(frame.starts_with("P0x"), "{mapped}");
    let walk = command(&mut m, "translate 0x10000000");
    assert!(find_wrapped(&walk, "=>   physical").is_some(), "{walk}");
    assert!(walk.contains("-> page table at P0x"), "{walk}");
    assert!(walk.contains(&format!("-> frame {frame}")), "{walk}");
    let again = command(&mut m, "map 0x10000000");
    assert!(
        find_wrapped(&again, "error: cannot map: V0x10000000 is already mapped").is_some(),
        "{again}"
    );
    let out = command(&mut m, "unmap 0x10000000");
    for said in [
        format!("unmapped V0x10000000 (was {frame}"),
        "it was owned: the frame went back to the PMM".to_string(),
        "its page table, left empty, went back too".to_string(),
    ] {
        assert!(find_wrapped(&out, &said).is_some(), "`{said}` in:\n{out}");
    }
    let walk = command(&mut m, "translate 0x10000000");
    assert!(walk.contains("not present: the walk stops here"), "{walk}");
    assert!(walk.contains("PDE  PD[64] = 0x00000000"), "{walk}");
}

#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn segdemo_shows_logical_linear_physical_and_the_gp() {
    let mut m = Machine::boot();
    m.type_serial(":segdemo\r");
    m.expect("segdemo: GDT[7] is now a data segment");
    let row = m.expect("data rw- 32-bit");
    assert!(row.contains("7  0x0038  base 0xc0"), "{row}");
    assert!(row.contains("limit 0x0000001f  1B"), "{row}");
    m.expect("logical  0x0038:0x00000010");
    let linear = m.expect("(bytes 0x10..0x13 <= limit 0x1f)");
    let linear = flat(&linear);
    let line = &linear[linear.rfind("linear ").unwrap()..];
    // linear = base + offset
    let words: Vec<&str> = line.split_whitespace().collect();
    let lin = u32::from_str_radix(words[1].trim_start_matches("V0x"), 16).unwrap();
    let base = u32::from_str_radix(words[4].trim_start_matches("0x"), 16).unwrap();
    assert_eq!(lin, base + 0x10, "{line}");
    m.expect(&format!("translate V{lin:#010x}:"));
    m.expect(&format!("=>   physical P{:#010x}", lin - 0xC000_0000));
    m.expect("-> 0x55555555 (SEGDEMO_WORDS holds 0x55555555 there)");
    m.expect("logical  0x0038:0x00000020");
    m.expect("pass the limit 0x1f: the CPU must raise #GP(0)");
    // QEMU's TCG does not check data-segment limits; KVM and hardware do.
    let past = flat(&m.expect("code segments have limits too"));
    assert!(
        past.contains("survived #GP (vector 13, error code 0x0)")
            || past.contains("no #GP: this CPU did not check the data-segment limit"),
        "{past}"
    );
    // Code-segment limits are checked by every CPU and by TCG: a real #GP.
    m.expect("8  0x0040  base 0xc0");
    m.expect("limit 0x0000000f  1B  dpl 0  code r-x 32-bit");
    m.expect("far call 0x0040:0x00000000 ...");
    m.expect("ran the retf at linear V0xc0");
    m.expect("far call 0x0040:0x00000020 ...");
    m.expect("EXCEPTION #GP general protection fault (vector 13)");
    m.expect(
        "survived #GP (vector 13, error code 0x40): offset 0x20 passes the limit 0xf; nothing ran",
    );
    m.expect("GDTR.limit = 0x47");
    m.expect("EXCEPTION #GP general protection fault (vector 13)");
    m.expect("error code 0x48: GDT index 9 (selector 0x0048)");
    m.expect("survived #GP (vector 13, error code 0x48): the selector passes the GDT's limit");
    m.type_serial("echo alive\r");
    m.expect("cairn> echo alive\nalive");
}

// course: module 06
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn stack_overflow_double_faults_on_its_own_tss_and_halts() {
    let mut m = Machine::boot();
    m.type_serial(":fault stack\r");
    m.expect("recursing with 1024 bytes per call");
    m.expect("EXCEPTION #DF double fault (vector 8)");
    m.expect("ESP is at the guard page below the kernel stack: kernel stack overflow");
    m.expect("region: kernel linear (physical 0..768 MiB); the guard page below the boot stack (never mapped)");
    m.expect("not present: the walk stops here");
    m.expect("cairn: halted: double fault");
    // Halted, not rebooted: QEMU runs on (-no-reboot would end it on a
    // triple fault), the banner was printed once, and nothing answers.
    std::thread::sleep(Duration::from_secs(2));
    let status = m.monitor_command("info status");
    assert!(status.contains("VM status: running"), "{status}");
    let regs = m.monitor_command("info registers");
    assert!(regs.contains("HLT=1"), "the CPU is not halted:\n{regs}");
    m.type_serial("echo alive\r");
    std::thread::sleep(Duration::from_secs(1));
    let out = m.output();
    assert_eq!(
        out.matches("a teaching kernel for memory management")
            .count(),
        1,
        "{out}"
    );
    assert_eq!(out.matches("cairn: ready").count(), 1, "{out}");
    assert!(
        !out.contains("\nalive"),
        "the halted kernel answered:\n{out}"
    );
}
// course: end

// course: module 06
#[test]
#[ignore = "boots QEMU: run with `make test-qemu`"]
fn map_unmap_show_in_pagedir_and_vmregions() {
    let mut m = Machine::boot();
    m.type_serial(":vmregions\r");
    let before = m.expect("the rest grown through the VMM");
    assert!(
        before.contains("kernel linear   V0xc0000000-V0xefffffff  768 MiB"),
        "{before}"
    );
    assert!(
        before.contains("recursive map   V0xffc00000-V0xffffffff"),
        "{before}"
    );
    assert_eq!(mapped_pages(&before, "kernel private"), 0, "{before}");
    assert!(mapped_pages(&before, "kernel heap") >= 64, "{before}");

    m.type_serial("map 0xf8000000\r");
    m.expect("mapped V0xf8000000 -> P0x");
    m.expect("[PW------- own]: a fresh zeroed frame from the PMM");
    m.type_serial("map 0xf8001000 0xb8000\r");
    m.expect("mapped V0xf8001000 -> P0x000b8000 [PW--C----]");
    m.type_serial("map 0xf8000000\r");
    m.expect("error: cannot map: V0xf8000000 is already mapped");
    m.type_serial("map 0xc0000000\r");
    m.expect("error: V0xc0000000 is in the kernel linear region");
    m.type_serial("unmap 0xffc00000\r");
    m.expect("error: V0xffc00000 is in the recursive map region");

    m.type_serial("pagedir\r");
    let dir = m.expect("own = the mapping owns its frame");
    assert!(
        dir.contains("V0xc0100000-V0xc01"),
        "kernel text run:\n{dir}"
    );
    assert!(
        dir.contains(" 4M [PW-"),
        "4 MiB pages of the linear space:\n{dir}"
    );
    assert!(dir.contains("frames, scattered"), "the heap:\n{dir}");
    assert!(dir.contains("V0xf8000000-V0xf8000fff -> P0x"), "{dir}");
    assert!(dir.contains("[PW------- own]"), "{dir}");
    assert!(
        dir.contains("V0xf8001000-V0xf8001fff -> P0x000b8000-P0x000b8fff"),
        "{dir}"
    );
    assert!(
        dir.contains("V0xffc00000-V0xffffffff -> directory P0x"),
        "{dir}"
    );

    m.type_serial("vmregions\r");
    let during = m.expect("the rest grown through the VMM");
    assert_eq!(mapped_pages(&during, "kernel private"), 2, "{during}");

    m.type_serial("unmap 0xf8000000\r");
    m.expect("unmapped V0xf8000000 (was P0x");
    m.expect("it was owned: the frame went back to the PMM");
    m.type_serial("unmap 0xf8001000\r");
    m.expect("it was not owned: the frame stays as it was");
    m.type_serial("fault pf 0xf8000000\r");
    m.expect("region: kernel private");
    m.expect("cause: the page is not mapped (PTE not present)");
    m.expect("survived #PF at 0xf8000000");
    m.type_serial("vmregions\r");
    let after = m.expect("the rest grown through the VMM");
    assert_eq!(mapped_pages(&after, "kernel private"), 0, "{after}");
}
// course: end
