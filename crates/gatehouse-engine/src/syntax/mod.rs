//! Text -> syntax tree. The grammar lives in `grammar/gate.pest`.

pub mod ast;
mod fast;
pub mod format;
mod parser;

use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{SourceFile, Span};

use crate::limits::MAX_FILE_BYTES;
pub use crate::limits::MAX_NESTING;

/// Parses one file into its syntax tree, or reports why it cannot. Files
/// over [`MAX_FILE_BYTES`] and conditions nested deeper than
/// [`MAX_NESTING`] are refused (E0005) before pest sees them.
///
/// The commonest declarations of large policies are read by a fast path
/// and the rest by pest, region by region; a file that does not parse
/// cleanly that way is parsed again by pest alone, so its diagnostics are
/// pest's (see `fast`).
pub fn parse(source: &Arc<SourceFile>) -> Result<ast::File, Diagnostics> {
    check_size(source)?;
    check_nesting(source)?;
    match fast::parse(source) {
        Some(file) => Ok(file),
        None => parser::parse(source),
    }
}

/// Refuses a file over [`MAX_FILE_BYTES`], pointing at the first byte past
/// the limit.
fn check_size(source: &Arc<SourceFile>) -> Result<(), Diagnostics> {
    let len = source.text.len();
    if len <= MAX_FILE_BYTES {
        return Ok(());
    }
    let mut at = MAX_FILE_BYTES;
    while !source.text.is_char_boundary(at) {
        at -= 1;
    }
    Err(Diagnostics::from(Diagnostic::new(
        Code::LimitExceeded,
        source,
        Span { start: at, end: at },
        format!("the file is {len} bytes; the limit is {MAX_FILE_BYTES}"),
        "the limit is reached here",
        "split the policy into several files of one set (a directory of `.gate` files)",
    )))
}

/// Refuses text nested deeper than [`MAX_NESTING`] before pest sees it.
fn check_nesting(source: &Arc<SourceFile>) -> Result<(), Diagnostics> {
    let text = source.text.as_bytes();
    let mut depth = 0usize;
    let mut nots = 0usize;
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'"' => {
                // skip the string, honouring escapes
                i += 1;
                while let Some(&c) = text.get(i) {
                    if c == b'\\' {
                        i += 1;
                    } else if c == b'"' || c == b'\n' {
                        break;
                    }
                    i += 1;
                }
            }
            b'#' => {
                while text.get(i).is_some_and(|c| *c != b'\n') {
                    i += 1;
                }
            }
            b'(' => {
                depth += 1;
                nots = 0;
                too_deep(source, depth + nots, i)?;
            }
            b')' => depth = depth.saturating_sub(1),
            b'n' if text.get(i..i + 3) == Some(b"not")
                && !text
                    .get(i + 3)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                && !(i > 0
                    && text.get(i - 1).is_some_and(|c| {
                        c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.'
                    })) =>
            {
                nots += 1;
                i += 2;
                too_deep(source, depth + nots, i)?;
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => nots = 0,
        }
        // Only the two arms above raise `depth + nots`, so they alone can
        // cross the limit; the others need no check.
        i += 1;
    }
    Ok(())
}

/// Refuses nesting `level` deep, reported at byte `at`.
fn too_deep(source: &Arc<SourceFile>, level: usize, at: usize) -> Result<(), Diagnostics> {
    if level <= MAX_NESTING {
        return Ok(());
    }
    Err(Diagnostics::from(Diagnostic::new(
        Code::LimitExceeded,
        source,
        Span {
            start: at,
            end: at + 1,
        },
        format!("conditions nested more than {MAX_NESTING} levels deep"),
        "too deep",
        "split the condition into several rules, or use `in [..]` and `and`/`or` lists instead of nesting",
    )))
}

#[cfg(test)]
mod fast_tests;
#[cfg(test)]
mod tests;
