//! Who is calling: every way in (and every way of being refused), scopes
//! per endpoint, roles from the trust store, OIDC bearer tokens, separation
//! of duties between people, rate limits per person, read visibility and
//! the admin key endpoint. docs/service-auth.md is the guide these pin.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value as Json, json};

use crate::harness::{Answer, Options, Server, assert_problem, example};

/// Creates a key as admin: `(id, text)`.
fn make_key(server: &Server, identity: &str, scopes: &[&str]) -> (String, String) {
    let (status, body) = server.as_token(&server.admin).post(
        "/v1/admin/keys",
        &json!({"identity": identity, "scopes": scopes}),
    );
    assert_eq!(status, 201, "{body}");
    (
        body["id"].as_str().unwrap().to_owned(),
        body["key"].as_str().unwrap().to_owned(),
    )
}

/// GET /v1/requests with raw `Authorization` header values.
fn with_headers(server: &Server, values: &[reqwest::header::HeaderValue]) -> Answer {
    let client = server.anonymous();
    let mut r = client.request(Method::GET, "/v1/requests");
    for v in values {
        r = r.header(reqwest::header::AUTHORIZATION, v.clone());
    }
    client.send(r)
}

fn header(text: &str) -> reqwest::header::HeaderValue {
    reqwest::header::HeaderValue::from_str(text).unwrap()
}

fn assert_401(answer: &Answer, code: &str) {
    assert_problem(answer, 401, code);
    let challenge = answer
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(challenge.starts_with("Bearer"), "{challenge:?}");
}

#[test]
fn every_bad_credential_is_a_401_problem_with_a_challenge() {
    let server = Server::start();
    let (id, key) = make_key(&server, "agent", &["request"]);
    assert_eq!(server.as_token(&key).get("/v1/requests").0, 200);

    let shape_refusals: Vec<Vec<reqwest::header::HeaderValue>> = vec![
        vec![],
        vec![
            header(&format!("Bearer {key}")),
            header(&format!("Bearer {key}")),
        ],
        vec![header(&format!("Basic {key}"))],
        vec![header(&format!("Token {key}"))],
        vec![header(&format!("Bearer{key}"))],
        vec![header("Bearer ")],
        vec![header("Bearer")],
        vec![header(&format!("Bearer {key} extra"))],
        vec![header(&format!("Bearer {}", "a".repeat(20_000)))],
        vec![reqwest::header::HeaderValue::from_bytes(b"Bearer ghk_\xff\xfe").unwrap()],
        vec![header("Bearer x"), header("Bearer y")],
    ];
    for values in &shape_refusals {
        assert_401(&with_headers(&server, values), "UNAUTHENTICATED");
    }
    // A look-alike prefix in fullwidth letters is not ASCII at all.
    let fullwidth =
        reqwest::header::HeaderValue::from_bytes(format!("Bearer ｇhk_{}", &key[4..]).as_bytes())
            .unwrap();
    assert_401(&with_headers(&server, &[fullwidth]), "UNAUTHENTICATED");

    // Wrong keys: all one answer, byte for byte, so a guesser learns
    // nothing about which part was wrong.
    let mut flipped = key.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    let mut id_flipped = key.clone().into_bytes();
    id_flipped[4] = if id_flipped[4] == b'0' { b'1' } else { b'0' };
    let id_flipped = String::from_utf8(id_flipped).unwrap();
    let unknown = format!("ghk_000000000000.{}", "0".repeat(64));
    let wrong: Vec<String> = vec![
        flipped,
        id_flipped,
        unknown,
        format!("GHK_{}", &key[4..]),
        format!("ghk-{}", &key[4..]),
        key.to_uppercase(),
        format!("{key}0"),
        key[..key.len() - 1].to_owned(),
    ];
    let first = with_headers(&server, &[header(&format!("Bearer {}", wrong[0]))]);
    assert_401(&first, "UNAUTHENTICATED");
    for token in &wrong {
        let a = with_headers(&server, &[header(&format!("Bearer {token}"))]);
        assert_401(&a, "UNAUTHENTICATED");
        assert_eq!(a.text, first.text, "{token}");
    }

    // Revoked: the key worked, then it is the same 401 as any unknown key.
    let admin = server.as_token(&server.admin);
    let revoked = admin.send(admin.request(Method::DELETE, &format!("/v1/admin/keys/{id}")));
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    let after = with_headers(&server, &[header(&format!("Bearer {key}"))]);
    assert_401(&after, "UNAUTHENTICATED");
    assert_eq!(after.text, first.text);
    let listed = admin.get("/v1/admin/keys").1;
    let row = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["revoked"], true);
    assert!(row.get("key").is_none() && !listed.to_string().contains(&key[17..]));
}

