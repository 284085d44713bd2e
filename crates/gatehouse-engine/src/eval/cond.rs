//! Conditions over decoded slots. A test on an absent attribute is false
//! (only `missing` is true), so `not` of it is true: write `exists` where the
//! difference matters.

use std::cmp::Ordering;

use super::decode::Slot;
use crate::check::{Cond, Operand, Test, Value};
use crate::syntax::ast::CmpOp;

/// Whether a condition holds for these slots.
pub fn holds(cond: &Cond, slots: &[Slot<'_>]) -> bool {
    match cond {
        Cond::All(parts) => parts.iter().all(|c| holds(c, slots)),
        Cond::Any(parts) => parts.iter().any(|c| holds(c, slots)),
        Cond::Not(inner) => !holds(inner, slots),
        Cond::Test(attr, test) => {
            let slot = slots.get(*attr).unwrap_or(&Slot::Missing);
            test_holds(test, slot, slots)
        }
    }
}

/// Whether one test holds for one attribute's slot (`slots` resolves an
/// attribute on the right of a comparison).
pub fn test_holds(test: &Test, slot: &Slot<'_>, slots: &[Slot<'_>]) -> bool {
    if matches!(slot, Slot::Missing) {
        return matches!(test, Test::Missing);
    }
    match test {
        Test::IsTrue => matches!(slot, Slot::Bool(true)),
        Test::Exists => true,
        Test::Missing => false,
        Test::Compare(op, Operand::Value(v)) => {
            compare_value(slot, v).is_some_and(|o| op_holds(*op, o))
        }
        Test::Compare(op, Operand::Attribute(other)) => {
            let other = slots.get(*other).unwrap_or(&Slot::Missing);
            compare_slots(slot, other).is_some_and(|o| op_holds(*op, o))
        }
        Test::In(values) => values
            .iter()
            .any(|v| compare_value(slot, v) == Some(Ordering::Equal)),
        Test::NotIn(values) => !values
            .iter()
            .any(|v| compare_value(slot, v) == Some(Ordering::Equal)),
        Test::Contains(v) => contains(slot, v),
        Test::ContainsAny(values) => values.iter().any(|v| contains(slot, v)),
        Test::ContainsAll(values) => values.iter().all(|v| contains(slot, v)),
        Test::Matches(re) => matches!(slot, Slot::Str(s) if re.is_match(s)),
        Test::StartsWith(p) => matches!(slot, Slot::Str(s) if s.starts_with(p.as_str())),
        Test::EndsWith(p) => matches!(slot, Slot::Str(s) if s.ends_with(p.as_str())),
    }
}

fn op_holds(op: CmpOp, o: Ordering) -> bool {
    match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    }
}

/// Orders a slot against a constant of the same type; `None` when the types
/// differ (the checker makes that impossible) or for unordered kinds compared
/// for equality only.
fn compare_value(slot: &Slot<'_>, v: &Value) -> Option<Ordering> {
    Some(match (slot, v) {
        (Slot::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Slot::Number(a), Value::Number(b)) => a.cmp(b),
        (Slot::Str(a), Value::String(b)) => a.as_ref().cmp(b.as_str()),
        (Slot::Enum(a), Value::Enum(b)) => a.cmp(b),
        (Slot::Duration(a), Value::Duration(b)) => a.cmp(b),
        (Slot::Timestamp(a), Value::Timestamp(b)) => a.cmp(b),
        _ => return None,
    })
}

fn compare_slots(a: &Slot<'_>, b: &Slot<'_>) -> Option<Ordering> {
    Some(match (a, b) {
        (Slot::Bool(a), Slot::Bool(b)) => a.cmp(b),
        (Slot::Number(a), Slot::Number(b)) => a.cmp(b),
        (Slot::Str(a), Slot::Str(b)) => a.cmp(b),
        (Slot::Enum(a), Slot::Enum(b)) => a.cmp(b),
        (Slot::Duration(a), Slot::Duration(b)) => a.cmp(b),
        (Slot::Timestamp(a), Slot::Timestamp(b)) => a.cmp(b),
        _ => return None,
    })
}

fn contains(slot: &Slot<'_>, v: &Value) -> bool {
    match (slot, v) {
        (Slot::Str(s), Value::String(needle)) => s.contains(needle.as_str()),
        (Slot::Strings(items), Value::String(needle)) => items.iter().any(|i| i == needle),
        (Slot::Enums(items), Value::Enum(e)) => items.contains(e),
        _ => false,
    }
}
