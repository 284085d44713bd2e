//! Exact scalar values shared by the checker and the evaluator: decimal
//! numbers, durations and RFC 3339 timestamps.
//!
//! Numbers are fixed-point with 18 fractional digits in an `i128`, so
//! `1000.00 == 1000` and `1000.01 > 1000` hold exactly as written, with no
//! binary floating point anywhere on the decision path.

use std::cmp::Ordering;
use std::fmt;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberError {
    /// Not decimal number syntax.
    Syntax,
    /// Magnitude above 10^20.
    OutOfRange,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberError::Syntax => f.write_str("not a decimal number"),
            NumberError::OutOfRange => f.write_str("number out of range (magnitude above 1e20)"),
        }
    }
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
    pub(crate) fn units(&self) -> i128 {
        self.units
    }

    /// The exact value `units` x 10^-18.
    pub(crate) fn from_units(units: i128) -> Decimal {
        Decimal {
            units,
            inexact: false,
        }
    }

    /// One whole unit (1), in units of 10^-18.
    pub(crate) const ONE_UNITS: i128 = SCALE;

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

/// An instant, as nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i128);

impl Timestamp {
    /// Parses RFC 3339 (`2026-11-22T10:00:00Z`, `2026-11-22T10:00:00.5+01:00`).
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        let num = |from: usize, len: usize| -> Option<i64> {
            let s = text.get(from..from + len)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        if b.len() < 20 {
            return None;
        }
        let sep = |i: usize, c: u8| b.get(i).copied() == Some(c);
        if !(sep(4, b'-') && sep(7, b'-') && sep(13, b':') && sep(16, b':')) {
            return None;
        }
        if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
            return None;
        }
        let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
        let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut i = 19;
        let mut nanos: i128 = 0;
        if sep(i, b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let frac = text.get(start..i)?;
            if frac.is_empty() {
                return None;
            }
            let mut padded: String = frac.chars().take(9).collect();
            while padded.len() < 9 {
                padded.push('0');
            }
            nanos = padded.parse().ok()?;
        }
        let offset_seconds: i64 = match b.get(i) {
            Some(b'Z' | b'z') if b.len() == i + 1 => 0,
            Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && sep(i + 3, b':') => {
                let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
                if h > 23 || m > 59 {
                    return None;
                }
                let s = h * 3600 + m * 60;
                if *sign == b'+' { s } else { -s }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
        Some(Timestamp(i128::from(secs) * 1_000_000_000 + nanos))
    }

    /// The instant `nanos` nanoseconds after the Unix epoch.
    pub fn from_unix_nanos(nanos: i128) -> Timestamp {
        Timestamp(nanos)
    }

    /// The system clock, for the command line only: the engine itself never
    /// reads the clock (time comes in as an argument).
    pub fn now_utc() -> Timestamp {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Timestamp(i128::try_from(nanos).unwrap_or(0))
    }

    /// Seconds since the epoch (floor).
    pub fn unix_seconds(&self) -> i64 {
        i64::try_from(self.0.div_euclid(1_000_000_000)).unwrap_or(i64::MAX)
    }

    /// This instant plus a number of seconds.
    pub fn plus_seconds(&self, seconds: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(i128::from(seconds) * 1_000_000_000))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, with fractional seconds only when present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400) as i64;
        let rem = secs.rem_euclid(86_400) as i64;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )?;
        if nanos != 0 {
            let s = format!("{nanos:09}");
            write!(f, ".{}", s.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil calendar algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
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

    #[test]
    fn timestamps() {
        let a = Timestamp::parse("2026-11-22T10:00:00Z").unwrap();
        let b = Timestamp::parse("2026-11-22T11:00:00+01:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "2026-11-22T10:00:00Z");
        assert_eq!(a.plus_seconds(86_400).to_string(), "2026-11-23T10:00:00Z");
        assert_eq!(
            Timestamp::parse("2024-02-29T00:00:00.25Z")
                .unwrap()
                .to_string(),
            "2024-02-29T00:00:00.25Z"
        );
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-11-22",
            "2026-11-22T10:00:00",
            "2026-13-01T00:00:00Z",
            "2026-11-22T10:00:00+1:00",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:00Z")
                .unwrap()
                .unix_seconds(),
            0
        );
    }
}
