//! Approvals vouched for by OIDC identity tokens, verified offline against
//! the trust store's JWKS file: RS256 (fixture key) and EdDSA (generated).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use gatehouse::Policy;
use gatehouse::audit::verify::{ApprovalKind, Verdict, VerifyOptions};
use gatehouse::trust::jws::{ApprovalPayload, payload_nonce};
use gatehouse::trust::oidc::OidcEnvelope;
use gatehouse::trust::{
    Credential, RefusalCode, SignedVerification, SignedVerifyOptions, TrustStore,
};
use gatehouse::values::Timestamp;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const POLICY: &str = r#"
policy "refunds" version "1"
schema { action.type: enum { refund }  action.amount: number }
role support_lead
role finance
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
default tier 3 because NO_RULE_MATCHED
"#;
const NOW: &str = "2026-11-22T10:00:00Z";
const GIVEN: &str = "2026-11-22T09:30:00Z";
const ISSUER: &str = "https://login.example.com";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/trust/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn ed_idp() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn jwks() -> String {
    let mut set: Value = serde_json::from_slice(&fixture("jwks-rsa.json")).unwrap();
    set["keys"].as_array_mut().unwrap().push(json!({
        "kty": "OKP", "crv": "Ed25519", "kid": "idp-ed-1", "alg": "EdDSA",
        "x": B64.encode(ed_idp().verifying_key().as_bytes()),
    }));
    set.to_string()
}

const STORE: &str = r#"
[oidc]
issuer = "https://login.example.com"
audience = "gatehouse"
jwks = "jwks.json"
identity_claim = "email"
[oidc.groups]
"support-leads" = ["support_lead"]
"finance-team" = ["finance"]
"#;

fn store() -> TrustStore {
    TrustStore::from_toml(STORE, Some(&jwks())).expect("valid store")
}

fn policy() -> Policy {
    Policy::from_source("refunds.gate", POLICY).unwrap()
}

fn input() -> Value {
    json!({ "action": { "type": "refund", "amount": 250 } })
}

fn payload(p: &Policy) -> Vec<u8> {
    serde_json::to_vec(&ApprovalPayload {
        approver: "alice@example.com".into(),
        decision: ApprovalKind::Approve,
        reason: Some("verified".into()),
        action_digest: p.evaluate(&input()).action_digest,
        action_digests: None,
        policy_digest: p.digest().into(),
        given_at: GIVEN.into(),
        expires_at: "2026-11-22T21:30:00Z".into(),
    })
    .unwrap()
}

fn secs(t: &str) -> i64 {
    Timestamp::parse(t).unwrap().unix_seconds()
}

fn claims(payload: &[u8]) -> Value {
    json!({
        "iss": ISSUER, "aud": "gatehouse", "sub": "u-17", "email": "alice@example.com",
        "groups": ["support-leads", "staff"],
        "iat": secs("2026-11-22T09:29:00Z"), "exp": secs("2026-11-22T10:29:00Z"),
        "nonce": payload_nonce(payload),
    })
}

#[derive(Clone, Copy)]
enum Idp {
    Rsa,
    Ed,
    ForgerRsa,
}

