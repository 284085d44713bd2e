//! What relaxing a candidate would change: the relaxed policy (the rule's
//! `then` consequences rewritten, by span on the source, to one auto
//! tier), decided against the enforced one over the history's inputs with
//! the engine's impact diff (`gatehouse diff`'s machinery).

use std::io::{self, BufRead};
use std::sync::Arc;

use gatehouse::audit::impact::{self, DiffOptions};
use gatehouse::source::SourceFile;
use gatehouse::syntax::ast::{Consequence, Declaration};
use gatehouse::{Outcome, Policy};
use serde::Serialize;

/// Why a candidate cannot be relaxed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RelaxError {
    /// The policy has no tier whose outcome is `auto`.
    NoAutoTier,
    /// `--relax-to-tier` names a tier that is not `auto` (or none).
    NotAnAutoTier(u32),
    /// No rule of that name in the sources.
    NoSuchRule(String),
    /// The sources do not parse, or the relaxed set does not compile.
    Policy(String),
}

impl std::fmt::Display for RelaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RelaxError::NoAutoTier => f.write_str("the policy has no auto tier to relax to"),
            RelaxError::NotAnAutoTier(n) => write!(f, "tier {n} is not an auto tier of the policy"),
            RelaxError::NoSuchRule(r) => write!(f, "no rule `{r}` in the policy"),
            RelaxError::Policy(e) => write!(f, "the relaxed policy does not compile: {e}"),
        }
    }
}

impl std::error::Error for RelaxError {}

/// The tier a relaxed rule is rewritten to: `wanted` if it is an auto tier,
/// else the lowest-numbered auto tier.
pub fn auto_tier(policy: &Policy, wanted: Option<u32>) -> Result<u32, RelaxError> {
    let autos = || {
        policy
            .checked()
            .tiers
            .iter()
            .filter(|t| t.outcome == Outcome::Auto)
            .map(|t| t.id)
    };
    match wanted {
        Some(n) if autos().any(|id| id == n) => Ok(n),
        Some(n) => Err(RelaxError::NotAnAutoTier(n)),
        None => autos().min().ok_or(RelaxError::NoAutoTier),
    }
}

/// The byte range of one consequence.
fn span_of(c: &Consequence) -> (usize, usize) {
    let s = match c {
        Consequence::Tier(_, s) | Consequence::AtLeast(_, s) | Consequence::Evidence(_, s) => s,
        Consequence::Approve(a) => &a.span,
        Consequence::Sample(r) => &r.span,
    };
    (s.start, s.end)
}

/// The policy's files with rule `rule`'s consequences replaced by
/// `tier N`; the reasons (`because`) and conditions are kept.
pub fn relax_rule(
    files: &[Arc<SourceFile>],
    rule: &str,
    tier: u32,
) -> Result<Vec<Arc<SourceFile>>, RelaxError> {
    let mut out = Vec::with_capacity(files.len());
    let mut found = false;
    for file in files {
        let parsed =
            gatehouse::syntax::parse(file).map_err(|e| RelaxError::Policy(e.to_string()))?;
        let mut text = None;
        for d in &parsed.declarations {
            let Declaration::Rule(r) = d else { continue };
            if r.name.name != rule {
                continue;
            }
            let spans: Vec<(usize, usize)> = r.consequences.iter().map(span_of).collect();
            let start = spans.iter().map(|s| s.0).min();
            let end = spans.iter().map(|s| s.1).max();
            if let (Some(start), Some(end)) = (start, end)
                && let (Some(before), Some(after)) = (file.text.get(..start), file.text.get(end..))
            {
                text = Some(format!("{before}tier {tier}{after}"));
                found = true;
            }
        }
        out.push(match text {
            Some(t) => SourceFile::new(file.name.clone(), t),
            None => Arc::clone(file),
        });
    }
    if found {
        Ok(out)
    } else {
        Err(RelaxError::NoSuchRule(rule.to_owned()))
    }
}

/// Compiles relaxed files.
pub fn compile(files: Vec<Arc<SourceFile>>) -> Result<Policy, RelaxError> {
    Policy::from_files(files).map_err(|e| RelaxError::Policy(e.to_string()))
}

/// One outcome transition of the diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutcomeChange {
    /// The outcome under the enforced policy.
    pub from: Outcome,
    /// Under the relaxed one.
    pub to: Outcome,
    /// How many inputs.
    pub count: u64,
    /// Whether it loosens beyond the candidate's own outcome: the input was
    /// held stricter than the candidate ever held its requests, so another
    /// rule's hold would be lost too.
    pub beyond_candidate: bool,
}

/// What relaxing a candidate changes on the recorded history.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RelaxImpact {
    /// The tier the rule was rewritten to.
    pub to_tier: u32,
    /// The enforced policy's digest.
    pub policy_digest: String,
    /// The relaxed policy's digest.
    pub relaxed_digest: String,
    /// Inputs decided by both.
    pub inputs: u64,
    /// Decisions that changed.
    pub changed: u64,
    /// Decisions that would be less strict.
    pub loosened: u64,
    /// Of those, loosened beyond the candidate's own outcome (flagged).
    pub loosened_beyond: u64,
    /// Decision records without an input (redacted or not recorded).
    pub no_input: u64,
    /// Outcome transitions, most frequent first.
    pub transitions: Vec<OutcomeChange>,
}

/// Decides every decision record of `history` with both policies.
/// `candidate` is the strictest outcome the candidate held with.
pub fn impact<R: BufRead>(
    enforced: &Policy,
    relaxed: &Policy,
    tier: u32,
    history: R,
    candidate: Option<Outcome>,
) -> io::Result<RelaxImpact> {
    let options = DiffOptions::default().with_limit(0).with_threads(1);
    let report = impact::diff(enforced, relaxed, history, &options, &mut |_| {})?;
    let mut transitions: Vec<OutcomeChange> = report
        .transitions
        .iter()
        .filter(|t| t.old != t.new)
        .map(|t| OutcomeChange {
            from: t.old,
            to: t.new,
            count: t.count,
            beyond_candidate: t.new < t.old && candidate.is_none_or(|c| t.old > c),
        })
        .collect();
    transitions.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.from.cmp(&b.from))
            .then(a.to.cmp(&b.to))
    });
    Ok(RelaxImpact {
        to_tier: tier,
        policy_digest: enforced.digest().to_owned(),
        relaxed_digest: relaxed.digest().to_owned(),
        inputs: report.inputs,
        changed: report.changed,
        loosened: report.loosened,
        loosened_beyond: transitions
            .iter()
            .filter(|t| t.beyond_candidate)
            .map(|t| t.count)
            .sum(),
        no_input: report.no_input_recorded,
        transitions,
    })
}
