//! In-kernel tests of the kernel heap, whatever design `heap=` chose (run
//! by `make test-kernel` on every design): collections, growth through the
//! VMM, alignment, bad frees, the lock rule, write-after-free, the design
//! and its figures.
//!
//! ```text
//!   Box Vec String BTreeMap ─► growth past INITIAL_HEAP ─► alignment 1..4096
//!   ─► bad frees refused, check() ok ─► growth under the memory lock: named error
//!   the design heap= chose ─► stats ─► a burst ─► growth ─► bad frees counted
//! ```

use crate::kassert;
use crate::kernel::boot::boot_info;
use crate::kernel::heap as kheap;
// course: module 06
use crate::kernel::heap::{GrowFailure, INITIAL_HEAP};
use crate::kernel::ktests::kit::HeapBlock;
use crate::kernel::memory;
// course: end
use crate::kernel::ktests::kit::{
    Test, TestResult, fill, heap_stats, holds, kernel_heap_ok, run_command,
};
use crate::mm::heap::HeapBackend;
use crate::mm::heap::HeapKind;
use crate::mm::layout::PAGE_SIZE;
use alloc::alloc::{Layout, dealloc};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
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
        name: "heap_realloc_shrinks_in_place_on_every_design",
        run: realloc_in_place,
    },
    Test {
        name: "family_heap_is_the_one_chosen_at_boot",
        run: heap_is_the_one_chosen,
    },
    Test {
        name: "family_heap_stats_are_sane",
        run: heap_stats_are_sane,
    },
    Test {
        name: "family_heap_burst_keeps_check_passing",
        run: heap_burst,
    },
    // course: module 06
    Test {
        name: "family_heap_grows_through_the_vmm",
        run: heap_grows,
    },
    // course: end
    Test {
        name: "family_heap_refuses_and_counts_bad_frees",
        run: heap_bad_frees,
    },
];

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

/// Poison on (as the `poison` boot option does), free a block, write into
/// it: `check()` and the `heapcheck` command name the block; with the byte
/// restored the heap checks clean again. Every design poisons: the buddy
/// heap names the block by offset, the others by address.
fn write_after_free() -> Result<(), String> {
    use crate::mm::heap::{BuddyHeap, CheckError, POISON};
    let was = kheap::with(|h| h.poisoning()).ok_or("no kernel heap")?;
    let on = kheap::with(|h| h.set_poison(true)).unwrap_or(false);
    kassert!(on, "the heap design does not poison");
    // 64 KiB: the small allocations `heapcheck` makes take smaller free
    // blocks (or the front of this one), never its last byte.
    let l = Layout::from_size_align(64 * 1024 - 64, 8).map_err(|e| format!("{e}"))?;
    let p = kheap::allocate(l).map_err(|e| format!("{e}"))?;
    kheap::deallocate(p, l).map_err(|e| format!("{e}"))?;
    // SAFETY: a deliberate write after free, into heap memory that stays
    // mapped; it is undone below.
    let last = unsafe { p.as_ptr().add(l.size() - 1) };
    // SAFETY: as above.
    unsafe { last.write_volatile(0x5A) };
    // The check, and (buddy) the free block holding the written byte.
    let found = kheap::with(|h| {
        let buddy = h.as_buddy().map(|b| {
            (
                BuddyHeap::check(b),
                b.block_of(last as usize).map(|i| i.offset),
            )
        });
        (h.check(), buddy)
    });
    let out = run_command("heapcheck");
    // SAFETY: undo the write: the byte is the poison again.
    unsafe { last.write_volatile(POISON) };
    let clean = kernel_heap_ok();
    kheap::with(|h| h.set_poison(was));
    let Some((verdict, buddy)) = found else {
        return Err("the kernel heap went away".into());
    };
    match buddy {
        Some((verdict, holder)) => kassert!(
            matches!(verdict, Err(CheckError::Poisoned { block, .. }) if Some(block) == holder),
            "check() did not name the written block {holder:?}: {verdict:?}"
        ),
        None => {
            let named = verdict.as_ref().err().and_then(|e| e.written_after_free());
            kassert!(
                matches!(named, Some((block, at)) if at == last as usize && block <= at),
                "check() did not name the write at {last:p}: {verdict:?}"
            );
        }
    }
    kassert!(
        out.contains("written after its free") && out.contains("CORRUPT"),
        "heapcheck missed the write after free:\n{out}"
    );
    clean
}

