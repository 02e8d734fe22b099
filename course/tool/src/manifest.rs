//! `course/modules.toml`: the modules, the paths each one introduces, and
//! the labs with their graded tests.
//!
//! The file is a small subset of TOML, read here without a dependency:
//!
//! ```text
//!   [[module]]                 one table per module, in course order
//!   id = "03"                  two digits, the order of the course
//!   name = "memory"            branch names: module-03-memory, lab-03-memory
//!   paths = ["src/mm/heap/",   files and directories ("/" at the end) the
//!            "src/kernel/..."] module introduces; the longest match wins
//!
//!   [[lab]]
//!   module = "03"              the module whose branch it is cut from
//!   title = "..."
//!   pristine = ["tests/", ...] paths the grader takes from the pristine tree
//!   tests = ["host 20 split mm::heap::buddy::split", ...]
//! ```
//!
//! A test line is `KIND POINTS NAME SELECTOR [ARGS...]`:
//! - `host`: `cargo test --lib SELECTOR`; passes when at least one test
//!   matched and all matched passed;
//! - `kernel`: the in-kernel tests booted with ARGS (`MEM [options...]`,
//!   default `128M`); passes when at least one test whose name contains
//!   SELECTOR ran and all of them printed `ok`;
//! - `qemu`: `cargo test --test qemu -- --ignored SELECTOR`, like `host`;
//! - `boot`: the ISO boots (ARGS: kernel options) to `cairn: ready`.
//!
//! The points of a lab add up to 100.

use std::collections::BTreeMap;
use std::fmt;

/// A value of the subset: a string, an integer or an array of strings.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    List(Vec<String>),
}

/// One `[[table]]` with its keys, and the line it starts on.
#[derive(Debug, Clone)]
pub struct Table {
    pub kind: String,
    pub line: usize,
    pub keys: BTreeMap<String, Value>,
}

/// A manifest error: the line and what is wrong there.
#[derive(Debug)]
pub struct ManifestError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "course/modules.toml:{}: {}", self.line, self.message)
    }
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, ManifestError> {
    Err(ManifestError {
        line,
        message: message.into(),
    })
}

/// Parse the subset into tables, in file order.
pub fn parse_tables(text: &str) -> Result<Vec<Table>, ManifestError> {
    let mut tables: Vec<Table> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let line = strip_comment(lines[i]).trim().to_string();
        i += 1;
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("[[") {
            let Some(kind) = rest.strip_suffix("]]") else {
                return err(lineno, "a table header is written [[name]]");
            };
            tables.push(Table {
                kind: kind.trim().to_string(),
                line: lineno,
                keys: BTreeMap::new(),
            });
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return err(lineno, format!("expected `key = value`, found `{line}`"));
        };
        let key = key.trim().to_string();
        let mut value = value.trim().to_string();
        // An array may span lines: gather until its closing bracket.
        if value.starts_with('[') {
            while !array_closed(&value) {
                let Some(next) = lines.get(i) else {
                    return err(lineno, format!("the array of `{key}` is not closed"));
                };
                value.push(' ');
                value.push_str(strip_comment(next).trim());
                i += 1;
            }
        }
        let Some(table) = tables.last_mut() else {
            return err(lineno, "a key before any [[table]]");
        };
        let parsed = parse_value(&value).map_err(|m| ManifestError {
            line: lineno,
            message: format!("`{key}`: {m}"),
        })?;
        if table.keys.insert(key.clone(), parsed).is_some() {
            return err(lineno, format!("`{key}` is given twice"));
        }
    }
    Ok(tables)
}

/// The line without a `#` comment (a `#` inside a string is kept).
fn strip_comment(line: &str) -> &str {
    let mut in_str = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '#' if !in_str => return &line[..i],
            _ => {}
        }
    }
    line
}

fn array_closed(value: &str) -> bool {
    let mut in_str = false;
    for c in value.chars() {
        match c {
            '"' => in_str = !in_str,
            ']' if !in_str => return true,
            _ => {}
        }
    }
    false
}

fn parse_value(value: &str) -> Result<Value, String> {
    if let Some(s) = parse_str(value)? {
        return Ok(Value::Str(s));
    }
    if let Some(inner) = value.strip_prefix('[') {
        let inner = inner
            .trim_end()
            .strip_suffix(']')
            .ok_or("an array ends with ]")?;
        let mut items = Vec::new();
        let mut rest = inner.trim();
        while !rest.is_empty() {
            let Some(after) = rest.strip_prefix('"') else {
                return Err(format!("array items are strings, found `{rest}`"));
            };
            let end = after.find('"').ok_or("a string is not closed")?;
            items.push(after[..end].to_string());
            rest = after[end + 1..].trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        }
        return Ok(Value::List(items));
    }
    value
        .parse::<i64>()
        .map(Value::Int)
        .map_err(|_| format!("`{value}` is not a string, an integer or an array"))
}

