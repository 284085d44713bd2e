//! Malformed, oversized, replayed, forged and look-alike lines are counted,
//! never fatal, and never change the numbers of the good lines around them.

mod support;

use gatehouse_autonomy::{Ingest, MAX_LINE_BYTES, Options, Report};
use support::history::history;

fn read(bytes: &[u8]) -> Report {
    let mut ingest = Ingest::new(Options::default());
    ingest.read(bytes).expect("reading from memory cannot fail");
    ingest.finish()
}

fn good() -> Vec<u8> {
    lines_of(3, 4)
}

/// A history with automatic rules too (every seventh rule is auto).
fn with_autos() -> Vec<u8> {
    lines_of(3, 8)
}

fn lines_of(seed: u64, rules: usize) -> Vec<u8> {
    let h = history(seed, rules, (20, 40));
    let mut text = h.lines.join("\n").into_bytes();
    text.push(b'\n');
    text
}

#[test]
fn hostile_lines_are_counted_and_the_rest_is_read() {
    let clean = read(&good());
    let mut text = Vec::new();
    // A 10 MB line of garbage, a line longer than the limit, deep JSON,
    // wrong types, unknown record kinds, and not-UTF-8.
    text.extend(vec![b'x'; 10 * 1024 * 1024]);
    text.push(b'\n');
    text.extend(vec![b'{'; MAX_LINE_BYTES + 10]);
    text.push(b'\n');
    text.extend("[".repeat(100_000).as_bytes());
    text.push(b'\n');
    for line in [
        r#"{"record": 7}"#,
        r#"[1, 2, 3]"#,
        r#""a string""#,
        r#"{"record": "decision", "time": "2026-12-01T00:00:00Z", "decision": {"outcome": 5}}"#,
        r#"{"record": "decision", "time": "yesterday", "decision": {"outcome": "auto"}}"#,
        r#"{"record": "transition", "request": 12, "event": "decide", "time": "2026-12-01T00:00:00Z"}"#,
        r#"{"record": "transition", "request": "req_x", "event": "decide", "time": "2026-12-01T00:00:00Z", "detail": {"outcome": "maybe"}}"#,
        r#"{"record": "verification", "time": "2026-12-01T00:00:00Z"}"#,
        "{\"record\": \"decision\", \"time\": \"\u{ff}\"}",
        "",
        "   ",
    ] {
        text.extend(line.as_bytes());
        text.push(b'\n');
    }
    text.extend([0xff, 0xfe, b'\n']);
    text.extend(good());
    let r = read(&text);
    assert_eq!(r.input.oversized, 1);
    assert_eq!(r.input.malformed, 11, "{:#?}", r.input.unreadable_lines);
    assert_eq!(r.input.other_records, 1);
    assert_eq!(r.input.blank, 2);
    assert_eq!(r.input.unreadable_lines.len(), 10);
    assert_eq!(r.input.unreadable_lines[0].line, 1);
    // The good history after them reads exactly as alone.
    assert_eq!(
        serde_json::to_value(&r.rules).unwrap(),
        serde_json::to_value(&clean.rules).unwrap()
    );
    assert_eq!(r.candidates, clean.candidates);
}