/// What a scope may do at an endpoint, against another caller's request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum May {
    /// Past authorization (the answer may still refuse the body).
    Yes,
    /// 403 `SCOPE_MISSING`.
    No,
    /// 404: the request is not visible to this caller.
    Hidden,
}

#[test]
fn each_endpoint_against_each_scope() {
    use May::{Hidden as H, No as N, Yes as Y};
    let server = Server::start();
    let owner = server.as_token(&server.key("owner", &["request"], &[]));
    let request = owner.create(&example("refund-small.json"));
    assert_eq!(request["state"], "pending");
    let r = request["id"].as_str().unwrap().to_owned();
    let scopes = ["decide", "request", "approve", "execute", "read", "admin"];
    let action = example("refund-small.json");
    // Bodies that pass authorization but are refused after it, so no call
    // changes the request the next one is made on.
    let bad_review = json!({"decision": "maybe"});
    let bad_reason = json!({"reason": 5});
    #[rustfmt::skip]
    let table: Vec<(Method, String, Option<Json>, [May; 6])> = vec![
        //                                                    decide request approve execute read admin
        (Method::POST, "/v1/decide".into(), Some(action.clone()), [Y, N, N, N, N, Y]),
        (Method::GET, "/v1/requests".into(), None,               [Y, Y, Y, Y, Y, Y]),
        (Method::GET, format!("/v1/requests/{r}"), None,         [H, H, Y, Y, Y, Y]),
        (Method::GET, format!("/v1/requests/{r}/audit"), None,   [H, H, Y, Y, Y, Y]),
        (Method::GET, format!("/v1/requests/{r}/wait?timeout=0"), None, [H, H, Y, Y, Y, Y]),
        (Method::POST, format!("/v1/requests/{r}/decisions"), Some(bad_review), [N, N, Y, N, N, Y]),
        (Method::POST, format!("/v1/requests/{r}/cancel"), Some(bad_reason), [H, H, N, N, N, Y]),
        (Method::POST, format!("/v1/requests/{r}/claim"), Some(json!({})), [N, N, N, Y, N, Y]),
        (Method::POST, format!("/v1/requests/{r}/executed"), Some(json!({})), [N, N, N, Y, N, Y]),
        (Method::POST, format!("/v1/requests/{r}/verified"), Some(json!({})), [N, N, N, Y, N, Y]),
        (Method::GET, "/v1/audit".into(), None,                  [N, N, N, N, Y, Y]),
        (Method::GET, "/v1/admin/keys".into(), None,             [N, N, N, N, N, Y]),
        (Method::POST, "/v1/admin/keys".into(), Some(json!({})), [N, N, N, N, N, Y]),
        (Method::DELETE, "/v1/admin/keys/ghk_000000000000".into(), None, [N, N, N, N, N, Y]),
        (Method::POST, "/v1/admin/reload".into(), None,          [N, N, N, N, N, Y]),
        (Method::POST, "/v1/requests".into(), Some(action.clone()), [N, Y, N, N, N, Y]),
    ];
    let clients: Vec<_> = scopes
        .iter()
        .map(|s| server.as_token(&server.key(&format!("k-{s}"), &[s], &["support_lead"])))
        .collect();
    let mut failures = Vec::new();
    for (method, path, body, expected) in &table {
        for (i, client) in clients.iter().enumerate() {
            let mut req = client.request(method.clone(), path);
            if let Some(body) = body {
                req = req
                    .header("content-type", "application/json")
                    .body(body.to_string());
            }
            let a = client.send(req);
            let got = match (a.status, a.json["code"].as_str()) {
                (403, Some("SCOPE_MISSING")) => N,
                (404, Some("NOT_FOUND")) if path.contains("/requests/") => H,
                (401 | 403, _) => {
                    failures.push(format!("{method} {path} as {}: {}", scopes[i], a.text));
                    continue;
                }
                _ => Y,
            };
            if got != expected[i] {
                failures.push(format!(
                    "{method} {path} as {}: expected {:?}, got {got:?} ({} {})",
                    scopes[i], expected[i], a.status, a.text
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The request the table ran on is untouched.
    assert_eq!(
        owner.get(&format!("/v1/requests/{r}")).1["state"],
        "pending"
    );
}

#[test]
fn asking_is_not_executing_even_for_ones_own_auto_request() {
    let server = Server::start();
    let action = example("internal-summary.json");
    let asker = server.as_token(&server.key("agent", &["request"], &[]));
    let request = asker.create(&action);
    assert_eq!(request["state"], "approved", "{request}");
    let id = request["id"].as_str().unwrap();
    let (status, refused) = asker.claim(id, &action);
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "SCOPE_MISSING");
    // The same person with `execute` too (a second key) claims it.
    let doer = server.as_token(&server.key("Agent", &["request", "execute"], &[]));
    let (status, claimed) = doer.claim(id, &action);
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(claimed["state"], "executing");
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn with_a_trust_store_roles_are_the_directorys_never_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let trust = write(
        dir.path(),
        "approvers.toml",
        "[[approver]]\nid = \"alice\"\nroles = [\"account_manager\"]\n\n\
         [[approver]]\nid = \"bob\"\nroles = [\"support_lead\"]\n",
    );
    let server = Server::start_with(Options {
        trust: Some(trust),
        ..Options::default()
    });
    let agent = server.as_token(&server.key("agent", &["request"], &[]));
    // The admin gave alice's key a role the directory does not give her.
    let alice = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    // bob's key names no role; the directory gives him support_lead.
    let bob = server.as_token(&server.key("bob", &["approve"], &[]));
    let nobody = server.as_token(&server.key("mallory", &["approve"], &["support_lead"]));
    let id = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for who in [&alice, &nobody] {
        let (status, refused) = who.review(&id, "approve", "checked the order");
        assert_eq!(status, 403, "{refused}");
        assert_eq!(refused["code"], "ROLE_NOT_ELIGIBLE");
    }
    let (status, approved) = bob.review(&id, "approve", "checked the order");
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["state"], "approved");
    assert_eq!(
        approved["approvals"][0]["approval"]["roles"],
        json!(["support_lead"])
    );
}

const ISSUER: &str = "https://login.example.com";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/trust")
            .join(name),
    )
    .unwrap()
}

fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn claims(email: &str, groups: &[&str]) -> Json {
    let now = unix_now();
    json!({
        "iss": ISSUER, "aud": "gatehouse", "sub": format!("u-{email}"), "email": email,
        "groups": groups, "iat": now - 10, "exp": now + 3600,
    })
}

fn rs256(claims: &Json, der: &str, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(&fixture(der))).unwrap()
}

