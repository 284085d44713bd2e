//! The report: every group's statistics and the candidates.

use gatehouse::Outcome;
use serde::Serialize;

use crate::groups::{Counts, Dimension, GroupAcc, Groups};
use crate::stats::{self, BoundMethod};
use crate::{Bucket, InputSummary, Options, PolicySeen};

/// The autonomy report (JSON: `format` `gatehouse.autonomy/1`).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// `gatehouse.autonomy/1`.
    pub format: &'static str,
    /// The options it was computed with.
    pub options: Options,
    /// What was read.
    pub input: InputSummary,
    /// The policies the decisions name.
    pub policies: Vec<PolicySeen>,
    /// Per determining rule, by volume (largest first), then name.
    pub rules: Vec<GroupStats>,
    /// Per tier, by tier id.
    pub tiers: Vec<GroupStats>,
    /// Per agent, by volume, then id.
    pub agents: Vec<GroupStats>,
    /// Per target, by volume, then value.
    pub targets: Vec<GroupStats>,
    /// Per rule and time bucket.
    pub timeline: Vec<TimelineRow>,
    /// Review actions across the whole history, by reviewer.
    pub reviewers: ReviewerLoad,
    /// The candidates for more and for less autonomy.
    pub candidates: Candidates,
}

/// A confidence interval on a group's rejection rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bound {
    /// Lower end.
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
}

/// The statistics of one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct GroupStats {
    /// The rule name, tier id, agent id or target value.
    pub key: String,
    /// The tier's name (empty elsewhere).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// The counters.
    #[serde(flatten)]
    pub counts: Counts,
    /// The strictest outcome its requests were decided with.
    pub strictest: Option<Outcome>,
    /// (rejected + changes requested) / human decided; `null` when no
    /// person decided any.
    pub override_rate: Option<f64>,
    /// Wilson interval on the same rate.
    pub wilson: Bound,
    /// Clopper-Pearson interval on the same rate.
    pub clopper_pearson: Bound,
    /// Median milliseconds from decision to the first human decision
    /// (nearest rank).
    pub median_ms: Option<u64>,
    /// 95th percentile of the same (nearest rank).
    pub p95_ms: Option<u64>,
    /// Distinct reviewers who acted on its requests.
    pub reviewers: u64,
    /// The busiest reviewer's share of its review actions.
    pub busiest_share: Option<f64>,
    /// Request ids of rejected samples (the first few).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

impl GroupStats {
    /// The interval by `method`.
    pub fn bound(&self, method: BoundMethod) -> Bound {
        match method {
            BoundMethod::Wilson => self.wilson,
            BoundMethod::ClopperPearson => self.clopper_pearson,
        }
    }
}

/// One rule in one time bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineRow {
    /// The rule.
    pub rule: String,
    /// The bucket's first day (`YYYY-MM-DD`).
    pub bucket: String,
    /// The counters of the requests decided in that bucket.
    #[serde(flatten)]
    pub counts: Counts,
}

/// Review actions (approve, reject, request changes, sample verdicts) by
/// reviewer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewerLoad {
    /// All review actions.
    pub actions: u64,
    /// Distinct reviewers.
    pub reviewers: u64,
    /// The busiest reviewer (normalized identity), if any.
    pub busiest: Option<String>,
    /// Their actions.
    pub busiest_actions: u64,
    /// Their share of all actions.
    pub busiest_share: Option<f64>,
}

/// Candidates for more and for less autonomy.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Candidates {
    /// Held rules and tiers with enough human decisions and a low enough
    /// upper bound, lowest bound first.
    pub more: Vec<MoreCandidate>,
    /// Rules and tiers whose auto actions were rejected after the fact, or
    /// whose held actions are rejected too often.
    pub less: Vec<LessCandidate>,
}

