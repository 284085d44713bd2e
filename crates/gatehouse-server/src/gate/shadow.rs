//! The shadow (candidate) policy set: evaluated beside the enforced one on
//! every new request, its decision recorded and **never enforced**
//! (docs/shadow.md).
//!
//! Invariants:
//! - Nothing enforced reads the shadow: the state, deadline, roles,
//!   approvals, the create answer (and so the idempotency answer) and the
//!   webhook payloads are made from the enforced decision alone. The
//!   shadow lands in `RequestRow.shadow` (shown by `GET /v1/requests/{id}`
//!   and `GET /v1/shadow`) and in the `decide` record's `detail.shadow`.
//! - A shadow that panics is recorded as an error on that request; the
//!   request goes on exactly as without a shadow.
//! - A shadow set that fails to (re)load never stops the gate: at start it
//!   refuses to start (the operator asked for it and it is broken); on a
//!   reload the last good set stays and the error is logged, kept for
//!   `/health` and counted in `gatehouse_shadow_reload_failures_total`.
//! - Cost: one more evaluation per created request (the engine's own bounds
//!   apply) and the candidate's decision kept in the row (about the size of
//!   the enforced decision). `POST /v1/decide` is not shadowed.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use gatehouse::{Decision, EvalOptions};
use serde_json::{Value as Json, json};

use super::{Gate, LoadedPolicy};

/// The shadow decision of one request, in the two shapes it is kept in.
#[derive(Clone, Debug, PartialEq)]
pub struct ShadowRecord {
    /// `RequestRow.shadow`: `{"policy", "decision", "differs"}` (and
    /// `"error"`, with a null decision, when the candidate failed).
    pub row: Json,
    /// The `decide` record's `detail.shadow`: `{"policy", "outcome",
    /// "tier", "reasons", "differs"}` (or `"error"`).
    pub detail: Json,
    /// Whether the candidate decides differently (a failure counts as a
    /// difference: it is what the operator must read before promoting).
    pub differs: bool,
}

/// `{"name", "version", "digest"}` of a policy set.
pub fn policy_ref(policy: &gatehouse::Policy) -> Json {
    json!({"name": policy.name(), "version": policy.version(), "digest": policy.digest()})
}

/// Decides `input` with the candidate and compares it with the enforced
/// decision (the engine's [`gatehouse::audit::impact::decisions_differ`]:
/// outcome, tier, reason codes or approver roles). A panic inside the
/// candidate's evaluation is caught and recorded as an error.
pub fn evaluate(
    shadow: &gatehouse::Policy,
    input: &Json,
    options: &EvalOptions,
    enforced: &Decision,
) -> ShadowRecord {
    let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        shadow.evaluate_with(input, options)
    }));
    record(policy_ref(shadow), decided, enforced)
}

/// The record of a candidate's attempt: its decision compared with the
/// enforced one, or its panic as an error.
fn record(
    policy: Json,
    decided: std::thread::Result<Decision>,
    enforced: &Decision,
) -> ShadowRecord {
    let error = |message: String| ShadowRecord {
        row: json!({"policy": policy, "decision": null, "differs": true, "error": message}),
        detail: json!({"policy": policy, "differs": true, "error": message}),
        differs: true,
    };
    let decision = match decided {
        Ok(d) => d,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            return error(format!("the shadow policy set failed to decide: {what}"));
        }
    };
    let Ok(full) = serde_json::to_value(&decision) else {
        return error("the shadow decision could not be written".to_owned());
    };
    let differs = gatehouse::audit::impact::decisions_differ(enforced, &decision);
    ShadowRecord {
        row: json!({"policy": policy, "decision": full, "differs": differs}),
        detail: json!({
            "policy": policy,
            "outcome": decision.outcome,
            "tier": decision.tier.as_ref().map(|t| t.id),
            "reasons": decision.reason_codes(),
            "differs": differs,
        }),
        differs,
    }
}

