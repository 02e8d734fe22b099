//! course-check's build cache: a `target/` of the clone's own, seeded once
//! with the dependencies the work tree already built.
//!
//! ```text
//!   work tree                          scratch clone (target/course-check/repo)
//!   target/debug/deps/libspin-H.rlib --copy once--> repo/target/debug/deps/...
//!   target/debug/.fingerprint/spin-H --copy once--> repo/target/debug/.fingerprint/...
//!   target/debug/deps/libcairn-K.rlib     (never copied: the project's own crate)
//!   target/i686-kernel/release/cairn      (never copied, never written)
//!   build/cairn.iso                       (never written: the clone has its own build/)
//! ```
//!
//! The clone's branches build into `repo/target`, one cache for every
//! branch (each rebuilds only the crate it changes), and never into the
//! work tree: a branch's kernel once replaced the work tree's
//! `target/i686-kernel/release/cairn` when the clone's `target/` was a link
//! to the work tree's. Seeding copies (never links) the dependencies'
//! artifacts with their times (cargo's freshness reads them), so a first
//! run does not compile the dependencies and `core` again.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Make `repo/target` a directory of the clone's own (a link left by an
/// older course-check is removed, not what it points to), seeded from
/// `top/target` when it is new. Returns how many entries were seeded.
pub fn prepare(top: &Path, repo: &Path) -> Result<usize, String> {
    let own = repo.join("target");
    if fs::symlink_metadata(&own).is_ok_and(|m| m.file_type().is_symlink()) {
        fs::remove_file(&own).map_err(|e| format!("{}: {e}", own.display()))?;
    }
    if own.is_dir() {
        return Ok(0);
    }
    let partial = repo.join("target.seeding");
    let _ = fs::remove_dir_all(&partial);
    let n = seed(&top.join("target"), &partial, &local_package(top))?;
    fs::rename(&partial, &own).map_err(|e| format!("{}: {e}", own.display()))?;
    Ok(n)
}

/// The work tree's package name (`cairn`): its artifacts are never seeded.
fn local_package(top: &Path) -> String {
    fs::read_to_string(top.join("Cargo.toml"))
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("name = ")
                    .map(|n| n.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "cairn".into())
}

/// Copy the dependencies' artifacts of every cargo profile folder under
/// `from` (a folder holding `.fingerprint` and `deps`) into the same place
/// under `to`: `deps/`, `.fingerprint/` and `build/` entries, less those of
/// `package` (found by the hashes of its `.fingerprint/package-HASH`
/// folders, which its `deps/NAME-HASH*` files share). Uplifted files,
/// incremental caches and the course tool's own folders are left.
pub fn seed(from: &Path, to: &Path, package: &str) -> Result<usize, String> {
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let mut copied = 0;
    for profile in profile_dirs(from) {
        let rel = profile.strip_prefix(from).expect("under from");
        let dest = to.join(rel);
        let prefix = format!("{package}-");
        let local: BTreeSet<String> = entries(&profile.join(".fingerprint"))
            .iter()
            .filter_map(|n| n.strip_prefix(&prefix).map(str::to_string))
            .collect();
        let is_local = |name: &str| {
            let stem = name.split('.').next().unwrap_or(name);
            name.starts_with(&prefix)
                || stem
                    .rsplit_once('-')
                    .is_some_and(|(_, hash)| local.contains(hash))
        };
        for sub in [".fingerprint", "deps", "build"] {
            let names: Vec<PathBuf> = entries(&profile.join(sub))
                .into_iter()
                .filter(|n| !is_local(n))
                .map(|n| profile.join(sub).join(n))
                .collect();
            if names.is_empty() {
                continue;
            }
            let into = dest.join(sub);
            fs::create_dir_all(&into).map_err(|e| format!("{}: {e}", into.display()))?;
            for chunk in names.chunks(500) {
                // `cp -a`: times kept (cargo's freshness), copies not links.
                let status = Command::new("cp")
                    .arg("-a")
                    .args(chunk)
                    .arg(&into)
                    .status()
                    .map_err(|e| format!("cannot run cp: {e}"))?;
                if !status.success() {
                    return Err(format!("cp into {} failed", into.display()));
                }
            }
            copied += names.len();
        }
    }
    Ok(copied)
}

