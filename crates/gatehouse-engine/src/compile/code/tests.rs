//! The compiled conditions against the evaluator of record (`cond::holds`
//! on the checker's trees): generated policies (every kind of test, nested
//! `and`/`or`/`not`, `unless`) over generated slots, both well typed and
//! hostile (slots of the wrong kind, enum values beyond the masks, sets with
//! duplicates).

use std::borrow::Cow;

use proptest::collection::vec;
use proptest::prelude::*;

use super::Code;
use crate::Policy;
use crate::compile::index::tests::{PATHS, SCHEMA, condition, num, pick, slot_of, slot_values};
use crate::eval::cond::holds;
use crate::eval::decode::Slot;
use crate::values::Timestamp;

/// A policy with one rule per `(when, unless..)`, in order.
fn policy(rules: &[(String, Vec<String>)]) -> Policy {
    let mut text =
        format!("policy \"code\" version \"1\"\n{SCHEMA}\ntier 0 \"t\" {{ outcome auto }}\n");
    for (i, (when, unless)) in rules.iter().enumerate() {
        text.push_str(&format!("rule r{i} when {when}\n"));
        for u in unless {
            text.push_str(&format!("  unless {u}\n"));
        }
        text.push_str("  then tier 0\n");
    }
    match Policy::from_source("code.gate", text.clone()) {
        Ok(p) => p,
        Err(e) => panic!("{text}\n{e:?}"),
    }
}

/// Any slot at all, whatever the attribute's type: what a bug upstream of
/// the evaluator could hand it. The compiled tests must still answer what
/// `cond::test_holds` answers.
fn hostile_slot(kind: u16, n: u16, items: &[u16]) -> Slot<'static> {
    let strs = ["prod:x", "", "alice", "sys:1", "eu"];
    match kind % 10 {
        0 => Slot::Missing,
        1 => Slot::Bool(n.is_multiple_of(2)),
        2 => num(pick(&["0", "10", "-5", "1000.5", "70"], n)),
        3 => Slot::Str(Cow::Borrowed(pick(&strs, n))),
        // Values past the 64 bits of a mask, and the edge.
        4 => Slot::Enum(u32::from(pick(&[0u16, 1, 2, 3, 63, 64, 65, 1000], n))),
        5 => Slot::Duration(i64::from(n) * 600),
        6 => Slot::Timestamp(Timestamp::parse("2026-01-01T00:00:00Z").unwrap()),
        7 => Slot::Strings(
            items
                .iter()
                .map(|i| Cow::Borrowed(pick(&strs, *i)))
                .collect(),
        ),
        // Duplicates and out-of-mask elements included.
        _ => Slot::Enums(
            items
                .iter()
                .map(|i| u32::from(pick(&[0u16, 1, 2, 2, 63, 64, 99], *i)))
                .collect(),
        ),
    }
}

fn rules() -> impl Strategy<Value = Vec<(String, Vec<String>)>> {
    vec((condition(), vec(condition(), 0..3)), 1..10)
}

/// Every rule's compiled firing condition against `when && !any(unless)`
/// on the trees.
fn agree(p: &Policy, slots: &[Slot<'_>]) -> Result<(), TestCaseError> {
    let program = p.program();
    let set = &program.set;
    prop_assert_eq!(program.rules.len(), set.rules.len());
    for (rule, facts) in set.rules.iter().zip(&program.rules) {
        let tree = holds(&rule.when, slots) && !rule.unless.iter().any(|u| holds(u, slots));
        prop_assert_eq!(
            program.code.holds(facts.fires, slots),
            tree,
            "rule {} over {:?}",
            rule.name,
            slots
        );
    }
    // Each condition alone, compiled on its own.
    let mut code = Code::default();
    for rule in &set.rules {
        let id = code.add(&rule.when);
        prop_assert_eq!(code.holds(id, slots), holds(&rule.when, slots));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn compiled_conditions_agree_with_the_trees(
        rules in rules(),
        inputs in vec(slot_values(), 1..8),
    ) {
        let p = policy(&rules);
        let set = p.checked();
        for seed in &inputs {
            let slots: Vec<Slot<'static>> = set
                .attributes
                .iter()
                .map(|a| {
                    let ty = PATHS.iter().position(|p| *p == a.path).unwrap();
                    slot_of(ty, &seed[ty])
                })
                .collect();
            agree(&p, &slots)?;
        }
    }

    #[test]
    fn compiled_conditions_agree_on_hostile_slots(
        rules in rules(),
        inputs in vec(vec((any::<u16>(), any::<u16>(), vec(any::<u16>(), 0..4)), PATHS.len()), 1..8),
    ) {
        let p = policy(&rules);
        for seed in &inputs {
            let slots: Vec<Slot<'static>> = seed
                .iter()
                .map(|(kind, n, items)| hostile_slot(*kind, *n, items))
                .collect();
            agree(&p, &slots)?;
            // Fewer slots than attributes: the absent ones are missing.
            agree(&p, slots.get(..seed.len() / 2).unwrap())?;
        }
    }
}

#[test]
fn empty_connectives_and_nesting() {
    use crate::check::{Cond, Test};
    let slots = [Slot::Missing, Slot::Bool(true)];
    let cases = [
        Cond::All(vec![]),
        Cond::Any(vec![]),
        Cond::Not(Box::new(Cond::All(vec![]))),
        Cond::Any(vec![
            Cond::All(vec![
                Cond::Test(1, Test::IsTrue),
                Cond::Test(0, Test::Exists),
            ]),
            Cond::Not(Box::new(Cond::Not(Box::new(Cond::Test(0, Test::Missing))))),
        ]),
        Cond::All(vec![
            Cond::Any(vec![
                Cond::Test(0, Test::Exists),
                Cond::Test(1, Test::IsTrue),
            ]),
            Cond::Test(7, Test::Exists),
        ]),
    ];
    let mut code = Code::default();
    for cond in &cases {
        let id = code.add(cond);
        assert_eq!(code.holds(id, &slots), holds(cond, &slots), "{cond:?}");
    }
    // Conditions compiled earlier still evaluate the same after more were
    // added.
    let ids: Vec<_> = cases.iter().map(|c| code.add(c)).collect();
    for (cond, id) in cases.iter().zip(ids) {
        assert_eq!(code.holds(id, &slots), holds(cond, &slots), "{cond:?}");
    }
}
