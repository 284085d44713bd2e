//! `--shadow PATH` of `gatehouse eval` and `gatehouse replay`: a candidate
//! policy set decided beside the one given with `--policy`, reported and
//! never used for the answer (docs/shadow.md).
//!
//! Invariant: the enforced output is byte for byte what it is without
//! `--shadow`. JSON gets one more member, `shadow`, spliced in before the
//! document's closing brace (the enforced document's bytes are written
//! first, untouched); `--explain` gets lines after the enforced account;
//! exit codes are the enforced decision's.

use std::io::Write;

use serde_json::{Value as Json, json};

use crate::Policy;
use crate::audit::impact::{DecisionSummary, decisions_differ};
use crate::eval::{Decision, EvalOptions};

/// The candidate policy set of a run.
pub(super) struct Shadow {
    /// The compiled candidate.
    pub policy: Policy,
}

/// The candidate's decision for one input, beside the enforced one.
pub(super) struct ShadowDecision<'a> {
    /// The candidate.
    pub policy: &'a Policy,
    /// What it decides.
    pub decision: Decision,
    /// Whether that differs from the enforced decision (outcome, tier,
    /// reason codes or approver roles: [`decisions_differ`]).
    pub differs: bool,
}

impl Shadow {
    /// The candidate's decision for the input the enforced decision was
    /// made for: the document when it was read, else the same refusal
    /// (the enforced decision's input errors, which do not depend on the
    /// policy).
    pub(super) fn decide(
        &self,
        doc: Option<&Json>,
        enforced: &Decision,
        options: &EvalOptions,
    ) -> ShadowDecision<'_> {
        let decision = match doc {
            Some(doc) => self.policy.evaluate_with(doc, options),
            None => self.policy.invalid_input(enforced.input_errors.clone()),
        };
        ShadowDecision {
            policy: &self.policy,
            differs: decisions_differ(enforced, &decision),
            decision,
        }
    }
}

/// `{"name", "version", "digest"}` of a policy set.
pub(super) fn policy_ref(policy: &Policy) -> Json {
    json!({"name": policy.name(), "version": policy.version(), "digest": policy.digest()})
}

/// The `shadow` member's value: `{policy, decision, differs}`.
fn member(shadow: &ShadowDecision<'_>) -> std::io::Result<Json> {
    let mut text = Vec::new();
    crate::eval::write_document(
        &mut text,
        &crate::eval::DocumentFormat::DECISION,
        &shadow.decision,
        false,
    )
    .map_err(std::io::Error::other)?;
    let decision: Json = serde_json::from_slice(&text).map_err(std::io::Error::other)?;
    Ok(json!({
        "policy": policy_ref(shadow.policy),
        "decision": decision,
        "differs": shadow.differs,
    }))
}

/// Writes `document` (one JSON object, as written without `--shadow`)
/// with a `shadow` member added last: the document's bytes up to its
/// closing brace unchanged, then the member, indented like the document's
/// own members when `pretty`.
pub(super) fn write_with_member(
    out: &mut dyn Write,
    document: &[u8],
    name: &str,
    value: &Json,
    pretty: bool,
) -> std::io::Result<()> {
    let end = document
        .iter()
        .rposition(|b| *b == b'}')
        .ok_or_else(|| std::io::Error::other("the document is not a JSON object"))?;
    let head = document.get(..end).unwrap_or_default();
    let head_trimmed = trim_end(head);
    let empty = head_trimmed.last() == Some(&b'{');
    out.write_all(head_trimmed)?;
    let mut wrapper = serde_json::Map::new();
    wrapper.insert(name.to_owned(), value.clone());
    let wrapper = Json::Object(wrapper);
    if pretty {
        // `{\n  "name": ...\n}`: the inner lines are already indented one
        // level, as the document's members are.
        let text = serde_json::to_string_pretty(&wrapper).map_err(std::io::Error::other)?;
        let inner = text
            .strip_prefix("{\n")
            .and_then(|t| t.strip_suffix("\n}"))
            .unwrap_or(&text);
        write!(out, "{}\n{inner}\n}}", if empty { "" } else { "," })?;
    } else {
        let text = serde_json::to_string(&wrapper).map_err(std::io::Error::other)?;
        let inner = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(&text);
        write!(out, "{}{inner}}}", if empty { "" } else { "," })?;
    }
    Ok(())
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let keep = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    bytes.get(..keep).unwrap_or_default()
}

