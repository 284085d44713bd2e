//! The rule index: which rules' `when` may hold for an input, without
//! testing every rule.
//!
//! Each rule is filed under at most one *discriminating test*, taken from
//! the conjunction at the top of its `when`: a test that must hold for the
//! `when` to hold, and whose attribute value selects, through a lookup, the
//! rules it can hold for. A rule with no such test is an *always* rule: it
//! is a candidate for every input. Per decision, each indexed attribute's
//! slot selects its buckets (sorted lists of rule ids); they are merged with
//! the always list into the candidates.
//!
//! Invariant (the superset property): for every rule whose `when` holds for
//! the slots, the rule is among the candidates. It rests on one fact of the
//! evaluator (`eval::cond`): every test on an absent attribute is false
//! except `missing`, so no indexed test holds for an absent slot, and an
//! absent slot selects nothing.
//!
//! What can be a discriminating test, and how its bucket is found:
//!
//! | test | lookup by the slot |
//! |---|---|
//! | `== "s"`, `in ["s", ..]` on a string | hash map, string to bucket |
//! | `contains "s"`, `contains any [..]`, `contains all [..]` on a set of strings | the same map, once per element of the set |
//! | `== v`, `in [..]` on an enum; `contains ..` on a set of enums | bucket per enum value index |
//! | `== n`, `in [..]` on a number, duration, timestamp | sorted keys, binary search |
//! | `> n`, `>= n` / `< n`, `<= n` | sorted thresholds, binary search: the rules whose threshold is passed |
//! | `starts_with "p"` / `ends_with "s"` | sorted prefix (suffix) table with parent links |
//! | bool alone, `== true/false`, `!= true/false` | bucket per value |
//! | `exists`, `not .. missing`, `contains all []` | bucket hit by any present slot |
//! | `in []`, `contains any []` | never holds: the rule is in no bucket |
//!
//! Never discriminating: `missing`, `!=` and `not in` (true for unlisted
//! values, false for absent ones: no bucket describes them), comparisons
//! with another attribute, `contains` on a string (substring), `matches`,
//! and anything under `or` or a single `not`. A `matches` could go through a
//! `regex::RegexSet` per attribute, but that allocates its match set per
//! search and its DFA cost grows with the patterns; it stays unindexed.
//!
//! Not the index's business: `unless`, and the order rules combine in. The
//! candidates come in rule order, so `first-match` keeps its meaning.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::check::{AttrId, Cond, Operand, PolicySet, Test, Type, Value};
use crate::eval::decode::Slot;
use crate::syntax::ast::CmpOp;
use crate::values::{Decimal, Timestamp};

/// Policies with fewer rules than this are not indexed: every rule is an
/// always rule, [`RuleIndex::is_linear`] holds, and
/// [`RuleIndex::candidates`] copies the list of all rules.
///
/// Measured with the loops of benches/index.rs (`linear` against
/// `indexed`: finding the rules whose `when` holds, per decision; fastest of
/// 30 runs, rounded): below 16 rules the two differ by about 20 ns at most,
/// and which one wins depends on the policy's shape. The peers matrix cut
/// to its first 1, 4, 8, 15 rules takes 14, 45, 84, 145 ns by the scan and
/// 12, 21, 50, 123 ns through an index; rules that each test their own enum
/// attribute (one lookup per rule, the index's worst shape) take 26, 51,
/// 101 ns by the scan for 4, 8, 15 rules and 29, 57, 115 ns through an
/// index. From there the scan grows by 6 to 9 ns a rule, while the matrix's
/// index stays near 135 ns (32 rules: 280 against 133 ns; 1 015: 8 us
/// against 135 ns). From 8 rules the index wins by 20 to 35 ns on
/// matrix-shaped policies (rules sharing discriminating attributes, the
/// common shape) and loses at most about 14 ns on the worst shape; below 8
/// the plain scan, which needs no lookup and no merge, is as good.
pub const MIN_INDEXED_RULES: usize = 8;

/// Rule ids by the values that select them. Built once per policy in
/// [`crate::compile::compile`]; immutable afterwards.
#[derive(Debug, Default)]
pub struct RuleIndex {
    /// How many rules the set has.
    rules: usize,
    /// Rules that are candidates for every input, ascending.
    always: Vec<u32>,
    /// One entry per attribute some rule is filed under, ascending by
    /// attribute.
    attrs: Vec<AttrIndex>,
}

