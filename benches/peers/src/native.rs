//! The floor: the same matrix hand-written in Rust over a typed struct.
//!
//! No engine can beat code written for one policy: fields are typed, enums
//! are integers, the 1 000 / 10 000 `sys:<k>` rules are one parse and one
//! comparison (what a person writing the code by hand would do), and the
//! answer is a bit mask.

use serde::Deserialize;

use crate::verdict::{BLOCK, Verdict, sys_reason};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Read,
    Summarize,
    Draft,
    Send,
    Update,
    Delete,
    Refund,
    Pay,
    Deploy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Internal,
    External,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataClass {
    Public,
    Internal,
    Pii,
    Phi,
    Financial,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Action {
    #[serde(rename = "type")]
    pub kind: Kind,
    pub scope: Scope,
    pub target: String,
    #[serde(default)]
    pub amount: Option<i64>,
    pub data_classes: Vec<DataClass>,
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Model {
    pub confidence: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ChangeWindow {
    #[serde(default)]
    pub open: Option<bool>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Requester {
    pub id: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Agent {
    pub owner: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Evidence {
    #[serde(default)]
    pub impact_estimate: Option<String>,
    #[serde(default)]
    pub rollback_plan: Option<String>,
    #[serde(default)]
    pub source_citation: Option<String>,
}

/// The typed input.
#[derive(Clone, Debug, Deserialize)]
pub struct Input {
    pub action: Action,
    pub model: Model,
    #[serde(default)]
    pub change_window: Option<ChangeWindow>,
    pub requester: Requester,
    pub agent: Agent,
    #[serde(default)]
    pub evidence: Option<Evidence>,
}

/// The reason codes of the 15 rules, by bit.
pub const CODES: [&str; 15] = [
    "READ_INTERNAL",
    "DRAFT",
    "EXTERNAL_SEND",
    "SMALL_REFUND",
    "REFUND_ABOVE_1000",
    "LARGE_AMOUNT",
    "AMOUNT_OVER_LIMIT",
    "AMOUNT_MISSING",
    "PAYMENT",
    "PRODUCTION",
    "OUTSIDE_CHANGE_WINDOW",
    "IAM_CHANGE",
    "REGULATED_DATA",
    "LOW_CONFIDENCE",
    "DELETE",
];
pub const EVIDENCE_MISSING: u32 = 1 << 15;
pub const NO_RULE_MATCHED: u32 = 1 << 16;

/// The answer: outcome level, one bit per reason, the matching `sys` rule.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    pub level: u8,
    pub mask: u32,
    pub sys: Option<u32>,
}

fn present(field: &Option<String>) -> bool {
    field.as_deref().is_some_and(|s| !s.trim().is_empty())
}

/// `k` when `target` is `sys:<k>` written canonically (no sign, no leading
/// zero) with `k < extra`: exactly the strings `"sys:<k>"` the rules name.
fn sys_rule(target: &str, extra: u32) -> Option<u32> {
    let digits = target.strip_prefix("sys:")?;
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
        || digits.len() > 9
    {
        return None;
    }
    let k: u32 = digits.parse().ok()?;
    (k < extra).then_some(k)
}

/// The matrix, with `extra` generated `sys:<k>` rules.
#[inline(never)]
pub fn decide(input: &Input, extra: u32) -> Answer {
    let a = &input.action;
    let mut level = 0u8;
    let mut mask = 0u32;
    let mut hit = |bit: u32, l: u8| {
        mask |= 1 << bit;
        level = level.max(l);
    };
    let mut need_impact = false;
    let mut need_rollback = false;

    if matches!(a.kind, Kind::Read | Kind::Summarize) && a.scope == Scope::Internal {
        hit(0, 0);
    }
    if a.kind == Kind::Draft {
        hit(1, 1);
    }
    if a.kind == Kind::Send && a.scope == Scope::External {
        hit(2, 2);
    }
    if let Some(amount) = a.amount {
        if a.kind == Kind::Refund {
            if amount <= 1000 {
                hit(3, 1);
            } else {
                hit(4, 2);
                need_impact = true;
            }
        }
        if amount > 10_000 {
            hit(5, 3);
        }
        if amount > 100_000 {
            hit(6, 4);
        }
    } else if matches!(a.kind, Kind::Refund | Kind::Pay) {
        hit(7, 4);
    }
    if a.kind == Kind::Pay {
        hit(8, 2);
    }
    if a.target.starts_with("prod:") {
        hit(9, 2);
        need_rollback = true;
        let open = input
            .change_window
            .as_ref()
            .and_then(|w| w.open)
            .unwrap_or(false);
        if !open {
            hit(10, 4);
        }
    }
    if a.target.starts_with("iam:") {
        hit(11, 3);
    }
    if a.kind != Kind::Draft
        && a.data_classes
            .iter()
            .any(|c| matches!(c, DataClass::Pii | DataClass::Phi | DataClass::Financial))
    {
        hit(12, 2);
    }
    if input.model.confidence < 70 {
        hit(13, 1);
    }
    if a.kind == Kind::Delete {
        hit(14, 2);
        need_rollback = true;
    }
    let sys = sys_rule(&a.target, extra);
    if sys.is_some() {
        level = level.max(2);
    }
    if mask == 0 && sys.is_none() {
        mask = NO_RULE_MATCHED;
    }
    let ev = input.evidence.as_ref();
    let missing = (need_impact && !ev.is_some_and(|e| present(&e.impact_estimate)))
        || (need_rollback && !ev.is_some_and(|e| present(&e.rollback_plan)));
    if missing {
        mask |= EVIDENCE_MISSING;
        level = BLOCK;
    }
    Answer { level, mask, sys }
}

pub fn verdict(a: &Answer) -> Verdict {
    let mut reasons: Vec<String> = CODES
        .iter()
        .enumerate()
        .filter(|(bit, _)| a.mask & (1 << bit) != 0)
        .map(|(_, c)| c.to_string())
        .collect();
    if a.mask & EVIDENCE_MISSING != 0 {
        reasons.push("EVIDENCE_MISSING".into());
    }
    if a.mask & NO_RULE_MATCHED != 0 {
        reasons.push("NO_RULE_MATCHED".into());
    }
    if let Some(k) = a.sys {
        reasons.push(sys_reason(k as usize));
    }
    Verdict::new(a.level, reasons)
}
