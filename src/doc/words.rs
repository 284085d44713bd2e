//! Conditions in plain words: `action.amount > 1000 and action.type in
//! [refund, pay]` reads "the action amount is more than 1000 and the action
//! type is `refund` or `pay`".
//!
//! An attribute reads as its whole path with the dots and underscores made
//! spaces (`action.data_classes` is "the action data classes"): the whole
//! path, so that `requester.id` and `agent.id` never read the same. A bool
//! attribute reads as a statement about everything before its last part:
//! `change_window.open` is "the change window is open". Where two paths
//! would read the same (`a.b_c` and `a.b-c`), both are shown as written.
//!
//! Every test on an absent attribute is false, except `missing`. So
//! `not x == v` also holds when `x` is absent, and its wording says so
//! ("... (or not given)") for optional attributes; a required attribute is
//! never absent from a valid input.
//!
//! Total: any [`Cond`] gets words, including ones no checker would produce
//! (an empty `and`, an attribute index out of range).

use super::inline::Inline;
use crate::check::{AttrId, Cond, Operand, PolicySet, RoleLimit, Test, Type, Value};
use crate::syntax::ast::CmpOp;

/// Deeper than the parser allows (32); a hand-built tree past this is cut.
const MAX_DEPTH: usize = 64;

/// Puts one policy set's conditions into words.
pub(crate) struct Words<'a> {
    set: &'a PolicySet,
    /// Each attribute's noun (`the action amount`), or `None` when another
    /// attribute reads the same and the path must be shown instead.
    nouns: Vec<Option<String>>,
}