/// A server whose trust store accepts the fixture identity provider (the
/// directory is kept while the server runs: reloads read it again).
fn oidc_server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "jwks.json",
        std::str::from_utf8(&fixture("jwks-rsa.json")).unwrap(),
    );
    let trust = write(
        dir.path(),
        "approvers.toml",
        &format!(
            "[oidc]\nissuer = \"{ISSUER}\"\naudience = \"gatehouse\"\njwks = \"jwks.json\"\n\
             algorithms = [\"RS256\"]\nidentity_claim = \"email\"\n\
             [oidc.groups]\n\"support-leads\" = [\"support_lead\"]\n"
        ),
    );
    let server = Server::start_with(Options {
        trust: Some(trust),
        ..Options::default()
    });
    (server, dir)
}

#[test]
fn an_oidc_token_authenticates_a_reviewer_whose_roles_come_from_groups() {
    let (server, _trust) = oidc_server();
    let agent = server.as_token(&server.key("agent", &["request"], &[]));
    let id = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Signed in, but in no group that maps to a role: not eligible.
    let staff = server.as_token(&rs256(
        &claims("sue@example.com", &["staff"]),
        "idp-rsa.der",
        "idp-rsa-1",
    ));
    let (status, refused) = staff.review(&id, "approve", "fine");
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "ROLE_NOT_ELIGIBLE");
    // Tokens hold approve and request, not admin or execute.
    let (status, _) = staff.get("/v1/admin/keys");
    assert_eq!(status, 403);

    let lead = rs256(
        &claims("rita@example.com", &["support-leads", "staff"]),
        "idp-rsa.der",
        "idp-rsa-1",
    );
    let (status, approved) = server
        .as_token(&lead)
        .review(&id, "approve", "order checked");
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["state"], "approved");
    let approval = &approved["approvals"][0];
    assert_eq!(approval["method"], "oidc");
    assert_eq!(approval["approval"]["approver"], "rita@example.com");
    assert_eq!(approval["approval"]["roles"], json!(["support_lead"]));
}

