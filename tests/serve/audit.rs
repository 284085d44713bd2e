//! The service's audit chain and approval credentials, checked offline by
//! the real CLI: `gatehouse audit verify` and `gatehouse replay` on the
//! exported chain (GET /v1/audit), `gatehouse verify --trust` on the
//! credentials the gate signed (a `[[gate]]` key in approvers.toml), and
//! tampering with the export or with the database found.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value as Json, json};

use crate::harness::{Client, Server, assert_problem, example, shipped_policy};

/// The chain's first `prev`: 64 zeros.
const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Runs the real `gatehouse` binary.
fn gatehouse(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env_remove("GATEHOUSE_POLICY")
        .output()
        .expect("run gatehouse")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn audit_verify(path: &Path) -> Output {
    gatehouse(&["audit".as_ref(), "verify".as_ref(), path.as_os_str()])
}

/// A refund requested, approved by alice, claimed, executed and verified;
/// and a second one rejected. Gives the refund's request JSON after the
/// approval.
fn traffic(server: &Server) -> Json {
    let agent = server.as_token(&server.key("agent-refunds", &["request", "execute"], &[]));
    let lead = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let action = example("refund-small.json");
    let id = agent.create(&action)["id"].as_str().unwrap().to_owned();
    let (status, approved) = lead.review(&id, "approve", "order checked");
    assert_eq!(status, 200, "{approved}");
    let (status, _) = agent.claim(&id, &action);
    assert_eq!(status, 200);
    let (status, _) = agent.post(
        &format!("/v1/requests/{id}/executed"),
        &json!({"result": "succeeded", "nested": {"b": 1, "a": [2, {"z": 0, "y": 1}]}}),
    );
    assert_eq!(status, 200);
    let other = agent.create(&action)["id"].as_str().unwrap().to_owned();
    let (status, rejected) = lead.review(&other, "reject", "duplicate of an earlier refund");
    assert_eq!(status, 200, "{rejected}");
    approved
}

/// The whole chain, page by page (`limit` lines a page), following the
/// `Link: rel="next"` headers.
fn export(reader: &Client, limit: u32) -> (String, usize) {
    let mut out = String::new();
    let mut path = format!("/v1/audit?limit={limit}");
    let mut pages = 0;
    loop {
        let a = reader.send(reader.request(reqwest::Method::GET, &path));
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.headers["content-type"], "application/jsonl");
        pages += 1;
        assert!(
            a.text.lines().count() <= limit as usize,
            "a page is bounded"
        );
        out.push_str(&a.text);
        let Some(link) = a.headers.get("link") else {
            return (out, pages);
        };
        let link = link.to_str().unwrap();
        path = link
            .strip_prefix('<')
            .and_then(|l| l.split_once(">; rel=\"next\""))
            .map(|(p, _)| p.to_owned())
            .unwrap_or_else(|| panic!("a next link: {link}"));
        assert!(pages < 1000, "the pages end");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_exported_chain_verifies_offline_replays_and_matches_the_schema() {
    let server = Server::start();
    traffic(&server);
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    let (whole, pages) = export(&reader, 10_000);
    assert_eq!(pages, 1);
    let lines: Vec<Json> = whole
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // A fresh database: the chain starts at seq 1 on the genesis hash.
    assert_eq!(lines[0]["seq"], 1);
    assert_eq!(lines[0]["prev"], GENESIS);
    assert_eq!(lines[0]["record"], "decision");
    let transitions = lines.iter().filter(|l| l["record"] == "transition").count();
    assert!(transitions >= 7, "{whole}");
    // The gate's actor, reason and detail as the engine's record writes them.
    let approve = lines
        .iter()
        .find(|l| l["record"] == "transition" && l["to"] == "approved")
        .expect("the approval's transition");
    assert_eq!(approve["actor"]["id"], "alice");
    assert_eq!(approve["actor"]["method"], "api_key");
    assert!(approve["actor"]["key_id"].is_string());
    assert_eq!(approve["reason"], "order checked");
    // Every line is a record the published schema accepts.
    let schema: Json = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/audit-record.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    for (i, line) in lines.iter().enumerate() {
        let errors: Vec<String> = validator.iter_errors(line).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "line {}: {errors:?}\n{line}", i + 1);
    }

    // Paged three lines at a time, the same chain.
    let (paged, pages) = export(&reader, 3);
    assert_eq!(paged, whole);
    assert!(pages > 2);

    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "chain.jsonl", &whole);
    let verified = audit_verify(&log);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    assert!(
        String::from_utf8_lossy(&verified.stdout).contains("chain intact"),
        "{}",
        text(&verified)
    );

    let replayed = gatehouse(&[
        "replay".as_ref(),
        log.as_os_str(),
        "--policy".as_ref(),
        shipped_policy().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(replayed.status.code(), Some(0), "{}", text(&replayed));
    let report: Json = serde_json::from_slice(&replayed.stdout).unwrap();
    assert_eq!(report["summary"]["decisions"], 2, "{report:#}");
    assert_eq!(report["summary"]["identical"], 2, "{report:#}");
    assert_eq!(report["summary"]["transitions_skipped"], transitions);
    assert_eq!(report["summary"]["bad_lines"], 0);
    let human = gatehouse(&[
        "replay".as_ref(),
        log.as_os_str(),
        "--policy".as_ref(),
        shipped_policy().as_os_str(),
    ]);
    assert_eq!(human.status.code(), Some(0), "{}", text(&human));
    assert!(
        String::from_utf8_lossy(&human.stdout).contains(&format!(
            "{transitions} transition records (the service's steps of a request: not replayed)"
        )),
        "{}",
        text(&human)
    );
}

#[test]
fn an_edited_deleted_or_reordered_line_of_the_export_is_found() {
    let server = Server::start();
    traffic(&server);
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    let (whole, _) = export(&reader, 10_000);
    let lines: Vec<&str> = whole.lines().collect();
    let dir = tempfile::tempdir().unwrap();

    // Line 4: a transition; the state it entered rewritten.
    let edited: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 3 {
                assert!(l.contains("\"record\":\"transition\""), "{l}");
                l.replace("\"to\":\"", "\"to\":\"x")
            } else {
                (*l).to_owned()
            }
        })
        .collect();
    let mut deleted: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    deleted.remove(2);
    let mut reordered: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    reordered.swap(2, 3);
    for (name, changed, line) in [
        ("edited", edited, 4),
        ("deleted", deleted, 3),
        ("reordered", reordered, 3),
    ] {
        let path = write(dir.path(), name, &(changed.join("\n") + "\n"));
        let out = audit_verify(&path);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("TAMPERED: first bad record at line {line}")),
            "{name}: {}",
            text(&out)
        );
    }
}

