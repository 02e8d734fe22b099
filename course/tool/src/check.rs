//! `make course-check` (CI): cut every branch in a temporary clone and check
//! the course is honest.
//!
//! ```text
//!   clone of HEAD (target/course-check/repo), branches cut there; its
//!   target/ is its own build cache (cache.rs), seeded once with the work
//!   tree's dependencies: nothing is built into the work tree
//!   module-NN: (default) the stages of its own `make test`, read from its
//!              Makefile and run one by one (lint, test-host, test-property,
//!              test-miri, iso, test-kernel, test-qemu, doccheck), each timed;
//!              (--light) host tests, ISO, in-kernel tests at 128M only;
//!              then it boots to `cairn: ready` and its lab is graded: 100/100.
//!              Skipped, and said so (--full runs them):
//!                test-property, test-miri (default): when the branch's
//!                  src/mm and src/testutil.rs are main's less comments (the
//!                  same code main's own `make test` ran them on)
//!                a branch that is main less comment lines (the last
//!                  module's): main's own `make test` is its check
//!   lab-NN:    no line of the solution in its tree, boots, graded: < 100
//!   at the end: the work tree's build/ and kernel files are as they were
//! ```
//! The user's own branches are never touched: everything happens in the clone.

use crate::cache;
use crate::cut;
use crate::git;
use crate::grade::{self, Options};
use crate::manifest::{Manifest, TestKind};
use crate::markers;
use crate::run;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::Instant;

/// Seconds for one module branch's build-and-test step.
const STEP_SECS: u64 = 1800;

/// How much of each module branch course-check runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Host tests, ISO, in-kernel tests at 128M (`LIGHT=1`).
    Light,
    /// Every stage of the branch's own `make test`, doccheck included,
    /// less what main's run covers, said so (`make course-check`, CI).
    Stages,
    /// Every stage, nothing skipped (`FULL=1`).
    Full,
}