impl Gate {
    /// The shadow set in force, when one is configured.
    pub fn shadow_policy(&self) -> Option<Arc<LoadedPolicy>> {
        self.shadow
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Puts a shadow set in force (at start, or after a reload checked it).
    pub fn set_shadow(&self, shadow: Option<LoadedPolicy>) {
        let mut slot = self.shadow.write().unwrap_or_else(|p| p.into_inner());
        *slot = shadow.map(Arc::new);
    }

    /// The last shadow reload's error (the previous shadow set stays).
    pub fn shadow_error(&self) -> Option<String> {
        self.shadow_error
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The shadow decision for a new request, counted in the metrics;
    /// `None` when no shadow set is configured.
    pub(super) fn shadow_decide(
        &self,
        input: &Json,
        options: &EvalOptions,
        enforced: &Decision,
    ) -> Option<ShadowRecord> {
        let loaded = self.shadow_policy()?;
        let record = evaluate(&loaded.policy, input, options, enforced);
        let counter = match (record.row.get("error").is_some(), record.differs) {
            (true, _) => &self.metrics.shadow_errors,
            (false, true) => &self.metrics.shadow_differs,
            (false, false) => &self.metrics.shadow_same,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(e) = record.row.get("error") {
            tracing::error!(error = %e, "shadow policy set failed; the request goes on without it");
        }
        Some(record)
    }

    /// Reloads the shadow set from `[shadow] policy` when one is
    /// configured. A set that does not compile leaves the last good one in
    /// force (logged, kept for `/health`, counted); never an error for the
    /// caller: the enforced gate does not depend on it.
    pub(super) fn reload_shadow(&self) {
        let Some(path) = self.config.shadow.policy.as_ref() else {
            return;
        };
        let result = LoadedPolicy::load(path);
        let mut error = self.shadow_error.write().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(loaded) => {
                *error = None;
                let same = self
                    .shadow_policy()
                    .is_some_and(|s| s.policy.digest() == loaded.policy.digest());
                if !same {
                    tracing::info!(digest = %loaded.policy.digest(), "shadow policy set reloaded");
                    self.set_shadow(Some(loaded));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "shadow reload refused; the previous shadow set stays");
                self.metrics
                    .shadow_reload_failures
                    .fetch_add(1, Ordering::Relaxed);
                *error = Some(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(policy: &str, input: &Json) -> Decision {
        gatehouse::Policy::from_sources(vec![("main.gate".to_owned(), policy.to_owned())])
            .expect("compiles")
            .evaluate_with(input, &EvalOptions::default())
    }

    const AUTO: &str = "policy \"a\" version \"1\"\n\nreason AUTO \"auto\"\n\ntier 0 \"auto\" { outcome auto }\n\ndefault tier 0 because AUTO\n";
    const BLOCK: &str = "policy \"b\" version \"1\"\n\nreason NO \"no\"\n\ntier 0 \"no\" { outcome block }\n\ndefault tier 0 because NO\n";

    /// A candidate that panics is recorded as an error (a difference),
    /// with what it said, and nothing else of it is kept.
    #[test]
    fn a_panicking_candidate_is_recorded_as_an_error() {
        let enforced = decision(AUTO, &json!({}));
        let panicked = std::panic::catch_unwind(|| -> Decision { panic!("candidate blew up") });
        let r = record(json!({"name": "x"}), panicked, &enforced);
        assert!(r.differs);
        assert_eq!(r.row["decision"], Json::Null);
        let message = r.row["error"].as_str().expect("an error");
        assert!(message.contains("candidate blew up"), "{message}");
        assert_eq!(r.detail["error"], r.row["error"]);
        assert_eq!(r.detail["differs"], true);
    }

    /// The record keeps the candidate's whole decision and says whether it
    /// differs; the detail keeps its outcome, tier and reason codes.
    #[test]
    fn the_record_compares_with_the_enforced_decision() {
        let input = json!({});
        let enforced = decision(AUTO, &input);
        let policy =
            gatehouse::Policy::from_sources(vec![("main.gate".to_owned(), BLOCK.to_owned())])
                .expect("compiles");
        let r = evaluate(&policy, &input, &EvalOptions::default(), &enforced);
        assert!(r.differs);
        assert_eq!(r.row["decision"]["outcome"], "block");
        assert_eq!(r.detail["outcome"], "block");
        assert_eq!(r.detail["reasons"], json!(["NO"]));
        assert_eq!(r.detail["policy"]["name"], "b");
        let same = gatehouse::Policy::from_sources(vec![("main.gate".to_owned(), AUTO.to_owned())])
            .expect("compiles");
        let r = evaluate(&same, &input, &EvalOptions::default(), &enforced);
        assert!(!r.differs);
        assert_eq!(r.row["differs"], false);
    }
}
