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
    assert_eq!(ids, [mine_new.clone()], "{page}");
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
