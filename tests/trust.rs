//! Signed approvals and the trust store (library level): every forged,
//! tampered or malformed credential is refused with its own code, and only
//! the trust store grants roles.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer as _, SigningKey};
use gatehouse::Policy;
use gatehouse::audit::verify::{ApprovalKind, Verdict, VerifyOptions};
use gatehouse::trust::jws::{self, ApprovalPayload};
use gatehouse::trust::{
    Credential, RefusalCode, SignedVerification, SignedVerifyOptions, TrustStore,
};
use gatehouse::values::Timestamp;
use proptest::prelude::*;
use serde_json::{Value, json};

const POLICY: &str = r#"
policy "refunds" version "1"
schema {
  action.type: enum { refund }
  action.amount: number
}
role support_lead
role finance
reason LARGE "refund above 1000"
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
tier 4 "large" { outcome explicit  approve finance  timeout 24h then reject }
rule large when action.amount > 1000 then tier 4 because LARGE
default tier 3 because NO_RULE_MATCHED
"#;

const NOW: &str = "2026-11-22T10:00:00Z";
const GIVEN: &str = "2026-11-22T09:30:00Z";

fn policy() -> Policy {
    Policy::from_source("refunds.gate", POLICY).expect("compiles")
}

fn refund(amount: u32) -> Value {
    json!({ "action": { "type": "refund", "amount": amount } })
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn alice() -> SigningKey {
    key(1)
}
fn bob() -> SigningKey {
    key(2)
}
fn mallory() -> SigningKey {
    key(3)
}

/// alice: support_lead; bob: finance; mallory: listed, no roles.
fn store() -> TrustStore {
    TrustStore::from_toml(&store_text(), None).expect("valid store")
}

fn store_text() -> String {
    format!(
        "[[approver]]\nid = \"alice\"\nroles = [\"support_lead\"]\nkeys = [\"{}\"]\n\n\
         [[approver]]\nid = \"bob\"\nroles = [\"finance\"]\nkeys = [\"{}\"]\n\n\
         [[approver]]\nid = \"mallory\"\nkeys = [\"{}\"]\n",
        jws::public_key_text(&alice().verifying_key()),
        jws::public_key_text(&bob().verifying_key()),
        jws::public_key_text(&mallory().verifying_key()),
    )
}

fn payload(p: &Policy, approver: &str, input: &Value) -> ApprovalPayload {
    ApprovalPayload {
        approver: approver.into(),
        decision: ApprovalKind::Approve,
        reason: Some("checked the order".into()),
        action_digest: p.evaluate(input).action_digest,
        action_digests: None,
        policy_digest: p.digest().into(),
        given_at: GIVEN.into(),
        expires_at: "2026-11-22T21:30:00Z".into(),
    }
}

fn options() -> SignedVerifyOptions {
    SignedVerifyOptions::new(
        VerifyOptions::new(Timestamp::parse(NOW).unwrap())
            .with_requested_at(Timestamp::parse("2026-11-22T09:00:00Z")),
    )
}

fn verify(p: &Policy, input: &Value, tokens: &[String]) -> SignedVerification {
    let creds: Vec<Credential> = tokens.iter().cloned().map(Credential::Jws).collect();
    p.verify_signed(input, &creds, &store(), &options())
}

fn refused(v: &SignedVerification) -> Vec<RefusalCode> {
    v.authentication.refused.iter().map(|r| r.code).collect()
}

/// A JWS over exactly these header and payload texts.
fn raw_jws(header: &str, payload: &str, key: &SigningKey) -> String {
    let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", B64.encode(sig.to_bytes()))
}

fn header_for(key: &SigningKey) -> String {
    json!({"alg": "EdDSA", "typ": "gatehouse-approval+jws", "kid": jws::public_key_text(&key.verifying_key())}).to_string()
}

#[test]
fn a_signed_approval_round_trips_and_executes() {
    let p = policy();
    let input = refund(250);
    let token = jws::sign(&payload(&p, "alice", &input), &alice()).unwrap();
    let v = verify(&p, &input, &[token]);
    assert_eq!(v.verification.verdict, Verdict::Execute, "{v:#?}");
    assert!(v.authentication.refused.is_empty());
    let accepted = &v.authentication.accepted[0];
    assert_eq!(accepted.approver, "alice");
    assert_eq!(accepted.roles, ["support_lead"]);
    assert!(!v.authentication.allow_unsigned);
    // The result JSON carries the verification flat, plus `authentication`.
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["verdict"], "execute");
    assert_eq!(json["authentication"]["accepted"][0]["method"], "ed25519");
}

