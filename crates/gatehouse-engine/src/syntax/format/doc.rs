//! A small Wadler-style layout engine: the printer describes the text as a
//! [`Doc`] with optional line breaks, and [`render`] picks the breaks so
//! lines stay within the width.
//!
//! A [`Doc::Group`] is printed on one line when it fits and with every one of
//! its own [`Doc::Line`]s broken when it does not. A group that contains a
//! [`Doc::HardLine`] or a trailing comment ([`Doc::Suffix`]) always breaks:
//! no code may follow a comment on its line. A [`Doc::Fill`] packs as many
//! items on each line as fit.

/// Columns a line should stay within (strings and names are never split, so
/// a single long one may still exceed it).
pub(super) const WIDTH: usize = 100;

/// Spaces per indentation level.
const INDENT: usize = 2;

/// A layout description.
#[derive(Clone, Debug)]
pub(super) enum Doc {
    /// Text without line breaks.
    Text(String),
    /// A space, or a line break when the enclosing group breaks.
    Line,
    /// Nothing, or a line break when the enclosing group breaks.
    SoftLine,
    /// Always a line break.
    HardLine,
    /// Text printed only when the enclosing group breaks.
    IfBreak(&'static str),
    /// One after the other.
    Concat(Vec<Doc>),
    /// Lines broken inside are indented one more level.
    Nest(Box<Doc>),
    /// All on one line or every line broken; `true` when forced to break.
    Group(bool, Box<Doc>),
    /// `[item, separator, item, separator, item]`: a separator breaks only
    /// when the item after it does not fit on the line.
    Fill(Vec<Doc>),
    /// A comment printed at the end of the current line, whatever follows.
    Suffix(String),
}

/// Text.
pub(super) fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}

/// Docs one after the other.
pub(super) fn concat(docs: Vec<Doc>) -> Doc {
    Doc::Concat(docs)
}

/// Indents the lines broken inside `doc`.
pub(super) fn nest(doc: Doc) -> Doc {
    Doc::Nest(Box::new(doc))
}

/// A group, forced to break when it holds a hard line or a comment.
pub(super) fn group(doc: Doc) -> Doc {
    let forced = doc.forces_break();
    Doc::Group(forced, Box::new(doc))
}

