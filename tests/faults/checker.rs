//! The properties the run proves, checked over the full history: what the
//! clients were acknowledged, every request as the gate shows it at the
//! end, and the whole audit chain.
//!
//! 1. The audit chain verifies (the engine's verifier: every link, no gap,
//!    no line that is not a record).
//! 2. Every step of every request is a legal transition of
//!    `gatehouse_server::lifecycle`, the steps join (each leaves the state
//!    the one before entered), the first is `decide` from `requested`, and
//!    the last enters the state the request is in.
//! 3. Every acknowledged operation is there: a created request exists (one
//!    per idempotency key), an acknowledged review is in the request and
//!    in the chain, an acknowledged claim and execution are in the chain, an
//!    acknowledged cancel left the request cancelled.
//! 4. No request was claimed twice: at most one acknowledged claim and at
//!    most one claim record per request.
//! 5. No request reached `approved` without the approvals its decision
//!    required: `auto`, or as many distinct people as the decision counts,
//!    each holding a role it names and none of them forbidden; after an
//!    escalation, one holder of the escalation role.
//! 6. Every passed deadline was acted on: no request still waits past its
//!    deadline (the run lets the sweepers catch up first), and no person's
//!    review was taken at or after it.
//!
//! The checker knows nothing of the run: it is a function of the evidence,
//! and its own tests (checker_tests.rs) feed it doctored histories.

use std::collections::{BTreeMap, BTreeSet};

use gatehouse::Policy;
use gatehouse::audit::chain::ChainStatus;
use gatehouse::audit::log::LogReader;
use gatehouse::audit::verify::{Approval, Verdict as EngineVerdict, VerifyOptions};
use gatehouse::values::Timestamp;
use gatehouse_server::lifecycle::{Event, State, next};
use serde_json::Value as Json;
use std::sync::Arc;

use crate::history::Ack;

/// Everything the checker reads.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// The clients' acknowledged operations.
    pub acks: Vec<Ack>,
    /// Every request (acknowledged or named by the chain) as
    /// `GET /v1/requests/{id}` answered at the end; an id absent here was
    /// not found.
    pub requests: BTreeMap<String, Json>,
    /// The audit chain's lines, as `GET /v1/audit` gave them, in order.
    pub chain: Vec<String>,
    /// When the requests were read (Unix seconds).
    pub now_unix: i64,
    /// Seconds a passed deadline may still wait for a sweep.
    pub sweep_grace: i64,
    /// The policy the requests were decided under: every approval that
    /// completed a request is verified again by the engine with it
    /// (`None`: the count of property 5 only).
    pub policy: Option<Arc<Policy>>,
}

/// What the checker found: the violations (empty: every property holds)
/// and what it counted.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    /// Each broken promise, in words, naming the request.
    pub violations: Vec<String>,
    /// Requests by final state.
    pub by_state: BTreeMap<String, u64>,
    /// Transition records by event.
    pub by_event: BTreeMap<String, u64>,
    /// Chain lines read.
    pub chain_lines: usize,
    /// Requests read.
    pub requests: usize,
}

/// One transition record, as the checker reads it.
#[derive(Clone, Debug)]
struct Step {
    seq: u64,
    event: String,
    from: String,
    to: String,
    actor: String,
    approver: Option<String>,
    roles: Vec<String>,
    review: Option<String>,
    time: Option<Timestamp>,
}

fn event_named(name: &str) -> Option<Event> {
    Event::parse(name)
}

/// Checks every property; see the module documentation.
pub fn check(evidence: &Evidence) -> Verdict {
    let mut v = Verdict {
        chain_lines: evidence.chain.len(),
        requests: evidence.requests.len(),
        ..Verdict::default()
    };
    check_chain(&evidence.chain, &mut v.violations);
    let steps = read_steps(&evidence.chain, &mut v.violations);
    for step in steps.values().flatten() {
        *v.by_event.entry(step.event.clone()).or_default() += 1;
    }
    for (id, request) in &evidence.requests {
        let state = request["state"].as_str().unwrap_or("?").to_owned();
        *v.by_state.entry(state).or_default() += 1;
        match steps.get(id) {
            Some(s) => {
                check_path(id, request, s, &mut v.violations);
                check_approvals(id, request, s, &mut v.violations);
                check_reviews_in_time(id, request, s, &mut v.violations);
                if let Some(policy) = &evidence.policy {
                    reverify(id, request, s, policy, &mut v.violations);
                }
            }
            None => v
                .violations
                .push(format!("{id}: no transition record in the audit chain")),
        }
        check_deadline(id, request, evidence, &mut v.violations);
    }
    for id in steps.keys() {
        if !evidence.requests.contains_key(id) {
            v.violations.push(format!(
                "{id}: in the audit chain, but the gate does not find the request"
            ));
        }
    }
    check_claims(evidence, &steps, &mut v.violations);
    check_acks(evidence, &steps, &mut v.violations);
    v
}

