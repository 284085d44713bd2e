//! AST + comments -> canonical text: the `gatehouse fmt` layout.
//!
//! One layout for every policy, so that a diff between two versions shows
//! what changed in the policy and nothing else.
//!
//! # Layout
//!
//! - Declarations stay in source order. Where the source has blank lines
//!   between two declarations (or comments), one blank line is kept; inside
//!   `schema` and `tier` blocks likewise. Nowhere else.
//! - The header: `policy "NAME" version "V"`, then `combine` and
//!   `description` each on a line of its own, indented.
//! - `schema {`, one attribute per line as `path: type`, `}`; a schema of
//!   one attribute and no comment is `schema { path: type }` when it fits.
//! - `evidence { a, b, c }` and `enum { a, b }` on one line when they fit in
//!   100 columns and hold no comment; otherwise the names go on indented
//!   lines, as many per line as fit, each line ending with a comma.
//! - One `role` and one `reason` per line. A role too long for one line gets
//!   its `limit` and `escalate to` on indented lines of their own.
//! - `tier N "NAME" {`, one clause per line, `}`. The clause keywords are
//!   padded to the longest one-word keyword in that tier, so the values line
//!   up (`outcome  dual` next to `evidence diff`). A tier whose only
//!   clause is its outcome, with no comment inside, is one line when it
//!   fits: `tier 0 "none" { outcome auto }`.
//! - `rule NAME "DESCRIPTION"`, then `when`, each `unless`, `then` and
//!   `because` on indented lines of their own. A rule of only `when` and
//!   `then` (no description, `unless`, `because` or comment) is one line
//!   when it fits: `rule r when a > 1 then explicit`.
//! - `default ... because ...` on one line when it fits.
//! - Conditions carry the fewest parentheses that keep their meaning. A
//!   condition too long for its line breaks before each `and`/`or` of its
//!   outermost list, continuation lines indented one more level; a nested
//!   list breaks the same way only if it is itself too long.
//! - Two spaces per indentation level; lines stay within 100 columns where
//!   the words allow.
//! - Numbers are written as the shortest decimal with their whole part
//!   grouped by `_` from five digits on (`1000`, `10_000`, `0.7`); durations
//!   in conditions as `1d2h30m`; a tier's `timeout` exactly as written,
//!   because decisions show it as written. Strings are re-escaped (`\"`,
//!   `\\`, `\n`, `\t`). `escalate to` is always written out; a raise keeps the form it was
//!   written in, `at least explicit` or the bare `explicit` (they mean the
//!   same; a tree built without source text prints the bare form).
//! - The line ending (`\n` or `\r\n`, from the file's first line) and a
//!   leading byte-order mark are kept as they are.
//!
//! # Comments
//!
//! The parser drops comments; the `comments` module recovers them from the source
//! text. Each place in the layout where a comment can go takes the pending
//! comments that come before it in the source, and whatever is still pending
//! at the end of the file is printed there: every comment is printed exactly
//! once, with its text as written (trailing spaces removed). A comment never
//! moves into another declaration.
//!
//! - A comment on a line of its own stays on a line of its own, before the
//!   next item at its level: a declaration, a schema attribute, a tier
//!   clause, a name of an `evidence`/`enum` list, a part of a rule (`when`,
//!   `unless`, `then`, `because`), of a role (`limit`, `escalate to`) or of
//!   the header, a consequence or reason code, an operand of `and`/`or`.
//!   Before a closing `}` it stays inside the block, after the last
//!   declaration at the end of the file.
//! - A comment at the end of a line stays at the end of the line of the item
//!   that ends there. Such comments on neighbouring lines (same indentation,
//!   similar length of code) are aligned in one column.
//! - A comment right after a word that starts a line in the canonical layout
//!   (`when`, `unless`, `then`, `because`, `and`, `or`, `combine`,
//!   `description`, also after a `not` or `(` that opens a condition) moves
//!   to a line of its own above that line.
//! - In a condition, a comment keeps the `and`/`or` list it sits in, and the
//!   lists around it, broken one operand per line: code cannot follow a
//!   comment on its line.
//! - A comment inside something printed on one line (a `[...]` list, a role's
//!   name and title, an attribute's type, a tier clause, a consequence)
//!   moves out of it: to the end of its line when it ended a line, else
//!   above it (or above the next line, for lists and consequences).
//! - Only one comment can end a line. Where two would (two lines joined),
//!   the earlier one goes on a line of its own above.

mod comments;
mod diff;
mod doc;
mod expr;
mod printer;

use std::sync::Arc;

pub use diff::unified_diff;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::SourceFile;
use crate::syntax::ast::File;

/// Formats one policy file in the canonical layout, keeping its comments.
///
/// Fails with the parser's diagnostics when the text does not parse. The
/// result is checked before it is returned: it must parse to the same tree
/// (spans aside) and hold the same comments, or an internal error is
/// reported instead, so a formatter bug can never change a policy.
pub fn format_source(source: &Arc<SourceFile>) -> Result<String, Diagnostics> {
    let file = super::parse(source)?;
    let formatted = format_file(&file);
    let again = SourceFile::new(source.name.clone(), formatted.clone());
    let same_tree = super::parse(&again).is_ok_and(|f| f.declarations == file.declarations);
    if !same_tree || comment_texts(&source.text) != comment_texts(&formatted) {
        return Err(Diagnostic::without_span(
            Code::Syntax,
            format!(
                "internal formatter error: the formatted `{}` would not keep its meaning or comments",
                source.name
            ),
            "this is a bug in gatehouse; please report it with this file (the file was left as it is)",
        )
        .into());
    }
    Ok(formatted)
}

/// Prints a parsed file in the canonical layout, with the comments of the
/// source it was parsed from (a tree built by hand, over an empty source,
/// prints without comments).
pub fn format_file(file: &File) -> String {
    let source = file.source.text.as_str();
    let trivia = comments::Trivia::scan(source);
    let mut printer = printer::Printer {
        trivia: &trivia,
        cursor: comments::Cursor::new(trivia.comments().to_vec()),
    };
    let doc = printer.file(file, source.len());
    let lines = doc::render(&doc);
    let mut out = String::new();
    if source.starts_with('\u{FEFF}') {
        out.push('\u{FEFF}');
    }
    let newline = match source.find('\n') {
        Some(i) if source.get(..i).is_some_and(|l| l.ends_with('\r')) => "\r\n",
        _ => "\n",
    };
    for line in lines {
        out.push_str(&line);
        out.push_str(newline);
    }
    out
}

/// The text of every comment in `text`, sorted (trailing whitespace
/// removed). Formatting keeps this list as it is; the order of comments may
/// change where one had to move out of an item.
pub fn comment_texts(text: &str) -> Vec<String> {
    let mut texts: Vec<String> = comments::Trivia::scan(text)
        .comments()
        .iter()
        .map(|c| c.text.clone())
        .collect();
    texts.sort();
    texts
}
