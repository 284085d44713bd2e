//! Shadow (candidate) policies through a real `gatehouse serve`
//! (docs/shadow.md): the candidate's decision is recorded beside the
//! enforced one (the request view, the `decide` record, `GET /v1/shadow`,
//! metrics, the console) and never enforced, whether it is looser or
//! stricter; a broken shadow keeps the last good one on reload and stops
//! the gate from starting; the audit chain verifies and `gatehouse replay`
//! stays identical.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::console_client::Console as Browserless;
use crate::console_common::{APPROVERS, start};
use crate::harness::{Options, Server, assert_problem, example, shipped_policy};
use crate::webhooks::{metric, wait_log};

/// A candidate that blocks every action.
const BLOCK_ALL: &str = "policy \"block-everything\" version \"1.0.0\"\n\nreason BLOCKED \"the candidate blocks every action\"\n\ntier 0 \"blocked\" { outcome block }\n\ndefault tier 0 because BLOCKED\n";
/// A candidate that approves every action.
const AUTO_ALL: &str = "policy \"auto-everything\" version \"1.0.0\"\n\nreason AUTO \"the candidate approves every action\"\n\ntier 0 \"auto\" { outcome auto }\n\ndefault tier 0 because AUTO\n";

/// A one-file policy set in `dir/name/main.gate`.
fn set(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("main.gate"), text).unwrap();
    path
}

fn shadow_config(path: &Path, extra: &str) -> String {
    // Top-level keys first: after `[shadow]` they would belong to it.
    format!("{extra}\n[shadow]\npolicy = {:?}\n", path.to_str().unwrap())
}

fn server_with_shadow(path: &Path, extra: &str) -> Server {
    Server::start_with(Options {
        config: Some(shadow_config(path, extra)),
        ..Options::default()
    })
}

/// The create answer without what differs between any two requests.
fn enforced_part(body: &Json) -> Json {
    let mut v = body.clone();
    let o = v.as_object_mut().unwrap();
    for k in [
        "id",
        "created_at",
        "created_unix",
        "updated_at",
        "deadline",
        "deadline_unix",
    ] {
        o.shift_remove(k);
    }
    if let Some(t) = v
        .pointer_mut("/decision/timeout")
        .and_then(Json::as_object_mut)
    {
        t.shift_remove("expires_at");
    }
    v
}

const EXAMPLES: &[&str] = &[
    "internal-summary.json",
    "refund-small.json",
    "crm-update.json",
    "iam-change.json",
];

/// The `decide` record of a request.
fn decide_record(reader: &crate::harness::Client, id: &str) -> Json {
    let a = reader.send(reader.request(reqwest::Method::GET, &format!("/v1/requests/{id}/audit")));
    assert_eq!(a.status, 200, "{}", a.text);
    a.text
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .find(|r| r["event"] == "decide")
        .unwrap_or_else(|| panic!("a decide record: {}", a.text))
}