fn parse_str(value: &str) -> Result<Option<String>, String> {
    let Some(inner) = value.strip_prefix('"') else {
        return Ok(None);
    };
    let inner = inner.strip_suffix('"').ok_or("a string is not closed")?;
    if inner.contains('"') || inner.contains('\\') {
        return Err("strings hold no quotes or backslashes".into());
    }
    Ok(Some(inner.to_string()))
}

/// One module of the course.
#[derive(Debug, Clone)]
pub struct Module {
    pub id: String,
    pub name: String,
    pub title: String,
    pub paths: Vec<String>,
    /// `false` while the module's branch does not build yet (`draft = "yes"`
    /// in the manifest): `make module-branches` and the CI check skip it.
    pub ready: bool,
}

impl Module {
    /// `module-03-memory`.
    pub fn branch(&self) -> String {
        format!("module-{}-{}", self.id, self.name)
    }
    /// `lab-03-memory`.
    pub fn lab_branch(&self) -> String {
        format!("lab-{}-{}", self.id, self.name)
    }
    /// The module's number, for comparisons.
    pub fn number(&self) -> u32 {
        self.id.parse().expect("checked when read")
    }
}

/// What a graded test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKind {
    Host,
    Kernel,
    Qemu,
    Boot,
}

impl TestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TestKind::Host => "host",
            TestKind::Kernel => "kernel",
            TestKind::Qemu => "qemu",
            TestKind::Boot => "boot",
        }
    }
}

/// One graded test of a lab.
#[derive(Debug, Clone)]
pub struct LabTest {
    pub kind: TestKind,
    pub points: u32,
    pub name: String,
    pub selector: String,
    pub args: Vec<String>,
}

/// One lab.
#[derive(Debug, Clone)]
pub struct Lab {
    pub module: String,
    pub title: String,
    pub difficulty: String,
    pub pristine: Vec<String>,
    pub tests: Vec<LabTest>,
}

/// The whole manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub modules: Vec<Module>,
    pub labs: Vec<Lab>,
}

impl Manifest {
    /// Read and check the manifest text.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let mut modules: Vec<Module> = Vec::new();
        let mut labs: Vec<Lab> = Vec::new();
        for t in parse_tables(text)? {
            match t.kind.as_str() {
                "module" => {
                    let m = Module {
                        id: get_str(&t, "id")?,
                        name: get_str(&t, "name")?,
                        title: get_str(&t, "title")?,
                        paths: get_list(&t, "paths")?,
                        ready: match t.keys.get("draft") {
                            None => true,
                            Some(Value::Str(s)) if s == "yes" => false,
                            Some(Value::Str(s)) if s == "no" => true,
                            Some(_) => return err(t.line, "draft is \"yes\" or \"no\""),
                        },
                    };
                    if m.id.len() != 2 || m.id.parse::<u32>().is_err() {
                        return err(t.line, format!("module id `{}` is not two digits", m.id));
                    }
                    if let Some(prev) = modules.last()
                        && prev.number() >= m.number()
                    {
                        return err(t.line, "modules are listed in increasing id order");
                    }
                    if m.name.is_empty()
                        || !m
                            .name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    {
                        return err(
                            t.line,
                            format!("module name `{}` is not [a-z0-9-]+", m.name),
                        );
                    }
                    check_keys(&t, &["id", "name", "title", "paths", "draft"])?;
                    modules.push(m);
                }
                "lab" => {
                    let module = get_str(&t, "module")?;
                    if !modules.iter().any(|m| m.id == module) {
                        return err(t.line, format!("lab of unknown module `{module}`"));
                    }
                    if labs.iter().any(|l| l.module == module) {
                        return err(t.line, format!("module {module} has two labs"));
                    }
                    let mut tests = Vec::new();
                    for line in get_list(&t, "tests")? {
                        tests.push(parse_test(&line).map_err(|m| ManifestError {
                            line: t.line,
                            message: format!("test `{line}`: {m}"),
                        })?);
                    }
                    let total: u32 = tests.iter().map(|t| t.points).sum();
                    if total != 100 {
                        return err(
                            t.line,
                            format!("the tests of lab {module} give {total} points, not 100"),
                        );
                    }
                    let difficulty = get_str(&t, "difficulty")?;
                    if !["easy", "moderate", "hard"].contains(&difficulty.as_str()) {
                        return err(t.line, "difficulty is easy, moderate or hard");
                    }
                    check_keys(&t, &["module", "title", "difficulty", "pristine", "tests"])?;
                    labs.push(Lab {
                        module,
                        title: get_str(&t, "title")?,
                        difficulty,
                        pristine: get_list(&t, "pristine")?,
                        tests,
                    });
                }
                other => return err(t.line, format!("unknown table [[{other}]]")),
            }
        }
        if modules.is_empty() {
            return err(1, "no [[module]]");
        }
        Ok(Manifest { modules, labs })
    }

    /// The module with this id.
    pub fn module(&self, id: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.id == id)
    }

    /// The lab of this module, if it has one.
    pub fn lab(&self, id: &str) -> Option<&Lab> {
        self.labs.iter().find(|l| l.module == id)
    }

    /// The module that introduces `path`: the longest matching entry.
    pub fn owner(&self, path: &str) -> Option<&Module> {
        let mut best: Option<(&Module, usize)> = None;
        for m in &self.modules {
            for p in &m.paths {
                let hit = if p.ends_with('/') {
                    path.starts_with(p.as_str())
                } else {
                    path == p
                };
                if hit && best.is_none_or(|(_, len)| p.len() > len) {
                    best = Some((m, p.len()));
                }
            }
        }
        best.map(|(m, _)| m)
    }
}

