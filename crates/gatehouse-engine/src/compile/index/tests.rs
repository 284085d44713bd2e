//! The rule index: each kind of discriminating test, absent slots, the
//! fallback to always, the shape of `out`; and a property test of the
//! superset property against the evaluator's own `holds`.

use std::borrow::Cow;

use proptest::collection::vec;
use proptest::prelude::*;

use super::{MIN_INDEXED_RULES, RuleIndex};
use crate::Policy;
use crate::check::PolicySet;
use crate::eval::cond::holds;
use crate::eval::decode::Slot;
use crate::values::{Decimal, Timestamp};

pub(in crate::compile) const SCHEMA: &str = r#"
schema {
  a.s: string?
  a.t: string?
  a.n: number?
  a.m: number?
  a.d: duration?
  a.ts: timestamp?
  a.e: enum { low, mid, high, approve }?
  a.f: bool?
  a.g: bool?
  a.tags: set of string?
  a.cls: set of enum { red, green, blue }?
}
"#;

/// A policy with these `when` conditions, one rule each, in order.
fn policy(whens: &[String]) -> Policy {
    let mut text =
        format!("policy \"index\" version \"1\"\n{SCHEMA}\ntier 0 \"t\" {{ outcome auto }}\n");
    for (i, w) in whens.iter().enumerate() {
        text.push_str(&format!("rule r{i} when {w} then tier 0\n"));
    }
    match Policy::from_source("index.gate", text.clone()) {
        Ok(p) => p,
        Err(e) => panic!("{text}\n{e:?}"),
    }
}

fn whens(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn attr(set: &PolicySet, path: &str) -> usize {
    set.attributes
        .iter()
        .position(|a| a.path == path)
        .unwrap_or_else(|| panic!("no attribute {path}"))
}

/// Slots with these attributes present, the others absent.
fn slots(set: &PolicySet, present: Vec<(&str, Slot<'static>)>) -> Vec<Slot<'static>> {
    let mut out = vec![Slot::Missing; set.attributes.len()];
    for (path, slot) in present {
        out[attr(set, path)] = slot;
    }
    out
}

fn s(text: &str) -> Slot<'static> {
    Slot::Str(Cow::Owned(text.to_owned()))
}

pub(in crate::compile) fn num(text: &str) -> Slot<'static> {
    Slot::Number(Decimal::parse(text).unwrap())
}

fn strings(items: &[&str]) -> Slot<'static> {
    Slot::Strings(items.iter().map(|i| Cow::Owned((*i).to_owned())).collect())
}