impl RuleIndex {
    /// Indexes the rules of a checked set; a set with fewer than
    /// [`MIN_INDEXED_RULES`] rules is not indexed (every rule is always a
    /// candidate).
    pub fn build(set: &PolicySet) -> RuleIndex {
        RuleIndex::build_with(set, MIN_INDEXED_RULES)
    }

    /// [`RuleIndex::build`] with another threshold: a set with fewer than
    /// `min_rules` rules is not indexed (`0` indexes every set).
    pub fn build_with(set: &PolicySet, min_rules: usize) -> RuleIndex {
        // Rule ids are u32: `limits::MAX_RULES` is far below u32::MAX, so
        // the zip never drops a rule.
        let ids = (0..=u32::MAX).zip(&set.rules);
        if set.rules.len() < min_rules {
            return RuleIndex {
                rules: set.rules.len(),
                always: ids.map(|(id, _)| id).collect(),
                attrs: Vec::new(),
            };
        }
        let mut always = Vec::new();
        let mut builders: Vec<Option<AttrBuilder<'_>>> = std::iter::repeat_with(|| None)
            .take(set.attributes.len())
            .collect();
        for (id, rule) in ids {
            let filed = choose(set, &rule.when).and_then(|(attr, key)| {
                let builder = builders.get_mut(attr)?;
                builder
                    .get_or_insert_with(AttrBuilder::default)
                    .add(key, id);
                Some(())
            });
            if filed.is_none() {
                always.push(id);
            }
        }
        let attrs = builders
            .into_iter()
            .enumerate()
            .filter_map(|(attr, b)| b.map(|b| b.finish(attr)))
            .collect();
        RuleIndex {
            rules: set.rules.len(),
            always,
            attrs,
        }
    }

    /// Whether nothing is indexed: the candidates are always every rule, so
    /// a caller may test the rules in order without asking.
    pub fn is_linear(&self) -> bool {
        self.attrs.is_empty()
    }