/// The cargo profile folders under `root` (those holding `.fingerprint`):
/// `debug`, `release`, `TRIPLE/PROFILE`, `miri/TRIPLE/PROFILE`; other
/// folders (the course tool's own, scratch clones) are not looked into.
fn profile_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        if dir.join(".fingerprint").is_dir() {
            out.push(dir);
            continue;
        }
        if depth >= 3 {
            continue;
        }
        for name in entries(&dir) {
            let path = dir.join(&name);
            // A target triple has dashes (`i686-kernel`); `miri` holds triples.
            let skip = depth == 0
                && (name.starts_with("course")
                    || !(name.contains('-')
                        || name == "miri"
                        || path.join(".fingerprint").is_dir()));
            if !skip && !name.starts_with('.') && path.is_dir() && !path.is_symlink() {
                stack.push((path, depth + 1));
            }
        }
    }
    out.sort();
    out
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// What course-check must leave as it found it in the work tree: every
/// file under `build/` and the kernel files cargo puts in `target/` (the
/// ELF `make iso` and gdb read), each with its length and time.
pub fn outputs(top: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut files = Vec::new();
    let mut stack = vec![top.join("build")];
    while let Some(dir) = stack.pop() {
        for name in entries(&dir) {
            let p = dir.join(name);
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    for profile in entries(&top.join("target/i686-kernel")) {
        files.push(top.join("target/i686-kernel").join(profile).join("cairn"));
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let m = fs::metadata(&p).ok()?;
            Some((p, m.len(), m.modified().ok()))
        })
        .collect()
}

/// The outputs of `before` that are changed or gone in `after`.
pub fn changed(
    before: &[(PathBuf, u64, Option<SystemTime>)],
    after: &[(PathBuf, u64, Option<SystemTime>)],
) -> Vec<String> {
    before
        .iter()
        .filter(|b| !after.contains(b))
        .map(|(p, _, _)| p.display().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("course-cache-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn write(p: &Path, text: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    /// A work tree with built dependencies and its own kernel, and a clone
    /// whose `target` is still a link to it (as an older course-check made).
    fn work_tree(root: &Path) -> (PathBuf, PathBuf) {
        let top = root.join("top");
        write(&top.join("Cargo.toml"), "[package]\nname = \"cairn\"\n");
        let k = top.join("target/i686-kernel/release");
        write(&k.join(".fingerprint/core-aaaa/lib-core"), "f");
        write(&k.join(".fingerprint/cairn-bbbb/bin-cairn"), "f");
        write(&k.join("deps/libcore-aaaa.rlib"), "core");
        write(&k.join("deps/cairn-bbbb"), "main's kernel");
        write(&k.join("deps/cairn-bbbb.d"), "deps");
        write(&k.join("cairn"), "main's kernel");
        let d = top.join("target/debug");
        write(&d.join(".fingerprint/spin-cccc/lib-spin"), "f");
        write(&d.join(".fingerprint/cairn-dddd/test-lib-cairn"), "f");
        write(&d.join("deps/libspin-cccc.rlib"), "spin");
        write(&d.join("deps/qemu-dddd"), "main's qemu tests");
        write(&d.join("build/spin-eeee/output"), "b");
        write(&d.join("incremental/cairn-x/s"), "i");
        write(
            &top.join("target/course/release/.fingerprint/x-ffff/f"),
            "tool",
        );
        write(
            &top.join("target/course-check/x/.fingerprint/y-ffff/f"),
            "old",
        );
        write(&top.join("build/cairn.iso"), "main's iso");
        let repo = root.join("repo");
        fs::create_dir_all(&repo).unwrap();
        std::os::unix::fs::symlink(top.join("target"), repo.join("target")).unwrap();
        (top, repo)
    }

    #[test]
    fn the_clone_gets_a_cache_of_its_own_with_the_dependencies_only() {
        let root = tmp("seed");
        let (top, repo) = work_tree(&root);
        let before = outputs(&top);
        assert_eq!(before.len(), 2, "{before:?}");
        let n = prepare(&top, &repo).unwrap();
        let own = repo.join("target");
        assert!(!own.is_symlink() && own.is_dir());
        // The dependencies are there, copied with their times...
        for f in [
            "i686-kernel/release/deps/libcore-aaaa.rlib",
            "i686-kernel/release/.fingerprint/core-aaaa/lib-core",
            "debug/deps/libspin-cccc.rlib",
            "debug/build/spin-eeee/output",
        ] {
            assert!(own.join(f).exists(), "{f} seeded");
        }
        let t = |p: &Path| fs::metadata(p).unwrap().modified().unwrap();
        assert_eq!(
            t(&own.join("debug/deps/libspin-cccc.rlib")),
            t(&top.join("target/debug/deps/libspin-cccc.rlib"))
        );
        assert_eq!(n, 5);
        // ...and nothing of the project's own crate, nor the tool's folders.
        for f in [
            "i686-kernel/release/cairn",
            "i686-kernel/release/deps/cairn-bbbb",
            "i686-kernel/release/deps/cairn-bbbb.d",
            "i686-kernel/release/.fingerprint/cairn-bbbb",
            "debug/deps/qemu-dddd",
            "debug/incremental",
            "course",
        ] {
            assert!(!own.join(f).exists(), "{f} not seeded");
        }
        // A branch's build writes its kernel into the clone's cache: the
        // work tree's kernel, its ISO and its dependencies stay as they were.
        write(&own.join("i686-kernel/release/cairn"), "a branch's kernel");
        fs::write(own.join("debug/deps/libspin-cccc.rlib"), "rebuilt").unwrap();
        fs::write(repo.join("build.iso"), "x").unwrap();
        assert!(changed(&before, &outputs(&top)).is_empty());
        assert_eq!(
            fs::read_to_string(top.join("target/i686-kernel/release/cairn")).unwrap(),
            "main's kernel"
        );
        assert_eq!(
            fs::read_to_string(top.join("target/debug/deps/libspin-cccc.rlib")).unwrap(),
            "spin"
        );
        // A second run keeps the cache as it is (nothing seeded again).
        assert_eq!(prepare(&top, &repo).unwrap(), 0);
        assert!(own.join("i686-kernel/release/cairn").exists());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_changed_output_is_named() {
        let root = tmp("changed");
        let (top, _) = work_tree(&root);
        let before = outputs(&top);
        fs::write(
            top.join("target/i686-kernel/release/cairn"),
            "a branch's kernel!",
        )
        .unwrap();
        assert_eq!(
            changed(&before, &outputs(&top)),
            vec![
                top.join("target/i686-kernel/release/cairn")
                    .display()
                    .to_string()
            ]
        );
        fs::remove_file(top.join("build/cairn.iso")).unwrap();
        assert_eq!(changed(&before, &outputs(&top)).len(), 2);
        fs::remove_dir_all(&root).unwrap();
    }
}