/// Through the global allocator (`alloc::alloc::realloc`, as `Vec` and
/// `String` use it): shrinking 100 bytes to 90 stays in place on every
/// design (the same buddy scale, the same pool slot, a first-fit or
/// gap-tree block keeping its tail) and keeps the bytes; the heap checks.
fn realloc_in_place() -> Result<(), String> {
    let l = Layout::from_size_align(100, 8).map_err(|e| format!("{e}"))?;
    // SAFETY: a non-zero layout; the block is used only while live and
    // freed with the layout it has then.
    unsafe {
        let p = alloc::alloc::alloc(l);
        kassert!(!p.is_null(), "100 bytes refused");
        p.write_bytes(0xA5, 100);
        let q = alloc::alloc::realloc(p, l, 90);
        let moved = q != p;
        let kept = !q.is_null() && (0..90).all(|i| *q.add(i) == 0xA5);
        if !q.is_null() {
            dealloc(q, Layout::from_size_align_unchecked(90, 8));
        }
        kassert!(
            !moved,
            "realloc(100 -> 90) moved the block on {:?}",
            kheap::kind()
        );
        kassert!(kept, "realloc(100 -> 90) lost the bytes");
    }
    kernel_heap_ok()
}

fn heap_is_the_one_chosen() -> TestResult {
    let asked = boot_info().option("heap");
    let expect = asked
        .and_then(|v| HeapKind::parse(v).ok())
        .unwrap_or(HeapKind::Buddy);
    let kind = kheap::kind();
    kassert!(kind == expect, "heap= {asked:?} but the heap is {kind:?}");
    let name = kheap::with(|h| h.name());
    kassert!(
        name == Some(kind.name()),
        "the global allocator says {name:?}, the kernel {}",
        kind.name()
    );
    Ok(())
}

fn heap_stats_are_sane() -> TestResult {
    let before = heap_stats()?;
    // black_box: without it the compiler may drop the allocation altogether.
    let boxed = core::hint::black_box(alloc::boxed::Box::new(0x5A5A_5A5Au32));
    let s = heap_stats()?;
    kassert!(s.size > 0, "empty heap: {s:?}");
    kassert!(s.used + s.free == s.size, "used + free != size: {s:?}");
    kassert!(s.largest_free <= s.free, "largest free above free: {s:?}");
    kassert!(
        s.allocations == before.allocations + 1,
        "a Box did not count: {before:?} -> {s:?}"
    );
    kassert!(
        s.used > before.used,
        "a Box used nothing: {before:?} -> {s:?}"
    );
    let mapped = kheap::mapped_bytes();
    kassert!(
        s.size <= mapped,
        "the heap manages {} bytes but only {mapped} are mapped",
        s.size
    );
    kassert!(
        s.fragmentation_permille() <= 1000,
        "fragmentation {}",
        s.fragmentation_permille()
    );
    kassert!(*boxed == 0x5A5A_5A5A, "the Box lost its value");
    drop(boxed);
    let after = heap_stats()?;
    kassert!(
        after.allocations == before.allocations,
        "the Box was not given back: {before:?} -> {after:?}"
    );
    kernel_heap_ok()
}

