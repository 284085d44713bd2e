//! The audit records the gate writes, one per transition, and the webhook
//! payloads that announce them.
//!
//! A transition record (`"record": "transition"`) names the request, the
//! event, the states it left and entered, who did it (identity and how they
//! authenticated, or `gatehouse` for the sweeper), when, why, the policy and
//! the action digest. The decision itself is also written as the engine's
//! decision record, so `gatehouse replay` can re-decide it.

use gatehouse::audit::record::{AuditRecord, TransitionActor, TransitionEvent};
use gatehouse::values::Timestamp;
use serde_json::{Value as Json, json};

use crate::auth::{AuthMethod, Principal};
use crate::lifecycle::{Event, State};
use crate::store::{AuditEvent, RequestRow};

/// Who caused a transition.
#[derive(Clone, Debug)]
pub enum Actor<'a> {
    /// An authenticated caller.
    Caller(&'a Principal),
    /// The gate itself (the sweeper, a reload).
    Gate,
}

impl Actor<'_> {
    /// The actor as the engine's transition record names it.
    fn to_record(&self) -> TransitionActor {
        match self {
            Actor::Caller(p) => {
                let method = match p.method {
                    AuthMethod::ApiKey => "api_key",
                    AuthMethod::Oidc => "oidc",
                    AuthMethod::DevSignIn => "dev_sign_in",
                };
                TransitionActor::new(&p.id, method, p.key_id.as_deref())
            }
            Actor::Gate => TransitionActor::new("gatehouse", "system", None),
        }
    }
}

/// One transition's audit record: the engine's [`TransitionRecord`]
/// (`gatehouse audit verify` and `gatehouse replay` read it), written as
/// the engine writes it.
///
/// [`TransitionRecord`]: gatehouse::audit::record::TransitionRecord
pub(crate) fn transition(
    row: &RequestRow,
    (event, from, to): (Event, State, State),
    actor: &Actor<'_>,
    reason: Option<&str>,
    detail: Json,
    time: Timestamp,
) -> AuditEvent {
    let record = AuditRecord::transition(
        TransitionEvent {
            request: &row.id,
            event: event.as_str(),
            from: from.as_str(),
            to: to.as_str(),
            actor: actor.to_record(),
            reason,
            policy_digest: &row.policy_digest,
            action_digest: &row.action_digest,
            detail,
        },
        time,
    );
    // Writing a record of strings and a JSON value cannot fail; were it to,
    // the empty line is refused by the store's chain append ("not a JSON
    // object"), so the whole change fails closed: never a transition
    // without its record.
    AuditEvent {
        request_id: row.id.clone(),
        record: record.to_json_line().unwrap_or_default(),
    }
}

/// The webhook payload announcing a transition.
/// `version` is the one the transition commits the request with.
pub(crate) fn notification(
    row: &RequestRow,
    event: Event,
    from: State,
    time: Timestamp,
    version: i64,
) -> String {
    notification_value(row, event, from, time, version).to_string()
}

/// [`notification`] as a JSON object (a sample verdict's payload changes
/// its `type` and adds the review).
pub(crate) fn notification_value(
    row: &RequestRow,
    event: Event,
    from: State,
    time: Timestamp,
    version: i64,
) -> Json {
    json!({
        "format": "gatehouse.event/1",
        "id": crate::ids::new_id("ntf_"),
        "type": format!("request.{}", row.state.as_str()),
        "time": time.to_string(),
        "event": event.as_str(),
        "from": from.as_str(),
        "request": {
            "id": row.id,
            "state": row.state.as_str(),
            "outcome": row.outcome,
            "tier": row.tier,
            "roles": row.roles,
            "agent": row.agent,
            "deadline": row.deadline,
            "action_digest": row.action_digest,
            "version": version,
        },
    })
}

/// The key a person is known by across spellings (case, width,
/// look-alikes): the engine's identity normalization.
pub(crate) fn person_key(identity: &str) -> String {
    gatehouse::identity::normalize(identity)
}

/// The request as the API shows it to anyone who may read it: the stored
/// row with the decision's main answers lifted to the top (what approvals
/// are still required, who may not approve, which evidence is missing).
///
/// Without the shadow decision: a candidate policy's answer and reasons,
/// before they are enforced, would tell an agent how to shape its actions
/// to slip past them. Every answer an agent can receive (create, claim,
/// wait, the idempotent replays, reviews) is built here; only readers and
/// reviewers get the shadow, through [`view_for`].
pub fn view(row: &RequestRow) -> Json {
    let decision = &row.decision;
    let mut out = serde_json::Map::new();
    out.insert("format".into(), "gatehouse.request/1".into());
    let Ok(Json::Object(fields)) = serde_json::to_value(row) else {
        return Json::Object(out);
    };
    for (k, v) in fields {
        if k != "shadow" {
            out.insert(k, v);
        }
    }
    out.insert(
        "approvals_required".into(),
        decision.get("approvals").cloned().unwrap_or(Json::Null),
    );
    out.insert(
        "forbidden_approvers".into(),
        decision
            .pointer("/approvals/forbidden_approvers")
            .cloned()
            .unwrap_or_else(|| json!([])),
    );
    out.insert(
        "evidence_missing".into(),
        decision
            .pointer("/evidence/missing")
            .cloned()
            .unwrap_or_else(|| json!([])),
    );
    Json::Object(out)
}

/// [`view`] for this caller: with the shadow decision
/// (`RequestRow::shadow`) when they may see candidate policies, i.e. hold
/// `read` or `approve` (or `admin`); agents, which hold `request` and
/// `execute`, never do.
pub fn view_for(principal: &crate::auth::Principal, row: &RequestRow) -> Json {
    let mut out = view(row);
    if may_see_shadow(principal)
        && let (Some(shadow), Json::Object(fields)) = (&row.shadow, &mut out)
    {
        fields.insert("shadow".into(), shadow.clone());
    }
    out
}

/// Whether the caller may see shadow (candidate) decisions: readers and
/// reviewers, not agents.
pub fn may_see_shadow(principal: &crate::auth::Principal) -> bool {
    use crate::auth::Scope;
    principal.can(Scope::Read) || principal.can(Scope::Approve)
}
