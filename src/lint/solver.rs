//! A small decision procedure over a policy's conditions, for the lints.
//!
//! Every condition compares attributes with literals (or with each other),
//! so each attribute's domain splits into finitely many cells on which every
//! test of the policy is constant: each enum value and bool, each literal
//! number and the open intervals between them, each literal string and "any
//! other string", and so on. One representative value per cell is enough to
//! decide whether a formula can hold. The search assigns one attribute at a
//! time and evaluates the formula three-valued (unknown while an attribute
//! it needs is unassigned), pruning as soon as it is false.
//!
//! Where cells cannot capture a test exactly (regular expressions, substring
//! tests, sets with many named members), the domain is marked inexact: a
//! model found is still a real model (it is checked by evaluation), but "no
//! model" is then not a proof, and lints that claim "never" stay silent.

use std::cell::Cell;
use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::check::{AttrId, Cond, Operand, PolicySet, Test, Type, Value};
use crate::eval::cond::test_holds;
use crate::eval::decode::{Slot, decode_value};
use crate::values::Decimal;

/// A formula over the policy's conditions.
#[derive(Clone, Debug)]
pub enum Formula<'p> {
    /// All hold.
    All(Vec<Formula<'p>>),
    /// Any holds.
    Any(Vec<Formula<'p>>),
    /// Negation.
    Not(Box<Formula<'p>>),
    /// A condition of the policy.
    Cond(&'p Cond),
    /// A constant.
    Const(bool),
}

impl<'p> Formula<'p> {
    /// `a and not b`
    pub fn and_not(a: Formula<'p>, b: Formula<'p>) -> Formula<'p> {
        Formula::All(vec![a, Formula::Not(Box::new(b))])
    }

    /// The negation.
    pub fn negate(self) -> Formula<'p> {
        Formula::Not(Box::new(self))
    }
}

/// What a search found.
#[derive(Debug)]
pub enum Answer {
    /// A model: one JSON value (or absence) per attribute the formula uses.
    Sat(Vec<(AttrId, Option<Json>)>),
    /// No model; `exact` says whether that is a proof.
    Unsat {
        /// False when an inexact domain was involved.
        exact: bool,
    },
    /// The search budget ran out.
    Unknown,
}

impl Answer {
    /// Whether this proves the formula can never hold.
    pub fn proves_unsat(&self) -> bool {
        matches!(self, Answer::Unsat { exact: true })
    }
}

/// Candidate values of one attribute.
#[derive(Debug)]
struct Domain {
    /// JSON values (None = absent), each decodable as the attribute's type.
    values: Vec<Option<Json>>,
    exact: bool,
}

/// The attribute domains of one policy set.
pub struct Space<'p> {
    set: &'p PolicySet,
    domains: Vec<Domain>,
    /// Evaluations one query may spend.
    pub budget: usize,
    /// Work left for every query together, in formula nodes evaluated, so
    /// that linting a policy of thousands of rules ends in bounded time.
    /// Counted, not timed: the same policy gives the same findings on any
    /// machine. Once spent, every query answers [`Answer::Unknown`].
    remaining: Cell<u64>,
}

/// The work all queries of one lint run may spend together (formula nodes
/// evaluated): a few seconds on a policy of thousands of rules.
pub const TOTAL_BUDGET: u64 = 400_000_000;

/// A value for every attribute, decoded.
pub struct Assignment<'m>(Vec<Option<Slot<'m>>>);

/// A model: one JSON value (or absence) per attribute.
pub type Model = Vec<(AttrId, Option<Json>)>;