#[test]
fn the_audit_export_refuses_bad_queries_with_problems() {
    let server = Server::start();
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    for query in [
        "after=-1",
        "limit=0",
        "limit=10001",
        "limit=abc",
        "after=1.5",
        "sort=desc",
    ] {
        let a = reader.send(reader.request(reqwest::Method::GET, &format!("/v1/audit?{query}")));
        assert_problem(&a, 400, "INVALID_QUERY");
    }
    // Past the end: an empty page, no next link.
    let a = reader.send(reader.request(reqwest::Method::GET, "/v1/audit?after=99999"));
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.text, "");
    assert!(a.headers.get("link").is_none());
    // Reading the chain takes the read scope.
    let agent = server.as_token(&server.key("agent", &["request"], &[]));
    let a = agent.send(agent.request(reqwest::Method::GET, "/v1/audit"));
    assert_problem(&a, 403, "SCOPE_MISSING");
}

/// approvers.toml as the policy owner writes it: alice with her role, and
/// (when given) the gate's key from GET /v1/keys.
fn trust_store(dir: &Path, gate_key: Option<&str>) -> PathBuf {
    let mut text = "[[approver]]\nid = \"alice\"\nroles = [\"support_lead\"]\n".to_owned();
    if let Some(key) = gate_key {
        text.push_str(&format!(
            "\n[[gate]]\nid = \"gate-under-test\"\nkeys = [\"{key}\"]\n"
        ));
    }
    write(dir, "approvers.toml", &text)
}