/// Run the whole check; Err when any part failed.
pub fn check(top: &Path, only: &[String], depth: Depth) -> Result<(), String> {
    let full = depth == Depth::Full;
    // A cut branch holds modules 1..N only: the course is cut and checked
    // from main, where every module is (the branch's own `make test` is the
    // check of this module; `make grade` scores its lab).
    if let Some((kind, module)) = grade::read_cut(top) {
        println!(
            "course-check: this is a {kind} branch (module {module}), cut from main; \
             the course is checked on main: nothing to do here"
        );
        return Ok(());
    }
    let start = Instant::now();
    let cpu_start = run::children_cpu();
    let head = git::rev(top, "HEAD").ok_or("no HEAD commit")?;
    let base = top.join("target/course-check");
    let repo = base.join("repo");
    let top_s = top.to_string_lossy().into_owned();
    let repo_s = repo.to_string_lossy().into_owned();
    if repo.join(".git").exists() {
        // Keep the clone (and its target/ with the build cache); fetch HEAD.
        git::git(&repo, &["fetch", "-q", &top_s, &head])?;
    } else {
        let _ = fs::remove_dir_all(&repo);
        fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
        git::git(top, &["clone", "-q", "--no-checkout", &top_s, &repo_s])?;
        git::git(&repo, &["fetch", "-q", &top_s, &head])?;
    }
    git::git(&repo, &["checkout", "-q", "-f", "--detach", &head])?;
    git::git(&repo, &["clean", "-fdq"])?;
    // The work tree's outputs (its ISO, its kernel) must be left alone.
    let outputs_before = cache::outputs(top);
    let t = Instant::now();
    let seeded = cache::prepare(top, &repo)?;
    if seeded > 0 {
        println!(
            "course-check: build cache {} seeded with the work tree's dependencies ({seeded} entries, {:.0}s)",
            repo.join("target").display(),
            t.elapsed().as_secs_f64()
        );
    }
    let manifest = cut::read_manifest(&repo)?;
    let main_texts = texts_at_head(&repo)?;

    let wanted = |m: &crate::manifest::Module| {
        if only.is_empty() {
            m.ready
        } else {
            only.contains(&m.id)
        }
    };
    let ids: Vec<String> = manifest
        .modules
        .iter()
        .filter(|m| wanted(m))
        .map(|m| m.id.clone())
        .collect();
    let t = Instant::now();
    for id in &ids {
        crate::branches::make(&repo, Some(id), true)?;
    }
    println!(
        "course-check: branches cut in {:.0}s",
        t.elapsed().as_secs_f64()
    );

    let mut failures: Vec<String> = Vec::new();
    let mut table: Vec<String> = Vec::new();
    for id in &ids {
        let m = manifest.module(id).expect("listed").clone();
        // The module branch.
        let t = Instant::now();
        let cpu = run::children_cpu();
        let name = m.branch();
        println!("\n== {name}");
        switch(&repo, &name)?;
        if !full && let Some(n) = only_comments_removed(&repo, &head, &name)? {
            println!(
                "  main less {n} comment line(s) (course markers, stand-ins, stubs): \
                 the same code as main, checked by main's own `make test` (FULL=1 checks it here)"
            );
            table.push(format!("  {name:<26}     -    the same code as main"));
            continue;
        }
        let mut ok = true;
        // Light (the default, CI today): the branch's host tests, its ISO
        // and its in-kernel tests at 128M. Stages: every stage of its own
        // `make test`, skips said; full: every stage, nothing skipped.
        let stages: Vec<(String, Vec<String>)> = if depth == Depth::Light {
            [
                ("host tests", "cargo test --lib -q"),
                ("kernel", "make -s iso"),
                (
                    "in-kernel tests",
                    "tests/run-kernel-tests.sh build/cairn.iso 120",
                ),
            ]
            .iter()
            .map(|(w, c)| (w.to_string(), c.split(' ').map(str::to_string).collect()))
            .collect()
        } else {
            test_stages(&repo)?
                .into_iter()
                .map(|t| (t.clone(), vec!["make".into(), "-s".into(), t]))
                .collect()
        };
        let skips = depth == Depth::Stages;
        let same_mm = skips && same_code_under(&repo, &head, &name, MM_INPUTS)?;
        let mut ran = Vec::new();
        for (stage, cmd) in &stages {
            let skip = if !skips {
                None
            } else if MM_STAGES.contains(&stage.as_str()) && same_mm {
                Some(
                    "its memory code (src/mm, src/testutil.rs) is main's less comments: main's own `make test` ran it",
                )
            } else {
                None
            };
            if let Some(why) = skip {
                println!("  {stage:<16} skipped: {why}");
                continue;
            }
            let args: Vec<&str> = cmd[1..].iter().map(String::as_str).collect();
            let r = run::run(&repo, &[], STEP_SECS, &cmd[0], &args);
            println!(
                "  {stage:<16} {} ({:.0}s, cpu {:.0}s){}",
                if r.ok { "ok" } else { "FAILED" },
                r.seconds,
                r.cpu,
                if r.ok {
                    summary(stage, &r.output)
                } else {
                    String::new()
                }
            );
            ran.push(format!("{stage} {:.0}s/{:.0}", r.seconds, r.cpu));
            if !r.ok {
                // What failed first (a QEMU test's serial log is long), then
                // the end; the whole output in a file of its own.
                for l in r.output.lines().filter(|l| {
                    l.contains("panicked at") || (l.starts_with("test ") && l.contains("FAILED"))
                }) {
                    println!("  | {l}");
                }
                println!("{}", run::tail(&r.output, 40));
                let log = base.join(format!("{name}.{stage}.log"));
                match fs::write(&log, &r.output) {
                    Ok(()) => println!("  (the whole output: {})", log.display()),
                    Err(e) => println!("  (cannot write {}: {e})", log.display()),
                }
                failures.push(format!("{name}: its `make {stage}` failed"));
                ok = false;
                break;
            }
        }
        if ok {
            match run::boot_to_ready(&repo.join("build/cairn.iso"), 90) {
                Ok(s) => println!("  {:<16} ok ({s:.0}s)", "cairn: ready"),
                Err(e) => {
                    println!("  {:<16} FAILED: {e}", "cairn: ready");
                    failures.push(format!("{name}: does not boot to `cairn: ready`"));
                    ok = false;
                }
            }
        }
        let mut solution_score = None;
        if ok && manifest.lab(id).is_some() {
            let r = grade::grade(
                &repo,
                &Options {
                    labs: vec![id.clone()],
                    in_place: true,
                    json: Some(base.join(format!("grade-{name}.json"))),
                    quiet: true,
                    ..Options::default()
                },
            )?;
            let score = r.first().map(|l| l.score()).unwrap_or(0);
            solution_score = Some(score);
            if score != 100 {
                failures.push(format!(
                    "{name}: its lab's solution scores {score}/100, not 100"
                ));
            }
        }
        let module_secs = t.elapsed().as_secs_f64();
        let module_cpu = run::children_cpu() - cpu;

        // The lab branch.
        let mut stub_score = None;
        let mut lab_secs = 0.0;
        let mut lab_cpu = 0.0;
        if manifest.lab(id).is_some() {
            let t = Instant::now();
            let cpu = run::children_cpu();
            let lab_name = m.lab_branch();
            println!("\n== {lab_name}");
            switch(&repo, &lab_name)?;
            let leaks = solution_leaks(&repo, &main_texts, m.number())?;
            if leaks.is_empty() {
                println!("  no solution text in the branch");
            } else {
                for l in &leaks {
                    println!("  solution text found: {l}");
                }
                failures.push(format!(
                    "{lab_name}: holds {} line(s) of its solution",
                    leaks.len()
                ));
            }
            let r = grade::grade(
                &repo,
                &Options {
                    labs: vec![id.clone()],
                    in_place: true,
                    json: Some(base.join(format!("grade-{lab_name}.json"))),
                    quiet: true,
                    ..Options::default()
                },
            )?;
            if let Some(lab) = r.first() {
                let score = lab.score();
                stub_score = Some(score);
                if score >= 100 {
                    failures.push(format!("{lab_name}: the untouched stubs score {score}/100"));
                }
                for t in &lab.tests {
                    if t.test.kind == TestKind::Boot && !t.passed {
                        failures.push(format!("{lab_name}: does not boot on the stubs"));
                    }
                }
            }
            lab_secs = t.elapsed().as_secs_f64();
            lab_cpu = run::children_cpu() - cpu;
        }
        table.push(format!(
            "  {:<26} {:>5.0}s cpu {:>5.0}s   lab: stubs {:>7}  solution {:>7}  {:>4.0}s cpu {:>4.0}s",
            name,
            module_secs,
            module_cpu,
            stub_score.map_or("-".into(), |s| format!("{s}/100")),
            solution_score.map_or("-".into(), |s| format!("{s}/100")),
            lab_secs,
            lab_cpu
        ));
        table.push(format!("      {} (seconds/cpu seconds)", ran.join(", ")));
    }
    let touched = cache::changed(&outputs_before, &cache::outputs(top));
    if !touched.is_empty() {
        failures.push(format!(
            "the work tree's own outputs changed during the check (the branches must build in the clone's cache; or did another build run in the work tree meanwhile?): {}",
            touched.join(", ")
        ));
    }
    println!("\ncourse-check summary:");
    for m in manifest
        .modules
        .iter()
        .filter(|m| !m.ready && only.is_empty())
    {
        println!("  {:<26} not checked: a draft", m.branch());
    }
    for l in &table {
        println!("{l}");
    }
    println!(
        "course-check: {} module(s) in {:.1} min ({:.1} min of CPU)",
        ids.len(),
        start.elapsed().as_secs_f64() / 60.0,
        (run::children_cpu() - cpu_start) / 60.0
    );
    if failures.is_empty() {
        println!("course-check: passed");
        Ok(())
    } else {
        Err(format!(
            "course-check: FAILED:\n  {}",
            failures.join("\n  ")
        ))
    }
}

