//! Host tests of the buddy heap's reports: the `p` lines, the heap table,
//! and the heapmap after ShompOS's key presses.

use super::*;
use crate::mm::heap::buddy::{MAX_ALIGN, grid_base};
use alloc::string::String;
use alloc::vec::Vec;

const REGION: usize = BuddyHeap::region_for(1024, 4);
struct Buf([u8; REGION + MAX_ALIGN]);

fn heap(buf: &mut Buf) -> BuddyHeap {
    let base = grid_base(buf.0.as_mut_ptr());
    // SAFETY: base..base+REGION lies in the buffer, which outlives the heap.
    unsafe { BuddyHeap::new(base, REGION, 4, 10).unwrap() }
}

#[test]
fn heapmap_after_4_and_9_shows_the_splits() {
    let mut buf = Buf([0; REGION + MAX_ALIGN]);
    let mut h = heap(&mut buf);
    h.allocate(1).unwrap();
    h.allocate(248).unwrap();
    let map: String = cells(&h, 4).map(|c| c.glyph()).collect();
    assert_eq!(map.len(), 64);
    // scale 4 used, free 4, 5 (2 cells), 6 (4), 7 (8), 8 (16), used 9 (32).
    let want = String::from("@+")
        + "+."
        + "+..."
        + "+......."
        + "+..............."
        + "@"
        + &"#".repeat(31);
    assert_eq!(map, want);
    let starts: Vec<_> = cells(&h, 4)
        .enumerate()
        .filter(|(_, c)| c.block_start)
        .map(|(i, c)| (i, c.scale.0))
        .collect();
    assert_eq!(
        starts,
        [(0, 4), (1, 4), (2, 5), (4, 6), (8, 7), (16, 8), (32, 9)]
    );
}

#[test]
fn larger_cells_mix_states() {
    let mut buf = Buf([0; REGION + MAX_ALIGN]);
    let mut h = heap(&mut buf);
    h.allocate(1).unwrap();
    // 8 cells of 128 bytes: the first holds the used 16 and free blocks.
    let c: Vec<Cell> = cells(&h, 7).collect();
    assert_eq!(c.len(), 8);
    assert_eq!(c[0].state, CellState::Mixed);
    assert!(c[0].block_start);
    assert_eq!(c[1].state, CellState::Free); // the free scale-7 block
    assert!(c[1].block_start);
    assert_eq!((c[2].state, c[2].block_start), (CellState::Free, true)); // scale 8
    assert_eq!((c[3].state, c[3].block_start), (CellState::Free, false));
    assert_eq!(cell_scale_to_fit(&h, 8), 7);
    assert_eq!(cell_scale_to_fit(&h, 1000), 4);
    let mut text = String::new();
    write_heapmap(&h, 7, 4, &mut text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].ends_with(" %++."), "{text}");
    assert!(lines[1].ends_with(" +..."), "{text}");
    assert!(lines[2].starts_with("one cell = 128 bytes"));
}

/// A heap over a page-aligned base, as the kernel heap is: the grid
/// origin sits 9 bytes below the base and the first block 16 bytes above
/// the origin, so cells counted from the first block would straddle the
/// grid. For every cell size, the cell holding each block's start marker
/// covers that block's first byte, and every marker stands for a block.
#[test]
fn every_block_start_sits_in_the_cell_covering_its_first_byte() {
    const LEN: usize = BuddyHeap::region_for(8192, 4);
    let mut buf = alloc::vec![0u8; LEN + 2 * MAX_ALIGN];
    let base = buf
        .as_mut_ptr()
        .wrapping_add(buf.as_ptr().addr().wrapping_neg() % MAX_ALIGN);
    // SAFETY: base..base+LEN lies in the buffer, which outlives the heap.
    let mut h = unsafe { BuddyHeap::new(base, LEN, 4, 13).unwrap() };
    assert_ne!(
        h.start_addr(),
        h.origin_addr(),
        "the test needs an offset start"
    );
    for size in [1, 100, 3000, 40, 1000, 9] {
        h.allocate(size).unwrap();
    }
    let blocks: Vec<(usize, usize)> = h
        .blocks()
        .map(|b| (b.addr, b.addr + b.scale.bytes()))
        .collect();
    assert!(blocks.iter().any(|&(a, e)| e - a >= 1024), "big blocks too");
    for cell_scale in 4..=13u8 {
        let cell = 1usize << cell_scale;
        let first = first_cell_addr(&h, cell_scale);
        assert!(first <= h.start_addr() && h.start_addr() < first + cell);
        let cs: Vec<Cell> = cells(&h, cell_scale).collect();
        assert!(
            first + cs.len() * cell >= h.end_addr(),
            "scale {cell_scale}"
        );
        for (i, c) in cs.iter().enumerate() {
            let (lo, hi) = (first + i * cell, first + (i + 1) * cell);
            let starts_here = blocks.iter().any(|&(a, _)| lo <= a && a < hi);
            assert_eq!(
                c.block_start, starts_here,
                "scale {cell_scale} cell {i} at {lo:#x}"
            );
            // A block as large as a cell begins exactly at a cell start.
            for &(a, e) in &blocks {
                if e - a >= cell && lo <= a && a < hi {
                    assert_eq!(
                        a, lo,
                        "scale {cell_scale}: block {a:#x} inside cell {lo:#x}"
                    );
                }
            }
        }
        // The text map labels each row with its first cell's address.
        let mut text = String::new();
        write_heapmap(&h, cell_scale, 8, &mut text).unwrap();
        let first_row = text.lines().next().unwrap();
        assert!(
            first_row.starts_with(&alloc::format!("{first:#010x} ")),
            "{text}"
        );
    }
}

#[test]
fn report_lists_every_scale_with_totals() {
    let mut buf = Buf([0; REGION + MAX_ALIGN]);
    let mut h = heap(&mut buf);
    h.allocate(100).unwrap(); // scale 7
    let mut text = String::new();
    write_report(&h, &mut text).unwrap();
    assert!(text.contains("scales 4..A (16..1024 bytes)"), "{text}");
    let row7 = text
        .lines()
        .find(|l| l.trim_start().starts_with("7 "))
        .unwrap();
    let cols: Vec<&str> = row7.split_whitespace().collect();
    assert_eq!(cols, ["7", "128", "1", "128"]);
    assert!(
        text.contains("free: 896 bytes in 3 blocks; used: 128 bytes in 1 blocks (100 requested)"),
        "{text}"
    );
    let mut ok = String::new();
    write_check(&h, &mut ok).unwrap();
    assert!(ok.starts_with("heap ok: 4 blocks, 3 free (896 bytes), 1 used"));
}
