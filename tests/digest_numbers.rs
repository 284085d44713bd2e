//! The action digest's numbers (issue 12, promise 2): every distinct JSON
//! number value has its own canonical spelling, at any magnitude and
//! precision, and every spelling of one value has the same one; the tree
//! digest (`action_digest`) and the text digest (`action_digest_text`)
//! write the same canonical form.
//!
//! The model: a value is a sign, its significant digits (no leading or
//! trailing zero) and the place of the first of them (an `i128`, so
//! exponent literals of up to 38 digits, well past what fits 64 bits, are
//! covered; longer ones have fixed cases below). Spellings are generated
//! from the model, and the canonical spelling is read back into the model
//! by an independent reader, so "denotes exactly the value" is checked, not
//! assumed.

use gatehouse::audit::digest::{action_digest, canonical_json};
use gatehouse::audit::digest_text::{DigestScratch, action_digest_text, canonical_text};
use proptest::prelude::*;
use serde_json::Value;

/// A number's value: `None` digits is zero.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Model {
    negative: bool,
    /// Significant digits, first and last non-zero; empty for zero.
    digits: String,
    /// The place of the first digit (0 units, -1 tenths); 0 for zero.
    first: i128,
}

impl Model {
    fn new(negative: bool, digits: &str, first: i128) -> Model {
        // The caller's `first` is the place of `digits`' first character,
        // which is never a zero (zero itself aside).
        let digits = digits.trim_end_matches('0').to_owned();
        if digits.is_empty() {
            return Model {
                negative: false,
                digits,
                first: 0,
            };
        }
        Model {
            negative,
            digits,
            first,
        }
    }
}

/// Reads a JSON number literal into the model (the test's own reader,
/// independent of the crate's). `None` when the exponent does not fit.
fn model_of(text: &str) -> Option<Model> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = rest.split_once(['e', 'E']).unwrap_or((rest, "0"));
    if mantissa.bytes().all(|b| matches!(b, b'0' | b'.')) {
        return Some(Model::new(false, "", 0)); // zero, whatever the exponent
    }
    let exponent = exponent.trim_start_matches('+').parse::<i128>().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let first = exponent + int.len() as i128 - 1 - lead as i128;
    Some(Model::new(negative, &all[lead..], first))
}

/// One spelling of the model's value, chosen by `style`.
#[derive(Clone, Debug)]
struct Style {
    /// Zeros written before the first digit (`0.000123`) when `point_at` is 0.
    lead_zeros: usize,
    trail_zeros: usize,
    /// Digits before the point (0: `0.` then the digits).
    point_at: usize,
    upper_e: bool,
    plus: bool,
    exp_zeros: usize,
    /// Write `e0` even when the exponent is 0.
    always_exp: bool,
    /// For zero: write `-0`.
    minus_zero: bool,
}

fn spell(m: &Model, s: &Style) -> String {
    let mut out = String::new();
    if m.digits.is_empty() {
        // Zero: `0`, `-0`, `0.00`, with any exponent.
        out.push_str(if s.minus_zero { "-0" } else { "0" });
        if s.trail_zeros > 0 {
            out.push('.');
            out.push_str(&"0".repeat(s.trail_zeros));
        }
        if s.always_exp {
            out.push(if s.upper_e { 'E' } else { 'e' });
            out.push(if s.plus { '+' } else { '-' });
            out.push_str(&"9".repeat(1 + s.point_at));
        }
        return out;
    }
    if m.negative {
        out.push('-');
    }
    let body = format!("{}{}", m.digits, "0".repeat(s.trail_zeros));
    let point_at = s.point_at.min(body.len());
    // The first digit's place relative to the exponent.
    let shift = if point_at == 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(s.lead_zeros));
        out.push_str(&body);
        -1 - s.lead_zeros as i128
    } else {
        out.push_str(&body[..point_at]);
        if point_at < body.len() {
            out.push('.');
            out.push_str(&body[point_at..]);
        }
        point_at as i128 - 1
    };
    let exponent = m.first - shift;
    if exponent != 0 || s.always_exp {
        out.push(if s.upper_e { 'E' } else { 'e' });
        if exponent < 0 {
            out.push('-');
        } else if s.plus {
            out.push('+');
        }
        out.push_str(&"0".repeat(s.exp_zeros));
        out.push_str(&exponent.unsigned_abs().to_string());
    }
    out
}

