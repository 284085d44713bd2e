//! Program x input -> [`Decision`]. How matching rules combine is defined
//! here once, and written down in docs/language.md ("Combining"):
//!
//! 1. Matching: a rule matches when its `when` holds and none of its
//!    `unless` conditions does. `strictest` takes every matching rule;
//!    `first-match` takes only the first in file-then-source order.
//! 2. The `default` counts as one more matching rule whenever no matching
//!    rule places the action in a tier: everything it asks for applies, but
//!    its reasons are given only when no rule matched at all. Without a
//!    default, no match at all is block/NO_RULE_MATCHED.
//! 3. Tier: of the tiers the matching rules name, the one with the strictest
//!    outcome (ties: the higher number).
//! 4. Outcome: the tier's outcome, raised by every `at least`; a rule that
//!    adds approvers raises `auto` to `explicit`.
//! 5. Evidence: the tier's plus every matching rule's. Any missing raises the
//!    outcome to the tier's `otherwise` (block unless softened to queue).
//! 6. Approvals: the tier's groups plus every matching rule's, each role
//!    replaced by its escalation while the action exceeds its limit; a group
//!    left with no role blocks (APPROVER_LIMIT_EXCEEDED). Only queue,
//!    explicit and dual carry approvals, timeout and execution conditions.
//! 7. Determining rules: those whose own contribution (tier outcome, raise,
//!    explicit for added approvers) equals the final outcome.

mod approvals;
/// How one condition holds for decoded slots: the evaluator's semantics, which
/// the linter (gatehouse-cli) shares. Not covered by semver.
#[doc(hidden)]
pub mod cond;
mod decision;
pub mod decode;
pub(crate) mod decode_json;
mod explain;
mod render;
pub(crate) mod render_fragments;
mod render_json;
pub mod sample;
pub mod sample_key;
mod verdict;

pub use decision::*;
pub use render_json::{DocumentFormat, write_document};
pub use verdict::Verdict;

use crate::check::{PolicySet, builtin};
use crate::compile::Program;
use crate::values::Timestamp;
use decode::{Decoded, Slot};

/// Options for one evaluation. Built with [`EvalOptions::default`] and the
/// `with_` methods, so that options added later break no caller:
///
/// ```
/// use gatehouse::EvalOptions;
/// use gatehouse::values::Timestamp;
///
/// let options = EvalOptions::default()
///     .with_now(Timestamp::parse("2026-11-22T09:00:00Z"))
///     .with_strict(true);
/// assert!(options.strict);
/// ```
#[derive(Clone, Copy, Default)]
#[non_exhaustive]
pub struct EvalOptions {
    /// The current time, used only to compute `timeout.expires_at`.
    /// The engine never reads the clock itself.
    pub now: Option<Timestamp>,
    /// Reject input fields the schema does not declare.
    pub strict: bool,
    /// The secret mixed into the sampling draw (see [`sample`]): with it,
    /// an agent that knows the policy and its own action cannot tell in
    /// advance whether the action will be sampled for review. Never
    /// printed (`Debug` shows only whether one is set).
    pub sample_key: Option<[u8; 32]>,
}

impl std::fmt::Debug for EvalOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalOptions")
            .field("now", &self.now)
            .field("strict", &self.strict)
            .field("sample_key", &self.sample_key.map(|_| "<redacted>"))
            .finish()
    }
}

impl EvalOptions {
    /// The defaults: no clock (no `expires_at`), undeclared fields allowed.
    pub fn new() -> EvalOptions {
        EvalOptions::default()
    }

    /// The current time (a `Timestamp` or an `Option` of one).
    #[must_use]
    pub fn with_now(mut self, now: impl Into<Option<Timestamp>>) -> EvalOptions {
        self.now = now.into();
        self
    }

    /// Whether input fields the schema does not declare are refused.
    #[must_use]
    pub fn with_strict(mut self, strict: bool) -> EvalOptions {
        self.strict = strict;
        self
    }

    /// The secret key of the sampling draw (`None`: the draw uses the
    /// action digest alone, which anyone can compute).
    #[must_use]
    pub fn with_sample_key(mut self, key: Option<[u8; 32]>) -> EvalOptions {
        self.sample_key = key;
        self
    }
}

/// The decision for an input that does not match the schema: block.
pub fn invalid_input(program: &Program, errors: Vec<InputError>) -> Decision {
    let set = &program.set;
    let mut d = empty_decision(set, Outcome::Block);
    let detail: Vec<String> = errors.iter().map(ToString::to_string).collect();
    d.reasons.push(Reason {
        code: "INVALID_INPUT".into(),
        message: format!(
            "{}: {}",
            reason_message(set, builtin::INVALID_INPUT),
            detail.join("; ")
        ),
        rule: None,
    });
    d.input_errors = errors;
    d
}

fn empty_decision(set: &PolicySet, outcome: Outcome) -> Decision {
    Decision {
        outcome,
        tier: None,
        reasons: Vec::new(),
        rules: Vec::new(),
        approvals: None,
        evidence: EvidenceStatus::default(),
        timeout: None,
        conditions: Vec::new(),
        input_errors: Vec::new(),
        action_digest: None,
        sample: None,
        policy: PolicyRef {
            name: set.name.clone(),
            version: set.version.clone(),
            digest: set.digest.clone(),
        },
    }
}

fn reason_message(set: &PolicySet, id: usize) -> &str {
    set.reasons
        .get(id)
        .map(|r| r.message.as_str())
        .unwrap_or("")
}

/// An input decoded by one policy ([`crate::Policy::decode`],
/// [`crate::Policy::decode_json`]): its attributes as typed slots, borrowed
/// from the input document where they can be. Decode once, decide with
/// [`Verdict::decide`]; a verdict of another policy refuses it.
#[derive(Debug)]
pub struct Input<'a> {
    pub(crate) decoded: Decoded<'a>,
    /// [`Program::id`] of the program that decoded it.
    pub(crate) program: u64,
}

impl Input<'_> {
    /// The same input, owning its strings (to keep it past the document).
    pub fn into_owned(self) -> Input<'static> {
        Input {
            decoded: Decoded {
                slots: self
                    .decoded
                    .slots
                    .into_iter()
                    .map(Slot::into_owned)
                    .collect(),
                evidence: self.decoded.evidence,
            },
            program: self.program,
        }
    }
}

/// Decides for a decoded input: the owned decision, without the action
/// digest (the caller adds it).
pub fn decide(program: &Program, input: &Decoded<'_>, options: &EvalOptions) -> Decision {
    let mut verdict = Verdict::new(program);
    verdict.decide_decoded(input);
    verdict.render(input, options, None)
}

#[cfg(test)]
mod exact_numbers;
#[cfg(test)]
mod render_json_tests;
#[cfg(test)]
mod sample_tests;
#[cfg(test)]
mod tests;
