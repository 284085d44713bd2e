//! Transition records: one per step of an approval request's life, as the
//! gate service (`gatehouse serve`) writes them in its audit chain beside
//! the decision records.
//!
//! ```json
//! {"record": "transition", "format": "gatehouse.audit-record/1", "id": "evt_…",
//!  "time": "2026-11-22T09:00:00Z", "request": "req_…", "event": "approve_complete",
//!  "from": "pending", "to": "approved",
//!  "actor": {"id": "alice", "method": "api_key", "key_id": "key_…"},
//!  "reason": "order checked", "policy_digest": "sha256:…", "action_digest": "sha256:…",
//!  "detail": {…}}
//! ```
//!
//! The engine does not know the service's state machine: `event`, `from`
//! and `to` are read as names, not checked against a table (the service's
//! lifecycle is the one table). What the engine guarantees is that the
//! record is read whole (unknown fields refused, as for every record kind)
//! and written as the same bytes in every build (`detail` with sorted
//! keys), so the chain that hashes those bytes verifies anywhere.
//! `gatehouse replay` counts transition records and does not replay them:
//! the decision record of the same request is what is replayed.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::record::{AuditRecord, RecordFormat};
use crate::values::Timestamp;

/// The record of one transition of an approval request
/// (`"record": "transition"`). Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TransitionRecord {
    /// `"gatehouse.audit-record/1"`, as in
    /// [`DecisionRecord::format`](super::record::DecisionRecord::format).
    pub format: RecordFormat,
    /// Unique id, `evt_` and 32 hex digits (a UUIDv7).
    pub id: String,
    /// When the transition happened (RFC 3339, UTC).
    pub time: String,
    /// The request's id (`req_…`).
    pub request: String,
    /// The event that moved it (`approve`, `expire`, `claim`, ...).
    pub event: String,
    /// The state it left.
    pub from: String,
    /// The state it entered.
    pub to: String,
    /// Who did it.
    pub actor: TransitionActor,
    /// Their written reason, if any (`null` when none).
    pub reason: Option<String>,
    /// The digest of the policy set that decided the request.
    pub policy_digest: String,
    /// The digest of the action the request is about.
    pub action_digest: String,
    /// What else the step recorded (the reviewer's roles, the execution
    /// result, ...): free-form, written with sorted keys.
    #[serde(serialize_with = "super::record::sorted")]
    pub detail: Json,
}

/// Who caused a transition: an authenticated caller, or the gate itself
/// (`{"id": "gatehouse", "method": "system"}`: the sweeper, a reload).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TransitionActor {
    /// Their identity.
    pub id: String,
    /// How they authenticated (`api_key`, `oidc`, `system`).
    pub method: String,
    /// The public id of the API key they used, when it was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

impl TransitionActor {
    /// An actor: identity, how they authenticated, the API key id if any.
    pub fn new(id: &str, method: &str, key_id: Option<&str>) -> TransitionActor {
        TransitionActor {
            id: id.to_owned(),
            method: method.to_owned(),
            key_id: key_id.map(str::to_owned),
        }
    }
}

/// What a transition record is about, for [`AuditRecord::transition`].
#[derive(Clone, Debug)]
pub struct TransitionEvent<'a> {
    /// The request's id.
    pub request: &'a str,
    /// The event's name.
    pub event: &'a str,
    /// The state left.
    pub from: &'a str,
    /// The state entered.
    pub to: &'a str,
    /// Who did it.
    pub actor: TransitionActor,
    /// Their reason.
    pub reason: Option<&'a str>,
    /// The policy set's digest.
    pub policy_digest: &'a str,
    /// The action's digest.
    pub action_digest: &'a str,
    /// Anything else worth keeping (an object; `{}` when nothing).
    pub detail: Json,
}