/// The canonical forms of `text` (a number literal) by both paths, checked
/// equal, JSON and a fixed point.
fn canonical(text: &str) -> Result<String, TestCaseError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| TestCaseError::fail(format!("{text}: not JSON: {e}")))?;
    let tree = canonical_json(&value);
    let from_text = canonical_text(text, &mut DigestScratch::new()).map(str::to_owned);
    prop_assert_eq!(
        Some(&tree),
        from_text.as_ref(),
        "text and tree differ for {}",
        text
    );
    prop_assert_eq!(
        action_digest(&value),
        action_digest_text(text, &mut DigestScratch::new()),
        "digests differ for {}",
        text
    );
    let again: Value = serde_json::from_str(&tree)
        .map_err(|e| TestCaseError::fail(format!("{tree}: not JSON: {e}")))?;
    prop_assert_eq!(
        &canonical_json(&again),
        &tree,
        "not a fixed point: {}",
        text
    );
    Ok(tree)
}

fn model() -> impl Strategy<Value = Model> {
    let digits = prop_oneof![
        Just(String::new()),
        "[1-9]",
        "[1-9][0-9]{0,14}[1-9]",
        "[1-9][0-9]{15,17}",
        "[1-9][0-9]{18,40}[1-9]",
        "[1-9]0{10,30}[1-9]",
    ];
    let first = prop_oneof![
        4 => -40i128..40,
        2 => -340i128..330,
        1 => -100_000i128..100_000,
        // Around 64 bits and far beyond: exponent literals of 19 to 37 digits.
        1 => (-3i128..=3, -1000i128..1000)
            .prop_map(|(sign, off)| sign * 1_000_000_000_000_000_000 + off),
        1 => (prop::bool::ANY, 0i128..1000).prop_map(|(neg, off)| {
            let big = 10i128.pow(36) + off;
            if neg { -big } else { big }
        }),
    ];
    (any::<bool>(), digits, first)
        .prop_map(|(negative, digits, first)| Model::new(negative, &digits, first))
}

fn style() -> impl Strategy<Value = Style> {
    (
        (0usize..6, 0usize..6, 0usize..45),
        (
            any::<bool>(),
            any::<bool>(),
            0usize..3,
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (lead_zeros, trail_zeros, point_at),
                (upper_e, plus, exp_zeros, always_exp, minus_zero),
            )| Style {
                lead_zeros,
                trail_zeros,
                point_at,
                upper_e,
                plus,
                exp_zeros,
                always_exp,
                minus_zero,
            },
        )
}

