//! Prometheus metrics (`GET /metrics`, text format 0.0.4): decisions by
//! outcome, requests created, transitions by state entered, expiries,
//! webhook deliveries and failures, time from request to its human
//! decision, and (read from the store at scrape time) pending requests by
//! tier. Counters are atomics: recording one costs no lock.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::lifecycle::State;
use crate::store::RequestRow;

/// The outcomes, in the order the counters keep them.
const OUTCOMES: [&str; 5] = ["auto", "queue", "explicit", "dual", "block"];

/// Upper bounds (seconds) of the time-to-decision histogram.
const BUCKETS: [f64; 10] = [
    1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0, 604800.0,
];

/// The states whose entry ends the wait the time-to-decision histogram
/// measures (from creation to entering one of them, whoever moved it
/// there: a person, or a deadline that rejected). The console's overview
/// measures the same span.
pub const DECIDED_STATES: [State; 3] = [State::Approved, State::Rejected, State::ChangesRequested];

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    decisions: [AtomicU64; 5],
    created: [AtomicU64; 5],
    entered: [AtomicU64; State::ALL.len()],
    expiries: AtomicU64,
    /// Webhook deliveries that succeeded.
    pub webhook_delivered: AtomicU64,
    /// Webhook attempts that failed.
    pub webhook_failures: AtomicU64,
    /// Webhook deliveries given up after their last attempt.
    pub webhook_given_up: AtomicU64,
    /// Policy reloads refused.
    pub reload_failures: AtomicU64,
    histogram: [AtomicU64; BUCKETS.len() + 1],
    histogram_sum_ms: AtomicU64,
    /// Shadow decisions that agree with the enforced one.
    pub shadow_same: AtomicU64,
    /// Shadow decisions that differ from the enforced one.
    pub shadow_differs: AtomicU64,
    /// Shadow evaluations that failed (recorded as errors).
    pub shadow_errors: AtomicU64,
    /// Shadow reloads refused (the previous shadow set stayed).
    pub shadow_reload_failures: AtomicU64,
}

fn outcome_index(outcome: &str) -> usize {
    OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(4)
}

impl Metrics {
    /// One stateless decision.
    pub fn decided(&self, outcome: &str) {
        self.decisions[outcome_index(outcome)].fetch_add(1, Ordering::Relaxed);
    }

    /// One request created.
    pub fn request_created(&self, row: &RequestRow) {
        self.created[outcome_index(&row.outcome)].fetch_add(1, Ordering::Relaxed);
        self.entered_state(row.state);
    }

