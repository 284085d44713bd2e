//! gatehouse decides how much human oversight an AI agent's proposed action
//! needs: **auto**, **queue**, **explicit**, **dual** or **block**, with the
//! reason codes, approvals and evidence behind the answer.
//!
//! Policies are approval matrices written in `.gate` files. They are parsed,
//! checked against their declared input schema and compiled once; each
//! evaluation then works on resolved slots.
//!
//! ```
//! use gatehouse::{Outcome, Policy};
//!
//! let policy = Policy::from_source("refunds.gate", r#"
//!     policy "refunds" version "1"
//!     schema {
//!       action.type: enum { read, refund }
//!       action.amount: number?
//!     }
//!     role support_lead
//!     reason LARGE_REFUND "refund above 1000"
//!     tier 0 "no effect" { outcome auto }
//!     tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
//!     rule large_refund when action.type == refund and action.amount > 1000
//!       then tier 3 because LARGE_REFUND
//!     default tier 0 because NO_RULE_MATCHED
//! "#).expect("the policy compiles");
//!
//! let decision = policy.evaluate(&serde_json::json!({
//!     "action": { "type": "refund", "amount": 2500 }
//! }));
//! assert_eq!(decision.outcome, Outcome::Explicit);
//! assert!(decision.has_reason("LARGE_REFUND"));
//!
//! // 1000.00 is exactly 1000: not above the threshold.
//! let small = policy.evaluate(&serde_json::json!({
//!     "action": { "type": "refund", "amount": 1000.00 }
//! }));
//! assert_eq!(small.outcome, Outcome::Auto);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Fail closed: no input may panic the engine. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod audit;
pub mod check;
pub mod compile;
mod decider;
pub mod diagnostic;
pub mod eval;
pub mod identity;
pub mod input;
pub mod limits;
pub mod loader;
mod policy;
pub mod source;
pub mod syntax;
pub mod trust;
pub mod values;

pub use decider::JsonDecider;
pub use diagnostic::{Code, Diagnostic, Diagnostics, Severity};
pub use eval::{Decision, EvalOptions, Input, InputError, Outcome, Verdict};
pub use policy::Policy;

/// Not an API: crate internals for benchmarks and tests outside the crate:
/// the JSON decoder (`benches/decode.rs`, `tests/decode_json.rs`) and the
/// condition evaluator (`benches/index.rs`).
#[doc(hidden)]
pub mod __bench {
    pub use crate::eval::decode_json::hook::*;

    /// Whether a condition holds for these slots (the evaluator's own test
    /// of a rule's `when`).
    pub fn holds(cond: &crate::check::Cond, slots: &[crate::eval::decode::Slot<'_>]) -> bool {
        crate::eval::cond::holds(cond, slots)
    }

    /// Rebuilds `policy`'s rule index for sets of `min_rules` rules or more
    /// (0: always index), so that tests can run small generated policies
    /// through the index.
    pub fn reindex(policy: &mut crate::Policy, min_rules: usize) {
        policy.reindex(min_rules);
    }
}
