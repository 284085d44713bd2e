//! The action digest: RFC 8785 (JSON Canonicalization Scheme) over the
//! input document, then SHA-256. Key order, whitespace and the spelling of a
//! number (`1000`, `1000.00`, `1e3`) do not change it; any change to any
//! value does. An approval carries the digest of the action it was given
//! for, so it can never be used for another version of the action.
//!
//! One deliberate deviation: RFC 8785 writes numbers as IEEE doubles, which
//! would give `1000.0000000000000000001` and `1000` one digest although the
//! engine (exact decimals) decides them differently. A number that a double
//! cannot hold exactly is therefore written as its exact decimal instead.
//! Every number a double holds exactly is written exactly as RFC 8785 says.

use std::fmt::Write as _;

use serde_json::Value as Json;
use sha2::{Digest as _, Sha256};

use crate::values::Decimal;

/// `sha256:<hex>` of the canonical form of a JSON document.
pub fn action_digest(input: &Json) -> String {
    let mut canonical = String::new();
    write_canonical(input, &mut canonical, 0);
    let hash = Sha256::digest(canonical.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        // writing to a String cannot fail
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The RFC 8785 canonical text of a document.
pub fn canonical_json(input: &Json) -> String {
    let mut out = String::new();
    write_canonical(input, &mut out, 0);
    out
}

/// Nesting beyond which the canonical form is not written out. No reader of
/// gatehouse's produces such a document (they refuse it as input, see
/// [`crate::limits::MAX_INPUT_DEPTH`]); a value built in code could be, and
/// must not overflow the stack here. What is below this depth is replaced by
/// a token that is not JSON, so it never equals a real document's form.
const MAX_CANONICAL_DEPTH: usize = 2 * crate::limits::MAX_INPUT_DEPTH;

fn write_canonical(v: &Json, out: &mut String, depth: usize) {
    if depth > MAX_CANONICAL_DEPTH {
        out.push_str("<too deep>");
        return;
    }
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&canonical_number(n.as_str())),
        Json::String(s) => write_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out, depth + 1);
            }
            out.push(']');
        }
        Json::Object(map) => {
            // Keys sorted by their UTF-16 code units (RFC 8785, 3.2.3).
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(v, out, depth + 1);
            }
            out.push('}');
        }
    }
}

pub(crate) fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The ECMAScript spelling of the double nearest `text`, when that double
/// is exactly the decimal `text` denotes; otherwise the exact decimal.
pub(crate) fn canonical_number(text: &str) -> String {
    let exact = Decimal::parse(text).ok().filter(Decimal::is_exact);
    let double: Option<f64> = text.parse::<f64>().ok().filter(|f| f.is_finite());
    if let Some(d) = double {
        let es = ecmascript_number(d);
        let same = match (&exact, Decimal::parse(&es)) {
            (Some(x), Ok(y)) => *x == y,
            // beyond the decimal range the double is all we can compare
            (None, _) => Decimal::parse(text).is_err(),
            _ => false,
        };
        if same {
            return es;
        }
    }
    match exact {
        Some(x) => x.to_string(),
        // Beyond what a double or the engine's decimals hold exactly: the
        // exact value, normalized, so `1e400` and `10e399`, or Python's
        // `1.2345678901234567e-05` and JavaScript's
        // `0.000012345678901234567`, digest alike.
        None => exact_text(text).unwrap_or_else(|| text.to_ascii_lowercase()),
    }
}

/// The exact value of a JSON number in one spelling per value: plain
/// decimal while the first significant digit is within 30 places of the
/// point, else `d.ddde±n`; no leading or trailing zeros. `None` when the
/// text is not a JSON number or its exponent does not fit in 64 bits.
fn exact_text(text: &str) -> Option<String> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent_text) = match rest.find(['e', 'E']) {
        Some(i) => (rest.get(..i)?, rest.get(i + 1..)?),
        None => (rest, "0"),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let exp_digits = exponent_text
        .trim_start_matches(['+', '-'])
        .trim_start_matches('0');
    if exp_digits.len() >= 19 {
        // Beyond 10^18: computed in decimal digits, so no spelling of such a
        // number overflows into a fallback.
        return huge_exponent_text(negative, int, frac, exponent_text);
    }
    let exponent = exponent_text.parse::<i64>().ok()?;
    // value = digits x 10^exp
    let all: String = int.chars().chain(frac.chars()).collect();
    let mut exp = exponent.checked_sub(i64::try_from(frac.len()).ok()?)?;
    let trimmed_end = all.trim_end_matches('0');
    exp = exp.checked_add(i64::try_from(all.len() - trimmed_end.len()).ok()?)?;
    let digits = trimmed_end.trim_start_matches('0');
    if digits.is_empty() {
        return Some("0".into());
    }
    let len = i64::try_from(digits.len()).ok()?;
    // The place of the first significant digit: 0 for units, -1 for tenths.
    let first = exp.checked_add(len - 1)?;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if (-30..=30).contains(&first) {
        if exp >= 0 {
            out.push_str(digits);
            out.extend(std::iter::repeat_n('0', usize::try_from(exp).ok()?));
        } else {
            let point = len + exp; // digits before the point
            if point > 0 {
                let (a, b) = digits.split_at(usize::try_from(point).ok()?);
                out.push_str(a);
                out.push('.');
                out.push_str(b);
            } else {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', usize::try_from(-point).ok()?));
                out.push_str(digits);
            }
        }
    } else {
        let (lead, tail) = digits.split_at(1);
        out.push_str(lead);
        if !tail.is_empty() {
            out.push('.');
            out.push_str(tail);
        }
        out.push_str(&format!("e{}{first}", if first > 0 { "+" } else { "" }));
    }
    Some(out)
}