impl<'p> Space<'p> {
    /// Builds the cells of every attribute from the literals of the policy.
    pub fn new(set: &'p PolicySet) -> Space<'p> {
        let mut literals: Vec<Literals> =
            set.attributes.iter().map(|_| Literals::default()).collect();
        let mut visit = |c: &Cond| collect(c, &mut literals);
        for r in &set.rules {
            visit(&r.when);
            r.unless.iter().for_each(&mut visit);
        }
        for t in &set.tiers {
            t.requirements
                .iter()
                .filter_map(|r| r.condition.as_ref())
                .for_each(&mut visit);
        }
        for r in &set.roles {
            if let Some(l) = &r.limit
                && let Some(lits) = literals.get_mut(l.attribute)
            {
                lits.numbers.insert(l.value.units());
            }
        }
        let domains = set
            .attributes
            .iter()
            .zip(&literals)
            .map(|(a, lits)| domain(&a.ty, a.optional, lits))
            .collect();
        Space {
            set,
            domains,
            budget: 200_000,
            remaining: Cell::new(TOTAL_BUDGET),
        }
    }

    /// Sets the work left for all queries together (tests use a small one).
    pub fn with_total_budget(self, total: u64) -> Space<'p> {
        self.remaining.set(total);
        self
    }

    /// Whether some query ran out of the total budget: answers from then on
    /// are [`Answer::Unknown`], so findings may be missing.
    pub fn exhausted(&self) -> bool {
        self.remaining.get() == 0
    }

    /// `model` completed with each unassigned attribute's first candidate:
    /// one whole input, decoded, for cheap witnesses ([`Space::witnesses`])
    /// tried before a search.
    pub fn assignment<'m>(&'m self, model: &'m [(AttrId, Option<Json>)]) -> Option<Assignment<'m>> {
        let mut slots: Vec<Option<Slot<'m>>> = Vec::with_capacity(self.set.attributes.len());
        for (id, def) in self.set.attributes.iter().enumerate() {
            let value = match model.iter().find(|(m, _)| *m == id) {
                Some((_, v)) => v.as_ref(),
                None => self
                    .domains
                    .get(id)
                    .and_then(|d| d.values.first())
                    .and_then(Option::as_ref),
            };
            slots.push(Some(match value {
                None => Slot::Missing,
                Some(v) => decode_value(&def.ty, v).ok()?,
            }));
        }
        Some(Assignment(slots))
    }

    /// Whether a rule's condition is known not to match under a whole
    /// assignment (its `when` false, or one of its `unless` true).
    pub fn misses(&self, when: &Cond, unless: &[Cond], at: &Assignment<'_>) -> bool {
        cond3(when, &at.0) == Some(false) || unless.iter().any(|u| cond3(u, &at.0) == Some(true))
    }

    /// Whether `f` holds under a whole assignment: a witness that `f` is
    /// satisfiable, without a search.
    pub fn witnesses(&self, f: &Formula<'_>, at: &Assignment<'_>) -> bool {
        eval3(f, &at.0) == Some(true)
    }

    /// Searches for an assignment under which `f` holds.
    pub fn solve(&self, f: &Formula<'_>) -> Answer {
        let mut attrs = BTreeSet::new();
        mentioned(f, &mut attrs);
        let attrs: Vec<AttrId> = attrs.into_iter().collect();
        let exact = attrs
            .iter()
            .all(|a| self.domains.get(*a).is_some_and(|d| d.exact));
        let mut slots: Vec<Option<Slot<'_>>> = vec![None; self.set.attributes.len()];
        let mut chosen: Vec<(AttrId, Option<Json>)> = Vec::new();
        // Each step evaluates the whole formula once.
        let cost = size(f).max(1);
        let affordable = usize::try_from(self.remaining.get() / cost).unwrap_or(usize::MAX);
        let mut budget = self.budget.min(affordable);
        let before = budget;
        let answer = self.search(f, &attrs, 0, &mut slots, &mut chosen, &mut budget);
        let spent = (before - budget) as u64 * cost;
        self.remaining
            .set(self.remaining.get().saturating_sub(spent));
        if budget == 0 && before < self.budget {
            // Out of the total budget, not just this query's.
            self.remaining.set(0);
        }
        match answer {
            Some(true) => Answer::Sat(chosen),
            Some(false) => Answer::Unsat { exact },
            None => Answer::Unknown,
        }
    }

