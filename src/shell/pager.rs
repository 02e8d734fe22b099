//! The pager's bookkeeping, pure: how many screen rows the output of one
//! command has filled, where the page ends, and what a key at `-- more --`
//! means. The kernel's host pauses the VGA output there (the serial line
//! gets every byte, never a `-- more --`).
//!
//! ```text
//!  output ──► Pager::fit(text) ──► the part that fits the page ──► console
//!                     │
//!                     └─ page full ──► "-- more --" on VGA, wait for a key:
//!                          Space: a new page   Enter: one more line   q / Esc: the rest
//!                          goes to serial only
//! ```

use super::input::Key;

/// What a key does at the `-- more --` prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoreKey {
    /// Show another page.
    Page,
    /// Show one more line.
    Line,
    /// Stop paging: the rest of the output goes to serial only.
    Quit,
    /// Not a pager key: keep waiting.
    Ignore,
}

/// The meaning of `key` at the prompt.
pub fn more_key(key: Key) -> MoreKey {
    match key {
        Key::Char(' ') | Key::PageDown => MoreKey::Page,
        Key::Enter | Key::Down => MoreKey::Line,
        Key::Char('q' | 'Q') | Key::Escape | Key::Ctrl('c') => MoreKey::Quit,
        _ => MoreKey::Ignore,
    }
}

/// Counts the rows a command's output fills on an 80-column screen.
pub struct Pager {
    width: usize,
    /// Rows a page holds (the screen's height less the prompt row).
    page: usize,
    rows: usize,
    col: usize,
    in_escape: bool,
}

impl Pager {
    /// A pager for a `width`-column screen showing `page` rows of output at a time.
    pub const fn new(width: usize, page: usize) -> Pager {
        Pager {
            width,
            page,
            rows: 0,
            col: 0,
            in_escape: false,
        }
    }

    /// How many bytes of `text` fit on the current page, and whether the
    /// page is then full (the caller pauses before writing the rest).
    pub fn fit(&mut self, text: &str) -> (usize, bool) {
        for (i, c) in text.char_indices() {
            if self.rows >= self.page {
                return (i, true);
            }
            if self.in_escape {
                // ESC [ params final: no cell on screen.
                self.in_escape = !('\x40'..='\x7e').contains(&c) || c == '[';
                continue;
            }
            match c {
                '\x1b' => self.in_escape = true,
                '\n' => {
                    self.rows += 1;
                    self.col = 0;
                }
                '\r' => self.col = 0,
                '\x08' => self.col = self.col.saturating_sub(1),
                c if c.is_control() => {}
                _ => {
                    if self.col == self.width {
                        self.rows += 1;
                        self.col = 0;
                        if self.rows >= self.page {
                            return (i, true);
                        }
                    }
                    self.col += 1;
                }
            }
        }
        (text.len(), false)
    }

    /// After `-- more --`: a new page (`Page`) or one more line (`Line`).
    pub fn resume(&mut self, how: MoreKey) {
        self.rows = match how {
            MoreKey::Line => self.page - 1,
            _ => 0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `text` through a 10x3 pager, answering every pause with `answer`;
    /// returns the chunks written between pauses.
    fn pages(text: &str, answer: MoreKey) -> Vec<String> {
        let mut p = Pager::new(10, 3);
        let mut chunks = vec![String::new()];
        let mut rest = text;
        loop {
            let (n, full) = p.fit(rest);
            chunks.last_mut().unwrap().push_str(&rest[..n]);
            rest = &rest[n..];
            if !full {
                return chunks;
            }
            p.resume(answer);
            chunks.push(String::new());
        }
    }

    #[test]
    fn pauses_after_a_page_of_rows() {
        let text: String = (0..7).map(|i| format!("l{i}\n")).collect();
        assert_eq!(
            pages(&text, MoreKey::Page),
            ["l0\nl1\nl2\n", "l3\nl4\nl5\n", "l6\n"]
        );
        assert_eq!(
            pages(&text, MoreKey::Line),
            ["l0\nl1\nl2\n", "l3\n", "l4\n", "l5\n", "l6\n"]
        );
    }

    #[test]
    fn long_lines_count_their_rows_and_colours_count_nothing() {
        let text = format!("{}\n\x1b[91mred\x1b[0m\nx\n", "y".repeat(25));
        // 25 columns on a 10-column screen: three rows.
        let chunks = pages(&text, MoreKey::Page);
        assert_eq!(chunks[0], "y".repeat(25) + "\n");
        assert_eq!(chunks[1], "\x1b[91mred\x1b[0m\nx\n");
    }

    #[test]
    fn keys_at_the_prompt() {
        assert_eq!(more_key(Key::Char(' ')), MoreKey::Page);
        assert_eq!(more_key(Key::Enter), MoreKey::Line);
        assert_eq!(more_key(Key::Char('q')), MoreKey::Quit);
        assert_eq!(more_key(Key::Escape), MoreKey::Quit);
        assert_eq!(more_key(Key::Char('x')), MoreKey::Ignore);
    }
}
