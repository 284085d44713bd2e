//! RFC 3339 timestamps, within the years 0000 to 9999 (UTC).
//!
//! Invariant: every [`Timestamp`] lies between [`Timestamp::MIN`]
//! (`0000-01-01T00:00:00Z`) and [`Timestamp::MAX`]
//! (`9999-12-31T23:59:59.999999999Z`). Text outside that range is refused
//! when read, and arithmetic saturates at the bounds, so an instant always
//! prints as RFC 3339 with a four-digit year, reads back as itself, and
//! no computation on one (`now + timeout`) overflows or wraps.
//!
//! What [`Timestamp::parse_checked`] accepts, and why:
//!
//! - `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` (`t`, `z` and a
//!   space for `T` too), with a real calendar date and offsets within
//!   ±23:59. The UTC instant must be within the years 0000 to 9999:
//!   `9999-12-31T23:00:00-02:00` is refused, as are `+10000-01-01...` and
//!   `-0001-...` (expanded years).
//! - A leap second (`:60`) only where one can be: the last second of a UTC
//!   day (`23:59:60Z`, or `00:59:60+01:00`). Like Unix time, the timeline
//!   has no leap seconds: it is read as the next day's first instant.
//! - Any number of fraction digits, but digits past the nanosecond must be
//!   zeros: an instant is never silently rounded (which could move an
//!   expiry or an approval time either way).

use std::fmt;

const NANOS: i128 = 1_000_000_000;
/// Days from 1970-01-01 to 0000-01-01 (proleptic Gregorian).
const DAYS_TO_YEAR_0: i64 = -719_528;
/// Days from 1970-01-01 to 10000-01-01.
const DAYS_TO_YEAR_10000: i64 = 2_932_897;

/// An instant, as nanoseconds since the Unix epoch (UTC), within the years
/// 0000 to 9999 (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i128);

/// Why a text is not a timestamp gatehouse accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// Not RFC 3339 date-time syntax, or not a real date or time of day.
    #[error("not an RFC 3339 timestamp like 2026-11-22T18:00:00Z")]
    Syntax,
    /// The instant (in UTC) is outside the years 0000 to 9999.
    #[error("outside the years 0000 to 9999 (UTC), which is all gatehouse accepts")]
    OutOfRange,
    /// A leap second (`:60`) that is not the last second of a UTC day.
    #[error("a leap second (:60) is only accepted as the last second of a UTC day (23:59:60Z)")]
    LeapSecond,
    /// Non-zero digits past the nanosecond.
    #[error("more precise than a nanosecond (non-zero digits after the 9th fraction digit)")]
    SubNanosecond,
}

impl Timestamp {
    /// The earliest instant: `0000-01-01T00:00:00Z`.
    pub const MIN: Timestamp = Timestamp(DAYS_TO_YEAR_0 as i128 * 86_400 * NANOS);
    /// The latest instant: `9999-12-31T23:59:59.999999999Z`.
    pub const MAX: Timestamp = Timestamp(DAYS_TO_YEAR_10000 as i128 * 86_400 * NANOS - 1);

    /// Parses RFC 3339 (`2026-11-22T10:00:00Z`, `2026-11-22T10:00:00.5+01:00`);
    /// `None` for anything [`Timestamp::parse_checked`] refuses.
    pub fn parse(text: &str) -> Option<Timestamp> {
        Timestamp::parse_checked(text).ok()
    }

