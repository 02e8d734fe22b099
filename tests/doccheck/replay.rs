//! Replaying a page's transcripts in QEMU.

use crate::markdown::{Block, Page};
use crate::pattern::{first_difference, lines_match, strip_ansi};
use crate::support::{Boot, Machine};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const PROMPT: &str = "cairn> ";
const HOTKEY_HINT: &str = "hotkey mode:";

/// The kernel command line `make run` boots: the first entry of the ISO's menu.
pub fn default_cmdline() -> String {
    let cfg = std::fs::read_to_string(crate::root().join("iso/boot/grub/grub.cfg"))
        .expect("iso/boot/grub/grub.cfg exists");
    cfg.lines()
        .find_map(|l| l.trim().strip_prefix("multiboot2 /boot/cairn.elf"))
        .map(|args| args.trim().to_string())
        .unwrap_or_default()
}

/// A booted machine and what the shell is doing.
struct Session {
    machine: Machine,
    /// The boot lines, up to and including `cairn: ready`.
    boot: Vec<String>,
    command_mode: bool,
    /// Blocks replayed on it so far.
    used: usize,
}

impl Session {
    fn boot(cmdline: &str, memory: &str) -> Session {
        let mut machine = Machine::boot_with(Boot {
            cmdline,
            memory,
            timeout: Duration::from_secs(150),
            ..Boot::default()
        });
        let all = strip_ansi(&machine.output());
        let end = all
            .find("cairn: ready")
            .map_or(all.len(), |p| p + "cairn: ready".len());
        let boot = all[..end].lines().map(str::to_string).collect();
        // the hotkey hint after `cairn: ready`
        machine.take_when(Duration::from_millis(300), Duration::from_secs(2), |t| {
            strip_ansi(t).contains(HOTKEY_HINT)
        });
        Session {
            machine,
            boot,
            command_mode: false,
            used: 0,
        }
    }

    fn type_text(&mut self, text: &str, keyboard: bool) {
        if keyboard {
            self.machine.type_keys(text);
        } else {
            self.machine.type_serial(text);
        }
    }

    /// Enter command mode if the shell is in hotkey mode.
    fn command_mode(&mut self, keyboard: bool) {
        if !self.command_mode {
            self.type_text(":", keyboard);
            self.until_prompt();
            self.command_mode = true;
        }
    }

    /// Leave command mode if the shell is in it.
    fn hotkey_mode(&mut self) {
        if self.command_mode {
            self.machine.type_serial("exit\n");
            self.machine
                .take_when(Duration::from_millis(100), Duration::from_secs(5), |t| {
                    strip_ansi(t).contains(HOTKEY_HINT)
                });
            self.command_mode = false;
        }
    }

    /// Everything up to the next prompt, or to the kernel's last words
    /// (`halt`, a double fault), ANSI codes stripped. A command may compute
    /// silently for a while (`bench`): only a long silence ends the wait
    /// otherwise.
    fn until_prompt(&mut self) -> String {
        let out =
            self.machine
                .take_when(Duration::from_millis(120), Duration::from_secs(30), |t| {
                    let t = strip_ansi(t);
                    t.ends_with(PROMPT)
                        || t.contains("cairn: halted")
                        || t.contains("cairn: powering off")
                });
        strip_ansi(&out)
    }

    /// Type one command line; the transcript lines it gives: the prompt and
    /// the command, then its output.
    fn command(&mut self, line: &str, keyboard: bool) -> Vec<String> {
        self.type_text(&format!("{line}\n"), keyboard);
        let out = if line.trim() == "exit" {
            self.command_mode = false;
            let out =
                self.machine
                    .take_when(Duration::from_millis(150), Duration::from_secs(5), |t| {
                        strip_ansi(t).contains(HOTKEY_HINT)
                    });
            strip_ansi(&out)
        } else {
            self.until_prompt()
        };
        let text = format!("{PROMPT}{out}");
        let text = text.strip_suffix(PROMPT).unwrap_or(&text);
        let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
        while lines.last().is_some_and(|l| l.is_empty()) && lines.len() > 1 {
            lines.pop();
        }
        lines
    }

    /// Press hotkeys; what they printed.
    fn keys(&mut self, keys: &str) -> Vec<String> {
        self.hotkey_mode();
        self.machine.type_keys(&keys.replace("\\n", "\n"));
        let out = self
            .machine
            .take_when(Duration::from_millis(400), Duration::from_secs(2), |t| {
                !t.is_empty()
            });
        let out = strip_ansi(&out);
        let mut lines: Vec<String> = out.lines().map(|l| l.trim_end().to_string()).collect();
        while lines.first().is_some_and(|l| l.is_empty()) {
            lines.remove(0);
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
    }
}

/// The command lines of a `serial` or `keyboard` block, each with the lines
/// the transcript shows for it (the command line first).
pub fn commands(block: &Block) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for l in &block.lines {
        if let Some(cmd) = l.strip_prefix(PROMPT) {
            out.push((cmd.trim().to_string(), vec![l.trim_end().to_string()]));
        } else if let Some(last) = out.last_mut() {
            last.1.push(l.trim_end().to_string());
        } else {
            return Err(format!(
                "line {}: a {} transcript starts with `{PROMPT}<command>`",
                block.line,
                block.replay.as_ref().unwrap().mode
            ));
        }
    }
    for (_, lines) in &mut out {
        while lines.len() > 1 && lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
    }
    Ok(out)
}

