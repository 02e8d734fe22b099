//! Host tests of the text helpers: counted nouns, sizes in each style,
//! the inline string, and lines wrapped to the screen.

use super::*;
use core::fmt::Write;

#[test]
fn a_count_of_one_takes_the_singular() {
    assert_eq!(noun(0, "frame", "frames"), "frames");
    assert_eq!(noun(1, "frame", "frames"), "frame");
    assert_eq!(noun(2, "frame", "frames"), "frames");
}

#[test]
fn sizes_print_in_units() {
    assert_eq!(Size::new(1024).to_string(), "1 KiB");
    assert_eq!(Size::new(639 * 1024).to_string(), "639 KiB");
    assert_eq!(Size::new(3 << 30).to_string(), "3 GiB");
    assert_eq!(Size::new(1000).to_string(), "1000 B");
    assert_eq!(Size::new(0x7EE0000).to_string(), "126.8 MiB");
}

#[test]
fn tenths_truncate_and_stay_in_kib_below_a_mib() {
    assert_eq!(Size::tenths(4096).to_string(), "4 KiB");
    assert_eq!(Size::tenths(1000).to_string(), "0 KiB");
    assert_eq!(Size::tenths(0x7FE_0000).to_string(), "127.8 MiB");
    assert_eq!(Size::tenths(3 << 30).to_string(), "3.0 GiB");
    assert_eq!(Size::tenths(1 << 20).to_string(), "1.0 MiB");
}

#[test]
fn exact_sizes_are_whole_units_or_bytes() {
    assert_eq!(Size::exact(16).to_string(), "16 bytes");
    assert_eq!(Size::exact(4096).to_string(), "4 KiB");
    assert_eq!(Size::exact(128 << 20).to_string(), "128 MiB");
    assert_eq!(Size::exact(3 << 30).to_string(), "3 GiB");
    assert_eq!(Size::exact(1536).to_string(), "1536 bytes");
    assert_eq!(Size::exact(0).to_string(), "0 bytes");
    assert_eq!(Size::exact(1 << 40).to_string(), "1024 GiB");
}

#[test]
fn truncation_keeps_characters_whole() {
    let f = FixedStr::<4>::from_str_truncated("abcé");
    assert_eq!(f.as_str(), "abc");
}

/// `s` through a [`Wrap`] of `width` columns.
fn wrapped(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut w = Wrap::new(&mut out, width);
    w.write_str(s).unwrap();
    w.finish().unwrap();
    out
}

#[test]
fn wrap_leaves_short_lines_and_tables_alone() {
    let s = "  pid  ppid  state\n    1     0  ready   \nlast";
    assert_eq!(wrapped(s, 79), s);
}

#[test]
fn wrap_breaks_at_the_last_space_and_indents_the_rest() {
    assert_eq!(
        wrapped("one two three four\n", 10),
        "one two\n  three\n  four\n"
    );
    assert_eq!(wrapped("  ab cd ef gh\n", 9), "  ab cd\n    ef gh\n");
}

#[test]
fn wrap_counts_no_column_for_escape_sequences_and_cuts_long_words() {
    assert_eq!(
        wrapped("\x1b[91mabc def\x1b[0m\n", 7),
        "\x1b[91mabc def\x1b[0m\n"
    );
    assert_eq!(wrapped("abcdefghij\n", 6), "abcd\n  efgh\n  ij\n");
    let long: String = core::iter::repeat_n("word ", 100).collect();
    for line in wrapped(&long, 79).lines() {
        assert!(line.chars().count() <= 79, "{line}");
    }
}