    /// `Some(true)` with `chosen` filled when a model exists; `Some(false)`
    /// when none does; `None` when out of budget.
    fn search<'d>(
        &'d self,
        f: &Formula<'_>,
        attrs: &[AttrId],
        depth: usize,
        slots: &mut Vec<Option<Slot<'d>>>,
        chosen: &mut Vec<(AttrId, Option<Json>)>,
        budget: &mut usize,
    ) -> Option<bool> {
        if *budget == 0 {
            return None;
        }
        *budget -= 1;
        match eval3(f, slots) {
            Some(true) => return Some(true),
            Some(false) => return Some(false),
            None => {}
        }
        let Some(&attr) = attrs.get(depth) else {
            // every attribute assigned and still unknown cannot happen; treat
            // it as no model rather than loop
            return Some(false);
        };
        let (Some(domain), Some(a)) = (self.domains.get(attr), self.set.attributes.get(attr))
        else {
            return Some(false);
        };
        let mut out_of_budget = false;
        for value in &domain.values {
            let slot = match value {
                None => Slot::Missing,
                Some(v) => match decode_value(&a.ty, v) {
                    Ok(s) => s,
                    Err(_) => continue,
                },
            };
            if let Some(s) = slots.get_mut(attr) {
                *s = Some(slot);
            }
            chosen.push((attr, value.clone()));
            match self.search(f, attrs, depth + 1, slots, chosen, budget) {
                Some(true) => return Some(true),
                Some(false) => {}
                None => out_of_budget = true,
            }
            chosen.pop();
            if out_of_budget {
                break;
            }
        }
        if let Some(s) = slots.get_mut(attr) {
            *s = None;
        }
        if out_of_budget { None } else { Some(false) }
    }

    /// A complete input document: the model's values, every other required
    /// attribute at its first candidate, and every evidence field present
    /// (so missing evidence never explains the example away).
    pub fn example(&self, model: &[(AttrId, Option<Json>)]) -> Json {
        let mut doc = Json::Object(serde_json::Map::new());
        for (id, a) in self.set.attributes.iter().enumerate() {
            let value = match model.iter().find(|(m, _)| *m == id) {
                Some((_, v)) => v.clone(),
                None if a.optional => None,
                None => self
                    .domains
                    .get(id)
                    .and_then(|d| d.values.iter().flatten().next().cloned()),
            };
            if let Some(v) = value {
                insert_path(&mut doc, &a.segments, v);
            }
        }
        let evidence: serde_json::Map<String, Json> = self
            .set
            .evidence
            .iter()
            .map(|e| (e.name.clone(), Json::String("provided".into())))
            .collect();
        if !evidence.is_empty() {
            insert_path(&mut doc, &["evidence".to_owned()], Json::Object(evidence));
        }
        doc
    }
}

fn insert_path(doc: &mut Json, segments: &[String], value: Json) {
    let Some((first, rest)) = segments.split_first() else {
        *doc = value;
        return;
    };
    if !doc.is_object() {
        *doc = Json::Object(serde_json::Map::new());
    }
    if let Json::Object(map) = doc {
        let entry = map.entry(first.clone()).or_insert(Json::Null);
        insert_path(entry, rest, value);
    }
}

/// The number of nodes one evaluation of `f` may visit.
fn size(f: &Formula<'_>) -> u64 {
    match f {
        Formula::All(parts) | Formula::Any(parts) => 1 + parts.iter().map(size).sum::<u64>(),
        Formula::Not(inner) => 1 + size(inner),
        Formula::Cond(c) => cond_size(c),
        Formula::Const(_) => 1,
    }
}

fn cond_size(c: &Cond) -> u64 {
    match c {
        Cond::All(parts) | Cond::Any(parts) => 1 + parts.iter().map(cond_size).sum::<u64>(),
        Cond::Not(inner) => 1 + cond_size(inner),
        Cond::Test(..) => 1,
    }
}

