//! Attacks on the console's identity and session handling (X1): each test
//! is a reproduction of a way in that the console once left open, and
//! fails on the code before its fix.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::console_client::{Console, Page, form};
use crate::fake_idp::{FakeIdp, fixture};
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

/// A session the development sign-in made on loopback was honoured from
/// anywhere: copied or replayed through a proxy (or a DNS-rebound host
/// name), it still approved.
#[test]
fn a_development_session_is_good_only_where_the_development_sign_in_is() {
    let server = Server::start();
    let _ = server.key("alice", &["approve"], &["support_lead"]);
    let alice = Console::signed_in(&server, "alice");
    assert_eq!(alice.get("/console/").status, 200);
    let port = server.base.rsplit(':').next().expect("port");
    let evil_host = format!("evil.example:{port}");
    for (name, value) in [
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-proto", "https"),
        ("host", evil_host.as_str()),
    ] {
        let page = alice.send(
            alice
                .request(reqwest::Method::GET, "/console/")
                .header(name, value),
        );
        assert_eq!(page.status, 303, "{name}: {value}: {}", page.text);
        assert!(
            page.location()
                .is_some_and(|l| l.starts_with("/console/signin")),
            "{:?}",
            page.location()
        );
    }
    // Straight to loopback the session is still good.
    assert_eq!(alice.get("/console/").status, 200);
}

/// A session the development sign-in made outlived the sign-in itself:
/// after a restart with `dev_signin = "off"` (the move to production) the
/// old cookie still signed its holder in as an approver.
#[test]
fn turning_the_development_sign_in_off_ends_its_sessions() {
    let mut server = Server::start();
    let _ = server.key("alice", &["approve"], &["support_lead"]);
    let alice = Console::signed_in(&server, "alice");
    let session = alice.session.clone().expect("a session");
    assert_eq!(alice.get("/console/").status, 200);

    server.set_config(Some("[console]\ndev_signin = \"off\"\n".into()));
    server.restart();
    let mut again = Console::new(&server);
    again.session = Some(session);
    let page = again.get("/console/");
    assert_eq!(page.status, 303, "{}", page.text);
    assert!(
        page.location()
            .is_some_and(|l| l.starts_with("/console/signin")),
        "{:?}",
        page.location()
    );
    assert!(!again.get("/console/history").text.contains("id=\"whoami\""));
}