    /// Parses RFC 3339, saying why a text is refused (see the module
    /// documentation for what is accepted).
    pub fn parse_checked(text: &str) -> Result<Timestamp, TimestampError> {
        use TimestampError::{LeapSecond, OutOfRange, SubNanosecond, Syntax};
        let b = text.as_bytes();
        // An expanded year (`+10000-`, `-0001-`) or a five-digit one: out of
        // range when its value is (`+2026-` or `02026-` is merely not RFC 3339).
        let signed = matches!(b.first(), Some(b'+' | b'-'));
        let digits = b.iter().skip(usize::from(signed));
        let year_len = digits.clone().take_while(|c| c.is_ascii_digit()).count();
        if signed || year_len > 4 {
            let mut value: u64 = 0;
            for c in digits.take(year_len) {
                value = value.saturating_mul(10).saturating_add(u64::from(c - b'0'));
            }
            let below_zero = b.first() == Some(&b'-') && value > 0;
            return Err(if below_zero || value > 9999 {
                OutOfRange
            } else {
                Syntax
            });
        }
        let num = |from: usize, len: usize| -> Result<i64, TimestampError> {
            let s = text.get(from..from + len).ok_or(Syntax)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(Syntax);
            }
            s.parse().map_err(|_| Syntax)
        };
        if b.len() < 20 {
            return Err(Syntax);
        }
        let sep = |i: usize, c: u8| b.get(i).copied() == Some(c);
        if !(sep(4, b'-') && sep(7, b'-') && sep(13, b':') && sep(16, b':')) {
            return Err(Syntax);
        }
        if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
            return Err(Syntax);
        }
        let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
        let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(Syntax);
        }
        if hour > 23 || minute > 59 || second > 60 {
            return Err(Syntax);
        }
        let mut i = 19;
        let mut nanos: i128 = 0;
        if sep(i, b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let frac = b.get(start..i).ok_or(Syntax)?;
            if frac.is_empty() {
                return Err(Syntax);
            }
            let (kept, beyond) = frac.split_at(frac.len().min(9));
            if beyond.iter().any(|&d| d != b'0') {
                return Err(SubNanosecond);
            }
            // Each digit its place: `.5` is 500 000 000 ns.
            for place in 0..9 {
                let digit = kept.get(place).map_or(0, |d| d - b'0');
                nanos = nanos * 10 + i128::from(digit);
            }
        }
        let offset_seconds: i64 = match b.get(i) {
            Some(b'Z' | b'z') if b.len() == i + 1 => 0,
            Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && sep(i + 3, b':') => {
                let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
                if h > 23 || m > 59 {
                    return Err(Syntax);
                }
                let s = h * 3600 + m * 60;
                if *sign == b'+' { s } else { -s }
            }
            _ => return Err(Syntax),
        };
        // Small numbers throughout (|days| < 4 million): no overflow.
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
        if second == 60 && (secs - 60).rem_euclid(86_400) != 86_340 {
            // 23:59:60 UTC is 60 s after 23:59:00 UTC, the day's 86 340th second.
            return Err(LeapSecond);
        }
        let instant = i128::from(secs) * NANOS + nanos;
        if !(Timestamp::MIN.0..=Timestamp::MAX.0).contains(&instant) {
            return Err(OutOfRange);
        }
        Ok(Timestamp(instant))
    }

    /// The instant `nanos` nanoseconds after the Unix epoch, saturated to
    /// [`Timestamp::MIN`] ..= [`Timestamp::MAX`].
    pub fn from_unix_nanos(nanos: i128) -> Timestamp {
        Timestamp(nanos.clamp(Timestamp::MIN.0, Timestamp::MAX.0))
    }

    /// The system clock, for the command line only: the engine itself never
    /// reads the clock (time comes in as an argument).
    pub fn now_utc() -> Timestamp {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Timestamp::from_unix_nanos(i128::try_from(nanos).unwrap_or(i128::MAX))
    }

    /// Seconds since the epoch (floor).
    pub fn unix_seconds(&self) -> i64 {
        i64::try_from(self.0.div_euclid(NANOS)).unwrap_or(i64::MAX)
    }

    /// This instant plus a number of seconds, saturated to
    /// [`Timestamp::MIN`] ..= [`Timestamp::MAX`]: a deadline past the year
    /// 9999 is the last instant of 9999, later than any time gatehouse
    /// reads, so it is never reached early.
    pub fn plus_seconds(&self, seconds: i64) -> Timestamp {
        // |seconds| x 10^9 < 2^93: no overflow in i128.
        Timestamp::from_unix_nanos(self.0.saturating_add(i128::from(seconds) * NANOS))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, with fractional seconds only when present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Within MIN..=MAX (the invariant), the days fit an i64 easily.
        let secs = self.0.div_euclid(NANOS);
        let nanos = self.0.rem_euclid(NANOS);
        let days = i64::try_from(secs.div_euclid(86_400)).unwrap_or(0);
        let rem = i64::try_from(secs.rem_euclid(86_400)).unwrap_or(0);
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
mod tests;
