//! The static checks: citations, the form of transcripts, host commands.

use crate::markdown::Page;
use crate::pattern::has_mask;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

/// Names the pages cite that are not Cairn's: Rust's library, and the
/// projects the pages compare Cairn with (FreeNOS, Linux, xv6, the crates of
/// the benchmarks). Anything else in backticks must exist in the source.
const FOREIGN: &[&str] = &[
    // Rust
    "Box",
    "Vec",
    "String",
    "BTreeMap",
    "Option",
    "Result",
    "Some",
    "None",
    "Ok",
    "Err",
    "Layout",
    "GlobalAlloc",
    "Write",
    "Send",
    "Sync",
    "Copy",
    "Clone",
    "Debug",
    "Default",
    "Iterator",
    "Mutex",
    "NonNull",
    "Self",
    "T",
    // FreeNOS
    "Allocator",
    "MemoryMap",
    "MemoryContext",
    "MemoryChannel",
    "BitArray",
    "BubbleAllocator",
    "SplitAllocator",
    "PoolAllocator",
    "BitAllocator",
    "UserData",
    "UserHeap",
    "UserStack",
    "UserPrivate",
    "UserShare",
    "UserArgs",
    "ObjectPrefix",
    "ObjectPostfix",
    // SerenityOS, Linux, seeds
    "PhysicalZone",
    "DMA",
    "Normal",
    "HighMem",
    "NO_VOID",
];

/// Crates Cairn depends on: paths into them are not checked.
const CRATES: &[&str] = &[
    "spin",
    "bitflags",
    "log",
    "multiboot2",
    "x86",
    "pc_keyboard",
    "uart_16550",
    "talc",
    "rlsf",
    "buddy_system_allocator",
    "linked_list_allocator",
];

/// Extensions of files of other projects (xv6, FreeNOS): not checked.
const FOREIGN_EXT: &[&str] = &["c", "S", "h", "cpp", "pl", "py"];

/// Extensions of Cairn's own files: a cited one must exist.
const OWN_EXT: &[&str] = &[
    "rs", "s", "ld", "md", "svg", "toml", "json", "cfg", "gdb", "sh",
];

/// What the source declares.
struct Index {
    types: BTreeSet<String>,
    variants: BTreeSet<String>,
    fns: BTreeSet<String>,
    consts: BTreeSet<String>,
    fields: BTreeSet<String>,
    modules: BTreeSet<String>,
    files: BTreeSet<String>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut ix = Index {
            types: BTreeSet::new(),
            variants: BTreeSet::new(),
            fns: BTreeSet::new(),
            consts: BTreeSet::new(),
            fields: BTreeSet::new(),
            modules: BTreeSet::new(),
            files: BTreeSet::new(),
        };
        for dir in ["src", "asm", "tests", "benches", "user/src"] {
            walk(&crate::root().join(dir), &mut |p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                ix.files.insert(name.clone());
                if let Some(m) = name.strip_suffix(".rs") {
                    ix.modules.insert(m.to_string());
                }
                if p.file_name().is_some_and(|n| n == "mod.rs")
                    && let Some(parent) = p.parent().and_then(|d| d.file_name())
                {
                    ix.modules.insert(parent.to_string_lossy().into_owned());
                }
                if let Ok(text) = std::fs::read_to_string(p) {
                    scan(&text, &mut ix);
                }
            });
        }
        ix
    })
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(name) = p.file_name() {
                // a directory is a module too (src/mm/heap/)
                let _ = name;
            }
            walk(&p, f);
        } else {
            f(&p);
        }
    }
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

fn scan(text: &str, ix: &mut Index) {
    for line in text.lines() {
        let t = line.trim_start();
        // asm labels
        if let Some(label) = t.strip_suffix(':')
            && !label.is_empty()
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            ix.fns.insert(label.to_string());
        }
        let mut words = t.split_whitespace().peekable();
        let mut prev = "";
        while let Some(w) = words.next() {
            let next = words.peek().copied().unwrap_or("");
            let name = ident_at(next).to_string();
            match w {
                "struct" | "enum" | "trait" | "type" | "union" if !name.is_empty() => {
                    ix.types.insert(name);
                }
                "fn" if !name.is_empty() => {
                    ix.fns.insert(name);
                }
                "const" | "static" if !name.is_empty() && name != "mut" && name != "fn" => {
                    ix.consts.insert(name);
                }
                "mut" if (prev == "static") && !name.is_empty() => {
                    ix.consts.insert(name);
                }
                "mod" if !name.is_empty() => {
                    ix.modules.insert(name);
                }
                _ => {}
            }
            prev = w;
        }
        // enum variants and fields: a leading identifier followed by `,`,
        // `(`, `{`, `=` or `:`
        let lead = ident_at(
            t.trim_start_matches("pub ")
                .trim_start_matches("pub(crate) "),
        );
        if !lead.is_empty() {
            let rest = t
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ")[lead.len()..]
                .trim_start();
            if rest.starts_with(':') && !rest.starts_with("::") {
                ix.fields.insert(lead.to_string());
            } else if lead.chars().next().unwrap().is_ascii_uppercase()
                && (rest.is_empty()
                    || rest.starts_with(',')
                    || rest.starts_with('(')
                    || rest.starts_with('{')
                    || rest.starts_with('='))
            {
                ix.variants.insert(lead.to_string());
            }
        }
    }
}