impl AuditRecord {
    /// The record of one transition at `time`, with a fresh `evt_` id.
    pub fn transition(event: TransitionEvent<'_>, time: Timestamp) -> AuditRecord {
        AuditRecord::Transition(TransitionRecord {
            format: RecordFormat,
            id: super::record::new_id("evt_"),
            time: time.to_string(),
            request: event.request.to_owned(),
            event: event.event.to_owned(),
            from: event.from.to_owned(),
            to: event.to.to_owned(),
            actor: event.actor,
            reason: event.reason.map(str::to_owned),
            policy_digest: event.policy_digest.to_owned(),
            action_digest: event.action_digest.to_owned(),
            detail: event.detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(detail: Json, key_id: Option<&str>) -> AuditRecord {
        AuditRecord::transition(
            TransitionEvent {
                request: "req_1",
                event: "approve_complete",
                from: "pending",
                to: "approved",
                actor: TransitionActor::new("alice", "api_key", key_id),
                reason: Some("checked"),
                policy_digest: "sha256:aa",
                action_digest: "sha256:bb",
                detail,
            },
            Timestamp::parse("2026-11-22T09:00:00Z").unwrap(),
        )
    }

    #[test]
    fn a_transition_record_has_the_fields_in_order_and_reads_back() {
        let r = record(json!({"z": 1, "a": {"y": 2, "b": 3}}), Some("key_1"));
        let line = r.to_json_line().unwrap();
        assert_eq!(
            crate::audit::key_order(&line),
            [
                "record",
                "format",
                "id",
                "time",
                "request",
                "event",
                "from",
                "to",
                "actor",
                "reason",
                "policy_digest",
                "action_digest",
                "detail"
            ]
        );
        assert!(
            r.id().starts_with("evt_") && r.id().len() == 36,
            "{}",
            r.id()
        );
        assert!(
            line.ends_with(r#""detail":{"a":{"b":3,"y":2},"z":1}}"#),
            "detail with sorted keys in every build: {line}"
        );
        assert!(line.contains(r#""actor":{"id":"alice","method":"api_key","key_id":"key_1"}"#));
        let back: AuditRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.to_json_line().unwrap(), line);
        assert_eq!(back.policy(), None, "a transition names no policy header");
    }

    #[test]
    fn an_actor_without_a_key_has_no_key_id_field() {
        let line = record(json!({}), None).to_json_line().unwrap();
        assert!(
            line.contains(r#""actor":{"id":"alice","method":"api_key"},"#),
            "{line}"
        );
    }

    #[test]
    fn unknown_or_missing_fields_are_refused() {
        let line = record(json!({}), None).to_json_line().unwrap();
        let good: Json = serde_json::from_str(&line).unwrap();
        let mut extra = good.clone();
        extra["roles"] = json!(["admin"]);
        let e = AuditRecord::from_value(extra).unwrap_err();
        assert!(e.contains("unknown field `roles`"), "{e}");
        let mut actor = good.clone();
        actor["actor"]["scopes"] = json!("admin");
        assert!(AuditRecord::from_value(actor).is_err());
        for field in ["request", "event", "from", "to", "actor", "format"] {
            let mut missing = good.clone();
            missing.as_object_mut().unwrap().remove(field);
            assert!(AuditRecord::from_value(missing).is_err(), "without {field}");
        }
        let mut format = good;
        format["format"] = json!("gatehouse.audit-record/2");
        assert!(AuditRecord::from_value(format).is_err());
    }

    /// A service chain: a decision record then its transitions. Replay
    /// replays the decision and counts the transitions, none a failure
    /// (before transition records existed the reader refused them as an
    /// unknown kind: bad lines).
    #[test]
    fn replay_counts_transitions_and_replays_the_decision() {
        use crate::audit::log::{LogEntry, LoggedRecord};
        use crate::audit::redact::Redaction;
        use crate::audit::replay::Replayer;
        let p = crate::Policy::from_source(
            "t.gate",
            "policy \"t\" version \"1\"\nschema { action.amount: number }\ntier 0 \"none\" { outcome auto }\ndefault tier 0 because NO_RULE_MATCHED\n",
        )
        .unwrap();
        let input = json!({"action": {"amount": 5}});
        let now = Timestamp::parse("2026-11-22T09:00:00Z").unwrap();
        let options = crate::EvalOptions::default().with_now(now);
        let d = p.evaluate_with(&input, &options);
        let decision = AuditRecord::decision(&d, Some(&input), &options, &Redaction::KeepAll, now);
        let mut replayer = Replayer::new(&p);
        for (line, record) in [decision, record(json!({}), None), record(json!({}), None)]
            .into_iter()
            .enumerate()
        {
            replayer.push(LogEntry::Record(Box::new(LoggedRecord {
                line: line + 1,
                chain: None,
                record,
            })));
        }
        let report = replayer.finish();
        assert_eq!(report.summary.decisions, 1);
        assert_eq!(report.summary.identical, 1);
        assert_eq!(report.summary.transitions_skipped, 2);
        assert_eq!(report.summary.bad_lines, 0);
        assert!(report.records.is_empty(), "{:?}", report.records);
        assert!(!report.has_failures());
    }
}
