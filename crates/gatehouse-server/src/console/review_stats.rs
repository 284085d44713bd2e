//! What the approval data says, as numbers: pending work by tier and age,
//! time to decision, and per rule and per agent how often people approved,
//! rejected, asked for changes or let the deadline act. The console's
//! overview renders it; `gatehouse autonomy` (issue 18) can reuse
//! [`aggregate`], which takes stored rows and returns a typed
//! [`Overview`] with no I/O and no clock of its own.
//!
//! Definitions (docs/console.md, "Overview", says the same):
//! - A request *waited for people* when its decision's outcome is `queue`,
//!   `explicit` or `dual`; only those count in the per-rule and per-agent
//!   tallies (`auto` and `block` are in the daily volumes).
//! - Its *result* ([`ReviewResult`]): approved (it reached `approved` or
//!   went on to execution), rejected (a person's rejection), changes
//!   requested, expired (its deadline rejected or blocked it), cancelled,
//!   still pending, or other (blocked for another reason).
//! - *Time to decision* is the span the `gatehouse_time_to_decision_seconds`
//!   metric measures ([`crate::metrics::DECIDED_STATES`]): from creation to
//!   entering `approved`, `rejected` or `changes_requested`, whoever (a
//!   person or the deadline) moved it there. Median and p95 by the
//!   nearest-rank method.
//! - *Approval rate*: approved / (approved + rejected + changes requested +
//!   expired); none while nothing was decided.
//! - A rule's tally counts the requests it *determined* (the decision's
//!   rules with `determining: true`); a request counts once per such rule.

use std::collections::BTreeMap;

use gatehouse::values::Timestamp;
use serde_json::Value as Json;

use crate::lifecycle::State;
use crate::store::RequestRow;

/// The age buckets of pending requests, upper bounds in seconds (the last
/// is open).
pub const AGE_BUCKETS: [(&str, i64); 4] = [
    ("under 1 h", 3_600),
    ("1–8 h", 8 * 3_600),
    ("8–24 h", 24 * 3_600),
    ("over 24 h", i64::MAX),
];

/// The outcomes that wait for people.
pub const REVIEWED_OUTCOMES: [&str; 3] = ["queue", "explicit", "dual"];

/// What became of a request that waited for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewResult {
    /// Approved (and maybe executed since).
    Approved,
    /// A person rejected it.
    Rejected,
    /// A reviewer asked for changes.
    ChangesRequested,
    /// Its deadline rejected or blocked it.
    Expired,
    /// The requester withdrew it.
    Cancelled,
    /// Still waiting.
    Pending,
    /// Blocked for another reason (a stricter policy at claim time).
    Other,
}

/// The last review recorded on a request: its kind (`approve`, `reject`,
/// `request_changes`) and when it was given (Unix seconds).
fn last_review(row: &RequestRow) -> Option<(&str, Option<i64>)> {
    let last = row.approvals.last()?;
    let kind = last.get("review").and_then(Json::as_str)?;
    let at = last
        .pointer("/approval/given_at")
        .and_then(Json::as_str)
        .and_then(Timestamp::parse)
        .map(|t| t.unix_seconds());
    Some((kind, at))
}

fn unix_of(text: &str) -> Option<i64> {
    Timestamp::parse(text).map(|t| t.unix_seconds())
}

/// What became of `row`; `None` when it never waited for people.
pub fn review_result(row: &RequestRow) -> Option<ReviewResult> {
    if !REVIEWED_OUTCOMES.contains(&row.outcome.as_str()) {
        return None;
    }
    let by_person = |kind: &str| last_review(row).is_some_and(|(k, _)| k == kind);
    Some(match row.state {
        State::Approved | State::Executing | State::Executed | State::Verified => {
            ReviewResult::Approved
        }
        State::ChangesRequested => ReviewResult::ChangesRequested,
        State::Rejected if by_person("reject") => ReviewResult::Rejected,
        State::Cancelled => ReviewResult::Cancelled,
        State::Pending | State::Requested | State::Decided | State::Escalated => {
            ReviewResult::Pending
        }
        State::Rejected | State::Blocked | State::Expired => {
            let deadline_acted = row
                .deadline_unix
                .zip(unix_of(&row.updated_at))
                .is_some_and(|(deadline, changed)| deadline <= changed);
            if deadline_acted {
                ReviewResult::Expired
            } else {
                ReviewResult::Other
            }
        }
    })
}