impl<'a> Words<'a> {
    /// Prepares the nouns of `set`'s attributes.
    pub(crate) fn new(set: &'a PolicySet) -> Words<'a> {
        let plain: Vec<String> = set
            .attributes
            .iter()
            .map(|a| format!("the {}", humanize(&a.segments)))
            .collect();
        let nouns = plain
            .iter()
            .map(|n| (plain.iter().filter(|m| *m == n).count() == 1).then(|| n.clone()))
            .collect();
        Words { set, nouns }
    }

    /// How an attribute reads: `the action amount`.
    pub(crate) fn noun(&self, a: AttrId) -> Inline {
        match (self.nouns.get(a), self.set.attributes.get(a)) {
            (Some(Some(noun)), _) => Inline::text(noun.clone()),
            (_, Some(def)) => Inline::code(def.path.clone()),
            (_, None) => Inline::text(format!("attribute #{a}")),
        }
    }

    /// How the attribute reads in conditions: its noun, or for a bool the
    /// statement that it is true (`the change window is open`).
    pub(crate) fn reading(&self, a: AttrId) -> Inline {
        match self.ty(a) {
            Some(Type::Bool) => self.statement(a, true),
            _ => self.noun(a),
        }
    }

    /// A condition in words.
    pub(crate) fn condition(&self, c: &Cond) -> Inline {
        self.cond(c, 0)
    }

    /// A role's limit: `the action amount at most 1000`.
    pub(crate) fn limit(&self, l: &RoleLimit) -> Inline {
        let bound = if l.inclusive { " at most " } else { " below " };
        self.noun(l.attribute).t(bound).t(l.value.to_string())
    }

    fn cond(&self, c: &Cond, depth: usize) -> Inline {
        if depth > MAX_DEPTH {
            return Inline::text("(a condition nested too deeply to put in words)");
        }
        match c {
            Cond::All(parts) => self.compound(parts, true, depth),
            Cond::Any(parts) => self.compound(parts, false, depth),
            Cond::Test(a, t) => self.test(*a, t, true),
            Cond::Not(inner) => match inner.as_ref() {
                Cond::Not(again) => self.cond(again, depth + 1),
                Cond::Test(a, t) => {
                    let mut words = self.test(*a, t, false);
                    let optional = self.set.attributes.get(*a).is_some_and(|d| d.optional);
                    if optional && !is_presence_test(t) {
                        words.push_text(" (or not given)");
                    }
                    words
                }
                compound => Inline::text("it is not the case that ").then(self.nested(
                    compound,
                    None,
                    depth + 1,
                )),
            },
        }
    }

    /// `a and b and c`; a nested `or` in parentheses.
    fn compound(&self, parts: &[Cond], all: bool, depth: usize) -> Inline {
        match parts {
            [] => Inline::text(if all { "always" } else { "never" }),
            [one] => self.cond(one, depth + 1),
            _ => Inline::join(
                parts.iter().map(|p| self.nested(p, Some(all), depth + 1)),
                if all { " and " } else { " or " },
            ),
        }
    }

    /// A part of a compound: parenthesized when it is itself a compound of
    /// another kind (`parent` is `Some(true)` inside an `and`).
    fn nested(&self, c: &Cond, parent: Option<bool>, depth: usize) -> Inline {
        let kind = match c {
            Cond::All(p) if p.len() > 1 => Some(true),
            Cond::Any(p) if p.len() > 1 => Some(false),
            _ => None,
        };
        let words = self.cond(c, depth);
        match kind {
            Some(k) if parent != Some(k) => Inline::text("(").then(words).t(")"),
            _ => words,
        }
    }

    fn ty(&self, a: AttrId) -> Option<&Type> {
        self.set.attributes.get(a).map(|d| &d.ty)
    }

    /// One test, or its negation when `positive` is false.
    fn test(&self, a: AttrId, t: &Test, positive: bool) -> Inline {
        let plural = matches!(self.ty(a), Some(Type::Set(_)));
        let is = if plural { " are" } else { " is" };
        let noun = self.noun(a);
        let pick = |yes: &str, no: &str| {
            if positive {
                yes.to_owned()
            } else {
                no.to_owned()
            }
        };
        match t {
            Test::IsTrue => self.statement(a, positive),
            Test::Exists => noun.t(is).t(pick(" given", " not given")),
            Test::Missing => noun.t(is).t(pick(" not given", " given")),
            Test::Compare(op @ (CmpOp::Eq | CmpOp::Ne), Operand::Value(Value::Bool(b)))
                if self.ty(a) == Some(&Type::Bool) =>
            {
                self.statement(a, positive == ((*op == CmpOp::Eq) == *b))
            }
            Test::Compare(op, rhs) => {
                let op = if positive { *op } else { negate(*op) };
                let timestamp = self.ty(a) == Some(&Type::Timestamp);
                let rhs = match rhs {
                    Operand::Value(v) => self.value(a, v),
                    Operand::Attribute(b) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                        Inline::text("the same as ").then(self.noun(*b))
                    }
                    Operand::Attribute(b) => self.noun(*b),
                };
                noun.t(is).t(comparison(op, timestamp)).then(rhs)
            }
            Test::In(values) if positive => self.one_of(a, noun, is, values),
            Test::In(values) => self.none_of(a, noun, is, values),
            Test::NotIn(values) if positive => self.none_of(a, noun, is, values),
            Test::NotIn(values) => self.one_of(a, noun, is, values),
            Test::Contains(v) => {
                let verb = match (plural, positive) {
                    (true, true) => " include ",
                    (true, false) => " do not include ",
                    (false, true) => " contains ",
                    (false, false) => " does not contain ",
                };
                noun.t(verb).then(self.value(a, v))
            }
            Test::ContainsAny(values) => match (values.as_slice(), positive) {
                ([], _) => noun.t(pick(
                    " include any of an empty list (never true)",
                    " include none of an empty list (always true)",
                )),
                ([one], _) => noun
                    .t(pick(" include ", " do not include "))
                    .then(self.value(a, one)),
                (_, _) => noun
                    .t(pick(" include any of ", " include none of "))
                    .then(self.values(a, values)),
            },
            Test::ContainsAll(values) => match values.as_slice() {
                [] => noun.t(is).t(pick(" given", " not given")),
                [one] => noun
                    .t(pick(" include ", " do not include "))
                    .then(self.value(a, one)),
                _ => noun
                    .t(pick(" include all of ", " do not include all of "))
                    .then(self.values(a, values)),
            },
            Test::Matches(re) => noun
                .t(if positive {
                    " matches"
                } else {
                    " does not match"
                })
                .t(format!(" the pattern {:?}", re.as_str())),
            Test::StartsWith(s) => noun
                .t(if positive {
                    " starts"
                } else {
                    " does not start"
                })
                .t(format!(" with {s:?}")),
            Test::EndsWith(s) => noun
                .t(if positive { " ends" } else { " does not end" })
                .t(format!(" with {s:?}")),
        }
    }

    /// A bool attribute as a statement: `the change window is open`,
    /// `request.is_test` is "the request is test"; a last part that starts
    /// with another verb (`has_`, `can_`, ...) reads "... is true".
    fn statement(&self, a: AttrId, positive: bool) -> Inline {
        let not = if positive { "" } else { "not " };
        let def = self.set.attributes.get(a);
        let unique = matches!(self.nouns.get(a), Some(Some(_)));
        let adjective = |last: &str| -> Option<String> {
            let last = last.strip_prefix("is_").unwrap_or(last);
            let verb = [
                "has_",
                "have_",
                "can_",
                "needs_",
                "requires_",
                "was_",
                "did_",
                "should_",
            ];
            (!verb.iter().any(|v| last.starts_with(v)) && !last.is_empty())
                .then(|| humanize(&[last.to_owned()]))
        };
        match def.map(|d| d.segments.split_last()) {
            Some(Some((last, subject))) if unique && !subject.is_empty() => match adjective(last) {
                Some(adj) => Inline::text(format!("the {} is {not}{adj}", humanize(subject))),
                None => self
                    .noun(a)
                    .t(format!(" is {}", if positive { "true" } else { "false" })),
            },
            _ => self
                .noun(a)
                .t(format!(" is {}", if positive { "true" } else { "false" })),
        }
    }

