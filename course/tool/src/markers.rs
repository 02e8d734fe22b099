//! Region markers in source comments, and how a cut rewrites a file.
//!
//! A marker is a whole line: a comment leader (`//`, `#`, `;` or `<!--`),
//! then `course:` and a word. Main builds exactly as if they were not
//! there; on a branch the tool keeps, drops or uncomments the regions.
//!
//! ```text
//!   // course: module 05          code of module 05 and later
//!   let x = real_thing();         kept on branches of module >= 05
//!   // course: else               the stand-in for earlier branches:
//!   // let x = stand_in();        commented on main, uncommented before 05
//!   // course: end
//!
//!   // course: before 03          a stand-in alone: commented on main,
//!   // static HEAP: Bump = ..;    uncommented on branches before 03,
//!   // course: end                absent from 03 on (`module 03` + `else`
//!                                 with no code of its own)
//!
//!   // course: lab 03             the solution of lab 03
//!   fn split(..) { .. }           kept on main and every module branch
//!   // course: stub               the stub: commented on main,
//!   // fn split(..) { todo }      uncommented (and the solution dropped)
//!   // course: end                on lab-03 only
//! ```
//!
//! Marker lines never reach a branch. Regions nest (a lab inside a module
//! region); stand-in and stub bodies hold commented lines only.

use std::fmt;

/// What is being cut: the module of the branch, and the lab if it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub module: u32,
    pub lab: Option<u32>,
}

/// A marker error: the line (1-based) and what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct MarkerError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for MarkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One parsed marker line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    Module(u32),
    Else,
    Before(u32),
    Lab(u32),
    Stub,
    End,
}

/// The comment leader markers use in a file, by its name (`None`: the file
/// has no markers and is copied as it is). The tool's own sources, which
/// talk about markers, are never cut.
pub fn leader_for(path: &str) -> Option<&'static str> {
    if path.starts_with("course/tool/") {
        return None;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "rs" => Some("//"),
        "md" => Some("<!--"),
        "toml" | "sh" | "cfg" | "s" | "json" => Some("#"),
        _ if name == "Makefile" || name.starts_with('.') => Some("#"),
        _ => None,
    }
}

