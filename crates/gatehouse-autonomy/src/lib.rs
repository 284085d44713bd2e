//! The autonomy report: let the approval data say when an agent may do
//! more, and when it must do less (issue 18, docs/autonomy.md).
//!
//! Read an audit history (the service's chain of decision and transition
//! records, or `gatehouse eval --audit-log` decision records) line by line
//! with [`Ingest`], then [`Ingest::finish`] gives a [`Report`]: per rule,
//! tier, agent and target the volume, what people answered, the override
//! rate, time to decision, reviewer load and confidence bounds on the
//! rejection rate; and the candidates for more and for less autonomy.
//! [`relax`] builds the relaxed policy for a candidate and runs the
//! engine's impact diff over the history's inputs.
//!
//! ```
//! use gatehouse_autonomy::{Ingest, Options};
//!
//! let mut ingest = Ingest::new(Options::default());
//! ingest.push_line(br#"{"record": "transition", "request": "req_1", "event": "decide", "time": "2026-12-01T09:00:00Z", "detail": {"outcome": "explicit"}}"#);
//! ingest.push_line(b"not json");
//! let report = ingest.finish();
//! assert_eq!(report.input.requests, 1);
//! assert_eq!(report.input.malformed, 1);
//! ```
//!
//! The crate depends on the engine only (the service depends on it, for
//! its console overview).

mod groups;
mod ingest;
pub mod relax;
pub mod render;
mod report;
pub mod stats;

use serde::Serialize;

pub use groups::{Counts, Dimension, MAX_NAME_BYTES, bounded_name};
pub use ingest::{
    EVIDENCE_LISTED, EXAMPLES_LISTED, Ingest, MAX_GROUPS, MAX_LINE_BYTES, PENDING_DECISIONS,
};
pub use report::{
    Bound, Candidates, GroupStats, LessCandidate, LessReason, MoreCandidate, REVIEWERS_LISTED,
    Report, ReviewerActions, ReviewerLoad, TimelineRow,
};
pub use stats::BoundMethod;

/// The report's format name.
pub const FORMAT: &str = "gatehouse.autonomy/1";

/// How time is bucketed for the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// UTC days.
    Day,
    /// ISO weeks (Monday to Sunday, UTC), named by their Monday.
    Week,
}

impl Bucket {
    /// The bucket index of a Unix-millisecond instant: days since the
    /// epoch, or the days since the epoch of the week's Monday.
    pub fn index(self, unix_ms: i64) -> i64 {
        let day = unix_ms.div_euclid(86_400_000);
        match self {
            Bucket::Day => day,
            // 1970-01-01 was a Thursday: Monday is 3 days before it.
            Bucket::Week => (day + 3).div_euclid(7) * 7 - 3,
        }
    }

    /// The bucket's first day, `YYYY-MM-DD`.
    pub fn label(index: i64) -> String {
        let t = gatehouse::values::Timestamp::from_unix_nanos(
            i128::from(index) * 86_400 * 1_000_000_000,
        );
        t.to_string().chars().take(10).collect()
    }
}

/// What the report is asked for.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Options {
    /// Two-sided confidence of the bounds (0.95: 2.5% in each tail).
    pub confidence: f64,
    /// Which bound decides a more-candidate.
    pub method: BoundMethod,
    /// Human decisions a rule or tier needs before it can be a candidate.
    pub min_cases: u64,
    /// The most the rejection rate's upper bound may be for more autonomy.
    pub max_rejection_rate: f64,
    /// A held group whose rejection rate's lower bound exceeds this is a
    /// candidate for less autonomy.
    pub less_rejection_rate: f64,
    /// The timeline's buckets.
    pub bucket: Bucket,
    /// The path of the target attribute in the input (`action.target`).
    pub target: Vec<String>,
    /// Only requests decided at or after this instant (Unix ms).
    pub since_ms: Option<i64>,
    /// Only requests decided before this instant (Unix ms).
    pub until_ms: Option<i64>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            confidence: 0.95,
            method: BoundMethod::ClopperPearson,
            min_cases: 200,
            max_rejection_rate: 0.02,
            less_rejection_rate: 0.10,
            bucket: Bucket::Week,
            target: vec!["action".into(), "target".into()],
            since_ms: None,
            until_ms: None,
        }
    }
}

/// What was read.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InputSummary {
    /// Lines read (blank ones included).
    pub lines: u64,
    /// Blank lines.
    pub blank: u64,
    /// Decision records.
    pub decision_records: u64,
    /// Transition records.
    pub transition_records: u64,
    /// Other audit records (verifications, kinds this build does not know).
    pub other_records: u64,
    /// Lines that are not an audit record this reader understands.
    pub malformed: u64,
    /// Lines longer than [`MAX_LINE_BYTES`] (skipped, counted apart).
    pub oversized: u64,
    /// The first unreadable lines, with why.
    pub unreadable_lines: Vec<UnreadableLine>,
    /// Requests (a `decide` transition each).
    pub requests: u64,
    /// Decision records no request claimed (`eval --audit-log` volume).
    pub standalone_decisions: u64,
    /// `decide` transitions whose decision record was not read.
    pub decides_without_decision: u64,
    /// A second `decide` for a request already read (ignored).
    pub repeated_decides: u64,
    /// Transitions of requests not decided in this history or window, a
    /// second `auto_approve` of one request, and a `sample_review` of a
    /// request its `auto_approve` did not sample (ignored).
    pub unmatched_transitions: u64,
    /// A second sample verdict for one request (ignored).
    pub repeated_sample_verdicts: u64,
    /// Records outside `--since`/`--until`.
    pub outside_window: u64,
    /// Requests whose shadow decision differs from the enforced one.
    pub shadow_differs: u64,
    /// First and last record time (Unix ms).
    pub first_ms: Option<i64>,
    /// See `first_ms`.
    pub last_ms: Option<i64>,
}

/// An unreadable line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnreadableLine {
    /// Its 1-based number.
    pub line: u64,
    /// Why it was not read.
    pub message: String,
}

/// A policy the history's decisions name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicySeen {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its digest.
    pub digest: String,
    /// Decision records that name it.
    pub decisions: u64,
}

/// Reads a whole history and reports (a convenience over [`Ingest`]).
pub fn report_from<R: std::io::BufRead>(reader: R, options: Options) -> std::io::Result<Report> {
    let mut ingest = Ingest::new(options);
    ingest.read(reader)?;
    Ok(ingest.finish())
}
