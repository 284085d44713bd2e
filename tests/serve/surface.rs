//! The HTTP surface under attack: slow and silent connections, what a
//! list tells a caller about other people's requests, what a refusal
//! echoes back. Each test here failed on the code before its fix.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;

use crate::harness::{Options, Server, example};

fn host_port(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or 90 s pass, which
/// fails the test): what it sent before closing.
fn read_until_closed(mut stream: TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(90)))
        .expect("read timeout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "the server kept the connection open (read: {e}); it sent {:?}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn server_with_header_timeout() -> Server {
    Server::start_with(Options {
        config: Some("[limits]\nheader_read_timeout_ms = 1000\n".into()),
        ..Options::default()
    })
}

/// Slowloris: half a request head, then silence. Before, the connection
/// was held forever (axum::serve sets no timer, so hyper's header timeout
/// never ran): enough of them used up every file descriptor without a
/// credential. Now the server closes it after `header_read_timeout_ms`.
#[test]
fn a_half_sent_request_head_is_closed_after_the_header_timeout() {
    let server = server_with_header_timeout();
    let mut stream = TcpStream::connect(host_port(&server.base)).expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let sent = read_until_closed(stream);
    assert!(
        !sent.contains("200 OK"),
        "a half request is never answered as whole: {sent}"
    );
    // The server still serves everyone else.
    let (status, _) = server.anonymous().get("/health");
    assert_eq!(status, 200);
}

/// A keep-alive connection that says nothing after its answer is closed
/// at the same bound, not held.
#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let server = server_with_header_timeout();
    let mut stream = TcpStream::connect(host_port(&server.base)).expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let sent = read_until_closed(stream);
    assert!(sent.starts_with("HTTP/1.1 200"), "answered first: {sent}");
}

/// A caller who may read only their own requests lists only their own:
/// the page is filled with theirs and `next_before` is one of theirs.
/// Before, the page was cut at `limit` first and filtered after, so a
/// requester got an empty page whose `next_before` was the id of another
/// person's request.
#[test]
fn a_requester_pages_through_their_own_requests_only() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let eve = server.as_token(&server.key("eve", &["request"], &[]));
    let mut action = example("refund-small.json");
    let mine_old = eve.create(&action)["id"].as_str().expect("id").to_owned();
    action["action"]["amount"] = json!(251);
    let mine_new = eve.create(&action)["id"].as_str().expect("id").to_owned();
    action["action"]["amount"] = json!(252);
    let theirs = agent.create(&action)["id"].as_str().expect("id").to_owned();

    let (status, page) = eve.get("/v1/requests?limit=1");
    assert_eq!(status, 200, "{page}");
    let ids: Vec<_> = page["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, std::slice::from_ref(&mine_new), "{page}");
    assert_eq!(page["next_before"], json!(mine_new), "{page}");
    let (status, page) = eve.get(&format!("/v1/requests?limit=1&before={mine_new}"));
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["requests"][0]["id"], json!(mine_old), "{page}");
    let (_, rest) = eve.get(&format!("/v1/requests?before={mine_old}"));
    assert_eq!(rest["requests"], json!([]), "{rest}");
    assert_eq!(rest["next_before"], json!(null), "{rest}");
    let text = serde_json::to_string(&[page, rest]).expect("json");
    assert!(
        !text.contains(&theirs),
        "another person's id leaked: {text}"
    );
    // Someone who reads everything still sees all three.
    let (_, all) = server.as_token(&server.admin).get("/v1/requests");
    assert_eq!(all["requests"].as_array().map(Vec::len), Some(3), "{all}");
}

/// An id of another spelling of the same person (`Eve` and `eve` are one
/// person) is listed too: the filter follows the identity rules `may_read`
/// applies.
#[test]
fn a_requester_lists_requests_made_under_another_spelling_of_their_name() {
    let server = Server::start();
    let upper = server.as_token(&server.key("Eve", &["request"], &[]));
    let lower = server.as_token(&server.key("eve", &["request"], &[]));
    let id = upper.create(&example("refund-small.json"))["id"].clone();
    let (status, page) = lower.get("/v1/requests");
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["requests"][0]["id"], id, "{page}");
}

/// A malformed id is named in the refusal as sent (at most 64
/// characters); before, any id shorter than 64 bytes was called
/// "(too long)".
#[test]
fn a_malformed_request_id_is_named_as_sent() {
    let server = Server::start();
    let admin = server.as_token(&server.admin);
    let (status, problem) = admin.get("/v1/requests/req_nope");
    assert_eq!(status, 404, "{problem}");
    assert_eq!(problem["detail"], "no request `req_nope`", "{problem}");
    let long = "é".repeat(100);
    let (status, problem) = admin.get(&format!("/v1/requests/{long}"));
    assert_eq!(status, 404, "{problem}");
    let expected = format!("no request `{}`", "é".repeat(64));
    assert_eq!(problem["detail"], json!(expected), "{problem}");
}