/// A rule or tier that may do more.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MoreCandidate {
    /// `rule` or `tier`.
    pub dimension: Dimension,
    /// Its key.
    pub key: String,
    /// The strictest outcome it held with.
    pub outcome: Option<Outcome>,
    /// Human decisions.
    pub human_decided: u64,
    /// Rejected or sent back.
    pub overridden: u64,
    /// The upper bound by the report's method.
    pub upper_bound: f64,
    /// What relaxing it would change on the history, when a policy was
    /// given (see [`crate::relax`]).
    pub relax: Option<crate::relax::RelaxImpact>,
    /// Why there is no relax diff (no policy given, no auto tier, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relax_note: Option<String>,
}

/// Why a group is a candidate for less.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LessReason {
    /// Sampled auto actions were rejected after the fact.
    SampleRejected,
    /// The lower bound of the held rejection rate is above the threshold.
    RejectionRate,
}

/// A rule or tier that should do less.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LessCandidate {
    /// `rule` or `tier`.
    pub dimension: Dimension,
    /// Its key.
    pub key: String,
    /// Why.
    pub reason: LessReason,
    /// Sample verdicts: rejected.
    pub sample_rejected: u64,
    /// Sample verdicts in all.
    pub sample_reviewed: u64,
    /// Human decisions of held requests.
    pub human_decided: u64,
    /// Rejected or sent back.
    pub overridden: u64,
    /// The lower bound of the rejection rate by the report's method
    /// (samples for `sample_rejected`, held decisions otherwise).
    pub lower_bound: f64,
    /// Request ids of rejected samples (the first few).
    pub evidence: Vec<String>,
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn stats_of(mut g: GroupAcc, options: &Options) -> GroupStats {
    g.waits_ms.sort_unstable();
    let (x, n) = (g.counts.overridden(), g.counts.human_decided);
    let (wl, wu) = stats::wilson(x, n, options.confidence);
    let (cl, cu) = stats::clopper_pearson(x, n, options.confidence);
    let actions: u64 = g.reviewers.values().sum();
    let busiest = g.reviewers.values().copied().max();
    GroupStats {
        key: g.key,
        label: g.label,
        counts: g.counts,
        strictest: g.strictest,
        override_rate: ratio(x, n),
        wilson: Bound {
            lower: wl,
            upper: wu,
        },
        clopper_pearson: Bound {
            lower: cl,
            upper: cu,
        },
        median_ms: stats::nearest_rank(&g.waits_ms, 0.5),
        p95_ms: stats::nearest_rank(&g.waits_ms, 0.95),
        reviewers: g.reviewers.len() as u64,
        busiest_share: busiest.and_then(|b| ratio(b, actions)),
        evidence: g.evidence,
    }
}

/// Builds the report from the tallies.
pub(crate) fn build(
    options: Options,
    mut groups: Groups,
    input: InputSummary,
    policies: Vec<PolicySeen>,
) -> Report {
    let timeline = groups
        .timeline
        .iter()
        .map(|(&(rule, bucket), counts)| TimelineRow {
            rule: groups.rule_name(rule).to_owned(),
            bucket: Bucket::label(bucket),
            counts: *counts,
        })
        .collect();
    let reviewers = reviewer_load(&groups);
    let mut of = |d: Dimension| -> Vec<GroupStats> {
        let mut v: Vec<GroupStats> = groups
            .take(d)
            .into_iter()
            .map(|g| stats_of(g, &options))
            .collect();
        if d == Dimension::Tier {
            v.sort_by_key(|a| tier_order(&a.key));
        } else {
            v.sort_by(|a, b| {
                b.counts
                    .volume
                    .cmp(&a.counts.volume)
                    .then(a.key.cmp(&b.key))
            });
        }
        v
    };
    let rules = of(Dimension::Rule);
    let tiers = of(Dimension::Tier);
    let agents = of(Dimension::Agent);
    let targets = of(Dimension::Target);
    let candidates = candidates(&options, &rules, &tiers);
    Report {
        format: crate::FORMAT,
        options,
        input,
        policies,
        rules,
        tiers,
        agents,
        targets,
        timeline,
        reviewers,
        candidates,
    }
}

/// Tiers by number, the named placeholders after them.
fn tier_order(key: &str) -> (u8, u64, String) {
    match key.parse::<u64>() {
        Ok(n) => (0, n, String::new()),
        Err(_) => (1, 0, key.to_owned()),
    }
}