#[test]
fn refused_oidc_tokens_are_401_with_the_engines_code() {
    let (server, _trust) = oidc_server();
    let now = unix_now();
    let good = claims("rita@example.com", &["support-leads"]);
    let with = |patch: Json| {
        let mut c = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let signed = |c: &Json| rs256(c, "idp-rsa.der", "idp-rsa-1");
    let mut no_email = good.clone();
    no_email.as_object_mut().unwrap().remove("email");
    let segment = |v: &Json| B64.encode(v.to_string());
    let token = signed(&good);
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        segment(&with(json!({"email": "boss@example.com"}))),
        parts[2]
    );
    let none = format!(
        "{}.{}.",
        segment(&json!({"alg": "none", "typ": "JWT", "kid": "idp-rsa-1"})),
        parts[1]
    );
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("idp-rsa-1".into());
    let hs256 = jsonwebtoken::encode(&hs, &good, &EncodingKey::from_secret(b"secret")).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            signed(&with(json!({"iat": now - 7200, "exp": now - 3600}))),
            "TOKEN_EXPIRED",
        ),
        (
            "not yet valid",
            signed(&with(json!({"nbf": now + 3600}))),
            "TOKEN_NOT_YET_VALID",
        ),
        (
            "issued in the future",
            signed(&with(json!({"iat": now + 3600}))),
            "TOKEN_NOT_YET_VALID",
        ),
        (
            "wrong issuer",
            signed(&with(json!({"iss": "https://evil.example.com"}))),
            "BAD_ISSUER",
        ),
        (
            "wrong audience",
            signed(&with(json!({"aud": "someone-else"}))),
            "BAD_AUDIENCE",
        ),
        ("alg none", none, "UNSUPPORTED_ALG"),
        ("HS256 with a guessed secret", hs256, "UNSUPPORTED_ALG"),
        (
            "unknown kid",
            rs256(&good, "idp-rsa.der", "idp-rsa-9"),
            "UNKNOWN_KEY",
        ),
        (
            "a forger's key",
            rs256(&good, "other-rsa.der", "idp-rsa-1"),
            "BAD_SIGNATURE",
        ),
        ("tampered payload", tampered, "BAD_SIGNATURE"),
        ("no identity claim", signed(&no_email), "MISSING_CLAIM"),
        (
            "blank identity claim",
            signed(&with(json!({"email": " \u{200b}"}))),
            "MISSING_CLAIM",
        ),
        ("not a JWT", "abc.def".into(), "MALFORMED"),
    ];
    for (what, token, code) in cases {
        let a = with_headers(&server, &[header(&format!("Bearer {token}"))]);
        assert_eq!(a.status, 401, "{what}: {}", a.text);
        assert_401(&a, code);
    }
    // The untouched token works: the refusals above are about the changes.
    assert_eq!(server.as_token(&token).get("/v1/requests").0, 200);
}

