//! Rule coverage: which rules, tiers and declared reason codes the cases
//! exercised. Counted by name and number, not by line, so reformatting a
//! policy never moves it.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::check::PolicySet;
use crate::eval::Decision;

/// Coverage of one policy set.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Coverage {
    /// Rules (and `default`, when declared) with whether a case made them match.
    pub rules: Vec<Item>,
    /// Tiers, by number.
    pub tiers: Vec<Item>,
    /// Declared reason codes (built-in ones are not counted).
    pub reasons: Vec<Item>,
}

/// One thing that can be covered.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// Rule name, tier number or reason code.
    pub name: String,
    /// Whether some case exercised it.
    pub covered: bool,
}

/// What the decisions of a run touched.
#[derive(Debug, Default)]
pub struct Seen {
    rules: BTreeSet<String>,
    tiers: BTreeSet<u32>,
    reasons: BTreeSet<String>,
}

impl Seen {
    /// Records one decision.
    pub fn record(&mut self, d: &Decision) {
        self.rules.extend(d.rules.iter().map(|r| r.name.clone()));
        self.tiers.extend(d.tier.as_ref().map(|t| t.id));
        self.reasons
            .extend(d.reasons.iter().map(|r| r.code.clone()));
    }
}

impl Coverage {
    /// Coverage of `set` by what was seen.
    pub fn of(set: &PolicySet, seen: &Seen) -> Coverage {
        let mut rules: Vec<Item> = set
            .rules
            .iter()
            .map(|r| Item {
                name: r.name.clone(),
                covered: seen.rules.contains(&r.name),
            })
            .collect();
        if set.default.is_some() {
            rules.push(Item {
                name: "default".into(),
                covered: seen.rules.contains("default"),
            });
        }
        Coverage {
            rules,
            tiers: set
                .tiers
                .iter()
                .map(|t| Item {
                    name: t.id.to_string(),
                    covered: seen.tiers.contains(&t.id),
                })
                .collect(),
            reasons: set
                .reasons
                .iter()
                .filter(|r| r.origin.is_some())
                .map(|r| Item {
                    name: r.code.clone(),
                    covered: seen.reasons.contains(&r.code),
                })
                .collect(),
        }
    }

    /// Covered items and all items.
    pub fn counts(&self) -> (usize, usize) {
        let all = self.rules.iter().chain(&self.tiers).chain(&self.reasons);
        let (mut covered, mut total) = (0, 0);
        for i in all {
            total += 1;
            covered += usize::from(i.covered);
        }
        (covered, total)
    }

    /// Percentage covered (100 when there is nothing to cover).
    pub fn percent(&self) -> f64 {
        let (covered, total) = self.counts();
        if total == 0 {
            100.0
        } else {
            covered as f64 * 100.0 / total as f64
        }
    }

    /// `rule x`, `tier 4`, `reason Y` for everything not covered.
    pub fn uncovered(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (kind, items) in [
            ("rule", &self.rules),
            ("tier", &self.tiers),
            ("reason", &self.reasons),
        ] {
            out.extend(
                items
                    .iter()
                    .filter(|i| !i.covered)
                    .map(|i| format!("{kind} {}", i.name)),
            );
        }
        out
    }
}