#[test]
fn replayed_and_forged_transitions_do_not_count_twice() {
    let clean = read(&with_autos());
    let mut text = with_autos();
    // Every line again: the decides are repeats, the answers are second
    // answers of requests a person already decided.
    text.extend(with_autos());
    // A verdict for a request that was never decided.
    text.extend(br#"{"record":"transition","request":"req_forged","event":"sample_review","time":"2026-12-01T00:00:00Z","actor":{"id":"mallory"},"detail":{"verdict":"reject"}}"#);
    text.push(b'\n');
    let r = read(&text);
    assert_eq!(r.input.requests, clean.input.requests);
    assert!(r.input.repeated_decides > 0);
    // The forged verdict, and every replayed `auto_approve`.
    let autos = String::from_utf8(with_autos())
        .unwrap()
        .matches(r#""event":"auto_approve""#)
        .count() as u64;
    assert!(autos > 0);
    assert_eq!(r.input.unmatched_transitions, 1 + autos);
    for (a, b) in r.rules.iter().zip(&clean.rules) {
        assert_eq!(a.counts.human_decided, b.counts.human_decided);
        assert_eq!(a.counts.overridden(), b.counts.overridden());
        assert_eq!(a.counts.sample_rejected, b.counts.sample_rejected);
        // A replayed `auto_approve` is not a second automatic action.
        assert_eq!(a.counts.auto, b.counts.auto);
        assert_eq!(a.counts.sampled, b.counts.sampled);
    }
}

/// A `sample_review` on a request that was decided but never sampled (the
/// service refuses such a verdict) is forged: it must not make a rule a
/// candidate for less autonomy.
#[test]
fn a_forged_verdict_on_a_request_never_sampled_does_not_count() {
    let clean = read(&with_autos());
    let mut text = with_autos();
    let mut forged = 0;
    for line in with_autos().split(|b| *b == b'\n') {
        let Ok(rec) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        let sampled = rec.pointer("/detail/sample/sampled") == Some(&serde_json::Value::Bool(true));
        if rec["event"] == "auto_approve" && !sampled {
            let forgery = serde_json::json!({
                "record": "transition", "request": rec["request"], "event": "sample_review",
                "from": "approved", "to": "approved", "time": rec["time"],
                "actor": {"id": "mallory"}, "detail": {"verdict": "reject", "note": "forged"},
            });
            text.extend(forgery.to_string().as_bytes());
            text.push(b'\n');
            forged += 1;
        }
    }
    assert!(
        forged > 0,
        "the history has auto actions that were not sampled"
    );
    let r = read(&text);
    assert_eq!(r.input.unmatched_transitions, forged);
    for (a, b) in r.rules.iter().zip(&clean.rules) {
        assert_eq!(
            a.counts.sample_rejected, b.counts.sample_rejected,
            "{}",
            a.key
        );
    }
    assert_eq!(r.candidates, clean.candidates);
}

#[test]
fn look_alike_reviewers_are_one_person() {
    let lines = [
        r#"{"record":"transition","request":"req_1","event":"decide","time":"2026-12-01T00:00:00Z","detail":{"outcome":"explicit"}}"#,
        r#"{"record":"transition","request":"req_1","event":"approve_complete","time":"2026-12-01T00:00:10Z","actor":{"id":"alice"}}"#,
        r#"{"record":"transition","request":"req_2","event":"decide","time":"2026-12-01T00:00:00Z","detail":{"outcome":"explicit"}}"#,
        r#"{"record":"transition","request":"req_2","event":"reject","time":"2026-12-01T00:00:20.5Z","actor":{"id":"ALICE"}}"#,
        r#"{"record":"transition","request":"req_3","event":"decide","time":"2026-12-01T00:00:00Z","detail":{"outcome":"explicit"}}"#,
        r#"{"record":"transition","request":"req_3","event":"approve_complete","time":"2026-12-01T00:00:30Z","actor":{"id":"bob"}}"#,
    ];
    let r = read(lines.join("\n").as_bytes());
    assert_eq!(r.reviewers.reviewers, 2);
    assert_eq!(r.reviewers.busiest_actions, 2);
    let by: Vec<(&str, u64)> = r
        .reviewers
        .by_reviewer
        .iter()
        .map(|x| (x.reviewer.as_str(), x.actions))
        .collect();
    assert_eq!(by, [("alice", 2), ("bob", 1)]);
    assert_eq!(r.input.decides_without_decision, 3);
    let unknown = r.rules.iter().find(|g| g.key == "(unknown)").unwrap();
    // Nearest rank over 10 s, 20.5 s, 30 s.
    assert_eq!(unknown.median_ms, Some(20_500));
    assert_eq!(unknown.p95_ms, Some(30_000));
    assert_eq!(unknown.override_rate, Some(1.0 / 3.0));
    // Placeholder groups are never candidates.
    assert!(r.candidates.more.is_empty() && r.candidates.less.is_empty());
}

#[test]
fn the_window_keeps_requests_decided_inside_it() {
    let h = history(5, 3, (10, 20));
    let all = read(h.lines.join("\n").as_bytes());
    let mut options = Options::default();
    options.since_ms = Some(i64::MAX);
    let mut ingest = Ingest::new(options);
    ingest.read(h.lines.join("\n").as_bytes()).unwrap();
    let none = ingest.finish();
    assert!(all.input.requests > 0);
    assert_eq!(none.input.requests, 0);
    assert!(none.rules.is_empty());
}

#[test]
fn eval_audit_log_records_count_as_volume_once() {
    // 3 000 decision records and no transitions (`eval --audit-log`): more
    // than the pending bound, each counted once, in its own day.
    let mut text = String::new();
    for i in 0..3000 {
        let day = 1 + i % 3;
        text.push_str(&format!(
            r#"{{"record":"decision","time":"2026-12-0{day}T10:00:00Z","action_digest":"sha256:{i:064x}","input":{{"agent":{{"id":"a"}},"action":{{"target":"crm"}}}},"outcome":"queue","decision":{{"outcome":"queue","tier":{{"id":1,"name":"one"}},"rules":[{{"name":"r","determining":true}}]}}}}"#
        ));
        text.push('\n');
    }
    let mut options = Options::default();
    options.bucket = gatehouse_autonomy::Bucket::Day;
    let mut ingest = Ingest::new(options);
    ingest.read(text.as_bytes()).unwrap();
    let r = ingest.finish();
    assert_eq!(r.input.standalone_decisions, 3000);
    assert_eq!(r.input.requests, 0);
    let rule = r.rules.iter().find(|g| g.key == "r").unwrap();
    assert_eq!(
        (
            rule.counts.volume,
            rule.counts.held,
            rule.counts.human_decided
        ),
        (3000, 3000, 0)
    );
    let days: Vec<(&str, u64)> = r
        .timeline
        .iter()
        .map(|t| (t.bucket.as_str(), t.counts.volume))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-12-01", 1000),
            ("2026-12-02", 1000),
            ("2026-12-03", 1000)
        ]
    );
    // Held, but no person decided any: not a candidate.
    assert!(r.candidates.more.is_empty());
}