/// Looser and stricter candidates alike: the answers, states, roles and
/// the claim's verdict are the enforced policy's; the shadow is in the
/// view, the decide record, the listing and the metrics.
#[test]
fn the_shadow_is_recorded_beside_the_enforced_decision_and_never_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let plain = Server::start();
    let plain_agent = plain.as_token(&plain.key("agent", &["request", "execute"], &[]));
    for (candidate, text) in [("auto", AUTO_ALL), ("block", BLOCK_ALL)] {
        let shadow = set(dir.path(), candidate, text);
        let server = server_with_shadow(&shadow, "");
        let agent = server.as_token(&server.key("agent", &["request", "execute"], &[]));
        let reader = server.as_token(&server.key("auditor", &["read"], &[]));
        for name in EXAMPLES {
            let action = example(name);
            let (s1, without) = plain_agent.post("/v1/requests", &action);
            let (s2, with) = agent.post("/v1/requests", &action);
            assert_eq!((s1, s2), (201, 201), "{name}: {without} / {with}");
            assert!(
                with.get("shadow").is_none(),
                "the create answer holds no shadow: {with}"
            );
            assert_eq!(enforced_part(&without), enforced_part(&with), "{name}");
            let id = with["id"].as_str().unwrap();
            let (status, view) = reader.get(&format!("/v1/requests/{id}"));
            assert_eq!(status, 200);
            assert_eq!(view["state"], with["state"]);
            assert_eq!(
                view["shadow"]["policy"]["name"],
                format!("{candidate}-everything")
            );
            let shadow_outcome = if candidate == "auto" { "auto" } else { "block" };
            assert_eq!(view["shadow"]["decision"]["outcome"], shadow_outcome);
            let differs = view["shadow"]["differs"].as_bool().unwrap();
            // Every enforced decision has reasons of its own: the shadow's
            // single reason always differs.
            assert!(differs, "{view}");
            let record = decide_record(&reader, id);
            assert_eq!(record["detail"]["shadow"]["outcome"], shadow_outcome);
            assert_eq!(record["detail"]["shadow"]["differs"], true);
            assert_eq!(record["detail"]["outcome"], with["outcome"]);
        }
        // Never enforced: under an auto-everything shadow a pending refund
        // still cannot be claimed; under a block-everything one an auto
        // action still can.
        let (name, claim_status) = if candidate == "auto" {
            ("refund-small.json", 409)
        } else {
            ("internal-summary.json", 200)
        };
        let id = agent.create(&example(name))["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, body) = agent.claim(&id, &example(name));
        assert_eq!(status, claim_status, "{candidate}: {body}");
        assert_eq!(
            metric(
                &server,
                "gatehouse_shadow_decisions_total{differs=\"true\"}"
            ),
            (EXAMPLES.len() + 1) as f64
        );
        assert_eq!(
            metric(
                &server,
                "gatehouse_shadow_decisions_total{differs=\"false\"}"
            ),
            0.0
        );
        let (status, health) = server.anonymous().get("/health");
        assert_eq!(status, 200);
        assert_eq!(health["status"], "ok");
        assert_eq!(
            health["shadow"]["policy"]["name"],
            format!("{candidate}-everything")
        );
    }
    // Without a shadow the health document has no `shadow` member and the
    // view none either.
    let (_, health) = plain.anonymous().get("/health");
    assert!(health.get("shadow").is_none(), "{health}");
}

/// The same shadow set as the enforced one: recorded, `differs: false`.
#[test]
fn a_shadow_that_agrees_is_recorded_as_the_same_and_listed_with_differs_false() {
    let server = server_with_shadow(&shipped_policy(), "");
    let agent = server.as_token(&server.key("agent", &["request"], &[]));
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    let id = agent.create(&example("crm-update.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, view) = reader.get(&format!("/v1/requests/{id}"));
    assert_eq!(view["shadow"]["differs"], false, "{view}");
    assert_eq!(view["shadow"]["decision"]["outcome"], view["outcome"]);
    let (status, listed) = reader.get("/v1/shadow");
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["requests"], json!([]));
    let (status, listed) = reader.get("/v1/shadow?differs=false");
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["requests"][0]["id"], id.as_str());
    assert_eq!(
        metric(
            &server,
            "gatehouse_shadow_decisions_total{differs=\"false\"}"
        ),
        1.0
    );
}

