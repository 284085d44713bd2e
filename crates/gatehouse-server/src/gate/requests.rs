//! Creating requests, and what every operation on requests shares:
//! reading bodies, idempotency, the rules of time (deadlines, approval
//! validity) and people (identities), webhook payloads. The other
//! operations are in `review` (approve, reject, request changes), `batch`,
//! `claim` (cancel, claim, reports) and `expiry` (the sweeper's step).
//!
//! Each operation reads what it needs, then changes the request inside one store
//! transaction: the lifecycle table says whether the step is legal, the
//! engine says whether the approvals suffice, and the new row, its audit
//! records, the idempotency answer and the webhook payloads commit
//! together before anyone is answered.

use gatehouse::audit::record::AuditRecord;
use gatehouse::audit::redact::Redaction;
use gatehouse::audit::verify::{Approval, VerifyOptions};
use gatehouse::input::Syntax;
use gatehouse::values::Timestamp;
use gatehouse::{Decision, EvalOptions, Outcome, Policy};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};

use super::Gate;
use super::records::{Actor, notification, person_key, transition, view};
use crate::auth::{Principal, Scope};
use crate::error::{FieldError, GateError};
use crate::lifecycle::{Event, State, next};
use crate::store::{AuditEvent, Change, IdempotencyKey, IdempotentAnswer, RequestRow};

/// What a reviewer decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Approve the action.
    Approve,
    /// Reject it.
    Reject,
    /// Ask the agent for a modified action.
    RequestChanges,
}

/// The body of `POST /v1/requests/{id}/decisions`. The reviewer's
/// identity and roles come from authentication, never from here.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalBody {
    /// approve, reject or request_changes.
    pub decision: ReviewDecision,
    /// Why (required for explicit and dual approvals, rejections and
    /// change requests).
    #[serde(default)]
    pub reason: Option<String>,
    /// The action digest the reviewer saw; refused when it is not the
    /// request's (the reviewer looked at another action).
    #[serde(default)]
    pub action_digest: Option<String>,
}

/// The longest reason kept, in bytes.
pub(crate) const MAX_REASON_BYTES: usize = 4096;

/// Parses a JSON body strictly (duplicate keys and excess depth refused),
/// 400 with the path of each problem otherwise.
pub(crate) fn parse_json(text: &str) -> Result<Json, GateError> {
    gatehouse::input::parse(text, Syntax::Json).map_err(|errors| {
        let mut e = GateError::bad_request(
            "INVALID_JSON",
            errors
                .first()
                .map_or_else(|| "the body is not JSON".to_owned(), |e| e.message.clone()),
        );
        e.errors = errors
            .into_iter()
            .map(|e| FieldError {
                path: e.path,
                detail: e.message,
            })
            .collect();
        e
    })
}

