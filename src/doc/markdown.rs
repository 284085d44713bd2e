//! The document as GitHub-flavoured Markdown. Everything taken from the
//! policy is escaped, so a message with `*`, `|` or `<` reads as written
//! and never breaks a table.

use std::fmt::Write as _;

use super::document::{Block, Document, Table};
use super::inline::{Inline, Piece};

/// Renders the whole document, ending with one newline.
pub(crate) fn render(doc: &Document) -> String {
    let mut out = String::new();
    for b in &doc.blocks {
        block(&mut out, b);
    }
    let end = out.trim_end().len();
    out.truncate(end);
    out.push('\n');
    out
}

fn block(out: &mut String, b: &Block) {
    match b {
        Block::Heading { level, content, .. } => {
            let hashes = "#".repeat(usize::from((*level).clamp(1, 6)));
            let _ = writeln!(out, "{hashes} {}\n", inline(content, false));
        }
        Block::Paragraph(content) => {
            let _ = writeln!(out, "{}\n", line_start(&inline(content, false)));
        }
        Block::List(items) => {
            for item in items {
                let _ = writeln!(out, "- {}", line_start(&inline(item, false)));
            }
            out.push('\n');
        }
        Block::Table(t) => table(out, t),
        Block::Group(blocks) => {
            for b in blocks {
                block(out, b);
            }
        }
    }
}

fn table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "| {} |", t.header.join(" | "));
    let rule: Vec<&str> = t.header.iter().map(|_| "---").collect();
    let _ = writeln!(out, "| {} |", rule.join(" | "));
    for row in &t.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| {
                let s = inline(c, true);
                if s.is_empty() { " ".to_owned() } else { s }
            })
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// One run of text. In a table, `|` is escaped inside code spans too (GFM
/// splits cells before it reads code spans).
fn inline(content: &Inline, in_table: bool) -> String {
    let mut out = String::new();
    for p in &content.0 {
        match p {
            Piece::Text(s) => out.push_str(&escape(s)),
            Piece::Strong(s) if s.is_empty() => {}
            Piece::Strong(s) => {
                let _ = write!(out, "**{}**", escape(s));
            }
            Piece::Code(s) => out.push_str(&code(s, in_table)),
            Piece::Link { text, anchor } => {
                let _ = write!(out, "[{}](#{})", escape(text), escape(anchor));
            }
        }
    }
    out
}

/// Backslash-escapes every character Markdown could read as markup; line
/// breaks and tabs become spaces (a table row is one line).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' | '&' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span whose fence is longer than any run of backticks inside.
fn code(s: &str, in_table: bool) -> String {
    let mut text: String = s
        .chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    if text.trim().is_empty() {
        return format!("\"{}\"", escape(&text));
    }
    if in_table {
        text = text.replace('|', "\\|");
    }
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || text.starts_with(' ') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A line must not start a list, a code block or a numbered item by
/// accident: `- x`, `+ x` and `1. x` from a policy's text stay text.
fn line_start(s: &str) -> String {
    let s = s.trim_start();
    if s.starts_with(['-', '+']) {
        return format!("\\{s}");
    }
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        match s.split_at_checked(digits) {
            Some((number, rest)) if rest.starts_with(['.', ')']) => {
                return format!("{number}\\{rest}");
            }
            _ => {}
        }
    }
    s.to_owned()
}