    /// Clears `out`, then fills it with the indexes of every rule whose
    /// `when` may hold for these slots, ascending and without duplicates. A
    /// superset: every rule whose `when` holds is in it (rules the index
    /// cannot discriminate are always in it).
    ///
    /// Never allocates when `out.capacity()` is at least the number of
    /// rules: hits are merged in place, and before a bucket would overflow
    /// the capacity the hits so far are sorted and deduplicated, and only
    /// ids not yet among them are added.
    pub fn candidates(&self, slots: &[Slot<'_>], out: &mut Vec<u32>) {
        out.clear();
        let mut merge = Merge::new(out, self.rules);
        merge.add(&self.always, true);
        for a in &self.attrs {
            if let Some(slot) = slots.get(a.attr) {
                a.hits(slot, &mut merge);
            }
        }
        merge.finish();
    }

    /// The candidates [`RuleIndex::candidates`] finds, as a bitmask (bit
    /// `i` set: rule `i` may hold), for a set of at most [`MASK_RULES`]
    /// rules; `None` for a larger set. No sort and no merge: hits are ORed
    /// in, and rule order is bit order.
    #[inline]
    pub fn candidate_mask(&self, slots: &[Slot<'_>]) -> Option<u64> {
        if self.rules > MASK_RULES {
            return None;
        }
        // No rules: no bits (a shift by 64 would overflow).
        let every = u32::try_from(MASK_RULES - self.rules)
            .ok()
            .and_then(|unused| u64::MAX.checked_shr(unused))
            .unwrap_or(0);
        if self.is_linear() {
            return Some(every);
        }
        let mut mask = Mask::default();
        mask.add(&self.always, true);
        for a in &self.attrs {
            if let Some(slot) = slots.get(a.attr) {
                a.hits(slot, &mut mask);
            }
        }
        // An id out of range cannot come from a set this small; were one
        // filed, every rule stays a candidate (the superset property holds).
        Some(if mask.overflow { every } else { mask.bits })
    }
}

/// The largest set whose candidates [`RuleIndex::candidate_mask`] gives as
/// a bitmask: the bits of a `u64`.
pub const MASK_RULES: usize = u64::BITS as usize;

// ----------------------------------------------------------------- choice --

/// What a rule is filed under: the values of its discriminating test.
#[derive(Debug)]
enum Key<'s> {
    /// The test never holds (`in []`).
    Never,
    /// Holds for any present value.
    Exists,
    /// Holds only for this bool.
    Bool(bool),
    /// Holds only for a value equal to one of these, or a set holding one:
    /// a non-empty list of one kind of value.
    OneOf(&'s [Value]),
    /// Holds only for strings with this prefix.
    Prefix(&'s str),
    /// Holds only for strings with this suffix.
    Suffix(&'s str),
    /// Holds only above the value (`>`), or from it on (`>=`: inclusive).
    Above { at: Ordered, inclusive: bool },
    /// Holds only below the value (`<`), or up to it (`<=`: inclusive).
    Below { at: Ordered, inclusive: bool },
}

/// A value of an ordered type. Slots and literals of one attribute always
/// have the same variant (the checker types them), so comparing across
/// variants never decides anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ordered {
    Number(Decimal),
    Duration(i64),
    Timestamp(Timestamp),
}

impl Ordered {
    fn of_value(v: &Value) -> Option<Ordered> {
        match v {
            Value::Number(n) => Some(Ordered::Number(*n)),
            Value::Duration(d) => Some(Ordered::Duration(*d)),
            Value::Timestamp(t) => Some(Ordered::Timestamp(*t)),
            Value::Bool(_) | Value::String(_) | Value::Enum(_) => None,
        }
    }
}

/// The rule's most selective discriminating test, with its attribute; `None`
/// when it has none (an always rule).
fn choose<'s>(set: &'s PolicySet, when: &'s Cond) -> Option<(AttrId, Key<'s>)> {
    let mut best: Option<(u32, AttrId, Key<'s>)> = None;
    conjuncts(when, true, &mut |attr, test, positive| {
        let Some(ty) = set.attributes.get(attr).map(|a| &a.ty) else {
            return;
        };
        let key = if positive {
            discriminator(ty, test)
        } else {
            // `not x missing` is `x exists`; no other negated test is
            // false on every absent value and selective on present ones.
            matches!(test, Test::Missing).then_some(Key::Exists)
        };
        if let Some(key) = key {
            let score = selectivity(&key, ty);
            // Ties keep the first written test.
            if best.as_ref().is_none_or(|(s, _, _)| score < *s) {
                best = Some((score, attr, key));
            }
        }
    });
    best.map(|(_, attr, key)| (attr, key))
}

/// Calls `f` with each test that must hold (`positive`) or must not hold
/// (`!positive`) for `cond` to hold: the parts of `and`, of `not (a or b)`,
/// and through `not not`. Recursion is bounded by the nesting limit.
fn conjuncts<'s>(cond: &'s Cond, positive: bool, f: &mut impl FnMut(AttrId, &'s Test, bool)) {
    match (cond, positive) {
        (Cond::All(parts), true) | (Cond::Any(parts), false) => {
            for p in parts {
                conjuncts(p, positive, f);
            }
        }
        // One alternative is the alternative itself.
        (Cond::All(parts), false) | (Cond::Any(parts), true) => {
            if let [only] = parts.as_slice() {
                conjuncts(only, positive, f);
            }
        }
        (Cond::Not(inner), _) => conjuncts(inner, !positive, f),
        (Cond::Test(attr, test), _) => f(*attr, test, positive),
    }
}

/// The key under which a test that must hold files its rule; `None` when
/// the test holds for values no bucket describes.
fn discriminator<'s>(ty: &Type, test: &'s Test) -> Option<Key<'s>> {
    let is_set = matches!(ty, Type::Set(_));
    match test {
        Test::IsTrue => Some(Key::Bool(true)),
        Test::Exists => Some(Key::Exists),
        Test::Compare(op, Operand::Value(v)) => match op {
            CmpOp::Eq => one_of(std::slice::from_ref(v)),
            // A present bool that is not `b` is `!b`.
            CmpOp::Ne => match v {
                Value::Bool(b) => Some(Key::Bool(!*b)),
                _ => None,
            },
            CmpOp::Gt | CmpOp::Ge => Some(Key::Above {
                at: Ordered::of_value(v)?,
                inclusive: *op == CmpOp::Ge,
            }),
            CmpOp::Lt | CmpOp::Le => Some(Key::Below {
                at: Ordered::of_value(v)?,
                inclusive: *op == CmpOp::Le,
            }),
        },
        Test::In(values) => one_of(values),
        // On a set, `contains` tests membership; on a string it is a
        // substring search, which no bucket describes.
        Test::Contains(v) if is_set => one_of(std::slice::from_ref(v)),
        Test::ContainsAny(values) if is_set => one_of(values),
        // Holding all means holding the first; `contains all []` holds for
        // any present set.
        Test::ContainsAll(values) if is_set => match values.first() {
            Some(v) => one_of(std::slice::from_ref(v)),
            None => Some(Key::Exists),
        },
        Test::StartsWith(p) => Some(Key::Prefix(p)),
        Test::EndsWith(s) => Some(Key::Suffix(s)),
        Test::Missing
        | Test::Compare(_, Operand::Attribute(_))
        | Test::NotIn(_)
        | Test::Contains(_)
        | Test::ContainsAny(_)
        | Test::ContainsAll(_)
        | Test::Matches(_) => None,
    }
}

/// The key of "equal to (or holding) one of `values`": an empty list never
/// holds. `None` for a list mixing kinds (the checker never builds one).
fn one_of(values: &[Value]) -> Option<Key<'_>> {
    let first = match values.first() {
        Some(v) => std::mem::discriminant(v),
        None => return Some(Key::Never),
    };
    values
        .iter()
        .all(|v| std::mem::discriminant(v) == first)
        .then_some(Key::OneOf(values))
}

