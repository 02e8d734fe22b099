//! Cutting: the tree of one branch written into a directory, then made a
//! single parentless commit.
//!
//! ```text
//!   work tree (clean, = HEAD)
//!     every tracked file -> its module (manifest, longest path wins)
//!       module > N       -> absent from the branch
//!       module <= N      -> markers applied (markers.rs), written
//!     `mod x;` lines of absent files -> dropped from their parent module
//!     Rust files the cut changed  -> rustfmt (imports sorted again)
//!     course/cut.toml    -> what this branch is (read by `grade`)
//!   directory -> index (a private one) -> tree -> commit-tree (no parent)
//! ```

use crate::git;
use crate::manifest::{Manifest, Module};
use crate::markers::{self, Target};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The file a cut branch carries to say what it is.
pub const CUT_FILE: &str = "course/cut.toml";
/// The manifest, relative to the top of the tree.
pub const MANIFEST: &str = "course/modules.toml";

/// What one branch is.
#[derive(Debug, Clone)]
pub struct Branch {
    pub module: Module,
    pub lab: bool,
}

impl Branch {
    pub fn name(&self) -> String {
        if self.lab {
            self.module.lab_branch()
        } else {
            self.module.branch()
        }
    }
    pub fn target(&self) -> Target {
        let n = self.module.number();
        Target {
            module: n,
            lab: self.lab.then_some(n),
        }
    }
}

/// Read the manifest at the top of a tree.
pub fn read_manifest(top: &Path) -> Result<Manifest, String> {
    let path = top.join(MANIFEST);
    let text =
        fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Manifest::parse(&text).map_err(|e| e.to_string())
}

/// Every tracked file with its module; an error lists the files of no module.
pub fn owners<'m>(
    manifest: &'m Manifest,
    files: &[String],
) -> Result<Vec<(String, &'m Module)>, String> {
    let mut owned = Vec::new();
    let mut orphans = Vec::new();
    for f in files {
        match manifest.owner(f) {
            Some(m) => owned.push((f.clone(), m)),
            None => orphans.push(f.as_str()),
        }
    }
    if !orphans.is_empty() {
        return Err(format!(
            "{} file(s) belong to no module; add them (or their folder) to the `paths` \
             of the module that introduces them in {MANIFEST}:\n  {}",
            orphans.len(),
            orphans.join("\n  ")
        ));
    }
    Ok(owned)
}

/// Check every marker of every tracked text file and that every file has
/// a module (what `make lint` runs on main).
pub fn lint(top: &Path) -> Result<usize, String> {
    let manifest = read_manifest(top)?;
    let files = git::tracked_files(top)?;
    owners(&manifest, &files)?;
    let mut errors = Vec::new();
    for f in &files {
        let Ok(text) = fs::read_to_string(top.join(f)) else {
            continue;
        };
        if let Err(e) = markers::cut_file(f, &text, None) {
            errors.push(format!("{f}: {e}"));
        }
    }
    if errors.is_empty() {
        Ok(files.len())
    } else {
        Err(errors.join("\n"))
    }
}