#[test]
fn separation_of_duties_compares_people_not_spellings_or_keys() {
    let server = Server::start();
    let rosa = server.as_token(&server.key("rosa", &["request"], &[]));
    let id = rosa.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The requester's own name in capitals, fullwidth, with a zero-width
    // space: each a new key of the same person.
    for spelling in ["Rosa", "ROSA", "ｒｏｓａ", "ro\u{200b}sa", " rosa "] {
        let me = server.as_token(&server.key(spelling, &["approve"], &["support_lead"]));
        let (status, refused) = me.review(&id, "approve", "looks fine");
        assert_eq!(status, 403, "{spelling:?}: {refused}");
        assert_eq!(refused["code"], "SELF_APPROVAL", "{spelling:?}");
    }

    // Dual: one person through two keys is still one approval.
    let agent = server.as_token(&server.key("agent-access-broker", &["request"], &[]));
    let iam = agent.create(&example("iam-change.json"));
    assert_eq!(iam["outcome"], "dual");
    let iam = iam["id"].as_str().unwrap();
    let roles = ["security_approver", "change_manager"];
    let sam = server.as_token(&server.key("sam", &["approve"], &roles));
    let sam_again = server.as_token(&server.key("Ｓam", &["approve"], &roles));
    let (status, one) = sam.review(iam, "approve", "least privilege kept");
    assert_eq!(status, 200, "{one}");
    let (status, twice) = sam_again.review(iam, "approve", "me again");
    assert_eq!(status, 409, "{twice}");
    assert_eq!(twice["code"], "SAME_APPROVER_TWICE");
    // The agent's owner (u-2100 in the action) is a forbidden approver of
    // the decision, under any spelling.
    assert!(
        iam_forbidden(&agent.get(&format!("/v1/requests/{iam}")).1).contains(&"u-2100".to_owned())
    );
    let owner = server.as_token(&server.key("Ｕ-2100", &["approve"], &roles));
    let (status, refused) = owner.review(iam, "approve", "fine by me");
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "EXCLUDED_IDENTITY");
    let (_, still) = agent.get(&format!("/v1/requests/{iam}"));
    assert_eq!(still["state"], "pending");
}

fn iam_forbidden(request: &Json) -> Vec<String> {
    request["forbidden_approvers"]
        .as_array()
        .or_else(|| {
            request
                .pointer("/decision/approvals/forbidden_approvers")
                .and_then(Json::as_array)
        })
        .into_iter()
        .flatten()
        .filter_map(|f| f["identity"].as_str().or(f.as_str()))
        .map(str::to_lowercase)
        .collect()
}

/// Decides until refused; `(successes before the first 429, the 429)`.
fn until_limited(client: &crate::harness::Client, action: &Json) -> (usize, Answer) {
    for done in 0..2_000 {
        let a = client.send(
            client
                .request(Method::POST, "/v1/decide")
                .header("content-type", "application/json")
                .body(action.to_string()),
        );
        if a.status == 429 {
            return (done, a);
        }
        assert_eq!(a.status, 200, "{}", a.text);
    }
    panic!("2000 decisions and never limited at 1 per second");
}

#[test]
fn rate_limits_are_per_person_with_retry_after() {
    const BURST: usize = 30;
    let server = Server::start_with(Options {
        config: Some(format!(
            "[limits]\nrate_per_second = 1\nrate_burst = {BURST}\n"
        )),
        ..Options::default()
    });
    let alice = server.as_token(&server.key("alice", &["decide"], &[]));
    let alice_again = server.as_token(&server.key("ALICE", &["decide"], &[]));
    let bob = server.as_token(&server.key("bob", &["decide"], &[]));
    let action = example("refund-small.json");

    let (done, limited) = until_limited(&alice, &action);
    assert!(done >= BURST, "a fresh bucket holds the burst: {done}");
    assert_problem(&limited, 429, "RATE_LIMITED");
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);

    // alice's second key draws on the same bucket: it gets only what the
    // bucket refilled since (1 a second), far from a fresh burst.
    let (shared, limited) = until_limited(&alice_again, &action);
    assert_problem(&limited, 429, "RATE_LIMITED");
    assert!(
        shared < BURST / 2,
        "two keys of one person share a bucket: {shared}"
    );
    // Another person has a bucket of their own.
    let (own, _) = until_limited(&bob, &action);
    assert!(own >= BURST, "bob has his own bucket: {own}");
}