fn reviewer_load(groups: &Groups) -> ReviewerLoad {
    // Every review action is tallied once per group it touches; the tier
    // dimension holds each request exactly once, so its tallies are the
    // history's.
    let mut per = vec![0_u64; groups.reviewers.len()];
    for g in groups.of(Dimension::Tier) {
        for (&r, &n) in &g.reviewers {
            if let Some(slot) = per.get_mut(r as usize) {
                *slot += n;
            }
        }
    }
    let actions: u64 = per.iter().sum();
    let busiest = per
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .max_by(|a, b| {
            a.1.cmp(b.1)
                .then(groups.reviewers.get(b.0).cmp(&groups.reviewers.get(a.0)))
        });
    ReviewerLoad {
        actions,
        reviewers: per.iter().filter(|n| **n > 0).count() as u64,
        busiest: busiest.and_then(|(i, _)| groups.reviewers.get(i).cloned()),
        busiest_actions: busiest.map_or(0, |(_, n)| *n),
        busiest_share: busiest.and_then(|(_, n)| ratio(*n, actions)),
    }
}

/// Whether a group held its requests for people.
fn held(g: &GroupStats) -> bool {
    g.counts.held > 0
        && matches!(
            g.strictest,
            Some(Outcome::Queue | Outcome::Explicit | Outcome::Dual)
        )
}

/// Placeholder groups (`(default)`, `(unknown)`, `(other)`) are never
/// candidates: there is no one rule to relax.
fn nameable(g: &GroupStats) -> bool {
    !g.key.starts_with('(')
}

fn candidates(options: &Options, rules: &[GroupStats], tiers: &[GroupStats]) -> Candidates {
    let mut out = Candidates::default();
    for (dimension, list) in [(Dimension::Rule, rules), (Dimension::Tier, tiers)] {
        for g in list.iter().filter(|g| nameable(g)) {
            let upper = g.bound(options.method).upper;
            if held(g)
                && g.counts.sample_rejected == 0
                && g.counts.human_decided >= options.min_cases
                && upper <= options.max_rejection_rate
            {
                out.more.push(MoreCandidate {
                    dimension,
                    key: g.key.clone(),
                    outcome: g.strictest,
                    human_decided: g.counts.human_decided,
                    overridden: g.counts.overridden(),
                    upper_bound: upper,
                    relax: None,
                    relax_note: None,
                });
            }
            let reviewed = g.counts.sample_rejected + g.counts.sample_confirmed;
            if g.counts.sample_rejected > 0 {
                let (lower, _) = stats::interval(
                    options.method,
                    g.counts.sample_rejected,
                    reviewed,
                    options.confidence,
                );
                out.less
                    .push(less(dimension, g, LessReason::SampleRejected, lower));
            } else if held(g) {
                let lower = g.bound(options.method).lower;
                if g.counts.human_decided > 0 && lower > options.less_rejection_rate {
                    out.less
                        .push(less(dimension, g, LessReason::RejectionRate, lower));
                }
            }
        }
    }
    out.more.sort_by(|a, b| {
        a.upper_bound
            .total_cmp(&b.upper_bound)
            .then(a.dimension.cmp(&b.dimension))
            .then(a.key.cmp(&b.key))
    });
    out.less.sort_by(|a, b| {
        b.lower_bound
            .total_cmp(&a.lower_bound)
            .then(a.dimension.cmp(&b.dimension))
            .then(a.key.cmp(&b.key))
    });
    out
}

fn less(dimension: Dimension, g: &GroupStats, reason: LessReason, lower: f64) -> LessCandidate {
    LessCandidate {
        dimension,
        key: g.key.clone(),
        reason,
        sample_rejected: g.counts.sample_rejected,
        sample_reviewed: g.counts.sample_rejected + g.counts.sample_confirmed,
        human_decided: g.counts.human_decided,
        overridden: g.counts.overridden(),
        lower_bound: lower,
        evidence: g.evidence.clone(),
    }
}
