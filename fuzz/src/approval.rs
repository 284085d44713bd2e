//! Fuzz body `approval`: arbitrary bytes as a signed approval, as an
//! approvals document, as a trust store (and JWKS), or as edits of one
//! genuine signed approval. Nothing panics, and nothing authenticates that
//! was not signed by a key of the store: the fuzzer never holds a private
//! key, so any accepted credential other than the genuine token (which the
//! fuzzer can copy from this file) is a finding.
//!
//! The first byte picks the mode; the rest is the data.

use gatehouse::Policy;
use gatehouse::audit::verify::VerifyOptions;
use gatehouse::trust::{Credential, RefusalCode, SignedVerifyOptions, TrustStore};
use gatehouse::values::Timestamp;
use serde_json::Value as Json;

/// The policy the genuine token was signed under (file name `fuzz.gate`).
const POLICY: &str = r#"policy "fuzz-approvals" version "1"
schema { action.type: enum { refund }  action.amount: number }
role support_lead
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
default tier 3 because NO_RULE_MATCHED
"#;

/// `gatehouse approve --approver alice --decision approve --reason fuzz
/// --now 2026-11-22T09:30:00Z --expires-in 1d` over `{"action":{"type":
/// "refund","amount":250}}`, with the key listed in [`STORE`] (its private
/// half was discarded).
const GENUINE: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6ImdhdGVob3VzZS1hcHByb3ZhbCtqd3MiLCJraWQiOiJlZDI1NTE5OkJvYl8xVFBYRXJfZzh3M2JGakpxZ2tYUnR1dG1ka3FydFlYUWhxWE84cXcifQ.eyJhcHByb3ZlciI6ImFsaWNlIiwiZGVjaXNpb24iOiJhcHByb3ZlIiwicmVhc29uIjoiZnV6eiIsImFjdGlvbl9kaWdlc3QiOiJzaGEyNTY6NWIzZjI0ZjQ5NTM1YzY2ZDIxMzZiOTU5ZmRhMWRmMzJmZDMxYmNmZWU2ZjJlYzAxM2NhMWM2YzU1YzI1NWM0MiIsInBvbGljeV9kaWdlc3QiOiJzaGEyNTY6NGZjMGE1NTUwN2YzZjQ5N2MxYjc3MDkxNGRmYmEwMzIzYmQ3M2M5MzgwZWI5MjYwNzZhY2MyYzc2NjUzMjkzNiIsImdpdmVuX2F0IjoiMjAyNi0xMS0yMlQwOTozMDowMFoiLCJleHBpcmVzX2F0IjoiMjAyNi0xMS0yM1QwOTozMDowMFoifQ.nlCzGDVj1xkLRQLS3HordNK5UeV-M9EZ2fW_T3Uc0as9b2d4cKE0p6keh9HLx5HCFgFV0HjblKpQXzZsn8KdBQ";

const STORE: &str = r#"[[approver]]
id = "alice"
roles = ["support_lead"]
keys = ["ed25519:Bob_1TPXEr_g8w3bFjJqgkXRtutmdkqrtYXQhqXO8qw"]
"#;

fn setup() -> Option<(Policy, TrustStore, Json, SignedVerifyOptions)> {
    let policy = Policy::from_source("fuzz.gate", POLICY).ok()?;
    let store = TrustStore::from_toml(STORE, None).ok()?;
    let input: Json = serde_json::from_str(r#"{"action":{"type":"refund","amount":250}}"#).ok()?;
    let options = SignedVerifyOptions::new(
        VerifyOptions::new(Timestamp::parse("2026-11-22T10:00:00Z")?).with_requested_at(None),
    );
    Some((policy, store, input, options))
}

/// Asserts that every accepted credential is the genuine token, unchanged.
fn only_genuine(v: &gatehouse::trust::SignedVerification, creds: &[Credential]) {
    for a in &v.authentication.accepted {
        let genuine = matches!(creds.get(a.index), Some(Credential::Jws(t)) if t == GENUINE);
        assert!(genuine, "forged: {a:?} from {:?}", creds.get(a.index));
    }
}

/// The body: see the module doc.
pub fn approval(data: &[u8]) {
    let Some((policy, store, input, options)) = setup() else {
        panic!("the fuzz policy or store no longer loads");
    };
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    match mode % 4 {
        // Bytes as one signed approval.
        0 => {
            let creds = [Credential::Jws(text)];
            let v = policy.verify_signed(&input, &creds, &store, &options);
            only_genuine(&v, &creds);
        }
        // Bytes as an approvals document (JSON or YAML).
        1 => {
            if let Ok(doc) = gatehouse::input::parse(&text, gatehouse::input::Syntax::Detect)
                && let Ok(creds) = Credential::list_from_json(&doc)
            {
                let v = policy.verify_signed(&input, &creds, &store, &options);
                only_genuine(&v, &creds);
            }
        }
        // Bytes as a trust store and JWKS: never a panic; whatever it
        // lists, a credential made of the same bytes proves nobody.
        2 => {
            if let Ok(s) = TrustStore::from_toml(&text, Some(&text)) {
                let _ = s.undeclared_roles(&policy);
                let creds = [Credential::Jws(text.clone())];
                let v = policy.verify_signed(&input, &creds, &s, &options);
                only_genuine(&v, &creds);
            }
        }
        // Edits of the genuine token: each byte of the data XORs one byte.
        _ => {
            let mut bytes = GENUINE.as_bytes().to_vec();
            for (i, x) in rest.iter().enumerate() {
                if let Some(b) = bytes.get_mut(i % GENUINE.len()) {
                    *b ^= x;
                }
            }
            let token = String::from_utf8_lossy(&bytes).into_owned();
            let v =
                policy.verify_signed(&input, &[Credential::Jws(token.clone())], &store, &options);
            if token == GENUINE {
                return;
            }
            assert!(
                v.authentication.accepted.is_empty(),
                "an edited token passed: {token}"
            );
            // An edited token never gets past the signature.
            for r in &v.authentication.refused {
                assert!(
                    !matches!(
                        r.code,
                        RefusalCode::IdentityMismatch | RefusalCode::PolicyMismatch
                    ),
                    "an edited token passed the signature check: {token}"
                );
            }
        }
    }
}
