//! The layers of `src/kernel/`: every file imports only files of a lower
//! layer, so the glue reads bottom-up and has no import cycle.
//!
//! The order is the table in `src/kernel/mod.rs`'s doc, between the
//! `<!-- layers -->` markers: `layer N: file file dir/*`, lowest first. This
//! test reads that table and every `.rs` file under `src/kernel/`, finds each
//! `crate::kernel::...` and `super::...` path (groups `{a, b::c, self}`
//! included, comments left out), resolves it to the file that defines the
//! module, and fails on
//! - a file the table does not place,
//! - an import of a file in the same layer or a higher one.
//!
//! Run it alone with `cargo test --test kernel_layers`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Files of `src/kernel/`, by path relative to it (`commands/heap.rs`).
type Tree = BTreeMap<String, String>;

/// The layer table: `(layer, entry)` pairs, an entry a file or `dir/*`.
fn parse_table(mod_rs: &str) -> Result<Vec<(u32, String)>, String> {
    let start = mod_rs
        .find("<!-- layers -->")
        .ok_or("src/kernel/mod.rs has no `<!-- layers -->` marker")?;
    let end = mod_rs
        .find("<!-- /layers -->")
        .ok_or("src/kernel/mod.rs has no `<!-- /layers -->` marker")?;
    let mut table = Vec::new();
    for line in mod_rs[start..end].lines() {
        let line = line.trim_start_matches("//!").trim();
        let Some(rest) = line.strip_prefix("layer ") else {
            continue;
        };
        let (n, names) = rest
            .split_once(':')
            .ok_or_else(|| format!("table line `{line}`: no `:` after the layer number"))?;
        let n: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("table line `{line}`: `{n}` is not a layer number"))?;
        for name in names.split_whitespace() {
            table.push((n, name.to_string()));
        }
    }
    if table.is_empty() {
        return Err("the layer table is empty".into());
    }
    Ok(table)
}

/// The layer of every file: named files first, then `dir/*` for the rest of
/// that folder (and its subfolders). Unplaced files are an error.
fn place(tree: &Tree, table: &[(u32, String)]) -> Result<BTreeMap<String, u32>, Vec<String>> {
    let mut layer = BTreeMap::new();
    let mut errors = Vec::new();
    for file in tree.keys() {
        let exact = table.iter().find(|(_, e)| e == file);
        let folder = table
            .iter()
            .filter_map(|(n, e)| {
                let dir = e.strip_suffix("/*")?;
                file.starts_with(&format!("{dir}/"))
                    .then_some((dir.len(), *n))
            })
            .max();
        match (exact, folder) {
            (Some((n, _)), _) => {
                layer.insert(file.clone(), *n);
            }
            (None, Some((_, n))) => {
                layer.insert(file.clone(), n);
            }
            (None, None) => errors.push(format!(
                "src/kernel/{file} has no layer: add it to the table in src/kernel/mod.rs"
            )),
        }
    }
    for (_, e) in table {
        let known = match e.strip_suffix("/*") {
            Some(dir) => tree.keys().any(|f| f.starts_with(&format!("{dir}/"))),
            None => tree.contains_key(e),
        };
        if !known {
            errors.push(format!(
                "the layer table names `{e}`, which is no file of src/kernel"
            ));
        }
    }
    if errors.is_empty() {
        Ok(layer)
    } else {
        Err(errors)
    }
}

/// `src` without `//` comments (doc comments included) and string literals,
/// line structure kept.
fn strip(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    for line in src.lines() {
        let mut in_str = false;
        let mut prev = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_str {
                if c == '"' && prev != '\\' {
                    in_str = false;
                }
                prev = if prev == '\\' && c == '\\' { ' ' } else { c };
                continue;
            }
            if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' {
                in_str = true;
                prev = ' ';
                continue;
            }
            out.push(c);
        }
        out.push('\n');
    }
    out
}

/// Every module path a `crate::kernel::` or `super::` path names, with its
/// line: `["commands", "kit", "Command"]`. `super` is resolved against the
/// module of `file`; a visibility (`pub(super)`) is no import.
fn imports(file: &str, src: &str) -> Vec<(usize, Vec<String>)> {
    let module = module_of(file);
    let text = strip(src);
    let mut found = Vec::new();
    for (prefix, base) in [
        ("crate::kernel", Vec::new()),
        ("super", module[..module.len().saturating_sub(1)].to_vec()),
    ] {
        let mut from = 0;
        while let Some(at) = text[from..].find(prefix) {
            let start = from + at;
            from = start + prefix.len();
            let before = text[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue; // part of a longer path (`$crate::kernel` is kept: `$`)
            }
            if text[..start].ends_with("pub(") {
                continue; // a visibility, `pub(super)`: no import
            }
            let rest = &text[from..];
            if rest.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue; // a longer name (`superb`, `crate::kernel_x`)
            }
            let line = text[..start].matches('\n').count() + 1;
            if !rest.starts_with("::") {
                found.push((line, base.clone())); // the module itself
                continue;
            }
            for path in expand(&rest[2..]) {
                let mut full = base.clone();
                full.extend(path);
                found.push((line, full));
            }
        }
    }
    found
}

/// The paths of a use tree at the start of `s`: `a::b`, `{a, b::{c, self}}`.
fn expand(s: &str) -> Vec<Vec<String>> {
    let s = s.trim_start();
    if let Some(inner) = s.strip_prefix('{') {
        let mut depth = 1;
        let mut end = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let body = &inner[..end];
        let mut parts = Vec::new();
        let (mut depth, mut last) = (0, 0);
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&body[last..i]);
                    last = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&body[last..]);
        return parts
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            .flat_map(expand)
            .collect();
    }
    let ident: String = s
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() || ident == "self" {
        return vec![Vec::new()];
    }
    let rest = &s[ident.len()..];
    match rest.strip_prefix("::") {
        Some(more) => expand(more)
            .into_iter()
            .map(|mut p| {
                p.insert(0, ident.clone());
                p
            })
            .collect(),
        None => vec![vec![ident]],
    }
}

