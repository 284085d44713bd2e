//! The checker is honest: a clean history passes, and each kind of broken
//! promise, written into an otherwise clean history, is caught. Each
//! doctored history is a correctly chained one (unless the chain itself is
//! what is broken), so each property is seen to catch its own failure.

#![cfg(test)]

use std::collections::BTreeMap;

use gatehouse::audit::chain::{ChainLink, GENESIS_HASH, hash_line};
use gatehouse::audit::record::{AuditRecord, TransitionActor, TransitionEvent};
use gatehouse::values::Timestamp;
use serde_json::{Value as Json, json};

use crate::checker::{Evidence, check};
use crate::history::Ack;

const NOW: i64 = 1_800_000_000;

/// One transition: request, event, from, to, actor, detail.
type Spec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Json,
);

fn review(approver: &str) -> Json {
    json!({"approver": approver, "roles": ["reviewer"], "review": "approve"})
}

/// The transitions of a clean history: r1 (explicit) approved, claimed
/// and executed; r2 (dual) approved by two people; r3 rejected at its
/// deadline; r4 auto-approved.
fn clean_specs() -> Vec<Spec> {
    vec![
        ("r1", "decide", "requested", "decided", "agent-0", json!({})),
        ("r1", "queue", "decided", "pending", "agent-0", json!({})),
        ("r2", "decide", "requested", "decided", "agent-1", json!({})),
        ("r2", "queue", "decided", "pending", "agent-1", json!({})),
        (
            "r1",
            "approve_complete",
            "pending",
            "approved",
            "rita",
            review("rita"),
        ),
        ("r3", "decide", "requested", "decided", "agent-0", json!({})),
        ("r3", "queue", "decided", "pending", "agent-0", json!({})),
        (
            "r2",
            "approve",
            "pending",
            "pending",
            "rita",
            review("rita"),
        ),
        (
            "r2",
            "approve_complete",
            "pending",
            "approved",
            "rob",
            review("rob"),
        ),
        (
            "r1",
            "claim",
            "approved",
            "executing",
            "executor-0",
            json!({}),
        ),
        ("r3", "expire", "pending", "expired", "gatehouse", json!({})),
        (
            "r3",
            "reject",
            "expired",
            "rejected",
            "gatehouse",
            json!({}),
        ),
        ("r4", "decide", "requested", "decided", "agent-1", json!({})),
        (
            "r4",
            "auto_approve",
            "decided",
            "approved",
            "agent-1",
            json!({}),
        ),
        (
            "r1",
            "complete",
            "executing",
            "executed",
            "executor-0",
            json!({}),
        ),
    ]
}

/// The chain of these transitions, linked as the store links it.
fn chain(specs: &[Spec]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut link = ChainLink::after(0, GENESIS_HASH);
    for (request, event, from, to, actor, detail) in specs {
        let method = if *actor == "gatehouse" {
            "system"
        } else {
            "api_key"
        };
        let record = AuditRecord::transition(
            TransitionEvent {
                request,
                event,
                from,
                to,
                actor: TransitionActor::new(actor, method, None),
                reason: None,
                policy_digest: "sha256:00",
                action_digest: "sha256:11",
                detail: detail.clone(),
            },
            Timestamp::from_unix_nanos(i128::from(NOW) * 1_000_000_000),
        );
        let text = record.to_json_line().expect("a record's JSON");
        let line = link.line(&text).expect("an object");
        link = ChainLink::after(link.seq, hash_line(line.as_bytes()));
        lines.push(line);
    }
    lines
}

fn request(state: &str, outcome: &str, count: u64, approvers: &[&str]) -> Json {
    json!({
        "state": state,
        "requester": "agent-0",
        "decision": {
            "outcome": outcome,
            "approvals": {
                "count": count,
                "groups": [{"count": count, "roles": [{"name": "reviewer"}]}],
                "forbidden_approvers": [{"attribute": "agent.owner", "identity": "olga"}],
            },
        },
        "approvals": approvers.iter().map(|a| json!({"approval": {"approver": a}, "review": "approve"})).collect::<Vec<_>>(),
        "escalated_to": null,
        "deadline": Timestamp::from_unix_nanos(i128::from(NOW + 60) * 1_000_000_000).to_string(),
        "deadline_unix": NOW + 60,
    })
}