fn token(idp: Idp, claims: &Value) -> String {
    let (alg, kid, key) = match idp {
        Idp::Rsa => (
            "RS256",
            "idp-rsa-1",
            EncodingKey::from_rsa_der(&fixture("idp-rsa.der")),
        ),
        Idp::ForgerRsa => (
            "RS256",
            "idp-rsa-1",
            EncodingKey::from_rsa_der(&fixture("other-rsa.der")),
        ),
        Idp::Ed => (
            "EdDSA",
            "idp-ed-1",
            EncodingKey::from_ed_der(ed_idp().to_pkcs8_der().unwrap().as_bytes()),
        ),
    };
    let mut header = Header::new(if alg == "RS256" {
        Algorithm::RS256
    } else {
        Algorithm::EdDSA
    });
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn envelope(payload: &[u8], id_token: String) -> Credential {
    Credential::Oidc(OidcEnvelope {
        payload: B64.encode(payload),
        id_token,
    })
}

fn run(creds: &[Credential]) -> SignedVerification {
    let options = SignedVerifyOptions::new(
        VerifyOptions::new(Timestamp::parse(NOW).unwrap())
            .with_requested_at(Timestamp::parse("2026-11-22T09:00:00Z")),
    );
    policy().verify_signed(&input(), creds, &store(), &options)
}

fn refused(creds: &[Credential]) -> Vec<RefusalCode> {
    let v = run(creds);
    assert_ne!(v.verification.verdict, Verdict::Execute);
    v.authentication.refused.iter().map(|r| r.code).collect()
}

#[test]
fn rs256_and_eddsa_tokens_prove_the_approver_and_map_groups_to_roles() {
    let p = policy();
    let body = payload(&p);
    for idp in [Idp::Rsa, Idp::Ed] {
        let v = run(&[envelope(&body, token(idp, &claims(&body)))]);
        assert_eq!(v.verification.verdict, Verdict::Execute, "{v:#?}");
        let a = &v.authentication.accepted[0];
        assert_eq!(a.roles, ["support_lead"]);
        assert_eq!(a.key.as_deref(), Some(ISSUER));
    }
    // The envelope reads from approvals-file JSON too.
    let entry = json!({"payload": B64.encode(&body), "id_token": token(Idp::Rsa, &claims(&body))});
    assert!(matches!(Credential::from_json(&entry), Credential::Oidc(_)));
    let extra = json!({"payload": "", "id_token": "", "roles": ["finance"]});
    assert!(
        matches!(Credential::from_json(&extra), Credential::Invalid(r) if r.code == RefusalCode::UnknownField)
    );
}

#[test]
fn a_token_binds_one_payload() {
    let p = policy();
    let body = payload(&p);
    let id_token = token(Idp::Rsa, &claims(&body));
    // The same token with another payload (a larger refund): nonce mismatch.
    let other = String::from_utf8(body.clone())
        .unwrap()
        .replace("verified", "verified!");
    assert_eq!(
        refused(&[envelope(other.as_bytes(), id_token)]),
        [RefusalCode::NonceMismatch]
    );
    let mut c = claims(&body);
    c.as_object_mut().unwrap().remove("nonce");
    assert_eq!(
        refused(&[envelope(&body, token(Idp::Rsa, &c))]),
        [RefusalCode::NonceMismatch]
    );
}

#[test]
fn forged_or_foreign_tokens_are_refused() {
    let p = policy();
    let body = payload(&p);
    let c = claims(&body);
    assert_eq!(
        refused(&[envelope(&body, token(Idp::ForgerRsa, &c))]),
        [RefusalCode::BadSignature]
    );
    let mut wrong = c.clone();
    wrong["iss"] = json!("https://evil.example.com");
    assert_eq!(
        refused(&[envelope(&body, token(Idp::Rsa, &wrong))]),
        [RefusalCode::BadIssuer]
    );
    let mut wrong = c.clone();
    wrong["aud"] = json!(["another-app"]);
    assert_eq!(
        refused(&[envelope(&body, token(Idp::Ed, &wrong))]),
        [RefusalCode::BadAudience]
    );
    let mut wrong = c.clone();
    wrong["email"] = json!("bob@example.com");
    assert_eq!(
        refused(&[envelope(&body, token(Idp::Rsa, &wrong))]),
        [RefusalCode::IdentityMismatch]
    );
    let mut wrong = c.clone();
    wrong.as_object_mut().unwrap().remove("email");
    assert_eq!(
        refused(&[envelope(&body, token(Idp::Rsa, &wrong))]),
        [RefusalCode::MissingClaim]
    );
    // Groups the store does not map give no role.
    let mut wrong = c.clone();
    wrong["groups"] = json!(["finance-team-lookalike"]);
    let v = run(&[envelope(&body, token(Idp::Rsa, &wrong))]);
    assert_eq!(v.verification.verdict, Verdict::Pending);
    assert!(v.authentication.accepted[0].roles.is_empty());
}

#[test]
fn token_times_are_checked_at_the_approval() {
    let p = policy();
    let body = payload(&p);
    let mut c = claims(&body);
    c["exp"] = json!(secs("2026-11-22T09:00:00Z"));
    assert_eq!(
        refused(&[envelope(&body, token(Idp::Rsa, &c))]),
        [RefusalCode::TokenExpired]
    );
    let mut c = claims(&body);
    c["nbf"] = json!(secs("2026-11-22T09:45:00Z"));
    assert_eq!(
        refused(&[envelope(&body, token(Idp::Rsa, &c))]),
        [RefusalCode::TokenNotYetValid]
    );
    let mut c = claims(&body);
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        refused(&[envelope(&body, token(Idp::Rsa, &c))]),
        [RefusalCode::MissingClaim]
    );
}

