//! `make grade`: run a lab's graded tests from pristine copies and score them.
//!
//! ```text
//!   the student's tree  (work tree, or --tree REF)       copied to
//!        |                                             target/grade/tree
//!   pristine paths of the lab (tests, Makefile, course/) overwritten from
//!        |          the pristine commit: --pristine REF, else the cut commit
//!        |          this branch started from (its root), else HEAD on main
//!   build once (host tests, ISO, QEMU tests), then every test with a timeout
//!        -> one line per test with its points, `Score: N/100`, build/grade.json
//! ```
//!
//! The student can edit anything in their branch; what is graded comes from
//! the pristine commit, which on a lab branch is the first commit, the one
//! `make module-branches` made (an instructor passes their own copy of it).

use crate::cut::{CUT_FILE, MANIFEST};
use crate::git;
use crate::manifest::{Lab, LabTest, Manifest, TestKind};
use crate::run::{self, Ran};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Seconds allowed per step.
const BUILD_SECS: u64 = 1500;
const HOST_SECS: u64 = 180;
const KERNEL_SECS: u64 = 150;
const QEMU_SECS: u64 = 240;
const BOOT_SECS: u64 = 90;

/// How to grade.
#[derive(Debug, Default)]
pub struct Options {
    /// Lab modules to grade; empty = what the branch says.
    pub labs: Vec<String>,
    /// Grade the tree in place (it is pristine already: CI's fresh cuts).
    pub in_place: bool,
    /// Grade this commit's tree instead of the work tree.
    pub tree: Option<String>,
    /// Take the pristine files from this commit.
    pub pristine: Option<String>,
    /// Where the JSON goes (default build/grade.json).
    pub json: Option<PathBuf>,
    /// Print less (CI).
    pub quiet: bool,
    /// What the in-kernel tests printed at 128M with no other option, when
    /// they already ran on this very tree (CI): not booted again.
    pub kernel_128m: Option<String>,
}

/// The result of one graded test.
#[derive(Debug, Clone)]
pub struct TestResult {
    pub test: LabTest,
    pub passed: bool,
    pub detail: String,
    pub seconds: f64,
}

/// The result of one lab.
#[derive(Debug, Clone)]
pub struct LabResult {
    pub module: String,
    pub branch: String,
    pub title: String,
    pub tests: Vec<TestResult>,
}

impl LabResult {
    pub fn score(&self) -> u32 {
        self.tests
            .iter()
            .filter(|t| t.passed)
            .map(|t| t.test.points)
            .sum()
    }
}

/// Read `course/cut.toml` of a tree: (kind, module).
pub fn read_cut(dir: &Path) -> Option<(String, String)> {
    let text = fs::read_to_string(dir.join(CUT_FILE)).ok()?;
    let tables = crate::manifest::parse_tables(&format!("[[cut]]\n{text}")).ok()?;
    let t = tables.first()?;
    let get = |k: &str| match t.keys.get(k) {
        Some(crate::manifest::Value::Str(s)) => Some(s.clone()),
        _ => None,
    };
    Some((get("kind")?, get("module")?))
}

/// The pristine commit for the tree at `top`.
fn pristine_commit(top: &Path, opts: &Options) -> Result<String, String> {
    if let Some(r) = &opts.pristine {
        return git::rev(top, r).ok_or_else(|| format!("--pristine {r}: no such commit"));
    }
    if read_cut(top).is_none() {
        return git::rev(top, "HEAD").ok_or("no HEAD commit".into());
    }
    let roots = git::git(top, &["rev-list", "--max-parents=0", "HEAD"])?;
    roots
        .lines()
        .find(|c| git::is_cut_commit(top, c))
        .map(String::from)
        .ok_or_else(|| {
            "this branch's history does not start at the commit `make module-branches` made; \
             pass the pristine lab commit with PRISTINE=<ref>"
                .into()
        })
}

