//! In-kernel tests of the kernel heap (whatever design `heap=` chose) and of
//! the hotkey playground, run by `make test-kernel` on every design.
//!
//! ```text
//!   kernel heap:  Box Vec String BTreeMap ─► growth past INITIAL_HEAP
//!                 ─► alignment 1..4096 ─► bad frees refused, check() ok
//!                 ─► poison on: a write after free is named by heapcheck
//!   playground:   keys through KernelHost::hotkey, output captured in a String
//!                 boot `p` | `4 9 p` | `9 9 9` | `4 4 e e e` | counts >= 10
//!   commands:     heap, heapcheck, alloc/free (good and bad), playground N
//! ```

use crate::kassert;
use crate::kernel::commands;
// course: module 06
use crate::kernel::heap::{GrowFailure, INITIAL_HEAP};
use crate::kernel::memory;
// course: end
use crate::kernel::heap as kheap;
use crate::kernel::host::KernelHost;
use crate::kernel::ktests::kit::Test;
use crate::kernel::playground;
use crate::mm::heap::HeapBackend;
use crate::mm::heap::playground::DEFAULT_MAX_SCALE;
use crate::mm::layout::PAGE_SIZE;
use crate::shell::Host;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;

pub static TESTS: &[Test] = &[
    Test {
        name: "heap_box_vec_string_btreemap",
        run: collections,
    },
    // course: module 06
    Test {
        name: "heap_grows_past_initial_size",
        run: grows,
    },
    // course: end
    Test {
        name: "heap_alignment_up_to_4096",
        run: alignment,
    },
    Test {
        name: "heap_bad_free_refused_heap_still_checks",
        run: bad_free,
    },
    // course: module 06
    Test {
        name: "heap_growth_under_the_memory_lock_fails_named",
        run: growth_under_memory_lock,
    },
    // course: end
    Test {
        name: "heap_write_after_free_found_by_heapcheck",
        run: write_after_free,
    },
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
    Test {
        name: "heap_commands_alloc_free_check_playground",
        run: commands_work,
    },
];

// course: module 06
/// The old hang: an allocation that needs the heap to grow, made inside
/// `memory::with`, spun for ever on the memory lock its own caller held.
/// Now the grow hook does not wait: the allocation fails, the failure is
/// `GrowFailure::MemoryLocked`, and the heap is intact.
fn growth_under_memory_lock() -> Result<(), String> {
    let _ = kheap::take_grow_failure();
    // Larger than all the heap has mapped: no free block can hold it.
    let size = (kheap::mapped_bytes() + PAGE_SIZE).next_power_of_two();
    let layout = Layout::from_size_align(size, PAGE_SIZE).map_err(|e| format!("{e}"))?;
    let r = memory::with(|_| kheap::allocate(layout));
    let failure = kheap::take_grow_failure();
    if let Ok(p) = r {
        let _ = kheap::deallocate(p, layout);
        return Err(format!("{size} bytes were allocated under the memory lock"));
    }
    kassert!(
        failure == Some(GrowFailure::MemoryLocked),
        "the growth under the memory lock failed with {failure:?}, not MemoryLocked"
    );
    kernel_heap_ok()
}
// course: end

/// The kernel heap's own verdict.
fn kernel_heap_ok() -> Result<(), String> {
    match kheap::with(|h| HeapBackend::check(h)) {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(format!("{} heap check: {e}", kheap::kind().name())),
        None => Err("no kernel heap".into()),
    }
}