/// Three-valued evaluation: `None` while an attribute it needs is unassigned.
fn eval3(f: &Formula<'_>, slots: &[Option<Slot<'_>>]) -> Option<bool> {
    match f {
        Formula::Const(b) => Some(*b),
        Formula::Not(inner) => eval3(inner, slots).map(|b| !b),
        Formula::All(parts) => {
            let mut unknown = false;
            for p in parts {
                match eval3(p, slots) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown { None } else { Some(true) }
        }
        Formula::Any(parts) => {
            let mut unknown = false;
            for p in parts {
                match eval3(p, slots) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown { None } else { Some(false) }
        }
        Formula::Cond(c) => cond3(c, slots),
    }
}

fn cond3(c: &Cond, slots: &[Option<Slot<'_>>]) -> Option<bool> {
    match c {
        Cond::All(parts) => eval_parts(parts, slots, true),
        Cond::Any(parts) => eval_parts(parts, slots, false),
        Cond::Not(inner) => cond3(inner, slots).map(|b| !b),
        Cond::Test(attr, test) => {
            let slot = slots.get(*attr)?.as_ref()?;
            if let Test::Compare(_, Operand::Attribute(other)) = test {
                slots.get(*other)?.as_ref()?;
                // only a comparison of two attributes reads other slots
                let full: Vec<Slot<'_>> = slots
                    .iter()
                    .map(|s| s.clone().unwrap_or(Slot::Missing))
                    .collect();
                return Some(test_holds(test, slot, &full));
            }
            Some(test_holds(test, slot, &[]))
        }
    }
}

fn eval_parts(parts: &[Cond], slots: &[Option<Slot<'_>>], all: bool) -> Option<bool> {
    let mut unknown = false;
    for p in parts {
        match cond3(p, slots) {
            Some(b) if b != all => return Some(b),
            None => unknown = true,
            Some(_) => {}
        }
    }
    if unknown { None } else { Some(all) }
}

fn mentioned(f: &Formula<'_>, out: &mut BTreeSet<AttrId>) {
    match f {
        Formula::All(p) | Formula::Any(p) => p.iter().for_each(|x| mentioned(x, out)),
        Formula::Not(x) => mentioned(x, out),
        Formula::Cond(c) => cond_attrs(c, out),
        Formula::Const(_) => {}
    }
}

/// The attributes a condition reads.
pub fn cond_attrs(c: &Cond, out: &mut BTreeSet<AttrId>) {
    match c {
        Cond::All(p) | Cond::Any(p) => p.iter().for_each(|x| cond_attrs(x, out)),
        Cond::Not(x) => cond_attrs(x, out),
        Cond::Test(a, t) => {
            out.insert(*a);
            if let Test::Compare(_, Operand::Attribute(b)) = t {
                out.insert(*b);
            }
        }
    }
}

/// Literals the policy compares an attribute with.
#[derive(Debug, Default)]
struct Literals {
    numbers: BTreeSet<i128>,
    strings: BTreeSet<String>,
    /// Whether a test on this attribute cannot be captured by cells.
    inexact: bool,
    /// Other attributes it is compared with.
    peers: BTreeSet<AttrId>,
    /// A substring test (`contains "x"` on a string).
    substring: bool,
}

fn collect(c: &Cond, lits: &mut [Literals]) {
    match c {
        Cond::All(p) | Cond::Any(p) => p.iter().for_each(|x| collect(x, lits)),
        Cond::Not(x) => collect(x, lits),
        Cond::Test(a, t) => {
            let Some(l) = lits.get_mut(*a) else { return };
            let add = |v: &Value, l: &mut Literals| match v {
                Value::Number(d) => {
                    l.numbers.insert(d.units());
                }
                Value::Duration(s) => {
                    l.numbers.insert(i128::from(*s));
                }
                Value::Timestamp(t) => {
                    l.strings.insert(t.to_string());
                }
                Value::String(s) => {
                    l.strings.insert(s.clone());
                }
                Value::Enum(_) | Value::Bool(_) => {}
            };
            match t {
                Test::Compare(_, Operand::Value(v)) | Test::Contains(v) => {
                    add(v, l);
                    if matches!((t, v), (Test::Contains(_), Value::String(_))) {
                        // a substring on a string attribute, a member on a set
                        l.strings.insert(format!("x{}x", value_text(v)));
                        l.substring = true;
                    }
                }
                Test::In(vs) | Test::NotIn(vs) | Test::ContainsAny(vs) | Test::ContainsAll(vs) => {
                    vs.iter().for_each(|v| add(v, l));
                }
                Test::StartsWith(p) => {
                    l.strings.insert(p.clone());
                    l.strings.insert(format!("{p}-x"));
                }
                Test::EndsWith(p) => {
                    l.strings.insert(p.clone());
                    l.strings.insert(format!("x-{p}"));
                }
                Test::Matches(_) => l.inexact = true,
                Test::Compare(_, Operand::Attribute(b)) => {
                    l.peers.insert(*b);
                    l.inexact = true;
                }
                Test::IsTrue | Test::Exists | Test::Missing => {}
            }
        }
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn domain(ty: &Type, optional: bool, lits: &Literals) -> Domain {
    let mut exact = !lits.inexact;
    let mut values: Vec<Option<Json>> = match ty {
        Type::Bool => vec![Some(Json::Bool(true)), Some(Json::Bool(false))],
        Type::Enum(vs) => vs.iter().map(|v| Some(Json::String(v.clone()))).collect(),
        Type::Number => number_cells(&lits.numbers)
            .into_iter()
            .filter_map(|u| serde_json::from_str(&Decimal::from_units(u).to_string()).ok())
            .map(Some)
            .collect(),
        Type::Duration => integer_cells(&lits.numbers, 0)
            .into_iter()
            .filter(|s| *s >= 0)
            .map(|s| Some(Json::from(i64::try_from(s).unwrap_or(0))))
            .collect(),
        Type::Timestamp => {
            let mut out: Vec<Option<Json>> = lits
                .strings
                .iter()
                .filter_map(|s| crate::values::Timestamp::parse(s))
                .flat_map(|t| [t.plus_seconds(-1), t, t.plus_seconds(1)])
                .map(|t| Some(Json::String(t.to_string())))
                .collect();
            out.push(Some(Json::String("2000-01-01T00:00:00Z".into())));
            out
        }
        Type::String => {
            // several substring tests can need one string holding them all
            exact &= !lits.substring;
            let mut out: Vec<Option<Json>> = lits
                .strings
                .iter()
                .map(|s| Some(Json::String(s.clone())))
                .collect();
            out.push(Some(Json::String("zz-other".into())));
            out
        }
        Type::Set(element) => {
            let members: Vec<String> = match element.as_ref() {
                Type::Enum(vs) => vs.clone(),
                _ => {
                    let mut m: Vec<String> = lits.strings.iter().cloned().collect();
                    m.push("zz-other".into());
                    m
                }
            };
            if members.len() <= 6 {
                powerset(&members)
            } else {
                exact = false;
                let mut out = vec![Some(Json::Array(Vec::new()))];
                out.extend(
                    members
                        .iter()
                        .map(|m| Some(Json::Array(vec![Json::String(m.clone())]))),
                );
                out.push(Some(Json::Array(
                    members.iter().cloned().map(Json::String).collect(),
                )));
                out
            }
        }
    };
    if optional {
        values.push(None);
    }
    Domain { values, exact }
}

fn powerset(members: &[String]) -> Vec<Option<Json>> {
    let n = members.len();
    (0u32..(1 << n))
        .map(|mask| {
            let items: Vec<Json> = members
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, m)| Json::String(m.clone()))
                .collect();
            Some(Json::Array(items))
        })
        .collect()
}

/// Each literal, a point between neighbours, and one beyond each end.
fn number_cells(points: &BTreeSet<i128>) -> Vec<i128> {
    integer_cells(points, Decimal::ONE_UNITS)
}

fn integer_cells(points: &BTreeSet<i128>, step: i128) -> Vec<i128> {
    let step = step.max(1);
    let sorted: Vec<i128> = points.iter().copied().collect();
    let mut out = Vec::new();
    match (sorted.first(), sorted.last()) {
        (Some(first), Some(last)) => {
            out.push(first.saturating_sub(step));
            for pair in sorted.windows(2) {
                if let [a, b] = pair {
                    out.push(*a);
                    if b - a >= 2 {
                        out.push(a + (b - a) / 2);
                    }
                }
            }
            out.push(*last);
            out.push(last.saturating_add(step));
        }
        _ => out.extend([0, step]),
    }
    out
}
