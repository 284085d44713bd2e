//! The report as text for a terminal, Markdown for a pull request, JSON,
//! and one self-contained HTML file. Every writer reads the same
//! [`Report`]; none computes a number of its own.

mod html;
mod markdown;
mod text;

use std::io::{self, Write};

use crate::report::{GroupStats, LessReason, Report};
use crate::{Bucket, Dimension};

pub use html::write_html;
pub use markdown::write_markdown;
pub use text::write_human;

/// The report as pretty JSON, with a final newline.
pub fn write_json(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    writeln!(out)
}

/// A rate as a percentage with two decimals (`1.25%`), `-` when none.
pub(crate) fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{:.2}%", r * 100.0),
        None => "-".to_owned(),
    }
}

/// A duration in milliseconds, in the largest two units (`3m 05s`).
pub(crate) fn duration(ms: Option<u64>) -> String {
    let Some(ms) = ms else {
        return "-".to_owned();
    };
    let s = ms / 1000;
    match s {
        0 => format!("{ms}ms"),
        1..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// The dimension's name, plural, for headings.
pub(crate) fn heading(d: Dimension) -> &'static str {
    match d {
        Dimension::Rule => "Rules",
        Dimension::Tier => "Tiers",
        Dimension::Agent => "Agents",
        Dimension::Target => "Targets",
    }
}

/// The dimension's name, singular.
pub(crate) fn singular(d: Dimension) -> &'static str {
    match d {
        Dimension::Rule => "rule",
        Dimension::Tier => "tier",
        Dimension::Agent => "agent",
        Dimension::Target => "target",
    }
}

/// The groups of one dimension.
pub(crate) fn groups(report: &Report, d: Dimension) -> &[GroupStats] {
    match d {
        Dimension::Rule => &report.rules,
        Dimension::Tier => &report.tiers,
        Dimension::Agent => &report.agents,
        Dimension::Target => &report.targets,
    }
}

/// The table columns every writer shows for a group.
pub(crate) const COLUMNS: [&str; 15] = [
    "volume", "auto", "sampled", "held", "blocked", "decided", "approved", "rejected", "changes",
    "expired", "override", "upper", "median", "p95", "busiest",
];

/// One group's cells, in [`COLUMNS`] order.
pub(crate) fn cells(report: &Report, g: &GroupStats) -> Vec<String> {
    let c = &g.counts;
    vec![
        c.volume.to_string(),
        c.auto.to_string(),
        c.sampled.to_string(),
        c.held.to_string(),
        c.blocked.to_string(),
        c.human_decided.to_string(),
        c.approved.to_string(),
        c.rejected.to_string(),
        c.changes_requested.to_string(),
        c.expired.to_string(),
        percent(g.override_rate),
        if c.human_decided == 0 {
            "-".to_owned()
        } else {
            percent(Some(g.bound(report.options.method).upper))
        },
        duration(g.median_ms),
        duration(g.p95_ms),
        percent(g.busiest_share),
    ]
}

/// The group's name as shown (a tier with its name).
pub(crate) fn name(g: &GroupStats) -> String {
    if g.label.is_empty() {
        g.key.clone()
    } else {
        format!("{} {}", g.key, g.label)
    }
}

/// The one-line statement of the thresholds.
pub(crate) fn thresholds(report: &Report) -> String {
    let o = &report.options;
    format!(
        "more: held, at least {} human decisions, {} upper bound at {}% confidence at most {}; less: a sample rejected, or a held lower bound above {}",
        o.min_cases,
        o.method.as_str(),
        trim_float(o.confidence * 100.0),
        percent(Some(o.max_rejection_rate)),
        percent(Some(o.less_rejection_rate)),
    )
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The history's span, `from .. to` as dates, or `empty`.
pub(crate) fn span(report: &Report) -> String {
    match (report.input.first_ms, report.input.last_ms) {
        (Some(a), Some(b)) => format!(
            "{} to {}",
            Bucket::label(a.div_euclid(86_400_000)),
            Bucket::label(b.div_euclid(86_400_000))
        ),
        _ => "no records".to_owned(),
    }
}

/// The summary line of what was read.
pub(crate) fn summary(report: &Report) -> String {
    let i = &report.input;
    format!(
        "{} requests and {} other decisions from {} lines ({}); {} unreadable, {} oversized",
        i.requests,
        i.standalone_decisions,
        i.lines,
        span(report),
        i.malformed,
        i.oversized
    )
}

/// Why a less-candidate is one, in words.
pub(crate) fn less_why(c: &crate::LessCandidate) -> String {
    match c.reason {
        LessReason::SampleRejected => format!(
            "{} of {} sampled auto actions rejected after the fact",
            c.sample_rejected, c.sample_reviewed
        ),
        LessReason::RejectionRate => format!(
            "{} of {} held actions rejected or sent back",
            c.overridden, c.human_decided
        ),
    }
}

/// What relaxing a candidate would change, in words.
pub(crate) fn relax_words(c: &crate::MoreCandidate) -> Option<String> {
    let r = c.relax.as_ref()?;
    let moves: Vec<String> = r
        .transitions
        .iter()
        .map(|t| {
            format!(
                "{} -> {}: {}{}",
                t.from.as_str(),
                t.to.as_str(),
                t.count,
                if t.beyond_candidate {
                    " (beyond the candidate)"
                } else {
                    ""
                }
            )
        })
        .collect();
    Some(format!(
        "relaxed to tier {}: {} of {} recorded inputs change ({}); {} loosen beyond the candidate",
        r.to_tier,
        r.changed,
        r.inputs,
        if moves.is_empty() {
            "no outcome moves".to_owned()
        } else {
            moves.join(", ")
        },
        r.loosened_beyond
    ))
}
