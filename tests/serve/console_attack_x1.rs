//! Attacks on the console's identity and session handling (X1): each test
//! is a reproduction of a way in that the console once left open, and
//! fails on the code before its fix.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::console_client::{Console, form};
use crate::harness::{Options, Server};

/// Posts the development sign-in form with extra headers; the status.
fn dev_post(server: &Server, extra: &[(&str, &str)]) -> (u16, String) {
    let c = Console::new(server);
    let page = c.get("/console/signin");
    let pre = page.cookie("__Host-gatehouse_pre").expect("pre cookie");
    let mut r = c
        .request(reqwest::Method::POST, "/console/signin/dev")
        .header("cookie", format!("__Host-gatehouse_pre={pre}"))
        .header("origin", &server.base)
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in extra {
        r = r.header(*k, *v);
    }
    let answer = c.send(r.body(form(&[("_csrf", &pre), ("identity", "alice")])));
    (answer.status, answer.text)
}

/// docs/console.md: the development sign-in serves only requests with "no
/// `Forwarded`, `X-Forwarded-*` or `X-Real-IP` header". Only four names
/// were checked: a proxy that marks its requests with `X-Forwarded-Proto`
/// alone (or `-Port`, `-Prefix`, `-Server`, or `Via`) handed out the
/// password-less sign-in.
#[test]
fn any_proxy_header_turns_the_development_sign_in_away() {
    let server = Server::start();
    let _ = server.key("alice", &["approve"], &["support_lead"]);
    assert_eq!(dev_post(&server, &[]).0, 303, "straight to loopback works");
    for header in [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-port", "443"),
        ("x-forwarded-prefix", "/gate"),
        ("x-forwarded-server", "proxy.example"),
        ("via", "1.1 proxy.example"),
    ] {
        let (status, text) = dev_post(&server, &[header]);
        assert_eq!(status, 404, "{header:?}: {text}");
        assert!(text.contains("DEV_SIGNIN_OFF"), "{header:?}: {text}");
    }
}