fn clean() -> Evidence {
    let mut requests = BTreeMap::new();
    requests.insert("r1".into(), request("executed", "explicit", 1, &["rita"]));
    requests.insert(
        "r2".into(),
        request("approved", "dual", 2, &["rita", "rob"]),
    );
    requests.insert("r3".into(), request("rejected", "queue", 1, &[]));
    requests.insert(
        "r4".into(),
        json!({"state": "approved", "decision": {"outcome": "auto", "approvals": null}}),
    );
    let acks = vec![
        Ack::Created {
            key: "k1".into(),
            id: "r1".into(),
            state: "pending".into(),
        },
        Ack::Created {
            key: "k4".into(),
            id: "r4".into(),
            state: "approved".into(),
        },
        Ack::Reviewed {
            id: "r1".into(),
            approver: "rita".into(),
            review: "approve".into(),
            state: "approved".into(),
        },
        Ack::Reviewed {
            id: "r2".into(),
            approver: "rob".into(),
            review: "approve".into(),
            state: "approved".into(),
        },
        Ack::Claimed {
            id: "r1".into(),
            executor: "executor-0".into(),
        },
        Ack::Executed { id: "r1".into() },
    ];
    Evidence {
        acks,
        requests,
        chain: chain(&clean_specs()),
        now_unix: NOW,
        sweep_grace: 2,
        policy: None,
    }
}

/// The violations, asserting one of them says `expected`.
fn caught(evidence: &Evidence, expected: &str) {
    let verdict = check(evidence);
    assert!(
        verdict.violations.iter().any(|v| v.contains(expected)),
        "expected a violation saying `{expected}`, got {:#?}",
        verdict.violations
    );
}

#[test]
fn a_clean_history_passes() {
    let verdict = check(&clean());
    assert_eq!(verdict.violations, Vec::<String>::new());
    assert_eq!(verdict.chain_lines, 15);
    assert_eq!(verdict.by_state["approved"], 2);
    assert_eq!(verdict.by_event["claim"], 1);
}

#[test]
fn a_double_claim_acknowledged_to_two_executors_is_caught() {
    let mut e = clean();
    e.acks.push(Ack::Claimed {
        id: "r1".into(),
        executor: "executor-2".into(),
    });
    caught(&e, "r1: claimed twice: granted to");
}

#[test]
fn a_second_claim_record_in_the_chain_is_caught() {
    let mut specs = clean_specs();
    // r4 claimed twice; the second claim record is chained correctly.
    specs.push((
        "r4",
        "claim",
        "approved",
        "executing",
        "executor-0",
        json!({}),
    ));
    specs.push((
        "r4",
        "claim",
        "approved",
        "executing",
        "executor-1",
        json!({}),
    ));
    let mut e = clean();
    e.chain = chain(&specs);
    e.requests.get_mut("r4").unwrap()["state"] = json!("executing");
    caught(&e, "r4: claimed twice in the chain");
}

#[test]
fn a_missing_acknowledged_approval_is_caught() {
    let mut e = clean();
    e.acks.push(Ack::Reviewed {
        id: "r3".into(),
        approver: "ruth".into(),
        review: "approve".into(),
        state: "pending".into(),
    });
    caught(
        &e,
        "r3: ruth's acknowledged approve (answered `pending`) is missing from the request and the chain",
    );
}

#[test]
fn an_illegal_step_is_caught() {
    let mut specs = clean_specs();
    specs.push(("r5", "decide", "requested", "decided", "agent-0", json!({})));
    specs.push(("r5", "queue", "decided", "pending", "agent-0", json!({})));
    specs.push((
        "r5",
        "claim",
        "pending",
        "executing",
        "executor-0",
        json!({}),
    ));
    let mut e = clean();
    e.chain = chain(&specs);
    e.requests
        .insert("r5".into(), request("executing", "explicit", 1, &[]));
    caught(
        &e,
        "r5: seq 18: `claim` from `pending` to `executing` is not a transition of the lifecycle",
    );
}

#[test]
fn steps_that_do_not_join_are_caught() {
    let mut specs = clean_specs();
    // r3 "rejected" twice: each step is in the table, but the second
    // leaves a state the request was no longer in.
    specs.push((
        "r3",
        "reject",
        "expired",
        "rejected",
        "gatehouse",
        json!({}),
    ));
    let mut e = clean();
    e.chain = chain(&specs);
    caught(
        &e,
        "r3: seq 16: `reject` leaves `expired` but the request was `rejected`",
    );
}

#[test]
fn a_broken_chain_line_is_caught() {
    let mut e = clean();
    // An approver's name edited after the fact: the next line's link no
    // longer matches.
    e.chain[4] = e.chain[4].replace("rita", "rite");
    caught(&e, "audit chain: does not verify");
}

#[test]
fn a_deleted_chain_line_is_caught() {
    let mut e = clean();
    e.chain.remove(7);
    caught(&e, "audit chain: does not verify");
}

#[test]
fn an_approval_short_of_the_decision_is_caught() {
    let mut specs = clean_specs();
    // r2 is dual, but only rob's approval is recorded.
    specs.retain(|s| !(s.0 == "r2" && s.1 == "approve"));
    let mut e = clean();
    e.chain = chain(&specs);
    caught(&e, "r2: seq 8: approved with 1 approver(s)");
}