/// Replay every transcript of the page at `path`; panic with every mismatch.
pub fn page(path: &Path) {
    let started = Instant::now();
    let doc = Page::read(path);
    let default = default_cmdline();
    let mut sessions: BTreeMap<(String, String), Session> = BTreeMap::new();
    let mut errors = Vec::new();
    // the page with each replayed block replaced by what the kernel printed
    let source: Vec<String> = doc.text.lines().map(str::to_string).collect();
    let mut actual_page = source.clone();
    let mut checked = 0;
    let mut skipped = 0;
    let mut boots = 0;
    for block in &doc.blocks {
        let Some(replay) = &block.replay else {
            continue;
        };
        if replay.mode == "skip" {
            skipped += 1;
            continue;
        }
        let cmdline = replay.get("boot").map_or(default.clone(), str::to_string);
        let memory = replay.get("mem").unwrap_or("128M").to_string();
        let key = if replay.flag("fresh") {
            (format!("{cmdline} #{}", block.line), memory.clone())
        } else {
            (cmdline.clone(), memory.clone())
        };
        let session = sessions.entry(key).or_insert_with(|| {
            boots += 1;
            Session::boot(&cmdline, &memory)
        });
        session.used += 1;
        let keyboard = replay.mode == "keyboard";
        if replay.mode != "keys"
            && let Some(keys) = replay.get("keys")
        {
            session.keys(keys);
        }
        if let Some(setup) = replay.get("setup") {
            session.command_mode(false);
            for line in setup.split(';') {
                session.command(line.trim(), false);
            }
        }
        let (expected, actual): (Vec<String>, Vec<String>) = match replay.mode.as_str() {
            "boot" => {
                if session.used != 1 {
                    errors.push(format!(
                        "{}:{}: a boot transcript must be the first on its machine (add `fresh`)",
                        doc.name, block.line
                    ));
                    continue;
                }
                (block.lines.clone(), session.boot.clone())
            }
            "serial" | "keyboard" => {
                let cmds = match commands(block) {
                    Ok(c) => c,
                    Err(e) => {
                        errors.push(format!("{}:{e}", doc.name));
                        continue;
                    }
                };
                session.command_mode(keyboard);
                let mut expected = Vec::new();
                let mut actual = Vec::new();
                for (cmd, shown) in cmds {
                    let got = session.command(&cmd, keyboard);
                    if !lines_match(&shown, &got, false) {
                        errors.push(format!(
                            "{}:{}: `{cmd}` printed something else than the page shows:\n    {}\n  printed:\n{}",
                            doc.name,
                            block.line,
                            first_difference(&shown, &got),
                            indent(&got)
                        ));
                    }
                    expected.extend(shown);
                    actual.extend(got);
                }
                // compared per command above
                checked += 1;
                replace_block(&mut actual_page, &source, block, &actual);
                let _ = expected;
                continue;
            }
            "keys" => {
                let Some(keys) = replay.get("keys") else {
                    errors.push(format!(
                        "{}:{}: a keys transcript needs keys=\"...\"",
                        doc.name, block.line
                    ));
                    continue;
                };
                (block.lines.clone(), session.keys(keys))
            }
            other => {
                errors.push(format!(
                    "{}:{}: unknown replay mode `{other}`",
                    doc.name, block.line
                ));
                continue;
            }
        };
        checked += 1;
        replace_block(&mut actual_page, &source, block, &actual);
        let excerpt = replay.flag("excerpt");
        if !lines_match(&expected, &actual, excerpt) {
            errors.push(format!(
                "{}:{}: the {} transcript does not match{}:\n    {}\n  printed:\n{}",
                doc.name,
                block.line,
                replay.mode,
                if excerpt { " (as an excerpt)" } else { "" },
                if excerpt {
                    String::from("(no contiguous part matches)")
                } else {
                    first_difference(&expected, &actual)
                },
                indent(&actual)
            ));
        }
    }
    let out_dir = crate::root().join("build/doccheck");
    let _ = std::fs::create_dir_all(&out_dir);
    let _ = std::fs::write(
        out_dir.join(format!("{}.printed.md", doc.name)),
        actual_page.join("\n") + "\n",
    );
    eprintln!(
        "doccheck {}: {checked} transcripts replayed ({skipped} skipped) on {boots} boot(s) in {:.1} s",
        doc.name,
        started.elapsed().as_secs_f64()
    );
    assert!(
        errors.is_empty(),
        "\n{} transcript mismatch(es) in {} (the page with what the kernel printed: build/doccheck/{}.printed.md):\n\n{}\n",
        errors.len(),
        doc.name,
        doc.name,
        errors.join("\n\n")
    );
}

fn indent(lines: &[String]) -> String {
    lines.iter().map(|l| format!("    | {l}\n")).collect()
}

/// Put `actual` in place of the block's body in `page` (blocks are
/// replaced in page order; `page` may have grown or shrunk before this one).
fn replace_block(page: &mut Vec<String>, source: &[String], block: &Block, actual: &[String]) {
    // offset: lines added or removed by earlier replacements
    let delta = page.len() as isize - source.len() as isize;
    let first = block.line; // first body line (0-based) in `source`
    let body = source[first..]
        .iter()
        .take_while(|l| !l.trim_start().starts_with("```"))
        .count();
    let start = (first as isize + delta) as usize;
    page.splice(start..start + body, actual.iter().cloned());
}
