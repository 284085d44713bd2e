//! The console's OIDC sign-in (authorization code flow with PKCE) against
//! a fake provider in the test process (fake_idp.rs): the happy path to a
//! review recorded as `oidc`, every way the provider or a forger can make
//! it fail (never a session), replays, discovery, and the development
//! sign-in being off under OIDC unless forced.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::console_client::{Console, Page};
use crate::console_security::{assert_cookies_locked_down, with_session};
use crate::fake_idp::{FakeIdp, fixture, s256};
use crate::harness::{Options, Server, example, shipped_policy};

const PUBLIC: &str = "https://gate.example.test";
const CLIENT: &str = "gatehouse-console";
const PRE: &str = "__Host-gatehouse_pre";
const SESSION: &str = "__Host-gatehouse_session";

/// A service whose console signs in with the fake provider.
struct Setup {
    server: Server,
    idp: FakeIdp,
    _trust: tempfile::TempDir,
}

/// The trust store directory: `rita@example.com` is an approver, the
/// provider is the fake one.
fn trust_dir(idp: &FakeIdp) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwks.json"), fixture("jwks-rsa.json")).unwrap();
    let path = dir.path().join("approvers.toml");
    std::fs::write(
        &path,
        format!(
            "[[approver]]\nid = \"rita@example.com\"\nroles = [\"support_lead\"]\n\n\
             [oidc]\nissuer = \"{}\"\naudience = \"{CLIENT}\"\njwks = \"jwks.json\"\n\
             algorithms = [\"RS256\"]\nidentity_claim = \"email\"\n",
            idp.base
        ),
    )
    .unwrap();
    (dir, path)
}

fn setup(console: &str, oidc: &str, env: Vec<(String, String)>) -> Setup {
    let idp = FakeIdp::start();
    let (dir, trust) = trust_dir(&idp);
    let server = Server::start_with(Options {
        trust: Some(trust),
        config: Some(format!(
            "[console]\npublic_url = \"{PUBLIC}\"\n{console}\n\
             [console.oidc]\nclient_id = \"{CLIENT}\"\ntimeout_ms = 1500\n{oidc}\n"
        )),
        env,
        ..Options::default()
    });
    Setup {
        server,
        idp,
        _trust: dir,
    }
}

/// One browser's run through the flow: the start, the provider, and the
/// callback's answer, with the pre-session cookie and the callback path.
struct Run {
    callback: Page,
    pre: String,
    path: String,
}

fn provider_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn run(s: &Setup, next: &str) -> Run {
    let c = Console::new(&s.server);
    let start = c.get(&format!("/console/signin/oidc?next={}", enc(next)));
    assert_eq!(start.status, 303, "{}", start.text);
    assert_cookies_locked_down(&start, "the start of the flow");
    let pre = start.cookie(PRE).expect("the flow's pre-session cookie");
    assert!(!pre.is_empty());
    let to = start.location().expect("to the provider").to_owned();
    assert!(to.starts_with(&s.idp.base), "{to}");
    let back = provider_client().get(&to).send().unwrap();
    assert_eq!(back.status(), 302);
    let location = back.headers()["location"].to_str().unwrap().to_owned();
    let path = location
        .strip_prefix(PUBLIC)
        .expect("back to <public_url>/console/callback")
        .to_owned();
    assert!(path.starts_with("/console/callback?"), "{path}");
    let callback = callback(&c, &path, Some(&pre));
    Run {
        callback,
        pre,
        path,
    }
}

fn callback(c: &Console, path: &str, pre: Option<&str>) -> Page {
    let mut r = c.request(reqwest::Method::GET, path);
    if let Some(pre) = pre {
        r = r.header("cookie", format!("{PRE}={pre}"));
    }
    c.send(r)
}