#[test]
fn an_approval_by_a_forbidden_person_is_caught() {
    let mut specs = clean_specs();
    for s in &mut specs {
        if s.0 == "r1" && s.1 == "approve_complete" {
            s.4 = "olga";
            s.5 = review("olga");
        }
    }
    let mut e = clean();
    e.chain = chain(&specs);
    caught(&e, "r1: seq 5: approved by olga, who may not approve it");
}

#[test]
fn a_passed_deadline_not_acted_on_is_caught() {
    let mut specs = clean_specs();
    specs.push(("r6", "decide", "requested", "decided", "agent-0", json!({})));
    specs.push(("r6", "queue", "decided", "pending", "agent-0", json!({})));
    let mut e = clean();
    e.chain = chain(&specs);
    e.requests
        .insert("r6".into(), request("pending", "explicit", 1, &[]));
    e.requests.get_mut("r6").unwrap()["deadline_unix"] = json!(NOW - 50);
    caught(&e, "r6: still pending 50 s after its deadline");
}

#[test]
fn a_lost_acknowledged_request_is_caught() {
    let mut e = clean();
    e.acks.push(Ack::Created {
        key: "k9".into(),
        id: "r9".into(),
        state: "pending".into(),
    });
    caught(&e, "r9: acknowledged as created (k9), not found");
}

#[test]
fn one_idempotency_key_answered_with_two_requests_is_caught() {
    let mut e = clean();
    e.acks.push(Ack::Created {
        key: "k1".into(),
        id: "r4".into(),
        state: "approved".into(),
    });
    caught(&e, "idempotency key k1: acknowledged as 2 requests");
}

#[test]
fn a_state_the_chain_does_not_explain_is_caught() {
    let mut e = clean();
    e.requests.get_mut("r2").unwrap()["state"] = json!("executing");
    caught(
        &e,
        "r2: the chain leaves it `approved` but the gate shows `executing`",
    );
}

#[test]
fn a_review_taken_after_the_deadline_is_caught() {
    let mut e = clean();
    // r1 was approved at NOW; its deadline a minute before.
    e.requests.get_mut("r1").unwrap()["deadline"] =
        json!(Timestamp::from_unix_nanos(i128::from(NOW - 60) * 1_000_000_000).to_string());
    caught(
        &e,
        "r1: seq 5: rita's `approve_complete` was taken at or after the deadline",
    );
}

/// The fault run's policy, compiled.
fn fault_policy() -> std::sync::Arc<gatehouse::Policy> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/faults/fixtures/faults.gate");
    let files = gatehouse::loader::read_set(&path).expect("the fixture reads");
    std::sync::Arc::new(gatehouse::Policy::from_files(files).expect("the fixture compiles"))
}

/// r1 as an `update` of the fault policy (one reviewer), approved by
/// rita with an approval bound to `digest`.
fn engine_evidence(digest: Option<String>) -> Evidence {
    // r2's approvals in the clean history are bare; this history has r1,
    // r3 and r4 only.
    let mut e = clean();
    let mut specs = clean_specs();
    specs.retain(|s| s.0 != "r2");
    e.chain = chain(&specs);
    e.requests.remove("r2");
    e.acks
        .retain(|a| !matches!(a, Ack::Reviewed { id, .. } if id == "r2"));
    let policy = fault_policy();
    let input = json!({"action": {"type": "update"}, "requester": {"id": "agent-0"}, "agent": {"id": "agent-0", "owner": "olga"}});
    let at = |s: i64| Timestamp::from_unix_nanos(i128::from(s) * 1_000_000_000).to_string();
    let r1 = e.requests.get_mut("r1").unwrap();
    r1["input"] = input;
    r1["created_at"] = json!(at(NOW - 1));
    r1["deadline"] = json!(at(NOW + 3));
    r1["approvals"] = json!([{"review": "approve", "approval": {
        "approver": "rita", "roles": ["reviewer"], "decision": "approve", "reason": "ok",
        "action_digest": digest, "given_at": at(NOW), "expires_at": at(NOW + 86_400),
    }}]);
    e.policy = Some(policy);
    e
}

#[test]
fn the_engine_re_verifies_each_completed_approval() {
    let input = json!({"action": {"type": "update"}, "requester": {"id": "agent-0"}, "agent": {"id": "agent-0", "owner": "olga"}});
    let digest = fault_policy().evaluate(&input).action_digest;
    assert_eq!(
        check(&engine_evidence(digest)).violations,
        Vec::<String>::new()
    );
    // The same approval bound to another action: the count of approvers
    // is met, the engine refuses it.
    caught(
        &engine_evidence(Some("sha256:11".into())),
        "r1: seq 3: the engine does not find its 1 approval(s) sufficient at approve_complete",
    );
}