/// Estimated share of inputs, in thousandths, for which the key's bucket is
/// hit: lower is more selective. Strings and numbers are assumed to take
/// many values, an enum its declared ones evenly, a bool or a threshold
/// either side. (So equality on a string or an enum wins over a threshold.)
fn selectivity(key: &Key<'_>, ty: &Type) -> u32 {
    let per_value = |n: usize, each: u32| {
        u32::try_from(n)
            .unwrap_or(u32::MAX)
            .saturating_mul(each)
            .min(1000)
    };
    match key {
        Key::Never => 0,
        Key::OneOf(values) => match values.first() {
            Some(Value::Enum(_)) => {
                let declared = match ty {
                    Type::Enum(names) => names.len(),
                    Type::Set(element) => match element.as_ref() {
                        Type::Enum(names) => names.len(),
                        _ => 1,
                    },
                    _ => 1,
                };
                per_value(values.len(), 1000) / u32::try_from(declared.max(1)).unwrap_or(u32::MAX)
            }
            Some(Value::Bool(_)) => 500,
            _ => per_value(values.len(), 10),
        },
        Key::Prefix(p) | Key::Suffix(p) if p.is_empty() => 900,
        Key::Prefix(_) | Key::Suffix(_) => 50,
        Key::Bool(_) => 500,
        Key::Above { .. } | Key::Below { .. } => 600,
        Key::Exists => 900,
    }
}

// ------------------------------------------------------------------ build --