fn enc(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Asserts a refusal page with this status and code that starts no
/// session and ends the flow (the pre-session cookie cleared).
fn assert_refused(page: &Page, status: u16, code: &str) {
    assert_eq!(page.status, status, "{code}: {}", page.text);
    assert_eq!(
        page.text_of("error-code").as_deref(),
        Some(code),
        "{}",
        page.text
    );
    assert!(
        page.cookie(SESSION).is_none_or(|v| v.is_empty()),
        "no session on a refusal: {:?}",
        page.set_cookies()
    );
    assert_eq!(page.cookie(PRE).as_deref(), Some(""), "the flow ends");
    assert_cookies_locked_down(page, code);
}

#[test]
fn oidc_signs_in_a_directory_person_whose_console_review_is_recorded_as_oidc() {
    let secret = "s3cr3t with spaces&symbols".to_owned();
    let s = setup(
        "",
        "client_secret_env = \"GH_TEST_OIDC_SECRET\"",
        vec![("GH_TEST_OIDC_SECRET".into(), secret.clone())],
    );
    let issuer = s.idp.base.clone();
    s.idp.set(|k| {
        k.secret = Some(secret.clone());
        k.authorize_iss = Some(issuer);
    });
    let r = run(&s, "/console/queue?tier=1");

    // What the provider was asked: code flow, PKCE S256, our redirect URI.
    let seen = s.idp.seen();
    assert_eq!(seen.discovery, 1);
    let auth = &seen.authorize[0];
    assert_eq!(auth["response_type"], "code");
    assert_eq!(auth["client_id"], CLIENT);
    assert_eq!(auth["redirect_uri"], format!("{PUBLIC}/console/callback"));
    assert_eq!(auth["code_challenge_method"], "S256");
    assert!(auth["scope"].split(' ').any(|s| s == "openid"), "{auth:?}");
    assert_eq!(auth["nonce"].len(), 64);
    assert!(r.pre.contains(&auth["state"]) && r.pre.contains(&auth["nonce"]));
    let (basic, form) = &seen.token[0];
    assert!(basic.as_deref().is_some_and(|b| b.starts_with("Basic ")));
    assert!(!form.contains_key("client_id"), "one client authentication");
    assert_eq!(s256(&form["code_verifier"]), auth["code_challenge"]);
    assert!(
        !r.pre.contains(&auth["code_challenge"]),
        "the verifier, not the challenge, is kept"
    );

    // Signed in: a session, the flow's cookie gone, back where we were going.
    let page = &r.callback;
    assert_eq!(page.status, 303, "{}", page.text);
    assert_eq!(page.location(), Some("/console/queue?tier=1"));
    assert_eq!(page.cookie(PRE).as_deref(), Some(""));
    assert_cookies_locked_down(page, "the callback");
    let mut rita = with_session(
        &s.server,
        &page
            .cookie(SESSION)
            .filter(|v| !v.is_empty())
            .expect("a session"),
    );
    rita.origin = PUBLIC.into();
    let queue = rita.get("/console/");
    assert_eq!(queue.status, 200, "{}", queue.text);
    assert!(
        queue
            .text_of("whoami")
            .unwrap()
            .contains("rita@example.com")
    );
    assert!(
        !queue.text.contains("dev-mode-banner"),
        "no development sign-in under OIDC"
    );

    // A queue-tier request approved in the console: the approval says oidc.
    let agent = s
        .server
        .as_token(&s.server.key("agent-kb", &["request"], &[]));
    let id = agent.create(&example("low-confidence.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = rita.submit(
        "/console/",
        "/console/batch",
        &[("ids", &id), ("decision", "approve"), ("reason", "fine")],
    );
    assert_eq!(done.status, 200, "{}", done.text);
    let reader = s.server.as_token(&s.server.admin);
    let (_, request) = reader.get(&format!("/v1/requests/{id}"));
    assert_eq!(request["state"], "approved", "{request}");
    let approval = &request["approvals"][0];
    assert_eq!(approval["method"], "oidc", "{approval}");
    assert_eq!(approval["approval"]["approver"], "rita@example.com");
}

#[test]
fn a_callback_is_answered_once() {
    let s = setup("", "", vec![]);
    let r = run(&s, "/console/");
    assert_eq!(r.callback.status, 303, "{}", r.callback.text);
    let c = Console::new(&s.server);
    // The browser's own cookie was cleared: the replay has none.
    assert_refused(&callback(&c, &r.path, None), 400, "OIDC_STATE_MISMATCH");
    // A copy of the cookie kept by someone: the state was used.
    let replay = callback(&c, &r.path, Some(&r.pre));
    assert_refused(&replay, 400, "OIDC_STATE_MISMATCH");
    assert!(
        replay
            .text_of("error-detail")
            .unwrap()
            .contains("used already")
    );
    assert_eq!(
        s.idp.seen().token.len(),
        1,
        "a replay never reaches the provider"
    );
}

#[test]
fn a_state_that_is_not_this_browsers_is_refused_before_the_code_is_redeemed() {
    let s = setup("", "", vec![]);
    let c = Console::new(&s.server);
    let start = c.get("/console/signin/oidc");
    let pre = start.cookie(PRE).unwrap();
    let other = c.get("/console/signin/oidc").cookie(PRE).unwrap();
    let state = |cookie: &str| cookie.split('.').nth(2).unwrap().to_owned();
    for (path, cookie) in [
        // A forged callback carrying the attacker's state and code.
        (
            format!("/console/callback?code=x&state={}", state(&other)),
            Some(pre.as_str()),
        ),
        (
            format!("/console/callback?code=x&state={}", state(&pre)),
            None,
        ),
        ("/console/callback?code=x".to_owned(), Some(pre.as_str())),
        (
            format!("/console/callback?code=x&state={0}&state={0}", state(&pre)),
            Some(pre.as_str()),
        ),
        (
            format!("/console/callback?code=x&state={}", state(&pre)),
            Some("o1.garbage"),
        ),
    ] {
        assert_refused(&callback(&c, &path, cookie), 400, "OIDC_STATE_MISMATCH");
    }
    assert!(s.idp.seen().token.is_empty(), "no code was redeemed");
}

#[test]
fn every_bad_answer_from_the_provider_is_a_refusal_page_without_a_session() {
    let s = setup("", "", vec![]);
    type Knob = fn(&mut crate::fake_idp::Knobs);
    let cases: Vec<(&str, Knob, u16, &str, &str)> = vec![
        (
            "wrong nonce",
            |k| k.nonce = Some("0".repeat(64)),
            401,
            "OIDC_NONCE_MISMATCH",
            "",
        ),
        (
            "wrong audience",
            |k| k.audience = Some(json!("someone-else")),
            401,
            "OIDC_TOKEN_REFUSED",
            "BAD_AUDIENCE",
        ),
        (
            "two audiences, no azp",
            |k| k.audience = Some(json!([CLIENT, "other-app"])),
            401,
            "OIDC_TOKEN_REFUSED",
            "BAD_AUDIENCE",
        ),
        (
            "expired",
            |k| k.expires_in = -3600,
            401,
            "OIDC_TOKEN_REFUSED",
            "TOKEN_EXPIRED",
        ),
        (
            "forged signature",
            |k| k.forge = true,
            401,
            "OIDC_TOKEN_REFUSED",
            "BAD_SIGNATURE",
        ),
        (
            "provider refuses at /authorize",
            |k| k.authorize_error = Some("access_denied".into()),
            502,
            "OIDC_PROVIDER_ERROR",
            "access_denied",
        ),
        (
            "provider refuses the code",
            |k| k.token_error = Some((400, json!({"error": "invalid_grant"}))),
            502,
            "OIDC_PROVIDER_ERROR",
            "invalid_grant",
        ),
        (
            "token endpoint fails",
            |k| k.token_error = Some((500, json!({}))),
            503,
            "OIDC_UNAVAILABLE",
            "500",
        ),
        (
            "an answer naming another issuer (mix-up)",
            |k| k.authorize_iss = Some("https://evil.example".into()),
            502,
            "OIDC_PROVIDER_ERROR",
            "another issuer",
        ),
        (
            "token endpoint hangs up",
            |k| k.token_drop = true,
            503,
            "OIDC_UNAVAILABLE",
            "",
        ),
        (
            "token endpoint too slow",
            |k| k.token_delay = Some(Duration::from_secs(20)),
            503,
            "OIDC_UNAVAILABLE",
            "timed out",
        ),
        (
            "no id_token",
            |k| k.token_error = Some((200, json!({"access_token": "x"}))),
            502,
            "OIDC_PROVIDER_ERROR",
            "id_token",
        ),
        (
            "not in the directory",
            |k| k.identity = "mallory@example.com".into(),
            403,
            "NOT_AN_APPROVER",
            "",
        ),
    ];
    for (what, knob, status, code, detail) in cases {
        s.idp.set(|k| {
            *k = crate::fake_idp::Knobs::default();
            knob(k);
        });
        let r = run(&s, "/console/");
        assert_refused(&r.callback, status, code);
        let text = r.callback.text_of("error-detail").unwrap();
        assert!(text.contains(detail), "{what}: {text}");
    }
    // The same provider, behaving: the refusals were about the knobs.
    s.idp.set(|k| *k = crate::fake_idp::Knobs::default());
    assert_eq!(run(&s, "/console/").callback.status, 303);
    assert_eq!(s.idp.seen().discovery, 1, "discovery is cached");
}

#[test]
fn configured_endpoints_win_over_discovery_and_a_lying_discovery_is_refused() {
    let s = setup(
        "",
        "authorization_endpoint = \"https://idp.example.com/authorize\"",
        vec![],
    );
    let c = Console::new(&s.server);
    let start = c.get("/console/signin/oidc");
    assert_eq!(start.status, 303, "{}", start.text);
    assert!(
        start
            .location()
            .unwrap()
            .starts_with("https://idp.example.com/authorize?"),
        "{:?}",
        start.location()
    );
    assert_eq!(
        s.idp.seen().discovery,
        1,
        "the token endpoint still came from discovery"
    );

    let s = setup("", "", vec![]);
    s.idp
        .set(|k| k.discovery_issuer = Some("https://evil.example".into()));
    let start = Console::new(&s.server).get("/console/signin/oidc");
    assert_refused(&start, 503, "OIDC_UNAVAILABLE");
    assert!(
        start
            .text_of("error-detail")
            .unwrap()
            .contains("another issuer")
    );
}

#[test]
fn the_development_sign_in_is_off_under_oidc_unless_forced() {
    let s = setup("", "", vec![]);
    let c = Console::new(&s.server);
    let page = c.get("/console/signin");
    assert_eq!(page.status, 200);
    assert!(page.text.contains("id=\"oidc-signin\""), "{}", page.text);
    assert!(!page.text.contains("id=\"dev-signin\""));
    assert!(!page.text.contains("id=\"dev-mode-banner\""));
    let pre = page.cookie(PRE).unwrap();
    let dev = c.send(
        c.request(reqwest::Method::POST, "/console/signin/dev")
            .header("cookie", format!("{PRE}={pre}"))
            .header("origin", PUBLIC)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("_csrf={pre}&identity=rita%40example.com")),
    );
    assert_eq!(dev.status, 404, "{}", dev.text);
    assert!(dev.cookie(SESSION).is_none());

    let forced = setup("dev_signin = \"on\"", "", vec![]);
    let page = Console::new(&forced.server).get("/console/signin");
    assert!(page.text.contains("id=\"oidc-signin\""));
    assert!(page.text.contains("id=\"dev-signin\""), "{}", page.text);
    assert!(page.text.contains("id=\"dev-mode-banner\""));
    // Posted from the public origin, as a browser there would.
    let c = Console::new(&forced.server);
    let pre = page.cookie(PRE).unwrap();
    let signed = c.send(
        c.request(reqwest::Method::POST, "/console/signin/dev")
            .header("cookie", format!("{PRE}={pre}"))
            .header("origin", PUBLIC)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("_csrf={pre}&identity=rita%40example.com")),
    );
    assert_eq!(signed.status, 303, "{}", signed.text);
    let dev = with_session(&forced.server, &signed.cookie(SESSION).unwrap());
    let queue = dev.get("/console/");
    assert_eq!(queue.status, 200);
    assert!(queue.text.contains("id=\"dev-mode-banner\""));
}