/// Property 1: the engine's chain verifier finds the chain intact, every
/// line a chained record.
fn check_chain(lines: &[String], out: &mut Vec<String>) {
    let mut text = lines.join("\n");
    text.push('\n');
    let mut reader = LogReader::new(std::io::Cursor::new(text.into_bytes()));
    for entry in &mut reader {
        if let Err(e) = entry {
            out.push(format!("audit chain: unreadable: {e}"));
            return;
        }
    }
    let report = reader.finish();
    if report.status != ChainStatus::Intact
        || report.chained != lines.len()
        || report.problem_count > 0
    {
        let first = report
            .problems
            .first()
            .map(|p| {
                format!(
                    "line {} (seq {:?}): {} {}",
                    p.line, p.seq, p.kind, p.message
                )
            })
            .unwrap_or_default();
        out.push(format!(
            "audit chain: does not verify ({:?}, {} of {} lines chained, {} problems; first: {first})",
            report.status,
            report.chained,
            lines.len(),
            report.problem_count
        ));
    }
}

/// The transition records of each request, in chain order.
fn read_steps(lines: &[String], out: &mut Vec<String>) -> BTreeMap<String, Vec<Step>> {
    let mut steps: BTreeMap<String, Vec<Step>> = BTreeMap::new();
    for (n, line) in lines.iter().enumerate() {
        let Ok(record) = serde_json::from_str::<Json>(line) else {
            out.push(format!("audit chain: line {} is not JSON", n + 1));
            continue;
        };
        if record["record"] != "transition" {
            continue;
        }
        let s = |k: &str| record[k].as_str().unwrap_or_default().to_owned();
        let Some(request) = record["request"].as_str() else {
            out.push(format!("audit chain: line {} names no request", n + 1));
            continue;
        };
        steps.entry(request.to_owned()).or_default().push(Step {
            seq: record["seq"].as_u64().unwrap_or_default(),
            event: s("event"),
            from: s("from"),
            to: s("to"),
            actor: record["actor"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            approver: record["detail"]["approver"].as_str().map(str::to_owned),
            roles: strings(&record["detail"]["roles"]),
            review: record["detail"]["review"].as_str().map(str::to_owned),
            time: record["time"].as_str().and_then(Timestamp::parse),
        });
    }
    steps
}

fn strings(value: &Json) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect()
}

/// Property 2: a legal path of the lifecycle, from `requested` to the
/// state the request rests in.
fn check_path(id: &str, request: &Json, steps: &[Step], out: &mut Vec<String>) {
    let mut state = State::Requested;
    for (k, step) in steps.iter().enumerate() {
        let (Some(from), Some(to), Some(event)) = (
            State::parse(&step.from),
            State::parse(&step.to),
            event_named(&step.event),
        ) else {
            out.push(format!(
                "{id}: seq {}: unknown step `{}` {} -> {}",
                step.seq, step.event, step.from, step.to
            ));
            return;
        };
        if from != state {
            out.push(format!(
                "{id}: seq {}: `{}` leaves `{from}` but the request was `{state}` (step {} of its path)",
                step.seq, step.event, k + 1
            ));
            return;
        }
        match next(from, event) {
            Ok(legal) if legal == to => state = to,
            _ => {
                out.push(format!(
                    "{id}: seq {}: `{}` from `{from}` to `{to}` is not a transition of the lifecycle",
                    step.seq, step.event
                ));
                return;
            }
        }
    }
    let shown = request["state"].as_str().unwrap_or_default();
    if shown != state.as_str() {
        out.push(format!(
            "{id}: the chain leaves it `{state}` but the gate shows `{shown}`"
        ));
    }
    if !state.is_resting() {
        out.push(format!("{id}: rests in the passing state `{state}`"));
    }
}

