//! The one-pass reader against the two-pass path and the tree path on
//! hostile generated text: keys from the schema in any order, spelled with
//! escapes, given twice; strings with every escape, unicode, lone
//! surrogates and raw control characters; numbers of every spelling
//! (exponents, `-0`, huge, tiny, beyond an `f64`); unknown and nested
//! unknown fields; nesting around the depth limit; byte order marks;
//! truncations and stray bytes. (`decode_json/tests.rs` also runs every
//! one of its documents through all three paths.)

use std::cell::Cell;
use std::sync::OnceLock;

use proptest::collection::vec;
use proptest::prelude::any;
use proptest::test_runner::{Config, TestRunner};

use super::{decode as one_pass_alone, decode_digest, exact_number};
use crate::audit::digest::action_digest;
use crate::audit::digest_text::{DigestScratch, action_digest_text};
use crate::eval::EvalOptions;
use crate::eval::decode::Slot;
use crate::eval::decode::decode as tree_decode;
use crate::eval::decode_json::{decode_json, literal_lost_by_value};
use crate::input::{MAX_INPUT_DEPTH, Syntax, parse};
use crate::values::Decimal;
use crate::{Input, Policy};

#[test]
fn plain_integers_read_as_decimal_parse_reads_them() {
    let mut literals: Vec<String> = ["0", "-0", "1", "-1", "7", "10", "-99"]
        .map(String::from)
        .to_vec();
    for len in 1..=20 {
        literals.push("9".repeat(len));
        literals.push(format!("-{}", "9".repeat(len)));
        literals.push(format!("1{}", "0".repeat(len)));
        literals.push(format!("-1{}", "0".repeat(len)));
    }
    for literal in literals {
        assert_eq!(
            exact_number(&literal),
            Decimal::parse(&literal).ok(),
            "{literal}"
        );
    }
}

const SCHEMA: &str = r#"
policy "w" version "1"
schema {
  action.type: enum { read, send, prod-x }
  action.amount: number?
  action.target: string?
  action.flag: bool?
  action.classes: set of enum { pii, phi }?
  action.tags: set of string?
  action.window: duration?
  action.at: timestamp?
  action.deep.er.value: number?
  requester.id: string
}
evidence { diff, rollback_plan }
default auto
"#;

fn policy() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| match Policy::from_source("w.gate", SCHEMA) {
        Ok(p) => p,
        Err(e) => panic!("{}", e),
    })
}

/// Choices from bytes; 0 (also past the end) is the plain choice.
struct Gen {
    bytes: Vec<u8>,
    at: usize,
}

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        usize::from(b) % n.max(1)
    }

    fn pick<'x>(&mut self, from: &[&'x str]) -> &'x str {
        from[self.below(from.len())]
    }

    /// Mostly one of the first `plain` entries, sometimes any.
    fn mostly<'x>(&mut self, from: &[&'x str], plain: usize) -> &'x str {
        if self.below(4) == 0 {
            self.pick(from)
        } else {
            from[self.below(plain.min(from.len()))]
        }
    }
}

const KEYS: &[&str] = &[
    "action",
    "type",
    "amount",
    "target",
    "flag",
    "classes",
    "tags",
    "window",
    "at",
    "deep",
    "er",
    "value",
    "requester",
    "id",
    "evidence",
    "diff",
    "rollback_plan",
    "x",
    "é",
    "\u{1f600}",
    "\u{fb01}",
    "",
    "$serde_json::private::Number",
];

const STRINGS: &[&str] = &[
    "read",
    "send",
    "prod-x",
    "pii",
    "phi",
    "u",
    "30m",
    "24h",
    "7d",
    "1h30m",
    "2026-11-22T18:00:00Z",
    "2026-11-22T18:00:00+01:00",
    "2026-13-01T00:00:00Z",
    "",
    " ",
    "\\u0072ead",
    "\\u0070rod-x",
    "a\\nb",
    "\\\"",
    "\\\\",
    "\\/",
    "\\b\\f\\r\\t",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\udc00x",
    "\\u12",
    "\\x",
    "\u{1}",
    "\u{7f}\u{2028}",
    "\\u0000",
    "\\u00a0",
    "\\u200b",
    "\u{10ffff}",
];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "5",
    "2.50",
    "1E3",
    "1e+3",
    "1e-3",
    "-0.0",
    "1.0e400",
    "1e400",
    "-1e400",
    "1e-400",
    "1e308",
    "1.7976931348623157e308",
    "1.8e308",
    "9007199254740993",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "100000000000000000000",
    "99999999999999999999",
    "1000.0000000000000001",
    "0.000000000000000001",
    "0.0000000000000000001",
    "123456789012345678",
    "1234567890123456789",
    "01",
    "1.",
    ".5",
    "-",
    "+1",
    "1e",
    "NaN",
    "0e99999999999999999999",
    "1e99999999999999999999",
];

