//! Shares written as percentages in policy text (`sample 5% for review`):
//! exact parts per million, and the canonical spelling the formatter writes.
//!
//! A share is digits with an optional fraction (`5`, `0.5`, `12.25`); it
//! must lie in (0, 100] and be a whole number of parts per million (at most
//! 4 significant decimals). Trailing zeros of the fraction and leading zeros
//! of the integer part carry no meaning, so `5.50` and `05.5` are `5.5`:
//! the formatter may drop them without changing what the policy says.
//! Work is linear in the text's length; nothing here can overflow.

/// Parts per million in 100%.
pub const PPM_ALL: u32 = 1_000_000;

/// Why a share is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// Not digits with an optional `.digits` fraction.
    #[error("not a percentage")]
    Syntax,
    /// The share is 0%.
    #[error("a share of 0% samples nothing")]
    Zero,
    /// The share is above 100%.
    #[error("a share above 100%")]
    AboveAll,
    /// A non-zero digit after the 4th decimal (finer than one in a million).
    #[error("more than 4 decimals")]
    TooPrecise,
}

/// Splits `int[.frac]` into its significant parts: the integer part without
/// leading zeros, the fraction without trailing zeros.
fn parts(share: &str) -> Result<(&str, &str), ShareError> {
    let (int, frac) = match share.split_once('.') {
        Some((i, f)) if !f.is_empty() => (i, f),
        Some(_) => return Err(ShareError::Syntax),
        None => (share, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) {
        return Err(ShareError::Syntax);
    }
    Ok((int.trim_start_matches('0'), frac.trim_end_matches('0')))
}

/// The share (without its `%`) in parts per million.
///
/// ```
/// use gatehouse::values::share::{share_ppm, ShareError};
/// assert_eq!(share_ppm("5"), Ok(50_000));
/// assert_eq!(share_ppm("0.5"), Ok(5_000));
/// assert_eq!(share_ppm("12.2500"), Ok(122_500));
/// assert_eq!(share_ppm("100"), Ok(1_000_000));
/// assert_eq!(share_ppm("0.00"), Err(ShareError::Zero));
/// assert_eq!(share_ppm("100.0001"), Err(ShareError::AboveAll));
/// assert_eq!(share_ppm("0.00001"), Err(ShareError::TooPrecise));
/// ```
pub fn share_ppm(share: &str) -> Result<u32, ShareError> {
    let (int, frac) = parts(share)?;
    if int.len() > 3 {
        return Err(ShareError::AboveAll);
    }
    if frac.len() > 4 {
        return Err(ShareError::TooPrecise);
    }
    let mut ppm: u32 = 0;
    for b in int.bytes() {
        ppm = ppm * 10 + u32::from(b - b'0');
    }
    let mut fraction: u32 = 0;
    for i in 0..4 {
        let digit = frac.as_bytes().get(i).map_or(0, |b| u32::from(b - b'0'));
        fraction = fraction * 10 + digit;
    }
    let ppm = ppm * 10_000 + fraction;
    match ppm {
        0 => Err(ShareError::Zero),
        p if p > PPM_ALL => Err(ShareError::AboveAll),
        p => Ok(p),
    }
}

/// The canonical spelling of a share (without its `%`): no leading zeros
/// before the point, no trailing zeros after it, no point without a
/// fraction. Text that is not a share is returned as it is.
///
/// ```
/// use gatehouse::values::share::canonical_share;
/// assert_eq!(canonical_share("5.50"), "5.5");
/// assert_eq!(canonical_share("05.0"), "5");
/// assert_eq!(canonical_share("0.50"), "0.5");
/// assert_eq!(canonical_share("000"), "0");
/// ```
pub fn canonical_share(share: &str) -> String {
    let Ok((int, frac)) = parts(share) else {
        return share.to_owned();
    };
    let int = if int.is_empty() { "0" } else { int };
    if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    }
}

/// The canonical text of a share given in parts per million, with its `%`
/// (`50000` is `5%`, `5000` is `0.5%`).
pub fn ppm_text(ppm: u32) -> String {
    let int = ppm / 10_000;
    let frac = ppm % 10_000;
    if frac == 0 {
        format!("{int}%")
    } else {
        let digits = format!("{frac:04}");
        format!("{int}.{}%", digits.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refuses_what_is_not_a_share() {
        for s in ["", ".", "5.", ".5", "5,5", "-5", "5e1", "５"] {
            assert_eq!(share_ppm(s), Err(ShareError::Syntax), "{s:?}");
            assert_eq!(canonical_share(s), s);
        }
        assert_eq!(share_ppm(&"9".repeat(10_000)), Err(ShareError::AboveAll));
        assert_eq!(share_ppm(&format!("1.{}", "0".repeat(10_000))), Ok(10_000));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Canonical text means the same share, and ppm_text inverts share_ppm.
        #[test]
        fn canonical_keeps_the_value(int in "[0-9]{1,5}", frac in proptest::option::of("[0-9]{1,7}")) {
            let s = match &frac { Some(f) => format!("{int}.{f}"), None => int.clone() };
            let c = canonical_share(&s);
            prop_assert_eq!(share_ppm(&s), share_ppm(&c));
            prop_assert_eq!(canonical_share(&c), c.clone());
            if let Ok(ppm) = share_ppm(&s) {
                prop_assert_eq!(ppm_text(ppm), format!("{c}%"));
            }
        }
    }
}