/// Candidates from an index of every rule (no size threshold), checked for
/// the superset property on the way.
fn candidates(p: &Policy, slots: &[Slot<'_>]) -> Vec<u32> {
    let set = p.checked();
    let index = RuleIndex::build_with(set, 0);
    let mut out = vec![7, 7, 7];
    index.candidates(slots, &mut out);
    assert_shape(&out, set.rules.len());
    for (i, rule) in set.rules.iter().enumerate() {
        if holds(&rule.when, slots) {
            assert!(
                out.contains(&(i as u32)),
                "rule {i} holds but is not a candidate"
            );
        }
    }
    out
}

/// Ascending, no duplicates, every id a rule.
fn assert_shape(out: &[u32], rules: usize) {
    assert!(out.windows(2).all(|w| w[0] < w[1]), "{out:?}");
    assert!(out.iter().all(|&i| (i as usize) < rules), "{out:?}");
}

#[test]
fn string_equality_and_in() {
    let p = policy(&whens(&[
        r#"a.s == "x""#,
        r#"a.s in ["y", "z"]"#,
        r#"a.s == "y""#,
        r#"a.s in []"#,
    ]));
    let set = p.checked();
    assert_eq!(candidates(&p, &slots(set, vec![("a.s", s("y"))])), [1, 2]);
    assert_eq!(candidates(&p, &slots(set, vec![("a.s", s("x"))])), [0]);
    assert_eq!(
        candidates(&p, &slots(set, vec![("a.s", s("w"))])),
        [] as [u32; 0]
    );
    assert_eq!(
        candidates(&p, &slots(set, vec![("a.s", s(""))])),
        [] as [u32; 0]
    );
    // Absent: no indexed test holds.
    assert_eq!(candidates(&p, &slots(set, vec![])), [] as [u32; 0]);
    // Another attribute's value does not select these rules.
    assert_eq!(
        candidates(&p, &slots(set, vec![("a.t", s("x"))])),
        [] as [u32; 0]
    );
}

#[test]
fn many_string_keys_hash_apart() {
    let list: Vec<String> = (0..2_000).map(|k| format!(r#"a.s == "sys:{k}""#)).collect();
    let p = policy(&list);
    let set = p.checked();
    for k in [0u32, 1, 10, 999, 1_999] {
        let got = candidates(&p, &slots(set, vec![("a.s", s(&format!("sys:{k}")))]));
        assert_eq!(got, [k]);
    }
    assert_eq!(
        candidates(&p, &slots(set, vec![("a.s", s("sys:2000"))])),
        [] as [u32; 0]
    );
}

#[test]
fn set_of_strings_contains() {
    let p = policy(&whens(&[
        r#"a.tags contains "a""#,
        r#"a.tags contains any ["a", "b"]"#,
        r#"a.tags contains all ["b", "c"]"#,
        r#"a.tags contains all []"#,
        r#"a.tags contains any []"#,
    ]));
    let set = p.checked();
    let got = |items: &[&str]| candidates(&p, &slots(set, vec![("a.tags", strings(items))]));
    assert_eq!(got(&["a", "b"]), [0, 1, 2, 3]);
    // Repeated elements hit a bucket twice; `out` holds each rule once.
    assert_eq!(got(&["a", "a", "a"]), [0, 1, 3]);
    assert_eq!(got(&["c"]), [3]);
    // `contains all []` holds for an empty set: it is filed as `exists`.
    assert_eq!(got(&[]), [3]);
    assert_eq!(candidates(&p, &slots(set, vec![])), [] as [u32; 0]);
}

#[test]
fn enums_and_sets_of_enums() {
    let p = policy(&whens(&[
        "a.e == low",
        r#"a.e in [mid, "high"]"#,
        "a.e == high",
        "a.cls contains red",
        "a.cls contains any [green, blue]",
        "a.cls contains all [blue, red]",
    ]));
    let set = p.checked();
    let got = |e: u32, cls: &[u32]| {
        candidates(
            &p,
            &slots(
                set,
                vec![("a.e", Slot::Enum(e)), ("a.cls", Slot::Enums(cls.to_vec()))],
            ),
        )
    };
    assert_eq!(got(0, &[]), [0]);
    assert_eq!(got(1, &[0]), [1, 3]);
    assert_eq!(got(2, &[1, 2, 1]), [1, 2, 4, 5]);
    assert_eq!(got(3, &[0, 2]), [3, 4, 5]);
    assert_eq!(candidates(&p, &slots(set, vec![])), [] as [u32; 0]);
}

#[test]
fn bools() {
    let p = policy(&whens(&[
        "a.f",
        "a.f == false",
        "a.f != true",
        "not a.f",
        "a.f == a.g",
    ]));
    let set = p.checked();
    // `not a.f` holds when absent, and `a.f == a.g` compares attributes:
    // both are always candidates.
    assert_eq!(
        candidates(&p, &slots(set, vec![("a.f", Slot::Bool(true))])),
        [0, 3, 4]
    );
    assert_eq!(
        candidates(&p, &slots(set, vec![("a.f", Slot::Bool(false))])),
        [1, 2, 3, 4]
    );
    assert_eq!(candidates(&p, &slots(set, vec![])), [3, 4]);
}

#[test]
fn nested_prefixes() {
    let p = policy(&whens(&[
        r#"a.s starts_with "prod:""#,
        r#"a.s starts_with "prod:eu:""#,
        r#"a.s starts_with """#,
        r#"a.s starts_with "p""#,
        r#"a.s starts_with "iam:""#,
        r#"a.s starts_with "prod:eu:""#,
        r#"a.s starts_with "prod:us:""#,
    ]));
    let set = p.checked();
    let got = |v: &str| candidates(&p, &slots(set, vec![("a.s", s(v))]));
    assert_eq!(got("prod:eu:db"), [0, 1, 2, 3, 5]);
    assert_eq!(got("prod:eu:"), [0, 1, 2, 3, 5]);
    assert_eq!(got("prod:eu"), [0, 2, 3]);
    // The last entry <= "prod:f" is "prod:eu:", which is no prefix of it:
    // the walk goes up to "prod:".
    assert_eq!(got("prod:f"), [0, 2, 3]);
    assert_eq!(got("prod:us:x"), [0, 2, 3, 6]);
    assert_eq!(got("prod"), [2, 3]);
    assert_eq!(got("iam:x"), [2, 4]);
    assert_eq!(got("iam"), [2]);
    assert_eq!(got(""), [2]);
    assert_eq!(got("zzz"), [2]);
    assert_eq!(candidates(&p, &slots(set, vec![])), [] as [u32; 0]);
}

#[test]
fn nested_suffixes() {
    let p = policy(&whens(&[
        r#"a.s ends_with ".com""#,
        r#"a.s ends_with "@example.com""#,
        r#"a.s ends_with "naïve""#,
        r#"a.s ends_with """#,
    ]));
    let set = p.checked();
    let got = |v: &str| candidates(&p, &slots(set, vec![("a.s", s(v))]));
    assert_eq!(got("bob@example.com"), [0, 1, 3]);
    assert_eq!(got("bob@other.com"), [0, 3]);
    assert_eq!(got("com"), [3]);
    assert_eq!(got("très naïve"), [2, 3]);
    assert_eq!(got("naïv"), [3]);
}

#[test]
fn thresholds_both_strictnesses() {
    let p = policy(&whens(&[
        "a.n > 10",
        "a.n >= 10",
        "a.n < 10",
        "a.n <= 10",
        "a.n > 5",
        "a.n >= 20",
        "a.n <= 10.00",
        "a.n < -5",
        "a.n == 10",
        "a.n in [10.00, 20]",
    ]));
    let set = p.checked();
    let got = |v: &str| candidates(&p, &slots(set, vec![("a.n", num(v))]));
    assert_eq!(got("10"), [1, 3, 4, 6, 8, 9]);
    assert_eq!(got("10.000"), [1, 3, 4, 6, 8, 9]);
    assert_eq!(got("9.99"), [2, 3, 4, 6]);
    assert_eq!(got("10.01"), [0, 1, 4]);
    assert_eq!(got("20"), [0, 1, 4, 5, 9]);
    assert_eq!(got("5"), [2, 3, 6]);
    assert_eq!(got("-5"), [2, 3, 6]);
    assert_eq!(got("-5.5"), [2, 3, 6, 7]);
    // Inexact input just above 10: above every 10, equal to none.
    assert_eq!(got("10.0000000000000000001"), [0, 1, 4]);
    assert_eq!(candidates(&p, &slots(set, vec![])), [] as [u32; 0]);
}

#[test]
fn durations_and_timestamps() {
    let p = policy(&whens(&[
        "a.d >= 1h",
        "a.d < 30m",
        "a.d == 90m",
        r#"a.ts > "2026-01-01T00:00:00Z""#,
        r#"a.ts <= "2026-01-01T01:00:00+01:00""#,
    ]));
    let set = p.checked();
    let got = |d: i64, ts: &str| {
        candidates(
            &p,
            &slots(
                set,
                vec![
                    ("a.d", Slot::Duration(d)),
                    ("a.ts", Slot::Timestamp(Timestamp::parse(ts).unwrap())),
                ],
            ),
        )
    };
    assert_eq!(got(3_600, "2026-01-01T00:00:00Z"), [0, 4]);
    assert_eq!(got(5_400, "2026-01-01T00:00:01Z"), [0, 2, 3]);
    assert_eq!(got(1_799, "2025-12-31T23:59:59Z"), [1, 4]);
    assert_eq!(got(1_800, "2025-12-31T23:59:59Z"), [4]);
}

#[test]
fn exists_and_negated_missing() {
    let p = policy(&whens(&[
        "a.n exists",
        "not a.n missing",
        "not (a.n missing or a.s missing)",
        "not not a.s exists",
    ]));
    let set = p.checked();
    assert_eq!(
        candidates(&p, &slots(set, vec![("a.n", num("0"))])),
        [0, 1, 2]
    );
    // The third is filed under its first `exists`, `a.n`, and does not hold
    // without it.
    assert_eq!(candidates(&p, &slots(set, vec![("a.s", s(""))])), [3]);
    assert_eq!(candidates(&p, &slots(set, vec![])), [] as [u32; 0]);
}

#[test]
fn rules_without_a_discriminating_test_are_always_candidates() {
    let p = policy(&whens(&[
        r#"a.s != "x""#,
        r#"a.s not in ["x"]"#,
        "a.s missing",
        r#"a.s == "x" or a.t == "y""#,
        "a.n > a.m",
        r#"a.s contains "x""#,
        r#"a.s matches "^x""#,
        r#"not a.s == "x""#,
        "not a.s exists",
        r#"not (a.s == "x" and a.t == "y")"#,
        r#"a.s == a.t"#,
        r#"a.s == "x""#,
    ]));
    let set = p.checked();
    let index = RuleIndex::build_with(set, 0);
    assert_eq!(index.always, (0..11).collect::<Vec<u32>>());
    let all: Vec<u32> = (0..11).collect();
    assert_eq!(candidates(&p, &slots(set, vec![])), all);
    assert_eq!(candidates(&p, &slots(set, vec![("a.s", s("y"))])), all);
    let mut with_last = all.clone();
    with_last.push(11);
    assert_eq!(
        candidates(&p, &slots(set, vec![("a.s", s("x"))])),
        with_last
    );
}

#[test]
fn the_most_selective_test_is_chosen() {
    let p = policy(&whens(&[
        // Equality on a string beats a threshold, wherever it is written.
        r#"a.n > 5 and a.s == "x""#,
        // An enum value beats a bool and `exists`.
        "a.f and a.n exists and a.e == high",
        // Nested conjunctions are searched too.
        r#"a.n > 5 and (a.f and (a.s == "y" or a.s == "z") and a.tags contains "t")"#,
    ]));
    let set = p.checked();
    let index = RuleIndex::build_with(set, 0);
    assert!(index.always.is_empty());
    let got = candidates(
        &p,
        &slots(
            set,
            vec![
                ("a.n", num("10")),
                ("a.s", s("other")),
                ("a.f", Slot::Bool(true)),
                ("a.e", Slot::Enum(0)),
            ],
        ),
    );
    assert_eq!(got, [] as [u32; 0]);
    let got = candidates(
        &p,
        &slots(
            set,
            vec![
                ("a.s", s("x")),
                ("a.e", Slot::Enum(2)),
                ("a.tags", strings(&["t"])),
            ],
        ),
    );
    assert_eq!(got, [0, 1, 2]);
}

#[test]
fn out_is_ascending_without_duplicates_across_buckets() {
    let p = policy(&whens(&[
        "a.f",
        r#"a.tags contains any ["a", "b", "c"]"#,
        "a.n < 100",
        r#"a.s != "q""#,
        "a.n > 1",
        r#"a.s starts_with "x""#,
        "a.e in [low, mid]",
        r#"a.tags contains "b""#,
        "a.n >= 2",
    ]));
    let set = p.checked();
    let got = candidates(
        &p,
        &slots(
            set,
            vec![
                ("a.f", Slot::Bool(true)),
                ("a.tags", strings(&["c", "b", "a", "b"])),
                ("a.n", num("50")),
                ("a.s", s("xy")),
                ("a.e", Slot::Enum(1)),
            ],
        ),
    );
    assert_eq!(got, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn small_policies_are_not_indexed() {
    let list: Vec<String> = (0..MIN_INDEXED_RULES - 1)
        .map(|k| format!(r#"a.s == "k{k}""#))
        .collect();
    let p = policy(&list);
    let index = RuleIndex::build(p.checked());
    assert!(index.is_linear());
    let mut out = Vec::new();
    index.candidates(&slots(p.checked(), vec![]), &mut out);
    assert_eq!(out.len(), MIN_INDEXED_RULES - 1);

    let mut list = list;
    list.push(r#"a.s == "last""#.into());
    let p = policy(&list);
    let index = RuleIndex::build(p.checked());
    assert!(!index.is_linear());
    index.candidates(&slots(p.checked(), vec![("a.s", s("last"))]), &mut out);
    assert_eq!(out, [MIN_INDEXED_RULES as u32 - 1]);
}

#[test]
fn candidate_mask_only_for_sets_that_fit_in_its_bits() {
    // Not indexed: every rule, as bits.
    let p = policy(&whens(&[r#"a.s == "x""#, "a.f"]));
    let index = RuleIndex::build(p.checked());
    assert_eq!(
        index.candidate_mask(&slots(p.checked(), vec![])),
        Some(0b11)
    );
    // Indexed, 64 rules: the hit rule's bit, the always rule's bit.
    let mut list: Vec<String> = (0..63).map(|k| format!(r#"a.s == "k{k}""#)).collect();
    list.push("a.n != 1".into());
    let p = policy(&list);
    let index = RuleIndex::build(p.checked());
    let hit = slots(p.checked(), vec![("a.s", s("k62"))]);
    assert_eq!(index.candidate_mask(&hit), Some(1 << 62 | 1 << 63));
    // 65 rules: no mask, the list instead.
    list.push(r#"a.s == "k64""#.into());
    let p = policy(&list);
    let index = RuleIndex::build(p.checked());
    assert_eq!(index.candidate_mask(&hit), None);
    let mut out = Vec::new();
    index.candidates(&hit, &mut out);
    assert_eq!(out, [62, 63]);
}

#[test]
fn no_allocation_with_capacity_for_every_rule() {
    // Every rule is in three buckets the slot hits, so the hits before
    // deduplication are three times the rules: `out` must compact in place.
    let mut list: Vec<String> = (0..40)
        .map(|_| r#"a.tags contains any ["a", "b", "c"]"#.to_owned())
        .collect();
    list.push("a.n > 0".into());
    list.push("a.n < 100".into());
    let p = policy(&list);
    let set = p.checked();
    let index = RuleIndex::build_with(set, 0);
    let input = slots(
        set,
        vec![
            ("a.tags", strings(&["c", "a", "b", "a"])),
            ("a.n", num("1")),
        ],
    );
    let mut out = Vec::with_capacity(set.rules.len());
    let (ptr, cap) = (out.as_ptr(), out.capacity());
    for _ in 0..3 {
        index.candidates(&input, &mut out);
        assert_eq!(out, (0..42).collect::<Vec<u32>>());
        assert_eq!((out.as_ptr(), out.capacity()), (ptr, cap));
    }
    // Without the capacity, `out` grows like any vector, to the same result.
    let mut small = Vec::new();
    index.candidates(&input, &mut small);
    assert_eq!(small, out);
}

// ------------------------------------------------------------- property --

const STRS: &[&str] = &[
    "prod:", "prod:eu:", "prod", "", "sys:1", "sys:10", "eu", "naïve", "a#b", "q\"x", "b\\s",
];
const INPUT_STRS: &[&str] = &[
    "prod:eu:x",
    "prod:x",
    "pro",
    "sys:1",
    "sys:100",
    "xeu",
    "naïve-eu",
    "peu",
    "PROD:",
    "",
    "prod:",
    "prod:eu:",
    "eu",
    "a#b",
    "q\"x",
    "b\\s",
    "sys:10",
];
const REGEXES: &[&str] = &["^prod", "eu$", "(?i)PROD", ""];
const NUMS: &[&str] = &["10", "10.00", "-5", "0", "1000.5", "0.000000000000000001"];
const INPUT_NUMS: &[&str] = &[
    "10",
    "9.99",
    "10.01",
    "-5",
    "-5.01",
    "0",
    "1000.5",
    "1000.49",
    "0.000000000000000001",
    "99999",
    "10.0000000000000000001",
];
const DURS: &[&str] = &["30m", "1h", "0s", "24h", "1h30m"];
const INPUT_DURS: &[i64] = &[0, 1_799, 1_800, 1_801, 3_600, 5_400, 86_400];
const TSS: &[&str] = &[
    "2026-01-01T00:00:00Z",
    "2026-01-01T01:00:00+01:00",
    "2027-06-30T12:00:00Z",
    "2026-06-01T00:00:00.5Z",
];
const ENUM: &[&str] = &["low", "mid", "high", "approve"];
const CLS: &[&str] = &["red", "green", "blue"];
const ELEMS: &[&str] = &["alice", "bob", "", "carol"];
const CMP: &[&str] = &["==", "!=", "<", "<=", ">", ">="];

pub(in crate::compile) fn pick<T: Copy>(pool: &[T], n: u16) -> T {
    pool[n as usize % pool.len()]
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn list(items: &[u16], f: impl Fn(u16) -> String) -> String {
    let parts: Vec<String> = items.iter().map(|n| f(*n)).collect();
    format!("[{}]", parts.join(", "))
}

/// One test, from seed numbers: attribute, operator, literal, list.
fn predicate(attr: u16, op: u16, lit: u16, items: &[u16]) -> String {
    let strs = |n| quote(pick(STRS, n));
    match attr % 11 {
        0 | 1 => {
            let path = if attr.is_multiple_of(11) {
                "a.s"
            } else {
                "a.t"
            };
            match op % 12 {
                0 | 1 => format!("{path} == {}", strs(lit)),
                2 => format!("{path} != {}", strs(lit)),
                3 => format!("{path} in {}", list(items, strs)),
                4 => format!("{path} not in {}", list(items, strs)),
                5 => format!("{path} contains {}", strs(lit)),
                6 => format!("{path} matches {}", quote(pick(REGEXES, lit))),
                7 | 8 => format!("{path} starts_with {}", strs(lit)),
                9 => format!("{path} ends_with {}", strs(lit)),
                10 => format!("{path} {}", pick(&["exists", "missing"], lit)),
                _ => format!("{path} {} a.s", pick(&["==", "!="], lit)),
            }
        }
        2 | 3 => {
            let path = if attr % 11 == 2 { "a.n" } else { "a.m" };
            let nums = |n| pick(NUMS, n).to_owned();
            match op % 10 {
                0..=4 => format!("{path} {} {}", pick(CMP, op / 10), nums(lit)),
                5 => format!("{path} in {}", list(items, nums)),
                6 => format!("{path} not in {}", list(items, nums)),
                7 => format!("{path} {}", pick(&["exists", "missing"], lit)),
                _ => format!("{path} {} a.n", pick(CMP, lit)),
            }
        }
        4 => match op % 5 {
            0..=2 => format!("a.d {} {}", pick(CMP, op / 5), pick(DURS, lit)),
            3 => format!("a.d in {}", list(items, |n| pick(DURS, n).to_owned())),
            _ => format!("a.d {}", pick(&["exists", "missing"], lit)),
        },
        5 => match op % 4 {
            0..=2 => format!("a.ts {} {}", pick(CMP, op / 4), quote(pick(TSS, lit))),
            _ => format!("a.ts in {}", list(items, |n| quote(pick(TSS, n)))),
        },
        6 => match op % 6 {
            0 | 1 => format!("a.e {} {}", pick(&["==", "!="], op / 6), pick(ENUM, lit)),
            2 | 3 => format!("a.e in {}", list(items, |n| pick(ENUM, n).to_owned())),
            4 => format!("a.e not in {}", list(items, |n| pick(ENUM, n).to_owned())),
            _ => format!("a.e {}", pick(&["exists", "missing"], lit)),
        },
        7 | 8 => {
            let path = if attr % 11 == 7 { "a.f" } else { "a.g" };
            match op % 5 {
                0 | 1 => path.to_owned(),
                2 => format!(
                    "{path} {} {}",
                    pick(&["==", "!="], op / 5),
                    pick(&["true", "false"], lit)
                ),
                3 => format!("{path} {} a.f", pick(&["==", "!="], lit)),
                _ => format!("{path} {}", pick(&["exists", "missing"], lit)),
            }
        }
        9 => {
            let elems = |n| quote(pick(ELEMS, n));
            match op % 4 {
                0 => format!("a.tags contains {}", elems(lit)),
                1 => format!("a.tags contains any {}", list(items, elems)),
                2 => format!("a.tags contains all {}", list(items, elems)),
                _ => format!("a.tags {}", pick(&["exists", "missing"], lit)),
            }
        }
        _ => {
            let cls = |n| pick(CLS, n).to_owned();
            match op % 4 {
                0 => format!("a.cls contains {}", cls(lit)),
                1 => format!("a.cls contains any {}", list(items, cls)),
                2 => format!("a.cls contains all {}", list(items, cls)),
                _ => format!("a.cls {}", pick(&["exists", "missing"], lit)),
            }
        }
    }
}

pub(in crate::compile) fn condition() -> impl Strategy<Value = String> {
    let leaf = (
        any::<u16>(),
        any::<u16>(),
        any::<u16>(),
        vec(any::<u16>(), 0..4),
    )
        .prop_map(|(attr, op, lit, items)| predicate(attr, op, lit, &items));
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| format!("not ({c})")),
            vec(inner.clone(), 2..4).prop_map(|parts| {
                parts
                    .iter()
                    .map(|p| format!("({p})"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            }),
            vec(inner, 2..3).prop_map(|parts| {
                parts
                    .iter()
                    .map(|p| format!("({p})"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            }),
        ]
    })
}

/// The attributes of [`SCHEMA`]: a seed's position is its index here.
pub(in crate::compile) const PATHS: [&str; 11] = [
    "a.s", "a.t", "a.n", "a.m", "a.d", "a.ts", "a.e", "a.f", "a.g", "a.tags", "a.cls",
];

/// A value for each attribute of [`PATHS`], or absent (`None` seeds).
pub(in crate::compile) fn slot_values() -> impl Strategy<Value = Vec<Option<(u16, Vec<u16>)>>> {
    vec(
        prop::option::weighted(0.8, (any::<u16>(), vec(any::<u16>(), 0..4))),
        11,
    )
}

pub(in crate::compile) fn slot_of(ty: usize, seed: &Option<(u16, Vec<u16>)>) -> Slot<'static> {
    let Some((n, items)) = seed else {
        return Slot::Missing;
    };
    let n = *n;
    match ty {
        0 | 1 => Slot::Str(Cow::Borrowed(pick(INPUT_STRS, n))),
        2 | 3 => num(pick(INPUT_NUMS, n)),
        4 => Slot::Duration(pick(INPUT_DURS, n)),
        5 => Slot::Timestamp(Timestamp::parse(pick(TSS, n)).unwrap()),
        6 => Slot::Enum(u32::from(n % 4)),
        7 | 8 => Slot::Bool(n % 2 == 0),
        9 => Slot::Strings(
            items
                .iter()
                .map(|i| Cow::Borrowed(pick(ELEMS, *i)))
                .collect(),
        ),
        _ => Slot::Enums(items.iter().map(|i| u32::from(*i % 3)).collect()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_rule_that_holds_is_a_candidate(
        rules in vec(condition(), 1..16),
        inputs in vec(slot_values(), 1..8),
    ) {
        let p = policy(&rules);
        let set = p.checked();
        prop_assert_eq!(set.attributes.len(), PATHS.len());
        let index = RuleIndex::build_with(set, 0);
        let mut out = Vec::with_capacity(set.rules.len());
        let (ptr, cap) = (out.as_ptr(), out.capacity());
        for seed in &inputs {
            let slots: Vec<Slot<'static>> = set
                .attributes
                .iter()
                .map(|a| {
                    let ty = PATHS.iter().position(|p| *p == a.path).unwrap();
                    slot_of(ty, &seed[ty])
                })
                .collect();
            index.candidates(&slots, &mut out);
            assert_shape(&out, set.rules.len());
            // The bitmask path finds exactly the same candidates.
            let mask = index.candidate_mask(&slots);
            let bits: Vec<u32> = (0..64).filter(|i| mask.unwrap_or(0) >> i & 1 == 1).collect();
            prop_assert_eq!(mask.map(|_| bits), Some(out.clone()));
            prop_assert_eq!((out.as_ptr(), out.capacity()), (ptr, cap));
            for (i, rule) in set.rules.iter().enumerate() {
                if holds(&rule.when, &slots) {
                    prop_assert!(
                        out.binary_search(&(i as u32)).is_ok(),
                        "rule {} (`{}`) holds for {:?} but is not among {:?}",
                        i, rules[i], slots, out
                    );
                }
            }
        }
    }
}
