//! The console's attack surface over HTTP: cookie attributes, security
//! headers, sessions that must not work (unknown, expired, signed out,
//! tampered, doubled), login CSRF, people who are not (or no longer)
//! approvers, open redirects through `next`, and hostile form bodies.

use reqwest::Method;

use crate::console_client::{Console, Page, form};
use crate::harness::{Options, Server, example};

const PRE: &str = "__Host-gatehouse_pre";
const SESSION: &str = "__Host-gatehouse_session";

/// Asserts every `Set-Cookie` of an answer is a `__Host-` cookie that is
/// Secure, HttpOnly, SameSite=Lax, Path=/ and has no Domain.
pub fn assert_cookies_locked_down(page: &Page, what: &str) {
    for c in page.set_cookies() {
        let (pair, attrs) = c.split_once(';').unwrap_or((&c, ""));
        assert!(pair.starts_with("__Host-"), "{what}: {c}");
        let attrs: Vec<String> = attrs
            .split(';')
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        for needed in ["path=/", "secure", "httponly", "samesite=lax"] {
            assert!(
                attrs.iter().any(|a| a == needed),
                "{what}: {c} lacks {needed}"
            );
        }
        assert!(
            !attrs.iter().any(|a| a.starts_with("domain")),
            "{what}: {c}"
        );
    }
}

/// Asserts the headers every console answer carries.
fn assert_locked_headers(page: &Page, what: &str) {
    let h = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let csp = h("content-security-policy");
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "script-src 'self'",
    ] {
        assert!(csp.contains(part), "{what}: CSP {csp:?} lacks {part}");
    }
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("cache-control"), "no-store", "{what}");
}

fn lee_server() -> (Server, String) {
    let server = Server::start();
    let created = server.as_token(&server.admin).post(
        "/v1/admin/keys",
        &serde_json::json!({"identity": "lee", "scopes": ["approve"], "roles": ["support_lead"]}),
    );
    assert_eq!(created.0, 201, "{}", created.1);
    let id = created.1["id"].as_str().unwrap().to_owned();
    (server, id)
}

#[test]
fn every_cookie_and_every_page_is_locked_down() {
    let (server, _) = lee_server();
    let anon = Console::new(&server);
    let mut answers: Vec<(&str, Page)> = vec![
        ("sign-in page", anon.get("/console/signin")),
        (
            "sign-in page with next",
            anon.get("/console/signin?next=%2Fconsole%2Fqueue"),
        ),
        ("queue without a session", anon.get("/console/")),
        (
            "leave without a session",
            anon.get("/console/leave?to=https://x.example"),
        ),
        (
            "sign-in post without a token",
            anon.post_form("/console/signin/dev", &[("identity", "lee")]),
        ),
    ];
    let lee = Console::signed_in(&server, "lee");
    let pre = anon.get("/console/signin").cookie(PRE).unwrap();
    answers.push((
        "dev sign-in",
        anon.send(
            anon.request(Method::POST, "/console/signin/dev")
                .header("cookie", format!("{PRE}={pre}"))
                .header("origin", &anon.base)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&[("_csrf", &pre), ("identity", "lee")])),
        ),
    ));
    answers.push(("queue", lee.get("/console/")));
    answers.push(("queue alias", lee.get("/console/queue?tier=1")));
    answers.push(("leave", lee.get("/console/leave?to=javascript:alert(1)")));
    answers.push((
        "batch without a token",
        lee.post_form("/console/batch", &[("decision", "approve")]),
    ));
    answers.push((
        "batch",
        lee.submit("/console/", "/console/batch", &[("decision", "approve")]),
    ));
    answers.push(("sign-out", lee.submit("/console/", "/console/signout", &[])));
    answers.push(("after sign-out", lee.get("/console/")));
    for (what, page) in &answers {
        assert_cookies_locked_down(page, what);
        assert_locked_headers(page, what);
    }
    assert!(answers.iter().any(|(_, p)| !p.set_cookies().is_empty()));
}

/// The signed-in queue answers 200; a session that must not work is
/// sent to sign in (303) and its cookie removed.
fn assert_signed_out(c: &Console, what: &str) {
    let page = c.get("/console/");
    assert_eq!(page.status, 303, "{what}: {}", page.text);
    assert!(
        page.location()
            .unwrap()
            .starts_with("/console/signin?next="),
        "{what}"
    );
    assert_eq!(
        page.cookie(SESSION).as_deref(),
        Some(""),
        "{what}: the cookie is removed"
    );
}

/// A client sending this session cookie.
pub fn with_session(server: &Server, value: &str) -> Console {
    let mut c = Console::new(server);
    c.session = Some(value.to_owned());
    c
}