/// [`exact_text`] for an exponent beyond 64 bits (`7e+98888...`): always
/// the `d.ddde±n` form, the exponent computed in decimal digits.
fn huge_exponent_text(negative: bool, int: &str, frac: &str, exponent: &str) -> Option<String> {
    let (exp_negative, exp_digits) = match exponent.as_bytes().first() {
        Some(b'-') => (true, exponent.get(1..)?),
        Some(b'+') => (false, exponent.get(1..)?),
        _ => (false, exponent),
    };
    let exp_digits = exp_digits.trim_start_matches('0');
    if exp_digits.len() < 19 || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None; // not a JSON exponent, or one that fits (handled above)
    }
    let all: String = int.chars().chain(frac.chars()).collect();
    let digits = all.trim_start_matches('0').trim_end_matches('0');
    if digits.is_empty() {
        return Some("0".into());
    }
    // The first significant digit's place, relative to the exponent.
    let leading = all.len() - all.trim_start_matches('0').len();
    let shift = i64::try_from(int.len()).ok()? - 1 - i64::try_from(leading).ok()?;
    // |exponent| >= 10^18 > |shift|: the sum keeps the exponent's sign.
    let toward_zero = (shift < 0) != exp_negative;
    let magnitude = add_to_digits(exp_digits, shift.unsigned_abs(), toward_zero)?;
    let (lead, tail) = digits.split_at(1);
    let mut out = String::from(if negative { "-" } else { "" });
    out.push_str(lead);
    if !tail.is_empty() {
        out.push('.');
        out.push_str(tail);
    }
    out.push_str(if exp_negative { "e-" } else { "e+" });
    out.push_str(&magnitude);
    Some(out)
}

/// `digits` (a decimal number larger than any u64) plus or minus `delta`.
fn add_to_digits(digits: &str, delta: u64, subtract: bool) -> Option<String> {
    let mut out: Vec<u8> = digits.bytes().rev().map(|b| b - b'0').collect();
    let mut carry = i128::from(delta);
    for d in out.iter_mut() {
        if carry == 0 {
            break;
        }
        let step = carry % 10;
        carry /= 10;
        let mut v = i128::from(*d) + if subtract { -step } else { step };
        if v < 0 {
            v += 10;
            carry += 1;
        } else if v > 9 {
            v -= 10;
            carry += 1;
        }
        *d = u8::try_from(v).ok()?;
    }
    if carry != 0 {
        if subtract {
            return None; // cannot happen: digits > delta
        }
        out.extend(carry.to_string().bytes().rev().map(|b| b - b'0'));
    }
    while out.len() > 1 && out.last() == Some(&0) {
        out.pop();
    }
    Some(out.iter().rev().map(|d| char::from(b'0' + d)).collect())
}

