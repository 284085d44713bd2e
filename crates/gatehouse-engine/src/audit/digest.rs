//! The action digest: RFC 8785 (JSON Canonicalization Scheme) over the
//! input document, then SHA-256. Key order, whitespace and the spelling of a
//! number (`1000`, `1000.00`, `1e3`) do not change it; any change to any
//! value does. An approval carries the digest of the action it was given
//! for, so it can never be used for another version of the action.
//!
//! # Numbers
//!
//! One deliberate deviation from RFC 8785, which writes every number as
//! the IEEE double nearest it: that would merge numbers a double cannot
//! tell apart (`123456789012345678901` and `123456789012345678999`, or
//! `1000.0000000000000000001` and `1000`), so an approval given for one
//! would verify the other. Here every number is written as a spelling that
//! denotes **exactly** its value, chosen from the value alone. So two
//! numbers get one spelling exactly when they are the same value: `1`,
//! `1.0`, `10e-1`, `1E0` and `0.1e1` are one value (spelled `1`); `-0`,
//! `0.0` and `0e5` are the value zero (spelled `0`: JSON numbers are
//! values, and the engine compares `-0` equal to `0`).
//!
//! The value is read exactly at any magnitude and precision: the digits
//! as written, and the exponent (whose literal can be any length, as in
//! `1e99999999999999999999`) by exact arithmetic on its decimal digits.
//! With `d` the significant digits (no leading or trailing zero) and `p`
//! the place of the first of them (0 for units, -1 for tenths):
//!
//! 1. When `d` are the shortest round-trip digits of a double (at most 17
//!    digits, within the double range) and the value is above 10^20 in
//!    magnitude or has at most 18 decimals: RFC 8785's spelling, that of
//!    ECMAScript's `Number.prototype.toString` (`1000`, `4.5`, `0.000001`,
//!    `1e-7`, `1e+21`, `-1.5e+300`). Such a spelling denotes the value
//!    exactly.
//! 2. Otherwise, while `-30 <= p <= 30`: plain digits with a point where
//!    needed (`1000.0000000000000000001`, `123456789012345678901`,
//!    `0.000012345678901234567`).
//! 3. Otherwise: `d` with a point after its first digit, `e`, the sign and
//!    `p` (`1e+400`, `-1.5e-9999999999999999999999`).
//!
//! A minus sign leads any non-zero negative value. The form is JSON and a
//! fixed point: the canonical spelling of a canonical spelling is itself.
//! A document whose numbers are all of case 1 (every number a policy or an
//! agent usually writes: integers up to 15 digits, prices, ratios) has
//! exactly the RFC 8785 canonical form, so it digests as any RFC 8785
//! implementation digests it. Numbers whose spelling was already exact keep
//! the spelling (and so the digests) of earlier versions; only those that
//! were merged with a neighbour (above 10^20 and not a double's shortest
//! form) are now spelled exactly.

use serde_json::Value as Json;
use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of the canonical form of a JSON document.
///
/// Numbers are digested as the caller's serde_json holds them, that is as
/// `serde_json::Number` displays them: the exact text when serde_json's
/// `arbitrary_precision` feature is on somewhere in the build (the
/// `gatehouse` CLI turns it on), otherwise the `f64` (shortest round-trip
/// form: `1000.0000000000000001` was already `1000.0` when the `Value` was
/// read) or the `i64`/`u64`, which is exact. For the digest of the digits
/// as written, in every build, digest the JSON text itself
/// ([`super::digest_text::action_digest_text`], which
/// [`crate::Policy::evaluate_json`] uses).
pub fn action_digest(input: &Json) -> String {
    let mut canonical = String::new();
    write_canonical(input, &mut canonical, 0);
    let hash = Sha256::digest(canonical.as_bytes());
    format!("sha256:{}", hex::encode(hash))
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
        Json::Number(n) => out.push_str(&canonical_number(&n.to_string())),
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

/// The canonical spelling of the JSON number `text` (see the module
/// documentation): a function of the value alone, and a spelling that
/// denotes exactly that value, so two numbers share it exactly when they
/// are equal.
///
/// Text that is not a JSON number (serde_json never gives one) is returned
/// as written: it is no canonical spelling, so it equals none of them.
pub(crate) fn canonical_number(text: &str) -> String {
    match Normal::read(text) {
        Some(normal) => normal.spell(),
        None => text.to_owned(),
    }
}

/// The place of a number's first significant digit (0 for units, -1 for
/// tenths): a machine integer while the exponent literal has at most 18
/// digits, else exact decimal digits (`1e99999999999999999999` has its
/// first digit at place 99999999999999999999, which no integer type need
/// hold: the arithmetic on it is done on its digits).
enum Place {
    /// |place| < 10^18 + the text's length.
    Small(i128),
    /// The sign and decimal digits (no leading zero) of a place whose
    /// magnitude is at least 10^18 - the text's length.
    Huge { negative: bool, magnitude: String },
}

/// A JSON number's value in one form per value: its sign, its significant
/// digits (no leading or trailing zero; empty for zero) and the place of
/// the first of them.
struct Normal<'t> {
    negative: bool,
    /// The digits of the integer part and of the fraction, without the
    /// point: the significant digits are `all[lead..lead + len]` once the
    /// point is skipped, kept as the two pieces to spare a copy.
    int: &'t str,
    frac: &'t str,
    /// Zeros before the first significant digit, across `int` and `frac`.
    lead: usize,
    /// Number of significant digits (0 for zero).
    len: usize,
    first: Place,
}

