//! Host tests of the bit array: construction over any storage, setting and
//! clearing bits and ranges, the searches, the check, and a soak against a
//! model.

use super::*;
use crate::testutil::{Rng, miri_or, soak_ops};
use alloc::vec;
use alloc::vec::Vec;

fn map(len: usize) -> Bitmap<Vec<u32>> {
    Bitmap::new(vec![0xFFFF_FFFF; Bitmap::<Vec<u32>>::words_for(len)], len).unwrap()
}

#[test]
fn new_clears_and_sizes() {
    assert_eq!(Bitmap::<Vec<u32>>::words_for(0), 0);
    assert_eq!(Bitmap::<Vec<u32>>::words_for(33), 2);
    assert_eq!(Bitmap::<Vec<u32>>::bytes_for(33), 8);
    let m = map(40);
    assert_eq!(m.len(), 40);
    assert_eq!(m.count_ones(), 0);
    assert_eq!(m.count_zeros(), 40);
    assert_eq!(m.as_words(), &[0, 0]);
    assert_eq!(
        Bitmap::new(vec![0u32; 1], 33).unwrap_err(),
        BitmapError::StorageTooSmall
    );
    m.check().unwrap();
}

#[test]
fn works_over_borrowed_and_array_storage() {
    let mut store = [0u32; 4];
    {
        let mut m = Bitmap::new(&mut store[..], 100).unwrap();
        assert!(m.set(99));
        assert!(m.test(99));
    }
    assert_eq!(store[3], 1 << 3);
    let mut a = Bitmap::new([0u32; 2], 64).unwrap();
    a.set_range(0, 64).unwrap();
    assert_eq!(a.count_ones(), 64);
    assert_eq!(a.into_storage(), [u32::MAX; 2]);
}

#[test]
fn set_clear_test_report_changes() {
    let mut m = map(70);
    assert!(m.set(3));
    assert!(!m.set(3), "second set changes nothing");
    assert!(m.test(3));
    assert_eq!(m.count_ones(), 1);
    assert!(m.clear(3));
    assert!(!m.clear(3));
    assert!(!m.test(3));
    // Past the end: ignored, reads clear.
    assert!(!m.set(70));
    assert!(!m.test(70));
    assert!(!m.clear(1000));
    assert_eq!(m.count_ones(), 0);
    m.check().unwrap();
}

#[test]
fn from_storage_keeps_bits_and_cleans_the_tail() {
    let m = Bitmap::from_storage(vec![0b1011, 0xFFFF_FFFF], 36).unwrap();
    assert_eq!(m.count_ones(), 3 + 4);
    assert_eq!(m.as_words(), &[0b1011, 0xF]);
    m.check().unwrap();
}

#[test]
fn new_full_sets_exactly_len_bits() {
    let m = Bitmap::new_full(vec![0; 3], 70).unwrap();
    assert_eq!(m.count_ones(), 70);
    assert_eq!(m.as_words()[2], 0b11_1111);
    assert_eq!(m.find_clear(0), None);
    m.check().unwrap();
}

#[test]
fn ranges_across_words() {
    let mut m = map(100);
    m.set_range(30, 40).unwrap();
    assert_eq!(m.count_ones(), 40);
    assert!(m.is_range_set(30, 40));
    assert!(!m.is_range_set(29, 2));
    assert!(m.is_range_clear(0, 30));
    assert!(m.is_range_clear(70, 30));
    assert!(!m.is_range_clear(69, 2));
    // Overlapping set counts only new bits.
    m.set_range(60, 20).unwrap();
    assert_eq!(m.count_ones(), 50);
    m.clear_range(0, 64).unwrap();
    assert_eq!(m.count_ones(), 16);
    assert_eq!(m.next_set(0), Some(64));
    m.check().unwrap();
}

#[test]
fn range_errors_change_nothing() {
    let mut m = map(40);
    m.set(5);
    let before = m.clone();
    assert_eq!(m.set_range(35, 6), Err(BitmapError::OutOfRange));
    assert_eq!(m.clear_range(usize::MAX, 2), Err(BitmapError::OutOfRange));
    assert!(m == before);
    assert!(!m.is_range_clear(39, 2));
    assert!(m.is_range_clear(40, 0), "empty range at the end");
    m.set_range(40, 0).unwrap();
    assert!(m == before);
}

#[test]
fn next_set_and_next_clear() {
    let mut m = map(200);
    assert_eq!(m.next_set(0), None);
    assert_eq!(m.next_clear(0), Some(0));
    m.set(150);
    assert_eq!(m.next_set(0), Some(150));
    assert_eq!(m.next_set(150), Some(150));
    assert_eq!(m.next_set(151), None);
    m.set_range(0, 200).unwrap();
    assert_eq!(m.next_clear(0), None);
    m.clear(199);
    assert_eq!(m.next_clear(5), Some(199));
    assert_eq!(m.next_clear(200), None);
}