/// Runs `gatehouse serve` with a configuration and gives its exit code and
/// stderr once it exits (failing when it still runs after 60 s: it took
/// the configuration and started).
fn serve_exit_with(config: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("serve.toml");
    std::fs::write(&path, config).expect("write config");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
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
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start gatehouse serve");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`gatehouse serve` started with the configuration {config:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    (status.code(), stderr)
}

/// Bounds the service cannot run with are refused at start, naming the
/// key. Before, `list_limit = 0` made every list with `limit` panic (the
/// connection dropped without an answer) and a huge `max_wait_seconds`
/// made every event stream panic (`now + max` overflowed an instant).
#[test]
fn limits_the_service_cannot_honour_are_refused_at_start() {
    for (config, key) in [
        ("[limits]\nlist_limit = 0\n", "list_limit"),
        (
            "[limits]\nmax_wait_seconds = 18446744073709551615\n",
            "max_wait_seconds",
        ),
        ("[limits]\nmax_connections = 0\n", "max_connections"),
    ] {
        let (code, stderr) = serve_exit_with(config);
        assert_eq!(code, Some(2), "{config}: {stderr}");
        assert!(stderr.contains(key), "{config}: {stderr}");
    }
}

/// A list without `limit` is capped by `list_limit` too, as documented
/// ("default 100, capped at limits.list_limit"); before, it answered 100.
#[test]
fn the_default_page_is_capped_by_list_limit() {
    let server = Server::start_with(Options {
        config: Some("[limits]\nlist_limit = 1\n".into()),
        ..Options::default()
    });
    let admin = server.as_token(&server.admin);
    let first = admin.create(&example("refund-small.json"))["id"].clone();
    let second = admin.create(&example("refund-large.json"))["id"].clone();
    let (status, page) = admin.get("/v1/requests");
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["requests"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["requests"][0]["id"], second, "{page}");
    assert_eq!(page["next_before"], second, "{page}");
    let (_, next) = admin.get(&format!(
        "/v1/requests?before={}",
        second.as_str().expect("id")
    ));
    assert_eq!(next["requests"][0]["id"], first, "{next}");
}

/// An id whose percent-decoded bytes are not UTF-8 is refused with a
/// problem document on every route that takes one; before, axum's own
/// rejection answered `text/plain` ("Invalid URL: Invalid UTF-8 in `id`").
#[test]
fn an_id_that_is_not_utf8_is_a_problem_on_every_route() {
    let server = Server::start();
    let admin = server.as_token(&server.admin);
    let get = ["", "/wait", "/events", "/audit"];
    let post = ["/decisions", "/cancel", "/claim", "/executed", "/verified"];
    let mut answers = Vec::new();
    for tail in get {
        answers.push(
            admin.send(admin.request(reqwest::Method::GET, &format!("/v1/requests/%FF{tail}"))),
        );
    }
    for tail in post {
        answers.push(admin.post_text(&format!("/v1/requests/%FF{tail}"), "{}"));
    }
    answers.push(admin.send(admin.request(reqwest::Method::DELETE, "/v1/admin/keys/%FF")));
    for answer in &answers {
        crate::harness::assert_problem(answer, 404, "NOT_FOUND");
    }
}

/// One person cannot hold every connection with waits: past
/// `max_waits_per_caller` a long-poll or event stream is 429
/// `TOO_MANY_WAITS`; someone else still waits, and a closed stream gives
/// its slot back. Before there was no such bound (the key is new, so the
/// old binary refuses this configuration: the test fails there).
#[test]
fn waits_are_bounded_per_person_and_slots_come_back() {
    let server = Server::start_with(Options {
        config: Some("[limits]\nmax_waits_per_caller = 2\n".into()),
        ..Options::default()
    });
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let id = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let events = format!("/v1/requests/{id}/events");
    let open = |client: &crate::harness::Client| {
        client
            .request(reqwest::Method::GET, &events)
            .send()
            .expect("the server answers")
    };
    let first = open(&agent);
    let second = open(&agent);
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = agent.send(agent.request(
        reqwest::Method::GET,
        &format!("/v1/requests/{id}/wait?timeout=1"),
    ));
    crate::harness::assert_problem(&third, 429, "TOO_MANY_WAITS");
    assert!(third.headers.contains_key("retry-after"), "{}", third.text);
    // Another person has their own slots.
    let reader = server.as_token(&server.key("ops", &["read"], &[]));
    let theirs = open(&reader);
    assert_eq!(theirs.status().as_u16(), 200);
    // Closing a stream gives its slot back (waited for, generously).
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let again = agent.send(agent.request(
            reqwest::Method::GET,
            &format!("/v1/requests/{id}/wait?timeout=0"),
        ));
        if again.status == 200 {
            break;
        }
        crate::harness::assert_problem(&again, 429, "TOO_MANY_WAITS");
        assert!(
            std::time::Instant::now() < deadline,
            "the slot never came back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop((second, theirs));
}
