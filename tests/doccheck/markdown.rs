//! Just enough Markdown: fenced blocks with their `<!-- replay: ... -->`
//! comment and caption, inline code spans, and relative links.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A module page, split into what the checks need.
pub struct Page {
    pub path: PathBuf,
    /// `03-memory`.
    pub name: String,
    pub text: String,
    pub blocks: Vec<Block>,
    /// Inline code spans outside fenced blocks, with their line numbers.
    pub spans: Vec<(usize, String)>,
    /// Relative link targets, with their line numbers.
    pub links: Vec<(usize, String)>,
}

/// A fenced block.
pub struct Block {
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The info string (`text`, `bash`, `rust`, ...).
    pub info: String,
    pub lines: Vec<String>,
    /// The `<!-- replay: ... -->` comment on the line before the fence.
    pub replay: Option<Replay>,
    /// The paragraph of prose right before the block (and its comment).
    pub caption: String,
}

/// `<!-- replay: MODE key=value key="a value" flag -->`
#[derive(Clone, Debug)]
pub struct Replay {
    pub mode: String,
    pub opts: BTreeMap<String, String>,
}

impl Replay {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.opts.get(key).map(String::as_str)
    }
    pub fn flag(&self, key: &str) -> bool {
        self.opts.contains_key(key)
    }
}

impl Page {
    pub fn read(path: &Path) -> Page {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let lines: Vec<&str> = text.lines().collect();
        let mut blocks = Vec::new();
        let mut spans = Vec::new();
        let mut links = Vec::new();
        // The text outside fenced blocks, and the page line of each of its lines.
        let mut prose = String::new();
        let mut prose_lines = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix("```") {
                let fence_len = 3 + rest.chars().take_while(|&c| c == '`').count();
                let fence = "`".repeat(fence_len);
                let info = trimmed[fence_len..].trim().to_string();
                let start = i;
                let replay = start.checked_sub(1).and_then(|p| parse_replay(lines[p]));
                let mut body = Vec::new();
                i += 1;
                while i < lines.len() && !lines[i].trim_start().starts_with(&fence) {
                    // In a transcript, a whole-line HTML comment is not
                    // output: the course tool's markers (`<!-- course: ... -->`)
                    // and the stand-in lines they keep commented on main.
                    if replay.is_none() || !lines[i].trim_start().starts_with("<!--") {
                        body.push(lines[i].to_string());
                    }
                    i += 1;
                }
                let mut c = if replay.is_some() {
                    start.saturating_sub(1)
                } else {
                    start
                };
                // the paragraph before the block (and its comment)
                while c > 0 && lines[c - 1].trim().is_empty() {
                    c -= 1;
                }
                let mut caption = Vec::new();
                while c > 0 && !lines[c - 1].trim().is_empty() && !lines[c - 1].starts_with("```") {
                    c -= 1;
                    caption.insert(0, lines[c].trim());
                }
                let caption = caption.join(" ");
                blocks.push(Block {
                    line: start + 1,
                    info,
                    lines: body,
                    replay,
                    caption,
                });
                i += 1;
                continue;
            }
            if let Some(r) = parse_replay(line) {
                // A comment not followed by a fence is reported by the checks.
                blocks.push(Block {
                    line: i + 1,
                    info: "<no fence after the replay comment>".into(),
                    lines: Vec::new(),
                    replay: Some(r),
                    caption: String::new(),
                });
                if lines
                    .get(i + 1)
                    .is_some_and(|l| l.trim_start().starts_with("```"))
                {
                    blocks.pop();
                }
            }
            // A whole-line HTML comment is not prose: on main it hides a
            // course stand-in (`<!-- text -->`, the text an earlier module's
            // branch shows instead), checked on the branches that show it.
            let comment = trimmed.starts_with("<!--") && line.trim_end().ends_with("-->");
            let shown = if comment { "" } else { line };
            prose.push_str(shown);
            prose.push('\n');
            prose_lines.push(i + 1);
            links.extend(relative_links(shown).into_iter().map(|s| (i + 1, s)));
            i += 1;
        }
        for (offset, span) in code_spans(&prose) {
            let line = prose[..offset].matches('\n').count();
            spans.push((prose_lines[line.min(prose_lines.len() - 1)], span));
        }
        Page {
            path: path.to_path_buf(),
            name,
            text,
            blocks,
            spans,
            links,
        }
    }
}

