//! Conditions compiled to flat code: what deciding evaluates instead of
//! walking the checker's [`Cond`] trees.
//!
//! Every condition of the program is written into one vector of `Op`s in
//! prefix order: a connective is followed by its operands, and `All`/`Any`
//! record where their operands end, so a short-circuit jumps past the rest
//! without visiting it. Operands sit next to each other in memory instead of
//! behind a `Vec` or a `Box` each.
//!
//! The commonest tests are specialised when compiled: a test of an enum
//! against one or more values (`==`, `!=`, `in`, `not in`) becomes a bitmask
//! of the values, `contains`/`contains any`/`contains all` on a set of enums
//! a mask of the elements, and a comparison of a number with a literal keeps
//! the literal inline. Any other test keeps the checker's [`Test`] in a side
//! table and is evaluated by [`cond::test_holds`], the evaluator of record.
//!
//! Invariant: [`Code::holds`] equals [`cond::holds`] on the condition it was
//! compiled from, for every slot vector, including slots of the wrong type
//! for the attribute (the specialised tests answer what `test_holds` answers
//! for them). Property tests in `code/tests.rs` compare the two.

use crate::check::{Cond, Operand, Test, Value};
use crate::eval::cond;
use crate::eval::decode::Slot;
use crate::syntax::ast::CmpOp;
use crate::values::Decimal;

/// Enum values (and set elements) from this index up are not specialised:
/// a test listing one stays a generic test.
const MASK_BITS: u32 = u64::BITS;

/// The compiled conditions of one program.
#[derive(Debug, Default)]
pub struct Code {
    ops: Vec<Op>,
    /// Tests evaluated by `cond::test_holds`, indexed by [`Check::Other`].
    others: Vec<Test>,
}

/// Where a compiled condition starts in its [`Code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CondId(u32);

#[derive(Debug)]
enum Op {
    /// Holds when every operand holds; the operands are the ops up to `end`
    /// (exclusive). No operands: holds.
    All { end: u32 },
    /// Holds when some operand holds; operands as for `All`. No operands:
    /// does not hold.
    Any { end: u32 },
    /// Holds when the one operand that follows does not.
    Not,
    /// A test of the attribute in slot `attr`.
    Test { attr: u32, check: Check },
}

/// One test, specialised by kind. Every test but `Missing` is false on an
/// absent slot; `other` (and `high`) are what `cond::test_holds` answers for
/// present slots the mask does not describe.
#[derive(Debug)]
enum Check {
    Missing,
    Exists,
    IsTrue,
    /// An enum slot `e` holds when bit `e` of `mask` is set (`high` for
    /// `e >= 64`); any other present slot: `other`.
    Enum {
        mask: u64,
        high: bool,
        other: bool,
    },
    /// A set of enums holds when one of its elements is in `mask`; any other
    /// present slot: false.
    EnumsAny {
        mask: u64,
    },
    /// A set of enums holds when every element of `mask` is among its
    /// elements (`mask` not empty); any other present slot: false.
    EnumsAll {
        mask: u64,
    },
    /// A number slot compared with a literal; any other present slot: false.
    Number {
        op: CmpOp,
        value: Decimal,
    },
    /// `cond::test_holds` with `others[i]`.
    Other(u32),
}

impl Code {
    /// Compiles one condition; [`Code::holds`] with the returned id
    /// evaluates it.
    pub fn add(&mut self, cond: &Cond) -> CondId {
        let at = self.here();
        self.emit(cond);
        CondId(at)
    }

    /// Compiles "`when` holds and no `unless` holds", a rule's firing
    /// condition, as one condition.
    pub fn add_rule(&mut self, when: &Cond, unless: &[Cond]) -> CondId {
        if unless.is_empty() {
            return self.add(when);
        }
        let at = self.here();
        self.ops.push(Op::All { end: 0 });
        self.emit(when);
        self.ops.push(Op::Not);
        let any = self.here();
        self.ops.push(Op::Any { end: 0 });
        for u in unless {
            self.emit(u);
        }
        let end = self.here();
        self.close(any, end);
        self.close(at, end);
        CondId(at)
    }

    fn here(&self) -> u32 {
        // Programs are bounded far below u32::MAX ops (limits on rules and
        // condition sizes); saturating keeps a wrong bound harmless: a jump
        // past the end reads no op and evaluates to false.
        u32::try_from(self.ops.len()).unwrap_or(u32::MAX)
    }

    fn close(&mut self, at: u32, end: u32) {
        if let Some(Op::All { end: e } | Op::Any { end: e }) = self.ops.get_mut(at as usize) {
            *e = end;
        }
    }

    fn emit(&mut self, cond: &Cond) {
        match cond {
            Cond::All(parts) | Cond::Any(parts) => {
                let at = self.here();
                self.ops.push(match cond {
                    Cond::All(_) => Op::All { end: 0 },
                    _ => Op::Any { end: 0 },
                });
                for p in parts {
                    self.emit(p);
                }
                let end = self.here();
                self.close(at, end);
            }
            Cond::Not(inner) => {
                self.ops.push(Op::Not);
                self.emit(inner);
            }
            Cond::Test(attr, test) => {
                let check = self.check(test);
                self.ops.push(Op::Test {
                    attr: u32::try_from(*attr).unwrap_or(u32::MAX),
                    check,
                });
            }
        }
    }

