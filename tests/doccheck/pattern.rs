//! Comparing a transcript with what the kernel printed: the masks
//! `{hex}`, `{n}`, `{*}` within a line and `{...}` for whole lines.

/// Drop ANSI escape sequences (colours, cursor moves) and `\r`.
pub fn strip_ansi(s: &str) -> String {
    crate::support::strip_ansi(s).replace('\r', "")
}

/// Whether a line of a transcript uses a mask.
pub fn has_mask(line: &str) -> bool {
    line.contains("{hex}") || line.contains("{n}") || line.contains("{*}") || line == "{...}"
}

#[derive(Debug, PartialEq)]
enum Tok {
    Lit(String),
    Space,
    Hex,
    Num,
    Any,
}

fn tokens(pattern: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut lit = String::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        let (tok, len) = if rest.starts_with("{hex}") {
            (Some(Tok::Hex), 5)
        } else if rest.starts_with("{n}") {
            (Some(Tok::Num), 3)
        } else if rest.starts_with("{*}") {
            (Some(Tok::Any), 3)
        } else if c == ' ' {
            let n = rest.chars().take_while(|&c| c == ' ').count();
            (Some(Tok::Space), n)
        } else {
            lit.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        if !lit.is_empty() {
            toks.push(Tok::Lit(std::mem::take(&mut lit)));
        }
        toks.extend(tok);
        rest = &rest[len..];
    }
    if !lit.is_empty() {
        toks.push(Tok::Lit(lit));
    }
    toks
}

/// Does `actual` match the transcript line `expected`?
pub fn line_matches(expected: &str, actual: &str) -> bool {
    let expected = expected.trim_end();
    let actual = actual.trim_end();
    if !has_mask(expected) {
        return expected == actual;
    }
    match_toks(&tokens(expected), actual)
}

fn match_toks(toks: &[Tok], s: &str) -> bool {
    let Some(first) = toks.first() else {
        return s.is_empty();
    };
    let rest = &toks[1..];
    match first {
        Tok::Lit(l) => s
            .strip_prefix(l.as_str())
            .is_some_and(|s| match_toks(rest, s)),
        Tok::Space => {
            let n = s.chars().take_while(|&c| c == ' ').count();
            n > 0 && match_toks(rest, &s[n..])
        }
        Tok::Hex | Tok::Num => {
            let (body, prefix) = match (first, s.strip_prefix("0x")) {
                (Tok::Hex, Some(b)) => (b, 2),
                _ => (s, 0),
            };
            let ok = |c: char| match first {
                Tok::Hex => c.is_ascii_hexdigit(),
                _ => c.is_ascii_digit() || c == '.' || c == ',',
            };
            let n = body.chars().take_while(|&c| ok(c)).count();
            // at least one digit; try the longest first, then shorter
            (1..=n).rev().any(|k| {
                body[..k]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
                    && match_toks(rest, &s[prefix + k..])
            })
        }
        Tok::Any => (0..=s.len())
            .filter(|&k| s.is_char_boundary(k))
            .any(|k| match_toks(rest, &s[k..])),
    }
}

/// Does the whole of `actual` match `expected` (with `{...}` lines)?
/// With `excerpt`, `expected` may match any contiguous part of `actual`.
pub fn lines_match(expected: &[String], actual: &[String], excerpt: bool) -> bool {
    if excerpt {
        (0..=actual.len()).any(|start| prefix_match(expected, &actual[start..], true))
    } else {
        prefix_match(expected, actual, false)
    }
}

fn prefix_match(expected: &[String], actual: &[String], trailing_ok: bool) -> bool {
    let Some(first) = expected.first() else {
        return trailing_ok || actual.iter().all(|l| l.trim().is_empty());
    };
    if first.trim() == "{...}" {
        return (0..=actual.len()).any(|k| prefix_match(&expected[1..], &actual[k..], trailing_ok));
    }
    match actual.first() {
        Some(a) => {
            line_matches(first, a) && prefix_match(&expected[1..], &actual[1..], trailing_ok)
        }
        None => false,
    }
}

/// The first line where they part, for the error message.
pub fn first_difference(expected: &[String], actual: &[String]) -> String {
    for (i, e) in expected.iter().enumerate() {
        if e.trim() == "{...}" {
            return "(after a {...} line)".into();
        }
        match actual.get(i) {
            Some(a) if line_matches(e, a) => continue,
            Some(a) => return format!("line {}: expected {e:?}\n          got      {a:?}", i + 1),
            None => return format!("line {}: expected {e:?}, got nothing more", i + 1),
        }
    }
    format!(
        "{} extra line(s), from {:?}",
        actual.len() - expected.len(),
        actual.get(expected.len())
    )
}

#[test]
fn masks_match_what_varies_and_nothing_else() {
    assert!(line_matches(
        "at {hex} (scale 4)",
        "at 0xC0152000 (scale 4)"
    ));
    assert!(line_matches("at {hex} (scale 4)", "at 1b8 (scale 4)"));
    assert!(!line_matches(
        "at {hex} (scale 4)",
        "at 0xC0152000 (scale 5)"
    ));
    assert!(line_matches(
        "seq {n} tick {n} key 'c'",
        "seq    1 tick   355 key 'c'"
    ));
    assert!(line_matches(
        "up {n} s ({n} timer ticks at 100 Hz)",
        "up 12.340 s (1234 timer ticks at 100 Hz)"
    ));
    assert!(!line_matches("up {n} s", "up s"));
    assert!(line_matches("loader: {*}", "loader: GRUB 2.06"));
    assert!(!line_matches("same", "same but more"));
    assert!(line_matches("trailing   ", "trailing"));
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(lines_match(
        &v(&["a", "{...}", "d"]),
        &v(&["a", "b", "c", "d"]),
        false
    ));
    assert!(!lines_match(&v(&["a", "d"]), &v(&["a", "b", "d"]), false));
    assert!(lines_match(
        &v(&["b", "c"]),
        &v(&["a", "b", "c", "d"]),
        true
    ));
    assert_eq!(strip_ansi("\x1b[31mred\x1b[0m\r\n"), "red\n");
}