/// `Number.prototype.toString` (ECMA-262, 6.1.6.1.20) for a finite double.
fn ecmascript_number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let negative = x < 0.0;
    // Rust's `{:e}` is the shortest round-trip form: `d.ddde±n`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exp + 1;
    let mut s = String::new();
    if negative {
        s.push('-');
    }
    if k <= n && n <= 21 {
        s.push_str(&digits);
        s.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        s.push_str(int);
        s.push('.');
        s.push_str(frac);
    } else if -6 < n && n <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-n) as usize));
        s.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(1);
        s.push_str(first);
        if !rest.is_empty() {
            s.push('.');
            s.push_str(rest);
        }
        s.push('e');
        s.push(if n > 0 { '+' } else { '-' });
        s.push_str(&(n - 1).abs().to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn num(text: &str) -> String {
        canonical_number(text)
    }

    #[test]
    fn numbers_follow_ecmascript() {
        // RFC 8785 appendix B examples
        assert_eq!(num("0"), "0");
        assert_eq!(num("-0"), "0");
        assert_eq!(num("1e21"), "1e+21");
        assert_eq!(num("1e20"), "100000000000000000000");
        assert_eq!(num("0.000001"), "0.000001");
        assert_eq!(num("1e-7"), "1e-7");
        assert_eq!(num("1000.00"), "1000");
        assert_eq!(num("1E3"), "1000");
        assert_eq!(num("4.50"), "4.5");
        assert_eq!(num("2e-3"), "0.002");
        assert_eq!(num("-1.5e300"), "-1.5e+300");
        assert_eq!(num("9007199254740992"), "9007199254740992");
        assert_eq!(num("333333333.3333333"), "333333333.3333333");
    }

    #[test]
    fn numbers_a_double_cannot_hold_stay_exact() {
        assert_eq!(num("1000.0000000000000000001"), "1000.0000000000000000001");
        // RFC 8785 would print the double nearest this (333333333.3333333),
        // merging it with that number; the engine tells them apart, so must we
        assert_eq!(num("333333333.33333329"), "333333333.33333329");
        assert_ne!(num("1000.0000000000000000001"), num("1000"));
        assert_ne!(num("9007199254740993"), num("9007199254740992"));
    }

    #[test]
    fn numbers_beyond_every_range_have_one_spelling_per_value() {
        // Found by the digest fuzzer: these kept their literal spelling.
        for same in [
            &["1e400", "10e399", "1E+400", "0.1e401", "1.0e400"][..],
            &["-1e-400", "-1.0e-400", "-0.01e-398"],
            &[
                "1.2345678901234567e-05",
                "0.000012345678901234567",
                "12345678901234567e-21",
            ],
            &["1000.0000000000000000001", "1.0000000000000000000001e3"],
            &["0.69999999999999999999", "69999999999999999999e-20"],
        ] {
            let first = num(same[0]);
            for other in &same[1..] {
                assert_eq!(num(other), first, "{other} vs {}", same[0]);
            }
        }
        assert_eq!(num("1e400"), "1e+400");
        assert_eq!(num("-1e-400"), "-1e-400");
        assert_eq!(num("1.2345678901234567e-05"), "0.000012345678901234567");
        assert_ne!(num("1e400"), num("1e401"));
        // Exponents beyond 64 bits (found by the digest fuzzer).
        let huge = "9888888888888888888888888888888";
        assert_eq!(num(&format!("7e+{huge}")), num(&format!("7.0e+{huge}")));
        assert_eq!(num(&format!("7e+{huge}")), format!("7e+{huge}"));
        assert_eq!(
            num(&format!("0.07e{huge}")),
            "7e+9888888888888888888888888888886"
        );
        assert_eq!(
            num(&format!("700e{huge}")),
            "7e+9888888888888888888888888888890"
        );
        assert_eq!(
            num(&format!("70e-{huge}")),
            "7e-9888888888888888888888888888887"
        );
        assert_eq!(num(&format!("-1.5e-{huge}")), format!("-1.5e-{huge}"));
        assert_eq!(
            num("1e+99999999999999999999"),
            num("10e+99999999999999999998")
        );
        assert_ne!(num("1e-400"), num("-1e-400"));
    }

    #[test]
    fn canonical_text() {
        let v = json!({"b": [1.50, "x\n\u{1}é"], "a": {"z": null, "é": true, "A": false}});
        assert_eq!(
            canonical_json(&v),
            "{\"a\":{\"A\":false,\"z\":null,\"é\":true},\"b\":[1.5,\"x\\n\\u0001é\"]}"
        );
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+1F600 (surrogates D83D DE00) sorts before U+FB01 in UTF-16,
        // although it is after it in UTF-8 / code points.
        let v = json!({"\u{fb01}": 1, "\u{1f600}": 2});
        assert_eq!(canonical_json(&v), "{\"\u{1f600}\":2,\"\u{fb01}\":1}");
    }

    #[test]
    fn digest_ignores_order_whitespace_and_spelling_but_not_values() {
        let a: Json =
            serde_json::from_str(r#"{"action": {"amount": 250, "type": "refund"}}"#).expect("json");
        let b: Json =
            serde_json::from_str("{ \"action\":{\"type\":\"refund\",\n \"amount\":250.00}}")
                .expect("json");
        let c: Json = serde_json::from_str(r#"{"action": {"amount": 2500, "type": "refund"}}"#)
            .expect("json");
        assert_eq!(action_digest(&a), action_digest(&b));
        assert_ne!(action_digest(&a), action_digest(&c));
        assert!(action_digest(&a).starts_with("sha256:"));
    }
}