fn collections() -> Result<(), String> {
    let b = Box::new([0x5A5A_5A5Au32; 256]);
    kassert!(b.iter().all(|&x| x == 0x5A5A_5A5A), "Box contents changed");

    let mut v: Vec<u64> = Vec::new();
    for i in 0..20_000u64 {
        v.push(i * i);
    }
    kassert!(v.len() == 20_000, "Vec length {}", v.len());
    kassert!(
        v.iter().enumerate().all(|(i, &x)| x == (i * i) as u64),
        "Vec contents wrong after its reallocations"
    );

    let mut s = String::new();
    for i in 0..5_000 {
        s.push(char::from(b'a' + (i % 26) as u8));
    }
    kassert!(s.len() == 5_000, "String length {}", s.len());
    kassert!(
        s.bytes()
            .enumerate()
            .all(|(i, c)| c == b'a' + (i % 26) as u8),
        "String contents wrong"
    );

    let mut m = BTreeMap::new();
    for i in 0..5_000u32 {
        let key = i.wrapping_mul(7919) % 100_003;
        m.insert(key, format!("value {i}"));
    }
    kassert!(m.len() == 5_000, "BTreeMap holds {} entries", m.len());
    for i in 0..5_000u32 {
        let key = i.wrapping_mul(7919) % 100_003;
        let want = format!("value {i}");
        kassert!(
            m.get(&key) == Some(&want),
            "BTreeMap[{key}] = {:?}",
            m.get(&key)
        );
    }
    m.retain(|_, v| v.ends_with(['0', '2', '4', '6', '8']));
    kassert!(m.len() == 2_500, "after retain: {} entries", m.len());
    kassert!(
        m.keys().zip(m.keys().skip(1)).all(|(a, b)| a < b),
        "BTreeMap keys out of order"
    );
    drop((b, v, s, m));
    kernel_heap_ok()
}

// course: module 06
fn grows() -> Result<(), String> {
    let before = kheap::mapped_bytes();
    let grown_before = kheap::times_grown();
    // One block larger than the whole first heap, then 16 KiB pieces until
    // more than everything mapped so far is in use: the heap must grow.
    let mut big = alloc::vec![0u8; INITIAL_HEAP + PAGE_SIZE];
    for (i, b) in big.iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    let piece = 16 * 1024 - 64;
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let mut total = big.len();
    while total <= before + INITIAL_HEAP {
        let n = pieces.len() as u8;
        pieces.push(alloc::vec![n; piece]);
        total += piece;
    }
    let after = kheap::mapped_bytes();
    kassert!(
        after > before && after >= total,
        "HEAP_MAPPED {before} -> {after} with {total} bytes live"
    );
    kassert!(
        kheap::times_grown() > grown_before,
        "the grow hook was never called"
    );
    kassert!(
        big.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8),
        "the big block changed while the heap grew"
    );
    for (n, p) in pieces.iter().enumerate() {
        kassert!(p.iter().all(|&b| b == n as u8), "piece {n} changed");
    }
    drop((big, pieces));
    kernel_heap_ok()
}
// course: end

fn alignment() -> Result<(), String> {
    let mut live = Vec::with_capacity(13 * 5);
    for shift in 0..=12 {
        let align = 1usize << shift;
        for size in [1usize, 7, 100, 3000, 5000] {
            let l = Layout::from_size_align(size, align).map_err(|e| format!("{e}"))?;
            let p =
                kheap::allocate(l).map_err(|e| format!("allocate({size}, align {align}): {e}"))?;
            kassert!(
                (p.as_ptr() as usize).is_multiple_of(align),
                "{:p} is not {align}-aligned",
                p.as_ptr()
            );
            // SAFETY: the block holds `size` bytes and is ours.
            unsafe { p.as_ptr().write_bytes(shift as u8, size) };
            live.push((p, l, shift as u8));
        }
    }
    for &(p, l, v) in &live {
        // SAFETY: written above, still allocated.
        let bytes = unsafe { core::slice::from_raw_parts(p.as_ptr(), l.size()) };
        kassert!(
            bytes.iter().all(|&b| b == v),
            "block {:p} (align {}) was overwritten",
            p.as_ptr(),
            l.align()
        );
    }
    for (p, l, _) in live {
        kheap::deallocate(p, l).map_err(|e| format!("deallocate {:p}: {e}", p.as_ptr()))?;
    }
    #[repr(align(4096))]
    struct Page([u8; 4096]);
    let page = Box::new(Page([7; 4096]));
    kassert!(
        (&*page as *const Page as usize).is_multiple_of(4096),
        "Box<Page> not page-aligned"
    );
    kassert!(page.0.iter().all(|&b| b == 7), "Box<Page> contents");
    drop(page);
    kernel_heap_ok()
}

