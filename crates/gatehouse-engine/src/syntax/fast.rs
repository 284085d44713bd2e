//! A fast path for the commonest declarations of large policies, in front of
//! pest (the grammar of record, `grammar/gate.pest`).
//!
//! A generated policy of ten thousand rules is mostly `reason CODE "text"`
//! and `rule name when path == "value" then tier N because CODE`; pest spent
//! three quarters of compiling one on them (docs/performance.md). This
//! module reads those two shapes by hand and hands every other stretch of
//! text to pest, region by region:
//!
//! - [`declaration`] reads one declaration of a shape it knows at a
//!   declaration boundary, or answers `None` whenever it is not sure (an
//!   escape in a string, an `and`, a list, a large number, anything else).
//!   What it builds is what pest's parse and `parser::Ctx` build for the
//!   same text, spans included (pest's spans run past trailing whitespace
//!   and comments in exactly the places reproduced here); the property tests
//!   in `syntax::fast_tests` compare the two.
//! - The text between fast declarations is parsed by pest as a file of its
//!   own (`parser::parse_region`). A region ends only where a line starts
//!   with the keyword `rule` or `reason`: a line start is never inside a
//!   string or a comment, and no declaration of the grammar can go on with
//!   either keyword (every optional tail starts with another keyword, a
//!   comma, a quote or a brace), so when a region parses cleanly its
//!   declarations are the ones pest finds in the whole file.
//! - If any region does not parse cleanly (a syntax error, an invalid
//!   literal), the whole file is parsed again by pest alone, so every
//!   diagnostic is exactly the one pest gives for the whole file.

use std::sync::Arc;

use super::ast::{
    CmpOp, Consequence, Declaration, Expr, ExprKind, File, Ident, Literal, LiteralValue, Operand,
    Predicate, ReasonDecl, Rule, Test, Text,
};
use super::parser;
use crate::limits::MAX_STRING_BYTES;
use crate::source::{SourceFile, Span};
use crate::values::Decimal;

/// Parses a file through the fast path and pest regions; `None` when a
/// region does not parse cleanly (the caller then parses the whole file
/// with pest for its diagnostics).
pub(super) fn parse(source: &Arc<SourceFile>) -> Option<File> {
    let text = source.text.as_str();
    let mut declarations = Vec::new();
    let mut pos = skip(text, 0);
    // The start of the text not yet parsed, by either path.
    let mut pending = pos;
    while pos < text.len() {
        if let Some((d, end)) = declaration(text, pos) {
            if pending < pos {
                parser::parse_region(source, pending, pos, &mut declarations)?;
            }
            declarations.push(d);
            pos = end;
            pending = end;
            continue;
        }
        pos = next_boundary(text, pos);
    }
    if pending < text.len() {
        parser::parse_region(source, pending, text.len(), &mut declarations)?;
    }
    Some(File {
        source: Arc::clone(source),
        declarations,
    })
}

/// The next line start after `pos` that begins with the keyword `rule` or
/// `reason`, or the end of the text.
fn next_boundary(text: &str, pos: usize) -> usize {
    let bytes = text.as_bytes();
    let mut from = pos;
    while let Some(nl) = bytes
        .get(from..)
        .and_then(|b| b.iter().position(|&c| c == b'\n'))
    {
        let line = from + nl + 1;
        if keyword(bytes, line, b"rule").is_some() || keyword(bytes, line, b"reason").is_some() {
            return line;
        }
        from = line;
    }
    text.len()
}

/// `ident_char` of the grammar.
fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// The position after the keyword `word` at `pos` when it is there and not
/// followed by an identifier character (the grammar's `k_*` rules).
fn keyword(bytes: &[u8], pos: usize, word: &[u8]) -> Option<usize> {
    let end = pos + word.len();
    (bytes.get(pos..end)? == word && !bytes.get(end).copied().is_some_and(is_ident_char))
        .then_some(end)
}

/// pest's implicit `(WHITESPACE | COMMENT)*` from `pos`.
fn skip(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    loop {
        match bytes.get(pos) {
            Some(b' ' | b'\t' | b'\r' | b'\n') => pos += 1,
            Some(b'#') => {
                pos += bytes
                    .get(pos..)
                    .and_then(|b| b.iter().position(|&c| c == b'\n'))
                    .unwrap_or(bytes.len() - pos);
            }
            // U+FEFF, the byte order mark, is whitespace in the grammar.
            Some(0xEF) if bytes.get(pos..pos + 3) == Some(&[0xEF, 0xBB, 0xBF][..]) => pos += 3,
            _ => return pos,
        }
    }
}