/// The fingerprint an idempotency key is bound to: what was asked.
pub(crate) fn fingerprint(method: &str, path: &str, body: &str) -> String {
    let mut h = Sha256::new();
    for part in [method, path, body] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

impl Gate {
    /// The answer stored for an idempotency key: `Some` to send again;
    /// 422 `IDEMPOTENCY_KEY_REUSED` when the key was used for another
    /// request.
    pub async fn replay_idempotent(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Option<(u16, String)>, GateError> {
        match self.store.idempotent(key).await? {
            None => Ok(None),
            Some(a) if a.fingerprint == fingerprint => Ok(Some((a.status, a.body))),
            Some(_) => Err(GateError::new(
                422,
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was used for a different request",
            )),
        }
    }

    /// Runs a change that stores its answer under an idempotency key; when
    /// a concurrent retry stored one first (the key's row exists), answers
    /// with that one instead.
    ///
    /// Whatever the work's error: a racing retry that committed first makes
    /// this one fail however the step fails next (a unique key for a
    /// creation, `ILLEGAL_TRANSITION` or `SAME_APPROVER_TWICE` for a review
    /// that was applied), and the promise is the first answer, byte for
    /// byte, to every retry with the same key and body (and 422
    /// `IDEMPOTENCY_KEY_REUSED` to a racing call with another body).
    pub(super) async fn idempotent_or<F>(
        &self,
        key: Option<&IdempotencyKey>,
        fingerprint: &str,
        work: F,
    ) -> Result<(u16, String), GateError>
    where
        F: AsyncFnOnce() -> Result<(u16, String), GateError>,
    {
        if let Some(key) = key
            && let Some(stored) = self.replay_idempotent(key, fingerprint).await?
        {
            return Ok(stored);
        }
        match work().await {
            Ok(answer) => Ok(answer),
            Err(e) => match key {
                Some(key) => match self.replay_idempotent(key, fingerprint).await {
                    Ok(Some(stored)) => Ok(stored),
                    // A racing call with another body took the key first:
                    // that is the documented 422, not this step's refusal.
                    Err(reused) if reused.code == "IDEMPOTENCY_KEY_REUSED" => Err(reused),
                    _ => Err(e),
                },
                None => Err(e),
            },
        }
    }

    /// `POST /v1/requests`: decides the action and holds it. 201 with the
    /// request (`approved` for auto, `blocked` for block, else `pending`).
    pub async fn create_request(
        &self,
        principal: &Principal,
        text: &str,
        key: Option<IdempotencyKey>,
    ) -> Result<(u16, String), GateError> {
        principal.require(&[Scope::Request])?;
        let print = fingerprint("POST", "/v1/requests", text);
        let fp = print.clone();
        self.idempotent_or(key.as_ref(), &print, async || {
            let input = parse_json(text)?;
            let now = self.now();
            let loaded = self.policy();
            let policy = loaded.policy.clone();
            let options = self.eval_options(now);
            let decision = policy.evaluate_with(&input, &options);
            // The candidate decides the same input with the same options;
            // only `row.shadow` and the decide record's detail read it.
            let shadow = self.shadow_decide(&input, &options, &decision);
            let row = new_row(principal, &input, &decision, &policy, now)?;
            let detail = shadow.as_ref().map(|s| s.detail.clone());
            let (mut row, events, last) =
                opening_events(row, &decision, &input, principal, now, detail);
            let notify = self.notices(&row, last, State::Decided, now, row.version);
            // The answer (and so the idempotency answer) is the enforced
            // request alone, byte for byte what it is without a shadow:
            // the shadow is read with `GET /v1/requests/{id}`.
            let body = view(&row).to_string();
            row.shadow = shadow.map(|s| s.row);
            let remember = key.clone().map(|k| {
                (
                    k,
                    IdempotentAnswer {
                        fingerprint: fp.clone(),
                        status: 201,
                        body: body.clone(),
                    },
                )
            });
            // Kept before the request: a request never names a policy the
            // store cannot give back.
            self.store
                .save_policy(policy.digest(), &loaded.sources)
                .await?;
            self.store
                .create(Change {
                    row: row.clone(),
                    events,
                    remember,
                    notify,
                })
                .await?;
            self.metrics.request_created(&row);
            self.announce(&row);
            Ok((201, body))
        })
        .await
    }

    /// Webhook deliveries for a transition: one per configured receiver
    /// that wants the state entered (the deliverer signs each with its
    /// receiver's secret).
    pub(super) fn notify_for(
        &self,
        row: &RequestRow,
        event: Event,
        from: State,
        now: Timestamp,
    ) -> Vec<crate::store::Notice> {
        // Every caller but creation is inside `Store::update` with the row
        // as read: the store stamps it with the version read plus one on
        // commit, and that is the version the payload announces (receivers
        // order deliveries by it; the read one repeated the previous
        // transition's).
        self.notices(row, event, from, now, row.version + 1)
    }

    /// The deliveries announcing `row` at `version`, the version it is
    /// committed with.
    pub(super) fn notices(
        &self,
        row: &RequestRow,
        event: Event,
        from: State,
        now: Timestamp,
        version: i64,
    ) -> Vec<crate::store::Notice> {
        let wanting: Vec<&crate::config::WebhookConfig> = self
            .config
            .webhooks
            .iter()
            .filter(|w| w.wants(row.state.as_str()))
            .collect();
        if wanting.is_empty() {
            return Vec::new();
        }
        let body = notification(row, event, from, now, version);
        wanting
            .into_iter()
            .map(|w| crate::store::Notice {
                receiver: w.url.clone(),
                body: body.clone(),
            })
            .collect()
    }
}

/// What refuses any approval of an action whatever the approvals: a
/// `require` condition that does not hold (409 `CONDITION_NOT_MET`) or
/// evidence still missing (409 `EVIDENCE_MISSING`), with the request's
/// state `from`. `None` when neither.
pub(super) fn unmet_requirements(decision: &Decision, from: State) -> Option<GateError> {
    if let Some(c) = decision.conditions.iter().find(|c| c.holds == Some(false)) {
        return Some(GateError::conflict_in(
            "CONDITION_NOT_MET",
            format!("`{}` does not hold now", c.condition),
            from.as_str(),
        ));
    }
    if !decision.evidence.missing.is_empty() {
        return Some(GateError::conflict_in(
            "EVIDENCE_MISSING",
            format!(
                "evidence still missing: {}",
                decision.evidence.missing.join(", ")
            ),
            from.as_str(),
        ));
    }
    None
}

/// Reads a JSON body into `T`: 400 when it is not JSON, 422 with the JSON
/// path of the field that does not fit (`$.reason`, or an unknown field's
/// own path: `$.extra`).
pub(crate) fn read_body<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, GateError> {
    let value = parse_json(text)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path = String::from("$");
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => path.push_str(&format!("[{index}]")),
                serde_path_to_error::Segment::Map { key } => path.push_str(&format!(".{key}")),
                serde_path_to_error::Segment::Enum { variant } => {
                    path.push_str(&format!(".{variant}"))
                }
                serde_path_to_error::Segment::Unknown => path.push_str(".?"),
            }
        }
        GateError::invalid_body(vec![FieldError {
            path,
            detail: e.inner().to_string(),
        }])
    })
}