/// Property 5: every entry into `approved` had what the decision required.
fn check_approvals(id: &str, request: &Json, steps: &[Step], out: &mut Vec<String>) {
    let decision = &request["decision"];
    let need = decision["approvals"]["count"].as_u64().unwrap_or(u64::MAX);
    let eligible: BTreeSet<String> = decision["approvals"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["roles"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect();
    let mut forbidden: BTreeSet<String> = decision["approvals"]["forbidden_approvers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["identity"].as_str().map(gatehouse::identity::normalize))
        .collect();
    if let Some(requester) = request["requester"].as_str() {
        forbidden.insert(gatehouse::identity::normalize(requester));
    }
    let escalation = request["escalated_to"].as_str();
    // Approvals of the current wait: `queue` starts one, `requeue` (after
    // an escalation) starts the escalation role's.
    let mut approvers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut escalated = false;
    for step in steps {
        match step.event.as_str() {
            "queue" => approvers.clear(),
            "requeue" => {
                approvers.clear();
                escalated = true;
            }
            "auto_approve" if decision["outcome"] != "auto" => out.push(format!(
                "{id}: seq {}: approved automatically, but the decision is `{}`",
                step.seq, decision["outcome"]
            )),
            "approve" | "approve_complete" => {
                let who = step.approver.clone().unwrap_or_else(|| step.actor.clone());
                if step.review.as_deref() != Some("approve") {
                    out.push(format!(
                        "{id}: seq {}: `{}` by {who} whose review is {:?}",
                        step.seq, step.event, step.review
                    ));
                }
                let person = gatehouse::identity::normalize(&who);
                if forbidden.contains(&person) {
                    out.push(format!(
                        "{id}: seq {}: approved by {who}, who may not approve it",
                        step.seq
                    ));
                }
                approvers.insert(person, step.roles.clone());
                if step.event == "approve_complete" {
                    let met = if escalated {
                        let role = escalation.unwrap_or_default();
                        approvers
                            .values()
                            .any(|roles| roles.iter().any(|r| r == role))
                    } else {
                        let counted = approvers
                            .values()
                            .filter(|roles| {
                                eligible.is_empty() || roles.iter().any(|r| eligible.contains(r))
                            })
                            .count() as u64;
                        counted >= need
                    };
                    if !met {
                        out.push(format!(
                            "{id}: seq {}: approved with {} approver(s) ({:?}) where the decision requires {} from {:?}{}",
                            step.seq,
                            approvers.len(),
                            approvers.keys().collect::<Vec<_>>(),
                            if escalated { 1 } else { need },
                            if escalated { vec![escalation.unwrap_or_default().to_owned()] } else { eligible.iter().cloned().collect() },
                            if escalated { " (escalated)" } else { "" },
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Property 5 again, by the engine: the approvals the request holds,
/// verified under its policy at the instant of the `approve_complete`
/// (the request's creation as `requested_at`, its deadline), give
/// `execute`. An escalated request is decided by its escalation role
/// alone, outside the policy's groups: the count of property 5 covers it.
fn reverify(id: &str, request: &Json, steps: &[Step], policy: &Policy, out: &mut Vec<String>) {
    if !request["escalated_to"].is_null() {
        return;
    }
    let Some(complete) = steps.iter().rev().find(|s| s.event == "approve_complete") else {
        return;
    };
    let Some(at) = complete.time else {
        out.push(format!(
            "{id}: seq {}: a record without a time",
            complete.seq
        ));
        return;
    };
    let mut approvals = Vec::new();
    for entry in request["approvals"].as_array().into_iter().flatten() {
        match serde_json::from_value::<Approval>(entry["approval"].clone()) {
            Ok(a) if Timestamp::parse(&a.given_at).is_some_and(|g| g <= at) => approvals.push(a),
            Ok(_) => {}
            Err(e) => out.push(format!("{id}: an approval the engine cannot read: {e}")),
        }
    }
    let options = VerifyOptions::new(at)
        .with_requested_at(request["created_at"].as_str().and_then(Timestamp::parse))
        .with_deadline(request["deadline"].as_str().and_then(Timestamp::parse));
    let verification = policy.verify(&request["input"], &approvals, &options);
    if verification.verdict != EngineVerdict::Execute {
        out.push(format!(
            "{id}: seq {}: the engine does not find its {} approval(s) sufficient at approve_complete: {:?} {:?}",
            complete.seq,
            approvals.len(),
            verification.verdict,
            verification.reasons.iter().map(|r| r.code.clone()).collect::<Vec<_>>()
        ));
    }
}

/// Property 6, the other side: no review was taken at or after the
/// deadline (the on-expiry action owns the request from then on; an
/// approval taken late would be a stale approval executed). The request's
/// deadline is its last one, so for an escalated request this bounds the
/// escalation role's review (earlier reviews had an earlier deadline).
fn check_reviews_in_time(id: &str, request: &Json, steps: &[Step], out: &mut Vec<String>) {
    let Some(deadline) = request["deadline"].as_str().and_then(Timestamp::parse) else {
        return;
    };
    const REVIEWS: [&str; 4] = ["approve", "approve_complete", "reject", "request_changes"];
    for step in steps {
        let by_person = step.actor != "gatehouse";
        if by_person
            && REVIEWS.contains(&step.event.as_str())
            && step.time.is_none_or(|t| t >= deadline)
        {
            out.push(format!(
                "{id}: seq {}: {}'s `{}` was taken at or after the deadline",
                step.seq, step.actor, step.event
            ));
        }
    }
}

/// Property 6: nothing still waits past its deadline.
fn check_deadline(id: &str, request: &Json, evidence: &Evidence, out: &mut Vec<String>) {
    if request["state"] != "pending" {
        return;
    }
    if let Some(deadline) = request["deadline_unix"].as_i64()
        && deadline + evidence.sweep_grace < evidence.now_unix
    {
        out.push(format!(
            "{id}: still pending {} s after its deadline",
            evidence.now_unix - deadline
        ));
    }
}

/// Property 4: at most one claim per request, by the clients' acks and by
/// the chain.
fn check_claims(evidence: &Evidence, steps: &BTreeMap<String, Vec<Step>>, out: &mut Vec<String>) {
    let mut acked: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for ack in &evidence.acks {
        if let Ack::Claimed { id, executor } = ack {
            acked.entry(id).or_default().push(executor);
        }
    }
    for (id, who) in &acked {
        if who.len() > 1 {
            out.push(format!("{id}: claimed twice: granted to {who:?}"));
        }
    }
    for (id, s) in steps {
        let claims: Vec<_> = s.iter().filter(|s| s.event == "claim").collect();
        if claims.len() > 1 {
            out.push(format!(
                "{id}: claimed twice in the chain (seq {:?})",
                claims.iter().map(|c| c.seq).collect::<Vec<_>>()
            ));
        }
    }
}

/// Property 3: every acknowledged operation is in the history.
fn check_acks(evidence: &Evidence, steps: &BTreeMap<String, Vec<Step>>, out: &mut Vec<String>) {
    let none: Vec<Step> = Vec::new();
    let steps_of = |id: &str| steps.get(id).unwrap_or(&none);
    let mut by_key: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for ack in &evidence.acks {
        match ack {
            Ack::Created { key, id, state } => {
                by_key.entry(key).or_default().insert(id);
                if !evidence.requests.contains_key(id) {
                    out.push(format!("{id}: acknowledged as created ({key}), not found"));
                }
                // The state answered is the one the creation rested in.
                let rested = steps_of(id).get(1).map(|s| s.to.as_str());
                if rested != Some(state.as_str()) {
                    out.push(format!(
                        "{id}: acknowledged `{state}` at creation, the chain says {rested:?}"
                    ));
                }
            }
            Ack::Reviewed {
                id,
                approver,
                review,
                state,
            } => {
                let in_request = evidence.requests.get(id).is_some_and(|r| {
                    r["approvals"].as_array().into_iter().flatten().any(|a| {
                        a["approval"]["approver"] == approver.as_str()
                            && a["review"] == review.as_str()
                    })
                });
                let events: &[&str] = if review == "approve" {
                    &["approve", "approve_complete"]
                } else {
                    &["reject", "request_changes"]
                };
                let in_chain = steps_of(id).iter().any(|s| {
                    s.actor == *approver && events.contains(&s.event.as_str()) && s.to == *state
                });
                if !in_request || !in_chain {
                    out.push(format!(
                        "{id}: {approver}'s acknowledged {review} (answered `{state}`) is missing from the {}",
                        match (in_request, in_chain) {
                            (false, false) => "request and the chain",
                            (false, true) => "request",
                            _ => "chain",
                        }
                    ));
                }
            }
            Ack::Claimed { id, executor } => {
                if !steps_of(id)
                    .iter()
                    .any(|s| s.event == "claim" && s.actor == *executor)
                {
                    out.push(format!(
                        "{id}: {executor}'s acknowledged claim is not in the chain"
                    ));
                }
            }
            Ack::Executed { id } => {
                if !steps_of(id).iter().any(|s| s.event == "complete") {
                    out.push(format!(
                        "{id}: the acknowledged execution report is not in the chain"
                    ));
                }
            }
            Ack::Cancelled { id } => {
                let state = evidence.requests.get(id).map(|r| r["state"].clone());
                if state != Some(Json::from("cancelled")) {
                    out.push(format!(
                        "{id}: acknowledged as cancelled, but the gate shows {state:?}"
                    ));
                }
            }
        }
    }
    for (key, ids) in by_key {
        if ids.len() > 1 {
            out.push(format!(
                "idempotency key {key}: acknowledged as {} requests: {ids:?}",
                ids.len()
            ));
        }
    }
}
