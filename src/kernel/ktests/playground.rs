//! In-kernel tests of the hotkey playground, through the real hotkey path
//! (`KernelHost::hotkey`, output captured in a `String`): ShompOS's
//! scenarios `p`, `4 9 p`, `9 9 9`, `4 4 e e e`, counts of ten and more.

use crate::kassert;
use crate::kernel::ktests::kit::{Test, fresh_playground, press};
use crate::kernel::playground;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

pub static TESTS: &[Test] = &[
    Test {
        name: "playground_boot_p_one_block_of_scale_a",
        run: boot_p,
    },
    Test {
        name: "playground_4_9_p_splits_like_shompos",
        run: keys_4_9_p,
    },
    Test {
        name: "playground_third_9_is_out_of_memory",
        run: three_nines,
    },
    Test {
        name: "playground_stacks_and_counts_past_ten",
        run: stacks_and_counts,
    },
];

fn boot_p() -> Result<(), String> {
    fresh_playground()?;
    let out = press("p")?;
    let want = counts([0, 0, 0, 0, 0, 0, 1]);
    kassert!(out == want, "p printed:\n{out}want:\n{want}");
    playground_ok()
}

fn keys_4_9_p() -> Result<(), String> {
    let base = fresh_playground()?;
    let out = press("4 9 p")?;
    let want = format!(
        "slot 4: allocate(1) -> {:#010X} (scale 4)\nslot 9: allocate(248) -> {:#010X} (scale 9)\n{}",
        base + 9,
        base + 512 + 9,
        counts([1, 1, 1, 1, 1, 0, 0])
    );
    kassert!(out == want, "4 9 p printed:\n{out}want:\n{want}");
    playground_ok()?;
    fresh_playground().map(|_| ())
}

fn three_nines() -> Result<(), String> {
    fresh_playground()?;
    let out = press("9 9 9")?;
    let lines: Vec<&str> = out.lines().collect();
    kassert!(lines.len() == 3, "9 9 9 printed:\n{out}");
    kassert!(
        lines[0].starts_with("slot 9: allocate(248) -> 0x") && lines[0].ends_with("(scale 9)"),
        "first 9: {}",
        lines[0]
    );
    kassert!(
        lines[1].starts_with("slot 9: allocate(248) -> 0x") && lines[0] != lines[1],
        "second 9: {}",
        lines[1]
    );
    kassert!(lines[2] == "Out of memory!", "third 9: {}", lines[2]);
    let p = press("p")?;
    kassert!(p == counts([0; 7]), "after 9 9 9, p printed:\n{p}");
    playground_ok()?;
    fresh_playground().map(|_| ())
}

fn stacks_and_counts() -> Result<(), String> {
    let base = fresh_playground()?;
    // A second press stacks a block; its free key frees the newest first.
    let out = press("4 4 e e e")?;
    let want = format!(
        "slot 4: allocate(1) -> {a:#010X} (scale 4)\nslot 4: allocate(1) -> {b:#010X} (scale 4)\n\
         slot 4: free({b:#010X})\nslot 4: free({a:#010X})\nslot 4 is empty\n",
        a = base + 9,
        b = base + 16 + 9
    );
    kassert!(out == want, "4 4 e e e printed:\n{out}want:\n{want}");
    kassert!(
        press("p")? == counts([0, 0, 0, 0, 0, 0, 1]),
        "nothing leaked"
    );
    // Slots 1 and 4 take 16-byte buddies in turn; freeing slot 1 leaves 12
    // free blocks of scale 4 whose buddies are used: a count of two digits.
    press(&"14".repeat(12))?;
    let frees = press(&"a".repeat(12))?;
    kassert!(
        frees.lines().count() == 12 && frees.lines().all(|l| l.starts_with("slot 1: free(0x")),
        "a x12 printed:\n{frees}"
    );
    let out = press("p")?;
    // 24 blocks of 16 bytes were taken: 640 bytes = 512 + 128 are left whole.
    let want = counts([12, 0, 0, 1, 0, 1, 0]);
    kassert!(out == want, "p printed:\n{out}want:\n{want}");
    playground_ok()?;
    fresh_playground().map(|_| ())
}

/// `p`'s output for counts of scales 4..A.
fn counts(c: [usize; 7]) -> String {
    let mut s = String::from("free_block counts:\n");
    for (i, n) in c.iter().enumerate() {
        s += &format!("{n} free blocks of scale {:X}\n", i + 4);
    }
    s
}

fn playground_ok() -> Result<(), String> {
    playground::with_playground(|p| p.heap().check())
        .map(|_| ())
        .map_err(|e| format!("playground check: {e}"))
}
