//! The `/v1/decide` fast path and the API-key cache (docs/performance.md,
//! "The service"): what they must not change.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value as Json;
use sha2::Digest as _;

use crate::harness::{Server, example};

/// The JSON examples of the repository, each on one line, plus text the
/// decoder refuses (so the slow path is compared too).
fn lines() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/actions");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples/actions")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "the examples are there: {names:?}");
    let mut lines: Vec<String> = names
        .iter()
        .map(|n| serde_json::to_string(&example(n)).expect("JSON"))
        .collect();
    lines.push("not json".to_owned());
    lines.push(r#"{"action": {"type": "refund",}}"#.to_owned());
    lines.push(r#"{"action": {"type": 5}}"#.to_owned());
    lines.push("[]".to_owned());
    lines
}

/// The value of the first `"expires_at":"..."` in a decision's text.
fn expires_at(text: &str) -> Option<&str> {
    let start = text.find("\"expires_at\":\"")? + "\"expires_at\":\"".len();
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

/// `POST /v1/decide` answers byte for byte what `gatehouse eval --jsonl`
/// prints for the same line (the fast path must not change one byte). The
/// only field that depends on the clock, `timeout.expires_at`, is taken
/// from the server's answer into the CLI's (checked to be a time), and
/// `--jsonl`'s `line N: ` before an input error is dropped; everything else
/// is compared as bytes.
#[test]
fn decide_matches_eval() {
    let server = Server::start();
    let agent = server.as_token(&server.key("bench-agent", &["decide"], &[]));
    let lines = lines();
    let mut cli = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args([
            "eval",
            "--jsonl",
            "--now",
            "2026-01-01T00:00:00Z",
            "--policy",
        ])
        .arg(crate::harness::shipped_policy())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gatehouse eval");
    {
        let mut stdin = cli.stdin.take().expect("stdin");
        for line in lines.iter().filter(|l| !l.starts_with('[')) {
            writeln!(stdin, "{line}").expect("write");
        }
    }
    let output = cli.wait_with_output().expect("eval runs");
    let expected = String::from_utf8(output.stdout).expect("UTF-8");
    let expected: Vec<&str> = expected.lines().collect();
    let mut compared = 0;
    let mut answers = Vec::new();
    for (number, (line, want)) in lines
        .iter()
        .filter(|l| !l.starts_with('['))
        .zip(&expected)
        .enumerate()
    {
        let answer = agent.send(
            agent
                .request(reqwest::Method::POST, "/v1/decide")
                .header("content-type", "application/json")
                .body(line.clone()),
        );
        assert_eq!(answer.status, 200, "{line}: {}", answer.text);
        // `--jsonl` says which line an input error is on; one body has
        // no lines.
        let mut want = want.replace(&format!("line {}: ", number + 1), "");
        if let (Some(got), Some(cli_at)) = (expires_at(&answer.text), expires_at(&want)) {
            assert!(
                gatehouse::values::Timestamp::parse(got).is_some(),
                "{got} is a time"
            );
            want = want.replace(cli_at, got);
        }
        assert_eq!(answer.text, want, "for the line {line}");
        answers.push(answer.text);
        compared += 1;
    }
    assert_eq!(compared, expected.len(), "one answer per line");
    assert!(
        answers.iter().any(|a| a.contains("INVALID_INPUT")),
        "the refused lines took the slow path"
    );
    assert!(
        answers
            .iter()
            .filter(|a| a.contains("\"action_digest\":\"sha256:"))
            .count()
            >= 10,
        "the valid lines carry the digest"
    );
    // A batch is the same answers, in order, as one array.
    let valid: Vec<&String> = lines
        .iter()
        .filter(|l| matches!(serde_json::from_str(l), Ok(Json::Object(_))))
        .collect();
    let batch = format!(
        "[{}]",
        valid
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    let answer = agent.send(
        agent
            .request(reqwest::Method::POST, "/v1/decide")
            .header("content-type", "application/json")
            .body(batch),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let Json::Array(items) = &answer.json else {
        panic!("a batch answers an array: {}", answer.text)
    };
    assert_eq!(items.len(), valid.len());
    for (item, line) in items.iter().zip(&valid) {
        let single = answers
            .iter()
            .zip(lines.iter().filter(|l| !l.starts_with('[')))
            .find(|(_, l)| l == line)
            .map(|(a, _)| serde_json::from_str::<Json>(a).expect("JSON"))
            .expect("answered alone");
        assert_eq!(item["outcome"], single["outcome"], "{line}");
        assert_eq!(item["action_digest"], single["action_digest"], "{line}");
    }
}

/// A key the gate has cached (it was just used) stops working the moment
/// its revocation is answered: the cache never outlives the store.
#[test]
fn a_revoked_key_is_refused_at_once_though_cached() {
    let server = Server::start();
    let token = server.key("cached-agent", &["decide"], &[]);
    let agent = server.as_token(&token);
    let decide = |c: &crate::harness::Client| {
        c.send(
            c.request(reqwest::Method::POST, "/v1/decide")
                .header("content-type", "application/json")
                .body(serde_json::to_string(&example("refund-small.json")).expect("JSON")),
        )
        .status
    };
    for _ in 0..3 {
        assert_eq!(decide(&agent), 200);
    }
    let admin = server.as_token(&server.admin);
    let (status, keys) = admin.get("/v1/admin/keys");
    assert_eq!(status, 200, "{keys}");
    let id = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["identity"] == "cached-agent")
        .and_then(|k| k["id"].as_str())
        .expect("the key is listed")
        .to_owned();
    let revoked =
        admin.send(admin.request(reqwest::Method::DELETE, &format!("/v1/admin/keys/{id}")));
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(decide(&agent), 401, "a revoked key is refused");
    // Another key of the same identity, made after, works: no negative
    // entry lingers.
    let again = server.as_token(&server.key("cached-agent", &["decide"], &[]));
    assert_eq!(decide(&again), 200);
    assert_eq!(decide(&agent), 401);
}

/// Creations under concurrency (the store commits them in groups, see
/// store/sqlite/group.rs): every acknowledged creation is its own request,
/// is in the audit chain, and survives SIGKILL; creations that share an
/// `Idempotency-Key` (one of each pair fails its insert, which fails the
/// group it was in) still answer alike, and do not fail the creations
/// committed with them. On the code before group commit this passes too:
/// it pins what batching must not change, not the speed it buys.
#[test]
fn concurrent_creations_are_each_committed_and_chained() {
    let mut server = Server::start();
    let token = server.key("burst-agent", &["request"], &[]);
    let body = serde_json::to_string(&example("refund-small.json")).expect("JSON");
    let threads: Vec<_> = (0..24)
        .map(|t| {
            let client = server.as_token(&token);
            let body = body.clone();
            std::thread::spawn(move || {
                let mut plain = Vec::new();
                for _ in 0..4 {
                    let a = client.post_text("/v1/requests", &body);
                    assert_eq!(a.status, 201, "{}", a.text);
                    plain.push(a.json["id"].as_str().expect("id").to_owned());
                }
                let keyed = client.send(
                    client
                        .request(reqwest::Method::POST, "/v1/requests")
                        .header("content-type", "application/json")
                        .header("idempotency-key", format!("pair-{}", t / 2))
                        .body(body),
                );
                (plain, (t / 2, keyed.status, keyed.json["id"].clone()))
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    let mut pairs: std::collections::BTreeMap<usize, Vec<(u16, Json)>> = Default::default();
    for thread in threads {
        let (plain, (pair, status, id)) = thread.join().expect("thread");
        ids.extend(plain);
        pairs.entry(pair).or_default().push((status, id));
    }
    assert_eq!(ids.len(), 24 * 4, "every creation is a request of its own");
    for (pair, answers) in &pairs {
        assert_eq!(answers.len(), 2);
        for (status, _) in answers {
            assert!(*status == 201 || *status == 200, "pair {pair}: {answers:?}");
        }
        assert_eq!(
            answers[0].1, answers[1].1,
            "pair {pair} answers one request"
        );
        assert!(answers[0].1.is_string(), "pair {pair}: {answers:?}");
    }
    let admin = server.as_token(&server.admin);
    let audit = admin.send(admin.request(reqwest::Method::GET, "/v1/audit"));
    assert_eq!(audit.status, 200, "{}", audit.text);
    for id in &ids {
        assert!(audit.text.contains(id.as_str()), "{id} is in the chain");
    }
    // One chain, in commit order: `seq` counts from 1 without a gap and
    // each `prev` is the SHA-256 of the line before (batches of creations
    // pass the head from one change to the next).
    let mut prev = format!("sha256:{}", "0".repeat(64));
    let mut count = 0;
    for (i, line) in audit.text.lines().enumerate() {
        let record: Json = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(record["seq"], i + 1, "line {}", i + 1);
        assert_eq!(
            record["prev"],
            prev.as_str(),
            "line {} links to the one before",
            i + 1
        );
        prev = format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(line.as_bytes()))
        );
        count += 1;
    }
    assert!(
        count >= ids.len() * 3,
        "decision + transitions per creation: {count}"
    );
    server.restart();
    let admin = server.as_token(&server.admin);
    for id in &ids {
        let (status, row) = admin.get(&format!("/v1/requests/{id}"));
        assert_eq!(status, 200, "{id} survives SIGKILL: {row}");
    }
}
