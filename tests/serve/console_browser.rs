//! The browser harness itself, and what the console relies on from
//! Chromium: the real server's pages open in a real browser, and a
//! `__Host-` cookie with `Secure` is kept and sent back over plain http on
//! a loopback address (Chromium counts http://127.0.0.1 and
//! http://localhost as secure contexts) but not on any other host.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;

use serde_json::Value as Json;

use crate::browser::Browser;
use crate::harness::Server;

#[test]
fn the_browser_opens_the_real_servers_health_page() {
    let server = Server::start();
    let browser = Browser::start();
    browser.goto(&format!("{}/health", server.base));
    // Chromium shows a JSON answer as text; it is the answer the API gives
    let shown: Json = serde_json::from_str(&browser.body_text()).expect("the page shows JSON");
    let (status, expected) = server.anonymous().get("/health");
    assert_eq!(status, 200);
    assert_eq!(shown["status"], "ok", "{shown}");
    assert_eq!(shown["policy"], expected["policy"]);
    assert_eq!(browser.path(), "/health");
}

/// A tiny HTTP server: `/set` answers with the console's cookie
/// attributes, every path answers with the `Cookie` header it received.
fn cookie_echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    return;
                }
                let mut cookie = String::from("(none)");
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("cookie")
                    {
                        cookie = value.trim().to_owned();
                    }
                }
                let set = if first.starts_with("GET /set ") {
                    "Set-Cookie: __Host-x=1; Secure; HttpOnly; SameSite=Lax; Path=/\r\n"
                } else {
                    ""
                };
                let body = format!("cookie header: {cookie}");
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n{set}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

#[test]
fn a_secure_host_cookie_over_plain_http_works_on_loopback_only() {
    let port = cookie_echo_server();
    // `cookie.test` resolves to 127.0.0.1 too, but is not a loopback name:
    // the control that shows the test can fail
    let browser = Browser::start_with(&["--host-resolver-rules=MAP cookie.test 127.0.0.1"]);
    for host in ["127.0.0.1", "localhost"] {
        browser.goto(&format!("http://{host}:{port}/set"));
        browser.goto(&format!("http://{host}:{port}/echo"));
        assert_eq!(
            browser.body_text(),
            "cookie header: __Host-x=1",
            "Chromium must keep a Secure __Host- cookie set over http://{host}"
        );
        let cookies = browser.cookies();
        let kept = cookies
            .iter()
            .find(|c| c.name() == "__Host-x")
            .expect("the cookie is kept");
        assert_eq!(kept.secure(), Some(true));
        assert_eq!(kept.http_only(), Some(true));
    }
    browser.goto(&format!("http://cookie.test:{port}/set"));
    browser.goto(&format!("http://cookie.test:{port}/echo"));
    assert_eq!(
        browser.body_text(),
        "cookie header: (none)",
        "a Secure cookie over http to a non-loopback name is refused"
    );
}

#[test]
fn dropping_a_browser_ends_its_chromium() {
    let browser = Browser::start();
    browser.goto("about:blank");
    let profile = browser.profile_dir().to_owned();
    let marker = profile.join("chromium").display().to_string();
    let running = || {
        std::process::Command::new("pgrep")
            .arg("-f")
            .arg(&marker)
            .output()
            .expect("pgrep")
            .stdout
    };
    assert!(
        !running().is_empty(),
        "Chromium runs with the profile {marker}"
    );
    drop(browser);
    // the processes are SIGKILLed and reaped by then; give the kernel a
    // moment to drop zombies of grandchildren
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !running().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "Chromium still runs after the Browser was dropped: {}",
            String::from_utf8_lossy(&running())
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
