//! The exact text of the numbers serde_json hands over as `f64`.
//!
//! Without serde_json's `arbitrary_precision` (a user's build: the engine
//! never turns it on), a number that is not a `u64`/`i64` integer reaches a
//! visitor as an `f64`, which has lost digits (`1000.0000000000000001` is
//! `1000.0`) and the spelling (`-0` is `-0.0`). The decoder counts every
//! number serde_json hands over, in document order, and this scanner finds
//! the same number's literal in the text, so that its value is read from
//! the digits written, exactly as under `arbitrary_precision`.
//!
//! Invariant that makes the count line up: every number of the document is
//! handed to exactly one visitor method of the decoder (`visit_u64`,
//! `visit_i64`, `visit_f64`, or the number stand-in map), in document
//! order, and each of them calls [`Numbers::next`] once; anywhere else a
//! number refuses the whole document. serde_json has already accepted the
//! text up to and including the number asked for, so the scanner only ever
//! walks valid JSON: outside strings, a `-` or a digit starts a number and
//! nothing else does (`true`, `false`, `null` have no digits).

/// The numbers handed over so far, and where the scan of the text stands.
pub(super) struct Numbers<'a> {
    text: &'a [u8],
    /// Numbers handed over by serde_json so far.
    handed: usize,
    /// Numbers the scan has passed, and the byte it stopped at.
    scanned: usize,
    at: usize,
}

impl<'a> Numbers<'a> {
    /// A scanner of `text`, the very text serde_json reads (after the byte
    /// order mark).
    pub(super) fn new(text: &'a str) -> Numbers<'a> {
        Numbers {
            text: text.as_bytes(),
            handed: 0,
            scanned: 0,
            at: 0,
        }
    }

    /// Counts one number handed over by serde_json.
    pub(super) fn next(&mut self) {
        self.handed += 1;
    }

    /// The literal of the number handed over last; `None` when none was or
    /// the scan does not find it (never for text serde_json accepted).
    /// Scans lazily, each byte at most once per document.
    pub(super) fn last(&mut self) -> Option<&'a str> {
        while self.scanned < self.handed {
            let (start, end) = self.scan()?;
            self.scanned += 1;
            if self.scanned == self.handed {
                return std::str::from_utf8(self.text.get(start..end)?).ok();
            }
        }
        None
    }

    /// The span of the next number literal from `at`.
    fn scan(&mut self) -> Option<(usize, usize)> {
        let text = self.text;
        let mut i = self.at;
        loop {
            match *text.get(i)? {
                b'"' => {
                    i += 1;
                    loop {
                        match *text.get(i)? {
                            b'\\' => i += 2,
                            b'"' => break,
                            _ => i += 1,
                        }
                    }
                    i += 1;
                }
                b'-' | b'0'..=b'9' => {
                    let start = i;
                    while text.get(i).is_some_and(|b| {
                        matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                    }) {
                        i += 1;
                    }
                    self.at = i;
                    return Some((start, i));
                }
                _ => i += 1,
            }
        }
    }
}

/// Whether this build's serde_json has `arbitrary_precision`, under which a
/// `serde_json::Value` keeps each number's text (`1E3` prints as `1e+3`;
/// without it, as `1000.0`). Features unify across a whole build, so it is
/// a property of the program the engine is linked into, asked once.
pub(crate) fn serde_json_keeps_number_text() -> bool {
    static KEEPS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // `Display` is the point: `v == "1e+3"` would compare with a JSON string.
    #[allow(clippy::cmp_owned)]
    *KEEPS.get_or_init(|| {
        serde_json::from_str::<serde_json::Value>("1E3").is_ok_and(|v| v.to_string() == "1e+3")
    })
}

/// The first number literal of `text` (valid JSON, as the reader accepted
/// it) that a `serde_json::Value` of this build does not hold exactly:
/// without `arbitrary_precision`, an `f64` whose value is not the
/// literal's (`1000.0000000000000001`, `1e-400`, `100000000000000000001`),
/// `-0` (held as `-0.0`) and integers beyond 64 bits. `None` under
/// `arbitrary_precision`, where every literal is kept.
///
/// The slow path reads JSON text into a `Value`; a document it would
/// decide with such a number is refused instead (`Policy::evaluate_json`),
/// so that the text paths never decide with a number other than the one
/// written (the fast path reads every literal exactly).
pub(crate) fn literal_lost_by_value(text: &str) -> Option<&str> {
    if serde_json_keeps_number_text() {
        return None;
    }
    let mut numbers = Numbers::new(text.strip_prefix('\u{feff}').unwrap_or(text));
    loop {
        numbers.next();
        let literal = numbers.last()?;
        let Ok(held) = serde_json::from_str::<serde_json::Number>(literal) else {
            return Some(literal);
        };
        let same = if literal.contains(['.', 'e', 'E']) {
            let exact = crate::values::Decimal::parse(literal).ok();
            exact == crate::values::Decimal::parse(&held.to_string()).ok()
        } else {
            held.is_i64() || held.is_u64()
        };
        if !same {
            return Some(literal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Numbers, literal_lost_by_value, serde_json_keeps_number_text};

    #[test]
    fn literals_a_value_loses_are_named_without_arbitrary_precision() {
        let text =
            r#"{"s": "1000.0000000000000001", "a": [1, 0.5, 1e3, -2], "b": 1000.0000000000000001}"#;
        let lossy = [
            "-0",
            "1e-400",
            "100000000000000000001",
            "18446744073709551616",
        ];
        if serde_json_keeps_number_text() {
            assert_eq!(literal_lost_by_value(text), None);
            for literal in lossy {
                assert_eq!(literal_lost_by_value(&format!("[0, {literal}]")), None);
            }
        } else {
            assert_eq!(literal_lost_by_value(text), Some("1000.0000000000000001"));
            for literal in lossy {
                let doc = format!("[0, 2.5, {literal}]");
                assert_eq!(literal_lost_by_value(&doc), Some(literal), "{doc}");
            }
        }
        for exact in ["[]", "[0, -1, 2.5, 1e3, 0.1, 18446744073709551615]"] {
            assert_eq!(literal_lost_by_value(exact), None, "{exact}");
        }
    }

    #[test]
    fn finds_each_literal_in_order_skipping_strings() {
        let text = r#"{"a1": "x-2\"3", "b": [-0, 1.5E3], "c": {"d": 1000.0000000000000001}}"#;
        let mut n = Numbers::new(text);
        assert_eq!(n.last(), None, "nothing handed over yet");
        n.next();
        n.next();
        assert_eq!(n.last(), Some("1.5E3"));
        n.next();
        assert_eq!(n.last(), Some("1000.0000000000000001"));
        n.next();
        assert_eq!(n.last(), None, "no fourth number");
    }

    #[test]
    fn each_number_in_turn() {
        let mut n = Numbers::new("[-0,1e-2,7]");
        for want in ["-0", "1e-2", "7"] {
            n.next();
            assert_eq!(n.last(), Some(want));
        }
    }
}