/// The marker on this line with its comment leader, if the line is one
/// (`leaders`: the comment leaders of the file's kind). Errors on a line
/// that starts like a marker but says something unknown.
pub fn parse_marker_with(
    line: &str,
    leaders: &[&'static str],
) -> Result<Option<(Marker, &'static str)>, String> {
    let t = line.trim();
    let Some(leader) = leaders.iter().find(|l| t.starts_with(**l)) else {
        return Ok(None);
    };
    let rest = t[leader.len()..].trim_start();
    let Some(rest) = rest.strip_prefix("course:") else {
        return Ok(None);
    };
    let rest = rest.trim();
    let rest = rest.strip_suffix("-->").unwrap_or(rest).trim();
    let words: Vec<&str> = rest.split_whitespace().collect();
    let num = |w: Option<&&str>| -> Result<u32, String> {
        let w = w.ok_or("a module number is missing (two digits)")?;
        if w.len() != 2 {
            return Err(format!("`{w}` is not a two-digit module number"));
        }
        w.parse::<u32>()
            .map_err(|_| format!("`{w}` is not a two-digit module number"))
    };
    let m = match words.first().copied() {
        Some("module") if words.len() == 2 => Marker::Module(num(words.get(1))?),
        Some("before") if words.len() == 2 => Marker::Before(num(words.get(1))?),
        Some("lab") if words.len() == 2 => Marker::Lab(num(words.get(1))?),
        Some("else") if words.len() == 1 => Marker::Else,
        Some("stub") if words.len() == 1 => Marker::Stub,
        Some("end") if words.len() == 1 => Marker::End,
        _ => {
            return Err(format!(
                "unknown marker `course: {rest}` (module NN, else, before NN, lab NN, stub, end)"
            ));
        }
    };
    Ok(Some((m, leader)))
}

#[derive(Debug)]
enum Part {
    /// A module region's code, or a lab's solution: kept or dropped.
    Code { keep: bool },
    /// A stand-in or a stub: commented lines, uncommented when `on`.
    Commented { on: bool, leader: &'static str },
}

#[derive(Debug)]
struct Frame {
    opened_at: usize,
    is_lab: bool,
    part: Part,
    seen_second: bool,
}

/// The file at `path` as it is on `target`'s branch (see [`cut`]).
pub fn cut_file(path: &str, text: &str, target: Option<Target>) -> Result<String, MarkerError> {
    match leader_for(path) {
        Some(leader) => cut_with(text, target, &[leader]),
        None => Ok(text.to_string()),
    }
}

/// The file as it is on `target`'s branch, any leader (for the tests).
#[cfg(test)]
fn cut(text: &str, target: Option<Target>) -> Result<String, MarkerError> {
    cut_with(text, target, &["<!--", "//", "#"])
}

/// The file as it is on `target`'s branch. `None` for `target` means main:
/// only checks the markers and returns the text unchanged.
fn cut_with(
    text: &str,
    target: Option<Target>,
    leaders: &[&'static str],
) -> Result<String, MarkerError> {
    let mut out = String::with_capacity(text.len());
    let mut stack: Vec<Frame> = Vec::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let lineno = i + 1;
        let e = |message: String| MarkerError {
            line: lineno,
            message,
        };
        let marker = parse_marker_with(line, leaders).map_err(e)?;
        if leaders == ["//"] && !line.trim_start().starts_with("//") && line.contains("// course: ")
        {
            return Err(e(
                "a `course:` marker must be a line of its own (did rustfmt move it?)".into(),
            ));
        }
        let Some((marker, leader)) = marker else {
            // Ordinary line: emit it when every enclosing part is on.
            let mut visible = true;
            let mut uncomment = None;
            for f in &stack {
                match f.part {
                    Part::Code { keep } => visible &= keep,
                    Part::Commented { on, leader } => {
                        visible &= on;
                        uncomment = Some(leader);
                        if !is_commented(line, leader) {
                            return Err(e(if leader == HTML_OPEN {
                                "a stand-in or stub line in Markdown must be a whole HTML comment on main (`<!-- text -->`)".to_string()
                            } else {
                                format!(
                                    "a stand-in or stub line must start with `{leader}` on main"
                                )
                            }));
                        }
                    }
                }
            }
            if target.is_none() {
                out.push_str(line);
            } else if visible {
                match uncomment {
                    Some(leader) => out.push_str(&uncomment_line(line, leader)),
                    None => out.push_str(line),
                }
            }
            continue;
        };
        if stack
            .iter()
            .any(|f| matches!(f.part, Part::Commented { .. }))
            && marker != Marker::End
        {
            return Err(e("no marker inside a stand-in or stub body".into()));
        }
        match marker {
            Marker::Module(n) => stack.push(Frame {
                opened_at: lineno,
                is_lab: false,
                part: Part::Code {
                    keep: target.is_none_or(|t| t.module >= n),
                },
                seen_second: false,
            }),
            Marker::Before(n) => stack.push(Frame {
                opened_at: lineno,
                is_lab: false,
                part: Part::Commented {
                    on: target.is_some_and(|t| t.module < n),
                    leader,
                },
                seen_second: true,
            }),
            Marker::Lab(n) => stack.push(Frame {
                opened_at: lineno,
                is_lab: true,
                part: Part::Code {
                    keep: target.is_none_or(|t| t.lab != Some(n)),
                },
                seen_second: false,
            }),
            Marker::Else | Marker::Stub => {
                let Some(f) = stack.last_mut() else {
                    return Err(e(format!("`{marker:?}` outside a region")));
                };
                let wanted_lab = marker == Marker::Stub;
                if f.is_lab != wanted_lab || f.seen_second {
                    return Err(e(format!(
                        "`{}` belongs once in a {} region (opened at line {})",
                        if wanted_lab { "stub" } else { "else" },
                        if wanted_lab { "lab" } else { "module" },
                        f.opened_at
                    )));
                }
                let Part::Code { keep } = f.part else {
                    unreachable!("code part before the second part")
                };
                f.seen_second = true;
                f.part = Part::Commented { on: !keep, leader };
            }
            Marker::End => {
                let Some(f) = stack.pop() else {
                    return Err(e("`end` without a region".into()));
                };
                if f.is_lab && !f.seen_second {
                    return Err(e(format!(
                        "the lab region opened at line {} has no `stub`",
                        f.opened_at
                    )));
                }
            }
        }
        if target.is_none() {
            out.push_str(line);
        }
    }
    if let Some(f) = stack.last() {
        return Err(MarkerError {
            line: f.opened_at,
            message: "this region has no `end`".into(),
        });
    }
    Ok(out)
}

/// The leader that opens an HTML comment: in Markdown a stand-in line is a
/// whole comment, `<!-- text -->`, hidden on main wherever it stands.
const HTML_OPEN: &str = "<!--";
const HTML_CLOSE: &str = "-->";

/// True for a blank line, or a line commented out with `leader` (in
/// Markdown: a whole HTML comment on the line).
fn is_commented(line: &str, leader: &str) -> bool {
    let t = line.trim();
    t.is_empty() || (t.starts_with(leader) && (leader != HTML_OPEN || t.ends_with(HTML_CLOSE)))
}

/// `    // let x = 1;` -> `    let x = 1;` (the leader and one space go);
/// in Markdown `<!-- text -->` -> `text` (a transcript's line that differs
/// on an early branch keeps its indentation: `<!--   heap -->` -> `  heap`).
fn uncomment_line(line: &str, leader: &str) -> String {
    let (body, newline) = match line.strip_suffix('\n') {
        Some(b) => (b, "\n"),
        None => (line, ""),
    };
    let indent = body.len() - body.trim_start().len();
    let rest = &body[indent..];
    match rest.strip_prefix(leader) {
        Some(r) => {
            let r = r.strip_prefix(' ').unwrap_or(r);
            let r = if leader == HTML_OPEN {
                let r = r.trim_end();
                let r = r.strip_suffix(HTML_CLOSE).unwrap_or(r);
                r.strip_suffix(' ').unwrap_or(r)
            } else {
                r
            };
            format!("{}{}{newline}", &body[..indent], r)
        }
        None => line.to_string(),
    }
}

/// The solution regions of `lab` in the file at `path`: their lines.
pub fn solution_regions(path: &str, text: &str, lab: u32) -> Vec<Vec<String>> {
    let Some(leader) = leader_for(path) else {
        return Vec::new();
    };
    let mut regions = Vec::new();
    let mut depth_in: Option<usize> = None;
    let mut depth = 0usize;
    let mut current = Vec::new();
    for line in text.lines() {
        match parse_marker_with(line, &[leader]) {
            Ok(Some((Marker::Lab(n), _))) => {
                depth += 1;
                if n == lab && depth_in.is_none() {
                    depth_in = Some(depth);
                    current = Vec::new();
                }
            }
            Ok(Some((Marker::Module(_) | Marker::Before(_), _))) => depth += 1,
            Ok(Some((Marker::Stub, _))) => {
                if depth_in == Some(depth) {
                    regions.push(std::mem::take(&mut current));
                    depth_in = Some(usize::MAX);
                }
            }
            Ok(Some((Marker::End, _))) => {
                if depth_in == Some(usize::MAX) || depth_in == Some(depth) {
                    depth_in = None;
                }
                depth = depth.saturating_sub(1);
            }
            _ => {
                if depth_in == Some(depth) {
                    current.push(line.to_string());
                }
            }
        }
    }
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "\
fn a() {}
// course: module 05
fn paging() {}
// course: else
// fn stand_in() {}
//
// course: end
    // course: lab 03
    fn split() { real(); }
    // course: stub
    // fn split() {
    //     // LAB 03: split the block
    // }
    // course: end
# course: module 04
frames
# course: end
// course: before 03
// static HEAP: Bump = Bump::new();
// course: end
";

    fn t(module: u32, lab: Option<u32>) -> Option<Target> {
        Some(Target { module, lab })
    }

    #[test]
    fn main_is_unchanged() {
        assert_eq!(cut(SRC, None).unwrap(), SRC);
    }

    #[test]
    fn late_module_keeps_code_and_drops_markers() {
        let out = cut(SRC, t(7, None)).unwrap();
        assert_eq!(
            out,
            "fn a() {}\nfn paging() {}\n    fn split() { real(); }\nframes\n"
        );
    }

    #[test]
    fn early_module_gets_the_stand_in() {
        let out = cut(SRC, t(3, None)).unwrap();
        assert_eq!(
            out,
            "fn a() {}\nfn stand_in() {}\n\n    fn split() { real(); }\n"
        );
        let out = cut(SRC, t(2, None)).unwrap();
        assert!(out.ends_with("    fn split() { real(); }\nstatic HEAP: Bump = Bump::new();\n"));
    }

    #[test]
    fn lab_gets_the_stub_not_the_solution() {
        let out = cut(SRC, t(4, Some(3))).unwrap();
        assert_eq!(
            out,
            "fn a() {}\nfn stand_in() {}\n\n    fn split() {\n        // LAB 03: split the block\n    }\nframes\n"
        );
        assert!(!out.contains("real()"));
    }

    #[test]
    fn bad_markers_are_named() {
        let e = cut("// course: module 5\n", None).unwrap_err();
        assert!(e.message.contains("two-digit"), "{e}");
        let e = cut("// course: module 05\nx\n", None).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("no `end`"));
        let e = cut("// course: lab 03\nx\n// course: end\n", None).unwrap_err();
        assert!(e.message.contains("no `stub`"));
        let e = cut(
            "// course: module 05\nx\n// course: else\nnot commented\n// course: end\n",
            None,
        )
        .unwrap_err();
        assert_eq!(e.line, 4);
        let e = cut(
            "// course: before 03\n// x\n// course: else\n// course: end\n",
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("no marker inside"), "{e}");
        let e = cut(
            "// course: before 03\nnot commented\n// course: end\n",
            None,
        )
        .unwrap_err();
        assert_eq!(e.line, 2);
        let e = cut("// course: frobnicate\n", None).unwrap_err();
        assert!(e.message.contains("unknown marker"));
        let e = cut("// course: end\n", None).unwrap_err();
        assert!(e.message.contains("without a region"));
        let e = cut(
            "// course: module 05\n// course: stub\n// course: end\n",
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("lab region"));
    }

    #[test]
    fn html_comments_work_in_markdown() {
        let md = "a\n<!-- course: module 05 -->\nb\n<!-- course: end -->\nc\n";
        assert_eq!(cut(md, t(4, None)).unwrap(), "a\nc\n");
        assert_eq!(cut(md, t(5, None)).unwrap(), "a\nb\nc\n");
    }

    #[test]
    fn markdown_holds_per_branch_alternatives() {
        // A transcript line that differs before module 06: main's line in
        // the module region, the early branches' line in the `else`, each
        // stand-in line a whole HTML comment (hidden on main, and not
        // output for doccheck), its indentation kept.
        let md = "```text\ncairn> pagedir\n<!-- course: module 06 -->\n  heap 1280 KiB\n\
                  <!-- course: else -->\n<!--   heap 4096 KiB -->\n<!-- course: end -->\n  end\n```\n";
        let early = cut_file("a.md", md, t(5, None)).unwrap();
        assert_eq!(
            early,
            "```text\ncairn> pagedir\n  heap 4096 KiB\n  end\n```\n"
        );
        let late = cut_file("a.md", md, t(6, None)).unwrap();
        assert_eq!(
            late,
            "```text\ncairn> pagedir\n  heap 1280 KiB\n  end\n```\n"
        );
        assert_eq!(cut_file("a.md", md, None).unwrap(), md);
        // Prose alternatives the same way; a blank line stays blank.
        let prose =
            "<!-- course: before 05 -->\n<!-- The heap never grows. -->\n\n<!-- course: end -->\n";
        assert_eq!(
            cut_file("a.md", prose, t(4, None)).unwrap(),
            "The heap never grows.\n\n"
        );
        assert_eq!(cut_file("a.md", prose, t(5, None)).unwrap(), "");
        // A stand-in line main would show is refused.
        let open = "<!-- course: before 05 -->\n<!-- not closed\n<!-- course: end -->\n";
        let e = cut_file("a.md", open, None).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("whole HTML comment"), "{e}");
    }

    #[test]
    fn prose_mentioning_course_is_not_a_marker() {
        let s = "// of course: this is fine\n// the course: modules\n";
        assert!(cut(s, None).is_ok());
    }

    #[test]
    fn finds_solution_regions() {
        let r = solution_regions("a.rs", SRC, 3);
        assert_eq!(r, vec![vec!["    fn split() { real(); }".to_string()]]);
        assert!(solution_regions("a.rs", SRC, 4).is_empty());
        assert!(solution_regions("course/tool/src/x.rs", SRC, 3).is_empty());
    }

    #[test]
    fn each_file_kind_has_its_leader() {
        assert_eq!(leader_for("src/a.rs"), Some("//"));
        assert_eq!(leader_for("docs/a.md"), Some("<!--"));
        assert_eq!(leader_for("Makefile"), Some("#"));
        assert_eq!(leader_for("iso/boot/grub/grub.cfg"), Some("#"));
        assert_eq!(leader_for("docs/bench/heap.svg"), None);
        assert_eq!(leader_for("course/tool/src/markers.rs"), None);
        // A Rust comment in a Markdown code block is not a marker.
        let md = "```\n// course: module 05\n```\n";
        assert_eq!(
            cut_file(
                "a.md",
                md,
                Some(Target {
                    module: 1,
                    lab: None
                })
            )
            .unwrap(),
            md
        );
    }
}
