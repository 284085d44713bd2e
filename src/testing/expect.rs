//! Expected vs actual: only what a case asserts is compared.

use super::suite::{Expect, SetExpect};
use crate::eval::Decision;

/// One asserted field that differs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// The field, as written in the suite (`outcome`, `reasons`, ...).
    pub field: String,
    /// What the case expects.
    pub expected: String,
    /// What the decision has.
    pub actual: String,
    /// For sets: what is missing and what is extra, e.g. `missing [A], extra [B]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Compares a decision with a case's expectations.
pub fn compare(expect: &Expect, d: &Decision) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(o) = expect.outcome
        && o != d.outcome
    {
        out.push(Mismatch {
            field: "outcome".into(),
            expected: o.to_string(),
            actual: d.outcome.to_string(),
            detail: None,
        });
    }
    if let Some(t) = expect.tier {
        let actual = d.tier.as_ref().map(|t| t.id);
        if t != actual {
            let show = |t: Option<u32>| t.map_or("none".to_owned(), |t| t.to_string());
            out.push(Mismatch {
                field: "tier".into(),
                expected: show(t),
                actual: show(actual),
                detail: None,
            });
        }
    }
    if let Some(n) = expect.approvals {
        let actual = d.approvals.as_ref().map_or(0, |a| a.count);
        if n != actual {
            out.push(Mismatch {
                field: "approvals".into(),
                expected: n.to_string(),
                actual: actual.to_string(),
                detail: None,
            });
        }
    }
    let timeout = d.timeout.as_ref();
    let expires_at = timeout.and_then(|t| t.expires_at.clone());
    let on_expiry = timeout.map(|t| match &t.on_expiry.role {
        Some(role) => format!("{} to {role}", t.on_expiry.action),
        None => t.on_expiry.action.clone(),
    });
    for (field, want, actual) in [
        ("expires_at", &expect.expires_at, expires_at),
        ("on_expiry", &expect.on_expiry, on_expiry),
    ] {
        if let Some(want) = want {
            let want_norm = normalize_expiry(want);
            if actual.as_deref().map(normalize_expiry) != Some(want_norm) {
                out.push(Mismatch {
                    field: field.into(),
                    expected: want.clone(),
                    actual: actual.unwrap_or_else(|| "none".into()),
                    detail: None,
                });
            }
        }
    }
    let reasons: Vec<String> = d.reason_codes().iter().map(|s| (*s).to_owned()).collect();
    let approvers: Vec<String> = d
        .approvals
        .iter()
        .flat_map(|a| {
            a.groups
                .iter()
                .flat_map(|g| g.roles.iter().map(|r| r.name.clone()))
        })
        .collect();
    let rules: Vec<String> = d.rules.iter().map(|r| r.name.clone()).collect();
    let input_errors: Vec<String> = d.input_errors.iter().map(|e| e.path.clone()).collect();
    let forbidden: Vec<String> = d
        .approvals
        .iter()
        .flat_map(|a| {
            a.forbidden_approvers
                .iter()
                .filter_map(|f| f.identity.clone())
        })
        .collect();
    for (field, want, actual) in [
        ("reasons", &expect.reasons, &reasons),
        (
            "missing_evidence",
            &expect.missing_evidence,
            &d.evidence.missing,
        ),
        ("approvers", &expect.approvers, &approvers),
        ("rules", &expect.rules, &rules),
        ("input_errors", &expect.input_errors, &input_errors),
        (
            "forbidden_approvers",
            &expect.forbidden_approvers,
            &forbidden,
        ),
    ] {
        if let Some(want) = want {
            out.extend(compare_set(field, want, actual));
        }
    }
    out
}

fn compare_set(field: &str, want: &SetExpect, actual: &[String]) -> Option<Mismatch> {
    let mut actual_set: Vec<&str> = actual.iter().map(String::as_str).collect();
    actual_set.sort_unstable();
    actual_set.dedup();
    let show = |items: &[&str]| format!("[{}]", items.join(", "));
    match want {
        SetExpect::Exact(items) => {
            let mut want_set: Vec<&str> = items.iter().map(String::as_str).collect();
            want_set.sort_unstable();
            want_set.dedup();
            if want_set == actual_set {
                return None;
            }
            let missing: Vec<&str> = want_set
                .iter()
                .copied()
                .filter(|w| !actual_set.contains(w))
                .collect();
            let extra: Vec<&str> = actual_set
                .iter()
                .copied()
                .filter(|a| !want_set.contains(a))
                .collect();
            Some(Mismatch {
                field: field.into(),
                expected: show(&want_set),
                actual: show(&actual_set),
                detail: Some(describe_difference(&missing, &extra)),
            })
        }
        SetExpect::Partial { includes, excludes } => {
            let missing: Vec<&str> = includes
                .iter()
                .map(String::as_str)
                .filter(|w| !actual_set.contains(w))
                .collect();
            let present: Vec<&str> = excludes
                .iter()
                .map(String::as_str)
                .filter(|w| actual_set.contains(w))
                .collect();
            if missing.is_empty() && present.is_empty() {
                return None;
            }
            let mut expected = Vec::new();
            if !includes.is_empty() {
                expected.push(format!("includes [{}]", includes.join(", ")));
            }
            if !excludes.is_empty() {
                expected.push(format!("excludes [{}]", excludes.join(", ")));
            }
            Some(Mismatch {
                field: field.into(),
                expected: expected.join(", "),
                actual: show(&actual_set),
                detail: Some(describe_difference(&missing, &present)),
            })
        }
    }
}

fn describe_difference(missing: &[&str], extra: &[&str]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing [{}]", missing.join(", ")));
    }
    if !extra.is_empty() {
        parts.push(format!("unexpected [{}]", extra.join(", ")));
    }
    parts.join(", ")
}

/// `escalate operations_manager` and `escalate to operations_manager` mean
/// the same; timestamps compare as written.
fn normalize_expiry(s: &str) -> String {
    s.split_whitespace()
        .filter(|w| *w != "to")
        .collect::<Vec<_>>()
        .join(" ")
}
