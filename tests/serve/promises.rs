//! Documented promises checked against the running service (docs/service.md,
//! docs/service-auth.md, docs/service-operations.md): each test names the
//! sentence it pins.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Server, example};

/// docs/service.md, Lists: "`next_before` is null on the last page". A last
/// page holding exactly `limit` requests answered the id of its last
/// request, and the page it pointed to was empty.
#[test]
fn next_before_is_null_on_a_last_page_that_is_exactly_full() {
    let server = Server::start();
    let admin = server.as_token(&server.admin);
    let older = admin.create(&example("refund-small.json"))["id"].clone();
    let newer = admin.create(&example("refund-large.json"))["id"].clone();

    let (status, whole) = admin.get("/v1/requests?limit=2");
    assert_eq!(status, 200, "{whole}");
    assert_eq!(
        whole["requests"].as_array().map(Vec::len),
        Some(2),
        "{whole}"
    );
    assert_eq!(whole["next_before"], json!(null), "{whole}");

    // A page that is not the last one still points at the next.
    let (status, first) = admin.get("/v1/requests?limit=1");
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["requests"][0]["id"], newer, "{first}");
    assert_eq!(first["next_before"], newer, "{first}");
    let before = newer.as_str().expect("id");
    let (status, last) = admin.get(&format!("/v1/requests?limit=1&before={before}"));
    assert_eq!(status, 200, "{last}");
    assert_eq!(last["requests"][0]["id"], older, "{last}");
    assert_eq!(last["next_before"], json!(null), "{last}");
}

/// docs/service-operations.md, Configuration: "every configuration key"
/// is in its table. The keys are read from the service itself (the
/// unknown-key error lists the ones it takes), so a key added to the
/// configuration without a row here fails this test; `drain_ms` had none.
#[test]
fn every_configuration_key_has_a_row_in_the_operations_guide() {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/service-operations.md"),
    )
    .expect("read docs/service-operations.md");
    for (table, prefix) in [
        ("", ""),
        ("[limits]\n", "[limits] "),
        ("[store]\n", "[store] "),
        ("[approvals]\n", "[approvals] "),
        ("[autonomy]\n", "[autonomy] "),
        ("[[webhook]]\n", "[[webhook]] "),
        ("[console]\n", "[console] "),
        ("[shadow]\n", "[shadow] "),
        ("[console.oidc]\nclient_id = \"x\"\n", "[console.oidc] "),
    ] {
        let keys = keys_the_service_takes(table);
        assert!(!keys.is_empty(), "{table}: {keys:?}");
        for key in keys {
            if ["store", "limits", "approvals", "webhook", "oidc"].contains(&key.as_str()) {
                continue; // tables, each checked on its own
            }
            let row = format!("| `{prefix}{key}` |");
            assert!(
                guide.contains(&row),
                "docs/service-operations.md lacks {row}"
            );
        }
    }
}