#[test]
fn sessions_that_must_not_work_do_not() {
    let server = Server::start_with(Options {
        config: Some("[console]\nsession_ttl_seconds = 60\n".into()),
        ..Options::default()
    });
    let _key = server.key("lee", &["approve"], &["support_lead"]);
    let lee = Console::signed_in(&server, "lee");
    let good = lee.session.clone().unwrap();
    assert_eq!(lee.get("/console/").status, 200);

    assert_signed_out(&with_session(&server, &"0".repeat(64)), "unknown");
    assert_signed_out(&with_session(&server, ""), "empty");
    let mut tampered = good.clone().into_bytes();
    tampered[10] = if tampered[10] == b'a' { b'b' } else { b'a' };
    assert_signed_out(
        &with_session(&server, &String::from_utf8(tampered).unwrap()),
        "one character off",
    );
    assert_signed_out(&with_session(&server, &good[..63]), "one character short");
    assert_signed_out(
        &with_session(&server, &format!("{good}0")),
        "one character long",
    );
    // Two session cookies (one may be planted): neither is believed.
    let mut doubled = Console::new(&server);
    doubled.session = Some(format!("{good}; {SESSION}={good}"));
    assert_signed_out(&doubled, "the same cookie twice");
    let planted = Console::new(&server);
    let two_headers = planted.send(
        planted
            .request(Method::GET, "/console/")
            .header("cookie", format!("{SESSION}={good}"))
            .header("cookie", format!("{SESSION}={}", "0".repeat(64))),
    );
    assert_eq!(two_headers.status, 303, "two Cookie headers");
    assert_eq!(
        lee.get("/console/").status,
        200,
        "the session itself still works"
    );

    // Expired: the row's deadline is in the past (edited as someone
    // holding the file could; the check is the store's, not the cookie's).
    let other = Console::signed_in(&server, "lee");
    let mut db = server.sql();
    let hash = sha256_hex(other.session.as_deref().unwrap());
    assert_eq!(
        db.i64(&format!(
            "SELECT expires_unix - created_unix FROM console_sessions WHERE hash = '{hash}'"
        )),
        60,
        "session_ttl_seconds is the session's life"
    );
    let now = if db.is_postgres() {
        "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)"
    } else {
        "CAST(strftime('%s','now') AS INTEGER)"
    };
    assert_eq!(
        db.execute(&format!(
            "UPDATE console_sessions SET expires_unix = {now} - 1 WHERE hash = '{hash}'"
        )),
        1,
        "the session's row"
    );
    db.close();
    assert_signed_out(&other, "expired");
    assert_eq!(lee.get("/console/").status, 200, "only that session ended");

    // Signed out: the cookie is dead, also when it is sent again later.
    let signout = lee.submit("/console/", "/console/signout", &[]);
    assert_eq!(signout.status, 303, "{}", signout.text);
    assert_signed_out(&lee, "signed out");
    assert_signed_out(
        &with_session(&server, &good),
        "a copy of the signed-out cookie",
    );
    let replay = lee.post_form("/console/batch", &[("decision", "approve")]);
    assert_eq!(replay.status, 303, "a signed-out cookie cannot post either");
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[test]
fn the_sign_in_form_refuses_login_csrf_and_strangers() {
    let (server, _) = lee_server();
    let c = Console::new(&server);
    let pre = c.get("/console/signin").cookie(PRE).unwrap();
    let other = Console::new(&server)
        .get("/console/signin")
        .cookie(PRE)
        .unwrap();
    assert_ne!(pre, other);
    let post = |cookie: Option<&str>, headers: &[(&str, &str)], fields: &[(&str, &str)]| {
        let mut r = c
            .request(Method::POST, "/console/signin/dev")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(fields));
        if let Some(v) = cookie {
            r = r.header("cookie", format!("{PRE}={v}"));
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        c.send(r)
    };
    let origin = c.base.clone();
    let same = [("origin", origin.as_str())];
    let fields = [("_csrf", pre.as_str()), ("identity", "lee")];
    let refusals: Vec<(&str, Page)> = vec![
        ("no pre-session cookie", post(None, &same, &fields)),
        (
            "another browser's cookie",
            post(Some(&other), &same, &fields),
        ),
        (
            "no token field",
            post(Some(&pre), &same, &[("identity", "lee")]),
        ),
        (
            "token twice",
            post(
                Some(&pre),
                &same,
                &[("_csrf", &pre), ("_csrf", &pre), ("identity", "lee")],
            ),
        ),
        (
            "cross-site Origin",
            post(Some(&pre), &[("origin", "https://evil.example")], &fields),
        ),
        (
            "Origin null",
            post(Some(&pre), &[("origin", "null")], &fields),
        ),
        (
            "Sec-Fetch-Site cross-site",
            post(Some(&pre), &[("sec-fetch-site", "cross-site")], &fields),
        ),
        (
            "Sec-Fetch-Site same-site",
            post(
                Some(&pre),
                &[("sec-fetch-site", "same-site"), ("origin", &origin)],
                &fields,
            ),
        ),
    ];
    for (what, page) in &refusals {
        assert_eq!(page.status, 403, "{what}: {}", page.text);
        assert_eq!(
            page.text_of("error-code").as_deref(),
            Some("CSRF_REJECTED"),
            "{what}"
        );
        assert!(page.cookie(SESSION).is_none_or(|v| v.is_empty()), "{what}");
    }
    let stranger = post(
        Some(&pre),
        &same,
        &[("_csrf", &pre), ("identity", "mallory")],
    );
    assert_eq!(stranger.status, 403, "{}", stranger.text);
    assert_eq!(
        stranger.text_of("error-code").as_deref(),
        Some("NOT_AN_APPROVER")
    );
    assert!(stranger.cookie(SESSION).is_none());
    // The same form, right: signed in (the refusals were about the changes).
    let ok = post(Some(&pre), &same, &fields);
    assert_eq!(ok.status, 303, "{}", ok.text);
    assert!(ok.cookie(SESSION).is_some_and(|s| s.len() == 64));
}

#[test]
fn next_never_leaves_the_console() {
    let (server, _) = lee_server();
    let c = Console::new(&server);
    let attacks = [
        "//evil.example",
        "https://evil.example/console/",
        "/\\evil.example",
        "\\\\evil.example",
        "%2F%2Fevil.example",
        "/%2F%2Fevil.example",
        "/console/../..//evil.example",
        "/console/%2e%2e/%2e%2e//evil.example",
        "/console/.%2E/v1/admin/keys",
        "/console/\\..\\evil",
        "/console/\t//evil.example",
        "/console/\r\nLocation: https://evil.example",
        "javascript:alert(1)",
        " /console/",
        "",
    ];
    for attack in attacks {
        let page = c.get("/console/signin");
        let pre = page.cookie(PRE).unwrap();
        // The page only ever offers a console path as `next`.
        let offered = c.get(&format!(
            "/console/signin?next={}",
            form_urlencoded::byte_serialize(attack.as_bytes()).collect::<String>()
        ));
        let hidden = crate::console_client::hidden_field(&offered.text, "next").unwrap();
        assert_eq!(hidden, "/console/", "{attack:?}");
        let answer = c.send(
            c.request(Method::POST, "/console/signin/dev")
                .header("cookie", format!("{PRE}={pre}"))
                .header("origin", &c.base)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&[
                    ("_csrf", &pre),
                    ("identity", "lee"),
                    ("next", attack),
                ])),
        );
        assert_eq!(answer.status, 303, "{attack:?}: {}", answer.text);
        assert_eq!(answer.location(), Some("/console/"), "{attack:?}");
    }
    // A console path is kept, query and all.
    let pre = c.get("/console/signin").cookie(PRE).unwrap();
    let answer = c.send(
        c.request(Method::POST, "/console/signin/dev")
            .header("cookie", format!("{PRE}={pre}"))
            .header("origin", &c.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("_csrf", &pre),
                ("identity", "lee"),
                ("next", "/console/queue?tier=3&agent=a..b"),
            ])),
    );
    assert_eq!(answer.location(), Some("/console/queue?tier=3&agent=a..b"));
}

