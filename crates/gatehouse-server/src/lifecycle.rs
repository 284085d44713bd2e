//! The life of a governed action, written once: the states, the events that
//! move a request between them, and the one table of legal transitions that
//! the API, the sweeper and the tests all read (docs/service.md has the
//! diagram).
//!
//! ```text
//! requested ─► decided ─┬─ auto ──────────────────────────► approved
//!                       ├─ block ─────────────────────────► blocked
//!                       └─ queue|explicit|dual ─► pending ─┬► approved ─► executing ─► executed ─► verified
//!                                                  ▲   ▲   ├► rejected
//!                                                  │   │   ├► changes_requested
//!                                                  │   │   ├► cancelled
//!                                                  │   │   └► expired ─┬► escalated ─► pending
//!                                                  │   │               ├► rejected
//!                                                  │   │               └► blocked
//!                       approved ─ claim finds the current policy stricter ┘
//! ```
//!
//! A sampled `auto` action (the decision's `sample.sampled`) is approved
//! at once like any `auto` one; its review after the fact is the
//! `sample_review` event, a self-loop on `approved`, `executing`,
//! `executed` and `verified` that records the verdict and never moves the
//! request (nothing is held for it). `verified` stays final: a self-loop
//! does not leave a state.
//!
//! `requested`, `decided`, `expired` and `escalated` are passing states: a
//! request moves through them inside one transaction, each step an audit
//! record, and rests in one of the others. A transition not in
//! [`TRANSITIONS`] is refused ([`IllegalTransition`], HTTP 409).

use serde::{Deserialize, Serialize};

/// Where a request is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The agent proposed the action (passing).
    Requested,
    /// The policy decided it (passing).
    Decided,
    /// Waiting for people: approvals, a rejection, or the deadline.
    Pending,
    /// Every approval the decision needs is in; the action may be claimed.
    Approved,
    /// A person rejected it (or the deadline rejected it). Final.
    Rejected,
    /// A reviewer asked for a modified action: the agent proposes a new
    /// request (a new digest, a new decision). Final for this one.
    ChangesRequested,
    /// The deadline passed without enough approvals (passing: the tier's
    /// on-expiry acts at once).
    Expired,
    /// The on-expiry action escalated to another role (passing: back to
    /// pending, for that role).
    Escalated,
    /// The policy blocks it, or the deadline blocked it. Final.
    Blocked,
    /// The requester withdrew it while it was pending. Final.
    Cancelled,
    /// The one claim was granted: the caller is executing it.
    Executing,
    /// The caller reported the execution's result.
    Executed,
    /// The outcome was checked after execution. Final.
    Verified,
}

impl State {
    /// Every state, in the order of the table.
    pub const ALL: [State; 13] = [
        State::Requested,
        State::Decided,
        State::Pending,
        State::Approved,
        State::Rejected,
        State::ChangesRequested,
        State::Expired,
        State::Escalated,
        State::Blocked,
        State::Cancelled,
        State::Executing,
        State::Executed,
        State::Verified,
    ];

    /// The name used in JSON, URLs and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Requested => "requested",
            State::Decided => "decided",
            State::Pending => "pending",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::ChangesRequested => "changes_requested",
            State::Expired => "expired",
            State::Escalated => "escalated",
            State::Blocked => "blocked",
            State::Cancelled => "cancelled",
            State::Executing => "executing",
            State::Executed => "executed",
            State::Verified => "verified",
        }
    }

    /// Reads a state's name; `None` for anything else.
    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the request can never move to another state. A final
    /// state may still take a self-loop that only annotates the request
    /// (`verified` takes `sample_review`), so the test is "no transition
    /// leads elsewhere", not "no transition at all".
    pub fn is_final(self) -> bool {
        !TRANSITIONS.iter().any(|t| t.from == self && t.to != self)
    }

    /// Whether a request rests in this state (not one it only passes
    /// through inside a transaction).
    pub fn is_resting(self) -> bool {
        !matches!(
            self,
            State::Requested | State::Decided | State::Expired | State::Escalated
        )
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The policy decided (requested -> decided).
    Decide,
    /// The decision was auto (decided -> approved).
    AutoApprove,
    /// The decision needs people (decided -> pending).
    Queue,
    /// The decision (or the deadline) blocks it.
    Block,
    /// An approval was accepted and more are still needed (pending ->
    /// pending).
    Approve,
    /// An approval completed what the decision needs.
    ApproveComplete,
    /// A person rejected it.
    Reject,
    /// A reviewer asked for changes.
    RequestChanges,
    /// The requester withdrew it.
    Cancel,
    /// The deadline passed.
    Expire,
    /// On expiry: escalate to another role.
    Escalate,
    /// An escalated request waits again, for the escalation role.
    Requeue,
    /// The one claim to execute was granted.
    Claim,
    /// A claim found that approvals no longer suffice (the current policy
    /// is stricter, or an approval expired): back to pending.
    Reopen,
    /// The caller reported the execution's result.
    Complete,
    /// The outcome was checked.
    Verify,
    /// A person gave the verdict on a sampled `auto` action after the
    /// fact (confirm or reject): a self-loop, the state never changes.
    SampleReview,
}