fn bad_free() -> Result<(), String> {
    let l = Layout::from_size_align(64, 8).map_err(|e| format!("{e}"))?;
    let p = kheap::allocate(l).map_err(|e| format!("{e}"))?;
    let bad_before = kheap::bad_frees();
    let s0 = kheap::stats();
    // SAFETY: p + 8 lies inside the 64-byte block.
    let interior = unsafe { NonNull::new_unchecked(p.as_ptr().add(8)) };
    let r_interior = kheap::deallocate(interior, l);
    let outside = NonNull::new(PAGE_SIZE as *mut u8).ok_or("null")?;
    let r_outside = kheap::deallocate(outside, l);
    let s1 = kheap::stats();
    kheap::deallocate(p, l).map_err(|e| format!("the good free failed: {e}"))?;
    let s2 = kheap::stats();
    let r_double = kheap::deallocate(p, l);
    let s3 = kheap::stats();
    kassert!(
        r_interior.is_err(),
        "an interior pointer was accepted: {r_interior:?}"
    );
    kassert!(
        r_outside.is_err(),
        "a pointer outside the heap was accepted"
    );
    kassert!(r_double.is_err(), "a double free was accepted");
    kassert!(s0 == s1, "bad frees changed the heap: {s0:?} -> {s1:?}");
    kassert!(
        s2 == s3,
        "the double free changed the heap: {s2:?} -> {s3:?}"
    );
    kassert!(
        kheap::bad_frees() == bad_before + 3,
        "bad_frees {} -> {}",
        bad_before,
        kheap::bad_frees()
    );
    kernel_heap_ok()
}

/// Poison on (as the `poison` boot option does), free a block, write into
/// it: `check()` and the `heapcheck` command name the block; with the byte
/// restored the heap checks clean again. Designs that do not poison say so.
fn write_after_free() -> Result<(), String> {
    use crate::mm::heap::{BuddyHeap, CheckError, POISON};
    let was = kheap::with(|h| h.as_buddy().map(|b| b.poisoning())).ok_or("no kernel heap")?;
    let Some(was) = was else {
        let on = kheap::with(|h| h.set_poison(true)).unwrap_or(true);
        kassert!(!on, "a design without poisoning claimed to poison");
        return kernel_heap_ok();
    };
    kheap::with(|h| h.set_poison(true));
    // 64 KiB: the small allocations `heapcheck` makes take smaller free
    // blocks (or the lower half of this one), never its last byte.
    let l = Layout::from_size_align(64 * 1024 - 64, 8).map_err(|e| format!("{e}"))?;
    let p = kheap::allocate(l).map_err(|e| format!("{e}"))?;
    kheap::deallocate(p, l).map_err(|e| format!("{e}"))?;
    // SAFETY: a deliberate write after free, into heap memory that stays
    // mapped; it is undone below.
    let last = unsafe { p.as_ptr().add(l.size() - 1) };
    // SAFETY: as above.
    unsafe { last.write_volatile(0x5A) };
    // The check, and the free block holding the written byte.
    let found = kheap::with(|h| {
        h.as_buddy().map(|b| {
            (
                BuddyHeap::check(b),
                b.block_of(last as usize).map(|i| i.offset),
            )
        })
    })
    .flatten();
    let out = run("heapcheck");
    // SAFETY: undo the write: the byte is the poison again.
    unsafe { last.write_volatile(POISON) };
    let clean = kernel_heap_ok();
    kheap::with(|h| h.set_poison(was));
    let Some((verdict, holder)) = found else {
        return Err("the buddy heap went away".into());
    };
    kassert!(
        matches!(verdict, Err(CheckError::Poisoned { block, .. }) if Some(block) == holder),
        "check() did not name the written block {holder:?}: {verdict:?}"
    );
    kassert!(
        out.contains("written after its free") && out.contains("CORRUPT"),
        "heapcheck missed the write after free:\n{out}"
    );
    clean
}