/// `GET /v1/shadow`: newest first, paged with `before`, bounded by
/// `limit`; strict about its parameters; not for requesters alone.
#[test]
fn the_listing_pages_and_refuses_bad_queries_and_requesters() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_shadow(&set(dir.path(), "auto", AUTO_ALL), "");
    let agent = server.as_token(&server.key("agent", &["request"], &[]));
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            agent.create(&example("crm-update.json"))["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Explicit under the enforced policy, auto under the shadow: each differs.
    let (status, page) = reader.get("/v1/shadow?limit=2");
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["format"], "gatehouse.shadow-list/1");
    let first: Vec<&str> = page["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(first, [ids[4].as_str(), ids[3].as_str()]);
    let next = page["next_before"].as_str().unwrap();
    let (_, page2) = reader.get(&format!("/v1/shadow?limit=10&before={next}"));
    let rest: Vec<&str> = page2["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rest, [ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]);
    assert_eq!(page2["next_before"], Json::Null);
    assert_eq!(page2["requests"][0]["shadow"]["differs"], true);

    let long = format!("/v1/shadow?{}", "differs=true&".repeat(400));
    for bad in [
        "/v1/shadow?differs=yes",
        "/v1/shadow?differs=true&differs=false",
        "/v1/shadow?limit=0",
        "/v1/shadow?limit=99999999999",
        "/v1/shadow?before=req_%2e%2e",
        "/v1/shadow?before=REQ_0",
        "/v1/shadow?state=pending",
        long.as_str(),
    ] {
        let a = reader.send(reader.request(reqwest::Method::GET, bad));
        assert_problem(&a, 422, "INVALID_BODY");
    }
    let a = agent.send(agent.request(reqwest::Method::GET, "/v1/shadow"));
    assert_problem(&a, 403, "SCOPE_MISSING");
    let a = server.anonymous().send(
        server
            .anonymous()
            .request(reqwest::Method::GET, "/v1/shadow"),
    );
    assert_eq!(a.status, 401, "{}", a.text);
}

/// Agents never see a candidate's decision: it would tell them how to
/// shape their actions before the candidate is enforced. Every path that
/// answers an agent (create, read, list, long-poll, claim) leaves the
/// shadow out, `GET /v1/shadow` refuses `execute`, and readers and
/// reviewers still see it.
#[test]
fn agents_never_see_shadow_decisions_on_any_path() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_shadow(&set(dir.path(), "block", BLOCK_ALL), "");
    let agent = server.as_token(&server.key("agent", &["request", "execute"], &[]));
    let executor = server.as_token(&server.key("runner", &["execute"], &[]));
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    let approver = server.as_token(&server.key("lead", &["approve"], &["support_lead"]));
    let action = example("internal-summary.json");
    let (status, created) = agent.post("/v1/requests", &action);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let no_shadow = |what: &str, body: &Json| {
        assert!(
            !body.to_string().contains("block-everything"),
            "{what} shows the shadow: {body}"
        );
    };
    no_shadow("create", &created);
    for who in [&agent, &executor] {
        let (status, view) = who.get(&format!("/v1/requests/{id}"));
        assert_eq!(status, 200, "{view}");
        no_shadow("GET one", &view);
        let (status, list) = who.get("/v1/requests");
        assert_eq!(status, 200, "{list}");
        assert!(!list["requests"].as_array().unwrap().is_empty(), "{list}");
        no_shadow("list", &list);
        let (status, waited) = who.get(&format!("/v1/requests/{id}/wait?timeout=0"));
        assert_eq!(status, 200, "{waited}");
        no_shadow("wait", &waited);
    }
    let (status, claimed) = agent.claim(&id, &action);
    assert_eq!(status, 200, "{claimed}");
    no_shadow("claim", &claimed);
    for who in [&agent, &executor] {
        let a = who.send(who.request(reqwest::Method::GET, "/v1/shadow"));
        assert_problem(&a, 403, "SCOPE_MISSING");
    }
    // Readers and reviewers see it.
    for who in [&reader, &approver] {
        let (status, view) = who.get(&format!("/v1/requests/{id}"));
        assert_eq!(status, 200, "{view}");
        assert_eq!(
            view["shadow"]["policy"]["name"], "block-everything",
            "{view}"
        );
        let (status, listed) = who.get("/v1/shadow");
        assert_eq!(status, 200, "{listed}");
        assert_eq!(listed["requests"][0]["id"], id.as_str(), "{listed}");
    }
    let (_, list) = reader.get("/v1/requests");
    assert_eq!(
        list["requests"][0]["shadow"]["policy"]["name"], "block-everything",
        "{list}"
    );
}