fn verify(dir: &Path, trust: &Path, approvals: &Path) -> Output {
    let action = write(
        dir,
        "action.json",
        &example("refund-small.json").to_string(),
    );
    gatehouse(&[
        "verify".as_ref(),
        "--policy".as_ref(),
        shipped_policy().as_os_str(),
        "--input".as_ref(),
        action.as_os_str(),
        "--approvals".as_ref(),
        approvals.as_os_str(),
        "--trust".as_ref(),
        trust.as_os_str(),
        "--compact".as_ref(),
    ])
}

#[test]
fn the_gates_credentials_pass_gatehouse_verify_only_through_a_gate_key_of_the_store() {
    let server = Server::start();
    let approved = traffic(&server);
    assert_eq!(approved["state"], "approved");
    let credentials: Vec<Json> = approved["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["credential"].clone())
        .collect();
    assert_eq!(credentials.len(), 1);
    let (status, keys) = server.anonymous().get("/v1/keys");
    assert_eq!(status, 200, "{keys}");
    let gate_key = keys["signing_key"].as_str().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let approvals = write(
        dir.path(),
        "approvals.json",
        &Json::from(credentials).to_string(),
    );

    let trusted = trust_store(dir.path(), Some(gate_key));
    let out = verify(dir.path(), &trusted, &approvals);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["verdict"], "execute", "{result:#}");
    assert_eq!(result["authentication"]["accepted"][0]["method"], "gate");
    assert_eq!(result["authentication"]["accepted"][0]["key"], gate_key);

    // The gate's key removed from the store: the same credential is refused.
    let untrusted = trust_store(dir.path(), None);
    let out = verify(dir.path(), &untrusted, &approvals);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let result: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["verdict"], "pending", "{result:#}");
    assert_eq!(
        result["authentication"]["refused"][0]["code"],
        "UNKNOWN_KEY"
    );

    // A store that trusts the gate but does not list alice: refused too.
    let text_without_alice = format!("[[gate]]\nid = \"g\"\nkeys = [\"{gate_key}\"]\n");
    let stranger = write(dir.path(), "no-alice.toml", &text_without_alice);
    let out = verify(dir.path(), &stranger, &approvals);
    let result: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["verdict"], "pending", "{result:#}");
    assert_eq!(
        result["authentication"]["refused"][0]["code"],
        "UNKNOWN_APPROVER"
    );
}

/// Runs one SQL statement on the database of a stopped server, as someone
/// holding it would (the SQLite file, or a connection to the PostgreSQL
/// database the suite runs on): it must change exactly one row.
fn sql(server: &Server, statement: &str) {
    let mut db = server.sql();
    assert_eq!(db.execute(statement), 1, "{statement}");
    db.close();
}

#[test]
fn an_edited_middle_row_in_the_database_breaks_the_exported_chain() {
    let mut server = Server::start();
    traffic(&server);
    server.kill9();
    // Row 3 rewritten in place (still a valid record); the gate starts (it
    // checks the last rows only), and the export shows the break.
    sql(
        &server,
        "UPDATE audit SET line = replace(line, '\"from\":\"decided\"', '\"from\":\"pending\"') WHERE seq = 3",
    );
    server.restart();
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    let (whole, _) = export(&reader, 10_000);
    let dir = tempfile::tempdir().unwrap();
    let out = audit_verify(&write(dir.path(), "chain.jsonl", &whole));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("TAMPERED: first bad record at line 3"),
        "the edited record no longer hashes to the next one's `prev`: {}",
        text(&out)
    );
}

#[test]
fn an_edited_last_row_in_the_database_stops_the_gate_from_starting() {
    let mut server = Server::start();
    traffic(&server);
    server.kill9();
    sql(
        &server,
        "UPDATE audit SET line = replace(line, 'duplicate', 'approved') WHERE seq = (SELECT MAX(seq) FROM audit)",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .arg("--policy")
        .arg(shipped_policy())
        .arg("--listen")
        .arg("127.0.0.1:0")
        .args(server.store_args())
        .env_remove("GATEHOUSE_CONFIG")
        .env_remove("GATEHOUSE_TRUST")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start gatehouse serve");
    // A generous bound on an event (the process exiting), not a timing claim.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the gate started on an edited chain");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("audit chain") && stderr.contains("edited"),
        "{}",
        text(&out)
    );
}
