//! `verify`: one test per verdict and per reason code, through the library,
//! and the CLI's exit codes.

use gatehouse::Policy;
use gatehouse::audit::verify::{Approval, ApprovalKind, Verdict, VerifyOptions};
use gatehouse::values::Timestamp;
use serde_json::{Value, json};

const POLICY: &str = r#"policy "v" version "1"
schema {
  action.type: enum { read, refund, deploy, tidy, nuke }
  action.amount: number?
  requester.id: string
  agent.owner: string
  change_window.open: bool?
}
evidence { impact_estimate }
role support_lead limit action.amount <= 1000 escalate to finance_approver
role finance_approver limit action.amount <= 10000
role security_approver
role change_manager
role reviewer
reason R "r"
tier 0 "none" { outcome auto }
tier 1 "queue" { outcome queue  approve reviewer  timeout 72h then reject }
tier 3 "money" {
  outcome explicit
  approve support_lead
  evidence impact_estimate
  timeout 24h then escalate to finance_approver
  forbid approval by requester.id, agent.owner
}
tier 4 "prod" {
  outcome dual
  approve security_approver and change_manager
  timeout 4h then reject
  forbid approval by requester.id, agent.owner
  distinct people, roles
  require change_window.open
}
rule refund when action.type == refund then tier 3 because R
rule deploy when action.type == deploy then tier 4 because R
rule tidy when action.type == tidy then tier 1 because R
rule nuke when action.type == nuke then block because R
default tier 0 because R
"#;

fn policy() -> Policy {
    Policy::from_source("v.gate", POLICY).expect("compiles")
}

fn refund(amount: u32) -> Value {
    json!({"action": {"type": "refund", "amount": amount}, "requester": {"id": "alice"},
           "agent": {"owner": "olga"}, "evidence": {"impact_estimate": "x"}})
}

fn deploy(window: bool) -> Value {
    json!({"action": {"type": "deploy"}, "requester": {"id": "alice"}, "agent": {"owner": "olga"},
           "change_window": {"open": window}})
}

fn digest(p: &Policy, input: &Value) -> String {
    p.evaluate(input).action_digest.expect("digest")
}

fn approval(who: &str, roles: &[&str], digest: &str) -> Approval {
    Approval {
        approver: who.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        decision: ApprovalKind::Approve,
        reason: Some("checked the order".into()),
        action_digest: Some(digest.into()),
        action_digests: Vec::new(),
        given_at: "2026-11-22T09:30:00Z".into(),
        expires_at: None,
    }
}

fn at(now: &str) -> VerifyOptions {
    VerifyOptions::new(Timestamp::parse(now).expect("time"))
        .with_requested_at(Timestamp::parse("2026-11-22T09:00:00Z"))
}

const NOW: &str = "2026-11-22T10:00:00Z";

fn codes(v: &gatehouse::audit::verify::Verification) -> Vec<&str> {
    v.reasons.iter().map(|r| r.code.as_str()).collect()
}

#[test]
fn auto_verifies_with_no_approvals_and_block_never_does() {
    let p = policy();
    let read =
        json!({"action": {"type": "read"}, "requester": {"id": "a"}, "agent": {"owner": "b"}});
    assert_eq!(p.verify(&read, &[], &at(NOW)).verdict, Verdict::Execute);
    let nuke =
        json!({"action": {"type": "nuke"}, "requester": {"id": "a"}, "agent": {"owner": "b"}});
    let d = digest(&p, &nuke);
    let v = p.verify(&nuke, &[approval("carol", &["reviewer"], &d)], &at(NOW));
    assert_eq!(v.verdict, Verdict::Denied);
    assert_eq!(codes(&v), ["BLOCKED"]);
}

#[test]
fn one_eligible_approval_executes_and_says_which_requirement_it_met() {
    let p = policy();
    let input = refund(250);
    let v = p.verify(
        &input,
        &[approval("carol", &["support_lead"], &digest(&p, &input))],
        &at(NOW),
    );
    assert_eq!(v.verdict, Verdict::Execute, "{v:?}");
    assert_eq!(v.satisfied.len(), 1);
    assert_eq!(
        (
            v.satisfied[0].approver.as_str(),
            v.satisfied[0].role.as_str()
        ),
        ("carol", "support_lead")
    );
}

#[test]
fn no_approval_yet_is_pending_with_what_is_missing_and_when_it_expires() {
    let p = policy();
    let v = p.verify(&refund(250), &[], &at(NOW));
    assert_eq!(v.verdict, Verdict::Pending);
    assert_eq!(v.missing.approvals, 1);
    assert_eq!(v.missing.groups[0].roles, ["support_lead"]);
    assert_eq!(v.expires_at.as_deref(), Some("2026-11-23T09:00:00Z"));
    assert_eq!(
        v.on_expiry.as_ref().and_then(|e| e.role.as_deref()),
        Some("finance_approver")
    );
}