/// Waits (up to 60 s) until `/health` satisfies `ok`.
fn wait_health(server: &Server, what: &str, ok: impl Fn(&Json) -> bool) -> Json {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, h) = server.anonymous().get("/health");
        if ok(&h) {
            return h;
        }
        assert!(Instant::now() < deadline, "{what}: {h}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A shadow edit that does not compile keeps the last good shadow (log,
/// metric, health) and never degrades the gate; a good edit is served.
#[test]
fn a_broken_shadow_reload_keeps_the_last_good_one_and_the_gate_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let shadow = set(dir.path(), "candidate", AUTO_ALL);
    let server = server_with_shadow(&shadow, "reload_interval_ms = 100");
    let agent = server.as_token(&server.key("agent", &["request"], &[]));
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    let (_, before) = server.anonymous().get("/health");
    let good = before["shadow"]["policy"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    std::fs::write(
        shadow.join("main.gate"),
        format!("{AUTO_ALL}\nrule broken \"no condition\"\n  then tier 99\n"),
    )
    .unwrap();
    let h = wait_health(&server, "the broken shadow is reported", |h| {
        h["shadow"]["error"].is_string()
    });
    assert_eq!(h["status"], "ok", "a broken shadow never degrades the gate");
    assert_eq!(h["shadow"]["policy"]["digest"], good.as_str());
    assert!(metric(&server, "gatehouse_shadow_reload_failures_total") >= 1.0);
    assert_eq!(metric(&server, "gatehouse_reload_failures_total"), 0.0);
    wait_log(&server, "shadow reload refused");
    let id = agent.create(&example("crm-update.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, view) = reader.get(&format!("/v1/requests/{id}"));
    assert_eq!(
        view["shadow"]["policy"]["digest"],
        good.as_str(),
        "the last good shadow"
    );
    let (_, listed) = reader.get("/v1/shadow");
    assert!(listed["shadow_error"].is_string(), "{listed}");

    std::fs::write(shadow.join("main.gate"), BLOCK_ALL).unwrap();
    let h = wait_health(&server, "the fixed shadow is served", |h| {
        h["shadow"]["error"].is_null() && h["shadow"]["policy"]["digest"] != good.as_str()
    });
    assert_eq!(h["shadow"]["policy"]["name"], "block-everything");
    let id = agent.create(&example("crm-update.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, view) = reader.get(&format!("/v1/requests/{id}"));
    assert_eq!(view["shadow"]["decision"]["outcome"], "block");
    assert_eq!(view["outcome"], "explicit", "still the enforced decision");
}

/// `--shadow-policy` (here through its variable) naming a set that does
/// not compile: the gate refuses to start, exit 2, with the diagnostic.
#[test]
fn a_shadow_that_does_not_compile_at_start_stops_the_gate_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let broken = set(
        dir.path(),
        "broken",
        "policy \"x\" version \"1\"\n\nrule r \"r\"\n  when nope == 1\n  then tier 9\n",
    );
    let data = dir.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["serve", "--listen", "127.0.0.1:0", "--policy"])
        .arg(shipped_policy())
        .arg("--shadow-policy")
        .arg(&broken)
        .arg("--data-dir")
        .arg(&data)
        .env_remove("GATEHOUSE_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("the shadow policy set does not compile"),
        "{err}"
    );
    assert!(err.contains("main.gate"), "{err}");
}

/// The chain with shadow details verifies; `gatehouse replay` of it is
/// identical under the enforced policy, and `--shadow` reports the
/// candidate's differences.
#[test]
fn the_chain_verifies_and_replay_stays_identical_with_a_shadow() {
    let dir = tempfile::tempdir().unwrap();
    let shadow = set(dir.path(), "block", BLOCK_ALL);
    let server = server_with_shadow(&shadow, "");
    let agent = server.as_token(&server.key("agent", &["request"], &[]));
    for name in [
        "crm-update.json",
        "internal-summary.json",
        "refund-small.json",
    ] {
        agent.create(&example(name));
    }
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    let a = reader.send(reader.request(reqwest::Method::GET, "/v1/audit?limit=10000"));
    assert_eq!(a.status, 200);
    let log = dir.path().join("chain.jsonl");
    std::fs::write(&log, &a.text).unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(args)
            .env_remove("GATEHOUSE_POLICY")
            .output()
            .unwrap()
    };
    let verified = run(&["audit".as_ref(), "verify".as_ref(), log.as_os_str()]);
    assert_eq!(verified.status.code(), Some(0), "{verified:?}");
    let replay = |extra: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "replay".as_ref(),
            log.as_os_str(),
            "--policy".as_ref(),
            shipped_policy().into_os_string().leak(),
            "--format".as_ref(),
            "json".as_ref(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let plain = replay(&[]);
    assert_eq!(plain.status.code(), Some(0), "{plain:?}");
    let report: Json = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(report["summary"]["decisions"], 3);
    assert_eq!(report["summary"]["identical"], 3, "{report:#}");
    let with = replay(&["--shadow".as_ref(), shadow.as_os_str()]);
    assert_eq!(with.status.code(), Some(0), "{with:?}");
    let with: Json = serde_json::from_slice(&with.stdout).unwrap();
    assert_eq!(with["summary"], report["summary"]);
    assert_eq!(with["shadow"]["decisions"], 3);
    assert_eq!(with["shadow"]["differ"], 3);
    // The decide records name the candidate.
    let decides = a
        .text
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .filter(|r| r["event"] == "decide")
        .count();
    assert_eq!(decides, 3);
    assert!(a.text.contains("\"block-everything\""));
}

/// The same Idempotency-Key answers the first answer byte for byte, with
/// no shadow in it.
#[test]
fn an_idempotent_retry_answers_the_enforced_answer_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_shadow(&set(dir.path(), "auto", AUTO_ALL), "");
    let agent = server.as_token(&server.key("agent", &["request"], &[]));
    let body = example("refund-small.json").to_string();
    let send = || {
        agent.send(
            agent
                .request(reqwest::Method::POST, "/v1/requests")
                .header("content-type", "application/json")
                .header("idempotency-key", "k-1")
                .body(body.clone()),
        )
    };
    let first = send();
    let again = send();
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(again.status, 201);
    assert_eq!(first.text, again.text);
    assert!(!first.text.contains("\"shadow\""), "{}", first.text);
}

/// The console: the panel on the request page and the page listing the
/// requests where the shadow differs (bounded, paged, strict query).
#[test]
fn the_console_shows_the_shadow_panel_and_the_differences_page() {
    let dir = tempfile::tempdir().unwrap();
    let shadow = set(dir.path(), "auto", AUTO_ALL);
    let console = start(APPROVERS, None, &shadow_config(&shadow, ""));
    let server = &console.server;
    let agent = server.as_token(&server.key("agent", &["request"], &[]));
    let id = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = Browserless::signed_in(server, "bob");
    let page = bob.get(&format!("/console/requests/{id}"));
    assert_eq!(page.status, 200, "{}", page.text);
    let verdict = page.text_of("shadow-verdict").expect("the panel");
    assert!(
        verdict.contains("Shadow policy auto-everything 1.0.0 would decide: auto (tier 0) (enforced: explicit (tier 3))"),
        "{verdict}"
    );
    let reasons = page.text_of("shadow-reasons").expect("the reasons");
    assert!(reasons.contains("only the shadow: AUTO"), "{reasons}");
    assert!(reasons.contains("only enforced: REFUND"), "{reasons}");
    assert!(
        page.text.contains("href=\"/console/shadow\""),
        "the nav link"
    );

    let list = bob.get("/console/shadow");
    assert_eq!(list.status, 200, "{}", list.text);
    let table = list.text_of("shadow-list").expect("the table");
    assert!(table.contains(&id), "{table}");
    assert!(list.text.contains("aria-current=\"page\""));
    for bad in [
        "/console/shadow?before=nope",
        "/console/shadow?other=1",
        "/console/shadow?before=req_1&before=req_2",
    ] {
        let p = bob.get(bad);
        assert_eq!(p.status, 400, "{bad}: {}", p.text);
        assert!(p.text.contains("INVALID_QUERY"), "{bad}");
    }
    // Signed out: the sign-in page, not the list.
    let anonymous = Browserless::new(server);
    let p = anonymous.get("/console/shadow");
    assert_ne!(p.status, 200);
}

/// The differences page and the request page with its shadow panel pass
/// axe (WCAG 2.x A/AA and best practices), and Tab walks the page in
/// order with a visible focus.
#[test]
fn the_shadow_pages_pass_axe_and_the_keyboard_walk() {
    use crate::browser::Browser;
    use crate::console_a11y::{assert_clean, assert_keyboard_walk, audit};
    use crate::console_common::{sign_in, url};
    let dir = tempfile::tempdir().unwrap();
    let shadow = set(dir.path(), "block", BLOCK_ALL);
    let console = start(APPROVERS, None, &shadow_config(&shadow, ""));
    let agent = console
        .server
        .as_token(&console.server.key("agent", &["request"], &[]));
    let id = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let browser = Browser::start();
    sign_in(&browser, &console, "bob");
    browser.goto(&url(&console, &format!("/console/requests/{id}")));
    assert!(browser.exists("#shadow-verdict"), "{}", browser.body_text());
    assert_clean(&audit(&browser, "request page with the shadow panel"));
    browser.goto(&url(&console, "/console/shadow"));
    assert!(
        browser.exists("table#shadow-list"),
        "{}",
        browser.body_text()
    );
    assert_clean(&audit(&browser, "shadow differences"));
    let walk = assert_keyboard_walk(&browser, "shadow differences");
    assert!(
        walk.iter()
            .any(|w| w.contains(&format!("href=\"/console/requests/{id}\""))),
        "the request's link: {walk:#?}"
    );
}

/// Requests created while the shadow set is swapped back and forth (admin
/// reloads racing the creates): each keeps a shadow decision consistent
/// with the shadow set it names, and every enforced answer is the same.
#[test]
fn creates_racing_shadow_reloads_record_a_consistent_shadow_and_enforce_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let shadow = set(dir.path(), "candidate", AUTO_ALL);
    let server = server_with_shadow(&shadow, "reload_interval_ms = 0");
    let agent = server.as_token(&server.key("agent", &["request"], &[]));
    let admin = server.as_token(&server.admin);
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    let action = example("refund-small.json");
    let reference = enforced_part(&agent.create(&action));
    let ids = std::thread::scope(|scope| {
        let creators: Vec<_> = (0..3)
            .map(|_| {
                let agent = agent.clone();
                let action = action.clone();
                scope.spawn(move || (0..8).map(|_| agent.create(&action)).collect::<Vec<Json>>())
            })
            .collect();
        for i in 0..8 {
            let text = if i % 2 == 0 { BLOCK_ALL } else { AUTO_ALL };
            std::fs::write(shadow.join("main.gate"), text).unwrap();
            let (status, body) = admin.post("/v1/admin/reload", &json!({}));
            assert_eq!(status, 200, "{body}");
        }
        creators
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect::<Vec<Json>>()
    });
    assert_eq!(ids.len(), 24);
    for created in ids {
        assert_eq!(enforced_part(&created), reference);
        let id = created["id"].as_str().unwrap();
        let (_, view) = reader.get(&format!("/v1/requests/{id}"));
        let name = view["shadow"]["policy"]["name"].as_str().unwrap();
        let outcome = view["shadow"]["decision"]["outcome"].as_str().unwrap();
        match name {
            "auto-everything" => assert_eq!(outcome, "auto"),
            "block-everything" => assert_eq!(outcome, "block"),
            other => panic!("an unknown shadow set {other}"),
        }
        assert_eq!(view["state"], "pending", "{view}");
    }
}
