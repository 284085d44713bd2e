//! Sampled review after the fact (issue 18): a share of `auto` actions,
//! chosen by the engine's deterministic draw (`sample N% for review`), is
//! executed at once like any `auto` action and opened for a person's
//! verdict afterwards. This module opens the sample when a request is
//! created, records the one verdict (`POST /v1/requests/{id}/sample-review`)
//! and lists samples (`GET /v1/samples`, the console's queue).
//!
//! Invariants:
//! - A sample never holds nor moves a request: the verdict is the
//!   lifecycle's `sample_review` self-loop (every resting state, so a
//!   sampled request a claim reopened can still be judged), one audit
//!   record, and the row's `sample_review` updated in the same transaction.
//! - One verdict per request: the second is 409 `SAMPLE_ALREADY_REVIEWED`
//!   whatever its content; two at once are ordered by the store's row lock,
//!   so exactly one wins.
//! - Nobody reviews their own action: the requester and the agent the
//!   action names are refused by person key (case, width, look-alikes).

use gatehouse::values::Timestamp;
use gatehouse::{Decision, Outcome};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::Gate;
use super::records::{Actor, notification_value, transition, view};
use super::requests::{MAX_REASON_BYTES, fingerprint, identity_matches, read_body};
use crate::auth::{Principal, Scope};
use crate::error::{FieldError, GateError};
use crate::lifecycle::{Event, next};
use crate::store::{Change, IdempotencyKey, IdempotentAnswer, ListFilter, Notice, RequestRow};

/// The states of a sample review, as stored in `sample_review.state` and
/// the `sample_state` column.
pub const SAMPLE_STATES: [&str; 3] = ["open", "confirmed", "rejected"];

/// The webhook event type announcing a verdict (`events` in a
/// `[[webhook]]` selects it by `sample_reviewed`).
pub const SAMPLE_REVIEWED: &str = "sample_reviewed";

/// The longest note kept with a verdict, in bytes (a rejection's reason).
pub const MAX_NOTE_BYTES: usize = MAX_REASON_BYTES;

/// A reviewer's verdict on a sampled action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleVerdict {
    /// The action was right.
    Confirm,
    /// The action should not have been taken (counted against its rule).
    Reject,
}

impl SampleVerdict {
    /// The verdict's name in bodies and records.
    pub fn as_str(self) -> &'static str {
        match self {
            SampleVerdict::Confirm => "confirm",
            SampleVerdict::Reject => "reject",
        }
    }

    /// The sample's state after this verdict.
    fn state(self) -> &'static str {
        match self {
            SampleVerdict::Confirm => "confirmed",
            SampleVerdict::Reject => "rejected",
        }
    }
}

/// The body of `POST /v1/requests/{id}/sample-review`. The reviewer's
/// identity comes from authentication, never from here.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleReviewBody {
    /// confirm or reject.
    pub verdict: SampleVerdict,
    /// Why (required to reject; at most [`MAX_NOTE_BYTES`]).
    #[serde(default)]
    pub note: Option<String>,
}

impl SampleReviewBody {
    /// Reads and checks a body: 422 at `$.note` when it is too long, or
    /// blank on a rejection (`NOTE_REQUIRED`).
    pub fn parse(text: &str) -> Result<SampleReviewBody, GateError> {
        let mut body: SampleReviewBody = read_body(text)?;
        if body.note.as_ref().is_some_and(|n| n.len() > MAX_NOTE_BYTES) {
            return Err(GateError::invalid_body(vec![FieldError {
                path: "$.note".into(),
                detail: format!("longer than {MAX_NOTE_BYTES} bytes"),
            }]));
        }
        body.note = body.note.filter(|n| !gatehouse::identity::is_blank(n));
        if body.verdict == SampleVerdict::Reject && body.note.is_none() {
            let mut e = GateError::invalid_body(vec![FieldError {
                path: "$.note".into(),
                detail: "a rejected sample needs a note saying what was wrong".into(),
            }]);
            e.code = "NOTE_REQUIRED";
            return Err(e);
        }
        Ok(body)
    }
}