/// Writes the enforced decision's JSON document with the `shadow` member
/// (`eval --shadow`, `--jsonl --shadow`), and a newline.
pub(super) fn write_decision_json(
    out: &mut dyn Write,
    enforced: &Decision,
    shadow: &ShadowDecision<'_>,
    pretty: bool,
) -> std::io::Result<()> {
    let mut document = Vec::with_capacity(2048);
    crate::eval::write_document(
        &mut document,
        &crate::eval::DocumentFormat::DECISION,
        enforced,
        pretty,
    )
    .map_err(std::io::Error::other)?;
    write_with_member(out, &document, "shadow", &member(shadow)?, pretty)?;
    writeln!(out)
}

/// `explicit (tier 3)`.
fn outcome_with_tier(d: &DecisionSummary) -> String {
    match &d.tier {
        Some(t) => format!("{} (tier {})", d.outcome, t.id),
        None => d.outcome.to_string(),
    }
}

/// Items of `a` not in `b`, in `a`'s order, without duplicates.
fn missing_from<'a>(a: &'a [String], b: &[String]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for item in a {
        if !b.contains(item) && !out.contains(&item.as_str()) {
            out.push(item);
        }
    }
    out
}

/// One line per way the candidate's decision differs from the enforced
/// one (outcome, tier, reason codes, approver roles), each without a
/// trailing newline; empty when they agree.
pub(super) fn difference_lines(enforced: &Decision, candidate: &Decision) -> Vec<String> {
    let old = DecisionSummary::of(enforced);
    let new = DecisionSummary::of(candidate);
    let mut lines = Vec::new();
    if old.outcome != new.outcome {
        lines.push(format!("outcome: {} -> {}", old.outcome, new.outcome));
    }
    let tier = |s: &DecisionSummary| {
        s.tier
            .as_ref()
            .map_or("none".to_owned(), |t| t.id.to_string())
    };
    if tier(&old) != tier(&new) {
        lines.push(format!("tier: {} -> {}", tier(&old), tier(&new)));
    }
    for (label, items) in [
        ("reasons added", missing_from(&new.reasons, &old.reasons)),
        ("reasons removed", missing_from(&old.reasons, &new.reasons)),
        (
            "approvers added",
            missing_from(&new.approvers, &old.approvers),
        ),
        (
            "approvers removed",
            missing_from(&old.approvers, &new.approvers),
        ),
    ] {
        if !items.is_empty() {
            lines.push(format!("{label}: {}", items.join(", ")));
        }
    }
    lines
}

/// The `--explain --shadow` account: a heading naming the candidate and
/// both outcomes, then one line per difference.
pub(super) fn write_explain(
    out: &mut dyn Write,
    enforced: &Decision,
    shadow: &ShadowDecision<'_>,
) -> std::io::Result<()> {
    let name = format!("{} {}", shadow.policy.name(), shadow.policy.version());
    let lines = difference_lines(enforced, &shadow.decision);
    if lines.is_empty() {
        writeln!(
            out,
            "shadow policy {name} decides the same: {} (enforced: {})",
            outcome_with_tier(&DecisionSummary::of(&shadow.decision)),
            outcome_with_tier(&DecisionSummary::of(enforced))
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "shadow policy {name} would decide: {} (enforced: {})",
        outcome_with_tier(&DecisionSummary::of(&shadow.decision)),
        outcome_with_tier(&DecisionSummary::of(enforced))
    )?;
    for line in lines {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::write_with_member;
    use serde_json::json;

    fn spliced(doc: &str, pretty: bool) -> String {
        let mut out = Vec::new();
        write_with_member(
            &mut out,
            doc.as_bytes(),
            "shadow",
            &json!({"a": [1]}),
            pretty,
        )
        .expect("written");
        String::from_utf8(out).expect("utf-8")
    }

    /// The document's own bytes come first, unchanged; the result is JSON
    /// with the member last.
    #[test]
    fn the_member_is_spliced_after_the_documents_own_bytes() {
        let compact = "{\"x\":1,\"y\":\"}\"}";
        let out = spliced(compact, false);
        assert!(out.starts_with("{\"x\":1,\"y\":\"}\""), "{out}");
        let value: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        assert_eq!(value["shadow"], json!({"a": [1]}));
        assert_eq!(value["y"], "}");
        let pretty = "{\n  \"x\": 1\n}";
        let out = spliced(pretty, true);
        assert_eq!(
            out,
            "{\n  \"x\": 1,\n  \"shadow\": {\n    \"a\": [\n      1\n    ]\n  }\n}"
        );
        assert_eq!(spliced("{}", false), "{\"shadow\":{\"a\":[1]}}");
        let mut sink = Vec::new();
        assert!(write_with_member(&mut sink, b"[1]", "s", &json!(1), false).is_err());
    }
}