/// Grade; prints as it goes and returns every lab's result.
pub fn grade(top: &Path, opts: &Options) -> Result<Vec<LabResult>, String> {
    let pristine = if opts.in_place {
        None
    } else {
        Some(pristine_commit(top, opts)?)
    };
    // The manifest (the tests and their points) is itself pristine.
    let manifest_text = match &pristine {
        Some(p) => git::git(top, &["show", &format!("{p}:{MANIFEST}")])?,
        None => fs::read_to_string(top.join(MANIFEST)).map_err(|e| format!("{MANIFEST}: {e}"))?,
    };
    let manifest = Manifest::parse(&manifest_text).map_err(|e| e.to_string())?;
    let cut = match &opts.tree {
        Some(r) => git::git(top, &["show", &format!("{r}:{CUT_FILE}")])
            .ok()
            .and_then(|t| {
                let d = std::env::temp_dir().join(format!("cairn-cut-{}", std::process::id()));
                fs::create_dir_all(d.join("course")).ok()?;
                fs::write(d.join(CUT_FILE), t).ok()?;
                let c = read_cut(&d);
                let _ = fs::remove_dir_all(&d);
                c
            }),
        None => read_cut(top),
    };
    let labs = choose_labs(&manifest, cut.as_ref(), &opts.labs)?;
    if labs.is_empty() {
        println!("no lab to grade on this branch");
        return Ok(Vec::new());
    }

    let dir = if opts.in_place {
        top.to_path_buf()
    } else {
        let dir = prepare_copy(top, opts)?;
        let p = pristine.as_deref().expect("pristine when copying");
        let mut paths: Vec<&str> = vec!["course/"];
        for lab in &labs {
            paths.extend(lab.pristine.iter().map(String::as_str));
        }
        overlay(top, p, &dir, &paths)?;
        dir
    };

    let mut results = Vec::new();
    let mut kernel_runs: BTreeMap<Vec<String>, Ran> = BTreeMap::new();
    if let Some(output) = &opts.kernel_128m {
        let ran = Ran {
            ok: true,
            timed_out: false,
            output: output.clone(),
            seconds: 0.0,
            cpu: 0.0,
        };
        kernel_runs.insert(vec!["128M".to_string()], ran);
    }
    let builds = Builds::run(&dir, &labs, opts.quiet);
    for lab in &labs {
        let module = manifest.module(&lab.module).expect("checked");
        println!(
            "lab {} ({}): {} [{}]",
            lab.module,
            module.lab_branch(),
            lab.title,
            lab.difficulty
        );
        let mut tests = Vec::new();
        for t in &lab.tests {
            let r = run_test(&dir, t, &builds, &mut kernel_runs);
            println!("{}", format_line(&r));
            tests.push(r);
        }
        let result = LabResult {
            module: lab.module.clone(),
            branch: module.lab_branch(),
            title: lab.title.clone(),
            tests,
        };
        println!("Score: {}/100", result.score());
        results.push(result);
    }
    for (what, failure) in builds.failures() {
        println!("\n{what} did not build; the compiler said:\n{failure}");
    }
    let json = opts
        .json
        .clone()
        .unwrap_or_else(|| top.join("build/grade.json"));
    if let Some(d) = json.parent() {
        fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    fs::write(&json, to_json(&results)).map_err(|e| format!("{}: {e}", json.display()))?;
    if !opts.quiet {
        println!("(results in {})", json.display());
    }
    Ok(results)
}

fn choose_labs<'m>(
    manifest: &'m Manifest,
    cut: Option<&(String, String)>,
    asked: &[String],
) -> Result<Vec<&'m Lab>, String> {
    let top_module: u32 = match cut {
        Some((_, m)) => m.parse().unwrap_or(0),
        None => u32::MAX,
    };
    let ids: Vec<String> = if !asked.is_empty() {
        asked.to_vec()
    } else {
        match cut {
            Some((_, m)) => vec![m.clone()],
            None => manifest.labs.iter().map(|l| l.module.clone()).collect(),
        }
    };
    let mut labs = Vec::new();
    for id in ids {
        let id = if id.len() == 1 { format!("0{id}") } else { id };
        let lab = manifest
            .lab(&id)
            .ok_or_else(|| format!("module {id} has no lab (course/modules.toml)"))?;
        if lab.module.parse::<u32>().unwrap_or(0) > top_module {
            return Err(format!(
                "lab {id} is not on this branch (it is cut from module {id})"
            ));
        }
        labs.push(lab);
    }
    Ok(labs)
}