    /// `is x`, `is x or y`, `is x, y or z`.
    fn one_of(&self, a: AttrId, noun: Inline, is: &str, values: &[Value]) -> Inline {
        if values.is_empty() {
            return noun.t(is).t(" one of an empty list (never true)");
        }
        let items = values.iter().map(|v| self.value(a, v)).collect();
        noun.t(is).t(" ").then(Inline::list(items, "or"))
    }

    /// `is not x`, `is neither x nor y`, `is none of x, y, z`.
    fn none_of(&self, a: AttrId, noun: Inline, is: &str, values: &[Value]) -> Inline {
        match values {
            [] => noun.t(is).t(" given"),
            [one] => noun.t(is).t(" not ").then(self.value(a, one)),
            [x, y] => noun
                .t(is)
                .t(" neither ")
                .then(self.value(a, x))
                .t(" nor ")
                .then(self.value(a, y)),
            _ => noun.t(is).t(" none of ").then(self.values(a, values)),
        }
    }

    /// `a, b, c`.
    fn values(&self, a: AttrId, values: &[Value]) -> Inline {
        Inline::join(values.iter().map(|v| self.value(a, v)), ", ")
    }

    /// A constant as it reads: enum values as names, strings quoted.
    fn value(&self, a: AttrId, v: &Value) -> Inline {
        match v {
            Value::Bool(b) => Inline::text(b.to_string()),
            Value::Number(n) => Inline::text(n.to_string()),
            Value::String(s) => Inline::text(format!("{s:?}")),
            Value::Enum(i) => {
                let name = match self.ty(a) {
                    Some(Type::Enum(names)) => names.get(*i as usize),
                    Some(Type::Set(inner)) => match inner.as_ref() {
                        Type::Enum(names) => names.get(*i as usize),
                        _ => None,
                    },
                    _ => None,
                };
                match name {
                    Some(n) => Inline::code(n.clone()),
                    None => Inline::text(format!("value #{i}")),
                }
            }
            Value::Duration(s) => Inline::text(duration(&crate::values::format_duration(*s))),
            Value::Timestamp(t) => Inline::text(t.to_string()),
        }
    }
}

/// `exists`, `missing` and the lists that only test presence already say
/// what an absent attribute does.
fn is_presence_test(t: &Test) -> bool {
    match t {
        Test::Exists | Test::Missing => true,
        Test::NotIn(v) | Test::ContainsAll(v) => v.is_empty(),
        _ => false,
    }
}

/// The opposite comparison (exact: numbers, durations and timestamps are
/// totally ordered).
fn negate(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Ne,
        CmpOp::Ne => CmpOp::Eq,
        CmpOp::Lt => CmpOp::Ge,
        CmpOp::Le => CmpOp::Gt,
        CmpOp::Gt => CmpOp::Le,
        CmpOp::Ge => CmpOp::Lt,
    }
}

/// The words after `is`, with a trailing space.
fn comparison(op: CmpOp, timestamp: bool) -> &'static str {
    match (op, timestamp) {
        (CmpOp::Eq, _) => " ",
        (CmpOp::Ne, _) => " not ",
        (CmpOp::Lt, false) => " less than ",
        (CmpOp::Le, false) => " at most ",
        (CmpOp::Gt, false) => " more than ",
        (CmpOp::Ge, false) => " at least ",
        (CmpOp::Lt, true) => " before ",
        (CmpOp::Le, true) => " at or before ",
        (CmpOp::Gt, true) => " after ",
        (CmpOp::Ge, true) => " at or after ",
    }
}

/// Path segments as words: `["change_window", "open"]` is `change window open`.
fn humanize(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| s.replace(['_', '-'], " "))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A duration as written (`1h30m`) in words (`1 hour 30 minutes`); text
/// that is not a duration is returned as it is.
pub(crate) fn duration(written: &str) -> String {
    let mut parts = Vec::new();
    let mut number = String::new();
    for c in written.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => "day",
            'h' => "hour",
            'm' => "minute",
            's' => "second",
            _ => return written.to_owned(),
        };
        if number.is_empty() {
            return written.to_owned();
        }
        let plural = if number == "1" { "" } else { "s" };
        parts.push(format!("{number} {unit}{plural}"));
        number.clear();
    }
    if parts.is_empty() || !number.is_empty() {
        return written.to_owned();
    }
    parts.join(" ")
}
