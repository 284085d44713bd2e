//! Policy hot reload through a real process: a changed file is served
//! after a few reload intervals, SIGHUP and `POST /v1/admin/reload` reload
//! on demand, a broken edit keeps the old set (health degraded, metric,
//! log), a held request keeps the policy it was decided under, and a claim
//! under a stricter policy reopens the request for the extra approval.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::harness::{Options, Server, assert_problem, example, shipped_policy};
use crate::webhooks::{metric, wait_log};

/// The refund rule's approver line in finance.gate (asserted present, so
/// an edit of the shipped set fails these tests loudly, not silently).
const REFUND_LEAD: &str = "then tier 3, approve support_lead\n  because REFUND\n";

/// A copy of the shipped policy set in `dir`, with `edit` applied.
fn policy_copy(dir: &Path, edit: impl Fn(&str, String) -> String) -> PathBuf {
    let to = dir.join("policies");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(shipped_policy()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(to.join(&name), edit(&name, text)).unwrap();
    }
    to
}

/// Replaces `from` by `to` in one policy file (which must contain it).
fn edit_file(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} lacks {from:?}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

/// The refund rule asking for a higher role (finance) than the shipped one.
fn stricter(dir: &Path) {
    edit_file(
        dir,
        "finance.gate",
        REFUND_LEAD,
        "then tier 3, approve finance_approver\n  because REFUND\n",
    );
}

fn health(server: &Server) -> Json {
    let (status, body) = server.anonymous().get("/health");
    assert_eq!(status, 200, "{body}");
    body
}

fn digest(server: &Server) -> String {
    health(server)["policy"]["digest"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits (up to 60 s) until `/health` satisfies `ok`.
fn wait_health(server: &Server, what: &str, ok: impl Fn(&Json) -> bool) -> Json {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let h = health(server);
        if ok(&h) {
            return h;
        }
        assert!(Instant::now() < deadline, "{what}: {h}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn roles_of_decision(decision: &Json) -> Vec<String> {
    decision["approvals"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["roles"].as_array().unwrap().iter())
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

fn server_on(policy: PathBuf, interval_ms: u64) -> Server {
    Server::start_with(Options {
        policy: Some(policy),
        config: Some(format!("reload_interval_ms = {interval_ms}\n")),
        ..Options::default()
    })
}

#[test]
fn an_edited_policy_is_served_within_a_few_reload_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_copy(dir.path(), |_, t| t);
    let server = server_on(policies.clone(), 100);
    let agent = server.as_token(&server.key("agent", &["decide"], &[]));
    let before = digest(&server);
    let (status, d) = agent.post("/v1/decide", &example("refund-small.json"));
    assert_eq!(status, 200, "{d}");
    assert_eq!(roles_of_decision(&d), ["support_lead"]);
    assert_eq!(d["policy"]["digest"], before.as_str());

    stricter(&policies);
    let h = wait_health(&server, "the edit is served", |h| {
        h["policy"]["digest"] != before.as_str()
    });
    assert_eq!(h["status"], "ok");
    assert_eq!(h["reload"]["reloads"], 1);
    let (status, d) = agent.post("/v1/decide", &example("refund-small.json"));
    assert_eq!(status, 200, "{d}");
    assert_eq!(roles_of_decision(&d), ["finance_approver"]);
    assert_eq!(d["policy"]["digest"], h["policy"]["digest"]);
    wait_log(&server, "policy set reloaded");
}

#[test]
fn a_broken_edit_keeps_the_old_set_and_reports_on_health_metrics_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_copy(dir.path(), |_, t| t);
    let server = server_on(policies.clone(), 100);
    let agent = server.as_token(&server.key("agent", &["decide"], &[]));
    let before = digest(&server);
    assert_eq!(health(&server)["status"], "ok");
    assert_eq!(metric(&server, "gatehouse_reload_failures_total"), 0.0);

    let original = std::fs::read_to_string(policies.join("finance.gate")).unwrap();
    std::fs::write(
        policies.join("finance.gate"),
        format!("{original}\nrule broken \"no condition\"\n  then tier 99\n"),
    )
    .unwrap();
    let h = wait_health(&server, "the broken edit is reported", |h| {
        h["status"] == "degraded"
    });
    assert_eq!(h["policy"]["digest"], before.as_str(), "the old set stays");
    let error = h["reload"]["error"].as_str().unwrap();
    assert!(error.contains("finance.gate"), "{error}");
    assert!(metric(&server, "gatehouse_reload_failures_total") >= 1.0);
    wait_log(
        &server,
        "reload refused; the previous policy set stays in force",
    );
    // Decisions go on under the old set.
    let (status, d) = agent.post("/v1/decide", &example("refund-small.json"));
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["policy"]["digest"], before.as_str());
    assert_eq!(roles_of_decision(&d), ["support_lead"]);
    // The /ready probe stays ready: the old set still serves.
    assert_eq!(server.anonymous().get("/ready").0, 200);

    // Repaired: healthy again, same digest.
    std::fs::write(policies.join("finance.gate"), original).unwrap();
    let h = wait_health(&server, "the repair clears the error", |h| {
        h["status"] == "ok"
    });
    assert_eq!(h["policy"]["digest"], before.as_str());
    assert!(h["reload"]["error"].is_null());
}

#[test]
fn sighup_and_the_admin_endpoint_reload_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_copy(dir.path(), |_, t| t);
    // 0: no polling; only SIGHUP and the endpoint reload.
    let server = server_on(policies.clone(), 0);
    let admin = server.as_token(&server.admin);
    let before = digest(&server);

    stricter(&policies);
    let status = std::process::Command::new("kill")
        .arg("-HUP")
        .arg(server.pid().to_string())
        .status()
        .expect("kill(1) is part of every POSIX system (procps in Debian)");
    assert!(status.success());
    let h = wait_health(&server, "SIGHUP reloads", |h| {
        h["policy"]["digest"] != before.as_str()
    });
    let stricter_digest = h["policy"]["digest"].as_str().unwrap().to_owned();

    // Back to the shipped text, through the endpoint.
    edit_file(
        &policies,
        "finance.gate",
        "then tier 3, approve finance_approver\n  because REFUND\n",
        REFUND_LEAD,
    );
    let (status, body) = admin.post("/v1/admin/reload", &json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], true);
    assert_eq!(body["digest"], before.as_str());
    let (status, body) = admin.post("/v1/admin/reload", &json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], false, "nothing changed: no new set");
    assert_ne!(stricter_digest, before);

    // Only an admin may reload.
    let agent = server.as_token(&server.key("agent", &["request", "decide"], &[]));
    let refused = agent.post_text("/v1/admin/reload", "{}");
    assert_eq!(refused.status, 403, "{}", refused.text);

    // A broken set is refused with 422 and the reason; the old set stays.
    std::fs::write(policies.join("finance.gate"), "rule {{{").unwrap();
    let refused = admin.post_text("/v1/admin/reload", "{}");
    assert_problem(&refused, 422, "POLICY_INVALID");
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("finance.gate")
    );
    let h = health(&server);
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["policy"]["digest"], before.as_str());
    assert!(metric(&server, "gatehouse_reload_failures_total") >= 1.0);
}

