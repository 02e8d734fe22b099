//! `course`: Cairn's course tool. One program cuts the module and lab
//! branches, grades the labs, and checks the whole course in CI.
//!
//! ```text
//!   course branches [MODULE]       make module-branches [MODULE=03]
//!   course cut MODULE [--lab] DIR  write one branch's tree into DIR (to look at)
//!   course grade [--lab NN]...     make grade [LAB=03] [SUBMISSION=ref] [PRISTINE=ref]
//!        [--tree REF] [--pristine REF] [--in-place] [--json FILE]
//!   course check [--light|--full] [NN]...   make course-check (CI)
//!   course lint                    every file has a module, every marker parses
//!   course list                    the modules, their branches and labs
//!   course boot ISO                boot and wait for `cairn: ready`
//! ```
//! What each module introduces, and the labs, are data: `course/modules.toml`
//! and the `course:` markers in the sources (see `markers.rs`).

mod branches;
mod cache;
mod check;
mod cut;
mod git;
mod grade;
mod manifest;
mod markers;
mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: course branches [MODULE] | cut MODULE [--lab] DIR | \
grade [--lab NN]... [--tree REF] [--pristine REF] [--in-place] [--json FILE] | \
check [--light|--full] [MODULE]... | lint | list | boot ISO";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("course: {e}");
            ExitCode::FAILURE
        }
    }
}

fn top() -> Result<PathBuf, String> {
    let here = std::env::current_dir().map_err(|e| format!("no current folder: {e}"))?;
    Ok(PathBuf::from(git::toplevel(&here)?))
}

fn run(args: &[String]) -> Result<(), String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err(USAGE.into());
    };
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match cmd.as_str() {
        "branches" => {
            let only = match rest.as_slice() {
                [] | [""] => None,
                [m] => Some(*m),
                _ => return Err(USAGE.into()),
            };
            let top = top()?;
            let made = branches::make(&top, only, false)?;
            println!(
                "{} branch(es) cut; `git switch <branch>` to use one",
                made.len()
            );
            Ok(())
        }
        "cut" => {
            let (lab, rest): (bool, Vec<&str>) = (
                rest.contains(&"--lab"),
                rest.iter().copied().filter(|a| *a != "--lab").collect(),
            );
            let [id, dir] = rest.as_slice() else {
                return Err(USAGE.into());
            };
            let top = top()?;
            let manifest = cut::read_manifest(&top)?;
            let module = manifest
                .module(id)
                .ok_or_else(|| format!("no module `{id}`"))?
                .clone();
            let source = git::rev(&top, "HEAD").ok_or("no HEAD")?;
            cut::write_tree(&top, &cut::Branch { module, lab }, &source, Path::new(dir))?;
            println!("written to {dir}");
            Ok(())
        }
        "grade" => {
            let mut opts = grade::Options::default();
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                let mut value = || {
                    it.next()
                        .map(|s| s.to_string())
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| format!("{a} needs a value"))
                };
                match *a {
                    "--lab" => {
                        let v = value()?;
                        opts.labs.extend(v.split(',').map(String::from));
                    }
                    "--tree" => opts.tree = Some(value()?),
                    "--pristine" => opts.pristine = Some(value()?),
                    "--json" => opts.json = Some(PathBuf::from(value()?)),
                    "--in-place" => opts.in_place = true,
                    "" => {}
                    other => return Err(format!("grade: unknown option `{other}`\n{USAGE}")),
                }
            }
            let top = top()?;
            grade::grade(&top, &opts)?;
            Ok(())
        }
        "check" => {
            let depth = if rest.contains(&"--full") {
                check::Depth::Full
            } else if rest.contains(&"--light") {
                check::Depth::Light
            } else {
                check::Depth::Stages
            };
            let only: Vec<String> = rest
                .iter()
                .filter(|a| !["--full", "--light", "--stages", ""].contains(a))
                .map(|s| s.to_string())
                .collect();
            check::check(&top()?, &only, depth)
        }
        "lint" => {
            let n = cut::lint(&top()?)?;
            println!("course lint: {n} files, each in a module; every marker parses");
            Ok(())
        }
        "list" => {
            print!("{}", check::list(&cut::read_manifest(&top()?)?));
            Ok(())
        }
        "boot" => {
            let [iso] = rest.as_slice() else {
                return Err(USAGE.into());
            };
            let s = run::boot_to_ready(Path::new(iso), 90)?;
            println!("cairn: ready after {s:.1}s");
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}