#[test]
fn a_requester_sees_only_their_own_requests() {
    let server = Server::start();
    let ann = server.as_token(&server.key("ann", &["request"], &[]));
    let ben = server.as_token(&server.key("ben", &["request"], &[]));
    let reader = server.as_token(&server.key("rea", &["read"], &[]));
    let action = example("refund-small.json");
    let mine = ann.create(&action)["id"].as_str().unwrap().to_owned();
    let theirs = ben.create(&action)["id"].as_str().unwrap().to_owned();
    // ann's second key, another spelling, is still ann.
    let ann_too = server.as_token(&server.key("Ann", &["request"], &[]));

    for client in [&ann, &ann_too] {
        assert_eq!(client.get(&format!("/v1/requests/{mine}")).0, 200);
        for path in [
            format!("/v1/requests/{theirs}"),
            format!("/v1/requests/{theirs}/audit"),
            format!("/v1/requests/{theirs}/wait?timeout=0"),
            format!("/v1/requests/{theirs}/events"),
        ] {
            let a = client.send(client.request(Method::GET, &path));
            assert_problem(&a, 404, "NOT_FOUND");
        }
        let cancel = client.send(
            client
                .request(Method::POST, &format!("/v1/requests/{theirs}/cancel"))
                .header("content-type", "application/json")
                .body("{}"),
        );
        assert_problem(&cancel, 404, "NOT_FOUND");
        let (status, list) = client.get("/v1/requests");
        assert_eq!(status, 200);
        let ids: Vec<&str> = list["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [mine.as_str()], "{list}");
    }
    let (_, all) = reader.get("/v1/requests");
    assert_eq!(all["requests"].as_array().unwrap().len(), 2, "{all}");
    assert_eq!(
        ben.get(&format!("/v1/requests/{theirs}")).1["state"],
        "pending",
        "ann's cancel did nothing"
    );
}

#[test]
fn the_admin_key_endpoint_names_each_bad_field_by_path() {
    let server = Server::start();
    let admin = server.as_token(&server.admin);
    let bad = |body: Json, paths: &[&str]| {
        let a = admin.post_text("/v1/admin/keys", &body.to_string());
        assert_problem(&a, 422, "INVALID_BODY");
        let got: Vec<&str> = a.json["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert_eq!(got, paths, "{body}: {}", a.text);
    };
    bad(
        json!({"identity": "", "scopes": ["read", "root"], "roles": ["ok", "bad role"]}),
        &["$.identity", "$.scopes[1]", "$.roles[1]"],
    );
    bad(
        json!({"identity": " \u{200b} ", "scopes": ["read"]}),
        &["$.identity"],
    );
    bad(
        json!({"identity": "a\nb", "scopes": ["read"]}),
        &["$.identity"],
    );
    bad(
        json!({"identity": "x".repeat(257), "scopes": ["read"]}),
        &["$.identity"],
    );
    bad(json!({"identity": "ok", "scopes": []}), &["$.scopes"]);
    bad(
        json!({"identity": "ok", "scopes": ["Admin"]}),
        &["$.scopes[0]"],
    );
    bad(
        json!({"identity": "ok", "scopes": ["read"], "roles": ["", "x".repeat(129), "ünï"]}),
        &["$.roles[0]", "$.roles[1]", "$.roles[2]"],
    );
    bad(
        json!({"identity": "ok", "scopes": ["read"], "admin": true}),
        &["$.admin"],
    );
    bad(json!({"identity": "ok"}), &["$"]);
    bad(json!(["ok"]), &["$"]);
    // Not JSON, not an admin, no such key.
    let a = admin.post_text("/v1/admin/keys", "{");
    assert_eq!(a.status, 400, "{}", a.text);
    let reader = server.as_token(&server.key("rea", &["read"], &[]));
    let a = reader.post_text(
        "/v1/admin/keys",
        &json!({"identity": "me", "scopes": ["admin"]}).to_string(),
    );
    assert_problem(&a, 403, "SCOPE_MISSING");
    let gone = admin.send(admin.request(Method::DELETE, "/v1/admin/keys/ghk_000000000000"));
    assert_problem(&gone, 404, "NOT_FOUND");
    // Nothing above made a key.
    let (_, keys) = admin.get("/v1/admin/keys");
    let identities: Vec<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["identity"].as_str().unwrap())
        .collect();
    assert!(
        !identities.contains(&"ok") && !identities.contains(&"me"),
        "{keys}"
    );
}
