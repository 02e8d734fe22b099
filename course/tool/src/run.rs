//! Running the project's own commands with a deadline, and booting the ISO.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a command did.
pub struct Ran {
    pub ok: bool,
    pub timed_out: bool,
    pub output: String,
    pub seconds: f64,
    /// CPU seconds (user and system) it and every process under it used:
    /// unlike `seconds`, barely changed by other work on the machine.
    pub cpu: f64,
}

/// CPU seconds used so far by this process's finished children (and
/// theirs, each waited for): `cutime` + `cstime` of /proc/self/stat.
pub fn children_cpu() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) in parentheses.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): cutime and cstime are fields 16 and 17.
    let ticks = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(16) + ticks(17)) / 100.0
}

/// Run `program args` in `dir` under `timeout` (coreutils), both outputs
/// captured together.
pub fn run(dir: &Path, env: &[(&str, String)], secs: u64, program: &str, args: &[&str]) -> Ran {
    let start = Instant::now();
    let cpu_before = children_cpu();
    let mut cmd = Command::new("timeout");
    cmd.arg("--kill-after=5")
        .arg(secs.to_string())
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.output() {
        Ok(out) => {
            let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
            output.push_str(&String::from_utf8_lossy(&out.stderr));
            let code = out.status.code();
            Ran {
                ok: out.status.success(),
                timed_out: matches!(code, Some(124) | Some(137)) || code.is_none(),
                output,
                seconds: start.elapsed().as_secs_f64(),
                cpu: children_cpu() - cpu_before,
            }
        }
        Err(e) => Ran {
            ok: false,
            timed_out: false,
            output: format!("cannot run {program}: {e}"),
            seconds: start.elapsed().as_secs_f64(),
            cpu: 0.0,
        },
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Boot `iso` headless and wait for `cairn: ready` on the serial line.
pub fn boot_to_ready(iso: &Path, secs: u64) -> Result<f64, String> {
    if !iso.exists() {
        return Err(format!("{} is missing: run `make iso`", iso.display()));
    }
    let dir = iso.parent().unwrap_or(Path::new("."));
    let log = dir.join("course-boot.log");
    let _ = fs::remove_file(&log);
    let start = Instant::now();
    let mut child = Command::new("qemu-system-i386")
        .args(["-m", "128M", "-no-reboot", "-display", "none"])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        .arg("-cdrom")
        .arg(iso)
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-i386: {e} (make deps installs it)"))?;
    let deadline = start + Duration::from_secs(secs);
    let result = loop {
        let text = fs::read_to_string(&log).unwrap_or_default();
        if text.contains("cairn: ready") {
            break Ok(start.elapsed().as_secs_f64());
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!(
                "QEMU stopped ({status}) before `cairn: ready`; serial:\n{}",
                tail(&text, 15)
            ));
        }
        if Instant::now() > deadline {
            break Err(format!(
                "no `cairn: ready` within {secs}s; serial:\n{}",
                tail(&text, 15)
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Outcome of the libtest lines (`test NAME ... ok|FAILED`) in `output`
/// (cargo's format, and the in-kernel one): (passed, failed names).
pub fn libtest_results(output: &str, filter: impl Fn(&str) -> bool) -> (usize, Vec<String>) {
    let mut passed = 0;
    let mut failed = Vec::new();
    for line in output.lines() {
        // The kernel prints its FAILED lines in red: the colour codes go.
        let line = without_ansi(line);
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, outcome)) = rest.split_once(" ... ") else {
            continue;
        };
        if !filter(name) {
            continue;
        }
        if outcome.starts_with("ok") {
            passed += 1;
        } else if outcome.starts_with("FAILED") {
            failed.push(name.to_string());
        }
    }
    (passed, failed)
}

/// `line` without ANSI escape sequences (`ESC [ params final`).
fn without_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
        } else if chars.next() == Some('[') {
            for d in chars.by_ref() {
                if ('\x40'..='\x7e').contains(&d) {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_and_kernel_lines() {
        let out = "running 3 tests\ntest a::b ... ok\ntest a::c ... FAILED\n\
                   test heap_box ... FAILED: boom\ntest x ... ignored\ntest result: FAILED.\n";
        let (p, f) = libtest_results(out, |_| true);
        assert_eq!(p, 1);
        assert_eq!(f, vec!["a::c", "heap_box"]);
        let (p, f) = libtest_results(out, |n| n.starts_with("heap"));
        assert_eq!((p, f.len()), (0, 1));
        // The kernel's red FAILED lines count as failures.
        let red = "test a ... ok\n\x1b[91mtest b ... FAILED: no\x1b[0m\n";
        assert_eq!(libtest_results(red, |_| true), (1, vec!["b".to_string()]));
    }

    #[test]
    fn a_command_s_cpu_time_is_counted() {
        let r = run(
            Path::new("."),
            &[],
            30,
            "sh",
            &["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"],
        );
        assert!(r.ok, "{}", r.output);
        assert!(r.cpu > 0.0, "{} {}", r.cpu, r.seconds);
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("1\n2\n3\n", 2), "2\n3");
    }
}
