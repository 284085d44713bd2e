//! Conditions and literals.
//!
//! A condition is printed with the fewest parentheses that parse back to the
//! same tree: `not` binds tighter than `and`, `and` tighter than `or`, so an
//! `or` inside an `and` (or inside `not`) gets parentheses and an `and`
//! inside an `or` does not. A list of the same operator inside another
//! (`(a and b) and c`) keeps its parentheses: the tree has two nodes there.
//!
//! An `and`/`or` list stays on one line when it fits; otherwise it breaks
//! before every `and`/`or` of that list, the continuation lines indented one
//! level deeper than the line the list starts on.

use super::doc::{Doc, concat, group, nest, text};
use super::printer::{Printer, line_end, own_lines, quote, suffixes};
use crate::syntax::ast::*;
use crate::values::{Decimal, format_duration};

/// What a condition stands inside, for deciding on parentheses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    And,
    Or,
    Not,
}

/// Where the first test of a condition starts: comments before it (after a
/// `not` or `(` too) belong above the line the condition starts on.
pub(super) fn first_test_start(e: &Expr) -> usize {
    match &e.kind {
        ExprKind::Predicate(_) => e.span.start,
        ExprKind::Not(inner) => first_test_start(inner),
        ExprKind::And(parts) | ExprKind::Or(parts) => {
            parts.first().map_or(e.span.start, first_test_start)
        }
    }
}

impl Printer<'_> {
    /// A condition after `when`, `unless` or `require`. The caller has
    /// placed the comments before [`first_test_start`].
    pub(super) fn condition(&mut self, e: &Expr) -> Doc {
        self.expr(e)
    }

    fn expr(&mut self, e: &Expr) -> Doc {
        match &e.kind {
            ExprKind::Predicate(p) => {
                // Normally none left: every comment before a test was placed
                // above its line. Any other goes to the end of the line.
                let before = self.cursor.before(e.span.start);
                concat(vec![suffixes(before), predicate(p)])
            }
            ExprKind::Not(inner) => concat(vec![text("not "), self.operand(inner, Parent::Not)]),
            ExprKind::And(parts) => self.list(parts, Parent::And),
            ExprKind::Or(parts) => self.list(parts, Parent::Or),
        }
    }

    /// `a and b and c` (or `or`): one group, broken before each operator.
    /// A comment on a line of its own before an operand stays on a line of
    /// its own above it; a comment ending an operand's line stays there.
    fn list(&mut self, parts: &[Expr], parent: Parent) -> Doc {
        let keyword = if parent == Parent::And { "and " } else { "or " };
        let mut first = Vec::new();
        let mut rest = Vec::new();
        // Comments ending the previous operand's line beyond the one that
        // stays there: they go above this operand.
        let mut extra = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let out = if i == 0 { &mut first } else { &mut rest };
            if i > 0 {
                out.push(Doc::Line);
                out.extend(own_lines(std::mem::take(&mut extra)));
                out.extend(own_lines(self.cursor.before(first_test_start(part))));
                out.push(text(keyword));
            }
            let operand = self.operand(part, parent);
            if i == 0 {
                // Its own continuation lines go deeper than this list's.
                out.push(nest(operand));
            } else {
                out.push(operand);
            }
            if let Some(next) = parts.get(i + 1) {
                let operator = self.keyword_before(next.span.start, keyword.trim_end());
                let (above, suffix) = line_end(self.cursor.trailing(operator));
                extra = above;
                out.push(suffix);
            }
        }
        first.push(nest(concat(rest)));
        group(concat(first))
    }

    /// An operand of `and`, `or` or `not`, in parentheses where the tree
    /// needs them.
    fn operand(&mut self, e: &Expr, parent: Parent) -> Doc {
        let parens = match (&e.kind, parent) {
            (ExprKind::Predicate(_) | ExprKind::Not(_), _) => false,
            (ExprKind::And(_), Parent::Or) => false,
            (ExprKind::And(_) | ExprKind::Or(_), _) => true,
        };
        let doc = self.expr(e);
        if parens {
            concat(vec![text("("), doc, text(")")])
        } else {
            doc
        }
    }
}

/// One test on one attribute.
fn predicate(p: &Predicate) -> Doc {
    let attr = p.attribute.name.as_str();
    let Some(test) = &p.test else {
        return text(attr);
    };
    let (op, rhs) = match test {
        Test::Compare(op, Operand::Literal(l)) => (op.as_str(), text(literal(&l.value))),
        Test::Compare(op, Operand::Name(n)) => (op.as_str(), text(n.name.clone())),
        Test::In(items, _) => ("in", list(items)),
        Test::NotIn(items, _) => ("not in", list(items)),
        Test::Contains(l) => ("contains", text(literal(&l.value))),
        Test::ContainsAny(items, _) => ("contains any", list(items)),
        Test::ContainsAll(items, _) => ("contains all", list(items)),
        Test::Matches(t) => ("matches", text(quote(&t.value))),
        Test::StartsWith(t) => ("starts_with", text(quote(&t.value))),
        Test::EndsWith(t) => ("ends_with", text(quote(&t.value))),
        Test::Exists => return text(format!("{attr} exists")),
        Test::Missing => return text(format!("{attr} missing")),
    };
    concat(vec![text(format!("{attr} {op} ")), rhs])
}

/// `[a, b, c]`, wrapped inside the brackets when too long.
fn list(items: &[Literal]) -> Doc {
    if items.is_empty() {
        return text("[]");
    }
    let mut parts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            parts.push(concat(vec![text(","), Doc::Line]));
        }
        parts.push(text(literal(&item.value)));
    }
    group(concat(vec![
        text("["),
        nest(concat(vec![
            Doc::SoftLine,
            Doc::Fill(parts),
            Doc::IfBreak(","),
        ])),
        Doc::SoftLine,
        text("]"),
    ]))
}

/// A literal in its canonical spelling.
fn literal(v: &LiteralValue) -> String {
    match v {
        LiteralValue::String(s) => quote(s),
        LiteralValue::Number(n) => number(n),
        LiteralValue::Duration(seconds) => format_duration(*seconds),
        LiteralValue::Bool(b) => b.to_string(),
        LiteralValue::Name(n) => n.clone(),
    }
}

/// A number as the shortest plain decimal, its whole part grouped in
/// thousands with `_` from five digits on: `1000`, `10_000`, `-1_250_000.5`.
pub(super) fn number(d: &Decimal) -> String {
    let plain = d.to_string();
    let (sign, unsigned) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let mut out = String::from(sign);
    if whole.len() >= 5 {
        let digits: Vec<char> = whole.chars().collect();
        for (i, c) in digits.iter().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push('_');
            }
            out.push(*c);
        }
    } else {
        out.push_str(whole);
    }
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_thousands_from_five_digits() {
        let n = |s: &str| number(&Decimal::parse(s).unwrap());
        assert_eq!(n("1000"), "1000");
        assert_eq!(n("10000"), "10_000");
        assert_eq!(n("1_000_000.50"), "1_000_000.5");
        assert_eq!(n("-123456"), "-123_456");
        assert_eq!(n("0.000000000000000001"), "0.000000000000000001");
        assert_eq!(n("-0"), "0");
        assert_eq!(n("100000000000000000000"), "100_000_000_000_000_000_000");
    }
}