/// The keys `gatehouse serve` takes in one table, from its refusal of an
/// unknown key there ("unknown field `…`, expected one of `a`, `b`").
fn keys_the_service_takes(table: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("serve.toml");
    std::fs::write(&path, format!("{table}no_such_key_x3 = 1\n")).expect("write config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .arg("--policy")
        .arg(crate::harness::shipped_policy())
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&path)
        .env_remove("GATEHOUSE_CONFIG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run gatehouse serve");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let list = stderr
        .split_once("expected one of ")
        .or_else(|| stderr.split_once("expected "))
        .map(|(_, rest)| rest.lines().next().unwrap_or(""))
        .unwrap_or_else(|| panic!("no key list in: {stderr}"));
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// docs/service-operations.md, Container: "`docker stop` sends SIGTERM:
/// requests in flight finish, then the process exits" (and `serve --help`:
/// exit 0 when stopped cleanly) — also when the log reader has gone away.
/// Before, a log line that could not be written (stderr a closed pipe) was
/// reported by the log subscriber through `eprintln!`, which waited
/// forever for the stderr lock the main thread holds, or panicked: the
/// process hung at SIGTERM, or exited 101. Three rounds, because which
/// thread logged the shutdown decided between the two failures.
#[test]
fn sigterm_stops_cleanly_after_the_log_reader_went_away() {
    use std::io::BufRead as _;
    for round in 0..3 {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .arg("serve")
            .arg("--policy")
            .arg(crate::harness::shipped_policy())
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(dir.path())
            .env_remove("GATEHOUSE_CONFIG")
            .env_remove("GATEHOUSE_LOG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start gatehouse serve");
        let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let mut addr = String::new();
        while !line.contains("development admin token") {
            line.clear();
            let n = out.read_line(&mut line).expect("read stdout");
            assert!(
                n > 0,
                "round {round}: the service stopped before it was ready"
            );
            if let Some(a) = line
                .trim()
                .strip_prefix("gatehouse serve: listening on http://")
            {
                addr = a.to_owned();
            }
        }
        // The service answers: its runtime runs (the stop signals are
        // taken over before the address is printed, see the next test).
        let ready = reqwest::blocking::get(format!("http://{addr}/ready")).expect("GET /ready");
        assert_eq!(ready.status().as_u16(), 200, "round {round}");
        // The log reader goes away; every log line now fails to write.
        drop(child.stderr.take());
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let exit = loop {
            if let Some(exit) = child.try_wait().expect("wait") {
                break exit;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("round {round}: still running 60 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(exit.code(), Some(0), "round {round}: {exit:?}");
    }
}

/// docs/service.md, Lists and Problems, as the service behaves: `limit=0`
/// answers one request (not an error, not an empty page); a body without
/// `Content-Type` is read as JSON, one with another media type is 415.
/// Pins the sentences written for them (the docs said "at most this many"
/// and "anything but JSON", which read as 0 and as 415 for no type).
#[test]
fn limit_zero_counts_as_one_and_a_body_without_a_media_type_is_json() {
    let server = Server::start();
    let admin = server.as_token(&server.admin);
    admin.create(&example("refund-small.json"));
    admin.create(&example("refund-large.json"));
    let (status, page) = admin.get("/v1/requests?limit=0");
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["requests"].as_array().map(Vec::len), Some(1), "{page}");

    let body = example("refund-small.json").to_string();
    let untyped = admin.send(
        admin
            .request(reqwest::Method::POST, "/v1/decide")
            .body(body.clone()),
    );
    assert_eq!(untyped.status, 200, "{}", untyped.text);
    assert_eq!(
        untyped.json["outcome"],
        json!("explicit"),
        "{}",
        untyped.text
    );
    let form = admin.send(
        admin
            .request(reqwest::Method::POST, "/v1/decide")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    );
    crate::harness::assert_problem(&form, 415, "UNSUPPORTED_MEDIA_TYPE");
}

/// `serve --help`: "SIGTERM or Ctrl-C drains requests in flight and stops"
/// (exit 0), also for a SIGTERM sent the moment the service said it
/// listens. Before, the handler was installed by a task that had not run
/// yet: such a SIGTERM killed the process (exit by signal 15). Five rounds,
/// because the old failure depended on that task's scheduling.
#[test]
fn sigterm_right_after_the_announcement_drains_and_exits_zero() {
    use std::io::BufRead as _;
    for round in 0..5 {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .arg("serve")
            .arg("--policy")
            .arg(crate::harness::shipped_policy())
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(dir.path())
            .env_remove("GATEHOUSE_CONFIG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start gatehouse serve");
        let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        while !line.starts_with("gatehouse serve: listening on") {
            line.clear();
            let n = out.read_line(&mut line).expect("read stdout");
            assert!(
                n > 0,
                "round {round}: the service stopped before it listened"
            );
        }
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let exit = loop {
            if let Some(exit) = child.try_wait().expect("wait") {
                break exit;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("round {round}: still running 60 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(exit.code(), Some(0), "round {round}: {exit:?}");
    }
}
