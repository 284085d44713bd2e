//! The console's request page and review form over HTTP: every section of
//! the page contract with its content, reviews through the form judged as
//! the API judges them (identity from the session only, the digest shown,
//! the reason the tier demands), agent-written text shown as text, the
//! deadline's result, the one-request timeline.

use serde_json::{Value as Json, json};

use crate::console_client::{Console, Page, hidden_field};
use crate::harness::{Server, example};

/// The text of an element with the HTML escapes maud writes undone.
fn text(page: &Page, id: &str) -> String {
    let raw = page
        .text_of(id)
        .unwrap_or_else(|| panic!("no #{id} on the page:\n{}", page.text));
    unescape(&raw)
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn has(page: &Page, id: &str) -> bool {
    page.text.contains(&format!("id=\"{id}\""))
}

/// The value of attribute `attr` on the element with this id.
fn attr(page: &Page, id: &str, attr: &str) -> Option<String> {
    let at = page.text.find(&format!("id=\"{id}\""))?;
    let start = page.text[..at].rfind('<')?;
    let end = at + page.text[at..].find('>')?;
    let tag = &page.text[start..end];
    let key = format!("{attr}=\"");
    let v = &tag[tag.find(&key)? + key.len()..];
    Some(v[..v.find('"')?].to_owned())
}

/// The `(data-seq, data-event)` of each timeline entry, in page order.
fn timeline(page: &Page) -> Vec<(i64, String)> {
    page.text
        .match_indices("<li data-seq=\"")
        .map(|(i, m)| {
            let rest = &page.text[i + m.len()..];
            let seq = rest[..rest.find('"').unwrap()].parse().unwrap();
            let ev = rest.find("data-event=\"").unwrap() + 12;
            let event = rest[ev..ev + rest[ev..].find('"').unwrap()].to_owned();
            (seq, event)
        })
        .collect()
}

fn id_of(request: &Json) -> String {
    request["id"].as_str().expect("an id").to_owned()
}

fn page_of(id: &str) -> String {
    format!("/console/requests/{id}")
}

fn review_path(id: &str) -> String {
    format!("/console/requests/{id}/review")
}

/// Posts the review form as the page offers it: the page's CSRF token and
/// action digest, plus `fields`.
fn review(c: &Console, id: &str, fields: &[(&str, &str)]) -> Page {
    let page = c.get(&page_of(id));
    assert_eq!(page.status, 200, "{}", page.text);
    let digest = hidden_field(&page.text, "action_digest").expect("the review form's digest");
    let mut all = vec![("action_digest", digest.as_str())];
    all.extend_from_slice(fields);
    c.submit(&page_of(id), &review_path(id), &all)
}

/// A server with an agent key and reviewers of the shipped policy.
struct Cast {
    server: Server,
    agent: crate::harness::Client,
    admin: crate::harness::Client,
}

fn cast() -> Cast {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request", "execute"], &[]));
    server.key("fin", &["approve"], &["finance_approver"]);
    server.key("fin2", &["approve"], &["finance_approver"]);
    server.key("sec", &["approve"], &["security_approver"]);
    server.key("chg", &["approve"], &["change_manager"]);
    let admin = server.as_token(&server.admin);
    Cast {
        server,
        agent,
        admin,
    }
}

fn state(c: &Cast, id: &str) -> Json {
    let (status, body) = c.admin.get(&format!("/v1/requests/{id}"));
    assert_eq!(status, 200, "{body}");
    body
}

/// The `--explain` account the CLI prints for an action at a time.
fn cli_explain(action: &Json, now: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("action.json");
    std::fs::write(&file, action.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["eval", "--explain", "--now", now, "--policy"])
        .arg(crate::harness::shipped_policy())
        .arg(&file)
        .output()
        .expect("run gatehouse eval");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn the_explicit_refund_page_shows_every_section() {
    let c = cast();
    let request = c.agent.create(&example("refund-large.json"));
    let id = id_of(&request);
    let fin = Console::signed_in(&c.server, "fin");
    let page = fin.get(&page_of(&id));
    assert_eq!(page.status, 200, "{}", page.text);

    assert_eq!(text(&page, "request-state"), "pending");
    let explain = text(&page, "explain");
    assert!(explain.contains("EXPLICIT: one authorized person must approve"));

    let fields = text(&page, "action-fields");
    for want in [
        "action.amount",
        "2500",
        "requester.id",
        "u-1042",
        "evidence.customer_record",
    ] {
        assert!(fields.contains(want), "{want} in {fields}");
    }
    for name in [
        "impact_estimate",
        "policy_match",
        "customer_record",
        "alternatives",
    ] {
        assert!(
            page.text
                .contains(&format!("data-evidence=\"{name}\" data-present=\"true\"")),
            "{name}: {}",
            page.text
        );
    }
    assert!(text(&page, "evidence").contains("refund-policy-2024 section 3.2"));

    let rules = text(&page, "rules");
    for want in [
        "large_refund",
        "finance.gate:27:6",
        "REFUND_ABOVE_THRESHOLD",
        "irreversible_action",
        "guardrails.gate:40:6",
        "IRREVERSIBLE_ACTION",
        "determining",
    ] {
        assert!(rules.contains(want), "{want} in {rules}");
    }
    assert!(text(&page, "approvals-given").contains("None yet"));
    let needed = text(&page, "approvals-needed");
    for want in [
        "1 approval",
        "finance_approver",
        "action.amount <= 10000",
        "Still missing: 1 approval",
    ] {
        assert!(needed.contains(want), "{want} in {needed}");
    }
    let forbidden = text(&page, "may-not-approve");
    for want in [
        "u-1042",
        "requester.id",
        "u-2001",
        "agent.owner",
        "agent-refunds",
    ] {
        assert!(forbidden.contains(want), "{want} in {forbidden}");
    }
    assert_eq!(
        attr(&page, "deadline", "data-deadline-unix"),
        request["deadline_unix"].as_i64().map(|d| d.to_string())
    );
    assert!(text(&page, "countdown").contains("left"), "{}", page.text);
    assert!(text(&page, "on-expiry").contains("escalates it once to operations_manager"));
    assert!(text(&page, "conditions").contains("None"));
    assert!(text(&page, "execution").contains("Not claimed"));

    // The form: the digest shown, a required reason (explicit), three buttons.
    assert!(has(&page, "review"), "{}", page.text);
    assert_eq!(
        hidden_field(&page.text, "action_digest").as_deref(),
        request["action_digest"].as_str()
    );
    assert!(
        page.text
            .contains("name=\"reason\" maxlength=\"4096\" required")
    );
    for button in ["approve", "reject", "request-changes"] {
        assert!(has(&page, button), "{button}");
    }
    assert!(!has(&page, "cannot-review"));
    assert!(
        page.text
            .contains(&format!("href=\"/console/requests/{id}/history\""))
    );
}

#[test]
fn the_explain_section_is_the_cli_account() {
    let c = cast();
    for name in ["refund-large.json", "iam-change.json"] {
        let action = example(name);
        let request = c.agent.create(&action);
        let fin = Console::signed_in(&c.server, "fin");
        let page = fin.get(&page_of(&id_of(&request)));
        let want = cli_explain(&action, request["created_at"].as_str().unwrap());
        assert!(want.contains("who must approve"), "{want}");
        assert_eq!(text(&page, "explain"), want, "{name}");
    }
}

#[test]
fn the_dual_iam_page_shows_both_groups_and_needs_two_people() {
    let c = cast();
    let request = c.agent.create(&example("iam-change.json"));
    let id = id_of(&request);
    let sec = Console::signed_in(&c.server, "sec");
    let page = sec.get(&page_of(&id));
    assert_eq!(page.status, 200);
    assert!(text(&page, "explain").contains("DUAL: two distinct authorized people must approve"));
    let needed = text(&page, "approvals-needed");
    for want in [
        "2 approvals",
        "distinct people",
        "distinct roles",
        "security_approver",
        "change_manager",
        "Still missing: 2 approvals",
    ] {
        assert!(needed.contains(want), "{want} in {needed}");
    }
    for name in ["risk_analysis", "diff", "test_result", "rollback_plan"] {
        assert!(
            page.text
                .contains(&format!("data-evidence=\"{name}\" data-present=\"true\""))
        );
    }
    let conditions = text(&page, "conditions");
    assert!(conditions.contains("change_window.open") && conditions.contains("holds now"));
    assert!(text(&page, "on-expiry").contains("rejects"));
    assert!(text(&page, "rules").contains("IAM_CHANGE"));
    assert!(text(&page, "may-not-approve").contains("u-9120"));

    // First approval: still pending, shown so.
    let done = review(
        &sec,
        &id,
        &[("decision", "approve"), ("reason", "scoped to one project")],
    );
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(
        done.location(),
        Some(format!("/console/requests/{id}?reviewed=1").as_str())
    );
    let after = sec.get(done.location().unwrap());
    assert_eq!(text(&after, "review-result-state"), "pending");
    assert_eq!(state(&c, &id)["state"], "pending");
    assert!(text(&after, "approvals-given").contains("sec"));
    assert!(text(&after, "approvals-needed").contains("Still missing: 1 approval"));

    // The same person again: no form, and a forged post is refused.
    assert!(!has(&after, "review"), "{}", after.text);
    assert_eq!(text(&after, "cannot-review-code"), "SAME_APPROVER_TWICE");
    let token = after.csrf().unwrap();
    let twice = sec.post_form(
        &review_path(&id),
        &[
            ("_csrf", &token),
            ("action_digest", request["action_digest"].as_str().unwrap()),
            ("decision", "approve"),
            ("reason", "again"),
        ],
    );
    assert_eq!(twice.status, 409, "{}", twice.text);
    assert_eq!(text(&twice, "review-error-code"), "SAME_APPROVER_TWICE");
    assert_eq!(state(&c, &id)["approvals"].as_array().unwrap().len(), 1);

    // The second person completes it.
    let chg = Console::signed_in(&c.server, "chg");
    let done = review(
        &chg,
        &id,
        &[("decision", "approve"), ("reason", "change window open")],
    );
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(
        text(&chg.get(done.location().unwrap()), "review-result-state"),
        "approved"
    );
    assert_eq!(state(&c, &id)["state"], "approved");
}

#[test]
fn a_review_with_a_reason_approves_and_the_api_says_so() {
    let c = cast();
    let id = id_of(&c.agent.create(&example("refund-large.json")));
    let fin = Console::signed_in(&c.server, "fin");
    let done = review(
        &fin,
        &id,
        &[
            ("decision", "approve"),
            ("reason", "within the 30-day window"),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.text);
    let after = fin.get(done.location().unwrap());
    assert_eq!(text(&after, "review-result-state"), "approved");
    assert_eq!(text(&after, "request-state"), "approved");
    // Decided: the countdown stops.
    assert!(text(&after, "countdown").contains("no longer running"));
    assert_eq!(attr(&after, "deadline", "data-deadline-unix"), None);
    let api = state(&c, &id);
    assert_eq!(api["state"], "approved");
    assert_eq!(api["approvals"][0]["approval"]["approver"], "fin");
    assert_eq!(
        api["approvals"][0]["approval"]["reason"],
        "within the 30-day window"
    );
    let given = text(&after, "approvals-given");
    assert!(given.contains("within the 30-day window") && given.contains("dev_sign_in"));
}

#[test]
fn the_requester_gets_no_form_and_a_forged_review_is_refused() {
    let c = cast();
    // The person the action names as its requester...
    let mut action = example("refund-large.json");
    action["requester"]["id"] = json!("fin");
    let request = c.agent.create(&action);
    let id = id_of(&request);
    let fin = Console::signed_in(&c.server, "fin");
    let page = fin.get(&page_of(&id));
    assert_eq!(page.status, 200);
    assert!(!has(&page, "review"), "{}", page.text);
    assert_eq!(text(&page, "cannot-review-code"), "SELF_APPROVAL");
    assert!(text(&page, "cannot-review").contains("requester"));
    let token = page.csrf().expect("the sign-out form's token");
    let forged = fin.post_form(
        &review_path(&id),
        &[
            ("_csrf", &token),
            ("action_digest", request["action_digest"].as_str().unwrap()),
            ("decision", "approve"),
            ("reason", "mine, fine"),
        ],
    );
    assert_eq!(forged.status, 403, "{}", forged.text);
    assert_eq!(text(&forged, "review-error-code"), "SELF_APPROVAL");
    let api = state(&c, &id);
    assert_eq!(api["state"], "pending");
    assert_eq!(api["approvals"], json!([]));

    // ... and the identity that created the request through the API.
    let both = c.server.as_token(&c.server.key(
        "fin-bot",
        &["request", "approve"],
        &["finance_approver"],
    ));
    let own = id_of(&both.create(&example("refund-large.json")));
    let bot = Console::signed_in(&c.server, "fin-bot");
    let page = bot.get(&page_of(&own));
    assert!(!has(&page, "review"));
    assert_eq!(text(&page, "cannot-review-code"), "SELF_APPROVAL");
    assert!(text(&page, "may-not-approve").contains("fin-bot"));
}

#[test]
fn a_rejection_without_a_reason_is_refused_and_the_typed_text_kept() {
    let c = cast();
    let id = id_of(&c.agent.create(&example("refund-large.json")));
    let fin = Console::signed_in(&c.server, "fin");
    let refused = review(&fin, &id, &[("decision", "reject"), ("reason", "   ")]);
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(text(&refused, "review-error-code"), "REASON_REQUIRED");
    assert!(has(&refused, "review"), "the form is offered again");
    assert_eq!(state(&c, &id)["state"], "pending");
    // A refusal for another cause keeps what was typed.
    let page = fin.get(&page_of(&id));
    let kept = fin.post_form(
        &review_path(&id),
        &[
            ("_csrf", &page.csrf().unwrap()),
            ("action_digest", "sha256:0000"),
            ("decision", "reject"),
            ("reason", "amount <b>too</b> high"),
        ],
    );
    assert_eq!(kept.status, 409, "{}", kept.text);
    assert_eq!(text(&kept, "review-error-code"), "DIGEST_MISMATCH");
    assert!(
        kept.text
            .contains(">amount &lt;b&gt;too&lt;/b&gt; high</textarea>"),
        "{}",
        kept.text
    );
    assert_eq!(state(&c, &id)["state"], "pending");
    assert_eq!(state(&c, &id)["approvals"], json!([]));
}

#[test]
fn the_identity_is_the_sessions_whatever_the_form_says() {
    let c = cast();
    let id = id_of(&c.agent.create(&example("refund-large.json")));
    let fin = Console::signed_in(&c.server, "fin");
    let done = review(
        &fin,
        &id,
        &[
            ("decision", "approve"),
            ("reason", "fine"),
            ("approver", "fin2"),
            ("identity", "fin2"),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.text);
    let answer = c.admin.send(
        c.admin
            .request(reqwest::Method::GET, &format!("/v1/requests/{id}/audit")),
    );
    let approve: Json = answer
        .text
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .find(|r| r["event"] == "approve_complete")
        .expect("an approval record");
    assert_eq!(approve["actor"]["id"], "fin", "{approve}");
    assert_eq!(approve["actor"]["method"], "dev_sign_in", "{approve}");
    assert!(!answer.text.contains("fin2"), "{}", answer.text);
}

#[test]
fn a_digest_other_than_the_requests_is_refused() {
    let c = cast();
    let id = id_of(&c.agent.create(&example("refund-large.json")));
    let fin = Console::signed_in(&c.server, "fin");
    let other = c.agent.create(&example("refund-small.json"));
    let refused = fin.submit(
        &page_of(&id),
        &review_path(&id),
        &[
            ("action_digest", other["action_digest"].as_str().unwrap()),
            ("decision", "approve"),
            ("reason", "ok"),
        ],
    );
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(text(&refused, "review-error-code"), "DIGEST_MISMATCH");
    // Without any digest the console refuses too (it reviews what it showed).
    let bare = fin.submit(
        &page_of(&id),
        &review_path(&id),
        &[("decision", "approve"), ("reason", "ok")],
    );
    assert_eq!(bare.status, 422, "{}", bare.text);
    assert_eq!(state(&c, &id)["state"], "pending");
}

#[test]
fn agent_written_html_and_urls_are_text() {
    let c = cast();
    let mut action = example("refund-large.json");
    action["action"]["summary"] = json!("<script>alert('s')</script> refund");
    action["evidence"]["policy_match"] = json!("<img src=x onerror=alert(1)>");
    action["evidence"]["customer_record"] = json!("see https://evil.example/account?id=1");
    action["requester"]["id"] = json!("<b>u-1</b>");
    let id = id_of(&c.agent.create(&action));
    let fin = Console::signed_in(&c.server, "fin");
    let page = fin.get(&page_of(&id));
    assert_eq!(page.status, 200, "{}", page.text);
    for raw in ["<script>alert", "<img src=x", "<b>u-1</b>"] {
        assert!(!page.text.contains(raw), "raw {raw} in the page");
    }
    assert!(
        page.text
            .contains("&lt;script&gt;alert('s')&lt;/script&gt;")
    );
    assert!(page.text.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!page.text.contains("href=\"https://evil.example"));
    assert!(
        page.text
            .contains("/console/leave?to=https%3A%2F%2Fevil.example%2Faccount%3Fid%3D1")
    );
    // The evidence value is marked as the agent's.
    let evidence = page.text_of("evidence").unwrap();
    assert!(evidence.contains("see "), "{evidence}");
    let at = page.text.find("data-evidence=\"policy_match\"").unwrap();
    assert!(page.text[at..at + 300].contains("agent-provided"));
}

#[test]
fn missing_evidence_is_shown_missing() {
    let c = cast();
    let mut action = example("refund-large.json");
    action["evidence"]
        .as_object_mut()
        .unwrap()
        .remove("alternatives");
    let id = id_of(&c.agent.create(&action));
    let fin = Console::signed_in(&c.server, "fin");
    let page = fin.get(&page_of(&id));
    assert!(
        page.text
            .contains("data-evidence=\"alternatives\" data-present=\"false\""),
        "{}",
        page.text
    );
    assert!(text(&page, "evidence").contains("MISSING"));
    assert!(
        page.text
            .contains("data-evidence=\"policy_match\" data-present=\"true\"")
    );
}

#[test]
fn an_expired_request_shows_what_its_deadline_did() {
    let server = crate::expiry::start("");
    let cast = crate::expiry::Cast::new(&server);
    let rejected = cast.agent.create(&crate::expiry::action("reject_late"));
    let escalated = cast.agent.create(&crate::expiry::action("escalate_late"));
    for r in [&rejected, &escalated] {
        crate::expiry::wait_past(
            &cast.rita,
            r["id"].as_str().unwrap(),
            r["version"].as_i64().unwrap(),
        );
    }
    let rita = Console::signed_in(&server, "rita");
    let page = rita.get(&page_of(&id_of(&rejected)));
    assert_eq!(text(&page, "request-state"), "rejected");
    assert_eq!(
        attr(&page, "expiry-result", "data-result").as_deref(),
        Some("rejected")
    );
    let result = text(&page, "expiry-result");
    assert!(
        result.contains("expire") && result.contains("by the gate"),
        "{result}"
    );
    assert!(text(&page, "countdown").contains("deadline passed"));
    assert!(!has(&page, "review"));
    assert_eq!(text(&page, "cannot-review-code"), "REQUEST_FINAL");

    let page = rita.get(&page_of(&id_of(&escalated)));
    assert_eq!(text(&page, "request-state"), "pending");
    assert_eq!(
        attr(&page, "expiry-result", "data-result").as_deref(),
        Some("escalated")
    );
    assert!(text(&page, "expiry-result").contains("director"));
    assert!(text(&page, "approvals-needed").contains("Escalated at the deadline to director"));
    // rita is no director: the escalated request is not hers to review.
    assert_eq!(text(&page, "cannot-review-code"), "ROLE_NOT_ELIGIBLE");
}

#[test]
fn the_timeline_lists_every_record_with_its_actor() {
    let c = cast();
    let id = id_of(&c.agent.create(&example("refund-large.json")));
    let fin = Console::signed_in(&c.server, "fin");
    assert_eq!(
        review(&fin, &id, &[("decision", "approve"), ("reason", "ok")]).status,
        303
    );
    let page = fin.get(&format!("/console/requests/{id}/history"));
    assert_eq!(page.status, 200, "{}", page.text);
    let entries = timeline(&page);
    let answer = c.admin.send(
        c.admin
            .request(reqwest::Method::GET, &format!("/v1/requests/{id}/audit")),
    );
    let seqs: Vec<i64> = answer
        .text
        .lines()
        .map(|l| {
            serde_json::from_str::<Json>(l).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(entries.iter().map(|e| e.0).collect::<Vec<_>>(), seqs);
    assert_eq!(
        entries.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        ["", "decide", "queue", "approve_complete"]
    );
    let all = unescape(&page.text_of("timeline").unwrap());
    assert!(all.contains("decided by policy ai-agent-actions"), "{all}");
    assert!(all.contains("agent-refunds (api_key)"), "{all}");
    assert!(all.contains("fin (dev_sign_in)"), "{all}");
    assert!(all.contains("pending → approved"), "{all}");
}

#[test]
fn unknown_and_malformed_ids_are_404_pages() {
    let c = cast();
    let fin = Console::signed_in(&c.server, "fin");
    for path in [
        "/console/requests/req_0123456789abcdef0123456789abcdef".to_owned(),
        "/console/requests/req_nope".to_owned(),
        "/console/requests/%3Cscript%3E".to_owned(),
        "/console/requests/req_0123456789abcdef0123456789abcdef/history".to_owned(),
    ] {
        let page = fin.get(&path);
        assert_eq!(page.status, 404, "{path}: {}", page.text);
        assert_eq!(text(&page, "error-code"), "NOT_FOUND");
        assert!(!page.text.contains("<script>"));
    }
    // A review of an unknown request: the 404 page, nothing created.
    let token = fin.get("/console/").csrf().unwrap();
    let missing = fin.post_form(
        "/console/requests/req_0123456789abcdef0123456789abcdef/review",
        &[
            ("_csrf", &token),
            ("action_digest", "sha256:00"),
            ("decision", "approve"),
            ("reason", "x"),
        ],
    );
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_eq!(text(&missing, "error-code"), "NOT_FOUND");
}

#[test]
fn a_review_without_the_csrf_token_is_refused_and_changes_nothing() {
    let c = cast();
    let request = c.agent.create(&example("refund-large.json"));
    let id = id_of(&request);
    let fin = Console::signed_in(&c.server, "fin");
    let refused = fin.post_form(
        &review_path(&id),
        &[
            ("action_digest", request["action_digest"].as_str().unwrap()),
            ("decision", "approve"),
            ("reason", "ok"),
        ],
    );
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(text(&refused, "error-code"), "CSRF_REJECTED");
    assert_eq!(state(&c, &id)["state"], "pending");
    // Without a session: to the sign-in page, nothing reviewed.
    let anonymous = Console::new(&c.server);
    assert_eq!(anonymous.get(&page_of(&id)).status, 303);
    assert_eq!(state(&c, &id)["approvals"], json!([]));
}

#[test]
fn conditions_a_person_confirms_and_the_execution_are_shown() {
    let c = cast();
    let robot = id_of(&c.agent.create(&example("robot-operation.json")));
    let fin = Console::signed_in(&c.server, "fin");
    let page = fin.get(&page_of(&robot));
    let conditions = text(&page, "conditions");
    assert!(
        conditions.contains("human-supervised execution")
            && conditions.contains("to be confirmed by a person"),
        "{conditions}"
    );
    assert!(text(&page, "on-expiry").contains("blocks"));

    // An approved refund, claimed, executed and verified by the agent.
    let action = example("refund-large.json");
    let id = id_of(&c.agent.create(&action));
    assert_eq!(
        review(&fin, &id, &[("decision", "approve"), ("reason", "ok")]).status,
        303
    );
    let (status, body) = c.agent.claim(&id, &action);
    assert_eq!(status, 200, "{body}");
    let (status, body) = c.agent.post(
        &format!("/v1/requests/{id}/executed"),
        &json!({"result": "<img src=x onerror=alert(2)> see https://evil.example/r"}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = c.agent.post(
        &format!("/v1/requests/{id}/verified"),
        &json!({"check": "refund visible in the ledger"}),
    );
    assert_eq!(status, 200, "{body}");
    let page = fin.get(&page_of(&id));
    assert_eq!(text(&page, "request-state"), "verified");
    let execution = text(&page, "execution");
    for want in [
        "Claimed at",
        "agent-refunds",
        "Executed at",
        "Verified at",
        "refund visible in the ledger",
    ] {
        assert!(execution.contains(want), "{want} in {execution}");
    }
    assert!(!page.text.contains("<img src=x"));
    assert!(!page.text.contains("href=\"https://evil.example"));
    let history = fin.get(&format!("/console/requests/{id}/history"));
    let events: Vec<String> = timeline(&history).into_iter().map(|e| e.1).collect();
    assert_eq!(
        events,
        [
            "",
            "decide",
            "queue",
            "approve_complete",
            "claim",
            "complete",
            "verify"
        ]
    );
    assert!(!history.text.contains("<img src=x"));
}

#[test]
fn a_blocked_invalid_action_reads_with_its_input_errors_marked() {
    let c = cast();
    let action = example("invalid-input.json");
    let request = c.agent.create(&action);
    assert_eq!(request["state"], "blocked", "{request}");
    let fin = Console::signed_in(&c.server, "fin");
    let page = fin.get(&page_of(&id_of(&request)));
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(
        text(&page, "explain"),
        cli_explain(&action, request["created_at"].as_str().unwrap())
    );
    assert!(
        page.text
            .contains("  - input <span class=\"agent-provided\""),
        "input errors quote the action: {}",
        page.text
    );
    assert!(text(&page, "rules").contains("INVALID_INPUT"));
    assert_eq!(text(&page, "cannot-review-code"), "REQUEST_FINAL");
    assert!(text(&page, "approvals-needed").contains("needs no approval"));
}