/// One declaration of a shape the fast path knows, starting at `pos` (a
/// declaration boundary): the declaration and the position after it and
/// the whitespace and comments that follow. `None` when not sure.
pub(super) fn declaration(text: &str, pos: usize) -> Option<(Declaration, usize)> {
    let bytes = text.as_bytes();
    if let Some(after) = keyword(bytes, pos, b"reason") {
        return reason(text, pos, after);
    }
    let after = keyword(bytes, pos, b"rule")?;
    rule(text, pos, after)
}

/// `reason CODE "message"`: its span ends at the closing quote.
fn reason(text: &str, start: usize, after_keyword: usize) -> Option<(Declaration, usize)> {
    let at = skip(text, after_keyword);
    let code = reason_code(text, at)?;
    let at = skip(text, code.span.end);
    let message = string(text, at)?;
    let span = Span {
        start,
        end: message.span.end,
    };
    let end = skip(text, span.end);
    let decl = Declaration::Reason(ReasonDecl {
        code,
        message,
        span,
    });
    Some((decl, end))
}

/// `rule name ["description"] when path OP operand then tier N [because
/// CODE]`. pest ends the rule's span after the whitespace that follows its
/// last token (the tails `("," ~ x)*` of `consequences` and `because` are
/// preceded by an implicit skip that stays when they match nothing).
fn rule(text: &str, start: usize, after_keyword: usize) -> Option<(Declaration, usize)> {
    let bytes = text.as_bytes();
    let at = skip(text, after_keyword);
    let name = ident(text, at)?;
    let mut at = skip(text, name.span.end);
    let mut description = None;
    if bytes.get(at) == Some(&b'"') {
        let d = string(text, at)?;
        at = skip(text, d.span.end);
        description = Some(d);
    }
    let at = skip(text, keyword(bytes, at, b"when")?);
    let (when, after_when) = predicate(text, at)?;
    let at = skip(text, after_when);
    let at = skip(text, keyword(bytes, at, b"then")?);
    let tier_end = keyword(bytes, at, b"tier")?;
    let n_start = skip(text, tier_end);
    let n_end = digits_end(bytes, n_start);
    if n_end == n_start || bytes.get(n_end).copied().is_some_and(is_ident_char) {
        return None;
    }
    let n: u32 = text.get(n_start..n_end)?.parse().ok()?;
    let tier = Consequence::Tier(
        n,
        Span {
            start: at,
            end: n_end,
        },
    );
    let mut end = skip(text, n_end);
    let mut because = Vec::new();
    if let Some(after) = keyword(bytes, end, b"because") {
        let code = reason_code(text, skip(text, after))?;
        end = skip(text, code.span.end);
        because.push(code);
    }
    // A comma would continue the consequences or the reason codes: pest's
    // spans differ there, so pest reads it.
    if bytes.get(end) == Some(&b',') {
        return None;
    }
    let decl = Declaration::Rule(Rule {
        name,
        description,
        when,
        unless: Vec::new(),
        consequences: vec![tier],
        because,
        span: Span { start, end },
    });
    Some((decl, end))
}

/// `path OP operand`: the expression and the position after the operand.
/// The condition must end there: `and`, `or`, `unless` or anything but
/// `then` after it is left to pest (checked by the caller's `then`).
fn predicate(text: &str, start: usize) -> Option<(Expr, usize)> {
    let bytes = text.as_bytes();
    let attribute = attr(text, start)?;
    let at = skip(text, attribute.span.end);
    let two = bytes.get(at..at + 2);
    let (op, len) = match two {
        Some(b"==") => (CmpOp::Eq, 2),
        Some(b"!=") => (CmpOp::Ne, 2),
        Some(b"<=") => (CmpOp::Le, 2),
        Some(b">=") => (CmpOp::Ge, 2),
        _ => match bytes.get(at) {
            Some(b'<') => (CmpOp::Lt, 1),
            Some(b'>') => (CmpOp::Gt, 1),
            _ => return None,
        },
    };
    let at = skip(text, at + len);
    let (operand, end) = operand(text, at)?;
    let expr = Expr {
        kind: ExprKind::Predicate(Predicate {
            attribute,
            test: Some(Test::Compare(op, operand)),
        }),
        span: Span { start, end },
    };
    Some((expr, end))
}