#[test]
fn names_from_the_history_are_escaped_in_html_and_markdown() {
    let evil = r#"<img src=x onerror=alert(1)>|**x**"#;
    let line = serde_json::json!({
        "record": "decision", "time": "2026-12-01T00:00:00Z", "action_digest": "sha256:1",
        "input": {"agent": {"id": evil}, "action": {"target": evil}}, "outcome": "queue",
        "decision": {"outcome": "queue", "tier": {"id": 1, "name": evil}, "rules": [{"name": evil, "determining": true}]},
    });
    let decide = r#"{"record":"transition","request":"req_1","event":"decide","time":"2026-12-01T00:00:00Z","action_digest":"sha256:1"}"#;
    let r = read(format!("{line}\n{decide}\n").as_bytes());
    let mut html = Vec::new();
    gatehouse_autonomy::render::write_html(&mut html, &r).unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(!html.contains("<img"), "escaped in HTML");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    let mut md = Vec::new();
    gatehouse_autonomy::render::write_markdown(&mut md, &r).unwrap();
    let md = String::from_utf8(md).unwrap();
    // Every `<`, `|` and `*` of the name is backslash-escaped.
    assert!(
        md.contains(r"\<img src=x onerror=alert(1)\>\|\*\*x\*\*"),
        "{md}"
    );
    assert_eq!(
        md.matches("<img").count(),
        md.matches(r"\<img").count(),
        "{md}"
    );
}