/// Starts `gatehouse serve` expecting it to refuse; its stderr.
fn refused_start(config: &str, trust: Option<&PathBuf>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.toml");
    std::fs::write(&path, config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.arg("serve")
        .arg("--policy")
        .arg(shipped_policy())
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&path)
        .env_remove("GATEHOUSE_CONFIG")
        .env_remove("GATEHOUSE_TRUST")
        .env_remove("GH_UNSET_SECRET")
        .stdin(Stdio::null());
    if let Some(t) = trust {
        cmd.arg("--trust").arg(t);
    }
    let out = cmd.output().expect("run gatehouse serve");
    assert!(!out.status.success(), "it must not start: {config}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn oidc_sign_in_without_what_it_needs_does_not_start() {
    let idp = FakeIdp::start();
    let (_dir, trust) = trust_dir(&idp);
    let oidc = format!("[console.oidc]\nclient_id = \"{CLIENT}\"\n");
    let err = refused_start(&oidc, Some(&trust));
    assert!(err.contains("public_url"), "{err}");
    let with_url = format!("[console]\npublic_url = \"{PUBLIC}\"\n{oidc}");
    let err = refused_start(&with_url, None);
    assert!(err.contains("[oidc] section"), "{err}");
    let err = refused_start(
        &format!("{with_url}client_secret_env = \"GH_UNSET_SECRET\"\n"),
        Some(&trust),
    );
    assert!(err.contains("GH_UNSET_SECRET"), "{err}");
    let err = refused_start(
        &format!("{with_url}token_endpoint = \"http://idp.example.com/token\"\n"),
        Some(&trust),
    );
    assert!(err.contains("https"), "{err}");
    // Discovery and the token call must both fit in the request's bound.
    let err = refused_start(&format!("{with_url}timeout_ms = 5000\n"), Some(&trust));
    assert!(err.contains("request_timeout_ms"), "{err}");
}

#[test]
fn without_oidc_configured_its_routes_are_not_there() {
    let server = Server::start();
    let c = Console::new(&server);
    let page = c.get("/console/signin");
    assert!(!page.text.contains("id=\"oidc-signin\""));
    for path in [
        "/console/signin/oidc?next=%2Fconsole%2F",
        "/console/callback?code=x&state=y",
    ] {
        let page = c.get(path);
        assert_eq!(page.status, 404, "{path}: {}", page.text);
        assert_eq!(page.text_of("error-code").as_deref(), Some("OIDC_OFF"));
        assert!(page.cookie(SESSION).is_none());
    }
}