#[test]
fn an_edited_payload_is_a_bad_signature() {
    let p = policy();
    let small = refund(250);
    let large = refund(2500);
    let token = jws::sign(&payload(&p, "alice", &small), &alice()).unwrap();
    // Swap in the payload for the large refund, keep the signature.
    let parts: Vec<&str> = token.split('.').collect();
    let forged_payload = serde_json::to_vec(&payload(&p, "alice", &large)).unwrap();
    let forged = format!("{}.{}.{}", parts[0], B64.encode(forged_payload), parts[2]);
    let v = verify(&p, &large, &[forged]);
    assert_eq!(refused(&v), [RefusalCode::BadSignature]);
    assert_eq!(v.verification.verdict, Verdict::Pending);
    assert_eq!(v.verification.reasons[0].code, "BAD_SIGNATURE");
}

#[test]
fn a_signature_from_another_key_is_refused() {
    let p = policy();
    let input = refund(250);
    // Signed by an outsider, claiming alice's key id.
    let outsider = key(99);
    let body = serde_json::to_string(&payload(&p, "alice", &input)).unwrap();
    let token = raw_jws(&header_for(&alice()), &body, &outsider);
    assert_eq!(
        refused(&verify(&p, &input, &[token])),
        [RefusalCode::BadSignature]
    );
    // Signed by an outsider under its own key id: not in the store.
    let token = jws::sign(&payload(&p, "alice", &input), &outsider).unwrap();
    assert_eq!(
        refused(&verify(&p, &input, &[token])),
        [RefusalCode::UnknownKey]
    );
}

#[test]
fn the_key_of_another_identity_does_not_prove_alice() {
    let p = policy();
    let input = refund(250);
    let token = jws::sign(&payload(&p, "alice", &input), &mallory()).unwrap();
    let v = verify(&p, &input, &[token]);
    assert_eq!(refused(&v), [RefusalCode::IdentityMismatch]);
    assert_eq!(v.verification.verdict, Verdict::Pending);
}

#[test]
fn roles_come_from_the_store_never_from_the_approval() {
    let p = policy();
    let input = refund(2500); // needs finance
    // alice is a support lead: her valid approval does not count as finance.
    let token = jws::sign(&payload(&p, "alice", &input), &alice()).unwrap();
    let v = verify(&p, &input, &[token]);
    assert_eq!(v.verification.verdict, Verdict::Pending);
    assert!(v.authentication.refused.is_empty());
    assert_eq!(v.authentication.accepted[0].roles, ["support_lead"]);
    // A payload claiming a role is refused outright.
    let mut body = serde_json::to_value(payload(&p, "alice", &input)).unwrap();
    body["roles"] = json!(["finance"]);
    let token = raw_jws(&header_for(&alice()), &body.to_string(), &alice());
    assert_eq!(
        refused(&verify(&p, &input, &[token])),
        [RefusalCode::UnknownField]
    );
    // A plain record claiming the role: unsigned, refused.
    let record = json!({"approver": "alice", "roles": ["finance"], "decision": "approve",
        "reason": "ok", "action_digest": p.evaluate(&input).action_digest, "given_at": GIVEN});
    let creds = [Credential::from_json(&record)];
    let v = p.verify_signed(&input, &creds, &store(), &options());
    assert_eq!(refused(&v), [RefusalCode::Unsigned]);
    assert_eq!(v.verification.verdict, Verdict::Pending);
    // ... unless unsigned records are explicitly allowed, which is recorded.
    let mut allow = options();
    allow.allow_unsigned = true;
    let v = p.verify_signed(&input, &creds, &store(), &allow);
    assert_eq!(v.verification.verdict, Verdict::Execute);
    assert!(v.authentication.allow_unsigned);
    assert_eq!(
        serde_json::to_value(&v).unwrap()["authentication"]["accepted"][0]["method"],
        "unsigned"
    );
}