/// An optional `{"reason": "..."}` body (empty allowed).
pub(super) fn optional_reason(text: &str) -> Result<Option<String>, GateError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ReasonBody {
        #[serde(default)]
        reason: Option<String>,
    }
    let body: ReasonBody = read_body(text)?;
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.len() > MAX_REASON_BYTES)
    {
        return Err(GateError::invalid_body(vec![FieldError {
            path: "$.reason".into(),
            detail: format!("longer than {MAX_REASON_BYTES} bytes"),
        }]));
    }
    Ok(body.reason)
}

/// Whether two identities are one person (case, width, look-alikes).
pub(super) fn identity_matches(a: &str, b: &str) -> bool {
    person_key(a) == person_key(b)
}

/// The roles that can act on a decision now.
pub(super) fn roles_of(decision: &Decision) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for group in decision.approvals.iter().flat_map(|a| a.groups.iter()) {
        for role in &group.roles {
            if !roles.contains(&role.name) {
                roles.push(role.name.clone());
            }
        }
    }
    roles
}

/// The approvals recorded on a request that are still within their own
/// validity at `now` (`expires_at > now`; one without a readable expiry is
/// dropped, failing closed).
pub(crate) fn live_approvals(row: &RequestRow, now: Timestamp) -> Vec<Approval> {
    row.approvals
        .iter()
        .filter_map(|a| a.get("approval").cloned())
        .filter_map(|a| serde_json::from_value::<Approval>(a).ok())
        .filter(|a| match &a.expires_at {
            None => true,
            Some(e) => Timestamp::parse(e.trim()).is_some_and(|e| e > now),
        })
        .collect()
}

/// Whether the request's deadline has passed at `now`: exactly, from the
/// RFC 3339 deadline (`deadline_unix` is whole seconds, rounded down, so
/// it alone would end a wait up to a second early); from `deadline_unix`
/// only when the text is unreadable.
pub(super) fn deadline_passed(row: &RequestRow, now: Timestamp) -> bool {
    match row.deadline.as_deref().and_then(Timestamp::parse) {
        Some(deadline) => now >= deadline,
        None => row.deadline_unix.is_some_and(|d| now.unix_seconds() >= d),
    }
}

/// How the engine judges a request's approvals now: from its creation to
/// its current deadline (which a reopened request moved on).
pub(crate) fn verify_options(row: &RequestRow, now: Timestamp) -> VerifyOptions {
    VerifyOptions::new(now)
        .with_requested_at(Timestamp::parse(&row.created_at))
        .with_deadline(row.deadline.as_deref().and_then(Timestamp::parse))
}

/// The row of a new request.
pub(super) fn new_row(
    principal: &Principal,
    input: &Json,
    decision: &Decision,
    policy: &Policy,
    now: Timestamp,
) -> Result<RequestRow, GateError> {
    let deadline = match decision.outcome {
        Outcome::Queue | Outcome::Explicit | Outcome::Dual => decision
            .timeout
            .as_ref()
            .map(|t| now.plus_seconds(t.seconds)),
        Outcome::Auto | Outcome::Block => None,
    };
    let agent = input
        .pointer("/agent/id")
        .and_then(Json::as_str)
        .filter(|a| a.len() <= 256)
        .unwrap_or(&principal.id)
        .to_owned();
    Ok(RequestRow {
        id: crate::ids::new_id("req_"),
        state: State::Requested,
        created_at: now.to_string(),
        created_unix: now.unix_seconds(),
        updated_at: now.to_string(),
        deadline: deadline.map(|d| d.to_string()),
        deadline_unix: deadline.map(|d| d.unix_seconds()),
        requester: principal.id.clone(),
        agent,
        outcome: decision.outcome.as_str().to_owned(),
        tier: decision.tier.as_ref().map(|t| i64::from(t.id)),
        roles: roles_of(decision),
        action_digest: decision
            .action_digest
            .clone()
            .unwrap_or_else(|| gatehouse::audit::digest::action_digest(input)),
        policy_digest: policy.digest().to_owned(),
        input: input.clone(),
        decision: serde_json::to_value(decision).map_err(|e| GateError::internal(e.to_string()))?,
        approvals: Vec::new(),
        escalated_to: None,
        escalations: 0,
        execution: None,
        verification: None,
        version: 1,
        sample_review: super::samples::opened(decision, now),
        shadow: None,
    })
}