/// A key, maybe spelled with an escape.
fn key(g: &mut Gen) -> String {
    let k = g.pick(KEYS);
    match (g.below(8), k.chars().next()) {
        (1, Some(c)) if c.is_ascii() => format!("\\u{:04x}{}", c as u32, &k[1..]),
        _ => k.to_owned(),
    }
}

fn value(g: &mut Gen, depth: usize, out: &mut String) {
    match g.below(if depth > 3 { 6 } else { 9 }) {
        0 | 1 => {
            out.push('"');
            out.push_str(g.mostly(STRINGS, 20));
            out.push('"');
        }
        2 | 3 => out.push_str(g.mostly(NUMBERS, 10)),
        4 => out.push_str(g.pick(&["true", "false", "null", "nul", "tru"])),
        5 if g.below(4) == 0 => {
            // Nesting around the limit.
            let levels = MAX_INPUT_DEPTH - 3 + g.below(6);
            let (open, close) = if g.below(2) == 0 {
                ("[", "]")
            } else {
                (r#"{"d":"#, "}")
            };
            out.push_str(&open.repeat(levels));
            out.push('1');
            out.push_str(&close.repeat(levels));
        }
        5 | 6 => {
            out.push('[');
            for n in 0..g.below(4) {
                if n > 0 {
                    out.push_str(g.pick(&[",", ", ", ",\n"]));
                }
                value(g, depth + 1, out);
            }
            out.push(']');
        }
        _ => object(g, depth + 1, out),
    }
}

fn object(g: &mut Gen, depth: usize, out: &mut String) {
    out.push('{');
    let n = g.below(7);
    for i in 0..n {
        if i > 0 {
            out.push_str(g.pick(&[",", ", ", " ,\t"]));
        }
        out.push('"');
        out.push_str(&key(g));
        out.push_str(g.pick(&["\":", "\" : "]));
        value(g, depth, out);
    }
    out.push('}');
}

/// A document: mostly an object for the schema, then damage.
fn document(g: &mut Gen) -> String {
    let mut text = String::new();
    if g.below(10) == 1 {
        text.push('\u{feff}');
    }
    if g.below(3) != 0 {
        // Shaped like the schema, members in any order.
        let mut members = vec![
            format!(r#""requester":{{"id":"{}"}}"#, g.mostly(STRINGS, 20)),
            format!(
                r#""action":{{"type":"{}""#,
                g.pick(&["read", "send", "prod-x", "\\u0072ead"])
            ),
        ];
        let mut action = members.pop().unwrap_or_default();
        for field in [
            "amount", "target", "flag", "classes", "tags", "window", "at", "deep",
        ] {
            if g.below(2) == 0 {
                action.push_str(&format!(r#","{field}":"#));
                match field {
                    "classes" | "tags" => {
                        let items: Vec<String> = (0..g.below(3))
                            .map(|_| format!("\"{}\"", g.mostly(STRINGS, 5)))
                            .collect();
                        action.push_str(&format!("[{}]", items.join(",")));
                    }
                    "deep" => action.push_str(&format!(
                        r#"{{"er":{{"value":{}}}}}"#,
                        g.mostly(NUMBERS, 10)
                    )),
                    _ if g.below(4) == 0 => value(g, 1, &mut action),
                    "amount" => action.push_str(g.mostly(NUMBERS, 10)),
                    "flag" => action.push_str(g.pick(&["true", "false", "null"])),
                    "window" => action.push_str(g.pick(&["\"30m\"", "\"1h30m\"", "60", "-1"])),
                    "at" => action.push_str(g.pick(&[
                        "\"2026-11-22T18:00:00Z\"",
                        "\"2026-11-22T18:00:00.5+01:00\"",
                    ])),
                    _ => {
                        action.push('"');
                        action.push_str(g.mostly(STRINGS, 20));
                        action.push('"');
                    }
                }
            }
        }
        action.push('}');
        members.push(action);
        if g.below(2) == 0 {
            let mut pack = String::new();
            value(g, 1, &mut pack);
            members.push(format!(
                r#""evidence":{{"diff":{pack},"rollback_plan":"y"}}"#
            ));
        }
        if g.below(2) == 0 {
            let mut extra = String::new();
            object(g, 1, &mut extra);
            members.insert(
                g.below(members.len() + 1),
                format!(r#""{}":{extra}"#, key(g)),
            );
        }
        if g.below(16) == 0 {
            let copy = members[g.below(members.len())].clone();
            members.push(copy);
        }
        for _ in 0..g.below(3) {
            let a = g.below(members.len());
            members.swap(0, a);
        }
        text.push('{');
        text.push_str(&members.join(","));
        text.push('}');
    } else {
        object(g, 0, &mut text);
    }
    match g.below(24) {
        1 => {
            let cut = g.below(text.len() + 1);
            let cut = (0..=cut)
                .rev()
                .find(|c| text.is_char_boundary(*c))
                .unwrap_or(0);
            text.truncate(cut);
        }
        2 => text.push_str(g.pick(&[" ", "x", ",", "}", "\u{feff}", "\u{0}"])),
        _ => {}
    }
    text
}

type Owned = (Vec<Slot<'static>>, Vec<bool>);

fn owned(input: Input<'_>) -> Owned {
    (
        input
            .decoded
            .slots
            .into_iter()
            .map(Slot::into_owned)
            .collect(),
        input.decoded.evidence,
    )
}

#[test]
fn one_pass_agrees_with_two_passes_and_the_tree() {
    let p = policy();
    let program = p.program();
    let (set, decoder) = (&program.set, &program.decoder);
    let cases = 6_000;
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    // [refused by all, decided by one pass, valid but left to the slow path]
    let counts = Cell::new([0usize; 3]);
    let scratch = std::cell::RefCell::new(DigestScratch::new());
    runner
        .run(
            &(vec(any::<u8>(), 0..300), any::<bool>()),
            |(bytes, strict)| {
                let text = document(&mut Gen { bytes, at: 0 });
                let options = EvalOptions::default().with_strict(strict);
                // One pass, alone and with the digest (the scratch reused).
                let alone = one_pass_alone(set, decoder, &text, strict)
                    .map(|d| Input {
                        decoded: d,
                        program: program.id,
                    })
                    .map(owned);
                let mut digest = String::from("d=");
                let one = decode_digest(
                    set,
                    decoder,
                    &text,
                    strict,
                    &mut scratch.borrow_mut(),
                    &mut digest,
                );
                let one = one
                    .map(|d| Input {
                        decoded: d,
                        program: program.id,
                    })
                    .map(owned);
                assert_eq!(alone, one, "{text:?}");
                // The tree: the reader, the decoder, the exact-number check.
                let tree = parse(&text, Syntax::Json).ok();
                let slow = tree.as_ref().and_then(|v| {
                    let d = tree_decode(set, decoder, v, strict).ok()?;
                    literal_lost_by_value(&text).is_none().then_some(d)
                });
                let slow = slow
                    .map(|d| Input {
                        decoded: d,
                        program: program.id,
                    })
                    .map(owned);
                // The public entry: one pass, or the two passes.
                let mut public_digest = String::new();
                let public = p.decode_json_digest(
                    &text,
                    &options,
                    &mut DigestScratch::new(),
                    &mut public_digest,
                );
                let with = p.decode_json_with(&text, &options);
                match &one {
                    Some(decoded) => {
                        // The two-pass digest, and the tree's where it holds
                        // the numbers.
                        let two_pass = action_digest_text(&text, &mut DigestScratch::new());
                        assert_eq!(digest, format!("d={two_pass}"), "{text:?}");
                        let tree = tree.as_ref().expect("decoded, so the reader reads it");
                        if literal_lost_by_value(&text).is_none() {
                            assert_eq!(two_pass, action_digest(tree), "{text:?}");
                            assert_eq!(Some(decoded), slow.as_ref(), "{text:?}");
                        }
                        // serde_json's visitors decide alike when they decide.
                        if let Some(v) = decode_json(set, decoder, &text, strict) {
                            let v = owned(Input {
                                decoded: v,
                                program: program.id,
                            });
                            assert_eq!(&v, decoded, "{text:?}");
                        }
                        assert_eq!(public_digest, two_pass, "{text:?}");
                        let public = public.map(owned).expect("decoded");
                        assert_eq!(&public, decoded, "{text:?}");
                        assert_eq!(with.map(owned).ok().as_ref(), Some(decoded), "{text:?}");
                        let mut c = counts.get();
                        c[1] += 1;
                        counts.set(c);
                    }
                    None => {
                        assert_eq!(digest, "d=", "refused: no digest ({text:?})");
                        // Whatever the slow path says, the public entries say
                        // it alike, with the same errors.
                        let public = public.map(owned);
                        let with = with.map(owned);
                        assert_eq!(public, with, "{text:?}");
                        assert_eq!(public.as_ref().ok(), slow.as_ref(), "{text:?}");
                        if public.is_ok() {
                            let two_pass = action_digest_text(&text, &mut DigestScratch::new());
                            assert_eq!(public_digest, two_pass, "{text:?}");
                        } else {
                            assert!(public_digest.is_empty());
                        }
                        let mut c = counts.get();
                        c[usize::from(slow.is_some()) * 2] += 1;
                        counts.set(c);
                    }
                }
                Ok(())
            },
        )
        .unwrap();
    let [refused, decided, left] = counts.get();
    eprintln!(
        "hostile: {decided} decided in one pass, {left} left to the slow path, {refused} refused"
    );
    assert!(decided > cases as usize / 20, "{:?}", counts.get());
    assert!(left * 20 < decided.max(1), "{:?}", counts.get());
}
