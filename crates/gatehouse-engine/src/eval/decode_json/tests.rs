//! `decode_json` against the slow path (`input::parse` + `decode::decode`):
//! targeted cases per rule, then generated documents (valid and mutated)
//! for a test schema with every type and for the shipped policies.

use std::borrow::Cow;
use std::cell::Cell;
use std::path::Path;
use std::sync::OnceLock;

use proptest::collection::vec;
use proptest::prelude::any;
use proptest::test_runner::{Config, TestRunner};

use super::{MAX_UNKNOWN_KEYS, decode_json, wire};
use crate::Policy;
use crate::audit::digest::action_digest;
use crate::audit::digest_text::{DigestScratch, action_digest_text};
use crate::check::Type;
use crate::eval::decode::Decoded;
use crate::eval::decode::{Slot, decode};
use crate::input::{MAX_INPUT_BYTES, MAX_INPUT_DEPTH, Syntax, parse};
use crate::values::{Decimal, Timestamp};

// ------------------------------------------------------------- helpers ----

const SCHEMA: &str = r#"
policy "t" version "1"
schema {
  action.type: enum { read, send, prod-config, knowledge_base }
  action.amount: number?
  action.target: string?
  action.flag: bool?
  action.classes: set of enum { pii, phi, financial }?
  action.tags: set of string?
  action.window: duration?
  action.at: timestamp?
  action.deep.er.value: number?
  action.deep.er.name: string?
  requester.id: string
  change_window.open: bool?
  meta.opt.only: string?
}
evidence { diff, rollback_plan }
default auto
"#;

fn test_policy() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| match Policy::from_source("t.gate", SCHEMA) {
        Ok(p) => p,
        Err(e) => panic!("{}", e),
    })
}

/// The test schema, the shipped policies and the peers' matrix.
fn policies() -> &'static [Policy] {
    static P: OnceLock<Vec<Policy>> = OnceLock::new();
    P.get_or_init(|| {
        // The repository root, which holds the shipped policies.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut out = vec![Policy::from_source("t.gate", SCHEMA).unwrap()];
        for path in [
            "policies/ai-agent-actions",
            "policies/simple-router",
            "benches/peers/policies/matrix.gate",
        ] {
            match Policy::load(root.join(path)) {
                Ok(p) => out.push(p),
                Err(e) => panic!("{path}: {}", e),
            }
        }
        out
    })
}

type Owned = (Vec<Slot<'static>>, Vec<bool>);

fn owned(d: Decoded<'_>) -> Owned {
    (
        d.slots.into_iter().map(Slot::into_owned).collect(),
        d.evidence,
    )
}

/// The one-pass reader (`wire`), checked against the other fast paths:
/// with and without the digest it decodes the same; with it, the digest
/// is the two-pass digest (`action_digest_text`) and, where the slow
/// path's `Value` holds the numbers, the tree's (`action_digest`); and it
/// decodes everything serde_json's visitors (`decode_json`) decode, the
/// same way.
fn fast(p: &Policy, text: &str, strict: bool) -> Option<Owned> {
    let program = p.program();
    let (set, decoder) = (&program.set, &program.decoder);
    let visitors = decode_json(set, decoder, text, strict).map(owned);
    let alone = wire::decode(set, decoder, text, strict).map(owned);
    let mut scratch = DigestScratch::new();
    let mut digest = String::from("before ");
    let one_pass = wire::decode_digest(set, decoder, text, strict, &mut scratch, &mut digest);
    let one_pass = one_pass.map(owned);
    assert_eq!(alone, one_pass, "with and without the digest: {text:?}");
    if one_pass.is_some() {
        let two_pass = action_digest_text(text, &mut DigestScratch::new());
        assert_eq!(digest, format!("before {two_pass}"), "{text:?}");
        if !value_loses_a_literal(text) {
            let value = parse(text, Syntax::Json).expect("decoded, so the reader reads it");
            assert_eq!(two_pass, action_digest(&value), "{text:?}");
        }
    } else {
        assert_eq!(digest, "before ", "refused: no digest");
    }
    if let Some(v) = &visitors {
        assert_eq!(
            Some(v),
            alone.as_ref(),
            "as serde_json's visitors: {text:?}"
        );
    }
    alone
}

fn slow(p: &Policy, text: &str, strict: bool) -> Option<Owned> {
    let program = p.program();
    let value = parse(text, Syntax::Json).ok()?;
    // as `Policy::decode_json` does: never decided with a number the
    // `Value` changed
    if value_loses_a_literal(text) {
        return None;
    }
    decode(&program.set, &program.decoder, &value, strict)
        .ok()
        .map(|d| {
            (
                d.slots.into_iter().map(Slot::into_owned).collect(),
                d.evidence,
            )
        })
}

use super::literal_lost_by_value;
use super::numbers::serde_json_keeps_number_text;

/// Without `arbitrary_precision`: whether `text` has a number literal that a
/// `Value` does not hold exactly. The slow path then refuses the document
/// (`literal_lost_by_value`); the fast path reads the literal, as under
/// `arbitrary_precision` (`numbers_in_every_spelling` checks the values).
fn value_loses_a_literal(text: &str) -> bool {
    literal_lost_by_value(text).is_some()
}

/// The contract: the fast path is `None` or the slow path's `Ok` (where
/// the slow path's `Value` holds the document's numbers). Returns (fast
/// decided, slow succeeded).
fn agree(p: &Policy, text: &str, strict: bool) -> (bool, bool) {
    let f = fast(p, text, strict);
    let s = slow(p, text, strict);
    if let Some(f) = &f {
        if s.is_none() && value_loses_a_literal(text) {
            // the slow path refuses what its `Value` cannot hold; the fast
            // path read the literal
            return (true, false);
        }
        assert_eq!(Some(f), s.as_ref(), "strict={strict} text={text:?}");
    }
    (f.is_some(), s.is_some())
}

/// Decoded by both, identically; the slots.
#[track_caller]
fn decoded(text: &str) -> Owned {
    decoded_with(text, false)
}

#[track_caller]
fn decoded_with(text: &str, strict: bool) -> Owned {
    let p = test_policy();
    let f = fast(p, text, strict);
    if value_loses_a_literal(text) {
        return f.unwrap_or_else(|| panic!("the fast path refuses {text:?}"));
    }
    let s = slow(p, text, strict);
    assert!(s.is_some(), "the slow path refuses {text:?}");
    assert_eq!(f, s, "{text:?}");
    f.unwrap()
}

/// Refused by the slow path, and so by the fast one.
#[track_caller]
fn refused(text: &str) {
    refused_with(text, false);
}

#[track_caller]
fn refused_with(text: &str, strict: bool) {
    let p = test_policy();
    assert!(
        slow(p, text, strict).is_none(),
        "the slow path accepts {text:?}"
    );
    assert!(
        fast(p, text, strict).is_none(),
        "the fast path accepts {text:?}"
    );
}

/// Accepted by the slow path, left to it by the fast one (by design).
#[track_caller]
fn left_to_slow_path(text: &str) {
    let p = test_policy();
    assert!(
        slow(p, text, false).is_some(),
        "the slow path refuses {text:?}"
    );
    assert!(
        fast(p, text, false).is_none(),
        "the fast path decides {text:?}"
    );
}

fn slot_index(path: &str) -> usize {
    test_policy()
        .checked()
        .attributes
        .iter()
        .position(|a| a.path == path)
        .unwrap()
}

/// The slot of `path` after decoding `{"requester":{"id":"u"},"action":{"type":"read", <field>}}`.
#[track_caller]
fn action(field: &str) -> Slot<'static> {
    let path = format!("action.{}", field.split('"').nth(1).unwrap());
    let text = format!(r#"{{"requester":{{"id":"u"}},"action":{{"type":"read",{field}}}}}"#);
    decoded(&text).0[slot_index(&path)].clone()
}

#[track_caller]
fn action_refused(field: &str) {
    refused(&format!(
        r#"{{"requester":{{"id":"u"}},"action":{{"type":"read",{field}}}}}"#
    ));
}

const BASE: &str = r#""requester":{"id":"u"},"action":{"type":"read"}"#;

fn doc(extra: &str) -> String {
    if extra.is_empty() {
        format!("{{{BASE}}}")
    } else {
        format!("{{{BASE},{extra}}}")
    }
}

fn number(text: &str) -> Slot<'static> {
    Slot::Number(Decimal::parse(text).unwrap())
}