fn check_keys(t: &Table, known: &[&str]) -> Result<(), ManifestError> {
    for k in t.keys.keys() {
        if !known.contains(&k.as_str()) {
            return err(t.line, format!("unknown key `{k}` in [[{}]]", t.kind));
        }
    }
    Ok(())
}

fn get_str(t: &Table, key: &str) -> Result<String, ManifestError> {
    match t.keys.get(key) {
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(_) => err(t.line, format!("`{key}` is a string")),
        None => err(t.line, format!("[[{}]] needs `{key}`", t.kind)),
    }
}

fn get_list(t: &Table, key: &str) -> Result<Vec<String>, ManifestError> {
    match t.keys.get(key) {
        Some(Value::List(l)) => Ok(l.clone()),
        Some(_) => err(t.line, format!("`{key}` is an array of strings")),
        None => err(t.line, format!("[[{}]] needs `{key}`", t.kind)),
    }
}

/// `KIND POINTS NAME SELECTOR [ARGS...]`.
pub fn parse_test(line: &str) -> Result<LabTest, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() < 4 {
        return Err("expected KIND POINTS NAME SELECTOR [ARGS...]".into());
    }
    let kind = match words[0] {
        "host" => TestKind::Host,
        "kernel" => TestKind::Kernel,
        "qemu" => TestKind::Qemu,
        "boot" => TestKind::Boot,
        k => return Err(format!("kind `{k}` is not host, kernel, qemu or boot")),
    };
    let points = words[1]
        .parse::<u32>()
        .map_err(|_| format!("points `{}` is not a number", words[1]))?;
    Ok(LabTest {
        kind,
        points,
        name: words[2].to_string(),
        selector: words[3].to_string(),
        args: words[4..].iter().map(|s| s.to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# a comment
[[module]]
id = "01"
name = "boot"
title = "Boot"
paths = ["asm/", "src/main.rs",  # trailing comment
         "src/"]

[[module]]
id = "03"
name = "memory"
title = "Memory"
draft = "yes"
paths = ["src/mm/heap/", "src/mm/heap/buddy.rs"]

[[lab]]
module = "03"
title = "Split and coalesce"
difficulty = "moderate"
pristine = ["tests/"]
tests = [
  "host 60 split mm::heap::split",
  "kernel 30 heap heap_ 128M heap=buddy",
  "boot 10 boots -",
]
"#;

    #[test]
    fn reads_modules_labs_and_owners() {
        let m = Manifest::parse(SAMPLE).unwrap();
        assert_eq!(m.modules.len(), 2);
        assert_eq!(m.modules[1].branch(), "module-03-memory");
        assert!(m.modules[0].ready && !m.modules[1].ready);
        assert_eq!(m.modules[1].lab_branch(), "lab-03-memory");
        assert_eq!(m.owner("src/main.rs").unwrap().id, "01");
        assert_eq!(m.owner("src/mm/heap/any.rs").unwrap().id, "03");
        assert_eq!(m.owner("src/kernel/mod.rs").unwrap().id, "01");
        assert!(m.owner("README.md").is_none());
        let lab = m.lab("03").unwrap();
        assert_eq!(lab.tests.len(), 3);
        assert_eq!(lab.tests[1].kind, TestKind::Kernel);
        assert_eq!(lab.tests[1].args, ["128M", "heap=buddy"]);
    }

    #[test]
    fn points_must_add_up_to_100() {
        let bad = SAMPLE.replace("boot 10", "boot 11");
        let e = Manifest::parse(&bad).unwrap_err();
        assert!(e.message.contains("101 points"), "{e}");
    }

    #[test]
    fn errors_name_the_line() {
        let e = Manifest::parse("[[module]]\nid = \"1\"\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = Manifest::parse("[[module]]\nid = oops\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("oops"));
        let e = Manifest::parse("[[widget]]\n").unwrap_err();
        assert!(e.message.contains("widget"));
    }
}
