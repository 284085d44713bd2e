//! Comments and the other trivia the parser throws away, recovered from the
//! source text: where each `#` comment is, whether code precedes it on its
//! line, and whether a blank line precedes it.
//!
//! Everything here assumes text that parsed: then a `"` outside a comment
//! always opens a string that closes on the same line, and between two
//! tokens there is only whitespace and comments.

/// One `#` comment.
#[derive(Clone, Debug)]
pub(super) struct Comment {
    /// Byte offset of the `#`.
    pub start: usize,
    /// The text from `#` to the end of the line, trailing whitespace removed.
    pub text: String,
    /// Code precedes it on its line: it ends that line.
    pub trailing: bool,
    /// A blank line separates it from what comes before it.
    pub blank_before: bool,
}

/// Whitespace as the grammar defines it (`WHITESPACE` in gate.pest).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{FEFF}')
}

/// The comments of a source text and the positions of the code around them.
pub(super) struct Trivia<'a> {
    text: &'a str,
    comments: Vec<Comment>,
    /// `(start, end)` byte ranges of the comments, for skipping backwards.
    ranges: Vec<(usize, usize)>,
}

impl<'a> Trivia<'a> {
    /// Finds every comment of `text`, skipping string literals.
    pub fn scan(text: &'a str) -> Trivia<'a> {
        let mut comments = Vec::new();
        let mut ranges = Vec::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    // a string: to the closing quote, honouring escapes
                    while let Some((_, c)) = chars.next() {
                        match c {
                            '\\' => {
                                chars.next();
                            }
                            '"' | '\n' => break,
                            _ => {}
                        }
                    }
                }
                '#' => {
                    let end = text
                        .get(i..)
                        .and_then(|rest| rest.find('\n'))
                        .map_or(text.len(), |n| i + n);
                    while chars.peek().is_some_and(|(j, _)| *j < end) {
                        chars.next();
                    }
                    let raw = text.get(i..end).unwrap_or("");
                    comments.push(Comment {
                        start: i,
                        text: raw.trim_end().to_owned(),
                        trailing: !starts_line(text, i),
                        blank_before: blank_line_before(text, i),
                    });
                    ranges.push((i, end));
                }
                _ => {}
            }
        }
        Trivia {
            text,
            comments,
            ranges,
        }
    }

    /// Every comment, in source order.
    pub fn comments(&self) -> &[Comment] {
        &self.comments
    }

    /// The offset of the first code character at or after `from` (the
    /// length of the text when only trivia follows).
    pub fn next_code(&self, from: usize) -> usize {
        let mut pos = from.min(self.text.len());
        loop {
            let Some(c) = self.text.get(pos..).and_then(|r| r.chars().next()) else {
                return self.text.len();
            };
            if is_space(c) {
                pos += c.len_utf8();
            } else if c == '#' {
                pos = self.comment_at(pos).map_or(self.text.len(), |(_, e)| e);
            } else {
                return pos;
            }
        }
    }

    /// The offset just past the last code character before `before`: the
    /// tight end of a span that may run over trailing whitespace and
    /// comments (pest includes those in some rules' spans).
    pub fn code_end_before(&self, before: usize) -> usize {
        let mut pos = before.min(self.text.len());
        loop {
            let Some(c) = self.text.get(..pos).and_then(|r| r.chars().next_back()) else {
                return 0;
            };
            let prev = pos - c.len_utf8();
            if let Some((s, _)) = self.comment_at(prev) {
                pos = s;
            } else if is_space(c) {
                pos = prev;
            } else {
                return pos;
            }
        }
    }

    /// The comment covering byte `pos`, as `(start, end)`.
    fn comment_at(&self, pos: usize) -> Option<(usize, usize)> {
        let after = self.ranges.partition_point(|(s, _)| *s <= pos);
        let (s, e) = *self.ranges.get(after.checked_sub(1)?)?;
        (pos < e).then_some((s, e))
    }

    /// The code character at `pos`, if any.
    pub fn char_at(&self, pos: usize) -> Option<char> {
        self.text.get(pos..).and_then(|r| r.chars().next())
    }

    /// Whether a blank line separates `pos` from the code or comment before it.
    pub fn blank_before(&self, pos: usize) -> bool {
        blank_line_before(self.text, pos)
    }
}

/// Only whitespace precedes `pos` on its line.
fn starts_line(text: &str, pos: usize) -> bool {
    let before = text.get(..pos).unwrap_or("");
    before
        .chars()
        .rev()
        .find(|c| !matches!(c, ' ' | '\t' | '\r' | '\u{FEFF}'))
        .is_none_or(|c| c == '\n')
}

/// The whitespace right before `pos` holds an empty line, and something
/// precedes it (leading blank lines of a file do not count).
fn blank_line_before(text: &str, pos: usize) -> bool {
    let before = text.get(..pos).unwrap_or("");
    let mut newlines = 0;
    for c in before.chars().rev() {
        if c == '\n' {
            newlines += 1;
        } else if !is_space(c) {
            return newlines >= 2;
        }
    }
    false
}

/// Hands out comments in source order, each exactly once. Every printer
/// position asks for the comments before it; whatever is still pending at
/// the end of the file is printed there, so no comment can be lost.
pub(super) struct Cursor {
    comments: Vec<Comment>,
    next: usize,
}

impl Cursor {
    /// A cursor over `comments` (in source order).
    pub fn new(comments: Vec<Comment>) -> Cursor {
        Cursor { comments, next: 0 }
    }

    /// Every pending comment that starts before `pos`.
    pub fn before(&mut self, pos: usize) -> Vec<Comment> {
        self.take_while(|c| c.start < pos)
    }

    /// Pending comments before `bound` that end a line of code (stops at the
    /// first comment on a line of its own).
    pub fn trailing(&mut self, bound: usize) -> Vec<Comment> {
        self.take_while(|c| c.start < bound && c.trailing)
    }

    /// Whether a pending comment starts before `pos` (takes nothing).
    pub fn pending_before(&self, pos: usize) -> bool {
        self.comments.get(self.next).is_some_and(|c| c.start < pos)
    }

    /// Everything still pending.
    pub fn rest(&mut self) -> Vec<Comment> {
        self.take_while(|_| true)
    }

    fn take_while(&mut self, keep: impl Fn(&Comment) -> bool) -> Vec<Comment> {
        let mut out = Vec::new();
        while let Some(c) = self.comments.get(self.next) {
            if !keep(c) {
                break;
            }
            out.push(c.clone());
            self.next += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_strings_only() {
        let t = Trivia::scan("a \"x # y\" # one\n  # two\r\n\n# three");
        let texts: Vec<&str> = t.comments().iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["# one", "# two", "# three"]);
        let c = t.comments();
        assert!(c[0].trailing && !c[1].trailing && !c[2].trailing);
        assert!(!c[1].blank_before && c[2].blank_before);
    }

    #[test]
    fn escaped_quote_does_not_end_a_string() {
        let t = Trivia::scan(r#"a "x \" # y" # z"#);
        assert_eq!(t.comments().len(), 1);
        assert_eq!(t.comments()[0].text, "# z");
    }

    #[test]
    fn code_positions_skip_comments() {
        let text = "ab # c }\n  # d\n } e";
        let t = Trivia::scan(text);
        assert_eq!(t.next_code(2), text.find('}').map(|_| 16).unwrap());
        assert_eq!(t.char_at(t.next_code(2)), Some('}'));
        assert_eq!(t.code_end_before(16), 2);
        assert_eq!(t.code_end_before(0), 0);
    }
}