#[test]
fn any_rejection_wins() {
    let p = policy();
    let input = refund(250);
    let d = digest(&p, &input);
    let mut no = approval("dave", &["support_lead"], &d);
    no.decision = ApprovalKind::Reject;
    no.reason = Some("customer already refunded".into());
    let v = p.verify(
        &input,
        &[approval("carol", &["support_lead"], &d), no],
        &at(NOW),
    );
    assert_eq!(v.verdict, Verdict::Denied);
    let r = v
        .reasons
        .iter()
        .find(|r| r.code == "REJECTED")
        .expect("rejected");
    assert!(r.message.contains("dave") && r.message.contains("already refunded"));
}

#[test]
fn the_requester_and_excluded_identities_cannot_approve() {
    let p = policy();
    let input = refund(250);
    let d = digest(&p, &input);
    let v = p.verify(
        &input,
        &[
            approval("alice", &["support_lead"], &d),
            approval(" olga ", &["support_lead"], &d),
        ],
        &at(NOW),
    );
    assert_eq!(v.verdict, Verdict::Pending);
    assert_eq!(codes(&v), ["SELF_APPROVAL", "EXCLUDED_IDENTITY"]);
}

#[test]
fn look_alike_identities_are_one_person() {
    let p = policy();
    let input = refund(250);
    let d = digest(&p, &input);
    // The requester is `alice`, the agent owner `olga`: every look-alike
    // spelling is that person (the old code compared exact strings and let
    // each of these approve).
    for spelling in [
        "Alice",
        "ALICE",
        "\u{FF41}lice",
        "alice\u{200D}",
        "\u{200B}alice",
        "al\u{00AD}ice",
    ] {
        let v = p.verify(
            &input,
            &[approval(spelling, &["support_lead"], &d)],
            &at(NOW),
        );
        assert_eq!(v.verdict, Verdict::Pending, "{spelling:?}: {v:?}");
        assert_eq!(codes(&v), ["SELF_APPROVAL"], "{spelling:?}");
    }
    let v = p.verify(
        &input,
        &[approval("OLGA\u{FEFF}", &["support_lead"], &d)],
        &at(NOW),
    );
    assert_eq!(codes(&v), ["EXCLUDED_IDENTITY"]);
}

#[test]
fn dual_needs_two_distinct_people_in_two_distinct_roles() {
    let p = policy();
    let input = deploy(true);
    let d = digest(&p, &input);
    let same = p.verify(
        &input,
        &[
            approval("erin", &["security_approver"], &d),
            approval("erin", &["change_manager"], &d),
        ],
        &at(NOW),
    );
    assert_eq!(same.verdict, Verdict::Pending);
    assert_eq!(codes(&same), ["SAME_APPROVER_TWICE"]);
    let both = p.verify(
        &input,
        &[
            approval("erin", &["security_approver", "change_manager"], &d),
            approval("frank", &["change_manager"], &d),
        ],
        &at(NOW),
    );
    assert_eq!(both.verdict, Verdict::Execute, "{both:?}");
    let roles: Vec<&str> = both.satisfied.iter().map(|s| s.role.as_str()).collect();
    assert_eq!(roles, ["security_approver", "change_manager"]);
}

#[test]
fn roles_must_be_eligible_and_within_their_limit() {
    let p = policy();
    let input = refund(250);
    let v = p.verify(
        &input,
        &[approval("gina", &["reviewer"], &digest(&p, &input))],
        &at(NOW),
    );
    assert_eq!(codes(&v), ["ROLE_NOT_ELIGIBLE"]);
    // 5000 escalates past the support lead: a support lead cannot approve it
    let big = refund(5000);
    let v = p.verify(
        &big,
        &[approval("carol", &["support_lead"], &digest(&p, &big))],
        &at(NOW),
    );
    assert_eq!(codes(&v), ["OVER_APPROVER_LIMIT"]);
    let v = p.verify(
        &big,
        &[approval("hank", &["finance_approver"], &digest(&p, &big))],
        &at(NOW),
    );
    assert_eq!(v.verdict, Verdict::Execute);
}

#[test]
fn an_approval_binds_to_one_version_of_the_action() {
    let p = policy();
    let small = refund(250);
    let big = refund(2500);
    let v = p.verify(
        &big,
        &[approval(
            "carol",
            &["support_lead", "finance_approver"],
            &digest(&p, &small),
        )],
        &at(NOW),
    );
    assert_eq!(v.verdict, Verdict::Pending);
    assert_eq!(codes(&v), ["DIGEST_MISMATCH"]);
}

#[test]
fn expired_and_future_approvals_do_not_count() {
    let p = policy();
    let input = refund(250);
    let d = digest(&p, &input);
    let mut old = approval("carol", &["support_lead"], &d);
    old.expires_at = Some("2026-11-22T09:45:00Z".into());
    let mut future = approval("ivan", &["support_lead"], &d);
    future.given_at = "2026-11-22T11:00:00Z".into();
    let v = p.verify(&input, &[old, future], &at(NOW));
    assert_eq!(v.verdict, Verdict::Pending);
    assert_eq!(codes(&v), ["APPROVAL_EXPIRED", "APPROVAL_IN_FUTURE"]);
}