/// The right side of a comparison: a string without escapes, a whole
/// number, or a name (`operand = string | duration | number | boolean |
/// attr` in the grammar; durations, decimals and booleans go to pest).
fn operand(text: &str, at: usize) -> Option<(Operand, usize)> {
    let bytes = text.as_bytes();
    match bytes.get(at).copied()? {
        b'"' => {
            let s = string(text, at)?;
            let end = s.span.end;
            let literal = Literal {
                value: LiteralValue::String(s.value),
                span: s.span,
            };
            Some((Operand::Literal(literal), end))
        }
        b'-' | b'0'..=b'9' => {
            let digits = usize::from(bytes.get(at) == Some(&b'-'));
            let end = digits_end(bytes, at + digits);
            // A unit (a duration), `_`, `.` or a letter after the digits:
            // pest decides.
            if end == at + digits
                || bytes
                    .get(end)
                    .copied()
                    .is_some_and(|c| is_ident_char(c) || c == b'.')
            {
                return None;
            }
            let value = Decimal::parse(text.get(at..end)?).ok()?;
            if !value.is_exact() {
                return None;
            }
            let literal = Literal {
                value: LiteralValue::Number(value),
                span: Span { start: at, end },
            };
            Some((Operand::Literal(literal), end))
        }
        _ => {
            let name = attr(text, at)?;
            // `true` and `false` are booleans, not names.
            if name.name == "true" || name.name == "false" {
                return None;
            }
            let end = name.span.end;
            Some((Operand::Name(name), end))
        }
    }
}

/// The words an attribute path may not start with (`expr_keyword`).
const EXPR_KEYWORDS: [&str; 15] = [
    "and",
    "or",
    "not",
    "unless",
    "then",
    "when",
    "in",
    "contains",
    "matches",
    "starts_with",
    "ends_with",
    "exists",
    "missing",
    "true",
    "false",
];

/// `attr = !expr_keyword ~ path`, `path = ident ~ ("." ~ ident)*`.
fn attr(text: &str, start: usize) -> Option<Ident> {
    let bytes = text.as_bytes();
    let first = ident(text, start)?;
    if EXPR_KEYWORDS.contains(&first.name.as_str()) {
        return None;
    }
    let mut end = first.span.end;
    while bytes.get(end) == Some(&b'.') {
        match ident_end(bytes, end + 1) {
            Some(e) => end = e,
            None => break,
        }
    }
    Some(Ident {
        name: text.get(start..end)?.to_owned(),
        span: Span { start, end },
    })
}

/// `ident = (ASCII_ALPHA | "_") ~ ident_char*`.
fn ident(text: &str, start: usize) -> Option<Ident> {
    let end = ident_end(text.as_bytes(), start)?;
    Some(Ident {
        name: text.get(start..end)?.to_owned(),
        span: Span { start, end },
    })
}

fn ident_end(bytes: &[u8], start: usize) -> Option<usize> {
    let first = *bytes.get(start)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let rest = bytes.get(start + 1..)?;
    Some(start + 1 + rest.iter().take_while(|&&c| is_ident_char(c)).count())
}

fn digits_end(bytes: &[u8], start: usize) -> usize {
    start
        + bytes
            .get(start..)
            .map_or(0, |b| b.iter().take_while(|c| c.is_ascii_digit()).count())
}

/// `reason_code = ASCII_ALPHA_UPPER ~ (ASCII_ALPHA_UPPER | ASCII_DIGIT |
/// "_")* ~ !ident_char`.
fn reason_code(text: &str, start: usize) -> Option<Ident> {
    let bytes = text.as_bytes();
    if !bytes.get(start)?.is_ascii_uppercase() {
        return None;
    }
    let end = start
        + bytes
            .get(start..)?
            .iter()
            .take_while(|&&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
            .count();
    if bytes.get(end).copied().is_some_and(is_ident_char) {
        return None;
    }
    Some(Ident {
        name: text.get(start..end)?.to_owned(),
        span: Span { start, end },
    })
}

/// A string literal without escapes, within [`MAX_STRING_BYTES`]; strings
/// with escapes or over the limit go to pest (which unescapes and reports).
fn string(text: &str, start: usize) -> Option<Text> {
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&b'"') {
        return None;
    }
    let body_start = start + 1;
    let len = bytes
        .get(body_start..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c == b'\n')?;
    let close = body_start + len;
    if bytes.get(close) != Some(&b'"') || len > MAX_STRING_BYTES {
        return None;
    }
    Some(Text {
        value: text.get(body_start..close)?.to_owned(),
        span: Span {
            start,
            end: close + 1,
        },
    })
}