/// A different value near `m`: a digit changed, added or dropped, the
/// place moved, or the sign flipped.
fn neighbour(m: &Model, how: u8, at: usize) -> Model {
    let mut digits = if m.digits.is_empty() {
        "1".to_owned()
    } else {
        m.digits.clone()
    };
    match how % 5 {
        0 => {
            // Change one digit (the result still differs after trimming).
            let i = at % digits.len();
            let old = digits.as_bytes()[i];
            let new = if old == b'9' { b'8' } else { old + 1 };
            digits.replace_range(i..=i, std::str::from_utf8(&[new]).unwrap_or("1"));
            Model::new(m.negative, &digits, m.first)
        }
        1 => Model::new(m.negative, &format!("{digits}{}", 1 + at % 9), m.first),
        2 => Model::new(m.negative, &digits, m.first + 1 + (at % 3) as i128),
        3 if !m.digits.is_empty() => Model::new(!m.negative, &digits, m.first),
        _ => Model::new(m.negative, &digits, m.first - 1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    /// Every spelling of one value has one canonical form, the same from
    /// the text and from the tree, and that form denotes exactly the value.
    #[test]
    fn respellings_of_one_value_share_one_exact_canonical_form(
        m in model(),
        a in style(),
        b in style(),
    ) {
        let (x, y) = (spell(&m, &a), spell(&m, &b));
        prop_assert_eq!(model_of(&x), Some(m.clone()), "the test spelled {} wrong", x);
        prop_assert_eq!(model_of(&y), Some(m.clone()), "the test spelled {} wrong", y);
        let cx = canonical(&x)?;
        prop_assert_eq!(&cx, &canonical(&y)?, "{} and {}", x, y);
        prop_assert_eq!(model_of(&cx), Some(m), "{} is not the value of {}", cx, x);
    }

    /// Two different values never share a canonical form (nor a digest),
    /// whether close (one digit, one place, the sign) or unrelated.
    #[test]
    fn different_values_have_different_canonical_forms(
        m in model(),
        other in model(),
        how in any::<u8>(),
        at in any::<usize>(),
        a in style(),
        b in style(),
    ) {
        for n in [neighbour(&m, how, at), other] {
            if n == m {
                continue;
            }
            let (x, y) = (spell(&m, &a), spell(&n, &b));
            prop_assert_ne!(canonical(&x)?, canonical(&y)?, "{} and {}", x, y);
            let doc = |t: &str| format!(r#"{{"action": {{"amount": {t}}}}}"#);
            let (dx, dy) = (doc(&x), doc(&y));
            prop_assert_ne!(
                action_digest_text(&dx, &mut DigestScratch::new()),
                action_digest_text(&dy, &mut DigestScratch::new())
            );
        }
    }

    /// Random digit strings with random exponents, as a producer may write
    /// them: the canonical form is the exact value.
    #[test]
    fn random_literals_canonicalize_to_their_exact_value(
        sign in "-?",
        int in "0|[1-9][0-9]{0,30}",
        frac in prop::option::of("[0-9]{1,30}"),
        exp in prop::option::of(("[eE]", "[+-]?", "[0-9]{1,30}")),
    ) {
        let mut text = format!("{sign}{int}");
        if let Some(f) = frac {
            text.push('.');
            text.push_str(&f);
        }
        if let Some((e, s, d)) = exp {
            text.push_str(&format!("{e}{s}{d}"));
        }
        let c = canonical(&text)?;
        prop_assert_eq!(model_of(&c), model_of(&text), "{} became {}", text, c);
    }
}

fn num(text: &str) -> String {
    canonical(text).unwrap_or_else(|e| panic!("{e}"))
}

/// Issue 12, promise 2: numbers above 1e20 were digested as doubles, so
/// these two amounts shared a digest (an approval for one verified the
/// other).
#[test]
fn the_issue_example_no_longer_shares_a_digest() {
    let a = r#"{"action": {"type": "refund", "amount": 123456789012345678901}}"#;
    let b = r#"{"action": {"type": "refund", "amount": 123456789012345678999}}"#;
    let tree = |t: &str| action_digest(&serde_json::from_str(t).expect("json"));
    let text = |t: &str| action_digest_text(t, &mut DigestScratch::new());
    assert_ne!(tree(a), tree(b));
    assert_ne!(text(a), text(b));
    assert_eq!(tree(a), text(a));
    assert_eq!(num("123456789012345678901"), "123456789012345678901");
    assert_eq!(num("123456789012345678999"), "123456789012345678999");
}

/// Values a double rounds together, above 10^20 and below it, each keep
/// their own spelling; those a double holds keep RFC 8785's.
#[test]
fn numbers_a_double_merges_stay_apart() {
    for (a, b) in [
        // 2^70, and the shortest decimal of the double nearest it
        ("1180591620717411303424", "1.1805916207174113e21"),
        ("100000000000000000001", "100000000000000000000"),
        ("1e21", "1000000000000000000001"),
        ("-99999999999999999999999", "-1e23"),
        ("1.7976931348623157e308", "1.79769313486231570000001e308"),
        ("5e-324", "4.9406564584124654e-324"),
        ("9007199254740993", "9007199254740992"),
        ("1e-400", "-1e-400"),
    ] {
        assert_ne!(num(a), num(b), "{a} and {b}");
    }
    assert_eq!(num("1e21"), "1e+21");
    assert_eq!(num("1E+23"), "1e+23");
    assert_eq!(num("1180591620717411303424"), "1180591620717411303424");
    assert_eq!(num("1.1805916207174113e21"), "1.1805916207174113e+21");
    assert_eq!(
        num("123456789012345678901234567890123"),
        "1.23456789012345678901234567890123e+32"
    );
}

/// `-0` is zero; every spelling of a value agrees, also with exponent
/// literals too long for any integer type.
#[test]
fn equal_values_share_one_spelling_at_any_exponent_length() {
    for same in [
        &["1", "1.0", "10e-1", "1E0", "0.1e1", "1e+0", "100e-2"][..],
        &[
            "0",
            "-0",
            "0.0",
            "-0.0e5",
            "0e99999999999999999999",
            "-0E-99999999999999999999",
        ],
        &[
            "1e99999999999999999999",
            "10e99999999999999999998",
            "0.1E+100000000000000000000",
            "1.000e0099999999999999999999",
        ],
        &[
            "-7e-123456789012345678901234567890123456789012345678901",
            "-70e-123456789012345678901234567890123456789012345678902",
            "-0.007e-123456789012345678901234567890123456789012345678898",
        ],
    ] {
        let first = num(same[0]);
        for other in &same[1..] {
            assert_eq!(num(other), first, "{other} vs {}", same[0]);
        }
    }
    assert_eq!(num("-0"), "0");
    assert_eq!(num("1e99999999999999999999"), "1e+99999999999999999999");
    assert_ne!(num("1e99999999999999999999"), num("1e99999999999999999998"));
    assert_ne!(
        num("1e99999999999999999999"),
        num("1.00000000000000000000000000000000001e99999999999999999999")
    );
    assert_eq!(
        num("-7e-123456789012345678901234567890123456789012345678901"),
        "-7e-123456789012345678901234567890123456789012345678901"
    );
}
