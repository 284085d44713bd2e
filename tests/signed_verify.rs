//! The worked example through the real binary: `keygen` -> `approve` ->
//! `verify`, and what `verify` refuses.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

const POLICY: &str = r#"
policy "refunds" version "1"
schema { action.type: enum { refund }  action.amount: number }
role support_lead
role finance
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
tier 4 "large" { outcome explicit  approve finance  timeout 24h then reject }
rule large when action.amount > 1000 then tier 4 because NO_RULE_MATCHED
default tier 3 because NO_RULE_MATCHED
"#;
const NOW: &str = "2026-11-22T10:00:00Z";

fn gatehouse(args: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("gatehouse")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gatehouse-signed-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("policy")).unwrap();
    std::fs::write(d.join("policy/refunds.gate"), POLICY).unwrap();
    std::fs::write(
        d.join("small.json"),
        r#"{"action":{"type":"refund","amount":250}}"#,
    )
    .unwrap();
    std::fs::write(
        d.join("large.json"),
        r#"{"action":{"type":"refund","amount":2500}}"#,
    )
    .unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// keygen, returning the `keys = [...]` line it prints.
fn keygen(d: &Path, name: &str) -> String {
    let out = gatehouse(&["keygen", "--out", s(&d.join(format!("{name}.key")))]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn approve(d: &Path, name: &str, input: &str) -> String {
    let out = gatehouse(&[
        "approve",
        "--key",
        s(&d.join(format!("{name}.key"))),
        "--approver",
        name,
        "--policy",
        s(&d.join("policy")),
        "--input",
        s(&d.join(input)),
        "--decision",
        "approve",
        "--reason",
        "order checked",
        "--expires-in",
        "1h",
        "--now",
        "2026-11-22T09:30:00Z",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn verify(d: &Path, input: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec![
        "verify",
        "--policy",
        s(&d.join("policy")).to_owned().leak(),
        "--input",
        s(&d.join(input)).to_owned().leak(),
        "--approvals",
        s(&d.join("approvals.yaml")).to_owned().leak(),
        "--now",
        NOW,
        "--requested-at",
        "2026-11-22T09:00:00Z",
    ];
    args.extend_from_slice(extra);
    let out = gatehouse(&args);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn setup(name: &str) -> PathBuf {
    let d = dir(name);
    let alice = keygen(&d, "alice");
    let bob = keygen(&d, "bob");
    std::fs::write(
        d.join("policy/approvers.toml"),
        format!(
            "[[approver]]\nid = \"alice\"\nroles = [\"support_lead\"]\n{alice}\n\n\
             [[approver]]\nid = \"bob\"\nroles = [\"finance\"]\n{bob}\n"
        ),
    )
    .unwrap();
    d
}

#[test]
fn keygen_approve_verify_worked_example() {
    let d = setup("example");
    // The key file is private and never overwritten.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(d.join("alice.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(d.join("alice.key")).unwrap();
    let again = gatehouse(&["keygen", "--out", s(&d.join("alice.key"))]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read(d.join("alice.key")).unwrap(), before);

    let line = approve(&d, "alice", "small.json");
    assert!(line.starts_with("- ey"), "{line}");
    std::fs::write(d.join("approvals.yaml"), &line).unwrap();
    let (code, v, _) = verify(&d, "small.json", &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["verdict"], "execute");
    assert_eq!(v["authentication"]["allow_unsigned"], false);
    assert_eq!(
        v["authentication"]["accepted"][0]["roles"][0],
        "support_lead"
    );

    // alice's approval does not cover the large refund (another digest,
    // and she is not finance); bob's does, appended to the same file.
    let (code, v, _) = verify(&d, "large.json", &[]);
    assert_eq!(code, 1);
    assert_eq!(v["verdict"], "pending");
    let mut file = line.clone();
    file.push_str(&approve(&d, "bob", "large.json"));
    std::fs::write(d.join("approvals.yaml"), file).unwrap();
    let (code, v, _) = verify(&d, "large.json", &[]);
    assert_eq!(code, 0, "{v:#}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn verify_refuses_tampered_unsigned_and_storeless_approvals() {
    let d = setup("refuse");
    let line = approve(&d, "alice", "small.json");
    // One character of the signature changed: one well inside it, whose
    // six bits all count (the last character of a 64-byte signature carries
    // padding bits, and setting one is a non-canonical encoding: MALFORMED,
    // which would make this test depend on the random key).
    let token = line.trim().trim_start_matches("- ");
    let at = token.len() - 10;
    let middle = token.as_bytes()[at];
    let flipped = format!(
        "- {}{}{}\n",
        &token[..at],
        if middle == b'A' { 'B' } else { 'A' },
        &token[at + 1..]
    );
    std::fs::write(d.join("approvals.yaml"), &flipped).unwrap();
    let (code, v, _) = verify(&d, "small.json", &[]);
    assert_eq!(code, 1);
    assert_eq!(v["authentication"]["refused"][0]["code"], "BAD_SIGNATURE");
    assert_eq!(v["reasons"][0]["code"], "BAD_SIGNATURE");

    // A plain record: UNSIGNED, unless --allow-unsigned (which is recorded).
    let out = gatehouse(&[
        "eval",
        "--policy",
        s(&d.join("policy")),
        s(&d.join("small.json")),
    ]);
    let digest = serde_json::from_slice::<Value>(&out.stdout).unwrap()["action_digest"].clone();
    let record = format!(
        "- approver: alice\n  roles: [support_lead]\n  decision: approve\n  reason: ok\n  action_digest: \"{}\"\n  given_at: \"2026-11-22T09:30:00Z\"\n",
        digest.as_str().unwrap()
    );
    std::fs::write(d.join("approvals.yaml"), &record).unwrap();
    let (code, v, _) = verify(&d, "small.json", &[]);
    assert_eq!(code, 1);
    assert_eq!(v["authentication"]["refused"][0]["code"], "UNSIGNED");
    let (code, v, _) = verify(&d, "small.json", &["--allow-unsigned"]);
    assert_eq!(code, 0);
    assert_eq!(v["authentication"]["allow_unsigned"], true);

    // Signed approvals and no trust store: an error, not a silent pass.
    std::fs::write(d.join("approvals.yaml"), &line).unwrap();
    std::fs::rename(d.join("policy/approvers.toml"), d.join("elsewhere.toml")).unwrap();
    let (code, _, err) = verify(&d, "small.json", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no trust store"), "{err}");
    let (code, v, _) = verify(&d, "small.json", &["--trust", s(&d.join("elsewhere.toml"))]);
    assert_eq!(code, 0, "{v:#}");
    let (code, _, err) = verify(&d, "small.json", &["--trust", s(&d.join("missing.toml"))]);
    assert_eq!(code, 2, "{err}");

    // A role the policy does not declare: a warning, and it grants nothing.
    let store = std::fs::read_to_string(d.join("elsewhere.toml")).unwrap();
    std::fs::write(
        d.join("cfo.toml"),
        store.replace("[\"support_lead\"]", "[\"cfo\"]"),
    )
    .unwrap();
    let (code, v, err) = verify(&d, "small.json", &["--trust", s(&d.join("cfo.toml"))]);
    assert_eq!(code, 1, "{v:#}");
    assert!(err.contains("warning: trust store: role `cfo`"), "{err}");

    // An invalid store is an error with every problem.
    std::fs::write(
        d.join("bad.toml"),
        "[[approver]]\nid = \"a\"\nrole = \"x\"\n",
    )
    .unwrap();
    let (code, _, err) = verify(&d, "small.json", &["--trust", s(&d.join("bad.toml"))]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown field"), "{err}");

    // An approvals file over the cap is refused before it is read.
    let big = std::fs::File::create(d.join("approvals.yaml")).unwrap();
    big.set_len(gatehouse::trust::MAX_APPROVALS_FILE_BYTES + 1)
        .unwrap();
    let (code, _, err) = verify(&d, "small.json", &["--trust", s(&d.join("elsewhere.toml"))]);
    assert_eq!(code, 3);
    assert!(err.contains("larger than the limit"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn approve_signs_a_batch_and_refuses_bad_keys() {
    let d = setup("batch");
    let out = gatehouse(&[
        "approve",
        "--key",
        s(&d.join("alice.key")),
        "--approver",
        "alice",
        "--policy",
        s(&d.join("policy")),
        "--input",
        s(&d.join("small.json")),
        "--input",
        s(&d.join("large.json")),
        "--decision",
        "approve",
        "--raw",
        "--now",
        "2026-11-22T09:30:00Z",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let token = String::from_utf8(out.stdout).unwrap();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["action_digests"].as_array().unwrap().len(), 2);
    assert!(payload.get("action_digest").is_none());
    assert!(payload.get("roles").is_none());

    std::fs::write(d.join("junk.key"), "not a key").unwrap();
    let out = gatehouse(&[
        "approve",
        "--key",
        s(&d.join("junk.key")),
        "--approver",
        "alice",
        "--policy",
        s(&d.join("policy")),
        "--input",
        s(&d.join("small.json")),
        "--decision",
        "approve",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = gatehouse(&[
        "approve",
        "--key",
        s(&d.join("alice.key")),
        "--approver",
        "alice",
        "--policy",
        s(&d.join("policy")),
        "--input",
        s(&d.join("small.json")),
        "--decision",
        "approve",
        "--expires-in",
        "0s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&d);
}