#[test]
fn hostile_form_bodies_get_a_4xx_page_never_a_500_or_a_hang() {
    let (server, _) = lee_server();
    let lee = Console::signed_in(&server, "lee");
    let csrf = lee.get("/console/").csrf().unwrap();
    let anon = Console::new(&server);
    let pre = anon.get("/console/signin").cookie(PRE).unwrap();
    let big = format!("_csrf={csrf}&reason={}", "a".repeat(1024 * 1024));
    let many = format!("_csrf={csrf}&{}", "ids=x&".repeat(10_000));
    let bad_utf8 = format!("_csrf={csrf}&decision=%ff%fe%C0%AF&ids=%E2%82&reason=%");
    let bodies: Vec<(&str, &str, String)> = vec![
        ("1 MB", "application/x-www-form-urlencoded", big),
        ("10 000 fields", "application/x-www-form-urlencoded", many),
        (
            "invalid UTF-8 escapes",
            "application/x-www-form-urlencoded",
            bad_utf8,
        ),
        (
            "JSON",
            "application/json",
            format!("{{\"_csrf\":\"{csrf}\"}}"),
        ),
        (
            "multipart",
            "multipart/form-data; boundary=x",
            format!(
                "--x\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n--x--\r\n"
            ),
        ),
        (
            "no body",
            "application/x-www-form-urlencoded",
            String::new(),
        ),
    ];
    for (what, kind, body) in &bodies {
        // (Not the sign-out form: a body that carries the right token
        // signs out, as it should, whatever else it holds.)
        // A fresh connection each: the service may close one whose body
        // it refused before reading it all.
        for (path, session, cookie) in [
            ("/console/batch", lee.session.as_deref(), None),
            ("/console/signin/dev", None, Some(&pre)),
        ] {
            let who = with_session(&server, session.unwrap_or(""));
            let who = if session.is_some() {
                who
            } else {
                Console::new(&server)
            };
            let mut r = who
                .request(Method::POST, path)
                .header("origin", &who.base)
                .header("content-type", *kind)
                .body(body.clone());
            if let Some(pre) = cookie {
                r = r.header("cookie", format!("{PRE}={pre}"));
            }
            let page = who.send(r);
            assert!(
                (400..500).contains(&page.status),
                "{what} to {path}: {} {}",
                page.status,
                &page.text[..page.text.len().min(300)]
            );
            assert!(
                page.cookie(SESSION).is_none_or(|v| v.is_empty()),
                "{what} to {path}"
            );
            assert!(
                page.text_of("error-code").is_some(),
                "{what} to {path}: a page, with its code"
            );
            assert_locked_headers(&page, what);
        }
    }
    // The framework's own refusals are pages too.
    let too_big = with_session(&server, lee.session.as_deref().unwrap())
        .post_form("/console/batch", &[("reason", &"a".repeat(2 << 20))]);
    assert_eq!(too_big.status, 413);
    assert_eq!(
        too_big.text_of("error-code").as_deref(),
        Some("BODY_TOO_LARGE")
    );
    let twice = lee.get("/console/leave?to=https://a.example&to=https://b.example");
    assert_eq!(twice.status, 400, "{}", twice.text);
    assert_eq!(twice.text_of("error-code").as_deref(), Some("BAD_REQUEST"));
    // Still serving, and still signed in: nothing above ended the session.
    assert_eq!(lee.get("/console/").status, 200);
}