/// The keys filed under one attribute, while building: `(key, rule)` pairs
/// in ascending rule order.
#[derive(Default)]
struct AttrBuilder<'s> {
    exists: Vec<u32>,
    strings: Vec<(&'s str, u32)>,
    enums: Vec<Vec<u32>>,
    is_false: Vec<u32>,
    is_true: Vec<u32>,
    equal: Vec<(Ordered, u32)>,
    prefixes: Vec<(&'s str, u32)>,
    suffixes: Vec<(&'s str, u32)>,
    above: Vec<((Ordered, bool), u32)>,
    below: Vec<((Ordered, bool), u32)>,
}

/// Appends a rule id to a bucket. Rules are filed in ascending id order, so
/// buckets stay sorted, and a key listing a value twice (`in [a, a]`) files
/// its rule once.
fn file(bucket: &mut Vec<u32>, id: u32) {
    if bucket.last() != Some(&id) {
        bucket.push(id);
    }
}

impl<'s> AttrBuilder<'s> {
    fn add(&mut self, key: Key<'s>, id: u32) {
        match key {
            Key::Never => {}
            Key::Exists => file(&mut self.exists, id),
            Key::Bool(b) => self.bool(b, id),
            Key::OneOf(values) => {
                for v in values {
                    match v {
                        Value::String(s) => self.strings.push((s, id)),
                        Value::Enum(e) => {
                            let e = *e as usize;
                            if self.enums.len() <= e {
                                self.enums.resize_with(e + 1, Vec::new);
                            }
                            if let Some(bucket) = self.enums.get_mut(e) {
                                file(bucket, id);
                            }
                        }
                        Value::Bool(b) => self.bool(*b, id),
                        Value::Number(_) | Value::Duration(_) | Value::Timestamp(_) => {
                            if let Some(o) = Ordered::of_value(v) {
                                self.equal.push((o, id));
                            }
                        }
                    }
                }
            }
            Key::Prefix(p) => self.prefixes.push((p, id)),
            Key::Suffix(s) => self.suffixes.push((s, id)),
            // `false` sorts first: at an equal threshold `>=` passes where
            // `>` does not, so passed thresholds form a prefix.
            Key::Above { at, inclusive } => self.above.push(((at, !inclusive), id)),
            // `false` sorts first: at an equal threshold `<` fails where
            // `<=` passes, so passed thresholds form a suffix.
            Key::Below { at, inclusive } => self.below.push(((at, inclusive), id)),
        }
    }

    fn bool(&mut self, b: bool, id: u32) {
        file(
            if b {
                &mut self.is_true
            } else {
                &mut self.is_false
            },
            id,
        );
    }

    fn finish(self, attr: AttrId) -> AttrIndex {
        let mut equal = self.equal;
        equal.sort_unstable();
        equal.dedup();
        let (equal_keys, equal_rules) = equal.into_iter().unzip();
        AttrIndex {
            attr,
            exists: self.exists,
            strings: StringTable::new(self.strings),
            enums: self.enums,
            is_false: self.is_false,
            is_true: self.is_true,
            equal_keys,
            equal_rules,
            above: Thresholds::new(self.above),
            below: Thresholds::new(self.below),
            prefixes: AffixTable::new(self.prefixes, false),
            suffixes: AffixTable::new(self.suffixes, true),
        }
    }
}

// ----------------------------------------------------------------- lookup --

/// The buckets of one attribute.
#[derive(Debug)]
struct AttrIndex {
    /// The attribute, as the index into the slots.
    attr: AttrId,
    /// Hit by any present value.
    exists: Vec<u32>,
    /// By string (of a string, or element of a set of strings).
    strings: StringTable,
    /// By enum value index (of an enum, or element of a set of enums).
    enums: Vec<Vec<u32>>,
    /// Hit by `false`.
    is_false: Vec<u32>,
    /// Hit by `true`.
    is_true: Vec<u32>,
    /// Equality on ordered values: keys ascending, and `equal_rules[i]` is
    /// filed under `equal_keys[i]`; rules of one key are ascending.
    equal_keys: Vec<Ordered>,
    equal_rules: Vec<u32>,
    /// `>` and `>=`.
    above: Thresholds,
    /// `<` and `<=`.
    below: Thresholds,
    /// `starts_with`.
    prefixes: AffixTable,
    /// `ends_with`.
    suffixes: AffixTable,
}

impl AttrIndex {
    /// Adds the buckets this slot selects. An absent slot selects none: no
    /// indexed test holds for it.
    fn hits(&self, slot: &Slot<'_>, merge: &mut impl Sink) {
        let ordered = match slot {
            Slot::Missing => return,
            Slot::Bool(b) => {
                merge.add(if *b { &self.is_true } else { &self.is_false }, true);
                None
            }
            Slot::Number(n) => Some(Ordered::Number(*n)),
            Slot::Duration(d) => Some(Ordered::Duration(*d)),
            Slot::Timestamp(t) => Some(Ordered::Timestamp(*t)),
            Slot::Str(s) => {
                merge.add(self.strings.get(s), true);
                self.prefixes.hits(s, merge);
                self.suffixes.hits(s, merge);
                None
            }
            Slot::Strings(items) => {
                for s in items {
                    merge.add(self.strings.get(s), true);
                }
                None
            }
            Slot::Enum(e) => {
                self.enumerated(*e, merge);
                None
            }
            Slot::Enums(items) => {
                for e in items {
                    self.enumerated(*e, merge);
                }
                None
            }
        };
        if let Some(v) = ordered {
            if !self.equal_keys.is_empty() {
                let from = self.equal_keys.partition_point(|k| *k < v);
                let to = self.equal_keys.partition_point(|k| *k <= v);
                merge.add(self.equal_rules.get(from..to).unwrap_or(&[]), true);
            }
            merge.add(self.above.passed_above(v), false);
            merge.add(self.below.passed_below(v), false);
        }
        merge.add(&self.exists, true);
    }

    fn enumerated(&self, e: u32, merge: &mut impl Sink) {
        if let Some(bucket) = self.enums.get(e as usize) {
            merge.add(bucket, true);
        }
    }
}

/// Rules by string: each distinct string maps to its range of `rules`
/// (ascending ids). One allocation per string, none per bucket.
#[derive(Debug, Default)]
struct StringTable {
    spans: FxHashMap<Box<str>, (u32, u32)>,
    rules: Vec<u32>,
}

impl StringTable {
    /// From `(string, rule)` pairs.
    fn new(filed: Vec<(&str, u32)>) -> StringTable {
        if filed.is_empty() {
            return StringTable::default();
        }
        // Number the distinct strings; the map's value holds the number
        // until the ranges are known.
        let mut spans: FxHashMap<Box<str>, (u32, u32)> =
            FxHashMap::with_capacity_and_hasher(filed.len(), Default::default());
        let mut numbered: Vec<(u32, u32)> = Vec::with_capacity(filed.len());
        for (s, id) in filed {
            let n = match spans.get(s) {
                Some(&(n, _)) => n,
                None => {
                    let n = u32::try_from(spans.len()).unwrap_or(u32::MAX);
                    spans.insert(Box::from(s), (n, 0));
                    n
                }
            };
            numbered.push((n, id));
        }
        // Grouped by string, ascending ids within; a string listed twice by
        // one rule (`in ["a", "a"]`) files it once.
        numbered.sort_unstable();
        numbered.dedup();
        let mut ranges = vec![(0u32, 0u32); spans.len()];
        let mut rules = Vec::with_capacity(numbered.len());
        for (n, id) in numbered {
            let at = u32::try_from(rules.len()).unwrap_or(u32::MAX);
            rules.push(id);
            if let Some(range) = ranges.get_mut(n as usize) {
                if range.1 == 0 {
                    range.0 = at;
                }
                range.1 = at + 1;
            }
        }
        for span in spans.values_mut() {
            *span = ranges.get(span.0 as usize).copied().unwrap_or((0, 0));
        }
        StringTable { spans, rules }
    }

    /// The rules filed under `s`, ascending.
    fn get(&self, s: &str) -> &[u32] {
        if self.rules.is_empty() {
            return &[];
        }
        self.spans
            .get(s)
            .and_then(|&(from, to)| self.rules.get(from as usize..to as usize))
            .unwrap_or(&[])
    }
}

/// Thresholds of one direction, ascending by `(threshold, flag)`, with the
/// rule filed under each (see [`AttrBuilder::add`] for the flag).
#[derive(Debug, Default)]
struct Thresholds {
    keys: Vec<(Ordered, bool)>,
    /// `rules[i]` is filed under `keys[i]`: rule ids in threshold order, not
    /// ascending.
    rules: Vec<u32>,
}

impl Thresholds {
    fn new(mut entries: Vec<((Ordered, bool), u32)>) -> Thresholds {
        entries.sort_unstable();
        let (keys, rules) = entries.into_iter().unzip();
        Thresholds { keys, rules }
    }

    /// Rules of `x > t` (flag `true`) and `x >= t` (flag `false`) that `v`
    /// passes: `t < v`, or `t == v` for `>=`. A prefix of the order.
    fn passed_above(&self, v: Ordered) -> &[u32] {
        let n = self
            .keys
            .partition_point(|(t, strict)| *t < v || (*t == v && !*strict));
        self.rules.get(..n).unwrap_or(&[])
    }

    /// Rules of `x < t` (flag `false`) and `x <= t` (flag `true`) that `v`
    /// passes: `v < t`, or `v == t` for `<=`. A suffix of the order.
    fn passed_below(&self, v: Ordered) -> &[u32] {
        let n = self
            .keys
            .partition_point(|(t, inclusive)| *t < v || (*t == v && !*inclusive));
        self.rules.get(n..).unwrap_or(&[])
    }
}

/// Prefixes (or suffixes, stored reversed) of strings, with the rules filed
/// under each.
///
/// `entries` are the distinct byte strings, ascending; an entry's `parent`
/// is the longest other entry that is a prefix of it (or `NO_PARENT`).
/// Lookup: the entries that are prefixes of a key form a chain; its longest
/// member is the first entry on the parent chain of the last entry `<=`
/// the key that is a prefix of the key (every entry between a prefix `q` of
/// the key and the key itself starts with `q`). So a binary search and a
/// walk up the parents find every indexed prefix.
#[derive(Debug, Default)]
struct AffixTable {
    /// Entries and keys are compared back to front (suffixes).
    reversed: bool,
    /// The entries' bytes, back to back (each reversed for suffixes).
    text: Vec<u8>,
    entries: Vec<Affix>,
    /// The entries' rules, back to back, ascending within an entry.
    rules: Vec<u32>,
}

#[derive(Debug)]
struct Affix {
    /// Range of `AffixTable::text`.
    text: (u32, u32),
    /// Index of the parent entry.
    parent: u32,
    /// Range of `AffixTable::rules`.
    rules: (u32, u32),
}

const NO_PARENT: u32 = u32::MAX;

impl AffixTable {
    fn new(mut filed: Vec<(&str, u32)>, reversed: bool) -> AffixTable {
        let mut table = AffixTable {
            reversed,
            ..AffixTable::default()
        };
        if reversed {
            filed.sort_unstable_by(|a, b| {
                a.0.bytes().rev().cmp(b.0.bytes().rev()).then(a.1.cmp(&b.1))
            });
        } else {
            filed.sort_unstable();
        }
        // The chain of the last entry: each element a prefix of the next.
        let mut chain: Vec<u32> = Vec::new();
        let mut last: Option<&str> = None;
        for (affix, id) in filed {
            let rule_at = u32::try_from(table.rules.len()).unwrap_or(u32::MAX);
            table.rules.push(id);
            if last == Some(affix) {
                // Each rule has one affix key, so no rule repeats here.
                if let Some(entry) = table.entries.last_mut() {
                    entry.rules.1 = rule_at + 1;
                }
                continue;
            }
            last = Some(affix);
            let from = table.text.len();
            if reversed {
                table.text.extend(affix.bytes().rev());
            } else {
                table.text.extend_from_slice(affix.as_bytes());
            }
            let to = table.text.len();
            while let Some(&top) = chain.last() {
                let is_prefix = match (table.entry_text(top), table.text.get(from..to)) {
                    (Some(p), Some(entry)) => entry.starts_with(p),
                    _ => false,
                };
                if is_prefix {
                    break;
                }
                chain.pop();
            }
            let (Ok(from), Ok(to), Ok(index)) = (
                u32::try_from(from),
                u32::try_from(to),
                u32::try_from(table.entries.len()),
            ) else {
                break;
            };
            table.entries.push(Affix {
                text: (from, to),
                parent: chain.last().copied().unwrap_or(NO_PARENT),
                rules: (rule_at, rule_at + 1),
            });
            chain.push(index);
        }
        table
    }

    fn entry_text(&self, i: u32) -> Option<&[u8]> {
        let (from, to) = self.entries.get(i as usize)?.text;
        self.text.get(from as usize..to as usize)
    }

    /// Adds the rules of every entry that is a prefix (suffix) of `s`.
    fn hits(&self, s: &str, merge: &mut impl Sink) {
        if self.entries.is_empty() {
            return;
        }
        let key = s.as_bytes();
        let end = self.entries.partition_point(|e| {
            let text = self
                .text
                .get(e.text.0 as usize..e.text.1 as usize)
                .unwrap_or(&[]);
            self.order(text, key) != std::cmp::Ordering::Greater
        });
        let Some(mut at) = end.checked_sub(1).and_then(|i| u32::try_from(i).ok()) else {
            return;
        };
        let mut found = false;
        while let (Some(entry), Some(text)) = (self.entries.get(at as usize), self.entry_text(at)) {
            // Once one entry is an affix of the key, so are its parents.
            found = found || self.is_affix(text, key);
            if found {
                let (from, to) = entry.rules;
                merge.add(
                    self.rules.get(from as usize..to as usize).unwrap_or(&[]),
                    true,
                );
            }
            if entry.parent == NO_PARENT {
                break;
            }
            at = entry.parent;
        }
    }

    fn order(&self, entry: &[u8], key: &[u8]) -> std::cmp::Ordering {
        if self.reversed {
            entry.iter().cmp(key.iter().rev())
        } else {
            entry.cmp(key)
        }
    }

    fn is_affix(&self, entry: &[u8], key: &[u8]) -> bool {
        if self.reversed {
            entry.len() <= key.len() && entry.iter().eq(key.iter().rev().take(entry.len()))
        } else {
            key.starts_with(entry)
        }
    }
}

// ------------------------------------------------------------------ merge --

/// Where the lookup puts the buckets it selects.
trait Sink {
    /// Adds a bucket of rule ids (without duplicates; ascending when
    /// `ascending`).
    fn add(&mut self, bucket: &[u32], ascending: bool);
}

/// Collects buckets as bits.
#[derive(Default)]
struct Mask {
    bits: u64,
    /// Whether an id did not fit in the bits.
    overflow: bool,
}

impl Sink for Mask {
    #[inline]
    fn add(&mut self, bucket: &[u32], _ascending: bool) {
        for &id in bucket {
            match 1u64.checked_shl(id) {
                Some(bit) => self.bits |= bit,
                None => self.overflow = true,
            }
        }
    }
}

/// Collects buckets into the caller's vector.
struct Merge<'o> {
    out: &'o mut Vec<u32>,
    /// Whether `out` has room for every rule once: then it must not grow.
    bounded: bool,
    /// Whether `out` is strictly ascending (so also without duplicates).
    /// Buckets that arrive in rule order keep it so, and then no sort is
    /// needed at the end.
    sorted: bool,
}

impl<'o> Merge<'o> {
    fn new(out: &'o mut Vec<u32>, rules: usize) -> Merge<'o> {
        Merge {
            bounded: out.capacity() >= rules,
            out,
            sorted: true,
        }
    }

    fn normalize(&mut self) {
        if !self.sorted {
            self.out.sort_unstable();
            self.out.dedup();
            self.sorted = true;
        }
    }

    fn finish(mut self) {
        self.normalize();
    }
}

impl Sink for Merge<'_> {
    /// Adds a bucket (ascending or not, without duplicates).
    #[inline]
    fn add(&mut self, bucket: &[u32], ascending: bool) {
        let Some(&first) = bucket.first() else {
            return;
        };
        if self.bounded && self.out.len() + bucket.len() > self.out.capacity() {
            // Make room without growing: the hits so far hold each rule
            // once after this, so at most `rules` ids.
            self.normalize();
            if self.out.len() + bucket.len() > self.out.capacity() {
                // Add only rules not yet present: `out` then still holds
                // each rule at most once, so it never outgrows a capacity
                // of `rules`.
                let present = self.out.len();
                for &id in bucket {
                    let new = self
                        .out
                        .get(..present)
                        .is_some_and(|done| done.binary_search(&id).is_err());
                    if new {
                        self.out.push(id);
                    }
                }
                self.sorted = false;
                return;
            }
        }
        self.sorted &= ascending && self.out.last().is_none_or(|&last| last < first);
        self.out.extend_from_slice(bucket);
    }
}

// ----------------------------------------------------------------- hasher --

/// FxHash (rustc's hasher) over 8-byte words. The string keys are the
/// policy's and an input only looks them up, so flooding one bucket would
/// take the policy author's cooperation: SipHash's protection is not needed.
/// Measured on the 10 015-rule matrix, it makes `candidates` (one string
/// lookup) about 5 ns faster than std's SipHash (81 against 86 ns).
#[derive(Clone, Copy, Default)]
struct FxHasher(u64);

const FX_SEED: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            for (d, s) in w.iter_mut().zip(rest) {
                *d = *s;
            }
            self.word(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.word(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.word(i as u64);
    }

    /// The multiply leaves the low bits depending on the low input bits
    /// only (keys `sys:1`, `sys:2`, .. differ in high bits of their word),
    /// and the table picks a bucket by the low bits: fold the high half in.
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
pub(super) mod tests;