/// Top-level files a page may cite by bare name.
const TOP_FILES: &[&str] = &[
    "linker.ld",
    "Makefile",
    "build.rs",
    "Cargo.toml",
    "i686-kernel.json",
    "debug.gdb",
    "rust-toolchain.toml",
    "README.md",
];

fn is_camel(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().any(|c| c.is_ascii_lowercase())
}

/// `ALL_CAPS` with an underscore or longer than an acronym (`TLB`, `CR2`).
fn is_caps(s: &str) -> bool {
    (s.len() > 4 || s.contains('_'))
        && s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Remove `<...>` generics and a trailing argument list; whether it had one.
fn strip_decorations(span: &str) -> (String, bool) {
    let mut s = span
        .trim()
        .trim_start_matches('&')
        .trim_start_matches("mut ")
        .to_string();
    if let Some(arrow) = s.find(" -> ") {
        s.truncate(arrow);
    }
    let mut called = false;
    if let Some(p) = s.find('(')
        && s.ends_with(')')
    {
        s.truncate(p);
        called = true;
    }
    let mut out = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    (out, called)
}

/// Why a cited name does not exist, if it does not.
fn check_name(span: &str) -> Option<String> {
    let ix = index();
    if span.starts_with("fn(")
        || span.starts_with("0x")
        || span.starts_with("P0x")
        || span.starts_with("V0x")
    {
        return None;
    }
    let (s, called) = strip_decorations(span);
    if s.contains(' ') || s.len() < 2 {
        return None;
    }
    // `KERNEL_HEAP.deallocate`, `counts().void_bytes`
    let (head, members): (&str, Vec<&str>) = match s.split_once('.') {
        Some((h, m)) => (h, m.split('.').collect()),
        None => (s.as_str(), Vec::new()),
    };
    let segs: Vec<&str> = head.split("::").collect();
    if segs
        .iter()
        .any(|seg| !is_ident(seg) && !seg.starts_with('{'))
    {
        return None;
    }
    if matches!(
        segs[0],
        "core" | "alloc" | "std" | "crate" | "self" | "super"
    ) {
        return None;
    }
    if segs.len() == 1 && members.is_empty() {
        let n = segs[0];
        if FOREIGN.contains(&n) {
            return None;
        }
        if is_camel(n) {
            return (!ix.types.contains(n) && !ix.variants.contains(n))
                .then(|| format!("`{span}`: no type or variant `{n}` in the source"));
        }
        if n.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && !is_caps(n)
        {
            return None;
        }
        if is_caps(n) {
            return (!ix.consts.contains(n) && !ix.variants.contains(n))
                .then(|| format!("`{span}`: no constant `{n}` in the source"));
        }
        if called {
            return (!ix.fns.contains(n))
                .then(|| format!("`{span}`: no function `{n}` in the source"));
        }
        return None;
    }
    if segs.len() > 1 && (FOREIGN.contains(&segs[0]) || CRATES.contains(&segs[0])) {
        return None;
    }
    let last = segs.len() - 1;
    for (i, seg) in segs.iter().enumerate() {
        if let Some(list) = seg.strip_prefix('{') {
            for item in list.trim_end_matches('}').split(',') {
                let item = item.trim();
                if let Some(e) = check_name(item) {
                    return Some(format!("`{span}`: {e}"));
                }
            }
            continue;
        }
        let ok = if is_camel(seg) {
            ix.types.contains(*seg) || ix.variants.contains(*seg) || FOREIGN.contains(seg)
        } else if is_caps(seg) {
            ix.consts.contains(*seg) || ix.variants.contains(*seg)
        } else if i == last {
            ix.fns.contains(*seg)
                || ix.modules.contains(*seg)
                || ix.fields.contains(*seg)
                || ix.consts.contains(*seg)
        } else {
            ix.modules.contains(*seg)
        };
        if !ok {
            return Some(format!("`{span}`: `{seg}` is not declared in the source"));
        }
    }
    for m in members {
        let (m, _) = strip_decorations(m);
        if is_ident(&m) && !ix.fns.contains(&m) && !ix.fields.contains(&m) {
            return Some(format!("`{span}`: no method or field `{m}` in the source"));
        }
    }
    None
}

/// Check a file path cited by a page: `None` when it is not a path, an
/// empty string when it is a path that is fine, else the error.
fn check_path(span: &str, page_dir: &Path) -> Option<String> {
    let root = crate::root();
    let s = span.trim();
    let first = s.split('/').next().unwrap_or("");
    let repo_dirs = ["src", "asm", "tests", "benches", "docs", "iso", "user"];
    if s.contains(' ') || s.contains('|') {
        return None;
    }
    if s.contains('/') && repo_dirs.contains(&first) {
        let p = root.join(s);
        return Some(if !p.exists() {
            format!("`{s}`: no such file or directory")
        } else {
            String::new()
        });
    }
    if TOP_FILES.contains(&s) {
        return Some(if !root.join(s).exists() {
            format!("`{s}`: no such file")
        } else {
            String::new()
        });
    }
    let _ = page_dir;
    let (stem, ext) = s.rsplit_once('.')?;
    if !is_ident(
        stem.rsplit('/')
            .next()
            .unwrap_or(stem)
            .replace('-', "_")
            .as_str(),
    ) {
        return None;
    }
    if FOREIGN_EXT.contains(&ext) {
        return Some(String::new()); // a file of another project
    }
    if OWN_EXT.contains(&ext) && !s.contains('/') {
        return Some(if !index().files.contains(s) && !root.join(s).exists() {
            format!("`{s}`: no file of that name in the repository")
        } else {
            String::new()
        });
    }
    None
}

/// Every file, type, function and link the page cites exists.
pub fn citations(doc: &Page) -> Vec<String> {
    let dir = doc.path.parent().unwrap();
    let mut errors = Vec::new();
    // Exercises and Future Improvements may name what is still to be written.
    let to_write = doc
        .text
        .find("## Exercises")
        .map_or(usize::MAX, |p| doc.text[..p].lines().count() + 1);
    for (line, span) in &doc.spans {
        let error = match check_path(span, dir) {
            Some(e) if e.is_empty() => None,
            Some(e) => Some(e),
            None if *line >= to_write => None,
            None => check_name(span),
        };
        if let Some(e) = error {
            errors.push(format!("{}:{line}: {e}", doc.name));
        }
    }
    for (line, link) in &doc.links {
        if !dir.join(link).exists() {
            errors.push(format!(
                "{}:{line}: the link `{link}` leads nowhere",
                doc.name
            ));
        }
    }
    // Rust shown in a page: what it declares or imports must exist.
    for b in &doc.blocks {
        if b.info != "rust" {
            continue;
        }
        for (i, line) in b.lines.iter().enumerate() {
            for name in rust_names(line) {
                if let Some(e) = check_name(&name) {
                    errors.push(format!(
                        "{}:{}: in Rust code: {e}",
                        doc.name,
                        b.line + 1 + i
                    ));
                }
            }
        }
    }
    errors
}

/// The names a line of Rust in a page cites: items of `use cairn::...`,
/// the trait, type or function it declares (`fn name` must exist), and
/// `Type::function(` calls.
fn rust_names(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    if let Some(path) = code.trim().strip_prefix("use cairn::") {
        let path = path.trim_end_matches(';');
        match path.split_once("::{") {
            Some((prefix, items)) => {
                for item in items.trim_end_matches('}').split(',') {
                    let item = item.trim();
                    if !item.is_empty() {
                        out.push(format!("{prefix}::{item}"));
                    }
                }
            }
            None => out.push(path.to_string()),
        }
    }
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| !w.is_empty())
        .collect();
    for pair in words.windows(2) {
        match pair[0] {
            "fn" => out.push(format!("{}()", pair[1].trim_matches(':'))),
            "trait" | "struct" | "enum" => out.push(pair[1].trim_matches(':').to_string()),
            _ => {}
        }
    }
    // `Type::function(` calls
    let mut rest = code;
    while let Some(pos) = rest.find("::") {
        let before = &rest[..pos];
        let ty_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |p| p + 1);
        let ty = &before[ty_start..];
        let after = &rest[pos + 2..];
        let f_end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let f = &after[..f_end];
        if is_camel(ty) && after[f_end..].starts_with('(') && !f.is_empty() {
            out.push(format!("{ty}::{f}()"));
        }
        rest = &rest[pos + 2..];
    }
    out
}