/// A fresh copy of the student's tree in target/grade/tree, whose `target`
/// links to a build folder kept between grades.
fn prepare_copy(top: &Path, opts: &Options) -> Result<PathBuf, String> {
    let base = top.join("target/grade");
    let dir = base.join("tree");
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    match &opts.tree {
        Some(r) => extract(top, r, &dir, &[])?,
        None => {
            let files = git::git(top, &["ls-files", "-z", "-co", "--exclude-standard"])?;
            for f in files.split('\0').filter(|s| !s.is_empty()) {
                let src = top.join(f);
                if !src.is_file() {
                    continue;
                }
                let dst = dir.join(f);
                if let Some(d) = dst.parent() {
                    fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
                }
                fs::copy(&src, &dst).map_err(|e| format!("{f}: {e}"))?;
            }
        }
    }
    let target = base.join("target");
    fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
    std::os::unix::fs::symlink(&target, dir.join("target"))
        .map_err(|e| format!("cannot link the build folder: {e}"))?;
    Ok(dir)
}

/// `git archive REF -- paths | tar -x -C dir`.
fn extract(top: &Path, rev: &str, dir: &Path, paths: &[&str]) -> Result<(), String> {
    let archive = dir.join(".course-archive.tar");
    let mut args = vec!["archive", "--format=tar", "-o"];
    let a = archive.to_string_lossy().into_owned();
    args.push(&a);
    args.push(rev);
    if !paths.is_empty() {
        args.push("--");
        args.extend_from_slice(paths);
    }
    git::git(top, &args)?;
    let ok = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(dir)
        .status()
        .map_err(|e| format!("cannot run tar: {e}"))?
        .success();
    let _ = fs::remove_file(&archive);
    if ok {
        Ok(())
    } else {
        Err(format!("tar could not unpack {rev}"))
    }
}

/// Replace `paths` in `dir` by their pristine versions.
fn overlay(top: &Path, pristine: &str, dir: &Path, paths: &[&str]) -> Result<(), String> {
    let mut present = Vec::new();
    for p in paths {
        let target = dir.join(p.trim_end_matches('/'));
        if target.is_dir() {
            fs::remove_dir_all(&target).map_err(|e| format!("{p}: {e}"))?;
        } else if target.exists() {
            fs::remove_file(&target).map_err(|e| format!("{p}: {e}"))?;
        }
        let listed = git::git(top, &["ls-tree", "-r", "--name-only", pristine, "--", p])?;
        if !listed.trim().is_empty() {
            present.push(*p);
        }
    }
    if present.is_empty() {
        return Ok(());
    }
    extract(top, pristine, dir, &present)
}

/// The builds the tests need, made once; a failed build fails its tests.
struct Builds {
    host: Option<Ran>,
    iso: Option<Ran>,
    qemu: Option<Ran>,
}