impl Event {
    /// Every event, in declaration order.
    pub const ALL: [Event; 17] = [
        Event::Decide,
        Event::AutoApprove,
        Event::Queue,
        Event::Block,
        Event::Approve,
        Event::ApproveComplete,
        Event::Reject,
        Event::RequestChanges,
        Event::Cancel,
        Event::Expire,
        Event::Escalate,
        Event::Requeue,
        Event::Claim,
        Event::Reopen,
        Event::Complete,
        Event::Verify,
        Event::SampleReview,
    ];

    /// The event an audit record or webhook names (`as_str`'s inverse).
    pub fn parse(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The name used in audit records and webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Decide => "decide",
            Event::AutoApprove => "auto_approve",
            Event::Queue => "queue",
            Event::Block => "block",
            Event::Approve => "approve",
            Event::ApproveComplete => "approve_complete",
            Event::Reject => "reject",
            Event::RequestChanges => "request_changes",
            Event::Cancel => "cancel",
            Event::Expire => "expire",
            Event::Escalate => "escalate",
            Event::Requeue => "requeue",
            Event::Claim => "claim",
            Event::Reopen => "reopen",
            Event::Complete => "complete",
            Event::Verify => "verify",
            Event::SampleReview => "sample_review",
        }
    }
}

/// One legal step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The state it leaves.
    pub from: State,
    /// What happened.
    pub event: Event,
    /// The state it enters.
    pub to: State,
}

const fn t(from: State, event: Event, to: State) -> Transition {
    Transition { from, event, to }
}

/// Every legal transition. Anything else is refused.
pub const TRANSITIONS: &[Transition] = &[
    t(State::Requested, Event::Decide, State::Decided),
    t(State::Decided, Event::AutoApprove, State::Approved),
    t(State::Decided, Event::Queue, State::Pending),
    t(State::Decided, Event::Block, State::Blocked),
    t(State::Pending, Event::Approve, State::Pending),
    t(State::Pending, Event::ApproveComplete, State::Approved),
    t(State::Pending, Event::Reject, State::Rejected),
    t(
        State::Pending,
        Event::RequestChanges,
        State::ChangesRequested,
    ),
    t(State::Pending, Event::Cancel, State::Cancelled),
    t(State::Pending, Event::Expire, State::Expired),
    t(State::Expired, Event::Escalate, State::Escalated),
    t(State::Expired, Event::Reject, State::Rejected),
    t(State::Expired, Event::Block, State::Blocked),
    t(State::Escalated, Event::Requeue, State::Pending),
    t(State::Approved, Event::Claim, State::Executing),
    t(State::Approved, Event::Reopen, State::Pending),
    t(State::Executing, Event::Complete, State::Executed),
    t(State::Executed, Event::Verify, State::Verified),
    // The verdict on a sampled auto action, after the fact: it annotates
    // the request wherever it rests and never holds or moves it. Pending,
    // rejected, changes_requested, blocked and cancelled are here because
    // a sampled request can reach them: a claim that finds the current
    // policy stricter reopens it (approved -> pending), and from there
    // people or the deadline end it; its sample must still be closable.
    t(State::Pending, Event::SampleReview, State::Pending),
    t(State::Rejected, Event::SampleReview, State::Rejected),
    t(
        State::ChangesRequested,
        Event::SampleReview,
        State::ChangesRequested,
    ),
    t(State::Blocked, Event::SampleReview, State::Blocked),
    t(State::Cancelled, Event::SampleReview, State::Cancelled),
    t(State::Approved, Event::SampleReview, State::Approved),
    t(State::Executing, Event::SampleReview, State::Executing),
    t(State::Executed, Event::SampleReview, State::Executed),
    t(State::Verified, Event::SampleReview, State::Verified),
];

/// A transition the table does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a request that is `{from}` cannot `{}`", event.as_str())]
pub struct IllegalTransition {
    /// The request's state.
    pub from: State,
    /// What was asked.
    pub event: Event,
}

impl IllegalTransition {
    /// The stable reason code of the refusal: `ALREADY_CLAIMED` for a
    /// second claim, `REQUEST_FINAL` when nothing can happen any more,
    /// `ILLEGAL_TRANSITION` otherwise.
    pub fn code(&self) -> &'static str {
        match (self.from, self.event) {
            (State::Executing | State::Executed | State::Verified, Event::Claim) => {
                "ALREADY_CLAIMED"
            }
            (from, _) if from.is_final() => "REQUEST_FINAL",
            _ => "ILLEGAL_TRANSITION",
        }
    }
}