#[test]
fn algorithm_confusion_and_unknown_keys_are_refused() {
    let p = policy();
    let body = payload(&p);
    let c = claims(&body);
    // HS256 keyed with the RSA public JWK's modulus text: never accepted.
    let n =
        serde_json::from_slice::<Value>(&fixture("jwks-rsa.json")).unwrap()["keys"][0]["n"].clone();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("idp-rsa-1".into());
    let hs = jsonwebtoken::encode(
        &header,
        &c,
        &EncodingKey::from_secret(n.as_str().unwrap().as_bytes()),
    )
    .unwrap();
    assert_eq!(
        refused(&[envelope(&body, hs)]),
        [RefusalCode::UnsupportedAlg]
    );
    // alg none.
    let unsigned = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none","kid":"idp-rsa-1"}"#),
        B64.encode(c.to_string())
    );
    assert_eq!(
        refused(&[envelope(&body, unsigned)]),
        [RefusalCode::UnsupportedAlg]
    );
    // An EdDSA token naming the RSA key (pinned to RS256).
    let ed = token(Idp::Ed, &c);
    let parts: Vec<&str> = ed.split('.').collect();
    let renamed = format!(
        "{}.{}.{}",
        B64.encode(r#"{"alg":"EdDSA","kid":"idp-rsa-1","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );
    assert_eq!(
        refused(&[envelope(&body, renamed)]),
        [RefusalCode::UnsupportedAlg]
    );
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("nope".into());
    let unknown = jsonwebtoken::encode(
        &header,
        &c,
        &EncodingKey::from_rsa_der(&fixture("idp-rsa.der")),
    )
    .unwrap();
    assert_eq!(
        refused(&[envelope(&body, unknown)]),
        [RefusalCode::UnknownKey]
    );
    // Duplicate claims (two nonces): refused before the JWT library reads them.
    let dup = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(c.to_string().replacen('{', r#"{"nonce":"x","#, 1)),
        parts[2]
    );
    assert_eq!(
        refused(&[envelope(&body, dup)]),
        [RefusalCode::DuplicateKey]
    );
    // A store without [oidc].
    let v = policy().verify_signed(
        &input(),
        &[envelope(&body, token(Idp::Rsa, &c))],
        &TrustStore::empty(),
        &SignedVerifyOptions::new(
            VerifyOptions::new(Timestamp::parse(NOW).unwrap()).with_requested_at(None),
        ),
    );
    assert_eq!(
        v.authentication.refused[0].code,
        RefusalCode::OidcNotConfigured
    );
}

#[test]
fn the_jwks_is_validated() {
    let err = |jwks: &str| {
        TrustStore::from_toml(STORE, Some(jwks))
            .unwrap_err()
            .to_string()
    };
    assert!(err(r#"{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}"#).contains("shared-secret"));
    // A short Ed25519 `x` would panic the JWT library when used: refused here.
    assert!(
        err(r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"AAAA"}]}"#)
            .contains("not 32 bytes")
    );
    assert!(err(r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]}"#).contains("no `kid`"));
    let rsa =
        serde_json::from_slice::<Value>(&fixture("jwks-rsa.json")).unwrap()["keys"][0].clone();
    assert!(err(&json!({"keys": [rsa, rsa]}).to_string()).contains("listed twice"));
    assert!(err("not json").contains("JWKS"));
    let hs = STORE.replace("identity_claim", "algorithms = [\"HS256\"]\nidentity_claim");
    let e = TrustStore::from_toml(&hs, Some(&jwks()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`HS256` is not accepted"), "{e}");
    assert!(TrustStore::from_toml(STORE, None).is_err());
}

#[test]
fn load_reads_the_jwks_next_to_the_store() {
    let dir = std::env::temp_dir().join(format!("gatehouse-oidc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("approvers.toml"), STORE).unwrap();
    std::fs::write(dir.join("jwks.json"), jwks()).unwrap();
    let s = TrustStore::load(&dir.join("approvers.toml")).unwrap();
    assert_eq!(s.oidc().unwrap().issuer, ISSUER);
    std::fs::remove_file(dir.join("jwks.json")).unwrap();
    assert!(TrustStore::load(&dir.join("approvers.toml")).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn approve_oidc_then_verify_through_the_binary() {
    let dir = std::env::temp_dir().join(format!("gatehouse-oidc-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policy")).unwrap();
    std::fs::write(dir.join("policy/refunds.gate"), POLICY).unwrap();
    std::fs::write(dir.join("policy/approvers.toml"), STORE).unwrap();
    std::fs::write(dir.join("policy/jwks.json"), jwks()).unwrap();
    std::fs::write(dir.join("action.json"), input().to_string()).unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        assert_cmd::Command::cargo_bin("gatehouse")
            .unwrap()
            .args(args)
            .output()
            .unwrap()
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    let (policy_dir, action) = (
        dir.join("policy").into_os_string(),
        dir.join("action.json").into_os_string(),
    );
    // 1. the payload and the nonce to sign in with
    let out = run(&[
        &os("approve"),
        &os("--oidc"),
        &os("--approver"),
        &os("alice@example.com"),
        &os("--policy"),
        &policy_dir,
        &os("--input"),
        &action,
        &os("--decision"),
        &os("approve"),
        &os("--reason"),
        &os("verified"),
        &os("--now"),
        &os(GIVEN),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let payload = B64.decode(printed["payload"].as_str().unwrap()).unwrap();
    assert_eq!(printed["nonce"], payload_nonce(&payload));
    // 2. the identity provider signs the person in with that nonce
    let id_token = token(Idp::Rsa, &claims(&payload));
    let approvals = json!([{"payload": printed["payload"], "id_token": id_token}]);
    std::fs::write(dir.join("approvals.json"), approvals.to_string()).unwrap();
    // 3. verify
    let out = run(&[
        &os("verify"),
        &os("--policy"),
        &policy_dir,
        &os("--input"),
        &action,
        &os("--approvals"),
        dir.join("approvals.json").as_os_str(),
        &os("--now"),
        &os(NOW),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(v["authentication"]["accepted"][0]["method"], "oidc");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- Bearer tokens sent to the gate service (`TrustStore::authenticate_bearer`):
// the same checks, with the token's times judged at `now`.

fn bearer_claims(now: &str) -> Value {
    let t = secs(now);
    json!({
        "iss": ISSUER, "aud": "gatehouse", "sub": "u-17", "email": "alice@example.com",
        "groups": ["support-leads", "staff"], "iat": t - 60, "exp": t + 3600,
    })
}

fn bearer(token: &str, now: &str) -> Result<(String, Vec<String>), RefusalCode> {
    store()
        .authenticate_bearer(token, Timestamp::parse(now).unwrap())
        .map_err(|r| r.code)
}

fn patched(patch: Value) -> Value {
    let mut c = bearer_claims(NOW);
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

#[test]
fn a_bearer_token_gives_the_identity_claim_and_the_roles_of_its_groups() {
    for idp in [Idp::Rsa, Idp::Ed] {
        let got = bearer(&token(idp, &bearer_claims(NOW)), NOW);
        assert_eq!(
            got,
            Ok((
                "alice@example.com".to_owned(),
                vec!["support_lead".to_owned()]
            ))
        );
    }
    // One group as a string; groups mapping to nothing give no roles.
    let one = token(Idp::Rsa, &patched(json!({"groups": "finance-team"})));
    assert_eq!(bearer(&one, NOW).unwrap().1, ["finance"]);
    let none = token(Idp::Rsa, &patched(json!({"groups": ["staff"]})));
    assert_eq!(bearer(&none, NOW).unwrap().1, Vec::<String>::new());
    // A store without [oidc] takes no tokens.
    let plain = TrustStore::from_toml("", None).unwrap();
    let refusal = plain
        .authenticate_bearer(
            &token(Idp::Rsa, &bearer_claims(NOW)),
            Timestamp::parse(NOW).unwrap(),
        )
        .unwrap_err();
    assert_eq!(refusal.code, RefusalCode::OidcNotConfigured);
}

#[test]
fn a_bearer_tokens_times_are_judged_at_now_within_the_leeway() {
    let t = secs(NOW);
    let base = Timestamp::parse(NOW).unwrap();
    let at = |s: i64| base.plus_seconds(s - t).to_string();
    let c = bearer_claims(NOW);
    let exp = c["exp"].as_i64().unwrap();
    let tok = token(Idp::Rsa, &c);
    // The default leeway is 60 seconds on each side.
    assert!(bearer(&tok, &at(exp + 59)).is_ok());
    assert_eq!(bearer(&tok, &at(exp + 60)), Err(RefusalCode::TokenExpired));
    let early = token(Idp::Rsa, &patched(json!({"nbf": t + 61})));
    assert_eq!(bearer(&early, NOW), Err(RefusalCode::TokenNotYetValid));
    let early = token(Idp::Rsa, &patched(json!({"nbf": t + 60})));
    assert!(bearer(&early, NOW).is_ok());
    let future = token(Idp::Rsa, &patched(json!({"iat": t + 3000})));
    assert_eq!(bearer(&future, NOW), Err(RefusalCode::TokenNotYetValid));
    let no_exp = token(Idp::Rsa, &patched(json!({"exp": null})));
    assert_eq!(bearer(&no_exp, NOW), Err(RefusalCode::MissingClaim));
}

#[test]
fn a_bearer_token_that_is_not_the_providers_is_refused() {
    let good = token(Idp::Rsa, &bearer_claims(NOW));
    let parts: Vec<&str> = good.split('.').collect();
    let seg = |v: Value| B64.encode(v.to_string());
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        seg(patched(json!({"email": "boss@example.com"}))),
        parts[2]
    );
    let none = format!(
        "{}.{}.",
        seg(json!({"alg": "none", "kid": "idp-rsa-1"})),
        parts[1]
    );
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("idp-rsa-1".into());
    let hs256 =
        jsonwebtoken::encode(&hs, &bearer_claims(NOW), &EncodingKey::from_secret(b"k")).unwrap();
    let mut unknown = Header::new(Algorithm::RS256);
    unknown.kid = Some("idp-rsa-9".into());
    let unknown = jsonwebtoken::encode(
        &unknown,
        &bearer_claims(NOW),
        &EncodingKey::from_rsa_der(&fixture("idp-rsa.der")),
    )
    .unwrap();
    let cases: Vec<(&str, String, RefusalCode)> = vec![
        (
            "wrong issuer",
            token(Idp::Rsa, &patched(json!({"iss": "https://evil.example"}))),
            RefusalCode::BadIssuer,
        ),
        (
            "wrong audience",
            token(Idp::Rsa, &patched(json!({"aud": "other"}))),
            RefusalCode::BadAudience,
        ),
        (
            "no audience",
            token(Idp::Rsa, &patched(json!({"aud": null}))),
            RefusalCode::MissingClaim,
        ),
        (
            "forger",
            token(Idp::ForgerRsa, &bearer_claims(NOW)),
            RefusalCode::BadSignature,
        ),
        ("tampered", tampered, RefusalCode::BadSignature),
        ("alg none", none, RefusalCode::UnsupportedAlg),
        ("HS256", hs256, RefusalCode::UnsupportedAlg),
        ("unknown kid", unknown, RefusalCode::UnknownKey),
        (
            "no identity claim",
            token(Idp::Rsa, &patched(json!({"email": null}))),
            RefusalCode::MissingClaim,
        ),
        (
            "blank identity",
            token(Idp::Rsa, &patched(json!({"email": "\u{200b} "}))),
            RefusalCode::MissingClaim,
        ),
        (
            "identity not a string",
            token(Idp::Rsa, &patched(json!({"email": 7}))),
            RefusalCode::MissingClaim,
        ),
        ("two segments", "a.b".into(), RefusalCode::Malformed),
        ("oversized", "a".repeat(1 << 20), RefusalCode::Oversized),
    ];
    for (what, tok, code) in cases {
        assert_eq!(bearer(&tok, NOW).map(|_| ()), Err(code), "{what}");
    }
}
