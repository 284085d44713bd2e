//! Property tests of the action digest: reordering keys, reformatting and
//! re-spelling numbers never change it; changing any leaf always does. And
//! the digest computed from text (`audit::digest_text`) is always the one
//! computed from the parsed document.

use std::path::Path;

use gatehouse::audit::digest::{action_digest, canonical_json};
use gatehouse::audit::digest_text::{DigestScratch, action_digest_text, canonical_text};
use gatehouse::input::{Syntax, parse};
use proptest::prelude::*;
use serde_json::Value;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-1_000_000i64..1_000_000).prop_map(Value::from),
        (-1_000_000i64..1_000_000, 0u32..4).prop_map(|(m, s)| {
            let text = format!("{}", m as f64 / 10f64.powi(s as i32));
            serde_json::from_str(&text).unwrap_or(Value::Null)
        }),
        "[a-zé\\n\" ]{0,6}".prop_map(Value::from),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The same document written differently: keys in reverse order, numbers
/// re-spelled (`2` as `2.0e0`), pretty-printed.
fn respell(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .rev()
                .map(|(k, v)| format!("{} :\n  {}", Value::String(k.clone()), respell(v)))
                .collect();
            format!("{{ {} }}", parts.join(" ,\n"))
        }
        Value::Array(items) => format!(
            "[ {} ]",
            items.iter().map(respell).collect::<Vec<_>>().join(" , ")
        ),
        Value::Number(n) => {
            let text = n.to_string();
            if text.contains(['.', 'e', 'E']) {
                format!("{text}0")
            } else {
                format!("{text}.00e0")
            }
        }
        other => other.to_string(),
    }
}

/// Every path to a leaf.
fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                leaves(x, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                path.push(i.to_string());
                leaves(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn leaf_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v);
    };
    let next = match v {
        Value::Object(m) => m.get_mut(first)?,
        Value::Array(items) => items.get_mut(first.parse::<usize>().ok()?)?,
        _ => return None,
    };
    leaf_mut(next, rest)
}

proptest! {
    #[test]
    fn key_order_whitespace_and_number_spelling_do_not_change_the_digest(doc in document()) {
        let text = respell(&doc);
        let again: Value = serde_json::from_str(&text).expect("respelled JSON parses");
        prop_assert_eq!(action_digest(&doc), action_digest(&again), "{}", text);
    }

    #[test]
    fn changing_any_leaf_changes_the_digest(doc in document(), pick in any::<prop::sample::Index>()) {
        let mut paths = Vec::new();
        leaves(&doc, &mut Vec::new(), &mut paths);
        prop_assume!(!paths.is_empty());
        let path = pick.get(&paths).clone();
        let mut changed = doc.clone();
        let slot = leaf_mut(&mut changed, &path).expect("leaf");
        *slot = match slot {
            Value::Null => Value::Bool(false),
            Value::Bool(b) => Value::Bool(!*b),
            Value::Number(_) => {
                let text = format!("{}1", slot.to_string().trim_end_matches('0'));
                serde_json::from_str(&text).unwrap_or(Value::Null)
            }
            Value::String(s) => Value::String(format!("{s}x")),
            _ => Value::Null,
        };
        prop_assume!(changed != doc);
        prop_assert_ne!(action_digest(&doc), action_digest(&changed));
    }
}

// ------------------------------------------------- digest from text ----

/// A JSON document as written: numbers keep their literal, strings their
/// value (the rendering picks how to escape it).
#[derive(Clone, Debug)]
enum Doc {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Doc>),
    /// Keys distinct (the reader refuses a key given twice).
    Obj(Vec<(String, Doc)>),
}

/// Characters where escaping, UTF-8 vs UTF-16 order or JSON syntax matter.
const TRICKY: &[char] = &[
    'a',
    'b',
    'A',
    'z',
    '0',
    ' ',
    '"',
    '\\',
    '/',
    '\n',
    '\r',
    '\t',
    '\u{8}',
    '\u{c}',
    '\0',
    '\u{1f}',
    '\u{7f}',
    'é',
    '\u{2028}',
    '\u{d7ff}',
    '\u{e000}',
    '\u{efff}',
    '\u{fb01}',
    '\u{feff}',
    '\u{ffff}',
    '\u{10000}',
    '\u{1f600}',
    '\u{10ffff}',
    '$',
    '{',
    ':',
    ',',
];

