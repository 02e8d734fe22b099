//! The kernel heap serves Rust's collections on every design: contents kept
//! through reallocations, every alignment up to a page, `realloc` shrinking
//! in place.

use crate::kassert;
use crate::kernel::heap as kheap;
use crate::kernel::ktests::kit::kernel_heap_ok;
use alloc::alloc::{Layout, dealloc};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// `Box`, a 20,000-element `Vec`, a 5,000-byte `String` and a `BTreeMap`
/// keep their contents; the heap checks afterwards.
pub fn collections() -> Result<(), String> {
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

/// Blocks of five sizes at every alignment 1..4096 are aligned and keep
/// their bytes; a page-aligned `Box` is page-aligned.
pub fn alignment() -> Result<(), String> {
    let mut live = Vec::with_capacity(13 * 5);
    for shift in 0..=12 {
        let align = 1usize << shift;
        for size in [1usize, 7, 100, 3000, 5000] {
            let l = Layout::from_size_align(size, align).map_err(|e| format!("{e}"))?;
            let p =
                kheap::allocate(l).map_err(|e| format!("allocate({size}, align {align}): {e}"))?;
            kassert!(
                p.as_ptr().addr().is_multiple_of(align),
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
        (&raw const *page).addr().is_multiple_of(4096),
        "Box<Page> not page-aligned"
    );
    kassert!(page.0.iter().all(|&b| b == 7), "Box<Page> contents");
    drop(page);
    kernel_heap_ok()
}

/// Through the global allocator (`alloc::alloc::realloc`, as `Vec` and
/// `String` use it): shrinking 100 bytes to 90 stays in place on every
/// design (the same buddy scale, the same pool slot, a first-fit or
/// gap-tree block keeping its tail) and keeps the bytes; the heap checks.
pub fn realloc_in_place() -> Result<(), String> {
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
