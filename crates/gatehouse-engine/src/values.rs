//! Exact scalar values shared by the checker and the evaluator: decimal
//! numbers, durations and RFC 3339 timestamps.
//!
//! Numbers are fixed-point with 18 fractional digits in an `i128`, so
//! `1000.00 == 1000` and `1000.01 > 1000` hold exactly as written, with no
//! binary floating point anywhere on the decision path.

use std::cmp::Ordering;
use std::fmt;

pub mod share;
mod timestamp;

pub use timestamp::{Timestamp, TimestampError};

/// Fractional digits kept exactly.
pub const SCALE_DIGITS: u32 = 18;
const SCALE: i128 = 1_000_000_000_000_000_000;
/// Largest magnitude accepted: 10^20 (anything larger is refused, never rounded).
const MAX_ABS: i128 = 100_000_000_000_000_000_000 * SCALE;

/// An exact decimal number.
///
/// Invariant: `units` is the value times 10^18, truncated toward negative
/// infinity; `inexact` is set when digits beyond the 18th were dropped, which
/// means the true value lies strictly between `units` and `units + 1`. Policy
/// literals are always exact, so comparisons against them stay exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decimal {
    units: i128,
    inexact: bool,
}

/// Why a piece of text is not a number gatehouse accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    /// Not decimal number syntax.
    #[error("not a decimal number")]
    Syntax,
    /// Magnitude above 10^20.
    #[error("number out of range (magnitude above 1e20)")]
    OutOfRange,
}

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal {
        units: 0,
        inexact: false,
    };

    /// Parses JSON-style number text (`-12.50`, `1e3`, `2.5E-4`); `_` digit
    /// separators are accepted so policy literals like `10_000` read well.
    pub fn parse(text: &str) -> Result<Decimal, NumberError> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exponent_text) = match rest.find(['e', 'E']) {
            Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i + 1..)),
            None => (rest, None),
        };
        let exponent: i64 = match exponent_text {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(NumberError::Syntax);
                }
                let magnitude: i64 = digits
                    .trim_start_matches('0')
                    .get(..)
                    .filter(|d| d.len() <= 6)
                    .map(|d| d.parse().unwrap_or(0))
                    // Exponents beyond a million are clamped: far out of range
                    // either way, and the sign still decides which way.
                    .unwrap_or(1_000_000);
                if e.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                }
            }
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        let digit_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
        if int_part.is_empty() || !digit_ok(int_part) || !digit_ok(frac_part) {
            return Err(NumberError::Syntax);
        }
        if mantissa.ends_with('.') {
            return Err(NumberError::Syntax);
        }
        // All significant digits, and the power of ten of the last one.
        let digits: Vec<u8> = int_part
            .bytes()
            .chain(frac_part.bytes())
            .filter(|b| *b != b'_')
            .map(|b| b - b'0')
            .collect();
        let frac_len = frac_part.bytes().filter(|b| *b != b'_').count() as i64;
        // value = digits * 10^(exponent - frac_len); we want value * 10^18.
        let shift = exponent - frac_len + i64::from(SCALE_DIGITS);
        let first_nonzero = digits.iter().position(|d| *d != 0);
        let Some(first) = first_nonzero else {
            return Ok(Decimal::ZERO);
        };
        let significant = digits.get(first..).unwrap_or(&[]);
        // Position (power of ten, in scaled units) of the most significant digit.
        let top = significant.len() as i64 - 1 + shift;
        if top > 39 {
            return Err(NumberError::OutOfRange);
        }
        let mut units: i128 = 0;
        let mut inexact = false;
        for (i, d) in significant.iter().enumerate() {
            let power = top - i as i64;
            if power < 0 {
                if *d != 0 {
                    inexact = true;
                }
                continue;
            }
            units = units
                .checked_mul(10)
                .and_then(|u| u.checked_add(i128::from(*d)))
                .ok_or(NumberError::OutOfRange)?;
        }
        // digits after the last one are zeros up to the scale
        let last_power = top - significant.len() as i64 + 1;
        if last_power > 0 {
            for _ in 0..last_power {
                units = units.checked_mul(10).ok_or(NumberError::OutOfRange)?;
            }
        }
        if units > MAX_ABS {
            return Err(NumberError::OutOfRange);
        }
        Ok(Decimal { units, inexact }.negate_if(negative))
    }

    fn negate_if(self, negative: bool) -> Decimal {
        if !negative {
            return self;
        }
        if self.inexact {
            // -(u + f) with 0 < f < 1 lies strictly between -u-1 and -u.
            Decimal {
                units: -self.units - 1,
                inexact: true,
            }
        } else {
            Decimal {
                units: -self.units,
                inexact: false,
            }
        }
    }

    /// Builds a decimal from an integer.
    pub fn from_i64(v: i64) -> Decimal {
        Decimal {
            units: i128::from(v) * SCALE,
            inexact: false,
        }
    }

    /// The value in units of 10^-18 (exact values only are built this way).
    pub fn units(&self) -> i128 {
        self.units
    }

    /// The exact value `units` x 10^-18.
    pub fn from_units(units: i128) -> Decimal {
        Decimal {
            units,
            inexact: false,
        }
    }

    /// One whole unit (1), in units of 10^-18.
    pub const ONE_UNITS: i128 = SCALE;

    /// Whether digits were dropped when this value was read.
    pub fn is_exact(&self) -> bool {
        !self.inexact
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    /// Exact whenever at least one side is exact (every policy literal is).
    fn cmp(&self, other: &Self) -> Ordering {
        self.units
            .cmp(&other.units)
            .then(self.inexact.cmp(&other.inexact))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let negative = self.units < 0;
        let abs = self.units.unsigned_abs();
        let int = abs / SCALE as u128;
        let frac = abs % SCALE as u128;
        if negative {
            f.write_str("-")?;
        }
        write!(f, "{int}")?;
        if frac != 0 {
            let s = format!("{frac:018}");
            write!(f, ".{}", s.trim_end_matches('0'))?;
        }
        if self.inexact {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// Parses a duration written as `1d2h30m15s` into seconds: any subset of
/// the units, each at most once, largest first.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number: Option<i64> = None;
    let mut last_unit = i64::MAX;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(i64::from(d))?,
            );
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        if unit >= last_unit {
            return None;
        }
        last_unit = unit;
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    if number.is_some() || text.is_empty() {
        return None;
    }
    Some(total)
}

/// Renders seconds in the policy language's duration syntax (`1d2h`).
pub fn format_duration(seconds: i64) -> String {
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut rest = seconds;
    for (unit, name) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
        if rest >= unit {
            out.push_str(&format!("{}{}", rest / unit, name));
            rest %= unit;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn decimals_compare_exactly_as_written() {
        assert_eq!(d("1000.00"), d("1000"));
        assert!(d("1000.01") > d("1000"));
        assert!(d("999.999999999999999999") < d("1000"));
        assert_eq!(d("1e3"), d("1000"));
        assert_eq!(d("2.5E-1"), d("0.25"));
        assert_eq!(d("-0"), d("0"));
        assert_eq!(d("10_000"), d("10000"));
        assert!(d("-1.5") < d("-1"));
    }

    #[test]
    fn digits_beyond_the_scale_keep_order_against_exact_values() {
        let tiny = d("0.0000000000000000001"); // 1e-19
        assert!(!tiny.is_exact());
        assert!(tiny > d("0"));
        assert!(tiny < d("0.000000000000000001"));
        let neg = d("-0.0000000000000000001");
        assert!(neg < d("0"));
        assert!(neg > d("-0.000000000000000001"));
        assert!(d("1e-400") > d("0"));
    }

    #[test]
    fn out_of_range_and_bad_syntax_are_refused() {
        assert_eq!(Decimal::parse("1e400"), Err(NumberError::OutOfRange));
        assert_eq!(
            Decimal::parse("1000000000000000000000"),
            Err(NumberError::OutOfRange)
        );
        assert!(Decimal::parse("100000000000000000000").is_ok());
        for bad in ["", "-", "1.", ".5", "1e", "abc", "1..2", "NaN", "inf"] {
            assert_eq!(Decimal::parse(bad), Err(NumberError::Syntax), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["0", "1000", "-12.5", "0.001", "100000000000000000000"] {
            assert_eq!(d(s).to_string(), s);
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(parse_duration("1h30m"), Some(5_400));
        assert_eq!(parse_duration("7d"), Some(604_800));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("1h1h"), None);
        assert_eq!(parse_duration("30m1h"), None);
        assert_eq!(format_duration(5_400), "1h30m");
        assert_eq!(format_duration(86_400), "1d");
    }
}