impl Builds {
    fn run(dir: &Path, labs: &[&Lab], quiet: bool) -> Builds {
        let needs = |k: &[TestKind]| {
            labs.iter()
                .flat_map(|l| &l.tests)
                .any(|t| k.contains(&t.kind))
        };
        let step = |what: &str, program: &str, args: &[&str]| {
            if !quiet {
                println!("building {what} ...");
            }
            run::run(dir, &[], BUILD_SECS, program, args)
        };
        Builds {
            host: needs(&[TestKind::Host])
                .then(|| step("the host tests", "cargo", &["test", "--lib", "--no-run"])),
            iso: needs(&[TestKind::Kernel, TestKind::Qemu, TestKind::Boot])
                .then(|| step("the kernel ISO", "make", &["-s", "iso"])),
            qemu: needs(&[TestKind::Qemu]).then(|| {
                step(
                    "the QEMU tests",
                    "cargo",
                    &["test", "--test", "qemu", "--no-run"],
                )
            }),
        }
    }

    fn failures(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        for (what, r) in [
            ("the host tests", &self.host),
            ("the kernel", &self.iso),
            ("the QEMU tests", &self.qemu),
        ] {
            if let Some(r) = r
                && !r.ok
            {
                let errors: Vec<&str> = r
                    .output
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("Compiling"))
                    .collect();
                v.push((what, run::tail(&errors.join("\n"), 40)));
            }
        }
        v
    }
}

fn run_test(
    dir: &Path,
    t: &LabTest,
    builds: &Builds,
    kernel_runs: &mut BTreeMap<Vec<String>, Ran>,
) -> TestResult {
    let fail = |detail: String, seconds: f64| TestResult {
        test: t.clone(),
        passed: false,
        detail,
        seconds,
    };
    let built = |b: &Option<Ran>| b.as_ref().is_some_and(|r| r.ok);
    let iso = dir.join("build/cairn.iso");
    let iso_env = vec![("CAIRN_ISO", iso.to_string_lossy().into_owned())];
    match t.kind {
        TestKind::Host | TestKind::Qemu => {
            let (b, r) = if t.kind == TestKind::Host {
                (
                    &builds.host,
                    run::run(
                        dir,
                        &[],
                        HOST_SECS,
                        "cargo",
                        &["test", "--lib", &t.selector],
                    ),
                )
            } else {
                if !built(&builds.iso) {
                    return fail("the kernel did not build".into(), 0.0);
                }
                (
                    &builds.qemu,
                    run::run(
                        dir,
                        &iso_env,
                        QEMU_SECS,
                        "cargo",
                        &["test", "--test", "qemu", "--", "--ignored", &t.selector],
                    ),
                )
            };
            if !built(b) {
                return fail("did not build (see below)".into(), 0.0);
            }
            let secs = if t.kind == TestKind::Host {
                HOST_SECS
            } else {
                QEMU_SECS
            };
            judge(t, &r, secs, |n| n.contains(&t.selector))
        }
        TestKind::Kernel => {
            if !built(&builds.iso) {
                return fail("the kernel did not build (see below)".into(), 0.0);
            }
            let args = if t.args.is_empty() {
                vec!["128M".to_string()]
            } else {
                t.args.clone()
            };
            let r = kernel_runs.entry(args.clone()).or_insert_with(|| {
                let mut a: Vec<&str> = vec!["build/cairn.iso", "120"];
                a.extend(args[1..].iter().map(String::as_str));
                run::run(
                    dir,
                    &[("MEM", args[0].clone())],
                    KERNEL_SECS,
                    "tests/run-kernel-tests.sh",
                    &a,
                )
            });
            let r = Ran {
                ok: r.ok,
                timed_out: r.timed_out,
                output: r.output.clone(),
                seconds: r.seconds,
                cpu: r.cpu,
            };
            judge(t, &r, KERNEL_SECS, |n| n.contains(&t.selector))
        }
        TestKind::Boot => {
            if !built(&builds.iso) {
                return fail("the kernel did not build (see below)".into(), 0.0);
            }
            match run::boot_to_ready(&iso, BOOT_SECS) {
                Ok(s) => TestResult {
                    test: t.clone(),
                    passed: true,
                    detail: "cairn: ready".into(),
                    seconds: s,
                },
                Err(e) => fail(e.lines().next().unwrap_or("").to_string(), BOOT_SECS as f64),
            }
        }
    }
}