/// When `row` entered `approved`, `rejected` or `changes_requested` (Unix
/// seconds): the deciding review's time, or for a deadline's rejection the
/// request's last change. `None` when it has not (yet).
pub fn decided_at(row: &RequestRow) -> Option<i64> {
    match review_result(row)? {
        ReviewResult::Approved | ReviewResult::Rejected | ReviewResult::ChangesRequested => {
            last_review(row).and_then(|(_, at)| at)
        }
        ReviewResult::Expired if row.state == State::Rejected => unix_of(&row.updated_at),
        _ => None,
    }
}

/// Counts of results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Approved.
    pub approved: u64,
    /// Rejected by a person.
    pub rejected: u64,
    /// Changes requested.
    pub changes_requested: u64,
    /// The deadline acted.
    pub expired: u64,
    /// Withdrawn.
    pub cancelled: u64,
    /// Still waiting.
    pub pending: u64,
    /// Blocked for another reason.
    pub other: u64,
}

impl Tally {
    fn add(&mut self, result: ReviewResult) {
        let slot = match result {
            ReviewResult::Approved => &mut self.approved,
            ReviewResult::Rejected => &mut self.rejected,
            ReviewResult::ChangesRequested => &mut self.changes_requested,
            ReviewResult::Expired => &mut self.expired,
            ReviewResult::Cancelled => &mut self.cancelled,
            ReviewResult::Pending => &mut self.pending,
            ReviewResult::Other => &mut self.other,
        };
        *slot += 1;
    }

    /// Requests that reached a result people (or the deadline) gave.
    pub fn decided(&self) -> u64 {
        self.approved + self.rejected + self.changes_requested + self.expired
    }

    /// Every request counted.
    pub fn total(&self) -> u64 {
        self.decided() + self.cancelled + self.pending + self.other
    }

    /// approved / decided, in 0..=1; `None` when nothing was decided.
    pub fn approval_rate(&self) -> Option<f64> {
        let decided = self.decided();
        (decided > 0).then(|| self.approved as f64 / decided as f64)
    }
}

/// Waiting requests of one tier, by age bucket ([`AGE_BUCKETS`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingTier {
    /// The tier id (`None`: no tier).
    pub tier: Option<i64>,
    /// Counts per age bucket.
    pub by_age: [u64; AGE_BUCKETS.len()],
}

impl PendingTier {
    /// Every waiting request of the tier.
    pub fn total(&self) -> u64 {
        self.by_age.iter().sum()
    }
}

/// Times to decision of a group, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durations {
    /// The group (an outcome, or `all`).
    pub group: String,
    /// How many decisions.
    pub count: u64,
    /// The median (nearest rank).
    pub median: Option<i64>,
    /// The 95th percentile (nearest rank).
    pub p95: Option<i64>,
}

/// Requests created on one UTC day, by outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayVolume {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Counts in the order of [`crate::store::OUTCOMES`].
    pub by_outcome: [u64; 5],
}

impl DayVolume {
    /// Every request of the day.
    pub fn total(&self) -> u64 {
        self.by_outcome.iter().sum()
    }
}

/// Everything the overview shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overview {
    /// Requests of the window that were counted.
    pub requests: u64,
    /// Waiting requests by tier (ascending, no tier last).
    pub pending: Vec<PendingTier>,
    /// Time to decision: `all` first, then each outcome that waits for
    /// people.
    pub time_to_decision: Vec<Durations>,
    /// Per determining rule, most requests first (then by name).
    pub per_rule: Vec<(String, Tally)>,
    /// Per agent, most requests first (then by name).
    pub per_agent: Vec<(String, Tally)>,
    /// Every UTC day from the window's start to `now`, oldest first.
    pub per_day: Vec<DayVolume>,
}

