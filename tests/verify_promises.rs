//! `verify`: one regression test per promise of issue 12 this layer keeps
//! (1 polynomial matching and the approvals cap, 6 approvals before the
//! request, 7 exact action scope, 8 counts mean people, 9 identities and
//! blank text, 13 approved in time is not expired). Each failed on the code
//! before the change; the comment on each says how.

use gatehouse::Policy;
use gatehouse::audit::verify::{
    Approval, ApprovalKind, MAX_APPROVALS, Verdict, Verification, VerifyOptions,
};
use gatehouse::values::Timestamp;
use serde_json::{Value, json};

const POLICY: &str = r#"policy "p" version "1"
schema {
  action.type: enum { refund, deploy, tidy, wide, pair, any2 }
  requester.id: string
  agent.owner: string
}
evidence { impact_estimate }
role a
role b
role c
role lead
role sec
role change
reason R "r"
tier 0 "none" { outcome auto }
tier 1 "queue" { outcome queue  approve a  timeout 72h then reject }
tier 2 "pair" { outcome queue  approve 2 of a, b }
tier 3 "money" {
  outcome explicit
  approve lead
  evidence impact_estimate
  timeout 24h then escalate to c
  forbid approval by requester.id, agent.owner
}
tier 4 "prod" {
  outcome dual
  approve sec and change
  timeout 4h then reject
  forbid approval by requester.id, agent.owner
}
tier 5 "wide" { outcome explicit  approve 6 of a, b }
tier 6 "any" { outcome queue }
rule refund when action.type == refund then tier 3 because R
rule deploy when action.type == deploy then tier 4 because R
rule tidy when action.type == tidy then tier 1 because R
rule pair when action.type == pair then tier 2 because R
rule wide when action.type == wide then tier 5, approve c because R
rule any2 when action.type == any2 then tier 6 because R
default tier 0 because R
"#;

fn policy() -> Policy {
    Policy::from_source("p.gate", POLICY).expect("compiles")
}

fn action(kind: &str) -> Value {
    json!({"action": {"type": kind}, "requester": {"id": "alice"}, "agent": {"owner": "olga"},
           "evidence": {"impact_estimate": "x"}})
}

fn digest(p: &Policy, input: &Value) -> String {
    p.evaluate(input).action_digest.expect("digest")
}