    fn entered_state(&self, state: State) {
        if let Some(i) = State::ALL.iter().position(|s| *s == state) {
            self.entered[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A request changed state at `now`; a human decision (approved,
    /// rejected, changes requested) adds its wait to the histogram.
    pub fn transition(&self, row: &RequestRow, now: gatehouse::values::Timestamp) {
        self.entered_state(row.state);
        if DECIDED_STATES.contains(&row.state) {
            let waited = (now.unix_seconds() - row.created_unix).max(0) as f64;
            let i = BUCKETS
                .iter()
                .position(|b| waited <= *b)
                .unwrap_or(BUCKETS.len());
            self.histogram[i].fetch_add(1, Ordering::Relaxed);
            self.histogram_sum_ms
                .fetch_add((waited * 1000.0) as u64, Ordering::Relaxed);
        }
    }

    /// A deadline acted.
    pub fn expired(&self, _row: &RequestRow) {
        self.expiries.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition, with `pending` (tier, count) and the webhook
    /// `backlog` (deliveries waiting) read from the store.
    pub fn render(&self, pending: &[(Option<i64>, i64)], backlog: i64) -> String {
        let mut out = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP gatehouse_decisions_total Stateless decisions (POST /v1/decide) by outcome."
        );
        let _ = writeln!(out, "# TYPE gatehouse_decisions_total counter");
        for (i, o) in OUTCOMES.iter().enumerate() {
            let _ = writeln!(
                out,
                "gatehouse_decisions_total{{outcome=\"{o}\"}} {}",
                get(&self.decisions[i])
            );
        }
        let _ = writeln!(
            out,
            "# HELP gatehouse_requests_created_total Requests created, by the decision's outcome."
        );
        let _ = writeln!(out, "# TYPE gatehouse_requests_created_total counter");
        for (i, o) in OUTCOMES.iter().enumerate() {
            let _ = writeln!(
                out,
                "gatehouse_requests_created_total{{outcome=\"{o}\"}} {}",
                get(&self.created[i])
            );
        }
        let _ = writeln!(
            out,
            "# HELP gatehouse_transitions_total Requests entering each resting state."
        );
        let _ = writeln!(out, "# TYPE gatehouse_transitions_total counter");
        for (i, s) in State::ALL.iter().enumerate() {
            if s.is_resting() {
                let _ = writeln!(
                    out,
                    "gatehouse_transitions_total{{state=\"{s}\"}} {}",
                    get(&self.entered[i])
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP gatehouse_pending_requests Requests waiting for people, by tier."
        );
        let _ = writeln!(out, "# TYPE gatehouse_pending_requests gauge");
        for (tier, count) in pending {
            let tier = tier.map_or_else(|| "none".to_owned(), |t| t.to_string());
            let _ = writeln!(out, "gatehouse_pending_requests{{tier=\"{tier}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "# HELP gatehouse_expiries_total Deadlines that passed and acted."
        );
        let _ = writeln!(out, "# TYPE gatehouse_expiries_total counter");
        let _ = writeln!(out, "gatehouse_expiries_total {}", get(&self.expiries));
        let _ = writeln!(
            out,
            "# HELP gatehouse_webhook_deliveries_total Webhook deliveries by final result."
        );
        let _ = writeln!(out, "# TYPE gatehouse_webhook_deliveries_total counter");
        let _ = writeln!(
            out,
            "gatehouse_webhook_deliveries_total{{result=\"delivered\"}} {}",
            get(&self.webhook_delivered)
        );
        let _ = writeln!(
            out,
            "gatehouse_webhook_deliveries_total{{result=\"given_up\"}} {}",
            get(&self.webhook_given_up)
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_webhook_failures_total Webhook attempts that failed (each retry counts)."
        );
        let _ = writeln!(out, "# TYPE gatehouse_webhook_failures_total counter");
        let _ = writeln!(
            out,
            "gatehouse_webhook_failures_total {}",
            get(&self.webhook_failures)
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_webhook_backlog Webhook deliveries waiting (neither delivered nor given up)."
        );
        let _ = writeln!(out, "# TYPE gatehouse_webhook_backlog gauge");
        let _ = writeln!(out, "gatehouse_webhook_backlog {backlog}");
        let _ = writeln!(
            out,
            "# HELP gatehouse_reload_failures_total Policy reloads refused (the old set stayed)."
        );
        let _ = writeln!(out, "# TYPE gatehouse_reload_failures_total counter");
        let _ = writeln!(
            out,
            "gatehouse_reload_failures_total {}",
            get(&self.reload_failures)
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_time_to_decision_seconds From request to the human decision."
        );
        let _ = writeln!(out, "# TYPE gatehouse_time_to_decision_seconds histogram");
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += get(&self.histogram[i]);
            let _ = writeln!(
                out,
                "gatehouse_time_to_decision_seconds_bucket{{le=\"{b}\"}} {cumulative}"
            );
        }
        cumulative += get(&self.histogram[BUCKETS.len()]);
        let _ = writeln!(
            out,
            "gatehouse_time_to_decision_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "gatehouse_time_to_decision_seconds_sum {}",
            get(&self.histogram_sum_ms) as f64 / 1000.0
        );
        let _ = writeln!(out, "gatehouse_time_to_decision_seconds_count {cumulative}");
        self.render_shadow(&mut out);
        out
    }

    /// The shadow policy's counters (docs/shadow.md).
    fn render_shadow(&self, out: &mut String) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP gatehouse_shadow_decisions_total Shadow policy decisions, by whether they differ from the enforced one."
        );
        let _ = writeln!(out, "# TYPE gatehouse_shadow_decisions_total counter");
        let _ = writeln!(
            out,
            "gatehouse_shadow_decisions_total{{differs=\"false\"}} {}",
            get(&self.shadow_same)
        );
        let _ = writeln!(
            out,
            "gatehouse_shadow_decisions_total{{differs=\"true\"}} {}",
            get(&self.shadow_differs)
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_shadow_errors_total Shadow evaluations that failed (recorded as errors; the request went on)."
        );
        let _ = writeln!(out, "# TYPE gatehouse_shadow_errors_total counter");
        let _ = writeln!(
            out,
            "gatehouse_shadow_errors_total {}",
            get(&self.shadow_errors)
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_shadow_reload_failures_total Shadow policy reloads refused (the previous shadow set stayed)."
        );
        let _ = writeln!(out, "# TYPE gatehouse_shadow_reload_failures_total counter");
        let _ = writeln!(
            out,
            "gatehouse_shadow_reload_failures_total {}",
            get(&self.shadow_reload_failures)
        );
    }
}