fn heap_burst() -> TestResult {
    const N: usize = 300;
    let mut live: Vec<(NonNull<u8>, Layout, u8)> = Vec::with_capacity(N);
    let bad = kheap::bad_frees();
    let before = heap_stats()?;
    for i in 0..N {
        let size = 1 + (i * 73) % 2000;
        let align = 1 << (i % 13).min(12);
        let layout = Layout::from_size_align(size, align).map_err(|e| format!("{e}"))?;
        // SAFETY: non-zero size.
        let p = NonNull::new(unsafe { alloc::alloc::alloc(layout) })
            .ok_or_else(|| format!("allocation {i} ({size} bytes, align {align}) failed"))?;
        kassert!(
            (p.as_ptr() as usize).is_multiple_of(align),
            "{p:?} not aligned to {align}"
        );
        fill(p.as_ptr() as usize, size, i as u8);
        live.push((p, layout, i as u8));
    }
    let mid = heap_stats()?;
    kassert!(
        mid.allocations == before.allocations + N,
        "{N} allocations counted as {}",
        mid.allocations - before.allocations
    );
    kassert!(mid.used + mid.free == mid.size, "{mid:?}");
    kernel_heap_ok()?;
    // Free every other block, check, then the rest.
    let mut i = 0;
    live.retain(|&(p, layout, v)| {
        i += 1;
        if i % 2 == 0 {
            return true;
        }
        // SAFETY: allocated above with this layout, freed once.
        unsafe { dealloc(p.as_ptr(), layout) };
        let _ = v;
        false
    });
    kernel_heap_ok()?;
    for (p, layout, v) in live.drain(..) {
        kassert!(
            holds(p.as_ptr() as usize, layout.size(), v),
            "block {v} at {p:?} was overwritten"
        );
        // SAFETY: allocated above with this layout, freed once.
        unsafe { dealloc(p.as_ptr(), layout) };
    }
    let after = heap_stats()?;
    kassert!(
        after.allocations == before.allocations,
        "allocations {} before, {} after freeing everything",
        before.allocations,
        after.allocations
    );
    kassert!(kheap::bad_frees() == bad, "a good free was refused");
    kernel_heap_ok()
}

// course: module 06
fn heap_grows() -> TestResult {
    let s = heap_stats()?;
    let mapped = kheap::mapped_bytes();
    let grown = kheap::times_grown();
    // More than the largest free block (and more than is free): the heap
    // must ask the VMM for pages.
    let size = s.free + 64 * 1024;
    let block = HeapBlock::new(size, 8)?;
    kassert!(
        kheap::times_grown() > grown,
        "a {size}-byte block came without growing ({s:?})"
    );
    let now = kheap::mapped_bytes();
    kassert!(now > mapped, "mapped {mapped} -> {now}");
    fill(block.addr(), size, 0xC3);
    kassert!(holds(block.addr(), size, 0xC3), "the grown block lost data");
    let with = heap_stats()?;
    kassert!(with.size > s.size, "size {} -> {}", s.size, with.size);
    drop(block);
    kernel_heap_ok()
}
// course: end

fn heap_bad_frees() -> TestResult {
    let bad = kheap::bad_frees();
    let layout = Layout::new::<u64>();
    let p = kheap::allocate(layout).map_err(|e| format!("allocate: {e}"))?;
    kheap::deallocate(p, layout).map_err(|e| format!("first free: {e}"))?;
    let before = heap_stats()?;
    let twice = kheap::deallocate(p, layout);
    kassert!(twice.is_err(), "a double free was accepted");
    static OUTSIDE: u64 = 0;
    let wild = NonNull::from(&OUTSIDE).cast::<u8>();
    let r = kheap::deallocate(wild, layout);
    kassert!(r.is_err(), "a pointer outside the heap was accepted");
    kassert!(
        kheap::bad_frees() == bad + 2,
        "bad frees {} -> {}",
        bad,
        kheap::bad_frees()
    );
    let after = heap_stats()?;
    kassert!(
        after == before,
        "a refused free changed the heap: {before:?} -> {after:?}"
    );
    kernel_heap_ok()
}