/// Bound above which a count of digits is not trusted to fit the `Small`
/// arithmetic: 10^18 (a text this long cannot be in memory).
const HUGE: u64 = 1_000_000_000_000_000_000;

impl<'t> Normal<'t> {
    /// `None` when `text` is not a JSON number (`-`? digits, `.` digits?,
    /// an exponent with an optional sign).
    fn read(text: &'t str) -> Option<Normal<'t>> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (rest.get(..i)?, Some(rest.get(i + 1..)?)),
            None => (rest, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((int, frac)) if !frac.is_empty() => (int, frac),
            Some(_) => return None,
            None => (mantissa, ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) {
            return None;
        }
        let (exp_negative, exp_digits) = match exponent {
            None => (false, "0"),
            Some(e) => match e.as_bytes().first() {
                Some(b'-') => (true, e.get(1..)?),
                Some(b'+') => (false, e.get(1..)?),
                _ => (false, e),
            },
        };
        if exp_digits.is_empty() || !digits(exp_digits) {
            return None;
        }
        let significant = |s: &str| s.bytes().filter(|b| *b != b'0').count() > 0;
        let int_lead = int.len() - int.trim_start_matches('0').len();
        let lead = if int_lead < int.len() {
            int_lead
        } else {
            int.len() + frac.len() - frac.trim_start_matches('0').len()
        };
        let total = int.len() + frac.len();
        if !significant(int) && !significant(frac) {
            return Some(Normal {
                negative: false, // -0 is 0: one value, one spelling
                int,
                frac,
                lead: total,
                len: 0,
                first: Place::Small(0),
            });
        }
        let trail = if significant(frac) {
            frac.len() - frac.trim_end_matches('0').len()
        } else {
            frac.len() + int.len() - int.trim_end_matches('0').len()
        };
        let len = total - lead - trail;
        // The first significant digit's place relative to the exponent:
        // the integer part's last digit is at place 0.
        let shift = i128::try_from(int.len()).ok()? - 1 - i128::try_from(lead).ok()?;
        let exp_digits = exp_digits.trim_start_matches('0');
        let first = if exp_digits.len() <= 18 {
            let e = i128::from(exp_digits.parse::<u64>().unwrap_or(0));
            Place::Small(if exp_negative { -e } else { e } + shift)
        } else {
            // |exponent| >= 10^18 > |shift|: the sum has the exponent's sign.
            let delta = u64::try_from(shift.unsigned_abs())
                .ok()
                .filter(|d| *d < HUGE)?;
            let toward_zero = (shift < 0) != exp_negative;
            Place::Huge {
                negative: exp_negative,
                magnitude: add_to_digits(exp_digits, delta, toward_zero)?,
            }
        };
        Some(Normal {
            negative,
            int,
            frac,
            lead,
            len,
            first,
        })
    }

    /// The significant digits, appended to `out`.
    fn push_digits(&self, out: &mut String) {
        let int_len = self.int.len();
        let end = self.lead + self.len;
        if self.lead < int_len {
            out.push_str(
                self.int
                    .get(self.lead..end.min(int_len))
                    .unwrap_or_default(),
            );
        }
        if end > int_len {
            let from = self.lead.saturating_sub(int_len);
            out.push_str(self.frac.get(from..end - int_len).unwrap_or_default());
        }
    }

    /// The canonical spelling (see the module documentation).
    fn spell(&self) -> String {
        if self.len == 0 {
            return "0".into();
        }
        let mut digits = String::with_capacity(self.len);
        self.push_digits(&mut digits);
        let mut out = String::with_capacity(self.len + 8);
        if self.negative {
            out.push('-');
        }
        match &self.first {
            Place::Small(first) => {
                let first = *first;
                if self.ecmascript(&digits, first) {
                    push_ecmascript(&digits, first, &mut out);
                } else if (-30..=30).contains(&first) {
                    push_plain(&digits, first, &mut out);
                } else {
                    push_scientific(&digits, &mut out);
                    out.push_str(if first < 0 { "e-" } else { "e+" });
                    out.push_str(&first.unsigned_abs().to_string());
                }
            }
            Place::Huge {
                negative,
                magnitude,
            } => {
                push_scientific(&digits, &mut out);
                out.push_str(if *negative { "e-" } else { "e+" });
                out.push_str(magnitude);
            }
        }
        out
    }

    /// Whether the number is written as RFC 8785 writes it: the value is
    /// the shortest round-trip decimal of a double (so the ECMAScript
    /// spelling of that double denotes exactly this value), and it is above
    /// 10^20 in magnitude or has at most 18 decimals. (The last condition
    /// keeps the spelling digests have always had for the engine's exact
    /// decimals; either way the spelling is exact, so it is a choice of
    /// layout, never of value.)
    fn ecmascript(&self, digits: &str, first: i128) -> bool {
        let k = i128::try_from(self.len).unwrap_or(i128::MAX);
        let last = first - (k - 1);
        let above_1e20 = first > 20 || (first == 20 && digits != "1");
        if !above_1e20 && last < -18 {
            return false;
        }
        // At most 15 significant digits in the normal range: decimal ->
        // double -> shortest decimal gives them back (DBL_DIG = 15: two
        // such decimals never round to one double).
        if k <= 15 && (-307..=307).contains(&first) {
            return true;
        }
        if k > 17 || !(-324..=308).contains(&first) {
            return false;
        }
        // Otherwise ask: the shortest round-trip digits of the nearest
        // double (Rust's `{:e}`), compared with ours.
        let mut short = String::with_capacity(digits.len() + 8);
        push_scientific(digits, &mut short);
        short.push_str(&format!("e{first}"));
        let Ok(double) = short.parse::<f64>() else {
            return false;
        };
        if !double.is_finite() || double == 0.0 {
            return false;
        }
        let back = format!("{double:e}");
        let (mantissa, exponent) = back.split_once('e').unwrap_or((&back, ""));
        exponent.parse::<i128>().ok() == Some(first)
            && mantissa
                .bytes()
                .filter(u8::is_ascii_digit)
                .eq(digits.bytes())
    }
}

/// `d.ddd` (or `d`): the digits with a point after the first.
fn push_scientific(digits: &str, out: &mut String) {
    let (lead, tail) = digits.split_at(digits.len().min(1));
    out.push_str(lead);
    if !tail.is_empty() {
        out.push('.');
        out.push_str(tail);
    }
}

/// The digits without an exponent, the first at place `first`.
fn push_plain(digits: &str, first: i128, out: &mut String) {
    let len = digits.len();
    if first < 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(-first - 1).unwrap_or(0),
        ));
        out.push_str(digits);
        return;
    }
    let before = usize::try_from(first + 1).unwrap_or(0); // digits before the point
    if before >= len {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', before - len));
    } else {
        let (a, b) = digits.split_at(before);
        out.push_str(a);
        out.push('.');
        out.push_str(b);
    }
}

/// `Number.prototype.toString` (ECMA-262, 6.1.6.1.20) of the double whose
/// shortest digits are `digits`, the first at place `first`: plain while
/// the point is between 6 places before the first digit and 21 after it.
fn push_ecmascript(digits: &str, first: i128, out: &mut String) {
    let n = first + 1;
    if -6 < n && n <= 21 {
        push_plain(digits, first, out);
    } else {
        push_scientific(digits, out);
        out.push_str(if n > 0 { "e+" } else { "e-" });
        out.push_str(&(n - 1).unsigned_abs().to_string());
    }
}

/// `digits` (a decimal number of at least 19 digits) plus or minus `delta`
/// (below 10^18, so the result keeps at least 18 digits and stays
/// positive).
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