/// The records of a request's first steps: the engine's decision record,
/// then requested -> decided -> approved | pending | blocked. `shadow` is
/// the shadow decision's record detail, kept in the `decide` record.
pub(super) fn opening_events(
    mut row: RequestRow,
    decision: &Decision,
    input: &Json,
    principal: &Principal,
    now: Timestamp,
    shadow: Option<Json>,
) -> (RequestRow, Vec<AuditEvent>, Event) {
    let mut events = Vec::new();
    let options = EvalOptions::default().with_now(now);
    let record = AuditRecord::decision(decision, Some(input), &options, &Redaction::default(), now);
    if let Ok(line) = record.to_json_line() {
        events.push(AuditEvent {
            request_id: row.id.clone(),
            record: line,
        });
    }
    let actor = Actor::Caller(principal);
    events.push(transition(
        &row,
        (Event::Decide, State::Requested, State::Decided),
        &actor,
        None,
        decide_detail(decision, shadow),
        now,
    ));
    let event = match decision.outcome {
        Outcome::Auto => Event::AutoApprove,
        Outcome::Block => Event::Block,
        Outcome::Queue | Outcome::Explicit | Outcome::Dual => Event::Queue,
    };
    // The table allows each of these from `decided`; a failure here would
    // be a table edit, caught by the lifecycle tests.
    let to = next(State::Decided, event).unwrap_or(State::Blocked);
    row.state = to;
    if to != State::Pending {
        row.roles.clear();
    }
    events.push(transition(
        &row,
        (event, State::Decided, to),
        &actor,
        None,
        super::samples::auto_approve_detail(decision),
        now,
    ));
    (row, events, event)
}

/// The `decide` record's detail: the enforced outcome and reason codes,
/// and the shadow's decision (`shadow`) when one was made. Without a
/// shadow it is exactly what it was before shadows existed.
fn decide_detail(decision: &Decision, shadow: Option<Json>) -> Json {
    let mut detail = json!({"outcome": decision.outcome, "reasons": decision.reason_codes()});
    if let (Some(shadow), Some(fields)) = (shadow, detail.as_object_mut()) {
        fields.insert("shadow".into(), shadow);
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending_until(deadline: &str) -> RequestRow {
        let at = Timestamp::parse(deadline).expect("a time");
        RequestRow {
            id: "req_t".into(),
            state: State::Pending,
            created_at: "2026-01-01T00:00:00Z".into(),
            created_unix: 0,
            updated_at: "2026-01-01T00:00:00Z".into(),
            deadline: Some(deadline.into()),
            deadline_unix: Some(at.unix_seconds()),
            requester: "a".into(),
            agent: "a".into(),
            outcome: "explicit".into(),
            tier: None,
            roles: Vec::new(),
            action_digest: String::new(),
            policy_digest: String::new(),
            input: Json::Null,
            decision: Json::Null,
            approvals: Vec::new(),
            escalated_to: None,
            escalations: 0,
            execution: None,
            verification: None,
            version: 1,
            sample_review: None,
            shadow: None,
        }
    }

    /// Whole seconds ended a wait up to a second early: at 10:00:02.1 a
    /// request due at 10:00:02.9 was expired, and a review refused.
    #[test]
    fn a_deadline_passes_at_its_exact_instant_not_its_second() {
        let row = pending_until("2026-12-05T10:00:02.9Z");
        let at = |t: &str| Timestamp::parse(t).expect("a time");
        assert!(!deadline_passed(&row, at("2026-12-05T10:00:02.1Z")));
        assert!(deadline_passed(&row, at("2026-12-05T10:00:02.9Z")));
        assert!(deadline_passed(&row, at("2026-12-05T10:00:03Z")));
        let mut unreadable = row.clone();
        unreadable.deadline = Some("soon".into());
        assert!(deadline_passed(&unreadable, at("2026-12-05T10:00:02.1Z")));
    }
}