/// The replay comment on `line`, if it is one.
pub fn parse_replay(line: &str) -> Option<Replay> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let rest = inner.strip_prefix("replay:")?;
    let mut words = split_words(rest).into_iter();
    let mode = words.next().unwrap_or_default();
    let mut opts = BTreeMap::new();
    for w in words {
        match w.split_once('=') {
            Some((k, v)) => opts.insert(k.to_string(), v.to_string()),
            None => opts.insert(w, String::new()),
        };
    }
    Some(Replay { mode, opts })
}

/// Words separated by spaces; `key="a b"` keeps its spaces (quotes dropped).
fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The inline code spans of a text (a span may wrap onto the next line,
/// but not past a blank line), with their byte offsets.
fn code_spans(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(found) = text[pos..].find('`') {
        let start = pos + found;
        let ticks = text[start..].chars().take_while(|&c| c == '`').count();
        let fence = "`".repeat(ticks);
        let body = start + ticks;
        match text[body..].find(&fence) {
            Some(end) if !text[body..body + end].contains("\n\n") => {
                let span = text[body..body + end].replace('\n', " ");
                out.push((start, span.trim().to_string()));
                pos = body + end + ticks;
            }
            _ => pos = body,
        }
    }
    out
}

/// `](target)` links that are not URLs or anchors.
fn relative_links(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(pos) = rest.find("](") {
        let after = &rest[pos + 2..];
        if let Some(end) = after.find(')') {
            let target = &after[..end];
            if !target.contains("://") && !target.starts_with('#') && !target.starts_with("mailto:")
            {
                out.push(target.split('#').next().unwrap().to_string());
            }
            rest = &after[end..];
        } else {
            break;
        }
    }
    out
}

#[test]
fn replay_comments_spans_and_links_are_read() {
    let r = parse_replay(r#"<!-- replay: serial boot="heap=pool pmm=bitmap" mem=16M fresh -->"#)
        .unwrap();
    assert_eq!(r.mode, "serial");
    assert_eq!(r.get("boot"), Some("heap=pool pmm=bitmap"));
    assert_eq!(r.get("mem"), Some("16M"));
    assert!(r.flag("fresh") && !r.flag("excerpt"));
    assert!(parse_replay("<!-- a comment -->").is_none());
    let spans: Vec<String> = code_spans("see `a::b` and `fault pf\n<addr>`, then ``x`y``")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(spans, ["a::b", "fault pf <addr>", "x`y"]);
    assert_eq!(
        relative_links("[a](../bench/x.md#t) [b](https://x.org) [c](#here)"),
        ["../bench/x.md"]
    );
}

#[test]
fn a_page_splits_into_blocks_with_captions_and_no_course_markers() {
    let dir = std::env::temp_dir().join(format!("doccheck-md-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("09-test.md");
    std::fs::write(
        &path,
        "# T\n\nTyped over the serial\nline:\n\n<!-- replay: serial -->\n```text\ncairn> echo a\n<!-- course: module 03 -->\na\n<!-- course: else -->\n<!-- b -->\n<!-- course: end -->\n```\n\n```rust\nfn f() {}\n```\n\
         <!-- course: before 03 -->\n<!-- See `early_only()`. -->\n<!-- course: end -->\nSee `both()`.\n",
    )
    .unwrap();
    let page = Page::read(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(page.name, "09-test");
    assert_eq!(page.blocks.len(), 2);
    let b = &page.blocks[0];
    assert_eq!(b.line, 7);
    assert_eq!(b.caption, "Typed over the serial line:");
    assert_eq!(b.lines, ["cairn> echo a", "a"]);
    assert!(page.blocks[1].replay.is_none() && page.blocks[1].info == "rust");
    // Stand-in prose, commented on main, is not checked on main.
    let spans: Vec<&str> = page.spans.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(spans, ["both()"]);
}