/// Starts `gatehouse serve` with `config`; the stderr of a process that
/// exits on its own (it must not keep running).
fn refused_start(config: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("serve.toml");
    std::fs::write(&path, config).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
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
        .env_remove("GATEHOUSE_TRUST")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gatehouse serve");
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(!status.success(), "it must not start: {config}");
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
                .expect("stderr");
            return err;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the service started with {config:?}: it must refuse it");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Form posts are compared byte for byte with `public_url`'s origin, but
/// the service started with a `public_url` no browser sends as `Origin`
/// (capitals, the default port, a path): every post of every reviewer was
/// then refused as cross-site. It now refuses to start, saying why.
#[test]
fn a_public_url_browsers_never_send_does_not_start() {
    for url in [
        "https://Gate.example.com",
        "https://gate.example.com:443",
        "https://gate.example.com/console",
    ] {
        let err = refused_start(&format!("[console]\npublic_url = \"{url}\"\n"));
        assert!(err.contains("public_url"), "{url}: {err}");
    }
    // The origin as browsers send it starts.
    let server = Server::start_with(Options {
        config: Some("[console]\npublic_url = \"https://gate.example.com/\"\n".into()),
        ..Options::default()
    });
    assert!(!server.base.is_empty());
}

/// A console address with no page (or the wrong method) answered the
/// API's problem+json: no `#error-code`, and none of the console's
/// headers (CSP, `X-Frame-Options`, `no-store`) that docs/console.md says
/// every page is sent with.
#[test]
fn a_console_address_without_a_page_is_a_refusal_page() {
    let server = Server::start();
    let c = Console::new(&server);
    for (method, path, status) in [
        (reqwest::Method::GET, "/console/no-such-page", 404),
        (
            reqwest::Method::GET,
            "/console/static/console-0.0.0.js",
            404,
        ),
        (reqwest::Method::GET, "/console/signout", 405),
        (reqwest::Method::POST, "/console/", 405),
    ] {
        let page = c.send(c.request(method.clone(), path));
        assert_eq!(page.status, status, "{method} {path}: {}", page.text);
        assert!(
            page.text_of("error-code").is_some(),
            "{method} {path}: {}",
            page.text
        );
        for header in [
            "content-security-policy",
            "x-frame-options",
            "cache-control",
        ] {
            assert!(
                page.headers.contains_key(header),
                "{method} {path}: no {header}"
            );
        }
    }
    // The API keeps its problem documents.
    let api = c.send(c.request(reqwest::Method::GET, "/v1/no-such-endpoint"));
    assert_eq!(api.status, 404);
    assert!(api.text.contains("\"NO_ROUTE\""), "{}", api.text);
}

/// Runs an OIDC sign-in against `idp` whose ID token's `email` (the
/// trust store's identity claim) is `email`; the callback's answer.
fn oidc_sign_in(server: &Server, idp: &FakeIdp, email: &str) -> Page {
    idp.set(|k| k.identity = email.to_owned());
    let c = Console::new(server);
    let start = c.get("/console/signin/oidc");
    assert_eq!(start.status, 303, "{}", start.text);
    let pre = start.cookie("__Host-gatehouse_pre").expect("pre cookie");
    let to = start.location().expect("to the provider").to_owned();
    let back = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(&to)
        .send()
        .expect("the provider answers");
    let location = back.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let path = location
        .strip_prefix(OIDC_PUBLIC)
        .expect("back to <public_url>/console/callback")
        .to_owned();
    c.send(
        c.request(reqwest::Method::GET, &path)
            .header("cookie", format!("__Host-gatehouse_pre={pre}")),
    )
}

const OIDC_PUBLIC: &str = "https://gate.example.test";

/// The console took anyone the identity provider named with a look-alike
/// of an approver's identity for that approver: `same_person` (built for
/// separation of duties, where "one person" is the strict side) decided
/// who may sign in, so `rnary@example.com` (a different mailbox, say a
/// self-registered account) signed in with Mary's roles and could approve.
#[test]
fn a_look_alike_of_an_approver_is_not_signed_in_as_them() {
    let idp = FakeIdp::start();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("jwks.json"), fixture("jwks-rsa.json")).expect("jwks");
    let trust = dir.path().join("approvers.toml");
    std::fs::write(
        &trust,
        format!(
            "[[approver]]\nid = \"mary@example.com\"\nroles = [\"support_lead\"]\n\n\
             [oidc]\nissuer = \"{}\"\naudience = \"gatehouse-console\"\njwks = \"jwks.json\"\n\
             algorithms = [\"RS256\"]\nidentity_claim = \"email\"\n",
            idp.base
        ),
    )
    .expect("trust store");
    let server = Server::start_with(Options {
        trust: Some(trust),
        config: Some(format!(
            "[console]\npublic_url = \"{OIDC_PUBLIC}\"\n\n\
             [console.oidc]\nclient_id = \"gatehouse-console\"\ntimeout_ms = 1500\n"
        )),
        ..Options::default()
    });
    for look_alike in [
        "rnary@example.com",
        "MARY@example.com",
        "mary@example.com\u{200b}",
        "m\u{0430}ry@example.com",
    ] {
        let page = oidc_sign_in(&server, &idp, look_alike);
        assert_eq!(page.status, 403, "{look_alike:?}: {}", page.text);
        assert_eq!(
            page.text_of("error-code").as_deref(),
            Some("NOT_AN_APPROVER"),
            "{look_alike:?}"
        );
        assert!(
            page.cookie("__Host-gatehouse_session")
                .is_none_or(|s| s.is_empty()),
            "{look_alike:?}: no session"
        );
    }
    // The directory's own spelling signs in.
    let page = oidc_sign_in(&server, &idp, "mary@example.com");
    assert_eq!(page.status, 303, "{}", page.text);
    let session = page
        .cookie("__Host-gatehouse_session")
        .filter(|s| !s.is_empty())
        .expect("a session");
    let mut mary = Console::new(&server);
    mary.session = Some(session);
    let queue = mary.get("/console/");
    assert_eq!(queue.status, 200, "{}", queue.text);
    assert!(
        queue
            .text_of("whoami")
            .is_some_and(|w| w.contains("mary@example.com") && w.contains("support_lead")),
        "{}",
        queue.text
    );
}
