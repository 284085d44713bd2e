//! `gatehouse replay --shadow PATH`: besides replaying the log under
//! `--policy` (unchanged), decides every replayable record's input with the
//! candidate and reports where it would decide differently, with the
//! transitions summary of `gatehouse diff` (the engine's impact code:
//! [`crate::audit::impact::diff`]).
//!
//! Bounds: the log is read once more, line by line (at most 50 example
//! records kept per transition, the rest counted); a log read from stdin is
//! held in memory to be read twice.

use std::fmt::Write as _;

use serde_json::json;

use crate::Policy;
use crate::audit::impact::{ChangeKind, DiffOptions, ImpactReport};

/// Example records kept per transition (the rest are counted).
pub(super) const EXAMPLES_PER_TRANSITION: usize = 50;

/// Compares `policy` (the one replayed) with the candidate over the log,
/// both deciding with the replay's sample key (so which actions are
/// sampled is the service's draw, not the public one).
pub(super) fn compare(
    policy: &Policy,
    candidate: &Policy,
    log: impl std::io::BufRead,
    sample_key: Option<[u8; 32]>,
) -> std::io::Result<ImpactReport> {
    crate::audit::impact::diff(
        policy,
        candidate,
        log,
        &DiffOptions::default()
            .with_limit(EXAMPLES_PER_TRANSITION)
            .with_eval(gatehouse::EvalOptions::default().with_sample_key(sample_key)),
        &mut |_| {},
    )
}

/// The `shadow` member of `replay --format json`: the candidate, and the
/// impact report (`gatehouse diff --format json`'s shape).
pub(super) fn json_member(candidate: &Policy, report: &ImpactReport) -> serde_json::Value {
    json!({
        "policy": super::shadow::policy_ref(candidate),
        "decisions": report.inputs,
        "differ": report.changed,
        "impact": report,
    })
}

fn change_label(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Loosen => "looser",
        ChangeKind::Tighten => "stricter",
        ChangeKind::SameOutcome => "same outcome",
    }
}

/// The human account, appended after the replay's own.
pub(super) fn human(candidate: &Policy, report: &ImpactReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nshadow policy \"{}\" version \"{}\" ({}): {} of {} replayable decision{} would differ",
        candidate.name(),
        candidate.version(),
        candidate.digest(),
        report.changed,
        report.inputs,
        if report.inputs == 1 { "" } else { "s" }
    );
    for t in &report.transitions {
        let _ = writeln!(
            out,
            "  {} -> {} ({}): {}",
            t.old,
            t.new,
            change_label(t.change),
            t.count
        );
        for c in &t.examples {
            let record = c.record.as_deref().unwrap_or("-");
            let mut lines = Vec::new();
            let added = |a: &[String], b: &[String]| -> Vec<String> {
                a.iter().filter(|x| !b.contains(x)).cloned().collect()
            };
            for (label, items) in [
                ("reasons added", added(&c.new.reasons, &c.old.reasons)),
                ("reasons removed", added(&c.old.reasons, &c.new.reasons)),
                ("approvers added", added(&c.new.approvers, &c.old.approvers)),
                (
                    "approvers removed",
                    added(&c.old.approvers, &c.new.approvers),
                ),
            ] {
                if !items.is_empty() {
                    lines.push(format!("{label}: {}", items.join(", ")));
                }
            }
            let tier = |d: &crate::audit::impact::DecisionSummary| {
                d.tier
                    .as_ref()
                    .map_or("none".to_owned(), |t| t.id.to_string())
            };
            if tier(&c.old) != tier(&c.new) {
                lines.insert(0, format!("tier {} -> {}", tier(&c.old), tier(&c.new)));
            }
            let _ = writeln!(out, "    line {} {record}: {}", c.line, lines.join("; "));
        }
        if t.more > 0 {
            let _ = writeln!(out, "    ... and {} more", t.more);
        }
    }
    if report.no_input_recorded > 0 {
        let _ = writeln!(
            out,
            "  {} without their input (redacted or left out): not compared",
            report.no_input_recorded
        );
    }
    out
}
