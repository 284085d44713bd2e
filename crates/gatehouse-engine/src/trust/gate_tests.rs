//! `[[gate]]` keys: a gate service's key vouches for the store's approvers
//! with the store's roles, and for nothing more.

use ed25519_dalek::SigningKey;
use serde_json::json;

use super::{Credential, Method, RefusalCode, SignedVerifyOptions, TrustStore, jws};
use crate::Policy;
use crate::audit::verify::{ApprovalKind, Verdict, VerifyOptions};
use crate::values::Timestamp;

fn policy() -> Policy {
    Policy::from_source(
        "refunds.gate",
        r#"policy "refunds" version "1"
schema { action.type: enum { refund }  action.amount: number }
role support_lead
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
default tier 3 because NO_RULE_MATCHED
"#,
    )
    .unwrap()
}

fn gate_key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn store(with_gate: bool, alice_roles: &str) -> TrustStore {
    let mut text = format!("[[approver]]\nid = \"alice\"\nroles = [{alice_roles}]\n");
    if with_gate {
        text.push_str(&format!(
            "\n[[gate]]\nid = \"prod\"\nkeys = [\"{}\"]\n",
            jws::public_key_text(&gate_key().verifying_key())
        ));
    }
    TrustStore::from_toml(&text, None).unwrap()
}

fn signed_by_gate(approver: &str, p: &Policy) -> (serde_json::Value, Credential) {
    let action = json!({"action": {"type": "refund", "amount": 250}});
    let payload = jws::ApprovalPayload {
        approver: approver.into(),
        decision: ApprovalKind::Approve,
        reason: Some("checked".into()),
        action_digest: p.evaluate(&action).action_digest,
        action_digests: None,
        policy_digest: p.digest().into(),
        given_at: "2026-11-22T09:30:00Z".into(),
        expires_at: "2026-11-22T21:30:00Z".into(),
    };
    let token = jws::sign(&payload, &gate_key()).unwrap();
    (action, Credential::Jws(token))
}

fn options() -> SignedVerifyOptions {
    SignedVerifyOptions::new(
        VerifyOptions::new(Timestamp::parse("2026-11-22T10:00:00Z").unwrap())
            .with_requested_at(Timestamp::parse("2026-11-22T09:00:00Z")),
    )
}

#[test]
fn a_gate_key_vouches_for_an_approver_the_store_lists_with_the_stores_roles() {
    let p = policy();
    let (action, credential) = signed_by_gate("Alice", &p);
    let v = p.verify_signed(
        &action,
        &[credential],
        &store(true, "\"support_lead\""),
        &options(),
    );
    assert_eq!(v.verification.verdict, Verdict::Execute, "{v:#?}");
    let accepted = &v.authentication.accepted[0];
    assert_eq!(accepted.method, Method::Gate);
    assert_eq!(accepted.approver, "alice", "as the store spells them");
    assert_eq!(accepted.roles, ["support_lead"]);
    assert_eq!(
        accepted.key.as_deref(),
        Some(jws::public_key_text(&gate_key().verifying_key()).as_str())
    );
}

#[test]
fn a_gate_key_never_gives_roles_the_store_does_not() {
    // The gate may have seen alice as a support lead; the store says she
    // holds no role: the approval is accepted and satisfies nothing.
    let p = policy();
    let (action, credential) = signed_by_gate("alice", &p);
    let v = p.verify_signed(&action, &[credential], &store(true, ""), &options());
    assert_eq!(v.authentication.accepted.len(), 1);
    assert!(v.authentication.accepted[0].roles.is_empty());
    assert_ne!(v.verification.verdict, Verdict::Execute, "{v:#?}");
}

#[test]
fn an_approver_the_store_does_not_list_is_refused() {
    let p = policy();
    let (action, credential) = signed_by_gate("mallory", &p);
    let v = p.verify_signed(
        &action,
        &[credential],
        &store(true, "\"support_lead\""),
        &options(),
    );
    assert!(v.authentication.accepted.is_empty());
    assert_eq!(
        v.authentication.refused[0].code,
        RefusalCode::UnknownApprover
    );
    assert_eq!(v.verification.verdict, Verdict::Pending);
}

#[test]
fn without_the_gate_in_the_store_its_credentials_are_unknown_keys() {
    let p = policy();
    let (action, credential) = signed_by_gate("alice", &p);
    let v = p.verify_signed(
        &action,
        &[credential],
        &store(false, "\"support_lead\""),
        &options(),
    );
    assert_eq!(v.authentication.refused[0].code, RefusalCode::UnknownKey);
    assert_eq!(v.verification.verdict, Verdict::Pending);
}

#[test]
fn a_forged_gate_signature_is_refused() {
    let p = policy();
    let (action, Credential::Jws(token)) = signed_by_gate("alice", &p) else {
        panic!("a JWS")
    };
    // Re-sign the same text with another key but keep the gate's kid.
    let (signing_input, _) = token.rsplit_once('.').unwrap();
    let other = SigningKey::from_bytes(&[3; 32]);
    let sig = ed25519_dalek::Signer::sign(&other, signing_input.as_bytes());
    use base64::Engine as _;
    let forged = format!(
        "{signing_input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig.to_bytes())
    );
    let v = p.verify_signed(
        &action,
        &[Credential::Jws(forged)],
        &store(true, "\"support_lead\""),
        &options(),
    );
    assert_eq!(v.authentication.refused[0].code, RefusalCode::BadSignature);
}

#[test]
fn gate_tables_are_validated() {
    let key = jws::public_key_text(&gate_key().verifying_key());
    for (text, expect) in [
        (
            format!("[[gate]]\nid = \" \"\nkeys = [\"{key}\"]\n"),
            "blank",
        ),
        ("[[gate]]\nid = \"g\"\nkeys = []\n".to_owned(), "empty"),
        (
            "[[gate]]\nid = \"g\"\nkeys = [\"ed25519:xx\"]\n".to_owned(),
            "not",
        ),
        (
            format!("[[gate]]\nid = \"g\"\nkeys = [\"{key}\"]\n[[gate]]\nid = \"g\"\nkeys = []\n"),
            "already listed",
        ),
        (
            format!(
                "[[approver]]\nid = \"a\"\nkeys = [\"{key}\"]\n[[gate]]\nid = \"g\"\nkeys = [\"{key}\"]\n"
            ),
            "one signer",
        ),
        (
            format!("[[gate]]\nid = \"g\"\nkeys = [\"{key}\"]\nroles = [\"admin\"]\n"),
            "unknown field",
        ),
    ] {
        let e = TrustStore::from_toml(&text, None).unwrap_err();
        assert!(e.problems.iter().any(|p| p.contains(expect)), "{text}: {e}");
    }
    let ok = TrustStore::from_toml(&format!("[[gate]]\nid = \"g\"\nkeys = [\"{key}\"]\n"), None)
        .unwrap();
    assert_eq!(ok.gates()[0].id, "g");
}
