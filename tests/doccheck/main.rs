//! `make doccheck`: the module pages (`docs/modules/NN-*.md`) stay true.
//!
//! Three kinds of check, all driven by the pages themselves:
//!
//! 1. **Transcripts are replayed.** A fenced block preceded by a comment
//!    line `<!-- replay: MODE options -->` is a transcript: the page is
//!    booted headless in QEMU (once per boot option, in page order, so one
//!    block may build on the state the one before it left), the block's
//!    commands or keys are typed, and what the kernel prints must match the
//!    block line by line (ANSI colour codes stripped). Modes:
//!
//!    ```text
//!    boot       the boot lines, from the first line to `cairn: ready`
//!    serial     `cairn> cmd` lines typed over the serial line, each followed by its output
//!    keyboard   the same, typed on the PS/2 keyboard (QEMU's `sendkey`)
//!    keys       keys="..." pressed in hotkey mode (PS/2); the block is what they print
//!    skip       not replayed; reason="..." says why (counted and listed)
//!    ```
//!
//!    Options: `boot="k=v ..."` (the kernel command line; by default the
//!    first entry of the ISO's `grub.cfg`, what `make run` boots), `mem=16M`
//!    (default 128M), `fresh` (boot a machine of its own), `excerpt` (the
//!    block is a contiguous part of the output, not all of it),
//!    `setup="..."` (a command line typed over serial first, output
//!    unchecked).
//!
//!    Masks, for what legitimately varies (the page must state the rule):
//!    `{hex}` a hexadecimal number, `{n}` a decimal number, `{*}` any text
//!    within a line, and a line `{...}` any number of lines. On a line with
//!    a mask, a run of spaces matches any run of spaces (numbers of other
//!    widths shift the columns). Lines compare without trailing spaces.
//!
//!    Every block that shows a `cairn> ` line must be a replayed transcript
//!    (or a `skip`), a `serial` block's caption (the paragraph right
//!    before it) must say it is typed over the serial line, and a
//!    `keyboard` block's that it is typed on the keyboard.
//!
//! 2. **What a page cites exists.** Every `path/of/a/file` in backticks and
//!    every relative link must exist; every type (`CamelCase`), constant
//!    (`ALL_CAPS`), function (`name()`, `Type::name`) and module path
//!    (`mm::heap::buddy`) in backticks must be declared in `src/` (or
//!    `asm/`, `tests/`, `benches/`), unless it is a name of Rust's library
//!    or of another project the pages compare with (the list `FOREIGN`).
//!
//! 3. **Pages teach in one format.** The sections of ShompOS's module
//!    README in order (Overview, Key Topics, Prerequisites, Key Terms, Quick
//!    Start, Key Files, Implementation Details, Resources, Exercises, Future
//!    Improvements; Key Terms before the Quick Start so terms come before
//!    the transcripts), `## Lab` last when present, and an Overview that
//!    states `**The problem.**` and `**The idea.**` before the mechanism.
//!
//! 4. **Host commands shown work.** `cargo test` filters must select at
//!    least one test (the list comes from `CAIRN_TEST_LIST`, which
//!    `make doccheck` writes), `cargo bench --bench X` must name a
//!    benchmark, `make X` a Makefile target, and the Quick Start must open
//!    with `git switch module-NN-name` named after the page.
//!
//! The static checks run in `cargo test --test doccheck`; the replays boot
//! QEMU and are `#[ignore]`d: `make doccheck` runs both.
//!
//! In a transcript, a whole-line HTML comment (`<!-- ... -->`) is not
//! output: the course tool's markers (`<!-- course: module 05 -->`) may cut
//! lines of later modules out of a transcript on an early module branch.

#[allow(dead_code)]
#[path = "../qemu/support.rs"]
mod support;

mod check;
mod markdown;
mod pattern;
mod replay;

use std::path::PathBuf;

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every module page, in order.
fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs/modules"))
        .expect("docs/modules exists")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".md") && name.as_bytes()[0].is_ascii_digit()
        })
        .collect();
    pages.sort();
    pages
}

#[test]
fn pages_cite_only_what_exists() {
    let mut errors = Vec::new();
    for page in pages() {
        let doc = markdown::Page::read(&page);
        errors.extend(check::citations(&doc));
    }
    assert!(errors.is_empty(), "\n{}\n", errors.join("\n"));
}

#[test]
fn pages_have_well_formed_transcripts() {
    let mut errors = Vec::new();
    for page in pages() {
        let doc = markdown::Page::read(&page);
        errors.extend(check::transcripts(&doc));
    }
    assert!(errors.is_empty(), "\n{}\n", errors.join("\n"));
}

#[test]
fn pages_follow_the_module_format() {
    let mut errors = Vec::new();
    for page in pages() {
        let doc = markdown::Page::read(&page);
        errors.extend(check::structure(&doc));
    }
    assert!(errors.is_empty(), "\n{}\n", errors.join("\n"));
}

#[test]
fn host_commands_shown_work() {
    let mut errors = Vec::new();
    let tests = std::env::var("CAIRN_TEST_LIST")
        .ok()
        .map(|path| std::fs::read_to_string(path).expect("CAIRN_TEST_LIST is readable"));
    for page in pages() {
        let doc = markdown::Page::read(&page);
        errors.extend(check::host_commands(&doc, tests.as_deref()));
    }
    assert!(errors.is_empty(), "\n{}\n", errors.join("\n"));
}

/// `make doccheck PAGE=docs/modules/03-memory.md`: replay one page only.
#[test]
#[ignore = "boots QEMU: run with `make doccheck PAGE=...`"]
fn replay_one_page() {
    let page = std::env::var("CAIRN_DOCCHECK_PAGE").expect("CAIRN_DOCCHECK_PAGE names a page");
    replay::page(&root().join(page));
}

/// Every page replayed, several at a time (`CAIRN_DOCCHECK_JOBS`, 3 by
/// default), each on QEMUs of its own: whatever pages the tree holds (a
/// module branch has fewer, a new module adds one). Every failing page is
/// reported, not only the first.
#[test]
#[ignore = "boots QEMU: run with `make doccheck`"]
fn replay_every_page() {
    let jobs: usize = std::env::var("CAIRN_DOCCHECK_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(3)
        .max(1);
    let queue = std::sync::Mutex::new(pages());
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let Some(page) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let run = std::panic::catch_unwind(|| replay::page(&page));
                    if let Err(payload) = run {
                        let message = payload
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "(no message)".into());
                        failures.lock().unwrap().push(message);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} page(s) do not match what the kernel prints:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
