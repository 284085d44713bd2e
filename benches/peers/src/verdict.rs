//! What every engine must agree on: the outcome and the set of reason codes.

use std::collections::BTreeSet;
use std::fmt;

/// Outcome levels, `auto < queue < explicit < dual < block`, as small
/// integers so every engine can take a maximum.
pub const LEVELS: [&str; 5] = ["auto", "queue", "explicit", "dual", "block"];
pub const BLOCK: u8 = 4;

pub fn level_of(name: &str) -> Option<u8> {
    LEVELS.iter().position(|l| *l == name).map(|i| i as u8)
}

/// One engine's answer for one input, normalized for comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: u8,
    pub reasons: BTreeSet<String>,
}

impl Verdict {
    pub fn new<S: Into<String>>(outcome: u8, reasons: impl IntoIterator<Item = S>) -> Verdict {
        Verdict {
            outcome,
            reasons: reasons.into_iter().map(Into::into).collect(),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reasons: Vec<&str> = self.reasons.iter().map(String::as_str).collect();
        write!(
            f,
            "{} [{}]",
            LEVELS.get(self.outcome as usize).copied().unwrap_or("?"),
            reasons.join(", ")
        )
    }
}

/// The three policy sizes: the 15-rule matrix, and the matrix with 1 000 or
/// 10 000 extra `action.target == "sys:<k>"` rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub extra: usize,
}

impl Size {
    pub fn rules(self) -> usize {
        15 + self.extra
    }
}

pub const SIZES: [Size; 3] = [
    Size { extra: 0 },
    Size { extra: 1_000 },
    Size { extra: 10_000 },
];

/// The reason code of extra rule `k`.
pub fn sys_reason(k: usize) -> String {
    format!("SYS_{k}")
}
