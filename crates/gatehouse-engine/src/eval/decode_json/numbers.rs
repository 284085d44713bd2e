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

#[cfg(test)]
mod tests {
    use super::Numbers;

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