impl Doc {
    /// Holds a hard line break or a comment that must end its line.
    pub(super) fn forces_break(&self) -> bool {
        match self {
            Doc::HardLine | Doc::Suffix(_) => true,
            Doc::Group(forced, _) => *forced,
            Doc::Concat(docs) | Doc::Fill(docs) => docs.iter().any(Doc::forces_break),
            Doc::Nest(doc) => doc.forces_break(),
            Doc::Text(_) | Doc::Line | Doc::SoftLine | Doc::IfBreak(_) => false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

/// A pending piece of work: a doc, or the rest of a fill.
#[derive(Clone, Copy)]
enum Part<'a> {
    Doc(&'a Doc),
    Fill(&'a [Doc]),
}

#[derive(Clone, Copy)]
struct Cmd<'a> {
    indent: usize,
    mode: Mode,
    part: Part<'a>,
}

/// One output line: code, and the comment that ends it.
struct OutLine {
    code: String,
    comment: Option<String>,
}

struct Renderer {
    lines: Vec<OutLine>,
    current: String,
    column: usize,
    suffixes: Vec<String>,
}

impl Renderer {
    fn push_text(&mut self, s: &str) {
        self.current.push_str(s);
        self.column += s.chars().count();
    }

    /// Ends the current line (with its pending comment) and starts one
    /// indented by `indent`.
    fn newline(&mut self, indent: usize) {
        self.finish_line();
        self.current = " ".repeat(indent);
        self.column = indent;
    }

    /// Only one comment can end a line: the last one pending does. The
    /// printer avoids more; should more be pending, they go on lines of
    /// their own above, indented like the line.
    fn finish_line(&mut self) {
        let code = self.current.trim_end().to_owned();
        let indent = " ".repeat(self.current.len() - self.current.trim_start().len());
        let comment = self.suffixes.pop();
        for extra in std::mem::take(&mut self.suffixes) {
            self.lines.push(OutLine {
                code: format!("{indent}{extra}"),
                comment: None,
            });
        }
        match comment {
            Some(c) if code.is_empty() => self.lines.push(OutLine {
                code: format!("{indent}{c}"),
                comment: None,
            }),
            comment => self.lines.push(OutLine { code, comment }),
        }
    }
}

/// `doc` laid out at the start of a line, when it takes one line within
/// [`WIDTH`] columns.
pub(super) fn one_line(doc: &Doc) -> Option<String> {
    match render(doc).as_slice() {
        [line] if line.chars().count() <= WIDTH => Some(line.clone()),
        _ => None,
    }
}

/// Lays `doc` out within [`WIDTH`] columns. Lines are joined with `\n`;
/// trailing comments on consecutive lines are aligned in one column.
pub(super) fn render(doc: &Doc) -> Vec<String> {
    let mut r = Renderer {
        lines: Vec::new(),
        current: String::new(),
        column: 0,
        suffixes: Vec::new(),
    };
    let mut stack = vec![Cmd {
        indent: 0,
        mode: Mode::Break,
        part: Part::Doc(doc),
    }];
    while let Some(cmd) = stack.pop() {
        let Cmd { indent, mode, part } = cmd;
        let doc = match part {
            Part::Doc(d) => d,
            Part::Fill(items) => {
                fill(&mut stack, &r, indent, items);
                continue;
            }
        };
        match doc {
            Doc::Text(s) => r.push_text(s),
            Doc::Line | Doc::SoftLine if mode == Mode::Flat => {
                if matches!(doc, Doc::Line) {
                    r.push_text(" ");
                }
            }
            Doc::Line | Doc::SoftLine | Doc::HardLine => r.newline(indent),
            Doc::IfBreak(s) => {
                if mode == Mode::Break {
                    r.push_text(s);
                }
            }
            Doc::Concat(docs) => {
                for d in docs.iter().rev() {
                    stack.push(Cmd {
                        indent,
                        mode,
                        part: Part::Doc(d),
                    });
                }
            }
            Doc::Nest(d) => stack.push(Cmd {
                indent: indent + INDENT,
                mode,
                part: Part::Doc(d),
            }),
            Doc::Group(forced, d) => {
                let mode = if *forced {
                    Mode::Break
                } else if mode == Mode::Flat {
                    Mode::Flat
                } else {
                    let flat = [Cmd {
                        indent,
                        mode: Mode::Flat,
                        part: Part::Doc(d),
                    }];
                    if fits(&flat, &stack, remaining(&r, 0)) {
                        Mode::Flat
                    } else {
                        Mode::Break
                    }
                };
                stack.push(Cmd {
                    indent,
                    mode,
                    part: Part::Doc(d),
                });
            }
            Doc::Fill(items) => stack.push(Cmd {
                indent,
                mode,
                part: Part::Fill(items),
            }),
            Doc::Suffix(s) => r.suffixes.push(s.clone()),
        }
    }
    if !r.current.trim().is_empty() || !r.suffixes.is_empty() {
        r.finish_line();
    }
    align_comments(r.lines)
}

/// Columns left on the current line, keeping `reserve` free.
fn remaining(r: &Renderer, reserve: usize) -> isize {
    let width = WIDTH as isize - r.column as isize - reserve as isize;
    width.max(0)
}

/// Schedules the next item of a fill and the separator after it: the
/// separator breaks when the item after it would not fit on the line.
fn fill<'a>(stack: &mut Vec<Cmd<'a>>, r: &Renderer, indent: usize, items: &'a [Doc]) {
    let cmd = |mode, doc: &'a Doc| Cmd {
        indent,
        mode,
        part: Part::Doc(doc),
    };
    // One column stays free for the comma that follows an item in a list.
    let width = remaining(r, 1);
    let Some(first) = items.first() else {
        return;
    };
    let mode_of = |fits: bool| if fits { Mode::Flat } else { Mode::Break };
    let first_fits = fits(&[cmd(Mode::Flat, first)], &[], width);
    match (items.get(1), items.get(2)) {
        (Some(sep), Some(next)) => {
            let pair = [
                cmd(Mode::Flat, next),
                cmd(Mode::Flat, sep),
                cmd(Mode::Flat, first),
            ];
            let pair_fits = fits(&pair, &[], width);
            stack.push(Cmd {
                indent,
                mode: Mode::Break,
                part: Part::Fill(items.get(2..).unwrap_or(&[])),
            });
            stack.push(cmd(mode_of(pair_fits), sep));
            stack.push(cmd(mode_of(first_fits), first));
        }
        (Some(sep), None) => {
            stack.push(cmd(Mode::Flat, sep));
            stack.push(cmd(mode_of(first_fits), first));
        }
        _ => stack.push(cmd(mode_of(first_fits), first)),
    }
}

/// Whether `next` (taken from its end), then `rest`, reach a line break
/// before running out of `width` columns.
fn fits(next: &[Cmd<'_>], rest: &[Cmd<'_>], mut width: isize) -> bool {
    let mut todo: Vec<Cmd<'_>> = next.to_vec();
    let mut rest = rest.iter().rev();
    loop {
        let cmd = match todo.pop() {
            Some(c) => c,
            None => match rest.next() {
                Some(c) => *c,
                None => return true,
            },
        };
        let Cmd { indent, mode, part } = cmd;
        let doc = match part {
            Part::Doc(d) => d,
            Part::Fill(items) => {
                for d in items.iter().rev() {
                    todo.push(Cmd {
                        indent,
                        mode,
                        part: Part::Doc(d),
                    });
                }
                continue;
            }
        };
        match doc {
            Doc::Text(s) => width -= s.chars().count() as isize,
            Doc::Line if mode == Mode::Flat => width -= 1,
            Doc::SoftLine if mode == Mode::Flat => {}
            Doc::Line | Doc::SoftLine | Doc::HardLine => return true,
            Doc::IfBreak(s) => {
                if mode == Mode::Break {
                    width -= s.chars().count() as isize;
                }
            }
            Doc::Concat(docs) | Doc::Fill(docs) => {
                for d in docs.iter().rev() {
                    todo.push(Cmd {
                        indent,
                        mode,
                        part: Part::Doc(d),
                    });
                }
            }
            Doc::Nest(d) => todo.push(Cmd {
                indent: indent + INDENT,
                mode,
                part: Part::Doc(d),
            }),
            Doc::Group(forced, d) => todo.push(Cmd {
                indent,
                mode: if *forced { Mode::Break } else { mode },
                part: Part::Doc(d),
            }),
            Doc::Suffix(_) => {}
        }
        if width < 0 {
            return false;
        }
    }
}

/// Trailing comments of neighbouring lines start in one column, two spaces
/// after the longest code among those lines. Neighbours are consecutive
/// lines with comments, at the same indentation, whose code lengths differ
/// by at most [`ALIGN_SPREAD`] columns: one long line does not push the
/// comments of short ones far to the right.
fn align_comments(lines: Vec<OutLine>) -> Vec<String> {
    let mut out = Vec::with_capacity(lines.len());
    let mut run: Vec<OutLine> = Vec::new();
    let mut widest = 0;
    let flush = |run: &mut Vec<OutLine>, out: &mut Vec<String>, widest: usize| {
        for l in run.drain(..) {
            let comment = l.comment.unwrap_or_default();
            let pad = widest.saturating_sub(l.code.chars().count()) + 2;
            out.push(format!("{}{}{comment}", l.code, " ".repeat(pad)));
        }
    };
    let indent = |s: &str| s.len() - s.trim_start().len();
    for line in lines {
        let width = line.code.chars().count();
        let joins = run.last().is_some_and(|last| {
            line.comment.is_some()
                && indent(&last.code) == indent(&line.code)
                && width.abs_diff(widest) <= ALIGN_SPREAD
        });
        if !joins {
            flush(&mut run, &mut out, widest);
            widest = 0;
        }
        if line.comment.is_some() {
            widest = widest.max(width);
            run.push(line);
        } else {
            out.push(line.code);
        }
    }
    flush(&mut run, &mut out, widest);
    out
}

/// How much longer or shorter a line's code may be than the longest of the
/// lines above it for their trailing comments to be aligned.
const ALIGN_SPREAD: usize = 40;

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: usize) -> Doc {
        let mut parts = Vec::new();
        for i in 0..n {
            if i > 0 {
                parts.push(concat(vec![text(","), Doc::Line]));
            }
            parts.push(text(format!("word{i:02}")));
        }
        Doc::Fill(parts)
    }

    #[test]
    fn a_group_that_fits_stays_on_one_line() {
        let d = group(concat(vec![
            text("a"),
            nest(concat(vec![Doc::Line, text("b")])),
        ]));
        assert_eq!(render(&d), ["a b"]);
    }

    #[test]
    fn a_group_that_does_not_fit_breaks_every_line() {
        let long = "x".repeat(60);
        let d = group(concat(vec![
            text(&long),
            nest(concat(vec![Doc::Line, text(&long), Doc::Line, text("y")])),
        ]));
        assert_eq!(
            render(&d),
            [long.clone(), format!("  {long}"), "  y".into()]
        );
    }

    #[test]
    fn a_fill_packs_lines() {
        let lines = render(&words(30));
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH));
        assert!(lines[0].ends_with(','));
    }

    #[test]
    fn a_comment_ends_its_line_and_comments_align() {
        let d = concat(vec![
            text("a"),
            Doc::Suffix("# one".into()),
            Doc::HardLine,
            text("abc"),
            Doc::Suffix("# two".into()),
            Doc::HardLine,
            text("d"),
        ]);
        assert_eq!(render(&d), ["a    # one", "abc  # two", "d"]);
    }

    #[test]
    fn only_one_comment_ends_a_line_the_others_go_above() {
        let d = nest(concat(vec![
            Doc::HardLine,
            text("abc"),
            Doc::Suffix("# two".into()),
            Doc::Suffix("# three".into()),
        ]));
        assert_eq!(render(&d), ["", "  # two", "  abc  # three"]);
    }

    #[test]
    fn a_long_line_does_not_push_the_comments_of_short_ones() {
        let long = "x".repeat(60);
        let d = concat(vec![
            text(&long),
            Doc::Suffix("# long".into()),
            Doc::HardLine,
            text("a"),
            Doc::Suffix("# short".into()),
        ]);
        assert_eq!(render(&d), [format!("{long}  # long"), "a  # short".into()]);
    }
}