/// The state `event` moves a request in `from` to, or the refusal.
pub fn next(from: State, event: Event) -> Result<State, IllegalTransition> {
    TRANSITIONS
        .iter()
        .find(|t| t.from == from && t.event == event)
        .map(|t| t.to)
        .ok_or(IllegalTransition { from, event })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_a_function_of_state_and_event() {
        for (i, a) in TRANSITIONS.iter().enumerate() {
            for b in &TRANSITIONS[i + 1..] {
                assert!(
                    !(a.from == b.from && a.event == b.event),
                    "{a:?} and {b:?} leave one state on one event"
                );
            }
        }
    }

    #[test]
    fn every_state_is_reachable_from_requested() {
        let mut reached = vec![State::Requested];
        let mut changed = true;
        while changed {
            changed = false;
            for t in TRANSITIONS {
                if reached.contains(&t.from) && !reached.contains(&t.to) {
                    reached.push(t.to);
                    changed = true;
                }
            }
        }
        for s in State::ALL {
            assert!(reached.contains(&s), "{s} is unreachable");
        }
    }

    #[test]
    fn passing_states_always_move_on_and_final_states_never_do() {
        for s in State::ALL {
            if !s.is_resting() {
                assert!(!s.is_final(), "{s} passes but cannot be left");
            }
        }
        for s in [
            State::Rejected,
            State::ChangesRequested,
            State::Blocked,
            State::Cancelled,
            State::Verified,
        ] {
            assert!(s.is_final(), "{s} should be final");
        }
    }

    #[test]
    fn execution_needs_an_approval_first() {
        // The only way into executing (from another state: a sample
        // review annotates it in place) is a claim on an approved request.
        let into: Vec<_> = TRANSITIONS
            .iter()
            .filter(|t| t.to == State::Executing && t.from != State::Executing)
            .collect();
        assert_eq!(into.len(), 1);
        assert_eq!(into[0].from, State::Approved);
        assert_eq!(into[0].event, Event::Claim);
    }

    #[test]
    fn a_second_claim_is_refused_as_already_claimed() {
        let err = next(State::Executing, Event::Claim).unwrap_err();
        assert_eq!(err.code(), "ALREADY_CLAIMED");
        let err = next(State::Rejected, Event::Approve).unwrap_err();
        assert_eq!(err.code(), "REQUEST_FINAL");
        let err = next(State::Approved, Event::Cancel).unwrap_err();
        assert_eq!(err.code(), "ILLEGAL_TRANSITION");
    }

    #[test]
    fn names_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::String(s.as_str().into())
            );
        }
        assert_eq!(State::parse("Pending"), None);
    }

    /// A sample review never moves a request, and is legal in every state
    /// a request rests in (a sampled request can be reopened by a claim
    /// and then end in any of them), never in a passing one.
    #[test]
    fn a_sample_review_is_a_self_loop_wherever_a_request_rests() {
        for s in State::ALL {
            match next(s, Event::SampleReview) {
                Ok(to) => {
                    assert_eq!(to, s, "{s} moved");
                    assert!(s.is_resting(), "{s} is a passing state");
                }
                Err(e) => assert!(!s.is_resting(), "{s}: {e}"),
            }
        }
        for s in [
            State::Rejected,
            State::ChangesRequested,
            State::Blocked,
            State::Cancelled,
            State::Verified,
        ] {
            assert!(s.is_final(), "{s} stays final: its self-loop leads nowhere");
        }
        assert_eq!(
            next(State::Decided, Event::SampleReview)
                .unwrap_err()
                .code(),
            "ILLEGAL_TRANSITION"
        );
        assert_eq!(Event::parse("sample_review"), Some(Event::SampleReview));
    }

    const EVENTS: [Event; 17] = Event::ALL;

    proptest::proptest! {
        /// Whatever happens, in whatever order: execution is claimed only
        /// from approved, happens at most once, and nothing leaves a final
        /// state.
        #[test]
        fn any_sequence_of_events_keeps_the_invariants(events in proptest::collection::vec(0usize..17, 0..64)) {
            let mut state = State::Requested;
            let mut claims = 0;
            let mut seen_approved = false;
            for i in events {
                let event = EVENTS[i];
                match next(state, event) {
                    Ok(to) => {
                        proptest::prop_assert!(!state.is_final() || to == state, "{state} was left");
                        // Self-loops (a sample review) stay where they are.
                        if to == State::Executing && state != to {
                            proptest::prop_assert_eq!(state, State::Approved);
                            claims += 1;
                        }
                        if to == State::Approved {
                            seen_approved = true;
                        }
                        if to == State::Executed && state != to {
                            proptest::prop_assert_eq!(state, State::Executing);
                        }
                        state = to;
                    }
                    Err(e) => proptest::prop_assert_eq!(e.from, state),
                }
            }
            proptest::prop_assert!(claims <= 1, "claimed {claims} times");
            if claims == 1 {
                proptest::prop_assert!(seen_approved);
            }
        }
    }
}