fn approval(who: &str, roles: &[&str], digest: &str, given_at: &str) -> Approval {
    Approval {
        approver: who.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        decision: ApprovalKind::Approve,
        reason: Some("checked".into()),
        action_digest: Some(digest.into()),
        action_digests: Vec::new(),
        given_at: given_at.into(),
        expires_at: None,
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("time")
}

fn opts(now: &str, requested: Option<&str>) -> VerifyOptions {
    VerifyOptions::new(ts(now)).with_requested_at(requested.map(ts))
}

fn codes(v: &Verification) -> Vec<&str> {
    v.reasons.iter().map(|r| r.code.as_str()).collect()
}

const T0: &str = "2026-11-22T09:00:00Z";
const T1: &str = "2026-11-22T09:30:00Z";
const NOW: &str = "2026-11-22T10:00:00Z";

// ---- promise 1: polynomial matching, and a cap ----------------------------

/// The old backtracking took 26 s on exactly this (24 approvals, 4.8 KB,
/// "6 of a, b" plus an added `c` nobody holds): it searched every way to
/// fill the slots before giving up on `c`. The assertions are about the
/// answer; the test finishing at all in the suite's time is the point.
#[test]
fn twenty_four_approvals_against_six_of_a_b_plus_c_are_matched_exactly() {
    let p = policy();
    let input = action("wide");
    let d = digest(&p, &input);
    let approvals: Vec<Approval> = (0..24)
        .map(|i| approval(&format!("p{i}"), &[["a", "b"][i % 2]], &d, T1))
        .collect();
    let v = p.verify(&input, &approvals, &opts(NOW, Some(T0)));
    assert_eq!(v.verdict, Verdict::Pending);
    assert_eq!(v.satisfied.len(), 6);
    assert!(v.satisfied.iter().all(|s| s.group == 0));
    assert_eq!(v.missing.approvals, 1);
    assert_eq!(v.missing.groups.len(), 1);
    assert_eq!(
        (
            v.missing.groups[0].roles.clone(),
            v.missing.groups[0].needed
        ),
        (vec!["c".to_owned()], 1)
    );
    // Six different people, each in a role they hold, the same every time.
    let mut who: Vec<&str> = v.satisfied.iter().map(|s| s.approver.as_str()).collect();
    for s in &v.satisfied {
        let i: usize = s.approver[1..].parse().expect("index");
        assert_eq!(s.role, ["a", "b"][i % 2]);
    }
    who.sort_unstable();
    who.dedup();
    assert_eq!(who.len(), 6);
    assert_eq!(p.verify(&input, &approvals, &opts(NOW, Some(T0))), v);
}

/// 100 000 approvals (the cap) verify; one more is refused unread.
#[test]
fn the_cap_of_approvals_verifies_and_one_more_is_refused() {
    let p = policy();
    let input = action("wide");
    let d = digest(&p, &input);
    let mut approvals: Vec<Approval> = (0..MAX_APPROVALS - 1)
        .map(|i| approval(&format!("p{i}"), &[["a", "b"][i % 2]], &d, T1))
        .collect();
    approvals.push(approval("zed", &["c"], &d, T1));
    let v = p.verify(&input, &approvals, &opts(NOW, Some(T0)));
    assert_eq!(v.verdict, Verdict::Execute, "{:?}", v.missing);
    assert_eq!(v.satisfied.len(), 7);
    assert_eq!(v.satisfied[6].approver, "zed");
    approvals.push(approval("one-too-many", &["a"], &d, T1));
    let v = p.verify(&input, &approvals, &opts(NOW, Some(T0)));
    assert_eq!(v.verdict, Verdict::Denied);
    assert_eq!(codes(&v), ["TOO_MANY_APPROVALS"]);
    assert!(v.satisfied.is_empty());
}

// ---- promise 6: an approval before the request never counts --------------

/// Old code: with `--requested-at` an hour ago, week-old approvals executed
/// a tier-4 change (the deadline was computed from the request, the
/// approvals' age never checked), while without it they expired.
#[test]
fn week_old_approvals_do_not_count_for_a_new_request() {
    let p = policy();
    let input = action("deploy");
    let d = digest(&p, &input);
    let week_ago = "2026-11-15T09:30:00Z";
    let approvals = [
        approval("erin", &["sec"], &d, week_ago),
        approval("frank", &["change"], &d, week_ago),
    ];
    let with = p.verify(&input, &approvals, &opts(NOW, Some(T0)));
    assert_eq!(with.verdict, Verdict::Pending, "{with:?}");
    assert_eq!(
        codes(&with),
        ["APPROVAL_BEFORE_REQUEST", "APPROVAL_BEFORE_REQUEST"]
    );
    assert!(with.satisfied.is_empty());
    // Without a request time the request is taken as made at the first
    // approval, and these were complete in time (promise 13): a request
    // time can only make the check stricter, never looser.
    let without = p.verify(&input, &approvals, &opts(NOW, None));
    assert_eq!(without.verdict, Verdict::Execute);
}

#[test]
fn a_request_time_after_now_is_refused() {
    let p = policy();
    let input = action("refund");
    let d = digest(&p, &input);
    let v = p.verify(
        &input,
        &[approval("carol", &["lead"], &d, T1)],
        &opts(NOW, Some("2026-11-22T11:00:00Z")),
    );
    assert_eq!(v.verdict, Verdict::Denied);
    assert_eq!(codes(&v), ["REQUEST_IN_FUTURE"]);
    // At `now` itself it is a valid (if very young) request.
    let v = p.verify(&input, &[], &opts(NOW, Some(NOW)));
    assert_eq!(v.verdict, Verdict::Pending);
}

// ---- promise 7: an approval covers exactly the actions it names ----------

/// Old code: `action_digest` = A with `action_digests` = [B] verified both A
/// and B for an explicit tier, and a batch of one counted for explicit.
#[test]
fn digests_named_two_ways_are_refused_and_batches_count_only_for_queue() {
    let p = policy();
    let refund = action("refund");
    let d = digest(&p, &refund);
    let mut both = approval("carol", &["lead"], "sha256:another", T1);
    both.action_digests = vec![d.clone()];
    let v = p.verify(&refund, &[both.clone()], &opts(NOW, Some(T0)));
    assert_eq!(v.verdict, Verdict::Pending);
    assert_eq!(codes(&v), ["CONFLICTING_DIGESTS"]);
    both.action_digest = Some(d.clone());
    let v = p.verify(&refund, &[both], &opts(NOW, Some(T0)));
    assert_eq!(codes(&v), ["CONFLICTING_DIGESTS"]);

    let mut one = approval("carol", &["lead"], &d, T1);
    one.action_digest = None;
    one.action_digests = vec![d.clone()];
    let v = p.verify(&refund, &[one.clone()], &opts(NOW, Some(T0)));
    assert_eq!(v.verdict, Verdict::Pending);
    assert_eq!(codes(&v), ["BATCH_NOT_ALLOWED"]);

    let tidy = action("tidy");
    one.roles = vec!["a".into()];
    one.action_digests = vec![digest(&p, &tidy)];
    let v = p.verify(&tidy, &[one], &opts(NOW, Some(T0)));
    assert_eq!(v.verdict, Verdict::Execute, "{v:?}");
}

// ---- promise 8: counts mean people ---------------------------------------

/// Old code: `approve 2 of a, b` without `distinct` accepted one record
/// given twice, or one person's two records.
#[test]
fn one_person_never_counts_twice_toward_one_group() {
    let p = policy();
    let input = action("pair");
    let d = digest(&p, &input);
    let record = approval("kim", &["a"], &d, T1);
    let v = p.verify(&input, &[record.clone(), record], &opts(NOW, Some(T0)));
    assert_eq!(v.verdict, Verdict::Pending, "{v:?}");
    assert_eq!(v.satisfied.len(), 1);
    assert_eq!(v.missing.approvals, 1);
    assert_eq!(codes(&v), ["SAME_APPROVER_TWICE"]);
    let v = p.verify(
        &input,
        &[
            approval("kim", &["a"], &d, T1),
            approval("KIM", &["b"], &d, NOW),
        ],
        &opts(NOW, Some(T0)),
    );
    assert_eq!(v.verdict, Verdict::Pending);
    let v = p.verify(
        &input,
        &[
            approval("kim", &["a"], &d, T1),
            approval("lee", &["b"], &d, NOW),
        ],
        &opts(NOW, Some(T0)),
    );
    assert_eq!(v.verdict, Verdict::Execute);
}

#[test]
fn the_open_group_counts_people_too() {
    let p = policy();
    let input = action("any2");
    let d = digest(&p, &input);
    let v = p.verify(
        &input,
        &[approval("kim", &[], &d, T1), approval("kim", &[], &d, T1)],
        &opts(NOW, Some(T0)),
    );
    assert_eq!(v.verdict, Verdict::Execute, "queue with no groups asks one");
    assert_eq!(v.satisfied.len(), 1);
    // A blank or invisible id is nobody.
    let v = p.verify(
        &input,
        &[approval("\u{200B} ", &[], &d, T1)],
        &opts(NOW, Some(T0)),
    );
    assert_eq!(v.verdict, Verdict::Pending);
    assert_eq!(codes(&v), ["APPROVER_BLANK"]);
}

// ---- promise 9: identities compare as people do, blank is blank ----------

/// Old code: every look-alike below counted as a second person for `dual`.
#[test]
fn look_alikes_are_not_distinct_people() {
    let p = policy();
    let input = action("deploy");
    let d = digest(&p, &input);
    for other in [
        "Erin",
        "\u{FF45}rin",
        "erin\u{200D}",
        "\u{FEFF}ERIN ",
        "e\u{0301}rin",
    ] {
        let first = if other == "e\u{0301}rin" {
            "\u{00E9}rin"
        } else {
            "erin"
        };
        let v = p.verify(
            &input,
            &[
                approval(first, &["sec"], &d, T1),
                approval(other, &["change"], &d, T1),
            ],
            &opts(NOW, Some(T0)),
        );
        assert_eq!(v.verdict, Verdict::Pending, "{other:?}: {v:?}");
        assert_eq!(v.satisfied.len(), 1, "{other:?}");
    }
}

/// Old code: a reason of U+200B, U+FEFF or U+3164 was a written reason,
/// and such an evidence value was present evidence.
#[test]
fn invisible_reasons_and_evidence_are_blank() {
    let p = policy();
    let input = action("refund");
    let d = digest(&p, &input);
    for blank in ["\u{200B}", "\u{FEFF}", "\u{3164}", " \u{00AD}\u{2060} "] {
        let mut a = approval("carol", &["lead"], &d, T1);
        a.reason = Some(blank.into());
        let v = p.verify(&input, &[a], &opts(NOW, Some(T0)));
        assert_eq!(codes(&v), ["REASON_REQUIRED"], "{blank:?}");
        let mut no_evidence = action("refund");
        no_evidence["evidence"]["impact_estimate"] = json!(blank);
        let decision = p.evaluate(&no_evidence);
        assert_eq!(decision.evidence.missing, ["impact_estimate"], "{blank:?}");
        let text = no_evidence.to_string();
        let fast = p.evaluate_json(&text);
        assert_eq!(fast.evidence.missing, ["impact_estimate"], "{blank:?}");
    }
}

// ---- promise 13: approved in time is not expired --------------------------

/// Old code: once `now` passed the deadline the verdict became `expired`,
/// "before it was fully approved", although both approvals were in time.
#[test]
fn a_request_approved_in_time_executes_after_its_deadline() {
    let p = policy();
    let input = action("deploy");
    let d = digest(&p, &input);
    let approvals = [
        approval("erin", &["sec"], &d, T1),
        approval("frank", &["change"], &d, "2026-11-22T12:59:59Z"),
    ];
    let later = "2026-11-22T15:00:00Z";
    let v = p.verify(&input, &approvals, &opts(later, Some(T0)));
    assert_eq!(v.verdict, Verdict::Execute, "{v:?}");
    assert_eq!(v.expires_at.as_deref(), Some("2026-11-22T13:00:00Z"));
    assert!(v.reasons.is_empty());
    // ... and then bounded by the approvals' own expiry.
    let mut expiring = approvals.clone();
    expiring[1].expires_at = Some("2026-11-22T14:00:00Z".into());
    let v = p.verify(&input, &expiring, &opts(later, Some(T0)));
    assert_eq!(v.verdict, Verdict::Expired);
    assert_eq!(codes(&v), ["APPROVAL_EXPIRED", "REQUEST_TIMED_OUT"]);
}

/// The deadline is half-open: `given_at < deadline` counts, `given_at ==
/// deadline` is late.
#[test]
fn an_approval_at_the_deadline_instant_is_late() {
    let p = policy();
    let input = action("deploy");
    let d = digest(&p, &input);
    let deadline = "2026-11-22T13:00:00Z";
    let just_before = "2026-11-22T12:59:59Z";
    let later = "2026-11-22T15:00:00Z";
    let run = |given: &str, now: &str| {
        p.verify(
            &input,
            &[
                approval("erin", &["sec"], &d, T1),
                approval("frank", &["change"], &d, given),
            ],
            &opts(now, Some(T0)),
        )
    };
    assert_eq!(run(just_before, later).verdict, Verdict::Execute);
    let late = run(deadline, later);
    assert_eq!(late.verdict, Verdict::Expired);
    assert_eq!(
        codes(&late),
        ["APPROVAL_AFTER_DEADLINE", "REQUEST_TIMED_OUT"]
    );
    assert_eq!(late.satisfied.len(), 1);
    let message = &late.reasons[1].message;
    assert!(message.contains(deadline), "{message}");
    // `now == deadline` with the approvals incomplete: expired, not pending.
    let v = p.verify(
        &input,
        &[approval("erin", &["sec"], &d, T1)],
        &opts(deadline, Some(T0)),
    );
    assert_eq!(v.verdict, Verdict::Expired);
    let v = p.verify(
        &input,
        &[approval("erin", &["sec"], &d, T1)],
        &opts(just_before, Some(T0)),
    );
    assert_eq!(v.verdict, Verdict::Pending);
}

// ---- found by the adversarial review of the merged trust layer ------------

/// An approval that does not count must not move the deadline either: an
/// old approval for another action (bob's, for last week's refund, left in
/// a reused approvals file) made the request "as old as" it, so a request
/// approved in time came out `expired`.
#[test]
fn an_approval_for_another_action_does_not_age_the_request() {
    let p = policy();
    let input = action("refund");
    let d = digest(&p, &input);
    let other = digest(&p, &action("tidy"));
    let approvals = [
        approval("bob", &["lead"], &d, T1),
        approval("mal", &["lead"], &other, "2026-11-15T09:00:00Z"),
    ];
    let v = p.verify(&input, &approvals, &opts(NOW, None));
    assert_eq!(v.verdict, Verdict::Execute, "{v:?}");
    assert_eq!(codes(&v), ["DIGEST_MISMATCH"]);
}

/// A veto is an approver's power: a rejection from someone who holds no
/// role that could approve the action is reported and ignored (before, any
/// identity the trust store knew, or any user of the identity provider,
/// denied every action).
#[test]
fn a_rejection_without_an_eligible_role_does_not_veto() {
    let p = policy();
    let input = action("refund");
    let d = digest(&p, &input);
    let mut veto = approval("mal", &[], &d, T1);
    veto.decision = ApprovalKind::Reject;
    let approvals = [approval("bob", &["lead"], &d, T1), veto.clone()];
    let v = p.verify(&input, &approvals, &opts(NOW, Some(T0)));
    assert_eq!(v.verdict, Verdict::Execute, "{v:?}");
    assert_eq!(codes(&v), ["ROLE_NOT_ELIGIBLE"]);
    // From an eligible role it still wins.
    veto.roles = vec!["lead".into()];
    let approvals = [approval("bob", &["lead"], &d, T1), veto];
    let v = p.verify(&input, &approvals, &opts(NOW, Some(T0)));
    assert_eq!(v.verdict, Verdict::Denied);
    assert_eq!(codes(&v), ["REJECTED"]);
}

/// Characters that show nothing but are neither white space nor
/// default-ignorable (Braille blank, interlinear annotation marks, control
/// characters) make no reason.
#[test]
fn blank_looking_reasons_are_blank() {
    let p = policy();
    let input = action("refund");
    let d = digest(&p, &input);
    for blank in [
        "\u{2800}\u{2800}\u{2800}",
        "\u{FFF9}\u{FFFA}\u{FFFB}",
        "\u{1D159}",
        "\u{0001}",
    ] {
        let mut a = approval("bob", &["lead"], &d, T1);
        a.reason = Some(blank.into());
        let v = p.verify(&input, &[a], &opts(NOW, Some(T0)));
        assert_eq!(v.verdict, Verdict::Pending, "{blank:?}");
        assert_eq!(codes(&v), ["REASON_REQUIRED"], "{blank:?}");
    }
}

/// `VerifyOptions::with_deadline`: a service that sent a request back to
/// pending (an approval expired at claim) opens a new wait; approvals given
/// in it count although `requested_at + timeout` has passed, and the new
/// deadline bounds them the same way. Without the option (before it
/// existed) the second approval was `APPROVAL_AFTER_DEADLINE` forever.
#[test]
fn a_deadline_set_by_the_caller_replaces_requested_at_plus_timeout() {
    let p = policy();
    let input = action("deploy");
    let d = digest(&p, &input);
    // Timeout 4h from T0: the first wait ends at 13:00.
    let reopened_until = ts("2026-11-22T19:00:00Z");
    let given = "2026-11-22T15:00:00Z";
    let now = "2026-11-22T15:30:00Z";
    let approvals = [
        approval("erin", &["sec"], &d, given),
        approval("frank", &["change"], &d, given),
    ];
    let computed = p.verify(&input, &approvals, &opts(now, Some(T0)));
    assert_eq!(computed.verdict, Verdict::Expired);
    assert!(codes(&computed).contains(&"APPROVAL_AFTER_DEADLINE"));
    let set = p.verify(
        &input,
        &approvals,
        &opts(now, Some(T0)).with_deadline(reopened_until),
    );
    assert_eq!(set.verdict, Verdict::Execute, "{:?}", codes(&set));
    assert_eq!(set.expires_at.as_deref(), Some("2026-11-22T19:00:00Z"));
    // The set deadline bounds approvals like the computed one.
    let late = p.verify(
        &input,
        &[
            approval("erin", &["sec"], &d, given),
            approval("frank", &["change"], &d, "2026-11-22T19:00:00Z"),
        ],
        &opts("2026-11-22T19:30:00Z", Some(T0)).with_deadline(reopened_until),
    );
    assert_eq!(late.verdict, Verdict::Expired);
    assert!(codes(&late).contains(&"APPROVAL_AFTER_DEADLINE"));
}