/// An agent id (or target, rule, reviewer) is the agent's own text: in the
/// terminal report it must not emit escape sequences, bidirectional
/// overrides or line ends that forge report lines.
#[test]
fn the_terminal_report_shows_control_characters_instead_of_obeying_them() {
    let hostile = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\nCandidates for more autonomy: 9\r\u{202e}x";
    let render = |agent: &str| {
        let text = String::from_utf8(with_autos()).unwrap().replace(
            r#""agent":{"id":"agent-1"}"#,
            &format!(
                r#""agent":{{"id":{}}}"#,
                serde_json::to_string(agent).unwrap()
            ),
        );
        let mut out = Vec::new();
        gatehouse_autonomy::render::write_human(&mut out, &read(text.as_bytes())).unwrap();
        String::from_utf8(out).unwrap()
    };
    let plain = render("agent-1");
    let shown = render(hostile);
    assert!(
        shown.contains(r"evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{a}Candidates"),
        "{shown}"
    );
    assert!(
        !shown.contains(['\u{1b}', '\u{7}', '\r', '\u{202e}']),
        "{shown:?}"
    );
    assert_eq!(shown.lines().count(), plain.lines().count());
}

/// A name from the history posted in a pull request comment must not
/// mention people, link issues or carry control characters.
#[test]
fn markdown_names_cannot_mention_link_issues_or_carry_controls() {
    let hostile = "@octocat #12 \u{1b}[2J\u{202e}x";
    let text = String::from_utf8(with_autos()).unwrap().replace(
        r#""agent":{"id":"agent-1"}"#,
        &format!(
            r#""agent":{{"id":{}}}"#,
            serde_json::to_string(hostile).unwrap()
        ),
    );
    let mut md = Vec::new();
    gatehouse_autonomy::render::write_markdown(&mut md, &read(text.as_bytes())).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains("@\u{200b}octocat #\u{200b}12"), "{md}");
    assert!(!md.contains("@octocat") && !md.contains("#12"), "{md}");
    assert!(!md.contains(['\u{1b}', '\u{202e}']), "{md:?}");
}

/// Names are kept bounded: megabyte-long agent ids, targets, rule and tier
/// names and digests cost at most `MAX_NAME_BYTES` each, stay distinct from
/// one another (a hash of the whole name), and a megabyte request id is an
/// unreadable line, never a kept key.
#[test]
fn megabyte_names_are_kept_bounded_and_distinct() {
    let long = |i: usize| format!("{}{i}", "é".repeat(512 * 1024));
    let mut text = String::new();
    for i in 0..6 {
        let name = long(i);
        let digest = format!("sha256:{}", long(i));
        let line = serde_json::json!({
            "record": "decision", "time": "2026-12-01T00:00:00Z", "action_digest": digest,
            "policy": {"name": name, "version": name, "digest": name},
            "input": {"agent": {"id": name}, "action": {"target": name}}, "outcome": "queue",
            "decision": {"outcome": "queue", "tier": {"id": 1, "name": name},
                         "rules": [{"name": name, "determining": true}]},
        });
        let decide = serde_json::json!({
            "record": "transition", "request": format!("req_{i}"), "event": "decide",
            "time": "2026-12-01T00:00:00Z", "action_digest": digest,
        });
        text.push_str(&format!("{line}\n{decide}\n"));
    }
    let huge_request = serde_json::json!({
        "record": "transition", "request": long(99), "event": "decide",
        "time": "2026-12-01T00:00:00Z", "detail": {"outcome": "auto"},
    });
    text.push_str(&format!("{huge_request}\n"));
    let r = read(text.as_bytes());
    let max = gatehouse_autonomy::MAX_NAME_BYTES;
    for (what, groups) in [
        ("agents", &r.agents),
        ("targets", &r.targets),
        ("rules", &r.rules),
    ] {
        assert_eq!(groups.len(), 6, "{what}: one group per distinct name");
        let keys: std::collections::BTreeSet<&str> =
            groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys.len(), 6, "{what}: still distinct");
        for g in groups {
            assert!(g.key.len() <= max, "{what}: {} bytes", g.key.len());
            assert_eq!(g.counts.volume, 1, "{what}: each decided once");
        }
    }
    for t in &r.tiers {
        assert!(t.label.len() <= max);
    }
    for p in &r.policies {
        assert!(p.name.len() <= max && p.version.len() <= max && p.digest.len() <= max);
    }
    assert_eq!(
        r.input.requests, 6,
        "the six requests paired with their decisions"
    );
    assert_eq!(r.input.malformed, 1, "{:#?}", r.input.unreadable_lines);
}