#[test]
fn an_approval_for_another_policy_is_refused() {
    let p = policy();
    let input = refund(250);
    let mut body = payload(&p, "alice", &input);
    body.policy_digest = "sha256:0000".into();
    let token = jws::sign(&body, &alice()).unwrap();
    assert_eq!(
        refused(&verify(&p, &input, &[token])),
        [RefusalCode::PolicyMismatch]
    );
    // The same approval under an edited policy (one more role) is refused too.
    let edited = Policy::from_source("refunds.gate", format!("{POLICY}\nrole auditor\n")).unwrap();
    let token = jws::sign(&payload(&p, "alice", &input), &alice()).unwrap();
    assert_eq!(
        refused(&verify(&edited, &input, &[token])),
        [RefusalCode::PolicyMismatch]
    );
}

#[test]
fn an_expired_approval_or_one_for_another_action_does_not_count() {
    let p = policy();
    let input = refund(250);
    let mut body = payload(&p, "alice", &input);
    body.given_at = "2026-11-22T09:10:00Z".into();
    body.expires_at = "2026-11-22T09:40:00Z".into();
    let v = verify(&p, &input, &[jws::sign(&body, &alice()).unwrap()]);
    assert_eq!(v.verification.verdict, Verdict::Pending);
    assert!(
        v.verification
            .reasons
            .iter()
            .any(|r| r.code == "APPROVAL_EXPIRED"),
        "{v:#?}"
    );
    // Replay: alice's approval of 250 presented for 260.
    let token = jws::sign(&payload(&p, "alice", &input), &alice()).unwrap();
    let v = verify(&p, &refund(260), &[token]);
    assert_eq!(v.verification.verdict, Verdict::Pending);
    assert!(
        v.verification
            .reasons
            .iter()
            .any(|r| r.code == "DIGEST_MISMATCH")
    );
}

#[test]
fn a_forged_rejection_rejects_nothing() {
    let p = policy();
    let input = refund(250);
    let ok = jws::sign(&payload(&p, "alice", &input), &alice()).unwrap();
    let mut reject = payload(&p, "alice", &input);
    reject.decision = ApprovalKind::Reject;
    let forged = jws::sign(&reject, &key(42)).unwrap();
    let v = verify(&p, &input, &[ok, forged]);
    assert_eq!(v.verification.verdict, Verdict::Execute);
    assert_eq!(refused(&v), [RefusalCode::UnknownKey]);
}

#[test]
fn algorithm_confusion_is_refused() {
    let p = policy();
    let input = refund(250);
    let body = serde_json::to_string(&payload(&p, "alice", &input)).unwrap();
    let kid = jws::public_key_text(&alice().verifying_key());
    for alg in ["none", "HS256", "RS256", "ES256", "eddsa"] {
        let header = json!({"alg": alg, "typ": "gatehouse-approval+jws", "kid": kid}).to_string();
        let mut token = format!("{}.{}.", B64.encode(&header), B64.encode(&body));
        if alg != "none" {
            // An HMAC keyed with the public key: the classic confusion.
            token.push_str(&B64.encode(hmac_sha256(
                alice().verifying_key().as_bytes(),
                token.trim_end_matches('.').as_bytes(),
            )));
        }
        assert_eq!(
            refused(&verify(&p, &input, &[token])),
            [RefusalCode::UnsupportedAlg],
            "{alg}"
        );
    }
    // No alg at all: malformed header (missing field).
    let header = json!({"typ": "gatehouse-approval+jws", "kid": kid}).to_string();
    let token = raw_jws(&header, &body, &alice());
    assert_eq!(
        refused(&verify(&p, &input, &[token])),
        [RefusalCode::Malformed]
    );
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let inner: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x36)
        .chain(msg.iter().copied())
        .collect();
    let inner = Sha256::digest(inner);
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).chain(inner).collect();
    Sha256::digest(outer).to_vec()
}