#[test]
fn find_clear_is_next_fit_and_wraps_once() {
    let mut m = map(64);
    m.set_range(0, 64).unwrap();
    m.clear(10);
    m.clear(40);
    assert_eq!(m.find_clear(0), Some(10));
    assert_eq!(m.find_clear(11), Some(40));
    assert_eq!(m.find_clear(41), Some(10), "wraps to the start");
    assert_eq!(
        m.find_clear(64),
        Some(10),
        "cursor past the end starts at 0"
    );
    m.set(10);
    m.set(40);
    assert_eq!(m.find_clear(30), None);
}

#[test]
fn find_clear_run_respects_alignment() {
    let mut m = map(64);
    m.set(1);
    // 3 free bits aligned to 4: 0 is blocked by bit 1, so 4.
    assert_eq!(m.find_clear_run(3, 4, 0), Some(4));
    // Unaligned: first run of 3 is 2..5.
    assert_eq!(m.find_clear_run(3, 1, 0), Some(2));
    m.set(9);
    assert_eq!(m.find_clear_run(8, 8, 0), Some(16));
    // Non-power-of-two alignment works too.
    assert_eq!(m.find_clear_run(2, 3, 0), Some(3));
    assert_eq!(m.find_clear_run(0, 1, 0), None);
    assert_eq!(m.find_clear_run(65, 1, 0), None);
    assert_eq!(m.find_clear_run(64, 1, 0), None, "bit 1 is set");
}

#[test]
fn find_clear_run_wraps_but_never_crosses_the_end() {
    let mut m = map(32);
    m.set_range(8, 16).unwrap(); // free: 0..8 and 24..32
    assert_eq!(m.find_clear_run(8, 8, 20), Some(24));
    assert_eq!(m.find_clear_run(8, 8, 25), Some(0), "wrapped");
    assert_eq!(
        m.find_clear_run(12, 1, 0),
        None,
        "0..8 + 24..32 is not a run"
    );
    assert_eq!(m.take_clear_run(4, 4, 26), Some(28));
    assert_eq!(m.take_clear_run(4, 4, 29), Some(0), "28..32 taken, wraps");
    assert!(m.is_range_set(0, 4));
    assert!(m.is_range_set(28, 4));
    assert_eq!(m.count_ones(), 24);
}

#[test]
fn dump_draws_bits() {
    let mut m = map(10);
    m.set_range(2, 3).unwrap();
    let mut s = alloc::string::String::new();
    m.dump(&mut s, 0, 100).unwrap();
    assert_eq!(s, "       0 ..###.....\n");
}

#[test]
fn check_catches_a_wrong_count() {
    let mut m = map(40);
    m.set(3);
    m.ones = 2;
    assert_eq!(
        m.check(),
        Err(BitmapCheckError::WrongCount {
            cached: 2,
            counted: 1
        })
    );
}

/// Model: a `Vec<bool>`. Random set/clear/ranges/searches, compared after each step.
#[test]
fn bitmap_soak_against_a_model() {
    let mut rng = Rng::new(0xB17);
    let ops = soak_ops(20_000);
    // Compared bit by bit after every step: a shorter map under Miri.
    let len = miri_or(300, 96);
    let mut m = map(len);
    let mut model = vec![false; len];
    for _ in 0..ops {
        let i = rng.range(0, len + 5);
        match rng.range(0, 7) {
            0 => {
                let changed = m.set(i);
                assert_eq!(changed, i < len && !model[i]);
                if i < len {
                    model[i] = true;
                }
            }
            1 => {
                let changed = m.clear(i);
                assert_eq!(changed, i < len && model[i]);
                if i < len {
                    model[i] = false;
                }
            }
            2 | 3 => {
                let n = rng.range(0, 80);
                let value = rng.chance(1, 2);
                let r = if value {
                    m.set_range(i, n)
                } else {
                    m.clear_range(i, n)
                };
                if i + n <= len {
                    r.unwrap();
                    model[i..i + n].fill(value);
                } else {
                    assert_eq!(r, Err(BitmapError::OutOfRange));
                }
            }
            4 => {
                let cursor = if i < len { i } else { 0 };
                let want = (cursor..len).chain(0..cursor).find(|&b| !model[b]);
                assert_eq!(m.find_clear(i), want);
            }
            _ => {
                let count = rng.range(1, 20);
                let align = [1, 2, 4, 8, 3][rng.range(0, 5)];
                let cursor = if i < len { i } else { 0 };
                let fits = |s: usize| {
                    s.is_multiple_of(align)
                        && s + count <= len
                        && model[s..s + count].iter().all(|b| !b)
                };
                let want = (cursor..len)
                    .find(|&s| fits(s))
                    .or_else(|| (0..cursor).find(|&s| fits(s)));
                assert_eq!(m.find_clear_run(count, align, i), want);
            }
        }
        assert_eq!(m.count_ones(), model.iter().filter(|&&b| b).count());
    }
    for (b, &v) in model.iter().enumerate() {
        assert_eq!(m.test(b), v);
    }
    m.check().unwrap();
}
