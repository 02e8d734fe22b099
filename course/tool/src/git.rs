//! The few git commands the tool runs, with errors that say which failed.

use std::path::Path;
use std::process::{Command, Stdio};

/// Run `git ARGS` in `dir`; its standard output, or an error naming the command.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    git_env(dir, args, &[])
}

/// Like [`git`], with extra environment variables.
pub fn git_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run git: {e} (is git installed?)"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The top of the work tree containing `dir`.
pub fn toplevel(dir: &Path) -> Result<String, String> {
    Ok(git(dir, &["rev-parse", "--show-toplevel"])?
        .trim()
        .to_string())
}

/// Files tracked at HEAD, as paths relative to the top.
pub fn tracked_files(top: &Path) -> Result<Vec<String>, String> {
    let out = git(top, &["ls-files", "-z"])?;
    Ok(out
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect())
}

/// Tracked files whose content differs from HEAD (staged or not).
pub fn dirty(top: &Path) -> Result<Vec<String>, String> {
    let out = git(top, &["status", "--porcelain", "--untracked-files=no"])?;
    Ok(out.lines().map(|l| l.to_string()).collect())
}

/// The commit a revision names, if it exists.
pub fn rev(top: &Path, rev: &str) -> Option<String> {
    git(
        top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .ok()
    .map(|s| s.trim().to_string())
}

/// The branch checked out in `top` (None when HEAD is detached).
pub fn current_branch(top: &Path) -> Option<String> {
    git(top, &["symbolic-ref", "--quiet", "--short", "HEAD"])
        .ok()
        .map(|s| s.trim().to_string())
}

/// Trailer in every commit the tool makes.
pub const CUT_TRAILER: &str = "Course-Cut:";

/// Is `commit` one the tool made (no parent, the trailer in its message)?
pub fn is_cut_commit(top: &Path, commit: &str) -> bool {
    let Ok(body) = git(top, &["cat-file", "commit", commit]) else {
        return false;
    };
    let has_parent = body
        .lines()
        .take_while(|l| !l.is_empty())
        .any(|l| l.starts_with("parent "));
    !has_parent && body.lines().any(|l| l.starts_with(CUT_TRAILER))
}