#[test]
fn explicit_needs_a_written_reason_and_one_approval_per_action() {
    let p = policy();
    let input = refund(250);
    let d = digest(&p, &input);
    let mut silent = approval("carol", &["support_lead"], &d);
    silent.reason = Some("  ".into());
    let mut batch = approval("judy", &["support_lead"], &d);
    batch.action_digest = None;
    batch.action_digests = vec![d.clone(), "sha256:other".into()];
    let v = p.verify(&input, &[silent, batch], &at(NOW));
    assert_eq!(codes(&v), ["REASON_REQUIRED", "BATCH_NOT_ALLOWED"]);
}

#[test]
fn a_queue_accepts_one_batch_approval_without_a_reason() {
    let p = policy();
    let input =
        json!({"action": {"type": "tidy"}, "requester": {"id": "a"}, "agent": {"owner": "b"}});
    let mut batch = approval("kim", &["reviewer"], "unused");
    batch.action_digest = None;
    batch.reason = None;
    batch.action_digests = vec!["sha256:another".into(), digest(&p, &input)];
    assert_eq!(
        p.verify(&input, &[batch], &at(NOW)).verdict,
        Verdict::Execute
    );
}

#[test]
fn a_timed_out_request_is_expired_not_rejected() {
    let p = policy();
    let input = deploy(true);
    let v = p.verify(
        &input,
        &[approval(
            "erin",
            &["security_approver"],
            &digest(&p, &input),
        )],
        &at("2026-11-22T13:30:00Z"),
    );
    assert_eq!(v.verdict, Verdict::Expired);
    assert!(codes(&v).contains(&"REQUEST_TIMED_OUT"));
    assert!(!codes(&v).contains(&"REJECTED"));
    assert_eq!(
        v.on_expiry.as_ref().map(|e| e.action.as_str()),
        Some("reject")
    );
}

#[test]
fn outside_the_change_window_is_denied() {
    let p = policy();
    let input = deploy(false);
    let d = digest(&p, &input);
    let v = p.verify(
        &input,
        &[
            approval("erin", &["security_approver"], &d),
            approval("frank", &["change_manager"], &d),
        ],
        &at(NOW),
    );
    assert_eq!(v.verdict, Verdict::Denied);
    assert_eq!(codes(&v), ["CONDITION_NOT_MET"]);
}

#[test]
fn missing_evidence_keeps_it_pending() {
    let p = policy();
    let mut input = refund(250);
    input["evidence"] = json!({});
    // the decision itself blocks for missing evidence here (no softening)
    let v = p.verify(
        &input,
        &[approval("carol", &["support_lead"], &digest(&p, &input))],
        &at(NOW),
    );
    assert_eq!(v.verdict, Verdict::Denied);
    assert_eq!(codes(&v), ["BLOCKED"]);
}

#[test]
fn the_cli_exit_code_is_the_verdict() {
    let p = policy();
    let dir = std::env::temp_dir().join(format!("gatehouse-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("v.gate"), POLICY).expect("write");
    let input = refund(250);
    std::fs::write(dir.join("action.json"), input.to_string()).expect("write");
    let cases = [
        (
            vec![approval("carol", &["support_lead"], &digest(&p, &input))],
            0,
        ),
        (vec![], 1),
        (
            vec![Approval {
                decision: ApprovalKind::Reject,
                ..approval("carol", &["support_lead"], &digest(&p, &input))
            }],
            5,
        ),
    ];
    for (approvals, code) in cases {
        std::fs::write(
            dir.join("approvals.json"),
            serde_json::to_string(&approvals).expect("json"),
        )
        .expect("write");
        let out = assert_cmd::Command::cargo_bin("gatehouse")
            .expect("binary")
            .args(["verify", "--policy"])
            .arg(dir.join("v.gate"))
            .arg("--input")
            .arg(dir.join("action.json"))
            .arg("--approvals")
            .arg(dir.join("approvals.json"))
            .args(["--now", NOW, "--requested-at", "2026-11-22T09:00:00Z"])
            .arg("--allow-unsigned")
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert!(v["verdict"].is_string());
    }
    // with --audit-log: one verification record, durable, readable
    let log = dir.join("audit.jsonl");
    let out = assert_cmd::Command::cargo_bin("gatehouse")
        .expect("binary")
        .args(["verify", "--policy"])
        .arg(dir.join("v.gate"))
        .arg("--input")
        .arg(dir.join("action.json"))
        .arg("--approvals")
        .arg(dir.join("approvals.json"))
        .args(["--now", NOW, "--allow-unsigned", "--audit-log"])
        .arg(&log)
        .args(["--redact", "requester.id"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(5));
    let contents = gatehouse::audit::log::read_log(&log).expect("log");
    assert_eq!(contents.records.len(), 1);
    let text = std::fs::read_to_string(&log).expect("log");
    let record: Value = serde_json::from_str(text.trim()).expect("json");
    assert_eq!(record["record"], "verification");
    assert_eq!(record["verification"]["verdict"], "denied");
    assert_eq!(record["redacted"], json!(["$.requester.id"]));
    assert_eq!(record["action_digest"], json!(digest(&p, &input)));
    let _ = std::fs::remove_dir_all(&dir);
}