fn text_value(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(TRICKY),
            1 => any::<char>(),
        ],
        0..max,
    )
    .prop_map(String::from_iter)
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => text_value(4),
        2 => "[a-e]{1,3}",
        // serde_json reads an object with this first key as a number
        1 => Just("$serde_json::private::Number".to_owned()),
    ]
}

/// A number literal in many spellings.
fn number_literal() -> impl Strategy<Value = String> {
    let int = prop_oneof![Just("0".to_owned()), "[1-9][0-9]{0,3}", "[1-9][0-9]{10,25}"];
    let frac = prop::option::of(prop_oneof![
        "[0-9]{1,3}",
        "0{0,8}[0-9]{1,20}",
        "[0-9]{1,4}0{1,5}"
    ]);
    let exp = prop::option::of((
        "[eE]",
        "[+-]?",
        prop_oneof!["[0-9]{1,3}", "0{1,4}[0-9]{1,3}", "[1-9][0-9]{18,25}"],
    ));
    prop_oneof![
        4 => ("-?", int, frac, exp).prop_map(|(sign, int, frac, exp)| {
            let mut s = format!("{sign}{int}");
            if let Some(f) = frac {
                s.push('.');
                s.push_str(&f);
            }
            if let Some((e, sign, digits)) = exp {
                s.push_str(&format!("{e}{sign}{digits}"));
            }
            s
        }),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
        1 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        1 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        1 => prop::sample::select(&[
            "-0", "0.0", "-0.0", "1E3", "1e+3", "1.0e400", "0.1e-2", "1e-400", "9007199254740993",
            "18446744073709551616", "-9223372036854775809", "1000.0000000000000000001",
            "0.000001", "0.0000001", "1e21", "1e20", "5e-324", "1.7976931348623157e308",
        ][..])
        .prop_map(str::to_owned),
    ]
}

fn doc() -> impl Strategy<Value = Doc> {
    let leaf = prop_oneof![
        Just(Doc::Null),
        any::<bool>().prop_map(Doc::Bool),
        number_literal().prop_map(Doc::Num),
        text_value(8).prop_map(Doc::Str),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Doc::Arr),
            prop::collection::vec((key(), inner), 0..7).prop_map(|members| {
                let mut seen = std::collections::HashSet::new();
                Doc::Obj(
                    members
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .collect(),
                )
            }),
        ]
    })
}

/// Whether some object's first key is serde_json's private number token.
fn first_key_is_private(d: &Doc) -> bool {
    match d {
        Doc::Arr(items) => items.iter().any(first_key_is_private),
        Doc::Obj(members) => {
            members
                .first()
                .is_some_and(|(k, _)| k.starts_with("$serde_json::private::"))
                || members.iter().any(|(_, v)| first_key_is_private(v))
        }
        _ => false,
    }
}

/// Writes a document with choices from a fixed-seed generator: whitespace
/// between tokens, how each character of a string is escaped, a byte order
/// mark.
struct Render {
    seed: u64,
    out: String,
}

impl Render {
    fn next(&mut self, n: u64) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.seed >> 33) % n
    }

    fn ws(&mut self) {
        const WS: &[&str] = &["", "", "", " ", "\n", "\t", "\r\n", "  \n    "];
        let w = WS[self.next(WS.len() as u64) as usize];
        self.out.push_str(w);
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            let short = match c {
                '"' => Some("\\\""),
                '\\' => Some("\\\\"),
                '\n' => Some("\\n"),
                '\r' => Some("\\r"),
                '\t' => Some("\\t"),
                '\u{8}' => Some("\\b"),
                '\u{c}' => Some("\\f"),
                '/' => Some("\\/"),
                _ => None,
            };
            let must_escape = matches!(c, '"' | '\\') || (c as u32) < 0x20;
            match self.next(4) {
                0 | 1 if !must_escape => self.out.push(c),
                2 if short.is_some() => self.out.push_str(short.unwrap_or_default()),
                _ => {
                    let upper = self.next(2) == 0;
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        if upper {
                            self.out.push_str(&format!("\\u{unit:04X}"));
                        } else {
                            self.out.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                }
            }
        }
        self.out.push('"');
    }

    fn doc(&mut self, d: &Doc) {
        self.ws();
        match d {
            Doc::Null => self.out.push_str("null"),
            Doc::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Doc::Num(n) => self.out.push_str(n),
            Doc::Str(s) => self.string(s),
            Doc::Arr(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.doc(item);
                }
                self.ws();
                self.out.push(']');
            }
            Doc::Obj(members) => {
                self.out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.ws();
                    self.string(k);
                    self.ws();
                    self.out.push(':');
                    self.doc(v);
                }
                self.ws();
                self.out.push('}');
            }
        }
        self.ws();
    }
}

