//! In-kernel tests of the slabs in front of the buddy heap (the default
//! design; with another `heap=` design there are no slabs and each test
//! says so and passes): small objects come from slabs, every bad free of
//! a slab slot is refused, counted and changes nothing, a write after free
//! into a slot is named by `heapcheck`, and `realloc` stays in place
//! within a class.
//!
//! ```text
//!   Box<[u8; 48]> ─► slot of class 48 ─► bad frees: interior, unaligned,
//!   metadata, too large, double ─► poison: write after free named ─► realloc
//! ```

use crate::kassert;
use crate::kernel::heap as kheap;
use crate::kernel::ktests::kit::{Test, kernel_heap_ok, run_command};
use crate::mm::heap::{HeapBackend, POISON, SlotInfo};
use alloc::alloc::Layout;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ptr::NonNull;

pub static TESTS: &[Test] = &[
    Test {
        name: "slab_small_objects_share_slabs",
        run: small_objects,
    },
    Test {
        name: "slab_bad_frees_refused",
        run: bad_frees,
    },
    Test {
        name: "slab_write_after_free_named",
        run: write_after_free,
    },
    Test {
        name: "slab_realloc_within_a_class",
        run: realloc_within_a_class,
    },
];

/// The slot `addr` is, or `None` without slabs (another design).
fn slot(addr: usize) -> Option<Option<SlotInfo>> {
    kheap::with(|h| h.as_slab().map(|s| s.slot_info(addr))).flatten()
}

fn layout(size: usize, align: usize) -> Result<Layout, String> {
    Layout::from_size_align(size, align).map_err(|e| format!("{e}"))
}

fn small_objects() -> Result<(), String> {
    let l = layout(48, 8)?;
    let ps: Vec<NonNull<u8>> = (0..100)
        .map(|_| kheap::allocate(l).map_err(|e| format!("{e}")))
        .collect::<Result<_, _>>()?;
    let first = ps[0].addr().get();
    let Some(info) = slot(first) else {
        return kernel_heap_ok(); // another design: no slabs
    };
    let info = info.ok_or("a 48-byte request is no slab slot")?;
    kassert!(info.size == 48 && info.live, "{info:?}");
    let in_slabs = ps
        .iter()
        .filter(|p| slot(p.addr().get()).flatten().is_some_and(|s| s.live))
        .count();
    let mut addrs: Vec<usize> = ps.iter().map(|p| p.addr().get()).collect();
    addrs.sort_unstable();
    let apart = addrs.windows(2).all(|w| w[1] - w[0] >= 48);
    kernel_heap_ok()?;
    for p in ps {
        kheap::deallocate(p, l).map_err(|e| format!("{e}"))?;
    }
    kassert!(in_slabs == 100, "{in_slabs} of 100 from slabs");
    kassert!(apart, "two slots overlap");
    kernel_heap_ok()
}

fn bad_frees() -> Result<(), String> {
    let l = layout(64, 8)?;
    let p = kheap::allocate(l).map_err(|e| format!("{e}"))?;
    let keep = kheap::allocate(l).map_err(|e| format!("{e}"))?;
    let Some(Some(info)) = slot(p.addr().get()) else {
        kheap::deallocate(p, l).map_err(|e| format!("{e}"))?;
        kheap::deallocate(keep, l).map_err(|e| format!("{e}"))?;
        return kernel_heap_ok(); // another design: no slabs
    };
    let at = |addr: usize| {
        // SAFETY: only the address is used (a free the heap must refuse
        // without touching anything); it lies in the slab's block.
        NonNull::new(unsafe { p.as_ptr().add(addr - p.addr().get()) }).ok_or("null")
    };
    let before = kheap::bad_frees();
    let s0 = kheap::stats();
    let cases = [
        (at(p.addr().get() + 8)?, l, "interior"),
        (at(p.addr().get() + 1)?, l, "unaligned"),
        (at(info.slab + 4000)?, l, "slab metadata"),
        (p, layout(65, 8)?, "a size larger than the slot"),
        (p, layout(64, 128)?, "an alignment the class does not give"),
    ];
    let mut accepted = Vec::new();
    for (ptr, lay, what) in cases {
        if kheap::deallocate(ptr, lay).is_ok() {
            accepted.push(what);
        }
        kassert!(
            kheap::last_bad_free() == Some(ptr.addr().get()),
            "{what}: last refused address not reported"
        );
    }
    let s1 = kheap::stats();
    kheap::deallocate(p, l).map_err(|e| format!("the good free failed: {e}"))?;
    let s2 = kheap::stats();
    let double = kheap::deallocate(p, l);
    let s3 = kheap::stats();
    kheap::deallocate(keep, l).map_err(|e| format!("{e}"))?;
    kassert!(accepted.is_empty(), "accepted: {accepted:?}");
    kassert!(double.is_err(), "a double free of a slot was accepted");
    kassert!(s0 == s1, "bad frees changed the heap: {s0:?} -> {s1:?}");
    kassert!(s2 == s3, "the double free changed the heap");
    kassert!(
        kheap::bad_frees() == before + 6,
        "bad frees counted {} -> {}",
        before,
        kheap::bad_frees()
    );
    kernel_heap_ok()
}

fn write_after_free() -> Result<(), String> {
    let l = layout(96, 8)?;
    let keep = kheap::allocate(l).map_err(|e| format!("{e}"))?;
    if slot(keep.addr().get()).is_none() {
        kheap::deallocate(keep, l).map_err(|e| format!("{e}"))?;
        return kernel_heap_ok(); // another design: no slabs
    }
    let was = kheap::with(|h| h.poisoning()).ok_or("no kernel heap")?;
    kheap::with(|h| h.set_poison(true));
    let p = kheap::allocate(l).map_err(|e| format!("{e}"))?;
    kheap::deallocate(p, l).map_err(|e| format!("{e}"))?;
    // SAFETY: a deliberate write after free into a slot of a slab that
    // stays (`keep` lives in it); undone below.
    let x = unsafe { p.as_ptr().add(40) };
    // SAFETY: as above.
    unsafe { x.write_volatile(0x5A) };
    let out = run_command("heapcheck");
    // SAFETY: undo it.
    unsafe { x.write_volatile(POISON) };
    let clean = kernel_heap_ok();
    kheap::with(|h| h.set_poison(was));
    kheap::deallocate(keep, l).map_err(|e| format!("{e}"))?;
    let named = format!("free slot at {:#x} written after its free", p.addr().get());
    kassert!(
        out.contains(&named),
        "heapcheck did not name the slot:\n{out}"
    );
    kassert!(out.contains("CORRUPT"), "heapcheck passed:\n{out}");
    clean
}

fn realloc_within_a_class() -> Result<(), String> {
    let l = layout(40, 8)?;
    // SAFETY: a non-zero layout; the block is freed with its last layout.
    unsafe {
        let p = alloc::alloc::alloc(l);
        kassert!(!p.is_null(), "40 bytes refused");
        p.write_bytes(0xC3, 40);
        let q = alloc::alloc::realloc(p, l, 48);
        kassert!(!q.is_null(), "realloc refused");
        let kept = (0..40).all(|i| *q.add(i) == 0xC3);
        let in_slab = slot(q.addr()).flatten().is_some();
        alloc::alloc::dealloc(q, Layout::from_size_align_unchecked(48, 8));
        if in_slab {
            kassert!(q == p, "realloc(40 -> 48) moved a slot");
        }
        kassert!(kept, "realloc lost the bytes");
    }
    kernel_heap_ok()
}
