//! In-kernel tests of the heap commands, output captured: `heap`,
//! `heapcheck`, `alloc`/`free` (good and bad), `playground N`, `heapinfo`.

use crate::kassert;
use crate::kernel::heap::{self as kheap};
use crate::kernel::ktests::kit::{Test, fresh_playground, kernel_heap_ok, press, run_command};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

pub static TESTS: &[Test] = &[
    Test {
        name: "heap_commands_alloc_free_check_playground",
        run: commands_work,
    },
    // course: module 07
    Test {
        name: "family_heapinfo_names_the_heap",
        run: heapinfo_command,
    },
    // course: end
];

fn commands_work() -> Result<(), String> {
    let kind = kheap::kind().name();
    let out = run_command("heap");
    kassert!(
        out.starts_with(&format!("kernel heap: {kind} design")),
        "heap:\n{out}"
    );
    if kind == "buddy" {
        kassert!(
            out.contains("scale        bytes  free blocks    free bytes")
                && out.contains("\n    4           16 ")
                && out.contains("free: "),
            "heap table:\n{out}"
        );
    } else {
        kassert!(out.contains("heap's dump:"), "heap dump:\n{out}");
    }

    let out = run_command("alloc 100");
    kassert!(
        out.starts_with("alloc(100, align 8) -> 0x"),
        "alloc:\n{out}"
    );
    let addr = returned_addr(&out)?;
    kassert!(addr.is_multiple_of(8), "{addr:#x} not 8-aligned");
    // An interior pointer of our own block: refused, the block stays ours.
    let out = run_command(&format!("free {:#x}", addr + 4));
    kassert!(
        out.starts_with(&format!("error: free({:#010X}) refused: ", addr + 4))
            && !out.contains("heap bug"),
        "interior free:\n{out}"
    );
    let list = run_command("alloc");
    kassert!(
        list.contains(&format!("{addr:#010X}  100 bytes, align 8")),
        "alloc's table lost the block:\n{list}"
    );
    let out = run_command(&format!("free {addr:#x}"));
    kassert!(
        out == format!("free({addr:#010X}): 100 bytes (align 8) returned to the kernel heap\n"),
        "free:\n{out}"
    );
    // Again: a double free (or a block someone took since): refused.
    let out = run_command(&format!("free {addr:#x}"));
    kassert!(
        out.starts_with(&format!("error: free({addr:#010X}) refused: ")),
        "double free:\n{out}"
    );
    if kind == "buddy" {
        kassert!(
            out.contains("double free") || out.contains("the kernel itself uses"),
            "double free reason:\n{out}"
        );
    }
    let out = run_command("free 0x1000");
    kassert!(
        out.starts_with("error: free(0x00001000) refused: ") && out.contains("outside the heap"),
        "wild free:\n{out}"
    );
    let out = run_command("free twelve");
    kassert!(
        out.starts_with("error: `twelve`: not a number"),
        "bad argument:\n{out}"
    );
    let out = run_command("heapcheck");
    kassert!(
        out.lines().count() == 3
            && out.lines().all(|l| l.contains(": heap ok: "))
            && out.starts_with(&format!("kernel heap ({kind}): heap ok")),
        "heapcheck:\n{out}"
    );

    // playground <max-scale> resizes (and empties) the playground.
    press("4 9")?;
    let out = run_command("playground 12");
    kassert!(
        out.starts_with("playground reset: 4096-byte buddy heap at 0x")
            && out.ends_with("scales 4..C; every slot emptied (2 blocks dropped)\n"),
        "playground 12:\n{out}"
    );
    let p = press("p")?;
    kassert!(
        p.ends_with("0 free blocks of scale B\n1 free blocks of scale C\n"),
        "p after playground 12:\n{p}"
    );
    for bad in ["4", "17", "x"] {
        let out = run_command(&format!("playground {bad}"));
        kassert!(
            out.starts_with(&format!("error: `{bad}`: ")),
            "playground {bad}:\n{out}"
        );
    }
    let out = run_command("playground");
    kassert!(
        out.starts_with("playground: 4096-byte buddy heap at 0x")
            && out.contains("slots: all empty"),
        "playground:\n{out}"
    );
    let out = run_command("heapmap playground");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("0x")).collect();
    kassert!(
        rows.len() == 4
            && rows.iter().all(|r| r.len() == 11 + 64)
            && rows[0][11..].starts_with('+')
            && rows.iter().map(|r| &r[11..]).collect::<String>()[1..]
                .bytes()
                .all(|b| b == b'.'),
        "heapmap of a 4 KiB playground:\n{out}"
    );
    fresh_playground()?;
    kassert!(
        run_command("heapmap").contains("\n0x")
            && run_command("heapmap nowhere").starts_with("error: no heap `nowhere`"),
        "heapmap arguments"
    );
    kernel_heap_ok()
}

/// The address after `-> ` in an `alloc` line.
fn returned_addr(out: &str) -> Result<usize, String> {
    let hex = out
        .split("-> 0x")
        .nth(1)
        .and_then(|s| s.get(..8))
        .ok_or(format!("no address in {out:?}"))?;
    usize::from_str_radix(hex, 16).map_err(|e| format!("{hex}: {e}"))
}

// course: module 07
fn heapinfo_command() -> Result<(), String> {
    let out = run_command("heapinfo");
    let name = kheap::kind().name();
    kassert!(
        out.starts_with(&format!("kernel heap: {name} (")),
        "heapinfo does not name {name}:\n{out}"
    );
    for field in [
        "size",
        "used",
        "free",
        "largest free",
        "allocations",
        "fragmentation",
        "mapped",
        "grown",
        "refused frees",
    ] {
        kassert!(out.contains(&format!("\n  {field} ")), "no {field}:\n{out}");
    }
    kassert!(out.contains("check                 ok"), "{out}");
    let out = run_command("heapinfo now");
    kassert!(
        out.starts_with("error:"),
        "an argument was accepted:\n{out}"
    );
    Ok(())
}
// course: end