#[test]
fn malformed_credentials_each_have_their_code() {
    let p = policy();
    let input = refund(250);
    let good = payload(&p, "alice", &input);
    let body = serde_json::to_string(&good).unwrap();
    let header = header_for(&alice());
    let token = jws::sign(&good, &alice()).unwrap();
    let kid = jws::public_key_text(&alice().verifying_key());
    let cases: Vec<(String, RefusalCode)> = vec![
        ("x".repeat(20_000), RefusalCode::Oversized),
        ("only.two".into(), RefusalCode::Malformed),
        (format!("{token}.extra"), RefusalCode::Malformed),
        (token.replacen('.', ".=", 1), RefusalCode::Malformed),
        (format!("{token}="), RefusalCode::Malformed),
        (format!(" {token}"), RefusalCode::Malformed),
        (
            raw_jws(&header, &format!("{body} trailing"), &alice()),
            RefusalCode::Malformed,
        ),
        (raw_jws(&header, &format!("{body}{{}}"), &alice()), RefusalCode::Malformed),
        (raw_jws(&header, "[1,2]", &alice()), RefusalCode::Malformed),
        (
            raw_jws(
                &header,
                &body.replacen('{', r#"{"approver":"bob","#, 1),
                &alice(),
            ),
            RefusalCode::DuplicateKey,
        ),
        (
            raw_jws(
                &format!(r#"{{"alg":"EdDSA","alg":"EdDSA","typ":"gatehouse-approval+jws","kid":"{kid}"}}"#),
                &body,
                &alice(),
            ),
            RefusalCode::DuplicateKey,
        ),
        (
            raw_jws(
                &json!({"alg":"EdDSA","typ":"gatehouse-approval+jws","kid":kid,"crit":["b64"],"b64":false}).to_string(),
                &body,
                &alice(),
            ),
            RefusalCode::UnknownField,
        ),
        (
            raw_jws(&json!({"alg":"EdDSA","typ":"JWT","kid":kid}).to_string(), &body, &alice()),
            RefusalCode::WrongType,
        ),
        (
            raw_jws(&header, &body.replacen('{', r#"{"action_digests":["sha256:ab"],"#, 1), &alice()),
            RefusalCode::BadPayload,
        ),
        (
            raw_jws(&header, &body.replace("\"2026-11-22T21:30:00Z\"", "\"tomorrow\""), &alice()),
            RefusalCode::BadPayload,
        ),
        (
            raw_jws(&header, &body.replace("\"approver\":\"alice\"", "\"approver\":\"  \""), &alice()),
            RefusalCode::BadPayload,
        ),
    ];
    for (token, code) in cases {
        let v = verify(&p, &input, std::slice::from_ref(&token));
        assert_eq!(refused(&v), [code], "{}", &token[..token.len().min(120)]);
        assert_eq!(v.verification.verdict, Verdict::Pending);
    }
    // Entries that are neither a token nor an object.
    for entry in [json!(1), json!(null), json!([token]), json!(true)] {
        assert!(
            matches!(Credential::from_json(&entry), Credential::Invalid(r) if r.code == RefusalCode::Malformed)
        );
    }
}

#[test]
fn the_trust_store_is_validated_strictly() {
    let k = jws::public_key_text(&alice().verifying_key());
    let err = |text: &str| TrustStore::from_toml(text, None).unwrap_err().to_string();
    assert!(err("[[approver]]\nid = \"a\"\nrole = [\"x\"]\n").contains("unknown field"));
    assert!(err("[approvers]\n").contains("unknown field"));
    let dup =
        format!("[[approver]]\nid = \"alice\"\n[[approver]]\nid = \" alice\"\nkeys = [\"{k}\"]\n");
    assert!(err(&dup).contains("already listed"), "{}", err(&dup));
    let shared = format!(
        "[[approver]]\nid = \"alice\"\nkeys = [\"{k}\"]\n[[approver]]\nid = \"bob\"\nkeys = [\"{k}\"]\n"
    );
    assert!(err(&shared).contains("a key proves one person"));
    assert!(err("[[approver]]\nid = \"a\"\nkeys = [\"ed25519:AAAA\"]\n").contains("not 32 bytes"));
    assert!(
        err("[[approver]]\nid = \"a\"\nkeys = [\"rsa:AAAA\"]\n").contains("does not start with")
    );
    assert!(err("[[approver]]\nid = \"\"\n").contains("blank"));
    // The identity point (small order): any signature "verifies" loosely.
    let weak = format!(
        "ed25519:{}",
        B64.encode({
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        })
    );
    assert!(err(&format!("[[approver]]\nid = \"a\"\nkeys = [\"{weak}\"]\n")).contains("weak"));
    // Every problem at once.
    let both = format!("{dup}[[approver]]\nid = \"c\"\nkeys = [\"ed25519:!\"]\n");
    let e = TrustStore::from_toml(&both, None).unwrap_err();
    assert_eq!(e.problems.len(), 2, "{e}");
    // Roles the policy does not declare: warnings, not errors.
    let s = TrustStore::from_toml(
        "[[approver]]\nid = \"a\"\nroles = [\"support_lead\", \"cfo\"]\n",
        None,
    )
    .unwrap();
    let w = s.undeclared_roles(&policy());
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("`cfo`"));
}

#[test]
fn store_files_are_read_with_a_size_cap() {
    let dir = std::env::temp_dir().join(format!("gatehouse-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("approvers.toml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(gatehouse::trust::MAX_TRUST_FILE_BYTES + 1)
        .unwrap();
    let e = TrustStore::load(&big).unwrap_err().to_string();
    assert!(e.contains("larger than the limit"), "{e}");
    let e = TrustStore::load(&dir).unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Changing any one byte of a valid signed approval never authenticates.
    #[test]
    fn any_one_byte_change_is_refused(pos in 0usize..2000, byte in any::<u8>()) {
        let p = policy();
        let input = refund(250);
        let token = jws::sign(&payload(&p, "alice", &input), &alice()).unwrap();
        let mut bytes = token.clone().into_bytes();
        let pos = pos % bytes.len();
        prop_assume!(bytes[pos] != byte);
        bytes[pos] = byte;
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        let v = verify(&p, &input, &[mutated]);
        prop_assert_eq!(v.authentication.accepted.len(), 0);
        prop_assert_eq!(v.verification.verdict, Verdict::Pending);
    }

    /// Arbitrary text as a credential or as a trust store never panics and
    /// never authenticates.
    #[test]
    fn arbitrary_text_never_authenticates(text in ".{0,400}", dots in "[A-Za-z0-9_.-]{0,300}") {
        let p = policy();
        let input = refund(250);
        for t in [&text, &dots] {
            let v = verify(&p, &input, std::slice::from_ref(t));
            prop_assert_eq!(v.authentication.accepted.len(), 0);
            let _ = TrustStore::from_toml(t, Some(t));
        }
    }
}

/// Over the approvals cap, nothing is authenticated: the refusal comes
/// before the first signature check (before, 1 000 000 aliased copies of
/// one token were each authenticated, 46 s and 2.3 GB, before the cap
/// answered, and 4 000 000 malformed entries never reached it).
#[test]
fn over_the_cap_nothing_is_authenticated() {
    let p = policy();
    let input = refund(250);
    let creds = vec![Credential::Jws("x".into()); gatehouse::audit::verify::MAX_APPROVALS + 1];
    let v = p.verify_signed(&input, &creds, &store(), &options());
    assert_eq!(v.verification.verdict, Verdict::Denied);
    assert_eq!(v.verification.reasons.len(), 1);
    assert_eq!(v.verification.reasons[0].code, "TOO_MANY_APPROVALS");
    assert!(v.authentication.refused.is_empty());
    assert!(v.authentication.accepted.is_empty());
}

/// The approver is the person the trust store says holds the key, spelled
/// as the store spells them, whatever look-alike spelling the signer wrote
/// (`ＡＬＩＣＥ` with a zero-width space is alice, and is reported as
/// `alice` in the result and the audit record).
#[test]
fn the_approver_is_named_as_the_store_names_them() {
    let p = policy();
    let input = refund(250);
    let token = jws::sign(
        &payload(
            &p,
            "\u{FF21}\u{FF2C}\u{FF29}\u{FF23}\u{FF25}\u{200B}",
            &input,
        ),
        &alice(),
    )
    .unwrap();
    let v = verify(&p, &input, &[token]);
    assert_eq!(v.verification.verdict, Verdict::Execute, "{v:?}");
    assert_eq!(v.verification.satisfied[0].approver, "alice");
    assert_eq!(v.authentication.accepted[0].approver, "alice");
}

/// A store at its size cap loads in linear time: identities are normalized
/// once each (the duplicate check compared every pair: 8 000 entries took
/// 26 s). Look-alike duplicates are still found.
#[test]
fn a_large_store_loads_and_still_finds_look_alike_duplicates() {
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!(
            "[[approver]]\nid = \"a{i}\"\nroles = [\"finance\"]\n"
        ));
    }
    let store = TrustStore::from_toml(&text, None).expect("valid store");
    assert_eq!(store.roles_of("A19999"), ["finance"]);
    text.push_str("[[approver]]\nid = \"\u{FF41}7\"\n");
    let e = TrustStore::from_toml(&text, None).unwrap_err().to_string();
    assert!(e.contains("already listed"), "{e}");
}