#[test]
fn a_revoked_approve_key_ends_that_persons_session_at_the_next_click() {
    let (server, key_id) = lee_server();
    let agent = server.as_token(&server.key("agent-kb", &["request"], &[]));
    let id = agent.create(&example("low-confidence.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let lee = Console::signed_in(&server, "lee");
    let csrf = lee.get("/console/").csrf().unwrap();
    assert!(lee.get("/console/").text.contains(&id));
    let admin = server.as_token(&server.admin);
    let revoked = admin.send(admin.request(Method::DELETE, &format!("/v1/admin/keys/{key_id}")));
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_signed_out(&lee, "after the key was revoked");
    let post = lee.post_form(
        "/console/batch",
        &[("_csrf", &csrf), ("ids", &id), ("decision", "approve")],
    );
    assert_eq!(post.status, 303, "{}", post.text);
    assert_eq!(
        admin.get(&format!("/v1/requests/{id}")).1["state"],
        "pending"
    );
}

#[test]
fn a_person_removed_from_the_trust_store_is_signed_out_at_the_next_click() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("approvers.toml");
    let both = "[[approver]]\nid = \"alice\"\nroles = [\"support_lead\"]\n\n\
                [[approver]]\nid = \"bob\"\nroles = [\"support_lead\"]\n";
    std::fs::write(&trust, both).unwrap();
    let server = Server::start_with(Options {
        trust: Some(trust.clone()),
        ..Options::default()
    });
    let agent = server.as_token(&server.key("agent-kb", &["request"], &[]));
    let id = agent.create(&example("low-confidence.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice = Console::signed_in(&server, "alice");
    let bob = Console::signed_in(&server, "bob");
    let csrf = bob.get("/console/").csrf().unwrap();
    assert!(bob.get("/console/").text.contains("id=\"whoami\""));

    std::fs::write(
        &trust,
        "[[approver]]\nid = \"alice\"\nroles = [\"support_lead\"]\n",
    )
    .unwrap();
    let admin = server.as_token(&server.admin);
    let reloaded = admin.send(admin.request(Method::POST, "/v1/admin/reload"));
    assert_eq!(reloaded.status, 200, "{}", reloaded.text);
    assert_signed_out(&bob, "removed from the directory");
    let post = bob.post_form(
        "/console/batch",
        &[("_csrf", &csrf), ("ids", &id), ("decision", "approve")],
    );
    assert_eq!(post.status, 303, "{}", post.text);
    assert_eq!(
        admin.get(&format!("/v1/requests/{id}")).1["state"],
        "pending"
    );
    assert_eq!(alice.get("/console/").status, 200, "alice is still in");

    // Put back in the directory, bob must sign in again: the session he
    // was signed out of is gone, not dormant.
    std::fs::write(&trust, both).unwrap();
    let reloaded = admin.send(admin.request(Method::POST, "/v1/admin/reload"));
    assert_eq!(reloaded.status, 200, "{}", reloaded.text);
    assert_signed_out(&bob, "back in the directory, the old session stays ended");
}
