//! The text path against the tree path, case by case.

use super::*;
use crate::audit::digest::canonical_json;
use crate::input::{Syntax, parse};

fn fast(text: &str) -> Option<String> {
    canonical_text(text, &mut DigestScratch::new()).map(str::to_owned)
}

/// The fast path handles `text` itself and agrees with the tree path.
fn agrees(text: &str) {
    let value = parse(text, Syntax::Json).expect("valid input");
    let mut scratch = DigestScratch::new();
    assert_eq!(
        canonical_text(text, &mut scratch),
        Some(canonical_json(&value).as_str()),
        "{text}"
    );
    assert_eq!(
        action_digest_text(text, &mut scratch),
        action_digest(&value),
        "{text}"
    );
}

/// The fast path leaves `text` to the slow path, and the digest is
/// still the tree path's.
fn falls_back(text: &str) {
    assert_eq!(fast(text), None, "{text}");
    if let Ok(value) = parse(text, Syntax::Json) {
        assert_eq!(
            action_digest_text(text, &mut DigestScratch::new()),
            action_digest(&value)
        );
    }
}

#[test]
fn scalars_and_containers() {
    for text in [
        "null",
        "true",
        "false",
        "0",
        "-0",
        "\"\"",
        "\"x\"",
        "[]",
        "{}",
        " [ ] ",
        "[[[]],{}]",
        r#"{"b": [1, 2.50, "x"], "a": {"z": null, "y": [true, false]}}"#,
        "\t{\r\n\"a\" :1 , \"b\":[ 1 ,2 ] }\n",
    ] {
        agrees(text);
    }
    assert_eq!(
        fast(r#"{"b": [1, 2.50], "a": {"z": null, "é": true, "A": false}}"#).as_deref(),
        Some(r#"{"a":{"A":false,"z":null,"é":true},"b":[1,2.5]}"#)
    );
}

#[test]
fn members_are_reordered_at_every_depth() {
    for text in [
        // unsorted in unsorted, sorted in unsorted, unsorted in sorted
        r#"{"b":{"d":1,"c":{"f":[{"h":2,"g":3}],"e":4}},"a":[{"j":5,"i":6}]}"#,
        r#"{"a":{"c":1,"b":2},"b":{"a":1,"b":2}}"#,
        r#"{"z":1,"y":{"b":{"d":[],"c":{}},"a":0},"x":[[{"q":1,"p":2}]]}"#,
        // rewritten tokens (escapes, numbers not in canonical form)
        // between copied ones
        r#"{"b":"x\ty","a\u0041":1E3,"c":[1.50,"\u00e9",-0],"a":{"y":1.0,"x":"\/"}}"#,
        "{ \"b\" : 1 ,\n\"a\":\t[ 2 , { \"d\":3, \"c\" :4 } ] }",
        // keys alike in their first eight bytes
        r#"{"abcdefghij":1,"abcdefghi":2,"abcdefgh":3,"abcdefgh\u0000":4}"#,
    ] {
        agrees(text);
    }
    assert_eq!(
        fast(r#"{"b":{"d":1,"c":[{"f":2,"e":3}]},"a":"x\ty"}"#).as_deref(),
        Some(r#"{"a":"x\ty","b":{"c":[{"e":3,"f":2}],"d":1}}"#)
    );
}

#[test]
fn strings_with_escapes_are_unescaped_then_written_canonically() {
    for text in [
        r#""a\"b\\c\/d\b\f\n\r\t""#,
        r#""\u0000\u001f\u0020\u007f\u00e9\u2028""#,
        r#""\ud83d\ude00 and \uD83D\uDE00""#,
        r#"{"\u0062": 1, "a": 2, "\n": 3}"#,
        "\"\u{7f}\u{2028}\u{1f600}\"",
    ] {
        agrees(text);
    }
    assert_eq!(fast(r#""\u0041\/""#).as_deref(), Some("\"A/\""));
    assert_eq!(fast(r#""\u001f""#).as_deref(), Some(r#""\u001f""#));
}

#[test]
fn keys_sort_by_utf16_code_units() {
    // U+1F600 (D83D DE00) before U+FB01 in UTF-16, after it in UTF-8.
    let text = "{\"\u{fb01}\": 1, \"\u{1f600}\": 2, \"\u{e000}\": 3, \"\u{d7ff}\": 4}";
    agrees(text);
    assert_eq!(
        fast(text).as_deref(),
        Some("{\"\u{d7ff}\":4,\"\u{1f600}\":2,\"\u{e000}\":3,\"\u{fb01}\":1}")
    );
    // Escaped keys sort by what they stand for.
    agrees(r#"{"\ufb01": 1, "\ud83d\ude00": 2, "a": 3, "\u0041": 4}"#);
}

#[test]
fn utf16_order_of_every_range_boundary() {
    let chars = [
        '\0',
        'A',
        'a',
        '\u{7f}',
        '\u{80}',
        '\u{7ff}',
        '\u{800}',
        '\u{d7ff}',
        '\u{e000}',
        '\u{efff}',
        '\u{f000}',
        '\u{fb01}',
        '\u{ffff}',
        '\u{10000}',
        '\u{1f600}',
        '\u{10ffff}',
    ];
    let mut strings: Vec<String> = vec![String::new()];
    for a in chars {
        strings.push(a.to_string());
        for b in chars {
            strings.push(format!("{a}{b}"));
            strings.push(format!("x{a}{b}"));
        }
    }
    strings.push("\0".repeat(9));
    strings.push("abcdefgh".into());
    strings.push("abcdefgh\0".into());
    strings.push("abcdefg\u{e000}".into());
    strings.push("abcdefg\u{10000}".into());
    strings.push("abcdef\u{e000}".into());
    strings.push("abcdef\u{10000}".into());
    for a in &strings {
        for b in &strings {
            let expected = a.encode_utf16().cmp(b.encode_utf16());
            let (a8, b8) = (a.as_bytes(), b.as_bytes());
            assert_eq!(cmp_utf16(a8, b8), expected, "{a:?} vs {b:?}");
            let (pa, pb) = (utf16_prefix(a8), utf16_prefix(b8));
            assert!(pa == pb || pa.cmp(&pb) == expected, "prefix {a:?} vs {b:?}");
        }
    }
}

#[test]
fn numbers_in_every_spelling() {
    for text in [
        "-0",
        "0",
        "1E3",
        "1e3",
        "1e+3",
        "1e-3",
        "1.0e400",
        "0.1e-2",
        "-0.0",
        "1000.00",
        "4.50",
        "1e21",
        "1e20",
        "0.000001",
        "1e-7",
        "-1.5e300",
        "9007199254740993",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "1.0000000000000000000001e3",
        "123456789012345",
        "1234567890123456",
        "0.123456789012345",
        "0.000001234567890123",
        "1e99999999999999999999",
        "7E-0400",
    ] {
        if serde_json_keeps_number_text() {
            agrees(text);
            agrees(&format!("[{text}, {{\"n\": {text}}}]"));
        } else {
            // Without `arbitrary_precision` a `Value` holds an `f64`
            // (or refuses `1.0e400`): the text path alone keeps the
            // literal's value, spelled as `canonical_number` spells it.
            let n = crate::audit::digest::canonical_number(text);
            assert_eq!(fast(text), Some(n.clone()), "{text}");
            assert_eq!(
                fast(&format!("[{text}, {{\"n\": {text}}}]")),
                Some(format!("[{n},{{\"n\":{n}}}]")),
                "{text}"
            );
        }
    }
}

// The decoder's own test of the build (one definition of "the mode").
use crate::eval::decode_json::numbers::serde_json_keeps_number_text;

#[test]
fn serde_json_keeps_numbers_in_its_own_spelling() {
    // `Number::as_str` is not always the literal: the exponent marker
    // becomes `e` with a sign. `serde_spelling` mirrors that.
    for (literal, kept) in [
        ("-0", "-0"),
        ("0", "0"),
        ("1E3", "1e+3"),
        ("1e3", "1e+3"),
        ("1E-3", "1e-3"),
        ("1.0e400", "1.0e+400"),
        ("0.1e-2", "0.1e-2"),
        ("2.50", "2.50"),
        ("-12", "-12"),
        ("18446744073709551615", "18446744073709551615"),
        ("18446744073709551616", "18446744073709551616"),
        ("-9223372036854775809", "-9223372036854775809"),
    ] {
        // The engine is built with serde_json's defaults on its own and
        // with `arbitrary_precision` inside the CLI (features unify);
        // CI runs this test in both builds. Only the second keeps text.
        if serde_json_keeps_number_text() {
            let Json::Number(n) = serde_json::from_str::<Json>(literal).expect("a number") else {
                panic!("{literal} is not read as a number");
            };
            assert_eq!(n.to_string(), kept, "{literal}");
        }
        let mut spelled = String::new();
        serde_spelling(literal, &mut spelled);
        assert_eq!(spelled, kept, "{literal}");
    }
}

#[test]
fn literals_taken_as_canonical_are_canonical() {
    let mut checked = 0;
    let mut check = |literal: &str| {
        if is_canonical_literal(literal.as_bytes()) {
            assert_eq!(canonical_number(literal), literal);
            checked += 1;
        }
    };
    for literal in [
        "0",
        "7",
        "-7",
        "999999999999999",
        "-999999999999999",
        "100000000000000",
        "0.5",
        "-0.5",
        "0.000001",
        "0.000009999999999",
        "0.00000123456789012",
        "0.1",
        "0.3",
        "99999999999999.9",
        "1.00000000000001",
        "333333333.333333",
        "123456789012.345",
    ] {
        check(literal);
    }
    // Every shape near the limits, with many digit patterns.
    let patterns = [
        "1",
        "9",
        "5",
        "123456789012345",
        "999999999999999",
        "100000000000001",
    ];
    for p in patterns {
        for len in 1..=16 {
            let digits: String = p.chars().cycle().take(len).collect();
            let digits = digits.trim_start_matches('0');
            if digits.is_empty() {
                continue;
            }
            for point in 0..=digits.len() {
                let (int, frac) = digits.split_at(point);
                let int = if int.is_empty() { "0" } else { int };
                for zeros in 0..8 {
                    let frac = format!("{}{frac}", "0".repeat(zeros));
                    let frac = frac.trim_end_matches('0');
                    for sign in ["", "-"] {
                        if frac.is_empty() {
                            check(&format!("{sign}{int}"));
                        } else {
                            check(&format!("{sign}{int}.{frac}"));
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    for literal in [
        "-0",
        "1e3",
        "1.0",
        "1.50",
        "0.0000001",
        "1234567890123456",
        "0.1234567890123456",
    ] {
        assert!(!is_canonical_literal(literal.as_bytes()), "{literal}");
    }
}

/// Whether the reader's scan would take `content` as a whole string's
/// content: no unescaped `"` in it, no escape cut off by its end.
fn scans_as_one_string(content: &str) -> bool {
    let bytes = content.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if i + 1 < bytes.len() => i += 2,
            b'\\' | b'"' => return false,
            _ => i += 1,
        }
    }
    true
}

#[test]
fn strings_unescape_as_serde_json_unescapes_them() {
    let pieces = [
        "a",
        "é",
        "\u{1f600}",
        r"\\",
        r#"\""#,
        r"\/",
        r"\b",
        r"\f",
        r"\n",
        r"\r",
        r"\t",
        r"\u0041",
        r"\u00e9",
        r"\u00E9",
        r"\uFFFF",
        r"\u0000",
        r"\ud83d\ude00",
        r"\uD83D\uDE00",
        r"\ud800",
        r"\udc00",
        r"\ud800\u0041",
        r"\ud800\n",
        r"\ud800x",
        r"\u12",
        r"\u12g4",
        r"\u+123",
        r"\x",
        r"\é",
        r"\a",
        r"\U0041",
        r"\'",
        r"\u{41}",
        r"\",
    ];
    for a in pieces {
        for b in pieces {
            for c in ["", "z", r"\n"] {
                let content = format!("{a}{b}{c}");
                if !scans_as_one_string(&content) {
                    continue;
                }
                let expected = serde_json::from_str::<String>(&format!("\"{content}\"")).ok();
                let mut out = String::from("previous ");
                let got = unescape(&content, &mut out).map(|()| out);
                assert_eq!(got, expected.map(|s| format!("previous {s}")), "{content}");
            }
        }
    }
}

#[test]
fn skip_plain_stops_at_the_first_special_byte() {
    let specials = [b'"', b'\\', 0, 0x1f, b'\n'];
    let plain = [b'a', b' ', 0x7f, 0x80, 0xc3, 0xa9, 0xff, b'!', b'#', b']'];
    for len in 0..20 {
        for start in 0..=len {
            // `at == len`: no special byte at all.
            for at in start..=len {
                for special in specials {
                    for fill in plain {
                        let mut bytes = vec![fill; len];
                        // Bytes before the start do not count.
                        if start > 0 {
                            bytes[start - 1] = b'"';
                        }
                        if at < len {
                            bytes[at] = special;
                        }
                        let stop = skip_plain(&bytes, start);
                        // Exactly the special byte, or a short tail
                        // without one before it.
                        assert!(
                            stop == at || (stop < at && len - stop < 8),
                            "{bytes:?} from {start}: {stop}, not {at}"
                        );
                    }
                }
            }
        }
    }
}

proptest::proptest! {
    #[test]
    fn keys_compare_as_their_utf16_code_units(
        a in proptest::collection::vec(proptest::sample::select(&[
            '\0', 'a', 'b', '\u{7f}', '\u{80}', 'é', '\u{d7ff}', '\u{e000}', '\u{fb01}',
            '\u{ffff}', '\u{10000}', '\u{1f600}', '\u{10ffff}',
        ][..]), 0..12),
        b in proptest::collection::vec(proptest::sample::select(&[
            '\0', 'a', 'b', '\u{7f}', 'é', '\u{e000}', '\u{fb01}', '\u{1f600}',
        ][..]), 0..12),
        shared in 0usize..12,
    ) {
        let a: String = a.into_iter().collect();
        // Often a long common prefix, so the difference is past eight bytes.
        let b: String = a.chars().take(shared).chain(b).collect();
        let expected = a.encode_utf16().cmp(b.encode_utf16());
        proptest::prop_assert_eq!(cmp_utf16(a.as_bytes(), b.as_bytes()), expected);
        let (pa, pb) = (utf16_prefix(a.as_bytes()), utf16_prefix(b.as_bytes()));
        proptest::prop_assert!(pa == pb || pa.cmp(&pb) == expected);
    }
}

#[test]
fn a_leading_byte_order_mark_is_skipped_as_the_reader_does() {
    agrees("\u{feff}{\"a\": 1}");
}

#[test]
fn depth_up_to_the_limit_is_read_beyond_it_left_to_the_slow_path() {
    let ok = format!(
        "{}1{}",
        "[".repeat(MAX_INPUT_DEPTH),
        "]".repeat(MAX_INPUT_DEPTH)
    );
    agrees(&ok);
    let deep = format!(
        "{}1{}",
        "[".repeat(MAX_INPUT_DEPTH + 1),
        "]".repeat(MAX_INPUT_DEPTH + 1)
    );
    falls_back(&deep);
    // Beyond what serde_json reads: never panics, never a document's digest.
    let deeper = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(fast(&deeper), None);
    let d = action_digest_text(&deeper, &mut DigestScratch::new());
    assert!(d.starts_with("sha256:") && d.len() == DIGEST_LEN);
}

#[test]
fn what_the_reader_refuses_or_reads_otherwise_is_left_to_the_slow_path() {
    for text in [
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "[,1]",
        "{\"a\":1,}",
        "{,}",
        "{\"a\" 1}",
        "{\"a\":}",
        "{1:2}",
        "[1 2]",
        "01",
        "-",
        "1.",
        ".5",
        "1e",
        "1e+",
        "+1",
        "NaN",
        "Infinity",
        "tru",
        "nul",
        "truex",
        "[1]x",
        "\"a",
        "\"\\\"",
        "\"\u{1}\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\udc00\\ud800\"",
        "{\"a\": 1, \"a\": 2}",
        "{\"a\": 1, \"\\u0061\": 2}",
        "{\"b\": 1, \"a\": 1, \"b\": 2}",
        "[{\"c\": {\"x\": 1, \"y\": 2, \"x\": 3}}]",
        // serde_json reads these as numbers, not objects
        "{\"$serde_json::private::Number\": \"1E3\"}",
        "{\"$serde_json::private::Number\": \"x\"}",
        "[\"a\"\u{a0}]",
        "[1]\u{feff}",
    ] {
        falls_back(text);
    }
    // Not first: an ordinary key.
    agrees("{\"a\": 1, \"$serde_json::private::Number\": \"1E3\"}");
    // Outside the caller's guarantee, the slow path gives serde_json's
    // reading; text that is not JSON a digest no document has.
    assert_eq!(
        action_digest_text("{\"a\": 1, \"a\": 2}", &mut DigestScratch::new()),
        action_digest(&serde_json::json!({"a": 2}))
    );
    let not_json = action_digest_text("{", &mut DigestScratch::new());
    assert!(not_json.starts_with("sha256:") && not_json.len() == DIGEST_LEN);
    assert_ne!(not_json, action_digest_text("[", &mut DigestScratch::new()));
}

#[test]
fn one_scratch_serves_many_documents() {
    let mut scratch = DigestScratch::new();
    let texts = [
        r#"{"b": {"d": [1, {"f": 2, "e": 3}], "c": "\u00e9"}, "a": 1E3}"#,
        "[]",
        r#"{"x": "\n", "w": [{"v": {}}]}"#,
        "{",
        r#"{"b": {"d": [1, {"f": 2, "e": 3}], "c": "\u00e9"}, "a": 1E3}"#,
    ];
    for _ in 0..3 {
        for text in texts {
            let expected = match parse(text, Syntax::Json) {
                Ok(v) => action_digest(&v),
                Err(_) => action_digest_text(text, &mut DigestScratch::new()),
            };
            assert_eq!(action_digest_text(text, &mut scratch), expected, "{text}");
        }
    }
    let mut out = String::from("digest=");
    push_action_digest_text("[1]", &mut scratch, &mut out);
    assert_eq!(
        out,
        format!("digest={}", action_digest(&serde_json::json!([1])))
    );
}
