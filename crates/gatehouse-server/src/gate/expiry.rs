//! Deadlines: the tier's on-expiry action, applied by the sweeper
//! (escalate once, reject or block).

use serde_json::{Value as Json, json};

use super::Gate;
use super::records::{Actor, transition};
use super::requests::deadline_passed;
use crate::error::GateError;
use crate::lifecycle::{Event, State, next};
use crate::store::Change;

impl Gate {
    /// Applies a passed deadline (the sweeper): the tier's on-expiry
    /// escalates once (back to pending for the escalation role, with a new
    /// deadline), rejects or blocks. An escalated request that expires
    /// again is rejected. `None` when the request is no longer due.
    pub async fn expire(&self, id: &str) -> Result<Option<crate::store::RequestRow>, GateError> {
        let now = self.now();
        let result = self
            .store
            .update(id, &mut |mut row| {
                // The store's `due` picks candidates by whole seconds; the
                // deadline itself is exact, and not yet passed is not due
                // (the next sweep takes it).
                let due = row.state == State::Pending && deadline_passed(&row, now);
                if !due {
                    return Err(GateError::conflict("NOT_DUE", "not due"));
                }
                let mut events = Vec::new();
                let mut notify = Vec::new();
                let from = row.state;
                row.state = next(from, Event::Expire)?;
                events.push(transition(
                    &row,
                    (Event::Expire, from, row.state),
                    &Actor::Gate,
                    Some("REQUEST_TIMED_OUT"),
                    json!({"deadline": row.deadline}),
                    now,
                ));
                let (action, role, seconds) = on_expiry(&row.decision);
                let event = match (action.as_str(), role) {
                    // Once in a request's life: a claim that reopened an
                    // escalated request under a stricter policy clears
                    // `escalated_to` (the new policy's roles act), but the
                    // count stays, and a second deadline rejects.
                    ("escalate", Some(role))
                        if row.escalated_to.is_none() && row.escalations == 0 =>
                    {
                        row.state = next(row.state, Event::Escalate)?;
                        events.push(transition(
                            &row,
                            (Event::Escalate, State::Expired, row.state),
                            &Actor::Gate,
                            None,
                            json!({"role": role}),
                            now,
                        ));
                        let deadline = now.plus_seconds(seconds.max(1));
                        row.escalated_to = Some(role.clone());
                        row.escalations += 1;
                        row.roles = vec![role];
                        row.deadline = Some(deadline.to_string());
                        row.deadline_unix = Some(deadline.unix_seconds());
                        Event::Requeue
                    }
                    ("block", _) => Event::Block,
                    _ => Event::Reject,
                };
                let before = row.state;
                row.state = next(before, event)?;
                if row.state != State::Pending {
                    row.roles.clear();
                }
                row.updated_at = now.to_string();
                events.push(transition(
                    &row,
                    (event, before, row.state),
                    &Actor::Gate,
                    Some("REQUEST_TIMED_OUT"),
                    json!({}),
                    now,
                ));
                notify.extend(self.notify_for(&row, event, from, now));
                Ok(Change {
                    row,
                    events,
                    remember: None,
                    notify,
                })
            })
            .await;
        match result {
            Ok(row) => {
                self.metrics.expired(&row);
                self.committed(&row, now);
                Ok(Some(row))
            }
            Err(e) if e.code == "NOT_DUE" || e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The on-expiry action, its role, and the timeout's length in seconds.
pub(super) fn on_expiry(decision: &Json) -> (String, Option<String>, i64) {
    let timeout = decision.get("timeout");
    let action = timeout
        .and_then(|t| t.pointer("/on_expiry/action"))
        .and_then(Json::as_str)
        .unwrap_or("reject")
        .to_owned();
    let role = timeout
        .and_then(|t| t.pointer("/on_expiry/role"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    let seconds = timeout
        .and_then(|t| t.get("seconds"))
        .and_then(Json::as_i64)
        .unwrap_or(3600);
    (action, role, seconds)
}