    fn check(&mut self, test: &Test) -> Check {
        if let Some(check) = specialise(test) {
            return check;
        }
        let i = u32::try_from(self.others.len()).unwrap_or(u32::MAX);
        self.others.push(test.clone());
        Check::Other(i)
    }

    /// Whether the condition compiled as `id` holds for these slots.
    #[inline]
    pub fn holds(&self, id: CondId, slots: &[Slot<'_>]) -> bool {
        self.eval(id.0 as usize, slots).0
    }

    /// Evaluates the condition starting at `pc`: whether it holds, and where
    /// the next condition starts. Recursion follows the nesting of the
    /// source condition (bounded by `limits::MAX_NESTING`, plus the two
    /// levels `add_rule` adds).
    fn eval(&self, pc: usize, slots: &[Slot<'_>]) -> (bool, usize) {
        let next = pc + 1;
        let Some(op) = self.ops.get(pc) else {
            return (false, next);
        };
        match op {
            Op::Test { attr, check } => (self.test(*attr, check, slots), next),
            Op::All { end } | Op::Any { end } => {
                // `end` lies beyond `pc` by construction; `max` keeps every
                // return moving forward whatever the vector holds.
                let end = (*end as usize).max(next);
                let all = matches!(op, Op::All { .. });
                let mut at = next;
                while at < end {
                    let (holds, after) = self.eval(at, slots);
                    if holds != all {
                        return (!all, end);
                    }
                    at = after;
                }
                (all, end)
            }
            Op::Not => {
                let (holds, after) = self.eval(next, slots);
                (!holds, after)
            }
        }
    }

    #[inline]
    fn test(&self, attr: u32, check: &Check, slots: &[Slot<'_>]) -> bool {
        let slot = slots.get(attr as usize).unwrap_or(&Slot::Missing);
        if matches!(slot, Slot::Missing) {
            return matches!(check, Check::Missing);
        }
        match check {
            Check::Missing => false,
            Check::Exists => true,
            Check::IsTrue => matches!(slot, Slot::Bool(true)),
            Check::Enum { mask, high, other } => match slot {
                Slot::Enum(e) if *e < MASK_BITS => mask & (1 << e) != 0,
                Slot::Enum(_) => *high,
                _ => *other,
            },
            Check::EnumsAny { mask } => match slot {
                Slot::Enums(items) => items.iter().any(|e| *e < MASK_BITS && mask & (1 << e) != 0),
                _ => false,
            },
            Check::EnumsAll { mask } => match slot {
                Slot::Enums(items) => {
                    let held = items
                        .iter()
                        .filter(|e| **e < MASK_BITS)
                        .fold(0u64, |held, e| held | (1 << e));
                    held & mask == *mask
                }
                _ => false,
            },
            Check::Number { op, value } => match slot {
                Slot::Number(n) => {
                    let o = n.cmp(value);
                    match op {
                        CmpOp::Eq => o.is_eq(),
                        CmpOp::Ne => o.is_ne(),
                        CmpOp::Lt => o.is_lt(),
                        CmpOp::Le => o.is_le(),
                        CmpOp::Gt => o.is_gt(),
                        CmpOp::Ge => o.is_ge(),
                    }
                }
                _ => false,
            },
            Check::Other(i) => match self.others.get(*i as usize) {
                Some(test) => cond::test_holds(test, slot, slots),
                None => false,
            },
        }
    }
}

/// The specialised form of a test, when it has one.
fn specialise(test: &Test) -> Option<Check> {
    Some(match test {
        Test::Missing => Check::Missing,
        Test::Exists => Check::Exists,
        Test::IsTrue => Check::IsTrue,
        Test::Compare(op, Operand::Value(Value::Number(n))) => Check::Number { op: *op, value: *n },
        // On a present enum: `==` and `in` hold for the listed values, `!=`
        // and `not in` for the others. On another kind of slot (which the
        // checker rules out) `test_holds` compares nothing equal: `==`,
        // `!=` and `in` are false there, `not in` true.
        Test::Compare(op @ (CmpOp::Eq | CmpOp::Ne), Operand::Value(v @ Value::Enum(_))) => {
            let mask = enum_mask(std::slice::from_ref(v))?;
            match op {
                CmpOp::Eq => Check::Enum {
                    mask,
                    high: false,
                    other: false,
                },
                _ => Check::Enum {
                    mask: !mask,
                    high: true,
                    other: false,
                },
            }
        }
        Test::In(values) => Check::Enum {
            mask: enum_mask(values)?,
            high: false,
            other: false,
        },
        Test::NotIn(values) => Check::Enum {
            mask: !enum_mask(values)?,
            high: true,
            other: true,
        },
        Test::Contains(v @ Value::Enum(_)) => Check::EnumsAny {
            mask: enum_mask(std::slice::from_ref(v))?,
        },
        Test::ContainsAny(values) => Check::EnumsAny {
            mask: enum_mask(values)?,
        },
        Test::ContainsAll(values) if !values.is_empty() => Check::EnumsAll {
            mask: enum_mask(values)?,
        },
        _ => return None,
    })
}

/// The bitmask of a non-empty list of enum values, each below 64; `None`
/// for anything else (the test then stays generic).
fn enum_mask(values: &[Value]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.iter().try_fold(0u64, |mask, v| match v {
        Value::Enum(e) if *e < MASK_BITS => Some(mask | (1 << e)),
        _ => None,
    })
}

#[cfg(test)]
mod tests;
