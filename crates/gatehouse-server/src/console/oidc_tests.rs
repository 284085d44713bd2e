//! Unit tests of the OIDC sign-in's pieces (the flow itself is tested
//! over HTTP against a fake provider in tests/serve/console_oidc.rs).

use super::provider::endpoint_url;
use super::*;

#[test]
fn the_challenge_is_rfc_7636s() {
    // RFC 7636 appendix B.
    assert_eq!(
        challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    assert_eq!(verifier().len(), 43);
}

#[test]
fn the_pending_cookie_reads_back_and_refuses_edits() {
    let p = Pending {
        issued: 1_700_000_000,
        state: session::random_token(),
        nonce: session::random_token(),
        verifier: verifier(),
        next: "/console/requests/req_1?x=1".into(),
    };
    let text = p.cookie();
    let back = Pending::read(&text).unwrap();
    assert_eq!(
        (
            back.issued,
            &back.state,
            &back.nonce,
            &back.verifier,
            &back.next
        ),
        (p.issued, &p.state, &p.nonce, &p.verifier, &p.next)
    );
    assert!(Pending::read(&text[1..]).is_none());
    assert!(Pending::read(&format!("{text}.x")).is_none());
    assert!(Pending::read(&session::random_token()).is_none());
    let evil = Pending {
        next: "//evil.example".into(),
        ..p
    };
    assert_eq!(Pending::read(&evil.cookie()).unwrap().next, "/console/");
}

#[test]
fn a_state_is_used_once_and_memory_is_bounded() {
    let state = OidcState {
        http: None,
        discovery: Mutex::new(None),
        used: Mutex::new(UsedStates::default()),
    };
    assert!(state.remember("a", 0));
    assert!(!state.remember("a", 10));
    for i in 0..MAX_USED_STATES + 10 {
        assert!(state.remember(&format!("s{i}"), 20));
    }
    assert!(lock(&state.used).order.len() <= MAX_USED_STATES);
    // Past a flow's life a state is forgotten (its cookie is dead).
    assert!(state.remember("b", 100));
    assert!(state.remember("b", 100 + FLOW_SECONDS + 1));
}

#[test]
fn endpoints_are_https_or_loopback_http() {
    assert!(endpoint_url("https://idp.example.com/token").is_ok());
    assert!(endpoint_url("http://127.0.0.1:8080/token").is_ok());
    assert!(endpoint_url("http://localhost/token").is_ok());
    assert!(endpoint_url("http://[::1]/token").is_ok());
    for bad in [
        "http://idp.example.com/token",
        "ftp://idp.example.com/",
        "javascript:alert(1)",
        "https://idp.example.com/#x",
        "not a url",
    ] {
        assert!(endpoint_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_audience_is_the_client() {
    let c = |v: Json| v.as_object().unwrap().clone();
    assert!(check_audience(&c(serde_json::json!({"aud": "app"})), "app").is_ok());
    assert!(check_audience(&c(serde_json::json!({"aud": ["app"]})), "app").is_ok());
    assert!(
        check_audience(
            &c(serde_json::json!({"aud": ["app", "api"], "azp": "app"})),
            "app"
        )
        .is_ok()
    );
    assert!(check_audience(&c(serde_json::json!({"aud": ["app", "api"]})), "app").is_err());
    assert!(check_audience(&c(serde_json::json!({"aud": "api"})), "app").is_err());
    assert!(check_audience(&c(serde_json::json!({"aud": "app", "azp": "other"})), "app").is_err());
    assert!(check_audience(&c(serde_json::json!({})), "app").is_err());
}
