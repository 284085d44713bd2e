use super::*;
use TimestampError::{LeapSecond, OutOfRange, SubNanosecond, Syntax};

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap_or_else(|| panic!("{s}"))
}

#[test]
fn timestamps() {
    let a = t("2026-11-22T10:00:00Z");
    let b = t("2026-11-22T11:00:00+01:00");
    assert_eq!(a, b);
    assert_eq!(a.to_string(), "2026-11-22T10:00:00Z");
    assert_eq!(a.plus_seconds(86_400).to_string(), "2026-11-23T10:00:00Z");
    assert_eq!(
        t("2024-02-29T00:00:00.25Z").to_string(),
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
    assert_eq!(t("1970-01-01T00:00:00Z").unix_seconds(), 0);
}

#[test]
fn the_bounds_are_the_first_and_last_instants_of_years_0000_to_9999() {
    assert_eq!(days_from_civil(0, 1, 1), DAYS_TO_YEAR_0);
    assert_eq!(days_from_civil(10_000, 1, 1), DAYS_TO_YEAR_10000);
    assert_eq!(Timestamp::MIN.to_string(), "0000-01-01T00:00:00Z");
    assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999999999Z");
    assert_eq!(t("0000-01-01T00:00:00Z"), Timestamp::MIN);
    assert_eq!(t("9999-12-31T23:59:59.999999999Z"), Timestamp::MAX);
    assert_eq!(t("0000-01-01T01:00:00+01:00"), Timestamp::MIN);
    assert_eq!(t("9999-12-31T21:59:59.999999999-02:00"), Timestamp::MAX);
}

/// Years outside 0000-9999 are refused, in any spelling: expanded years,
/// five digits, or an offset that moves the UTC instant out. (Before, an
/// offset did: `9999-12-31T23:00:00-02:00` was read, and printed as a
/// five-digit year no reader takes back.)
#[test]
fn instants_outside_years_0000_to_9999_are_refused() {
    for (text, why) in [
        ("+10000-01-01T00:00:00Z", OutOfRange),
        ("10000-01-01T00:00:00Z", OutOfRange),
        ("-0001-12-31T00:00:00Z", OutOfRange),
        ("-0000-01-01T00:00:00Z", Syntax),
        ("+2026-11-22T10:00:00Z", Syntax),
        ("02026-11-22T10:00:00Z", Syntax),
        ("99999999999999999999999-01-01T00:00:00Z", OutOfRange),
        ("9999-12-31T23:00:00-02:00", OutOfRange),
        ("9999-12-31T23:59:59.999999999-00:01", OutOfRange),
        ("0000-01-01T00:30:00+01:00", OutOfRange),
        ("0000-01-01T00:00:00+00:01", OutOfRange),
        ("9999-12-31T23:59:60Z", OutOfRange),
        // offsets of a day or more, or malformed
        ("2026-11-22T10:00:00+24:00", Syntax),
        ("2026-11-22T10:00:00+99:99", Syntax),
        ("2026-11-22T10:00:00+123:00", Syntax),
        ("2026-11-22T10:00:00+00:60", Syntax),
        ("2026-11-22T10:00:00.Z", Syntax),
    ] {
        assert_eq!(Timestamp::parse_checked(text), Err(why), "{text}");
        assert_eq!(Timestamp::parse(text), None, "{text}");
    }
}

#[test]
fn a_leap_second_is_only_the_last_second_of_a_utc_day() {
    assert_eq!(t("2016-12-31T23:59:60Z"), t("2017-01-01T00:00:00Z"));
    assert_eq!(t("2017-01-01T00:59:60+01:00"), t("2017-01-01T00:00:00Z"));
    assert_eq!(t("2016-12-31T18:29:60-05:30"), t("2017-01-01T00:00:00Z"));
    assert_eq!(
        t("2016-12-31T23:59:60.5Z").to_string(),
        "2017-01-01T00:00:00.5Z"
    );
    for text in [
        "2026-11-22T10:05:60Z",
        "2016-12-31T23:59:60+01:00",
        "2016-12-31T22:59:60Z",
        "2016-12-31T23:58:60Z",
    ] {
        assert_eq!(Timestamp::parse_checked(text), Err(LeapSecond), "{text}");
    }
}

/// Any number of fraction digits, read in linear time; past the
/// nanosecond only zeros (an instant is never rounded).
#[test]
fn fractions_are_exact_to_the_nanosecond_at_any_length() {
    assert_eq!(
        t("2026-11-22T10:00:00.123456789000000000000Z").to_string(),
        "2026-11-22T10:00:00.123456789Z"
    );
    let long = format!("2026-11-22T10:00:00.5{}Z", "0".repeat(1_000_000));
    assert_eq!(t(&long), t("2026-11-22T10:00:00.5Z"));
    let long = format!("2026-11-22T10:00:00.{}1Z", "0".repeat(1_000_000));
    assert_eq!(Timestamp::parse_checked(&long), Err(SubNanosecond));
    assert_eq!(
        Timestamp::parse_checked("2026-11-22T10:00:00.1234567891Z"),
        Err(SubNanosecond)
    );
    assert_eq!(
        Timestamp::parse_checked("9999-12-31T23:59:59.9999999999Z"),
        Err(SubNanosecond)
    );
}

/// Arithmetic saturates at the bounds: never an overflow, a wrap, or an
/// instant that prints outside RFC 3339. (Before, `plus_seconds` went past
/// the year 9999 and `from_unix_nanos(i128::MAX)` could not be printed.)
#[test]
fn arithmetic_saturates_within_the_years_0000_to_9999() {
    let now = t("2026-11-22T10:00:00Z");
    assert_eq!(now.plus_seconds(i64::MAX), Timestamp::MAX);
    assert_eq!(now.plus_seconds(i64::MIN), Timestamp::MIN);
    assert_eq!(Timestamp::MAX.plus_seconds(1), Timestamp::MAX);
    assert_eq!(Timestamp::MIN.plus_seconds(-1), Timestamp::MIN);
    assert_eq!(
        Timestamp::MAX.plus_seconds(-1).to_string(),
        "9999-12-31T23:59:58.999999999Z"
    );
    // 300 000 years of timeout: the deadline is the last instant of 9999,
    // which no `now` gatehouse reads is after.
    assert_eq!(now.plus_seconds(300_000 * 365 * 86_400), Timestamp::MAX);
    for nanos in [i128::MAX, i128::MIN, 0, -1, Timestamp::MAX.0 + 1] {
        let at = Timestamp::from_unix_nanos(nanos);
        assert!((Timestamp::MIN..=Timestamp::MAX).contains(&at));
        assert_eq!(t(&at.to_string()), at);
    }
}

proptest::proptest! {
    /// Every instant prints as RFC 3339 and reads back as itself.
    #[test]
    fn every_instant_round_trips(
        nanos in proptest::prelude::any::<i128>(),
        near in -1_000_000_000_000i128..1_000_000_000_000,
        pick in 0u8..3,
    ) {
        let nanos = match pick {
            0 => nanos,
            1 => Timestamp::MAX.0 - near.abs(),
            _ => Timestamp::MIN.0 + near.abs(),
        };
        let at = Timestamp::from_unix_nanos(nanos);
        proptest::prop_assert_eq!(Timestamp::parse(&at.to_string()), Some(at));
    }

    /// Any date-time shape, in range or not: never a panic, and what is
    /// accepted is within the bounds and prints as itself.
    #[test]
    fn any_date_time_is_read_or_refused_without_panicking(
        year in "[+-]?[0-9]{4,6}",
        rest in "-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?([Zz]|[+-][0-9]{2}:[0-9]{2})",
    ) {
        let text = format!("{year}{rest}");
        if let Some(at) = Timestamp::parse(&text) {
            proptest::prop_assert!((Timestamp::MIN..=Timestamp::MAX).contains(&at));
            proptest::prop_assert_eq!(Timestamp::parse(&at.to_string()), Some(at));
        }
    }
}
