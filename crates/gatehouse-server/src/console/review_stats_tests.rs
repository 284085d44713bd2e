//! [`aggregate`] on hand-made rows with known counts.

use serde_json::json;

use super::*;

const NOW: i64 = 1_790_000_000;

fn at(unix: i64) -> String {
    Timestamp::from_unix_nanos(i128::from(unix) * 1_000_000_000).to_string()
}

/// A row: `reviews` are `(kind, given_at)`.
fn row(
    agent: &str,
    outcome: &str,
    state: State,
    created: i64,
    rules: &[(&str, bool)],
    reviews: &[(&str, i64)],
) -> RequestRow {
    RequestRow {
        id: format!("req_{created:032x}"),
        state,
        created_at: at(created),
        created_unix: created,
        updated_at: at(reviews.last().map_or(created, |r| r.1)),
        deadline: Some(at(created + 86_400)),
        deadline_unix: Some(created + 86_400),
        requester: agent.into(),
        agent: agent.into(),
        outcome: outcome.into(),
        tier: Some(if outcome == "dual" { 3 } else { 2 }),
        roles: vec![],
        action_digest: "sha256:00".into(),
        policy_digest: "sha256:00".into(),
        input: json!({}),
        decision: json!({
            "rules": rules.iter().map(|(name, determining)| json!({
                "name": name, "determining": determining
            })).collect::<Vec<_>>()
        }),
        approvals: reviews
            .iter()
            .map(|(kind, given)| json!({"review": kind, "approval": {"approver": "p", "given_at": at(*given)}}))
            .collect(),
        escalated_to: None,
        escalations: 0,
        execution: None,
        verification: None,
        version: 1,
        sample_review: None,
        shadow: None,
    }
}

#[test]
fn results_are_told_apart() {
    let t = NOW - 10_000;
    let approved = row(
        "a",
        "explicit",
        State::Executed,
        t,
        &[],
        &[("approve", t + 60)],
    );
    assert_eq!(review_result(&approved), Some(ReviewResult::Approved));
    assert_eq!(decided_at(&approved), Some(t + 60));
    let rejected = row(
        "a",
        "explicit",
        State::Rejected,
        t,
        &[],
        &[("reject", t + 5)],
    );
    assert_eq!(review_result(&rejected), Some(ReviewResult::Rejected));
    // A dual request with one approval whose deadline rejected it.
    let mut expired = row("a", "dual", State::Rejected, t, &[], &[("approve", t + 5)]);
    expired.updated_at = at(t + 86_400);
    assert_eq!(review_result(&expired), Some(ReviewResult::Expired));
    assert_eq!(decided_at(&expired), Some(t + 86_400), "the metric's span");
    let mut blocked = row("a", "queue", State::Blocked, t, &[], &[]);
    blocked.updated_at = at(t + 86_400);
    assert_eq!(review_result(&blocked), Some(ReviewResult::Expired));
    assert_eq!(decided_at(&blocked), None, "a block is no decision");
    let auto = row("a", "auto", State::Approved, t, &[], &[]);
    assert_eq!(review_result(&auto), None);
}

#[test]
fn known_counts_come_out() {
    let t = NOW - 3 * 86_400;
    let x = [("refund_rule", true), ("noise", false)];
    let mut window = Vec::new();
    // Agent Y, rule X: 3 approved (waits 10, 20, 30 s), 1 rejected (40 s).
    for (i, wait) in [10, 20, 30].into_iter().enumerate() {
        let c = t + i as i64;
        window.push(row(
            "Y",
            "explicit",
            State::Approved,
            c,
            &x,
            &[("approve", c + wait)],
        ));
    }
    window.push(row(
        "Y",
        "explicit",
        State::Rejected,
        t + 5,
        &x,
        &[("reject", t + 45)],
    ));
    // Agent Z: one change request under another rule, one auto, one block.
    window.push(row(
        "Z",
        "dual",
        State::ChangesRequested,
        t + 6,
        &[("other", true)],
        &[("request_changes", t + 106)],
    ));
    window.push(row("Z", "auto", State::Approved, t + 7, &x, &[]));
    window.push(row("Z", "block", State::Blocked, t + 8, &x, &[]));
    // Older than the window: skipped.
    window.push(row(
        "Y",
        "explicit",
        State::Approved,
        t - 40 * 86_400,
        &x,
        &[],
    ));

    let pending = vec![
        row("Y", "explicit", State::Pending, NOW - 60, &x, &[]),
        row("Y", "explicit", State::Pending, NOW - 2 * 3_600, &x, &[]),
        row("Y", "dual", State::Pending, NOW - 30 * 3_600, &x, &[]),
        row("Y", "dual", State::Pending, NOW - 90 * 86_400, &x, &[]),
        row("Y", "dual", State::Approved, NOW - 60, &x, &[]),
    ];
    let o = aggregate(&window, &pending, NOW - 30 * 86_400, NOW);
    assert_eq!(o.requests, 7);

    let rule = |name: &str| o.per_rule.iter().find(|(n, _)| n == name).map(|(_, t)| *t);
    let x_tally = rule("refund_rule").expect("rule X");
    assert_eq!((x_tally.approved, x_tally.rejected), (3, 1));
    assert_eq!(x_tally.total(), 4, "auto and block are not reviews");
    assert_eq!(x_tally.approval_rate(), Some(0.75));
    assert_eq!(rule("noise"), None, "only determining rules count");
    assert_eq!(o.per_rule[0].0, "refund_rule", "most requests first");
    assert_eq!(rule("other").map(|t| t.changes_requested), Some(1));

    let agent = |name: &str| o.per_agent.iter().find(|(n, _)| n == name).map(|(_, t)| *t);
    assert_eq!(agent("Y").map(|t| (t.approved, t.rejected)), Some((3, 1)));
    assert_eq!(agent("Z").map(|t| t.changes_requested), Some(1));
    assert_eq!(agent("Z").and_then(|t| t.approval_rate()), Some(0.0));

    let all = &o.time_to_decision[0];
    assert_eq!(all.group, "all");
    assert_eq!(all.count, 5);
    assert_eq!(all.median, Some(30), "10 20 30 40 100: the 3rd");
    assert_eq!(all.p95, Some(100));
    let explicit = o.time_to_decision.iter().find(|d| d.group == "explicit");
    assert_eq!(explicit.map(|d| (d.count, d.median)), Some((4, Some(20))));

    assert_eq!(
        o.pending,
        vec![
            PendingTier {
                tier: Some(2),
                by_age: [1, 1, 0, 0]
            },
            PendingTier {
                tier: Some(3),
                by_age: [0, 0, 0, 2]
            },
        ]
    );
    assert_eq!(o.per_day.len(), 31);
    let day = o.per_day.iter().find(|d| d.total() > 0).expect("a day");
    assert_eq!(day.total(), 7);
    assert_eq!(day.by_outcome, [1, 0, 4, 1, 1]);
    assert_eq!(o.per_day.iter().map(DayVolume::total).sum::<u64>(), 7);
}

#[test]
fn percentiles_take_the_nearest_rank() {
    assert_eq!(percentile(&[], 50), None);
    assert_eq!(percentile(&[7], 95), Some(7));
    let hundred: Vec<i64> = (1..=100).collect();
    assert_eq!(percentile(&hundred, 50), Some(50));
    assert_eq!(percentile(&hundred, 95), Some(95));
}