/// The `sample_review` a new request's row starts with: open when the
/// decision is `auto` and the draw sampled it, `None` otherwise.
pub(super) fn opened(decision: &Decision, now: Timestamp) -> Option<Json> {
    let sample = decision.sample.as_ref()?;
    if decision.outcome != Outcome::Auto || !sample.sampled {
        return None;
    }
    Some(json!({
        "state": "open",
        "rate": sample.rate,
        "ppm": sample.ppm,
        "rule": sample.rule,
        "tier": sample.tier,
        "opened_at": now.to_string(),
        "reviewer": null,
        "reviewed_at": null,
        "note": null,
    }))
}

/// The `detail` of a new request's `auto_approve` record: the decision's
/// sample (`{"sample": {...}}`) when it was sampled, else empty.
pub(super) fn auto_approve_detail(decision: &Decision) -> Json {
    match &decision.sample {
        Some(s) if s.sampled && decision.outcome == Outcome::Auto => {
            json!({"sample": serde_json::to_value(s).unwrap_or(Json::Null)})
        }
        _ => json!({}),
    }
}

/// The state of a row's sample review (`None`: not sampled).
pub fn sample_state(row: &RequestRow) -> Option<&str> {
    crate::store::sample_state_of(row)
}

impl Gate {
    /// `POST /v1/requests/{id}/sample-review`: the one verdict on a sampled
    /// action, as the authenticated reviewer (scope `approve`).
    pub async fn review_sample(
        &self,
        principal: &Principal,
        id: &str,
        text: &str,
        key: Option<IdempotencyKey>,
    ) -> Result<(u16, String), GateError> {
        principal.require(&[Scope::Approve])?;
        let body = SampleReviewBody::parse(text)?;
        let print = fingerprint("POST", &format!("/v1/requests/{id}/sample-review"), text);
        let fp = print.clone();
        self.idempotent_or(key.as_ref(), &print, async || {
            let now = self.now();
            let mut out: Option<String> = None;
            let row = self
                .store
                .update(id, &mut |row| {
                    let version = row.version;
                    let mut change = self.apply_sample_review(row, principal, &body, now)?;
                    // The store stamps this version on commit; the answer
                    // (kept for replays) shows it, as a review's does.
                    change.row.version = version + 1;
                    let text = view(&change.row).to_string();
                    change.remember = key.clone().map(|k| {
                        (
                            k,
                            IdempotentAnswer {
                                fingerprint: fp.clone(),
                                status: 200,
                                body: text.clone(),
                            },
                        )
                    });
                    out = Some(text);
                    Ok(change)
                })
                .await?;
            // Waiters wake; the state did not change, so no state metric
            // moves.
            self.announce(&row);
            Ok((200, out.unwrap_or_else(|| view(&row).to_string())))
        })
        .await
    }

    /// Whether `principal` may give the verdict on `row` now (the console
    /// shows the forms only then); `Err` is the refusal the verdict would
    /// get.
    pub fn may_review_sample(
        &self,
        principal: &Principal,
        row: &RequestRow,
    ) -> Result<(), GateError> {
        principal.require(&[Scope::Approve])?;
        judge(row, principal).map(|_| ())
    }

    /// The verdict's effect on the request, inside the transaction.
    fn apply_sample_review(
        &self,
        mut row: RequestRow,
        principal: &Principal,
        body: &SampleReviewBody,
        now: Timestamp,
    ) -> Result<Change, GateError> {
        let mut review = judge(&row, principal)?;
        let from = row.state;
        let to = next(from, Event::SampleReview)?;
        review.insert("state".into(), body.verdict.state().into());
        review.insert("reviewer".into(), principal.id.clone().into());
        review.insert("reviewed_at".into(), now.to_string().into());
        review.insert(
            "note".into(),
            body.note.clone().map_or(Json::Null, Json::String),
        );
        row.sample_review = Some(Json::Object(review));
        row.updated_at = now.to_string();
        let detail = json!({"verdict": body.verdict.as_str(), "note": body.note});
        let events = vec![transition(
            &row,
            (Event::SampleReview, from, to),
            &Actor::Caller(principal),
            None,
            detail,
            now,
        )];
        let notify = self.sample_notices(&row, now, row.version + 1);
        Ok(Change {
            row,
            events,
            remember: None,
            notify,
        })
    }