#[test]
fn a_claim_under_a_stricter_policy_reopens_the_request_for_the_extra_approval() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_copy(dir.path(), |_, t| t);
    let server = server_on(policies.clone(), 0);
    let admin = server.as_token(&server.admin);
    let agent = server.as_token(&server.key("agent-refunds", &["request", "execute"], &[]));
    let lead = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let finance = server.as_token(&server.key("frank", &["approve"], &["finance_approver"]));
    let action = example("refund-small.json");

    let request = agent.create(&action);
    let id = request["id"].as_str().unwrap().to_owned();
    let first = request["policy_digest"].as_str().unwrap().to_owned();
    assert_eq!(request["roles"], json!(["support_lead"]));

    stricter(&policies);
    let (status, body) = admin.post("/v1/admin/reload", &json!({}));
    assert_eq!(status, 200, "{body}");
    let second = body["digest"].as_str().unwrap().to_owned();
    assert_ne!(first, second);

    // The held request keeps its policy: the lead's approval is judged by it.
    let (_, held) = agent.get(&format!("/v1/requests/{id}"));
    assert_eq!(held["policy_digest"], first.as_str());
    assert_eq!(held["roles"], json!(["support_lead"]));
    let (status, approved) = lead.review(&id, "approve", "damaged in transit");
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["state"], "approved");

    // The claim re-decides under the policy in force, which wants finance.
    let claim = agent.post_text(&format!("/v1/requests/{id}/claim"), &action.to_string());
    assert_problem(&claim, 409, "REAPPROVAL_REQUIRED");
    let (_, reopened) = agent.get(&format!("/v1/requests/{id}"));
    assert_eq!(reopened["state"], "pending");
    assert_eq!(reopened["policy_digest"], second.as_str());
    assert_eq!(reopened["roles"], json!(["finance_approver"]));

    // The lead's role no longer suffices; finance's approval does.
    let (status, body) = lead.review(&id, "approve", "again");
    assert_ne!(status, 200, "{body}");
    let (status, body) = finance.review(&id, "approve", "within my limit");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "approved");
    let (status, claimed) = agent.claim(&id, &action);
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(claimed["state"], "executing");
}

#[test]
fn a_looser_policy_never_loosens_what_a_held_request_needs() {
    let dir = tempfile::tempdir().unwrap();
    // Starts strict: refunds need finance.
    let policies = policy_copy(dir.path(), |_, t| t);
    stricter(&policies);
    let server = server_on(policies.clone(), 0);
    let admin = server.as_token(&server.admin);
    let agent = server.as_token(&server.key("agent-refunds", &["request", "execute"], &[]));
    let lead = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let finance = server.as_token(&server.key("frank", &["approve"], &["finance_approver"]));
    let action = example("refund-small.json");
    let request = agent.create(&action);
    let id = request["id"].as_str().unwrap().to_owned();
    assert_eq!(request["roles"], json!(["finance_approver"]));

    // Looser: the lead or finance.
    edit_file(
        &policies,
        "finance.gate",
        "then tier 3, approve finance_approver\n  because REFUND\n",
        "then tier 3, approve support_lead or finance_approver\n  because REFUND\n",
    );
    let (status, body) = admin.post("/v1/admin/reload", &json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], true);

    // The held request still needs finance: the lead cannot approve it.
    let (status, body) = lead.review(&id, "approve", "looks fine");
    assert_ne!(status, 200, "{body}");
    let (_, held) = agent.get(&format!("/v1/requests/{id}"));
    assert_eq!(held["state"], "pending");
    assert_eq!(held["roles"], json!(["finance_approver"]));
    assert_eq!(held["policy_digest"], request["policy_digest"]);
    let claim = agent.post_text(&format!("/v1/requests/{id}/claim"), &action.to_string());
    assert_problem(&claim, 409, "ILLEGAL_TRANSITION");

    // Finance approves; the claim under the looser policy is granted.
    let (status, body) = finance.review(&id, "approve", "ok");
    assert_eq!(status, 200, "{body}");
    let (status, claimed) = agent.claim(&id, &action);
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(claimed["state"], "executing");
}
