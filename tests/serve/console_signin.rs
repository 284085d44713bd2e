//! The development sign-in is a laptop's: on loopback, straight to the
//! service; never through a proxy or under another host name (DNS
//! rebinding), never for someone outside the approvers directory.

use crate::console_client::{Console, form};
use crate::harness::{Options, Server};

fn dev_post(server: &Server, extra: &[(&str, &str)], identity: &str) -> (u16, String) {
    let c = Console::new(server);
    let page = c.get("/console/signin");
    let pre = page.cookie("__Host-gatehouse_pre").expect("pre cookie");
    let mut r = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{}/console/signin/dev", server.base))
        .header("cookie", format!("__Host-gatehouse_pre={pre}"))
        .header("origin", &server.base)
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in extra {
        r = r.header(*k, *v);
    }
    let answer = c.send(r.body(form(&[("_csrf", &pre), ("identity", identity)])));
    (answer.status, answer.text)
}

#[test]
fn a_proxied_or_rebound_request_gets_no_development_sign_in() {
    let server = Server::start();
    let _ = server.key("alice", &["approve"], &["support_lead"]);
    // Straight to loopback: works.
    assert_eq!(dev_post(&server, &[], "alice").0, 303);
    let port = server.base.rsplit(':').next().expect("port");
    let evil_host = format!("evil.example:{port}");
    let evil_origin = format!("http://evil.example:{port}");
    for extra in [
        vec![("x-forwarded-for", "203.0.113.9")],
        vec![("forwarded", "for=203.0.113.9")],
        vec![("x-real-ip", "203.0.113.9")],
        vec![
            ("host", evil_host.as_str()),
            ("origin", evil_origin.as_str()),
        ],
    ] {
        let (status, text) = dev_post(&server, &extra, "alice");
        assert_eq!(status, 404, "{extra:?}: {text}");
        assert!(text.contains("DEV_SIGNIN_OFF"), "{text}");
    }
    // The sign-in page through a proxy shows no form.
    let c = Console::new(&server);
    let proxied = c.send(
        reqwest::blocking::Client::new()
            .get(format!("{}/console/signin", server.base))
            .header("x-forwarded-for", "203.0.113.9"),
    );
    assert_eq!(proxied.status, 200);
    assert!(
        !proxied.text.contains("id=\"dev-signin\""),
        "{}",
        proxied.text
    );
    assert!(proxied.text.contains("id=\"dev-signin-not-here\""));
}

#[test]
fn only_listed_approvers_may_sign_in_and_dev_sign_in_can_be_turned_off() {
    let server = Server::start();
    let _ = server.key("alice", &["approve"], &["support_lead"]);
    let _ = server.key("agent", &["request"], &[]);
    for nobody in ["agent", "admin", "mallory", "ALICE "] {
        let (status, text) = dev_post(&server, &[], nobody);
        assert_eq!(status, 403, "{nobody}: {text}");
        assert!(text.contains("NOT_AN_APPROVER"), "{text}");
    }
    let off = Server::start_with(Options {
        config: Some("[console]\ndev_signin = \"off\"\n".into()),
        ..Options::default()
    });
    let _ = off.key("alice", &["approve"], &["support_lead"]);
    let page = Console::new(&off).get("/console/signin");
    assert!(!page.text.contains("id=\"dev-signin\""));
    assert!(!page.text.contains("id=\"dev-mode-banner\""));
    assert_eq!(dev_post(&off, &[], "alice").0, 404);
}

#[test]
fn a_disabled_console_is_not_served() {
    let server = Server::start_with(Options {
        config: Some("[console]\nenabled = false\n".into()),
        ..Options::default()
    });
    let page = Console::new(&server).get("/console/");
    assert_eq!(page.status, 404, "{}", page.text);
}

#[test]
fn the_services_address_in_a_browser_lands_on_the_console() {
    let server = Server::start();
    let root = Console::new(&server).get("/");
    assert_eq!(root.status, 303);
    assert_eq!(root.location(), Some("/console/"));
}

/// An API key's roles come from the directory under its exact identity:
/// a key made for a look-alike of an approver (`rnary` for `mary`) holds
/// no role of hers, as a look-alike is not signed in to the console.
#[test]
fn a_key_for_a_look_alike_identity_holds_none_of_the_approvers_roles() {
    let dir = tempfile::tempdir().expect("dir");
    let trust = dir.path().join("approvers.toml");
    std::fs::write(
        &trust,
        "[[approver]]\nid = \"mary\"\nroles = [\"support_lead\"]\n",
    )
    .expect("write");
    let server = Server::start_with(Options {
        trust: Some(trust),
        ..Options::default()
    });
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let look_alike = server.as_token(&server.key("rnary", &["approve"], &[]));
    let mary = server.as_token(&server.key("mary", &["approve"], &[]));
    let id = agent.create(&crate::harness::example("refund-small.json"))["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) = look_alike.review(&id, "approve", "looks fine");
    assert_eq!(status, 403, "{body}");
    let (status, body) = mary.review(&id, "approve", "order checked");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "approved");
}

/// Signing in again (as anyone) ends the browser's previous session: its
/// cookie does not stay alive beside the new one until it expires.
#[test]
fn a_new_sign_in_ends_the_previous_session() {
    let server = Server::start();
    let _ = server.key("alice", &["approve"], &["support_lead"]);
    let _ = server.key("bob", &["approve"], &["support_lead"]);
    let alice = Console::signed_in(&server, "alice");
    assert_eq!(alice.get("/console/").status, 200);
    let page = alice.get("/console/signin");
    let pre = page.cookie("__Host-gatehouse_pre").expect("pre cookie");
    let again = alice.send(
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .post(format!("{}/console/signin/dev", server.base))
            .header("cookie", format!("__Host-gatehouse_pre={pre}"))
            .header("origin", &server.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("_csrf", &pre), ("identity", "bob")])),
    );
    assert_eq!(again.status, 303, "{}", again.text);
    let bobs = again
        .cookie("__Host-gatehouse_session")
        .expect("a new session");
    assert_ne!(Some(&bobs), alice.session.as_ref());
    let old = alice.get("/console/");
    assert_eq!(old.status, 303, "alice's old cookie is dead");
}

/// Behind a reverse proxy the console has a `public_url`; a proxy that
/// forwards no header cannot be told from a local request, so with a
/// `public_url` the development sign-in is off unless forced on.
#[test]
fn a_public_url_turns_the_automatic_development_sign_in_off() {
    let server = Server::start_with(Options {
        config: Some("[console]\npublic_url = \"https://gate.example.com\"\n".into()),
        ..Options::default()
    });
    let _ = server.key("alice", &["approve"], &["support_lead"]);
    let page = Console::new(&server).get("/console/signin");
    assert!(!page.text.contains("id=\"dev-signin\""), "{}", page.text);
    assert!(!page.text.contains("id=\"dev-mode-banner\""));
    let forced = Server::start_with(Options {
        config: Some(
            "[console]\npublic_url = \"https://gate.example.com\"\ndev_signin = \"on\"\n".into(),
        ),
        ..Options::default()
    });
    let page = Console::new(&forced).get("/console/signin");
    assert!(
        page.text.contains("id=\"dev-mode-banner\""),
        "{}",
        page.text
    );
}