// ----- the playground, through the real hotkey path ------------------------------

/// Reset the playground to its boot state (1 KiB, scales 4..A) and return its
/// heap's first address.
fn fresh_playground() -> Result<usize, String> {
    playground::resize_playground(DEFAULT_MAX_SCALE).map_err(|e| format!("{e}"))?;
    Ok(playground::with_playground(|p| p.heap().start_addr()))
}

/// Press `keys` in hotkey mode and return what was printed.
fn press(keys: &str) -> Result<String, String> {
    let mut host = KernelHost::new();
    let mut out = String::new();
    for c in keys.chars().filter(|c| !c.is_whitespace()) {
        kassert!(host.hotkey(c, &mut out), "`{c}` is not a hotkey");
    }
    Ok(out)
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

// ----- the commands, output captured -----------------------------------------------

fn run(line: &str) -> String {
    let mut out = String::new();
    commands::run(line, &mut out);
    out
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

fn commands_work() -> Result<(), String> {
    let kind = kheap::kind().name();
    let out = run("heap");
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

    let out = run("alloc 100");
    kassert!(
        out.starts_with("alloc(100, align 8) -> 0x"),
        "alloc:\n{out}"
    );
    let addr = returned_addr(&out)?;
    kassert!(addr.is_multiple_of(8), "{addr:#x} not 8-aligned");
    // An interior pointer of our own block: refused, the block stays ours.
    let out = run(&format!("free {:#x}", addr + 4));
    kassert!(
        out.starts_with(&format!("error: free({:#010X}) refused: ", addr + 4))
            && !out.contains("heap bug"),
        "interior free:\n{out}"
    );
    let list = run("alloc");
    kassert!(
        list.contains(&format!("{addr:#010X}  100 bytes, align 8")),
        "alloc's table lost the block:\n{list}"
    );
    let out = run(&format!("free {addr:#x}"));
    kassert!(
        out == format!("free({addr:#010X}): 100 bytes (align 8) returned to the kernel heap\n"),
        "free:\n{out}"
    );
    // Again: a double free (or a block someone took since): refused.
    let out = run(&format!("free {addr:#x}"));
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
    let out = run("free 0x1000");
    kassert!(
        out.starts_with("error: free(0x00001000) refused: ") && out.contains("outside the heap"),
        "wild free:\n{out}"
    );
    let out = run("free twelve");
    kassert!(
        out.starts_with("error: `twelve`: not a number"),
        "bad argument:\n{out}"
    );
    let out = run("heapcheck");
    kassert!(
        out.lines().count() == 2
            && out.lines().all(|l| l.contains(": heap ok: "))
            && out.starts_with(&format!("kernel heap ({kind}): heap ok")),
        "heapcheck:\n{out}"
    );

    // playground <max-scale> resizes (and empties) the playground.
    press("4 9")?;
    let out = run("playground 12");
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
        let out = run(&format!("playground {bad}"));
        kassert!(
            out.starts_with(&format!("error: `{bad}`: ")),
            "playground {bad}:\n{out}"
        );
    }
    let out = run("playground");
    kassert!(
        out.starts_with("playground: 4096-byte buddy heap at 0x")
            && out.contains("slots: all empty"),
        "playground:\n{out}"
    );
    let out = run("heapmap playground");
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
        run("heapmap").contains("\n0x")
            && run("heapmap nowhere").starts_with("error: no heap `nowhere`"),
        "heapmap arguments"
    );
    kernel_heap_ok()
}