/// The nearest-rank percentile of sorted values (`p` in 1..=100).
fn percentile(sorted: &[i64], p: u64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (p * n).div_ceil(100).clamp(1, n);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

fn durations(group: &str, mut values: Vec<i64>) -> Durations {
    values.sort_unstable();
    Durations {
        group: group.to_owned(),
        count: values.len() as u64,
        median: percentile(&values, 50),
        p95: percentile(&values, 95),
    }
}

fn day_text(day: i64) -> String {
    let text = Timestamp::from_unix_nanos(i128::from(day) * 86_400 * 1_000_000_000).to_string();
    text.get(..10).unwrap_or(&text).to_owned()
}

/// Aggregates the requests created in the window (`window`, created at or
/// after `window_start`) and the requests waiting now (`pending`, any
/// age) as of `now` (Unix seconds). Rows outside the window, or not
/// pending in `pending`, are skipped, so callers may pass wider reads.
pub fn aggregate(
    window: &[RequestRow],
    pending: &[RequestRow],
    window_start: i64,
    now: i64,
) -> Overview {
    let mut tiers: BTreeMap<(bool, i64), PendingTier> = BTreeMap::new();
    for row in pending.iter().filter(|r| r.state == State::Pending) {
        let age = (now - row.created_unix).max(0);
        let bucket = AGE_BUCKETS
            .iter()
            .position(|(_, upper)| age < *upper)
            .unwrap_or(AGE_BUCKETS.len() - 1);
        let entry = tiers
            .entry((row.tier.is_none(), row.tier.unwrap_or(0)))
            .or_insert_with(|| PendingTier {
                tier: row.tier,
                ..PendingTier::default()
            });
        if let Some(slot) = entry.by_age.get_mut(bucket) {
            *slot += 1;
        }
    }

    let first_day = window_start.div_euclid(86_400);
    let last_day = now.div_euclid(86_400).max(first_day);
    let mut per_day: Vec<DayVolume> = (first_day..=last_day)
        .map(|d| DayVolume {
            day: day_text(d),
            by_outcome: [0; 5],
        })
        .collect();
    let mut waits: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    let mut per_rule: BTreeMap<String, Tally> = BTreeMap::new();
    let mut per_agent: BTreeMap<String, Tally> = BTreeMap::new();
    let mut requests = 0;
    for row in window
        .iter()
        .filter(|r| r.created_unix >= window_start && r.created_unix <= now)
    {
        requests += 1;
        let day = usize::try_from(row.created_unix.div_euclid(86_400) - first_day).ok();
        let outcome = crate::store::OUTCOMES
            .iter()
            .position(|o| *o == row.outcome);
        if let (Some(day), Some(outcome)) = (day, outcome)
            && let Some(slot) = per_day
                .get_mut(day)
                .and_then(|d| d.by_outcome.get_mut(outcome))
        {
            *slot += 1;
        }
        let Some(result) = review_result(row) else {
            continue;
        };
        if let Some(at) = decided_at(row) {
            let wait = (at - row.created_unix).max(0);
            waits.entry("all").or_default().push(wait);
            if let Some(o) = REVIEWED_OUTCOMES.iter().find(|o| **o == row.outcome) {
                waits.entry(o).or_default().push(wait);
            }
        }
        per_agent.entry(row.agent.clone()).or_default().add(result);
        for rule in determining_rules(row) {
            per_rule.entry(rule.to_owned()).or_default().add(result);
        }
    }
    let mut time_to_decision = vec![durations("all", waits.remove("all").unwrap_or_default())];
    for o in REVIEWED_OUTCOMES {
        time_to_decision.push(durations(o, waits.remove(o).unwrap_or_default()));
    }
    Overview {
        requests,
        pending: tiers.into_values().collect(),
        time_to_decision,
        per_rule: busiest_first(per_rule),
        per_agent: busiest_first(per_agent),
        per_day,
    }
}

fn busiest_first(tallies: BTreeMap<String, Tally>) -> Vec<(String, Tally)> {
    let mut out: Vec<(String, Tally)> = tallies.into_iter().collect();
    // Stable: equal totals keep the map's name order.
    out.sort_by_key(|(_, t)| std::cmp::Reverse(t.total()));
    out
}

/// The names of the rules that determined the decision (each once).
pub fn determining_rules(row: &RequestRow) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for rule in row
        .decision
        .get("rules")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        if rule.get("determining").and_then(Json::as_bool) == Some(true)
            && let Some(name) = rule.get("name").and_then(Json::as_str)
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
#[path = "review_stats_tests.rs"]
mod tests;