fn render(d: &Doc, seed: u64) -> String {
    let mut r = Render {
        seed,
        out: String::new(),
    };
    if r.next(8) == 0 {
        r.out.push('\u{feff}');
    }
    r.doc(d);
    r.out
}

/// The text digest equals the tree digest for every text the reader
/// accepts; returns whether the reader accepted it.
fn text_digest_agrees(text: &str, scratch: &mut DigestScratch) -> Result<bool, TestCaseError> {
    let fast = action_digest_text(text, scratch);
    let Ok(value) = parse(text, Syntax::Json) else {
        prop_assert!(fast.starts_with("sha256:") && fast.len() == 71);
        return Ok(false);
    };
    prop_assert_eq!(
        &fast,
        &action_digest(&value),
        "text: {:?}\ncanonical from text: {:?}\ncanonical from tree: {:?}",
        text,
        canonical_text(text, &mut DigestScratch::new()),
        canonical_json(&value)
    );
    Ok(true)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_digest_from_text_is_the_digest_of_the_parsed_document(
        a in doc(),
        b in doc(),
        seed in any::<u64>(),
    ) {
        // One scratch for several documents: nothing may leak between them.
        let mut scratch = DigestScratch::new();
        for (d, seed) in [(&a, seed), (&b, seed ^ 1), (&a, seed ^ 2)] {
            let text = render(d, seed);
            let accepted = text_digest_agrees(&text, &mut scratch)?;
            // The same document written compactly, as serde_json writes it.
            if let Ok(value) = parse(&text, Syntax::Json) {
                text_digest_agrees(&value.to_string(), &mut scratch)?;
            }
            // serde_json reads an object whose first key is its private
            // token as a number (or refuses it); the fast path leaves such
            // a document to the slow path. Any other document it must
            // handle itself, or the equality is the slow path against itself.
            if !first_key_is_private(d) {
                prop_assert!(accepted, "the reader refuses {:?}", text);
                prop_assert!(
                    canonical_text(&text, &mut scratch).is_some(),
                    "left to the slow path: {:?}", text
                );
            }
        }
    }

    #[test]
    fn the_digest_from_damaged_text_agrees_whenever_the_reader_accepts_it(
        d in doc(),
        seed in any::<u64>(),
        cut in any::<prop::sample::Index>(),
        len in 0usize..4,
        insert in prop::sample::select(&[
            "", "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "0", "-", ".", "e", "E+",
            " ", "\u{1}", "\u{a0}", "n", "true", "\"a\":1,",
        ][..]),
    ) {
        let text = render(&d, seed);
        let boundaries: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
        let at = *cut.get(&boundaries);
        let end = boundaries.iter().copied().find(|&i| i >= at + len).unwrap_or(text.len());
        let damaged = format!("{}{insert}{}", &text[..at], &text[end..]);
        text_digest_agrees(&damaged, &mut DigestScratch::new())?;
    }
}

/// Every input of the digest fuzzer's corpus and regressions that the
/// reader accepts digests alike from text and from the tree.
#[test]
fn the_digest_fuzz_corpus_digests_alike_from_text() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut checked = 0;
    let mut scratch = DigestScratch::new();
    for dir in ["corpus/digest", "regressions/digest"] {
        let dir = fuzz.join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} is empty", dir.display());
        for path in files {
            let bytes = std::fs::read(&path).expect("readable");
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let Ok(value) = parse(text, Syntax::Json) else {
                continue;
            };
            assert_eq!(
                action_digest_text(text, &mut scratch),
                action_digest(&value),
                "{}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} corpus inputs are JSON");
    eprintln!("{checked} corpus inputs digest alike from text");
}