/// Transcripts are marked, replayable, and their masks are explained.
pub fn transcripts(doc: &Page) -> Vec<String> {
    let mut errors = Vec::new();
    let mut masks = BTreeSet::new();
    for b in &doc.blocks {
        let at = format!("{}:{}", doc.name, b.line);
        let shows_commands = b.lines.iter().any(|l| l.starts_with("cairn> "));
        let Some(r) = &b.replay else {
            if shows_commands {
                errors.push(format!(
                    "{at}: the block shows `cairn> ` commands but has no `<!-- replay: ... -->` line before it"
                ));
            }
            continue;
        };
        if b.info.starts_with('<') {
            errors.push(format!(
                "{at}: a replay comment must be the line right before a fenced block"
            ));
            continue;
        }
        match r.mode.as_str() {
            "serial" => {
                if !b.caption.to_lowercase().contains("serial") {
                    errors.push(format!(
                        "{at}: a transcript typed over the serial line must say so in the paragraph before it (found {:?})",
                        b.caption
                    ));
                }
            }
            "keyboard" => {
                if !b.caption.to_lowercase().contains("keyboard") {
                    errors.push(format!(
                        "{at}: a transcript typed on the keyboard must say so in the paragraph before it (found {:?})",
                        b.caption
                    ));
                }
            }
            "keys" => {
                if r.get("keys").is_none() {
                    errors.push(format!("{at}: a keys transcript needs keys=\"...\""));
                }
            }
            "boot" => {}
            "skip" => {
                if r.get("reason").is_none_or(str::is_empty) {
                    errors.push(format!("{at}: a skipped block needs reason=\"...\""));
                }
            }
            other => errors.push(format!("{at}: unknown replay mode `{other}`")),
        }
        if matches!(r.mode.as_str(), "serial" | "keyboard")
            && let Err(e) = crate::replay::commands(b)
        {
            errors.push(format!("{}:{e}", doc.name));
        }
        if r.mode != "skip" {
            for l in &b.lines {
                if has_mask(l) {
                    for m in ["{hex}", "{n}", "{*}", "{...}"] {
                        if l.contains(m) {
                            masks.insert(m);
                        }
                    }
                }
            }
        }
    }
    for m in masks {
        if !doc.spans.iter().any(|(_, s)| s == m) {
            errors.push(format!(
                "{}: its transcripts use the mask `{m}` but the page does not state what it stands for",
                doc.name
            ));
        }
    }
    errors
}

