//! `make module-branches`: one module branch and (where the module has a
//! lab) one lab branch per module, each a single parentless commit.
//!
//! Refuses a dirty work tree; never touches main or the checked-out branch;
//! replaces only branches it made itself (a branch with someone's commits
//! on top of the cut is left alone, and said so).

use crate::cut::{self, Branch};
use crate::git;
use std::fs;
use std::path::Path;

/// Cut the branches of `only` (a module id) or of every module that is not
/// a draft. Returns the names of the branches written.
pub fn make(top: &Path, only: Option<&str>, quiet: bool) -> Result<Vec<String>, String> {
    let dirty = git::dirty(top)?;
    if !dirty.is_empty() {
        return Err(format!(
            "the work tree has uncommitted changes; commit or stash them first:\n  {}",
            dirty.join("\n  ")
        ));
    }
    let manifest = cut::read_manifest(top)?;
    let modules: Vec<_> = match only {
        Some(id) => {
            let id = if id.len() == 1 {
                format!("0{id}")
            } else {
                id.to_string()
            };
            vec![manifest.module(&id).cloned().ok_or_else(|| {
                let ids: Vec<&str> = manifest.modules.iter().map(|m| m.id.as_str()).collect();
                format!("no module `{id}` (the modules are {})", ids.join(", "))
            })?]
        }
        None => {
            for m in manifest.modules.iter().filter(|m| !m.ready) {
                println!(
                    "{}: not cut: a draft in {} (its branch does not build yet); \
                     MODULE={} cuts it anyway",
                    m.branch(),
                    cut::MANIFEST,
                    m.id
                );
            }
            manifest
                .modules
                .iter()
                .filter(|m| m.ready)
                .cloned()
                .collect()
        }
    };
    let source = git::rev(top, "HEAD").ok_or("no HEAD commit to cut from")?;
    let current = git::current_branch(top);
    let scratch = top.join("target/course-cut");
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let mut made = Vec::new();
    for m in modules {
        let mut branches = vec![Branch {
            module: m.clone(),
            lab: false,
        }];
        if manifest.lab(&m.id).is_some() {
            branches.push(Branch {
                module: m.clone(),
                lab: true,
            });
        }
        for b in branches {
            let name = b.name();
            if name == "main" || name == "master" || current.as_deref() == Some(name.as_str()) {
                return Err(format!(
                    "{name} is checked out here; switch to main (or another branch) first"
                ));
            }
            let old = git::rev(top, &format!("refs/heads/{name}"));
            if let Some(old) = &old
                && !git::is_cut_commit(top, old)
            {
                println!(
                    "{name}: left alone: it holds commits that `make module-branches` did not \
                     make (your work?); delete it to cut it again"
                );
                continue;
            }
            let dir = scratch.join(&name);
            cut::write_tree(top, &b, &source, &dir)?;
            let commit = cut::commit_dir(top, &dir, &b, &source)?;
            let _ = fs::remove_dir_all(&dir);
            let verb = match &old {
                Some(o) if *o == commit => "unchanged",
                Some(_) => "replaced",
                None => "created",
            };
            git::git(top, &["update-ref", &format!("refs/heads/{name}"), &commit])?;
            if !quiet {
                println!("{name:<28} {verb:<9} {}", &commit[..12]);
            }
            made.push(name);
        }
    }
    let _ = fs::remove_dir_all(&scratch);
    Ok(made)
}
