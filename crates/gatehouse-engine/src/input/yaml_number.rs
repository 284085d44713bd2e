//! Plain YAML scalars that the YAML parser reads as a binary double: is the
//! double the number that was written?
//!
//! The parser (serde_yaml) turns a plain scalar such as `-1e-400` or
//! `123456789012345678901` into an `f64`; the text is gone by the time the
//! value reaches the converter. Where the double differs from the decimal
//! written, the engine would decide on another number than the author's
//! (`-1e-400` becomes `-0`, which is not negative). JSON input is read
//! exactly; YAML cannot be, so such a number is refused instead, by
//! [`inexact`], from the text, before parsing.
//!
//! "Exact" here means: the shortest decimal that reads back as the same
//! double (what the converter hands on) has the same value as the text.
//! `0.1`, `12.50`, `1e2` and `1e-320` pass; `-1e-400`, `4.9e-325` (which
//! rounds to `5e-324`) and integers beyond 64 bits that a double rounds
//! are refused.

/// A decimal as sign, significant digits (no leading or trailing zeros)
/// and the exponent of the last digit. Zero has no digits (and no sign:
/// `-0` and `0` are the same number to the engine).
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

/// Parses `[+-]digits[.digits][(e|E)[+-]digits]`; `None` for anything
/// else (including an exponent that does not fit an `i64`).
fn decimal(text: &str) -> Option<Decimal> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(at) => (rest.get(..at)?, rest.get(at + 1..)?),
        None => (rest, "0"),
    };
    let exp: i64 = exp.strip_prefix('+').unwrap_or(exp).parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let all: String = int.chars().chain(frac.chars()).collect();
    let frac_len = i64::try_from(frac.len()).ok()?;
    let trimmed_end = all.trim_end_matches('0');
    let trailing = i64::try_from(all.len() - trimmed_end.len()).ok()?;
    let digits = trimmed_end.trim_start_matches('0').to_owned();
    if digits.is_empty() {
        return Some(Decimal {
            negative: false,
            digits,
            exponent: 0,
        });
    }
    Some(Decimal {
        negative,
        digits,
        exponent: exp.checked_sub(frac_len)?.checked_add(trailing)?,
    })
}

/// For a plain scalar the YAML parser reads as a non-integer number: why
/// it cannot be read exactly, or `None` when it can (or when it is not a
/// number at all: integers, words, `.inf`, which the converter handles).
pub(super) fn inexact(text: &str) -> Option<String> {
    // Integers that fit 64 bits are read exactly by the parser.
    if text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok() {
        return None;
    }
    let Ok(double) = text.parse::<f64>() else {
        return None;
    };
    if !double.is_finite() {
        if text.bytes().any(|b| b.is_ascii_digit()) {
            // A number written with digits that overflows a double
            // (`1e400`, `1.8e308`): serde_yaml leaves it a string, which
            // would digest and decide like the quoted text.
            return Some(format!(
                "`{text}` is too large for a YAML number (a double cannot hold it); use JSON input, which reads numbers exactly"
            ));
        }
        // `.inf`, `inf`, `nan`: refused by the converter as not finite, at
        // its JSON path.
        return None;
    }
    // An exponent beyond `i64` (which `decimal` refuses) still parses, to 0
    // or a huge double: never the number written.
    let written = decimal(text);
    if written.is_some() && decimal(&format!("{double:e}")) == written {
        return None;
    }
    Some(format!(
        "`{text}` cannot be read exactly as a number (a double holds it as `{double:e}`); quote it to pass a string, or use JSON input, which reads numbers exactly"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_numbers_pass() {
        for text in [
            "0.1",
            "12.5",
            "12.50",
            "-3.25",
            "1e2",
            "1E+2",
            "0.0",
            "-0.0",
            "+1.5",
            ".5",
            "5.",
            "1e-300",
            "1e-320",
            "123",
            "-9223372036854775808",
            "18446744073709551615",
            "abc",
            "1.2.3",
            ".inf",
            "nan",
        ] {
            assert_eq!(inexact(text), None, "{text}");
        }
    }

    #[test]
    fn numbers_too_large_for_a_double_are_refused() {
        for text in [
            "1e400",
            "1.8e308",
            "-1e400",
            "123e999999",
            "1e5000000000000000000000",
        ] {
            assert!(inexact(text).is_some(), "{text}");
        }
        for text in ["inf", ".inf", "-.inf", "nan", "Infinity"] {
            assert!(inexact(text).is_none(), "{text}");
        }
    }

    #[test]
    fn numbers_a_double_changes_are_refused() {
        for text in [
            "-1e-400",
            "1e-400",
            "4.9e-325",
            "123456789012345678901",
            "0.10000000000000000000001",
            "9007199254740993.0",
            "1e-5000000000000000000000",
        ] {
            let why = inexact(text);
            assert!(why.is_some(), "{text}");
        }
        assert!(inexact("-1e-400").unwrap().contains("`-0e0`"));
    }

    #[test]
    fn decimals_compare_by_value() {
        assert_eq!(decimal("1.50"), decimal("15e-1"));
        assert_eq!(decimal("-0"), decimal("0.000"));
        assert_eq!(decimal("100"), decimal("1e2"));
        assert_ne!(decimal("1"), decimal("-1"));
    }
}