    /// The deliveries announcing a verdict: `request.sample_reviewed`, to
    /// every receiver whose `events` is empty or names `sample_reviewed`.
    fn sample_notices(&self, row: &RequestRow, now: Timestamp, version: i64) -> Vec<Notice> {
        let wanting: Vec<&crate::config::WebhookConfig> = self
            .config
            .webhooks
            .iter()
            .filter(|w| w.wants(SAMPLE_REVIEWED))
            .collect();
        if wanting.is_empty() {
            return Vec::new();
        }
        let mut value = notification_value(row, Event::SampleReview, row.state, now, version);
        value["type"] = format!("request.{SAMPLE_REVIEWED}").into();
        value["sample_review"] = row.sample_review.clone().unwrap_or(Json::Null);
        let body = value.to_string();
        wanting
            .into_iter()
            .map(|w| Notice {
                receiver: w.url.clone(),
                body: body.clone(),
            })
            .collect()
    }

    /// `GET /v1/samples`: sampled requests in one of `states` (all three
    /// when empty), newest first, or oldest first for a queue; `before` an
    /// id for the next page. At most `limit` rows and `max_bytes` of
    /// bodies are read (the console's bound); the flag says whether more
    /// were left.
    pub async fn list_samples(
        &self,
        states: &[&str],
        before: Option<String>,
        limit: u32,
        oldest_first: bool,
        max_bytes: usize,
    ) -> Result<(Vec<RequestRow>, bool), GateError> {
        let states: Vec<String> = if states.is_empty() {
            SAMPLE_STATES.iter().map(|s| (*s).to_owned()).collect()
        } else {
            states.iter().map(|s| (*s).to_owned()).collect()
        };
        let filter = ListFilter {
            sample_states: Some(states),
            before_id: before,
            limit: limit.saturating_add(1),
            oldest_first,
            ..ListFilter::default()
        };
        let (mut rows, unread) = self.store.list_bounded(&filter, max_bytes).await?;
        let more = unread || rows.len() > limit as usize;
        rows.truncate(limit as usize);
        Ok((rows, more))
    }
}

/// Who may give the verdict on `row`, and whether one may be given: the
/// open sample review to fill in, or the refusal (404-like 409
/// `NOT_SAMPLED`, 403 `SELF_APPROVAL` / `AGENT_SELF_REVIEW`, 409
/// `SAMPLE_ALREADY_REVIEWED`, the lifecycle's own refusal).
fn judge(
    row: &RequestRow,
    principal: &Principal,
) -> Result<serde_json::Map<String, Json>, GateError> {
    let Some(Json::Object(review)) = row.sample_review.clone() else {
        return Err(GateError::conflict_in(
            "NOT_SAMPLED",
            "this request was not sampled for review after the fact",
            row.state.as_str(),
        ));
    };
    if identity_matches(&principal.id, &row.requester) {
        return Err(GateError::forbidden(
            "SELF_APPROVAL",
            "the requester cannot review their own sampled action",
        ));
    }
    if identity_matches(&principal.id, &row.agent) {
        return Err(GateError::forbidden(
            "AGENT_SELF_REVIEW",
            "the agent the action names cannot review it",
        ));
    }
    if review.get("state").and_then(Json::as_str) != Some("open") {
        return Err(GateError::conflict_in(
            "SAMPLE_ALREADY_REVIEWED",
            "this sample has its verdict already; there is one per request",
            row.state.as_str(),
        ));
    }
    next(row.state, Event::SampleReview)?;
    Ok(review)
}