/// A line of shell: its words after any `VAR=value` prefixes, comment dropped.
fn shell_words(line: &str) -> Vec<String> {
    let line = line.split(" #").next().unwrap_or(line);
    let line = line.trim().trim_start_matches("$ ");
    line.split_whitespace()
        .skip_while(|w| w.contains('=') && !w.starts_with('-'))
        .map(str::to_string)
        .collect()
}

fn makefile_targets() -> BTreeSet<String> {
    let text = std::fs::read_to_string(crate::root().join("Makefile")).unwrap_or_default();
    let mut out = BTreeSet::new();
    for l in text.lines() {
        if let Some((head, _)) = l.split_once(':')
            && !l.starts_with('\t')
            && !head.contains('=')
            && !head.contains('$')
        {
            for t in head.split_whitespace() {
                out.insert(t.to_string());
            }
        }
    }
    out
}

fn cargo_targets(kind: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(crate::root().join("Cargo.toml")).unwrap_or_default();
    let mut out = BTreeSet::new();
    let mut inside = false;
    for l in text.lines() {
        if l.starts_with('[') {
            inside = l.trim() == format!("[[{kind}]]");
        } else if inside && let Some(v) = l.trim().strip_prefix("name = ") {
            out.insert(v.trim_matches('"').to_string());
        }
    }
    out
}