fn judge(t: &LabTest, r: &Ran, secs: u64, filter: impl Fn(&str) -> bool) -> TestResult {
    let (passed, failed) = run::libtest_results(&r.output, filter);
    let (ok, detail) = if !failed.is_empty() {
        let mut d = format!(
            "{} of {} failed: {}",
            failed.len(),
            failed.len() + passed,
            failed[0]
        );
        if failed.len() > 1 {
            let _ = write!(d, " (+{} more)", failed.len() - 1);
        }
        (false, d)
    } else if r.timed_out {
        (false, format!("timed out after {secs}s"))
    } else if passed == 0 {
        let why = r
            .output
            .lines()
            .find(|l| {
                [
                    "KERNEL PANIC",
                    "panicked at",
                    "TIMED OUT",
                    "error:",
                    "error[",
                ]
                .iter()
                .any(|w| l.contains(w))
            })
            .map(|l| format!("no `{}` test passed: {}", t.selector, l.trim()))
            .unwrap_or_else(|| format!("no test matching `{}` ran", t.selector));
        (false, why.chars().take(110).collect())
    } else {
        (true, format!("{passed} passed"))
    };
    TestResult {
        test: t.clone(),
        passed: ok,
        detail,
        seconds: r.seconds,
    }
}

fn format_line(r: &TestResult) -> String {
    let name = format!("{} ", r.test.name);
    format!(
        "  {:<6} {:.<40} {:>3}/{:<3} {:<6} {} ({:.1}s)",
        r.test.kind.as_str(),
        name,
        if r.passed { r.test.points } else { 0 },
        r.test.points,
        if r.passed { "ok" } else { "FAILED" },
        r.detail,
        r.seconds
    )
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The results as JSON (no dependency: written by hand).
pub fn to_json(results: &[LabResult]) -> String {
    let mut s = String::from("{\n  \"labs\": [");
    for (i, lab) in results.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "\n    {{\"lab\": {}, \"branch\": {}, \"title\": {}, \"score\": {}, \"max\": 100, \"tests\": [",
            json_str(&lab.module),
            json_str(&lab.branch),
            json_str(&lab.title),
            lab.score()
        );
        for (j, t) in lab.tests.iter().enumerate() {
            if j > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "\n      {{\"name\": {}, \"kind\": {}, \"points\": {}, \"earned\": {}, \"passed\": {}, \"detail\": {}, \"seconds\": {:.1}}}",
                json_str(&t.test.name),
                json_str(t.test.kind.as_str()),
                t.test.points,
                if t.passed { t.test.points } else { 0 },
                t.passed,
                json_str(&t.detail),
                t.seconds
            );
        }
        s.push_str("\n    ]}");
    }
    s.push_str("\n  ]\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_test;

    #[test]
    fn json_escapes_and_scores() {
        let t = parse_test("host 40 split a::b").unwrap();
        let lab = LabResult {
            module: "03".into(),
            branch: "lab-03-memory".into(),
            title: "say \"hi\"".into(),
            tests: vec![TestResult {
                test: t,
                passed: true,
                detail: "1 passed".into(),
                seconds: 0.25,
            }],
        };
        assert_eq!(lab.score(), 40);
        let j = to_json(&[lab]);
        assert!(j.contains("\"title\": \"say \\\"hi\\\"\""), "{j}");
        assert!(j.contains("\"score\": 40"));
        assert!(j.contains("\"seconds\": 0.2") || j.contains("\"seconds\": 0.3"));
    }

    #[test]
    fn a_line_shows_points() {
        let r = TestResult {
            test: parse_test("kernel 20 heap-box heap_box").unwrap(),
            passed: false,
            detail: "timed out after 150s".into(),
            seconds: 150.0,
        };
        let l = format_line(&r);
        assert!(l.contains("  0/20"), "{l}");
        assert!(l.contains("FAILED"));
    }
}