/// The module path of a file: `commands/heap.rs` -> `[commands, heap]`,
/// `commands/mod.rs` -> `[commands]`, `mod.rs` -> `[]`.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The file that defines the module a path ends in (the rest of the path
/// names items inside it).
fn resolve(tree: &Tree, path: &[String]) -> String {
    let mut dir = String::new();
    for seg in path {
        let file = format!("{dir}{seg}.rs");
        if tree.contains_key(&file) {
            return file;
        }
        let sub = format!("{dir}{seg}/mod.rs");
        if tree.contains_key(&sub) {
            dir = format!("{dir}{seg}/");
        } else {
            break;
        }
    }
    format!("{dir}mod.rs")
}

/// Every import against the order, as `file:line: message`.
fn violations(tree: &Tree, table: &[(u32, String)]) -> Vec<String> {
    let layer = match place(tree, table) {
        Ok(l) => l,
        Err(errors) => return errors,
    };
    let mut bad = Vec::new();
    for (file, src) in tree {
        for (line, path) in imports(file, src) {
            let target = resolve(tree, &path);
            if &target == file {
                continue;
            }
            let (from, to) = (layer[file], layer[&target]);
            if to >= from {
                bad.push(format!(
                    "src/kernel/{file}:{line}: imports src/kernel/{target} (`{}`), layer {to}, \
                     from layer {from}: a file may import only lower layers",
                    path.join("::")
                ));
            }
        }
    }
    bad
}

fn read_tree(dir: &Path, rel: &str, tree: &mut Tree) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("read src/kernel")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            read_tree(&path, &format!("{rel}{name}/"), tree);
        } else if name.ends_with(".rs") {
            tree.insert(format!("{rel}{name}"), fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn kernel_files_import_only_lower_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kernel");
    let mut tree = Tree::new();
    read_tree(&root, "", &mut tree);
    let table = parse_table(&tree["mod.rs"]).unwrap_or_else(|e| panic!("{e}"));
    let bad = violations(&tree, &table);
    assert!(
        bad.is_empty(),
        "src/kernel breaks its layer order:\n{}",
        bad.join("\n")
    );
}

/// A small tree for the checker's own tests.
fn fake(files: &[(&str, &str)]) -> Tree {
    files
        .iter()
        .map(|(f, s)| (f.to_string(), s.to_string()))
        .collect()
}

const TABLE: &str = "//! <!-- layers -->\n//! layer 0: low.rs\n//! layer 1: mid/*\n\
                     //! layer 2: mid/mod.rs\n//! layer 3: mod.rs\n//! <!-- /layers -->\n";

#[test]
fn an_import_upwards_is_caught() {
    let tree = fake(&[
        ("mod.rs", TABLE),
        ("low.rs", "use crate::kernel::mid::a::Thing;\n"),
        ("mid/mod.rs", "mod a;\n"),
        ("mid/a.rs", "use crate::kernel::low;\n"),
    ]);
    let bad = violations(&tree, &parse_table(TABLE).unwrap());
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("src/kernel/low.rs:1: imports src/kernel/mid/a.rs"));
}

#[test]
fn a_cycle_inside_a_layer_is_caught_through_groups_and_super() {
    let tree = fake(&[
        ("mod.rs", TABLE),
        ("low.rs", "fn f() {}\n"),
        ("mid/mod.rs", "mod a;\nmod b;\n"),
        ("mid/a.rs", "use crate::kernel::{low, mid::{b::X, self}};\n"),
        (
            "mid/b.rs",
            "// use super::a; in a comment is no import\nuse super::a::Y;\n",
        ),
    ]);
    let bad = violations(&tree, &parse_table(TABLE).unwrap());
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(bad[0].contains("src/kernel/mid/a.rs:1: imports src/kernel/mid/b.rs"));
    assert!(bad[1].contains("src/kernel/mid/a.rs:1: imports src/kernel/mid/mod.rs"));
    assert!(bad[2].contains("src/kernel/mid/b.rs:2: imports src/kernel/mid/a.rs"));
}

#[test]
fn an_unplaced_file_is_caught() {
    let tree = fake(&[
        ("mod.rs", TABLE),
        ("low.rs", ""),
        ("new.rs", ""),
        ("mid/mod.rs", ""),
    ]);
    let bad = violations(&tree, &parse_table(TABLE).unwrap());
    assert_eq!(
        bad,
        ["src/kernel/new.rs has no layer: add it to the table in src/kernel/mod.rs"]
    );
}

#[test]
fn a_bare_path_to_the_kernel_module_is_an_import_of_mod_rs() {
    let tree = fake(&[
        ("mod.rs", TABLE),
        ("low.rs", "use crate::kernel;\nfn f() { kernel::x(); }\n"),
        ("mid/mod.rs", ""),
    ]);
    let bad = violations(&tree, &parse_table(TABLE).unwrap());
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].contains("src/kernel/low.rs:1: imports src/kernel/mod.rs"));
}

#[test]
fn a_visibility_is_no_import() {
    let tree = fake(&[
        ("mod.rs", TABLE),
        (
            "low.rs",
            "pub(super) fn f() {}
pub(crate) struct S;
",
        ),
        (
            "mid/mod.rs",
            "mod a;
",
        ),
        (
            "mid/a.rs",
            "pub(super) struct T {
    pub(super) x: u32,
}
",
        ),
    ]);
    let bad = violations(&tree, &parse_table(TABLE).unwrap());
    assert!(bad.is_empty(), "{bad:?}");
}