/// One shell command; why it would not work, if it would not.
fn check_command(words: &[String], tests: Option<&str>) -> Option<String> {
    let cmd = words.join(" ");
    match (
        words.first().map(String::as_str),
        words.get(1).map(String::as_str),
    ) {
        (Some("make"), Some(target)) if !target.contains('=') && !target.starts_with('-') => {
            (!makefile_targets().contains(target))
                .then(|| format!("`{cmd}`: the Makefile has no target `{target}`"))
        }
        (Some("cargo"), Some("bench")) => {
            let pos = words.iter().position(|w| w == "--bench")?;
            let name = words.get(pos + 1)?;
            (!cargo_targets("bench").contains(name))
                .then(|| format!("`{cmd}`: no benchmark `{name}`"))
        }
        (Some("cargo"), Some("test")) => {
            let mut filters = Vec::new();
            let mut after = false;
            let mut i = 2;
            while i < words.len() {
                let w = &words[i];
                if w == "--" {
                    after = true;
                } else if w == "--test" || w == "--bench" || w == "--features" || w == "-p" {
                    if w == "--test" {
                        let name = words.get(i + 1).cloned().unwrap_or_default();
                        if !cargo_targets("test").contains(&name) {
                            return Some(format!("`{cmd}`: no test target `{name}`"));
                        }
                        // the filters of another test binary are not in the list
                        return None;
                    }
                    i += 1;
                } else if !w.starts_with('-') {
                    filters.push(w.clone());
                }
                let _ = after;
                i += 1;
            }
            let tests = tests?;
            for f in filters {
                if !tests
                    .lines()
                    .any(|l| l.ends_with(": test") && l.contains(f.as_str()))
                {
                    return Some(format!("`{cmd}`: the filter `{f}` selects no host test"));
                }
            }
            None
        }
        _ => None,
    }
}

/// `cargo test` filters select tests, targets exist, the Quick Start opens
/// with the module's branch.
pub fn host_commands(doc: &Page, tests: Option<&str>) -> Vec<String> {
    let mut errors = Vec::new();
    for b in &doc.blocks {
        if !matches!(b.info.as_str(), "bash" | "sh" | "console" | "shell") {
            continue;
        }
        for (i, l) in b.lines.iter().enumerate() {
            if let Some(e) = check_command(&shell_words(l), tests) {
                errors.push(format!("{}:{}: {e}", doc.name, b.line + 1 + i));
            }
        }
    }
    for (line, span) in &doc.spans {
        let words = shell_words(span);
        if matches!(words.first().map(String::as_str), Some("cargo" | "make"))
            && let Some(e) = check_command(&words, tests)
        {
            errors.push(format!("{}:{line}: {e}", doc.name));
        }
    }
    // The Quick Start opens with `git switch module-NN-name`.
    let want = format!("git switch module-{}", doc.name);
    let quick = doc
        .text
        .find("## Quick Start")
        .map(|p| doc.text[..p].lines().count());
    match quick {
        None => errors.push(format!("{}: no `## Quick Start` section", doc.name)),
        Some(q) => {
            let first = doc.blocks.iter().find(|b| b.line > q);
            let ok = first.is_some_and(|b| {
                b.lines
                    .iter()
                    .map(|l| l.trim())
                    .find(|l| !l.is_empty() && !l.starts_with('#'))
                    .is_some_and(|l| shell_words(l).join(" ") == want)
            });
            if !ok {
                errors.push(format!(
                    "{}: the Quick Start's first block must open with `{want}`",
                    doc.name
                ));
            }
        }
    }
    errors
}

/// The sections of a module page, in order (ShompOS's module README, with
/// Key Terms moved before the Quick Start so terms come before the
/// transcripts that use them). Other sections may come between them; the
/// lab, when present, is last.
const SECTIONS: &[&str] = &[
    "Overview",
    "Key Topics",
    "Prerequisites",
    "Key Terms",
    "Quick Start",
    "Key Files",
    "Implementation Details",
    "Resources",
    "Exercises",
    "Future Improvements",
];