/// The stages of a branch's `make test`, read from its Makefile: the
/// prerequisites of `test:` less `deps` (run once, first) and
/// `course-check` (nothing to do on a cut branch). Run one by one, they
/// are exactly the branch's test command, each timed.
fn test_stages(repo: &Path) -> Result<Vec<String>, String> {
    let makefile = fs::read_to_string(repo.join("Makefile"))
        .map_err(|e| format!("the branch has no Makefile: {e}"))?;
    let line = makefile
        .lines()
        .find(|l| l.starts_with("test:"))
        .ok_or("the branch's Makefile has no `test:` target")?;
    Ok(line["test:".len()..]
        .split_whitespace()
        .filter(|t| !["deps", "course-check"].contains(t))
        .map(str::to_string)
        .collect())
}

/// The stages that test the pure memory code alone (host builds of
/// `src/mm`): main's own run covers them when that code is main's.
const MM_STAGES: &[&str] = &["test-property", "test-miri"];
/// What those stages compile and run: the memory code and its test helpers.
const MM_INPUTS: &[&str] = &["src/mm/", "src/testutil.rs"];

/// True when every file of `branch` under `inputs` is `main_rev`'s file
/// less comment lines (imports sorted again allowed, see
/// [`removed_comment_lines`]) and less the `mod`/`use` lines of modules the
/// branch does not have: the compiler sees main's code for those files.
fn same_code_under(
    repo: &Path,
    main_rev: &str,
    branch: &str,
    inputs: &[&str],
) -> Result<bool, String> {
    let list = |rev: &str| -> Result<Vec<String>, String> {
        Ok(git::git(repo, &["ls-tree", "-r", "--name-only", rev])?
            .lines()
            .map(str::to_string)
            .collect())
    };
    let main_files = list(main_rev)?;
    let branch_files = list(branch)?;
    let branch_set: BTreeSet<&str> = branch_files.iter().map(String::as_str).collect();
    // The Rust modules main has and the branch does not.
    let absent: Vec<&str> = main_files
        .iter()
        .filter(|f| f.ends_with(".rs") && !branch_set.contains(f.as_str()))
        .filter_map(|f| {
            let p = Path::new(f);
            let stem = p.file_stem()?.to_str()?;
            if stem == "mod" {
                p.parent()?.file_name()?.to_str()
            } else {
                Some(stem)
            }
        })
        .collect();
    let under = |f: &str| {
        inputs
            .iter()
            .any(|i| f == *i || (i.ends_with('/') && f.starts_with(i)))
    };
    for f in branch_files.iter().filter(|f| under(f)) {
        let on_main = match git::git(repo, &["show", &format!("{main_rev}:{f}")]) {
            Ok(t) => t,
            Err(_) => return Ok(false),
        };
        let on_branch = git::git(repo, &["show", &format!("{branch}:{f}")])?;
        let main_less = absent
            .iter()
            .fold(on_main, |text, name| cut::without_mod(&text, name));
        if removed_comment_lines(f, &main_less, &on_branch).is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A short count of what a stage ran, from cargo's and the scripts' lines.
fn summary(stage: &str, output: &str) -> String {
    let mut passed = 0;
    let mut results = 0;
    for l in output.lines() {
        // cargo: `test result: ok. N passed; ...`; kernel: `N passed, 0 failed`.
        let l = l.trim();
        let n = l
            .strip_prefix("test result: ok. ")
            .and_then(|r| r.split(' ').next())
            .or_else(|| {
                l.strip_suffix(" passed, 0 failed")
                    .filter(|n| !n.contains(' '))
            });
        if let Some(n) = n.and_then(|n| n.parse::<usize>().ok()) {
            passed += n;
            results += 1;
        }
    }
    match stage {
        _ if results == 0 => String::new(),
        "test-kernel" => format!(": {passed} in {results} boot configuration(s)"),
        _ => format!(": {passed} passed"),
    }
}

/// `Some(n)` when the checked-out `branch` is `main_rev`'s tree less `n`
/// comment lines (markers, stand-ins and stubs, all comments on main) and
/// nothing else: every file of main present, every line it keeps unchanged
/// and in order, only `course/cut.toml` added. The compiler then sees the
/// same code as on main, so main's own tests are the branch's.
pub fn only_comments_removed(
    repo: &Path,
    main_rev: &str,
    branch: &str,
) -> Result<Option<usize>, String> {
    let main_files = git::git(repo, &["ls-tree", "-r", "--name-only", main_rev])?;
    let branch_files = git::git(repo, &["ls-tree", "-r", "--name-only", branch])?;
    let main_set: BTreeSet<&str> = main_files.lines().collect();
    let branch_set: BTreeSet<&str> = branch_files
        .lines()
        .filter(|f| *f != cut::CUT_FILE)
        .collect();
    if main_set != branch_set {
        return Ok(None);
    }
    let mut removed = 0;
    for f in main_set {
        let Ok(on_branch) = fs::read(repo.join(f)) else {
            return Ok(None);
        };
        let on_main = git::git(repo, &["show", &format!("{main_rev}:{f}")]);
        let (Ok(on_main), Ok(on_branch)) = (on_main, String::from_utf8(on_branch)) else {
            return Ok(None);
        };
        match removed_comment_lines(f, &on_main, &on_branch) {
            Some(n) => removed += n,
            None => return Ok(None),
        }
    }
    Ok(Some(removed))
}

/// How many lines `branch` lacks from `main`, when those are all comment
/// lines (or blank) of the file's kind and the rest is unchanged, in order
/// (in a Rust file, `use` statements may be sorted again: the cut runs
/// rustfmt, and a run of imports that markers split on main is one group
/// on the branch).
fn removed_comment_lines(path: &str, main: &str, branch: &str) -> Option<usize> {
    if main == branch {
        return Some(0);
    }
    let leader = markers::leader_for(path)?;
    let mut kept = branch.split_inclusive('\n').peekable();
    let mut removed = 0;
    let mut in_order = true;
    for line in main.split_inclusive('\n') {
        if kept.peek() == Some(&line) {
            kept.next();
        } else if line.trim().is_empty() || line.trim_start().starts_with(leader) {
            removed += 1;
        } else {
            in_order = false;
            break;
        }
    }
    if in_order {
        return kept.next().is_none().then_some(removed);
    }
    let code = |text: &str| code_items(text, leader);
    (path.ends_with(".rs") && code(main) == code(branch))
        .then(|| main.lines().count().saturating_sub(branch.lines().count()))
}

/// The code of a file, comment and blank lines left out, one item per
/// line except a `use` statement (one item, however many lines), each run
/// of `use` items sorted: what rustfmt's import sorting cannot change.
fn code_items(text: &str, leader: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let mut uses: Vec<String> = Vec::new();
    let mut open: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(leader) {
            continue;
        }
        if let Some(u) = open.as_mut() {
            u.push_str(line);
            if line.ends_with(';') {
                uses.extend(open.take());
            }
            continue;
        }
        let bare = line
            .strip_prefix("pub(crate) ")
            .or_else(|| line.strip_prefix("pub "))
            .unwrap_or(line);
        if bare.starts_with("use ") {
            if line.ends_with(';') {
                uses.push(line.to_string());
            } else {
                open = Some(line.to_string());
            }
            continue;
        }
        uses.sort();
        items.append(&mut uses);
        items.push(line.to_string());
    }
    uses.extend(open);
    uses.sort();
    items.append(&mut uses);
    items
}

fn switch(repo: &Path, branch: &str) -> Result<(), String> {
    git::git(repo, &["checkout", "-q", "-f", branch])?;
    git::git(repo, &["clean", "-fdq"])?;
    Ok(())
}

/// Every tracked text file at HEAD of `repo`: (path, text).
fn texts_at_head(repo: &Path) -> Result<Vec<(String, String)>, String> {
    let mut v = Vec::new();
    for f in git::tracked_files(repo)? {
        if let Ok(t) = fs::read_to_string(repo.join(&f)) {
            v.push((f, t));
        }
    }
    Ok(v)
}

/// Lines of lab `lab`'s solution (on main) found in the checked-out tree.
/// A line counts when it is distinctive: at least 16 characters, not a
/// comment, and found nowhere on main outside that lab's solutions (a line
/// the rest of the kernel also has, `Some(e) => Err(e),` say, gives
/// nothing away).
pub fn solution_leaks(
    repo: &Path,
    main_texts: &[(String, String)],
    lab: u32,
) -> Result<Vec<String>, String> {
    let mut elsewhere: BTreeSet<String> = BTreeSet::new();
    let mut solution: Vec<(String, String)> = Vec::new();
    for (path, text) in main_texts {
        // Every file as the lab branch's cut would keep it (the solution
        // dropped, its stub in place), later modules included.
        let rest = markers::cut_file(
            path,
            text,
            Some(markers::Target {
                module: 99,
                lab: Some(lab),
            }),
        )
        .map_err(|e| format!("{path}: {e}"))?;
        elsewhere.extend(rest.lines().map(|l| l.trim().to_string()));
        for r in markers::solution_regions(path, text, lab) {
            solution.extend(r.into_iter().map(|l| (path.clone(), l.trim().to_string())));
        }
    }
    let distinctive: Vec<(String, String)> = solution
        .into_iter()
        .filter(|(_, t)| t.len() >= 16 && !t.starts_with("//") && !elsewhere.contains(t))
        .collect();
    let mut leaks = Vec::new();
    for f in git::tracked_files(repo)? {
        let Ok(text) = fs::read_to_string(repo.join(&f)) else {
            continue;
        };
        let lines: BTreeSet<&str> = text.lines().map(str::trim).collect();
        for (from, l) in &distinctive {
            if lines.contains(l.as_str()) {
                leaks.push(format!("{f}: `{l}` (solution in {from})"));
            }
        }
    }
    Ok(leaks)
}

/// A short table of the labs, for docs and `course list`.
pub fn list(manifest: &Manifest) -> String {
    let mut s = String::new();
    for m in &manifest.modules {
        s.push_str(&format!(
            "{}  {:<28}{}",
            m.id,
            m.branch(),
            if m.ready { "" } else { " (draft)" }
        ));
        if let Some(lab) = manifest.lab(&m.id) {
            s.push_str(&format!(
                " {:<22} [{}] {}",
                m.lab_branch(),
                lab.difficulty,
                lab.title
            ));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_comment_lines_may_go() {
        let main = "fn a() {}\n// course: module 05\nfn b() {}\n// course: else\n// fn c() {}\n// course: end\n";
        let cut = "fn a() {}\nfn b() {}\n";
        assert_eq!(removed_comment_lines("x.rs", main, cut), Some(4));
        assert_eq!(removed_comment_lines("x.rs", main, main), Some(0));
        // Code dropped, or a stand-in uncommented: not the same code.
        assert_eq!(removed_comment_lines("x.rs", main, "fn a() {}\n"), None);
        let uncommented = "fn a() {}\nfn c() {}\n";
        assert_eq!(removed_comment_lines("x.rs", main, uncommented), None);
        // A file kind without comments must be equal.
        assert_eq!(removed_comment_lines("a.svg", "<a/>\n", ""), None);
        let mk = "a:\n# course: module 08\n\tb\n# course: end\n";
        assert_eq!(removed_comment_lines("Makefile", mk, "a:\n\tb\n"), Some(2));
    }

    #[test]
    fn imports_sorted_again_are_the_same_code() {
        let main =
            "use b;\n// course: module 05\nuse a::{\n    x,\n};\n// course: end\nfn f() {}\n";
        let cut = "use a::{\n    x,\n};\nuse b;\nfn f() {}\n";
        assert_eq!(removed_comment_lines("x.rs", main, cut), Some(2));
        // An import dropped, or moved past other code: not the same code.
        assert_eq!(
            removed_comment_lines("x.rs", main, "use b;\nfn f() {}\n"),
            None
        );
        let moved = "use b;\nfn f() {}\nuse a::{\n    x,\n};\n";
        assert_eq!(removed_comment_lines("x.rs", main, moved), None);
        // Only Rust files are compared so.
        assert_eq!(removed_comment_lines("x.sh", "b\na\n", "a\nb\n"), None);
    }
}