/// Write `branch`'s tree, cut from the tracked files under `top`, into `out`
/// (which must not exist). `source` is the commit cut from.
pub fn write_tree(top: &Path, branch: &Branch, source: &str, out: &Path) -> Result<(), String> {
    let manifest = read_manifest(top)?;
    let files = git::tracked_files(top)?;
    let owned = owners(&manifest, &files)?;
    let target = branch.target();
    if out.exists() {
        return Err(format!("{} exists already", out.display()));
    }
    let mut kept: Vec<String> = Vec::new();
    let mut absent: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    let mut reformat: Vec<PathBuf> = Vec::new();
    for (f, m) in &owned {
        if m.number() > target.module {
            absent.push(f.clone());
            continue;
        }
        let src = top.join(f);
        let dst = out.join(f);
        if let Some(dir) = dst.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let bytes = fs::read(&src).map_err(|e| format!("{f}: {e}"))?;
        match String::from_utf8(bytes) {
            Ok(text) => match markers::cut_file(f, &text, Some(target)) {
                Ok(cut) => {
                    if cut != text && f.ends_with(".rs") {
                        reformat.push(dst.clone());
                    }
                    fs::write(&dst, cut).map_err(|e| format!("{f}: {e}"))?
                }
                Err(e) => errors.push(format!("{f}: {e}")),
            },
            Err(raw) => fs::write(&dst, raw.into_bytes()).map_err(|e| format!("{f}: {e}"))?,
        }
        let perms = fs::metadata(&src)
            .map_err(|e| format!("{f}: {e}"))?
            .permissions();
        fs::set_permissions(&dst, perms).map_err(|e| format!("{f}: {e}"))?;
        kept.push(f.clone());
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    reformat.extend(drop_mod_lines(out, &kept, &absent)?);
    rustfmt(top, &reformat)?;
    let cut = format!(
        "# Written by `make module-branches`: what this branch is. `make grade` reads it.\n\
         kind = \"{}\"\nmodule = \"{}\"\nbranch = \"{}\"\nsource = \"{}\"\n",
        if branch.lab { "lab" } else { "module" },
        branch.module.id,
        branch.name(),
        source
    );
    fs::write(out.join(CUT_FILE), cut).map_err(|e| format!("{CUT_FILE}: {e}"))?;
    Ok(())
}

/// `(parent folder, module name)` of every Rust module made of absent files.
fn absent_modules(kept: &[String], absent: &[String]) -> BTreeSet<(String, String)> {
    let kept: BTreeSet<&str> = kept.iter().map(String::as_str).collect();
    let mut out = BTreeSet::new();
    for f in absent {
        let p = Path::new(f);
        if p.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let dir = p.parent().unwrap_or(Path::new(""));
        let (parent, name) = if stem == "mod" {
            match (dir.parent(), dir.file_name().and_then(|s| s.to_str())) {
                (Some(pp), Some(n)) => (pp.to_path_buf(), n.to_string()),
                _ => continue,
            }
        } else {
            (dir.to_path_buf(), stem.to_string())
        };
        // A folder module stays when its mod.rs stays.
        let mod_rs = parent.join(&name).join("mod.rs");
        if kept.contains(mod_rs.to_str().unwrap_or("")) {
            continue;
        }
        out.insert((parent.to_string_lossy().into_owned(), name));
    }
    out
}

/// Format the Rust files a cut changed as `cargo fmt` would (every crate
/// here is edition 2024, with rustfmt's defaults): without a marker between
/// them, `use` lines that main keeps in separate groups form one group that
/// must be sorted again, and a dropped region can leave two blank lines.
/// A branch's `make lint` (`cargo fmt --check`) then passes.
fn rustfmt(top: &Path, files: &[PathBuf]) -> Result<(), String> {
    if files.is_empty() {
        return Ok(());
    }
    let out = std::process::Command::new("rustfmt")
        .args(["--edition", "2024", "--unstable-features"])
        // Each changed file alone, not the modules it declares (a crate
        // root would format the whole crate, file by file).
        .args(["--config", "skip_children=true"])
        .args(files)
        .current_dir(top)
        .output()
        .map_err(|e| format!("cannot run rustfmt ({e}): `rustup component add rustfmt`"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "rustfmt rejects the cut (a marker region that leaves broken code?):\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Drop `mod name;` (and the attributes above it) for absent modules; the
/// files changed.
fn drop_mod_lines(out: &Path, kept: &[String], absent: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut changed = Vec::new();
    for (parent, name) in absent_modules(kept, absent) {
        let parent = PathBuf::from(parent);
        let mut candidates = vec![
            parent.join("mod.rs"),
            parent.join("lib.rs"),
            parent.join("main.rs"),
        ];
        if let (Some(pp), Some(n)) = (parent.parent(), parent.file_name()) {
            candidates.push(pp.join(format!("{}.rs", n.to_string_lossy())));
        }
        for c in candidates {
            let path = out.join(&c);
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            let new = without_mod(&text, &name);
            if new != text {
                fs::write(&path, new).map_err(|e| format!("{}: {e}", c.display()))?;
                changed.push(path);
            }
        }
    }
    Ok(changed)
}

/// The text without the `mod name;` declaration, the `use name::...;`
/// re-exports from it, and their attribute lines.
pub fn without_mod(text: &str, name: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let strip_vis = |l: &str| -> String {
        let t = l.trim();
        t.strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t)
            .to_string()
    };
    let mut drop = vec![false; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        let t = strip_vis(lines[i]);
        let is_mod = t == format!("mod {name};");
        let is_use = t.starts_with(&format!("use {name}::"))
            || t.starts_with(&format!("use self::{name}::"));
        if is_mod || is_use {
            let first = i;
            // A `use` may span lines: up to the one that ends with `;`.
            while is_use && !lines[i].trim_end().ends_with(';') && i + 1 < lines.len() {
                i += 1;
            }
            for d in &mut drop[first..=i] {
                *d = true;
            }
            let mut j = first;
            while j > 0 && lines[j - 1].trim_start().starts_with("#[") {
                j -= 1;
                drop[j] = true;
            }
        }
        i += 1;
    }
    lines
        .iter()
        .zip(drop)
        .filter(|(_, d)| !d)
        .map(|(l, _)| *l)
        .collect()
}

/// Make a single parentless commit of the tree in `dir`, in the object
/// store of the repository at `top`. The commit's dates are `source`'s, so
/// cutting the same main twice gives the same commit.
pub fn commit_dir(top: &Path, dir: &Path, branch: &Branch, source: &str) -> Result<String, String> {
    let index = dir.with_extension("index");
    let index_s = index.to_string_lossy().into_owned();
    let dir_s = dir.to_string_lossy().into_owned();
    let env = [("GIT_INDEX_FILE", index_s.as_str())];
    git::git_env(top, &["--work-tree", &dir_s, "add", "-A", "-f", "."], &env)?;
    let tree = git::git_env(top, &["--work-tree", &dir_s, "write-tree"], &env)?;
    let _ = fs::remove_file(&index);
    let date = git::git(top, &["show", "-s", "--format=%cI", source])?;
    let date = date.trim();
    let short = &source[..source.len().min(12)];
    let kind = if branch.lab { "lab" } else { "module" };
    let what = if branch.lab {
        format!(
            "the lab of module {} ({}): starter code, graded by `make grade`",
            branch.module.id, branch.module.title
        )
    } else {
        format!(
            "Cairn at the end of module {} ({})",
            branch.module.id, branch.module.title
        )
    };
    let msg = format!(
        "{}: {what}\n\nCut from {short} by `make module-branches`.\n\n{} {kind} {}\n",
        branch.name(),
        git::CUT_TRAILER,
        branch.module.id
    );
    let env = [
        ("GIT_AUTHOR_NAME", "Cairn course"),
        ("GIT_AUTHOR_EMAIL", "course@cairn.invalid"),
        ("GIT_COMMITTER_NAME", "Cairn course"),
        ("GIT_COMMITTER_EMAIL", "course@cairn.invalid"),
        ("GIT_AUTHOR_DATE", date),
        ("GIT_COMMITTER_DATE", date),
    ];
    let commit = git::git_env(top, &["commit-tree", tree.trim(), "-m", &msg], &env)?;
    Ok(commit.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_the_declaration_and_its_attributes() {
        let text = "pub mod a;\n#[cfg(test)]\nmod tests;\npub mod family;\nmod familyx;\n";
        assert_eq!(
            without_mod(text, "tests"),
            "pub mod a;\npub mod family;\nmod familyx;\n"
        );
        assert_eq!(
            without_mod(text, "family"),
            "pub mod a;\n#[cfg(test)]\nmod tests;\nmod familyx;\n"
        );
    }

    #[test]
    fn absent_files_name_their_modules() {
        let kept = vec!["src/mm/heap/mod.rs".to_string()];
        let absent = vec![
            "src/mm/family/mod.rs".to_string(),
            "src/mm/family/bit.rs".to_string(),
            "src/mm/heap/gaptree.rs".to_string(),
            "src/mm/heap/gaptree/tests.rs".to_string(),
            "docs/x.md".to_string(),
        ];
        let got: Vec<_> = absent_modules(&kept, &absent).into_iter().collect();
        assert_eq!(
            got,
            vec![
                ("src/mm".to_string(), "family".to_string()),
                ("src/mm/family".to_string(), "bit".to_string()),
                ("src/mm/heap".to_string(), "gaptree".to_string()),
                ("src/mm/heap/gaptree".to_string(), "tests".to_string()),
            ]
        );
    }
}