/// The page teaches in the course's format: the sections in order, an
/// overview that states the problem and the idea before the mechanism, and
/// no transcript before the Key Terms.
pub fn structure(doc: &Page) -> Vec<String> {
    let mut errors = Vec::new();
    let headings: Vec<(usize, &str)> = doc
        .text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| l.strip_prefix("## ").map(|h| (i + 1, h.trim())))
        .collect();
    let mut next = 0;
    for &(_, h) in &headings {
        if next < SECTIONS.len() && h == SECTIONS[next] {
            next += 1;
        } else if let Some(pos) = SECTIONS.iter().position(|s| *s == h)
            && pos < next
        {
            errors.push(format!(
                "{}: `## {h}` is out of order (order: {})",
                doc.name,
                SECTIONS.join(", ")
            ));
        }
    }
    if next < SECTIONS.len() {
        errors.push(format!(
            "{}: no `## {}` section where the course's format expects it (order: {})",
            doc.name,
            SECTIONS[next],
            SECTIONS.join(", ")
        ));
    }
    if let Some(lab) = headings.iter().position(|&(_, h)| h == "Lab")
        && lab + 1 != headings.len()
    {
        errors.push(format!("{}: `## Lab` must be the last section", doc.name));
    }
    let section = |name: &str| -> Option<(usize, usize)> {
        let i = headings.iter().position(|&(_, h)| h == name)?;
        let end = headings.get(i + 1).map_or(usize::MAX, |&(l, _)| l);
        Some((headings[i].0, end))
    };
    if let Some((start, end)) = section("Overview") {
        let body: String = doc
            .text
            .lines()
            .skip(start)
            .take(end.saturating_sub(start + 1))
            .collect::<Vec<_>>()
            .join("\n");
        let problem = body.find("**The problem.**");
        let idea = body.find("**The idea.**");
        match (problem, idea) {
            (Some(p), Some(i)) if p < i => {}
            _ => errors.push(format!(
                "{}: the Overview must open with `**The problem.**` and then `**The idea.**` before the mechanism",
                doc.name
            )),
        }
    }
    if let Some((terms, _)) = section("Key Terms")
        && let Some(b) = doc
            .blocks
            .iter()
            .find(|b| b.replay.as_ref().is_some_and(|r| r.mode != "skip"))
        && b.line < terms
    {
        errors.push(format!(
            "{}:{}: a transcript comes before the Key Terms (line {terms}) that explain it",
            doc.name, b.line
        ));
    }
    errors
}

#[test]
fn rust_in_pages_names_what_it_uses() {
    let names = rust_names("use cairn::mm::heap::{AnyHeap, HeapKind};");
    assert_eq!(names, ["mm::heap::AnyHeap", "mm::heap::HeapKind"]);
    let names =
        rust_names("    fn alloc(&mut self, layout: Layout) -> Result<(), E>; // fn not_this");
    assert_eq!(names, ["alloc()"]);
    // Names of module 1 (in the source of every module branch).
    let names = rust_names("let f = unsafe { Frame::containing_address(a)? };");
    assert_eq!(names, ["Frame::containing_address()"]);
    assert!(check_name("Frame::containing_address()").is_none());
    assert!(check_name("Frame::no_such_function()").is_some());
    assert!(check_name("NoSuchTypeAnywhere").is_some());
    assert!(check_name("Vec").is_none() && check_name("spin::Mutex").is_none());
}

#[test]
fn shell_commands_are_read_past_variables_and_comments() {
    assert_eq!(
        shell_words("CAIRN_SOAK_OPS=1000000 cargo test --release --lib soak   # the soak"),
        ["cargo", "test", "--release", "--lib", "soak"]
    );
    assert!(check_command(&shell_words("make no-such-target"), None).is_some());
    assert!(check_command(&shell_words("make doccheck"), None).is_none());
    assert!(check_command(&shell_words("cargo bench --bench nothing"), None).is_some());
    let list = "mm::frame::tests::a: test\nmm::paging::tests::b: test\n";
    assert!(check_command(&shell_words("cargo test --lib paging"), Some(list)).is_none());
    assert!(check_command(&shell_words("cargo test --lib -- mm::vm"), Some(list)).is_some());
}

#[test]
fn the_module_format_is_enforced() {
    let dir = std::env::temp_dir().join(format!("doccheck-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |body: &str| {
        let path = dir.join("09-x.md");
        std::fs::write(&path, body).unwrap();
        Page::read(&path)
    };
    let sections = |order: &[&str], overview: &str| {
        order
            .iter()
            .map(|s| {
                let body = if *s == "Overview" { overview } else { "text" };
                format!("## {s}\n\n{body}\n\n")
            })
            .collect::<String>()
    };
    let good = "**The problem.** p\n\n**The idea.** i";
    let mut order = SECTIONS.to_vec();
    order.push("Lab");
    assert!(structure(&write(&sections(&order, good))).is_empty());
    order.swap(3, 4); // Quick Start before Key Terms
    assert!(!structure(&write(&sections(&order, good))).is_empty());
    let mut order = SECTIONS.to_vec();
    order.insert(2, "Lab");
    assert!(!structure(&write(&sections(&order, good))).is_empty());
    assert!(
        !structure(&write(&sections(
            SECTIONS,
            "**The idea.** i\n\n**The problem.** p"
        )))
        .is_empty()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