fn nested(levels: usize, open: &str, close: &str, inner: &str) -> String {
    format!("{}{inner}{}", open.repeat(levels), close.repeat(levels))
}

// --------------------------------------------------------------- types ----

#[test]
fn the_number_token_is_serde_jsons() {
    let v: serde_json::Value =
        serde_json::from_str(r#"{"$serde_json::private::Number": "12"}"#).unwrap();
    if serde_json_keeps_number_text() {
        assert!(
            v.is_number(),
            "serde_json's private number key changed: {v}"
        );
    } else {
        // Without `arbitrary_precision` the key is an ordinary one.
        assert_eq!(v["$serde_json::private::Number"], "12", "{v}");
    }
    assert_eq!(super::NUMBER_TOKEN, "$serde_json::private::Number");
}

#[test]
fn numbers_in_every_spelling() {
    for text in [
        "0",
        "-0",
        "1",
        "-1",
        "5000",
        "1000.00",
        "1e3",
        "1E3",
        "1e+3",
        "1E-2",
        "2.5E+1",
        "-12.50",
        "0.1",
        "0e0",
        "-0.0",
        "-0e-0",
        "1e20",
        "100000000000000000000",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "0.0000000000000000001",
        "0.1234567890123456789012",
        "1e-400",
        "1e-9999999999",
    ] {
        assert_eq!(
            action(&format!(r#""amount":{text}"#)),
            number(text),
            "{text}"
        );
    }
    // Beyond 1e20 (huge exponents too): refused by Decimal::parse on both paths.
    for text in [
        "1e21",
        "100000000000000000001",
        "1e400",
        "1e1000000",
        "123456789012345678901234567890",
    ] {
        action_refused(&format!(r#""amount":{text}"#));
    }
    // Not JSON numbers.
    for text in [
        "NaN",
        "Infinity",
        "-Infinity",
        "+1",
        "01",
        "1.",
        ".5",
        "1e",
        "0x10",
    ] {
        action_refused(&format!(r#""amount":{text}"#));
    }
    // Wrong types.
    for text in [r#""5""#, "true", "[]", "{}", "[5]", r#"{"a":5}"#] {
        action_refused(&format!(r#""amount":{text}"#));
    }
}

#[test]
fn integers_become_the_decimal_parse_gives() {
    for n in [0, 1, -1, i64::MAX, i64::MIN] {
        let via = Decimal::from_units(i128::from(n) * Decimal::ONE_UNITS);
        assert_eq!(via, Decimal::parse(&n.to_string()).unwrap(), "{n}");
    }
    let via = Decimal::from_units(i128::from(u64::MAX) * Decimal::ONE_UNITS);
    assert_eq!(via, Decimal::parse(&u64::MAX.to_string()).unwrap());
}

#[test]
fn durations_as_text_and_as_whole_seconds() {
    assert_eq!(action(r#""window":"30m""#), Slot::Duration(1800));
    assert_eq!(action(r#""window":"1h30m""#), Slot::Duration(5400));
    assert_eq!(action(r#""window":"7\u0064""#), Slot::Duration(7 * 86_400));
    assert_eq!(action(r#""window":90"#), Slot::Duration(90));
    assert_eq!(action(r#""window":0"#), Slot::Duration(0));
    // `-0` is `Number::as_i64` 0.
    assert_eq!(action(r#""window":-0"#), Slot::Duration(0));
    assert_eq!(
        action(r#""window":9223372036854775807"#),
        Slot::Duration(i64::MAX)
    );
    // `Number::as_i64` is `str::parse::<i64>`: no fraction, no exponent.
    for text in [
        "5.0",
        "1e3",
        "1E3",
        "-1",
        "-0.0",
        "9223372036854775808",
        "18446744073709551615",
        r#""""#,
        r#""abc""#,
        r#""5""#,
        "true",
        "[]",
        "{}",
    ] {
        action_refused(&format!(r#""window":{text}"#));
    }
}

#[test]
fn timestamps_strings_enums_bools() {
    let at = Timestamp::parse("2026-11-22T18:00:00Z").unwrap();
    assert_eq!(
        action(r#""at":"2026-11-22T18:00:00Z""#),
        Slot::Timestamp(at)
    );
    assert_eq!(
        action(r#""at":"2026-11-22T18:00:00\u005a""#),
        Slot::Timestamp(at)
    );
    for text in [r#""2026-13-22T18:00:00Z""#, r#""yesterday""#, "0", "[]"] {
        action_refused(&format!(r#""at":{text}"#));
    }
    assert_eq!(action(r#""flag":true"#), Slot::Bool(true));
    assert_eq!(action(r#""flag":false"#), Slot::Bool(false));
    for text in ["1", r#""true""#, "[]", "{}"] {
        action_refused(&format!(r#""flag":{text}"#));
    }
    assert_eq!(action(r#""target":"crm""#), Slot::Str("crm".into()));
    assert_eq!(action(r#""target":"""#), Slot::Str("".into()));
    assert_eq!(
        action(r#""target":"a\"b\\c\/d\n\u00e9\ud83d\ude00""#),
        Slot::Str("a\"b\\c/d\né😀".into())
    );
    for text in ["1", "true", "[]", "{}", r#"["a"]"#] {
        action_refused(&format!(r#""target":{text}"#));
    }
    // Invalid escapes and lone surrogates: serde_json refuses the text.
    for text in [r#""\ud800""#, r#""\udc00x""#, r#""\x""#, "\"a\u{1}b\""] {
        action_refused(&format!(r#""target":{text}"#));
    }
    let ty = |text: &str| {
        let doc = format!(r#"{{"requester":{{"id":"u"}},"action":{{"type":{text}}}}}"#);
        decoded(&doc).0[slot_index("action.type")].clone()
    };
    assert_eq!(ty(r#""read""#), Slot::Enum(0));
    assert_eq!(ty(r#""send""#), Slot::Enum(1));
    assert_eq!(ty(r#""prod-config""#), Slot::Enum(2));
    assert_eq!(ty(r#""\u0073end""#), Slot::Enum(1));
    for text in [
        r#""READ""#,
        r#""rea""#,
        r#"" read""#,
        "0",
        "true",
        r#"["read"]"#,
    ] {
        refused(&format!(
            r#"{{"requester":{{"id":"u"}},"action":{{"type":{text}}}}}"#
        ));
    }
}

#[test]
fn strings_borrow_unless_escaped() {
    let p = test_policy();
    let text =
        r#"{"requester":{"id":"u-1"},"action":{"type":"read","target":"t\"x","tags":["a","b\n"]}}"#;
    let program = p.program();
    let d = decode_json(&program.set, &program.decoder, text, false).unwrap();
    assert!(matches!(
        &d.slots[slot_index("requester.id")],
        Slot::Str(Cow::Borrowed("u-1"))
    ));
    assert!(
        matches!(&d.slots[slot_index("action.target")], Slot::Str(Cow::Owned(s)) if s == "t\"x")
    );
    match &d.slots[slot_index("action.tags")] {
        Slot::Strings(items) => {
            assert!(matches!(&items[0], Cow::Borrowed("a")));
            assert!(matches!(&items[1], Cow::Owned(s) if s == "b\n"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn sets_of_strings_and_of_enum_values() {
    assert_eq!(
        action(r#""classes":["pii","financial","pii"]"#),
        Slot::Enums(vec![0, 2, 0])
    );
    assert_eq!(action(r#""classes":[]"#), Slot::Enums(vec![]));
    assert_eq!(
        action(r#""tags":["a","","a","\u0062"]"#),
        Slot::Strings(vec!["a".into(), "".into(), "a".into(), "b".into()])
    );
    for text in [
        r#"["pii","nope"]"#,
        r#"["pii",null]"#,
        r#"[1]"#,
        r#"[["pii"]]"#,
        r#""pii""#,
        "{}",
    ] {
        action_refused(&format!(r#""classes":{text}"#));
    }
    for text in [r#"["a",1]"#, r#"[null]"#, r#"[{}]"#, r#""a""#] {
        action_refused(&format!(r#""tags":{text}"#));
    }
}

// --------------------------------------------------- null and absence ----

#[test]
fn null_is_absent() {
    assert_eq!(action(r#""amount":null"#), Slot::Missing);
    assert_eq!(action(r#""classes":null"#), Slot::Missing);
    let d = decoded(&doc(r#""evidence":null,"change_window":null,"meta":null"#));
    assert_eq!(d.1, vec![false, false]);
    // Optional objects may be absent or null; an object holding a required
    // attribute may not.
    decoded(&doc(r#""action2":null"#));
    refused(r#"{"requester":null,"action":{"type":"read"}}"#);
    refused(r#"{"requester":{"id":null},"action":{"type":"read"}}"#);
    refused(r#"{"requester":{},"action":{"type":"read"}}"#);
    refused(r#"{"action":{"type":"read"}}"#);
    refused(r#"{"requester":{"id":"u"},"action":{}}"#);
    refused(r#"{"requester":{"id":"u"},"action":null}"#);
    refused(r#"{"requester":{"id":"u"}}"#);
    // Declared objects must be objects.
    refused(r#"{"requester":{"id":"u"},"action":{"type":"read","deep":5}}"#);
    refused(r#"{"requester":{"id":"u"},"action":{"type":"read","deep":[]}}"#);
    refused(r#"{"requester":"u","action":{"type":"read"}}"#);
    let d =
        decoded(r#"{"requester":{"id":"u"},"action":{"type":"read","deep":{"er":{"value":2}}}}"#);
    assert_eq!(d.0[slot_index("action.deep.er.value")], number("2"));
    decoded(r#"{"requester":{"id":"u"},"action":{"type":"read","deep":{"er":null}}}"#);
}

#[test]
fn evidence_presence() {
    let cases: &[(&str, bool)] = &[
        (r#""x""#, true),
        (r#""""#, false),
        (r#"" \t\n\r""#, false),
        // `str::trim`: Unicode White_Space, not only ASCII.
        (r#""\u00a0\u2003\u3000""#, false),
        (r#""\u2028""#, false),
        // Invisible (Default_Ignorable_Code_Point), alone or with white
        // space: blank, as `identity::is_blank` says (issue 12, promise 9).
        (r#""\u200b""#, false),
        (r#""\ufeff""#, false),
        (r#""\u3164""#, false),
        (r#"" \u00ad\u2060 ""#, false),
        // Blank-looking: control characters, the Braille blank, the
        // interlinear annotation marks (found by the attack round).
        (r#""\u0000""#, false),
        (r#""\u2800\u2800""#, false),
        (r#""\ufff9""#, false),
        // Neither: present.
        (r#""\u200bx""#, true),
        ("true", true),
        ("false", false),
        ("null", false),
        ("0", true),
        ("-0", true),
        ("0.0", true),
        ("[]", false),
        ("[null]", true),
        ("[[]]", true),
        ("{}", false),
        (r#"{"a":null}"#, true),
        (r#"{"a":{}}"#, true),
    ];
    for (value, present) in cases {
        let d = decoded(&doc(&format!(r#""evidence":{{"diff":{value}}}"#)));
        assert_eq!(d.1, vec![*present, false], "{value}");
    }
    // A number no `f64` holds: present under `arbitrary_precision`; without
    // it serde_json refuses the document (out of range), on both paths.
    let huge = doc(r#""evidence":{"diff":1e400}"#);
    if serde_json_keeps_number_text() {
        assert_eq!(decoded(&huge).1, vec![true, false]);
    } else {
        refused(&huge);
    }
    let d = decoded(&doc(
        r#""evidence":{"rollback_plan":"r","other":"o","diff":"  "}"#,
    ));
    assert_eq!(d.1, vec![false, true]);
    let d = decoded(&doc(r#""evidence":{"r\u006fllback_plan":"r"}"#));
    assert_eq!(d.1, vec![false, true]);
    decoded(&doc(r#""evidence":{}"#));
    for value in ["[]", r#""x""#, "5", "true", r#"[{"diff":"d"}]"#] {
        refused(&doc(&format!(r#""evidence":{value}"#)));
    }
}

// ---------------------------------------------------------- duplicates ----

#[test]
fn duplicate_keys_at_any_depth() {
    // Declared keys, at the root and below, also when spelled differently.
    refused(r#"{"requester":{"id":"u"},"action":{"type":"read"},"action":{"type":"read"}}"#);
    refused(r#"{"requester":{"id":"u","id":"u"},"action":{"type":"read"}}"#);
    refused(r#"{"requester":{"id":"u"},"action":{"type":"read","\u0074ype":"read"}}"#);
    refused(r#"{"requester":{"id":"u"},"action":{"type":"read","amount":null,"amount":5}}"#);
    refused(r#"{"requester":{"id":"u"},"action":{"type":"read","deep":{"er":{},"er":{}}}}"#);
    // The evidence pack and its fields.
    refused(&doc(r#""evidence":{},"evidence":{}"#));
    refused(&doc(r#""evidence":null,"evidence":null"#));
    refused(&doc(r#""evidence":{"diff":"a","diff":"b"}"#));
    refused(&doc(r#""evidence":{"x":"a","x":"b"}"#));
    refused(&doc(r#""evidence":{"diff":{"a":1,"a":2}}"#));
    // Undeclared keys, and anything inside undeclared values.
    refused(&doc(r#""x":1,"x":2"#));
    refused(&doc(r#""x":1,"\u0078":2"#));
    refused(&doc(r#""x":{"a":1,"a":1}"#));
    refused(&doc(r#""x":[1,{"b":[{"c":1,"c":1}]}]"#));
    refused(r#"{"requester":{"id":"u","extra":1,"extra":1},"action":{"type":"read"}}"#);
    // Equal keys in different objects are fine.
    decoded(&doc(
        r#""x":{"a":1,"b":{"a":1}},"y":[{"a":1},{"a":1}],"evidence":{"x":{"x":1}}"#,
    ));
}

#[test]
fn many_undeclared_keys() {
    let keys = |n: usize| {
        (0..n)
            .map(|i| format!(r#""k{i}":{i}"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    decoded(&doc(&keys(MAX_UNKNOWN_KEYS)));
    decoded(&doc(&format!(r#""x":{{{}}}"#, keys(MAX_UNKNOWN_KEYS))));
    // Past serde_json's visitors' bound (they leave it to the slow path),
    // the one-pass reader still decides: it sorts the keys of an object
    // that was not in order, and finds a duplicate there.
    let visitors = |text: &str| {
        let program = test_policy().program();
        decode_json(&program.set, &program.decoder, text, false).is_some()
    };
    for text in [
        doc(&keys(MAX_UNKNOWN_KEYS + 1)),
        doc(&format!(r#""x":{{{}}}"#, keys(200))),
    ] {
        assert!(!visitors(&text));
        decoded(&text);
    }
    refused(&doc(&format!(r#""x":{{{},"k0":0}}"#, keys(200))));
    refused(&doc(&format!(r#""x":{{{},"k77":0}}"#, keys(2000))));
}

// --------------------------------------------------------------- depth ----

#[test]
fn nesting_depth_counted_as_the_reader_counts_it() {
    // The root is level 1: an undeclared value at the root may hold 63 more.
    for (open, close) in [("[", "]"), (r#"{"a":"#, "}")] {
        decoded(&doc(&format!(
            r#""x":{}"#,
            nested(MAX_INPUT_DEPTH - 1, open, close, "1")
        )));
        refused(&doc(&format!(
            r#""x":{}"#,
            nested(MAX_INPUT_DEPTH, open, close, "1")
        )));
        // Inside evidence (level 2).
        decoded(&doc(&format!(
            r#""evidence":{{"diff":{}}}"#,
            nested(MAX_INPUT_DEPTH - 2, open, close, "1")
        )));
        refused(&doc(&format!(
            r#""evidence":{{"diff":{}}}"#,
            nested(MAX_INPUT_DEPTH - 1, open, close, "1")
        )));
    }
    // Empty containers count too; numbers and strings do not.
    decoded(&doc(&format!(
        r#""x":{}"#,
        nested(MAX_INPUT_DEPTH - 2, "[", "]", "[]")
    )));
    refused(&doc(&format!(
        r#""x":{}"#,
        nested(MAX_INPUT_DEPTH - 1, "[", "]", "[]")
    )));
    decoded(&doc(&format!(
        r#""x":{}"#,
        nested(MAX_INPUT_DEPTH - 2, "[", "]", "{}")
    )));
    refused(&doc(&format!(
        r#""x":{}"#,
        nested(MAX_INPUT_DEPTH - 1, "[", "]", "{}")
    )));
    decoded(&doc(&format!(
        r#""x":{}"#,
        nested(MAX_INPUT_DEPTH - 1, "[", "]", "1.5e3")
    )));
    // Far too deep for serde_json too.
    refused(&doc(&format!(r#""x":{}"#, nested(100_000, "[", "]", ""))));
}

// -------------------------------------------------------------- strict ----

#[test]
fn strict_refuses_undeclared_fields() {
    decoded_with(&doc(r#""evidence":{"diff":"d"}"#), true);
    decoded_with(
        r#"{"requester":{"id":"u"},"action":{"type":"read","deep":{"er":{"value":1}}}}"#,
        true,
    );
    refused_with(&doc(r#""x":1"#), true);
    refused_with(&doc(r#""x":null"#), true);
    refused_with(
        r#"{"requester":{"id":"u","x":1},"action":{"type":"read"}}"#,
        true,
    );
    refused_with(
        r#"{"requester":{"id":"u"},"action":{"type":"read","deep":{"x":1}}}"#,
        true,
    );
    refused_with(&doc(r#""evidence":{"diff":"d","other":"o"}"#), true);
    // Not strict: the same documents decode.
    decoded(&doc(r#""x":null"#));
    decoded(&doc(r#""evidence":{"diff":"d","other":"o"}"#));
}

// ---------------------------------------------------- the document as a whole ----

#[test]
fn document_level_rules() {
    let plain = doc("");
    decoded(&plain);
    decoded(&format!("\u{feff}{plain}"));
    decoded(&format!(" \n\t{plain} \n\t"));
    refused(&format!("\u{feff}\u{feff}{plain}"));
    refused(&format!("{plain}x"));
    refused(&format!("{plain}{{}}"));
    refused(&format!("{plain},"));
    refused(&plain[..plain.len() - 1]);
    for text in ["", " ", "[]", "[{}]", "null", "5", r#""x""#, "{", "}", "{}"] {
        refused(text);
    }
    refused(&doc(r#""x":NaN"#));
    refused(&format!("{{{BASE},}}"));
    refused(&doc(r#""x":"\ud800""#));
    refused(&doc(r#""\ud800":1"#));
    refused(&doc(r#""x":["\udfff"]"#));
    refused(&doc("\"x\":\"a\tb\""));
    decoded(&doc(r#""x":"\ud83d\ude00","\ud83d\ude00":1"#));
    // Over the size limit (padding is whitespace: the slow path refuses
    // the size, not the text).
    let big = format!("{plain}{}", " ".repeat(MAX_INPUT_BYTES + 1 - plain.len()));
    refused(&big);
    let fits = format!("{plain}{}", " ".repeat(MAX_INPUT_BYTES - plain.len()));
    decoded(&fits);
}

#[test]
fn objects_keyed_by_the_number_token_are_left_to_the_slow_path() {
    let token = r#"{"$serde_json::private::Number":"5"}"#;
    // Under `arbitrary_precision` the slow path reads it as the number 5;
    // without, it is an object (the fast path leaves it to the slow path
    // in both builds).
    left_to_slow_path(&doc(&format!(r#""x":{token}"#)));
    left_to_slow_path(&doc(&format!(r#""evidence":{{"diff":{token}}}"#)));
    let amount =
        format!(r#"{{"requester":{{"id":"u"}},"action":{{"type":"read","amount":{token}}}}}"#);
    if serde_json_keeps_number_text() {
        left_to_slow_path(&amount);
    } else {
        // an object where a number is declared: INVALID_INPUT
        refused(&amount);
        let d = test_policy().evaluate_json(&amount);
        assert_eq!(d.outcome, crate::Outcome::Block);
        assert_eq!(d.input_errors[0].path, "$.action.amount");
    }
    // ...or refuses it; the fast path never decides.
    for value in [
        r#"{"$serde_json::private::Number":"x"}"#,
        r#"{"$serde_json::private::Number":5}"#,
        r#"{"$serde_json::private::Number":"5","a":1}"#,
        r#"{"$serde_json::private::Numbe\u0072":"5"}"#,
    ] {
        let text = doc(&format!(r#""x":{value}"#));
        assert!(fast(test_policy(), &text, false).is_none(), "{text}");
        agree(test_policy(), &text, false);
    }
    refused(r#"{"$serde_json::private::Number":"5"}"#);
    // Only a first key makes a number: later, the token is a plain key.
    decoded(&format!(r#"{{{BASE},"$serde_json::private::Number":"5"}}"#));
    decoded(&doc(r#""x":{"a":1,"$serde_json::private::Number":"5"}"#));
    let evidence = doc(&format!(r#""evidence":{token}"#));
    if serde_json_keeps_number_text() {
        // a number where the evidence object goes
        refused(&evidence);
    } else {
        // an evidence object with an undeclared field
        left_to_slow_path(&evidence);
    }
}

// ---------------------------------------------------- generated documents ----

/// Choices from a byte string: 0 (also past the end) is always the plain
/// choice, so shrinking leads to simple documents.
struct Gen {
    bytes: Vec<u8>,
    at: usize,
    /// Only well-formed, fitting, plainly spelled documents.
    plain: bool,
    /// How many faults to put in (0 to 3; 0: none, but odd spellings).
    mess: u8,
    next_key: usize,
}

impl Gen {
    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::from(self.byte()) % n
        }
    }

    /// True with odds k/256; never when plain.
    fn odds(&mut self, k: u8) -> bool {
        let b = self.byte();
        !self.plain && b != 0 && b <= k
    }

    /// A fault, with odds k/256 scaled by `mess`; never when plain.
    fn fault(&mut self, k: u8) -> bool {
        let b = u32::from(self.byte());
        !self.plain && b != 0 && b <= u32::from(k) * u32::from(self.mess) / 2
    }

    fn pick<'x>(&mut self, from: &[&'x str]) -> &'x str {
        from[self.below(from.len())]
    }
}

/// A document under construction: scalars as JSON text; keys unescaped
/// (their spelling is chosen when rendering).
#[derive(Clone, Debug)]
enum J {
    Lit(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "5000",
    "1000.00",
    "1e3",
    "1E3",
    "1e+3",
    "1E-2",
    "2.5E+1",
    "-12.50",
    "-0",
    "-0.0",
    "0e0",
    "5.0",
    "0.1",
    "1e20",
    "1e21",
    "1e400",
    "1e-400",
    "1e1000000",
    "1e-9999999999",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "100000000000000000000",
    "100000000000000000001",
    "123456789012345678901234567890",
    "0.0000000000000000001",
    "0.1234567890123456789012",
];
const PLAIN_NUMBERS: &[&str] = &[
    "0", "1", "12", "999", "1000", "1001", "5000", "10000", "150000", "12.5", "0.75",
];
const STRINGS: &[&str] = &[
    r#""""#,
    r#""  ""#,
    r#""crm""#,
    r#""a\"b""#,
    r#""caf\u00e9""#,
    r#""\ud83d\ude00""#,
    r#""tab\t""#,
    r#""\u0000""#,
    r#""\u00a0""#,
    r#""\u200b""#,
    r#""\/""#,
    "\"日本\"",
    r#""\ud800""#,
    r#""\udc00""#,
    r#""\x""#,
    "\"a\u{1}\"",
    r#""30m""#,
    r#""2026-11-22T18:00:00Z""#,
    r#""read""#,
];
const PLAIN_STRINGS: &[&str] = &[
    r#""crm""#,
    r#""u-1""#,
    r#""prod/api""#,
    r#""hello world""#,
    "\"é\"",
];
const DURATIONS: &[&str] = &[
    r#""30m""#,
    r#""24h""#,
    r#""7d""#,
    r#""1h30m""#,
    r#""90s""#,
    r#""""#,
    r#""abc""#,
    r#""0""#,
    "0",
    "-0",
    "5",
    "5.0",
    "1e3",
    "-1",
    "9223372036854775807",
    "9223372036854775808",
    "3600",
];
const PLAIN_DURATIONS: &[&str] = &[r#""30m""#, r#""24h""#, r#""7d""#, "90", "3600"];
const TIMESTAMPS: &[&str] = &[
    r#""2026-11-22T18:00:00Z""#,
    r#""2026-11-22T18:00:00.123+01:00""#,
    r#""2026-13-01T00:00:00Z""#,
    r#""not a time""#,
    "0",
];
const WRONG: &[&str] = &[
    r#""5""#,
    "5",
    "true",
    "{}",
    "[]",
    r#"["a"]"#,
    r#"{"a":1}"#,
    r#""""#,
    "null",
];
const WILD_KEYS: &[&str] = &[
    "a",
    "b",
    "type",
    "id",
    "diff",
    "é",
    "",
    "a b",
    "$serde_json::private::Number",
];
const TOKEN: &str = "$serde_json::private::Number";

fn spell_string(g: &mut Gen, s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap();
    if g.odds(30) {
        // Escape the first character when it is plain ASCII.
        if let Some(c) = s.chars().next().filter(char::is_ascii_alphanumeric) {
            return format!("\"\\u{:04x}{}", c as u32, &quoted[2..]);
        }
    }
    quoted
}

fn fitting(g: &mut Gen, ty: &Type) -> J {
    let weird = g.odds(24);
    J::Lit(match ty {
        Type::Bool => g.pick(&["true", "false"]).to_owned(),
        Type::Number if weird => g.pick(NUMBERS).to_owned(),
        Type::Number => g.pick(PLAIN_NUMBERS).to_owned(),
        Type::String if weird => g.pick(STRINGS).to_owned(),
        Type::String => g.pick(PLAIN_STRINGS).to_owned(),
        Type::Duration if weird => g.pick(DURATIONS).to_owned(),
        Type::Duration => g.pick(PLAIN_DURATIONS).to_owned(),
        Type::Timestamp if weird => g.pick(TIMESTAMPS).to_owned(),
        Type::Timestamp => TIMESTAMPS[g.below(2)].to_owned(),
        Type::Enum(values) => {
            let v = &values[g.below(values.len())];
            if weird {
                match g.below(3) {
                    0 => spell_string(g, v),
                    1 => serde_json::to_string(&v.to_uppercase()).unwrap(),
                    _ => r#""unknown""#.to_owned(),
                }
            } else {
                spell_string(g, v)
            }
        }
        Type::Set(inner) => {
            let n = g.below(4);
            let mut items: Vec<J> = (0..n).map(|_| fitting(g, inner)).collect();
            if g.fault(20) {
                items.push(J::Lit(g.pick(&["null", "1", "[]", r#""""#]).to_owned()));
            }
            if g.odds(40)
                && let Some(first) = items.first().cloned()
            {
                items.push(first);
            }
            return J::Arr(items);
        }
    })
}

fn wild(g: &mut Gen, depth: usize) -> J {
    let top = if depth >= 4 { 4 } else { 7 };
    match g.below(top) {
        0 => J::Lit("null".into()),
        1 => J::Lit(g.pick(&["true", "false"]).into()),
        2 => J::Lit(g.pick(NUMBERS).into()),
        3 => J::Lit(g.pick(STRINGS).into()),
        4 | 5 => J::Arr((0..g.below(4)).map(|_| wild(g, depth + 1)).collect()),
        _ => {
            let mut entries = Vec::new();
            for _ in 0..g.below(5) {
                let key = if g.fault(50) {
                    g.pick(WILD_KEYS).to_owned()
                } else {
                    g.next_key += 1;
                    format!("k{}", g.next_key)
                };
                entries.push((key, wild(g, depth + 1)));
            }
            J::Obj(entries)
        }
    }
}

fn entries(j: &mut J) -> &mut Vec<(String, J)> {
    if !matches!(j, J::Obj(_)) {
        *j = J::Obj(Vec::new());
    }
    match j {
        J::Obj(e) => e,
        _ => unreachable!(),
    }
}

fn set_path(root: &mut J, segments: &[String], value: J) {
    let (last, parents) = segments.split_last().unwrap();
    let mut at = root;
    for seg in parents {
        let e = entries(at);
        let i = match e.iter().position(|(k, _)| k == seg) {
            Some(i) => i,
            None => {
                e.push((seg.clone(), J::Obj(Vec::new())));
                e.len() - 1
            }
        };
        at = &mut e[i].1;
    }
    entries(at).push((last.clone(), value));
}

/// The path (indexes of array items and object entries) of every object
/// in the document, the root included.
fn object_paths(j: &J, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    match j {
        J::Lit(_) => {}
        J::Arr(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i);
                object_paths(item, path, out);
                path.pop();
            }
        }
        J::Obj(e) => {
            out.push(path.clone());
            for (i, (_, v)) in e.iter().enumerate() {
                path.push(i);
                object_paths(v, path, out);
                path.pop();
            }
        }
    }
}

fn at_path<'j>(j: &'j mut J, path: &[usize]) -> &'j mut J {
    match (path.split_first(), j) {
        (None, j) => j,
        (Some((i, rest)), J::Arr(items)) => at_path(&mut items[*i], rest),
        (Some((i, rest)), J::Obj(e)) => at_path(&mut e[*i].1, rest),
        (Some(_), J::Lit(_)) => unreachable!(),
    }
}

/// A random object of the document.
fn some_object<'j>(g: &mut Gen, root: &'j mut J) -> Option<&'j mut Vec<(String, J)>> {
    let mut paths = Vec::new();
    object_paths(root, &mut Vec::new(), &mut paths);
    if paths.is_empty() {
        return None;
    }
    let path = paths[g.below(paths.len())].clone();
    match at_path(root, &path) {
        J::Obj(e) => Some(e),
        _ => None,
    }
}

fn render(g: &mut Gen, j: &J, out: &mut String) {
    let ws = |g: &mut Gen| -> &'static str {
        if g.odds(30) {
            ["", " ", "\n  ", "\t", "\r\n"][g.below(5)]
        } else {
            ""
        }
    };
    match j {
        J::Lit(s) => out.push_str(s),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws(g));
                render(g, item, out);
                out.push_str(ws(g));
            }
            out.push(']');
        }
        J::Obj(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws(g));
                let key = spell_string(g, k);
                out.push_str(&key);
                out.push_str(ws(g));
                out.push(':');
                out.push_str(ws(g));
                render(g, v, out);
            }
            out.push_str(ws(g));
            out.push('}');
        }
    }
}

fn deep(g: &mut Gen, levels: usize) -> J {
    let mut j = J::Lit(g.pick(&["1", "[]", "{}", r#""x""#]).to_owned());
    for _ in 0..levels {
        j = if g.below(2) == 0 {
            J::Arr(vec![j])
        } else {
            J::Obj(vec![("d".to_owned(), j)])
        };
    }
    j
}

/// A document for `policy`: every attribute fitting, absent, null,
/// mistyped or wild; evidence in every form; then mutations (undeclared
/// and duplicate keys, deep nesting, the number token, a bad root, textual
/// damage). With `g.plain`, only valid documents, plainly spelled.
fn generate(g: &mut Gen, policy: &Policy) -> String {
    let set = policy.checked();
    let mut root = J::Obj(Vec::new());
    for attr in &set.attributes {
        let value = if g.fault(40) {
            match g.below(4) {
                0 => continue,
                1 => J::Lit("null".into()),
                2 => J::Lit(g.pick(WRONG).to_owned()),
                _ => wild(g, 2),
            }
        } else if attr.optional && g.below(4) == 0 {
            if g.below(2) == 0 {
                continue;
            }
            J::Lit("null".into())
        } else {
            fitting(g, &attr.ty)
        };
        set_path(&mut root, &attr.segments, value);
    }
    if !set.evidence.is_empty() && (g.plain || !g.odds(20)) {
        let mut pack = J::Obj(Vec::new());
        for e in &set.evidence {
            let value = if g.plain {
                match g.below(3) {
                    0 => J::Lit(r#""attached""#.into()),
                    1 => continue,
                    _ => J::Lit(
                        g.pick(&[
                            "true", "false", "null", "[]", "{}", r#""  ""#, "1", r#"["x"]"#,
                        ])
                        .into(),
                    ),
                }
            } else {
                match g.below(16) {
                    0..=3 => J::Lit(r#""attached""#.into()),
                    4 | 5 => continue,
                    6 => J::Lit("null".into()),
                    7 => J::Lit(g.pick(&["true", "false"]).into()),
                    8 => J::Lit(
                        g.pick(&[
                            r#"" \t""#,
                            r#""\u00a0""#,
                            r#""\u2028""#,
                            r#""\u200b""#,
                            r#""""#,
                        ])
                        .into(),
                    ),
                    9 => J::Lit(g.pick(&["[]", "{}", "[null]", r#"{"a":null}"#]).into()),
                    10 => J::Lit(g.pick(NUMBERS).into()),
                    _ => wild(g, 3),
                }
            };
            entries(&mut pack).push((e.name.clone(), value));
        }
        if g.odds(40) {
            let v = wild(g, 3);
            entries(&mut pack).push(("source_citation_x".into(), v));
        }
        let pack = if g.fault(10) {
            J::Lit(g.pick(&["null", "[]", r#""x""#, "1"]).into())
        } else {
            pack
        };
        entries(&mut root).push(("evidence".into(), pack));
    }
    // Mutations.
    if g.fault(50) {
        // An undeclared key somewhere (maybe equal to another).
        let v = wild(g, 2);
        let key = if g.odds(128) {
            g.pick(WILD_KEYS).to_owned()
        } else {
            "x_extra".to_owned()
        };
        if let Some(e) = some_object(g, &mut root) {
            e.push((key, v));
        }
    }
    if g.fault(40) {
        // Nesting around the limit.
        let levels = 58 + g.below(10);
        let v = deep(g, levels);
        if let Some(e) = some_object(g, &mut root) {
            e.push(("deep".into(), v));
        }
    }
    if g.fault(30) {
        // An object keyed by serde_json's number token, for some value.
        let value = g.pick(&[r#""5""#, r#""1e3""#, r#""x""#, "5"]).to_owned();
        let tok = J::Obj(vec![(TOKEN.to_owned(), J::Lit(value))]);
        if let Some(e) = some_object(g, &mut root) {
            if e.is_empty() {
                e.push(("x_token".into(), tok));
            } else {
                let i = g.below(e.len());
                e[i].1 = tok;
            }
        }
    }
    if g.fault(50) {
        // A key given twice.
        if let Some(e) = some_object(g, &mut root)
            && !e.is_empty()
        {
            let k = g.below(e.len());
            let copy = e[k].clone();
            let at = g.below(e.len() + 1);
            e.insert(at, copy);
        }
    }
    if g.fault(4) {
        root = wild(g, 0);
    }
    let mut text = String::new();
    if g.odds(20) {
        text.push('\u{feff}');
    }
    if g.fault(4) {
        text.push('\u{feff}');
    }
    if g.odds(20) {
        text.push_str(" \n");
    }
    render(g, &root, &mut text);
    if g.odds(20) {
        text.push_str(g.pick(&[" ", "\n", "\t\r\n "]));
    }
    if g.fault(20) {
        text.push_str(g.pick(&[" x", ",", "}", "{}", "\u{0}", "\u{feff}"]));
    }
    if g.fault(10) {
        let cut = g.below(text.len() + 1);
        let mut cut = cut;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// All-zero choices give a plain, valid document.
#[test]
fn generator_smoke() {
    let mut g = Gen {
        bytes: Vec::new(),
        at: 0,
        plain: true,
        mess: 0,
        next_key: 0,
    };
    for p in policies() {
        let text = generate(&mut g, p);
        assert!(fast(p, &text, false).is_some(), "{text}");
    }
}

/// A fixed-seed linear congruential generator for the plain corpus.
fn lcg_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 33) as u8
        })
        .collect()
}

#[test]
fn plain_documents_are_always_decoded() {
    for (k, p) in policies().iter().enumerate() {
        let total = 2_000;
        for i in 0..total {
            let mut g = Gen {
                bytes: lcg_bytes((k * 100_000 + i) as u64, 512),
                at: 0,
                plain: true,
                mess: 0,
                next_key: 0,
            };
            let text = generate(&mut g, p);
            for strict in [false, true] {
                let (f, s) = agree(p, &text, strict);
                assert!(s, "a plain document must be valid: {text}");
                assert!(f, "a plain document must be decoded: {text}");
            }
        }
        eprintln!(
            "{}: {total}/{total} plain documents decoded by the fast path",
            p.name()
        );
    }
}

#[test]
fn generated_documents_agree_with_the_slow_path() {
    let cases = 10_000;
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let counts = Cell::new([0usize; 4]);
    let strategy = (vec(any::<u8>(), 0..600), 0..policies().len(), any::<bool>());
    runner
        .run(&strategy, |(bytes, which, strict)| {
            let p = &policies()[which];
            let mess = bytes.first().map_or(0, |b| b % 4);
            let mut g = Gen {
                bytes,
                at: 1,
                plain: false,
                mess,
                next_key: 0,
            };
            let text = generate(&mut g, p);
            let (f, s) = agree(p, &text, strict);
            if s && !f && std::env::var_os("SHOW_LEFT").is_some() {
                eprintln!("left to the slow path: {text:?}");
            }
            let mut c = counts.get();
            c[usize::from(s) * 2 + usize::from(f)] += 1;
            counts.set(c);
            Ok(())
        })
        .unwrap();
    let [neither, _, slow_only, both] = counts.get();
    eprintln!(
        "generated: {both} decoded by both, {slow_only} valid but left to the slow path, {neither} refused by both"
    );
    // The generator keeps a fair share valid, and the fast path decides
    // nearly all of those (leaving only token objects and the like).
    assert!(both + slow_only > cases as usize / 10, "{:?}", counts.get());
    assert!(slow_only * 20 < both, "{:?}", counts.get());
}
