//! The JSON contracts: every JSON document the real binary writes, over real
//! inputs (the shipped policies, examples/actions, failing cases, audit logs
//! made by `eval --audit-log` and `verify --audit-log`), validates against
//! its published schema in schemas/; every schema is a valid draft 2020-12
//! schema with the `$id` of its format; `gatehouse schema` prints exactly
//! the published files; a drifted document (an unknown field, a missing
//! one, another format) is refused. `gatehouse schema input` is tested in
//! tests/schema_input.rs.

use std::path::{Path, PathBuf};
use std::process::Output;

use gatehouse::eval::DocumentFormat;
use gatehouse_cli::cli::schema::{SCHEMA_ID_PATTERN, SCHEMAS, format_major, schema_id};
use serde_json::{Value, json};

const NOW: &str = "2026-11-22T10:00:00Z";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn gatehouse(args: &[&str], stdin: &[u8]) -> Output {
    assert_cmd::Command::cargo_bin("gatehouse")
        .expect("the gatehouse binary")
        .current_dir(root())
        .args(args)
        .write_stdin(stdin.to_vec())
        .output()
        .expect("runs")
}

fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// A fresh directory under the target's temp space.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gatehouse-schemas-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn schema_file(name: &str) -> String {
    std::fs::read_to_string(root().join("schemas").join(format!("{name}.schema.json")))
        .expect("schema file")
}

fn validator(name: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&schema_file(name)).expect("schema JSON");
    jsonschema::draft202012::new(&schema).expect("a valid 2020-12 schema")
}

/// Checks a document against its schema; the message names every error.
fn assert_valid(name: &str, doc: &Value, what: &str) {
    let v = validator(name);
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: not a valid `{name}` document:\n{}\n{doc:#}",
        errors.join("\n")
    );
}

fn doc(out: &Output, what: &str) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: not one JSON document ({e}): {}\nstderr: {}",
            text(out),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn lines(out: &Output) -> Vec<Value> {
    text(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn examples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("examples/actions"))
        .expect("examples/actions")
        .map(|e| e.expect("entry").path())
        .collect();
    out.sort();
    assert!(out.len() >= 10, "the examples are there");
    out
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[test]
fn every_schema_is_a_valid_2020_12_schema_with_the_id_of_its_format() {
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("schemas"))
        .expect("schemas/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = SCHEMAS
        .iter()
        .map(|(n, _)| format!("{n}.schema.json"))
        .collect();
    embedded.sort();
    assert_eq!(on_disk, embedded, "every file in schemas/ is embedded");
    assert_eq!(SCHEMAS.len(), DocumentFormat::ALL.len());
    for (format, (name, text)) in DocumentFormat::ALL.iter().zip(SCHEMAS) {
        assert_eq!(format.kind, name);
        assert_eq!(text, schema_file(name), "{name}: embedded = published");
        let schema: Value = serde_json::from_str(text).expect("JSON");
        jsonschema::draft202012::meta::validate(&schema)
            .unwrap_or_else(|e| panic!("{name}: not a valid 2020-12 schema: {e}"));
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let major = format_major(format).expect("a major version");
        assert_eq!(schema["$id"], json!(schema_id(name, major)));
        assert!(SCHEMA_ID_PATTERN.contains("{kind}") && SCHEMA_ID_PATTERN.contains("{major}"));
        for key in ["title", "description"] {
            assert!(
                schema[key].as_str().is_some_and(|t| !t.is_empty()),
                "{name}: no {key}"
            );
        }
        // the format field: required and fixed (in each record kind for
        // the audit log, where older records may lack it)
        let value = json!(format.value);
        if name == "audit-record" {
            for kind in ["decision_record", "verification_record"] {
                assert_eq!(
                    schema["$defs"][kind]["properties"]["format"]["const"],
                    value
                );
            }
        } else {
            assert_eq!(schema["properties"]["format"]["const"], value, "{name}");
            assert!(
                schema["required"]
                    .as_array()
                    .is_some_and(|r| r.contains(&json!("format"))),
                "{name}: format is required"
            );
            assert_eq!(schema["additionalProperties"], json!(false), "{name}");
        }
    }
}

#[test]
fn the_binary_prints_the_published_schemas_byte_for_byte() {
    let out = gatehouse(&["schema", "--list"], b"");
    assert_eq!(out.status.code(), Some(0));
    let mut names: Vec<String> = SCHEMAS.iter().map(|(n, _)| (*n).to_owned()).collect();
    names.push("input".into());
    assert_eq!(text(&out).lines().collect::<Vec<_>>(), names);
    for (name, _) in SCHEMAS {
        let out = gatehouse(&["schema", name], b"");
        assert_eq!(out.status.code(), Some(0), "{name}");
        assert_eq!(text(&out), schema_file(name), "{name}");
    }
    let out = gatehouse(&["schema", "decisions"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no schema named `decisions`"));
    let out = gatehouse(&["schema", "input"], b"");
    assert_eq!(out.status.code(), Some(2), "input needs --policy");
    let out = gatehouse(
        &["schema", "decision", "--policy", "policies/simple-router"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "--policy is for input only");
}

#[test]
fn decisions_validate_for_every_example_under_every_shipped_policy() {
    let mut checked = 0;
    for policy in ["policies/ai-agent-actions", "policies/simple-router"] {
        for example in examples() {
            for extra in [&[][..], &["--compact", "--now", NOW], &["--strict"]] {
                let mut args = vec!["eval", "--policy", policy, s(&example)];
                args.extend_from_slice(extra);
                let out = gatehouse(&args, b"");
                assert!(
                    matches!(out.status.code(), Some(0 | 3)),
                    "{args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let d = doc(&out, &format!("{args:?}"));
                assert_valid("decision", &d, &format!("{args:?}"));
                checked += 1;
            }
        }
    }
    assert!(checked > 100);
}

#[test]
fn invalid_input_decisions_validate_and_have_their_shape() {
    let out = gatehouse(
        &[
            "eval",
            "--policy",
            "policies/ai-agent-actions",
            "examples/actions/invalid-input.json",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(3));
    let d = doc(&out, "invalid input");
    assert_valid("decision", &d, "invalid input");
    assert_eq!(d["outcome"], "block");
    assert!(d["input_errors"].as_array().is_some_and(|e| !e.is_empty()));
    // the schema ties input_errors to block/INVALID_INPUT
    let mut lying = d.clone();
    lying["outcome"] = json!("auto");
    assert!(!validator("decision").is_valid(&lying));
    // not JSON at all, from stdin
    let out = gatehouse(
        &["eval", "--policy", "policies/ai-agent-actions"],
        b"{not json",
    );
    assert_eq!(out.status.code(), Some(3));
    assert_valid("decision", &doc(&out, "stdin garbage"), "stdin garbage");
}

/// Every example on one line each, then lines that are refused.
fn jsonl_corpus() -> Vec<u8> {
    let mut corpus = Vec::new();
    for example in examples() {
        if example.extension().is_some_and(|e| e == "json") {
            let v: Value =
                serde_json::from_str(&std::fs::read_to_string(&example).expect("example"))
                    .expect("JSON example");
            corpus.extend_from_slice(v.to_string().as_bytes());
            corpus.push(b'\n');
        }
    }
    corpus.extend_from_slice(b"\n{\"action\": 1}\n[1, 2]\nnot json\n\xff\xfe\n");
    corpus
}

#[test]
fn every_jsonl_line_is_a_decision_document() {
    let corpus = jsonl_corpus();
    for policy in ["policies/ai-agent-actions", "policies/simple-router"] {
        let out = gatehouse(&["eval", "--policy", policy, "--jsonl"], &corpus);
        let docs = lines(&out);
        assert_eq!(docs.len(), corpus.split(|b| *b == b'\n').count() - 1);
        for (i, d) in docs.iter().enumerate() {
            assert_valid("decision", d, &format!("{policy} line {}", i + 1));
        }
    }
}

/// Makes an approver key with `keygen`; the line for approvers.toml.
fn keygen(dir: &Path, name: &str) -> String {
    let key = dir.join(format!("{name}.key"));
    let out = gatehouse(&["keygen", "--out", s(&key)], b"");
    assert_eq!(out.status.code(), Some(0));
    text(&out).trim().to_owned()
}

fn approve(dir: &Path, name: &str, action: &Path, decision: &str) -> String {
    let key = dir.join(format!("{name}.key"));
    let out = gatehouse(
        &[
            "approve",
            "--key",
            s(&key),
            "--approver",
            name,
            "--policy",
            "policies/ai-agent-actions",
            "--input",
            s(action),
            "--decision",
            decision,
            "--reason",
            "checked the refund against the order",
        ],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text(&out)
}

/// A verification log made by the real binary: every verdict, signed and
/// refused credentials, redaction; each printed verification validated.
fn verify_into(dir: &Path, log: &Path) {
    let alice = keygen(dir, "alice");
    let bob = keygen(dir, "bob");
    let trust = dir.join("approvers.toml");
    std::fs::write(
        &trust,
        format!(
            "[[approver]]\nid = \"alice\"\nroles = [\"support_lead\"]\n{alice}\n\n[[approver]]\nid = \"bob\"\nroles = [\"support_lead\"]\n{bob}\n"
        ),
    )
    .expect("trust store");
    let action = root().join("examples/actions/refund-small.json");
    let approve_alice = approve(dir, "alice", &action, "approve");
    let reject_bob = approve(dir, "bob", &action, "reject");
    let unsigned = "- approver: mallory\n  roles: [support_lead]\n  decision: approve\n  reason: trust me\n  given_at: \"2026-11-22T09:30:00Z\"\n";
    let cases: [(&str, String, &[&str]); 5] = [
        ("none", "[]".into(), &[]),
        (
            "approved",
            approve_alice.clone(),
            &["--redact", "requester.id"],
        ),
        ("rejected", format!("{approve_alice}{reject_bob}"), &[]),
        ("refused", unsigned.into(), &["--no-audit-input"]),
        (
            "unsigned allowed",
            unsigned.into(),
            &["--allow-unsigned", "--compact"],
        ),
    ];
    let mut verdicts = Vec::new();
    for (what, approvals, extra) in cases {
        let file = dir.join("approvals.yaml");
        std::fs::write(&file, approvals).expect("approvals");
        let mut args = vec![
            "verify",
            "--policy",
            "policies/ai-agent-actions",
            "--trust",
            s(&trust),
            "--input",
            s(&action),
            "--approvals",
            s(&file),
            "--audit-log",
            s(log),
        ];
        args.extend_from_slice(extra);
        let out = gatehouse(&args, b"");
        let v = doc(&out, what);
        assert_valid("verification", &v, what);
        verdicts.push(v["verdict"].as_str().unwrap_or_default().to_owned());
    }
    verdicts.sort();
    verdicts.dedup();
    assert!(verdicts.len() >= 3, "several verdicts seen: {verdicts:?}");
}

#[test]
fn audit_records_chain_reports_and_replays_validate() {
    let dir = scratch("audit");
    let log = dir.join("audit.jsonl");
    let corpus = jsonl_corpus();
    for extra in [
        &[][..],
        &[
            "--redact",
            "requester.id,action.summary",
            "--redact-mode",
            "hash",
        ],
        &["--no-audit-input", "--now", NOW],
    ] {
        let mut args = vec![
            "eval",
            "--policy",
            "policies/ai-agent-actions",
            "--jsonl",
            "--audit-log",
            s(&log),
        ];
        args.extend_from_slice(extra);
        let out = gatehouse(&args, &corpus);
        assert!(matches!(out.status.code(), Some(0 | 3)));
    }
    let out = gatehouse(
        &[
            "eval",
            "--policy",
            "policies/ai-agent-actions",
            "--audit-log",
            s(&log),
            "examples/actions/iam-change.json",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0));
    verify_into(&dir, &log);

    let text_log = std::fs::read_to_string(&log).expect("log");
    let mut kinds = Vec::new();
    for (i, line) in text_log.lines().enumerate() {
        let record: Value = serde_json::from_str(line).expect("a JSON record");
        assert_valid("audit-record", &record, &format!("log line {}", i + 1));
        kinds.push(record["record"].as_str().unwrap_or_default().to_owned());
    }
    assert!(kinds.iter().any(|k| k == "decision") && kinds.iter().any(|k| k == "verification"));

    let out = gatehouse(&["audit", "verify", s(&log), "--format", "json"], b"");
    assert_eq!(out.status.code(), Some(0));
    let report = doc(&out, "audit verify");
    assert_eq!(report["status"], "intact");
    assert_valid("audit-verify", &report, "audit verify");

    for policy in ["policies/ai-agent-actions", "policies/simple-router"] {
        let out = gatehouse(
            &["replay", s(&log), "--policy", policy, "--format", "json"],
            b"",
        );
        assert!(matches!(out.status.code(), Some(0 | 1)));
        assert_valid(
            "replay",
            &doc(&out, policy),
            &format!("replay under {policy}"),
        );
    }

    // a tampered log: an edited record, a torn tail, an old unchained record
    let tampered = dir.join("tampered.jsonl");
    let mut edited = text_log.replacen("\"outcome\":\"explicit\"", "\"outcome\":\"auto\"", 1);
    edited.push_str("{\"seq\":99,\"prev\":\"sha");
    std::fs::write(&tampered, &edited).expect("write");
    let out = gatehouse(&["audit", "verify", s(&tampered), "--format", "json"], b"");
    assert_eq!(out.status.code(), Some(1));
    let report = doc(&out, "tampered");
    assert_eq!(report["status"], "tampered");
    assert_valid("audit-verify", &report, "tampered");
    let out = gatehouse(
        &[
            "replay",
            s(&tampered),
            "--policy",
            "policies/ai-agent-actions",
            "--format",
            "json",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_valid("replay", &doc(&out, "tampered replay"), "tampered replay");

    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_reports_validate_clean_broken_and_linted() {
    for path in [
        "policies",
        "tests/fixtures/cli/broken",
        "tests/fixtures/lint/rules",
        "tests/fixtures/testing/mixed",
    ] {
        let out = gatehouse(&["check", path, "--format", "json"], b"");
        let d = doc(&out, path);
        assert_valid("check", &d, path);
    }
    // a report with diagnostics that carry labels, help and an example
    let out = gatehouse(
        &["check", "tests/fixtures/lint/rules", "--format", "json"],
        b"",
    );
    let d = doc(&out, "lint");
    assert!(d["warnings"].as_u64().unwrap_or(0) + d["errors"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn test_reports_validate_passing_and_failing() {
    for path in [
        "policies",
        "tests/fixtures/testing/mixed",
        "tests/fixtures/testing/partial",
    ] {
        let out = gatehouse(&["test", path, "--format", "json"], b"");
        let d = doc(&out, path);
        assert_valid("test", &d, path);
    }
}

#[test]
fn diff_reports_validate() {
    let d = "tests/fixtures/diff";
    for extra in [&[][..], &["--limit", "1"]] {
        let mut args = vec![
            "diff",
            "tests/fixtures/diff/old.gate",
            "tests/fixtures/diff/new.gate",
            "--inputs",
            "tests/fixtures/diff/corpus.jsonl",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = gatehouse(&args, b"");
        let report = doc(&out, d);
        assert!(
            report["transitions"]
                .as_array()
                .is_some_and(|t| !t.is_empty())
        );
        assert_valid("diff", &report, &format!("{args:?}"));
    }
}

/// One real document of each kind, for the drift checks.
fn one_of_each() -> Vec<(&'static str, Value)> {
    let eval = gatehouse(
        &[
            "eval",
            "--policy",
            "policies/ai-agent-actions",
            "examples/actions/refund-large.json",
        ],
        b"",
    );
    let check = gatehouse(&["check", "policies", "--format", "json"], b"");
    let test = gatehouse(&["test", "policies", "--format", "json"], b"");
    let diff = gatehouse(
        &[
            "diff",
            "tests/fixtures/diff/old.gate",
            "tests/fixtures/diff/new.gate",
            "--inputs",
            "tests/fixtures/diff/corpus.jsonl",
            "--format",
            "json",
        ],
        b"",
    );
    let dir = scratch("drift");
    let log = dir.join("a.jsonl");
    let approvals = dir.join("approvals.yaml");
    std::fs::write(
        &approvals,
        "- approver: carol\n  roles: [support_lead]\n  decision: approve\n  reason: fine\n  given_at: \"2026-11-22T09:30:00Z\"\n",
    )
    .expect("approvals");
    let action = "examples/actions/refund-small.json";
    let policy = "policies/ai-agent-actions";
    let logged = gatehouse(&["eval", "-p", policy, "--audit-log", s(&log), action], b"");
    assert_eq!(logged.status.code(), Some(0));
    let verify = gatehouse(
        &[
            "verify",
            "-p",
            policy,
            "--input",
            action,
            "--approvals",
            s(&approvals),
            "--allow-unsigned",
            "--audit-log",
            s(&log),
        ],
        b"",
    );
    let audit = gatehouse(&["audit", "verify", s(&log), "--format", "json"], b"");
    let replay = gatehouse(&["replay", s(&log), "-p", policy, "--format", "json"], b"");
    let record: Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .expect("log")
            .lines()
            .next()
            .expect("a record"),
    )
    .expect("JSON");
    let _ = std::fs::remove_dir_all(&dir);
    vec![
        ("decision", doc(&eval, "eval")),
        ("verification", doc(&verify, "verify")),
        ("audit-record", record),
        ("audit-verify", doc(&audit, "audit verify")),
        ("check", doc(&check, "check")),
        ("test", doc(&test, "test")),
        ("diff", doc(&diff, "diff")),
        ("replay", doc(&replay, "replay")),
    ]
}

#[test]
fn drift_is_caught() {
    let mut kinds_checked = 0;
    for (name, good) in one_of_each() {
        kinds_checked += 1;
        assert_valid(name, &good, name);
        let v = validator(name);
        let mut unknown = good.clone();
        unknown["surprise"] = json!(1);
        assert!(!v.is_valid(&unknown), "{name}: an unknown field passes");
        let mut missing = good.clone();
        missing.as_object_mut().expect("object").remove("format");
        // records written before the field existed have none, by design
        assert_eq!(
            v.is_valid(&missing),
            name == "audit-record",
            "{name}: without the format field"
        );
        let mut next = good.clone();
        next["format"] = json!(format!("gatehouse.{name}/2"));
        assert!(!v.is_valid(&next), "{name}: another major version passes");
    }
    assert_eq!(
        kinds_checked,
        DocumentFormat::ALL.len(),
        "every kind drifted"
    );
    let (_, decision) = one_of_each().swap_remove(0);
    let v = validator("decision");
    let mut nested = decision.clone();
    nested["tier"]["colour"] = json!("red");
    assert!(!v.is_valid(&nested), "an unknown nested field passes");
    let mut outcome = decision.clone();
    outcome["outcome"] = json!("maybe");
    assert!(!v.is_valid(&outcome), "an unknown outcome passes");
    let mut gone = decision;
    gone.as_object_mut()
        .expect("object")
        .remove("action_digest");
    assert!(!v.is_valid(&gone), "a missing field passes");
}

#[test]
fn a_record_of_an_unknown_format_is_refused_and_one_without_reads() {
    let dir = scratch("format");
    let log = dir.join("a.jsonl");
    let out = gatehouse(
        &[
            "eval",
            "--policy",
            "policies/ai-agent-actions",
            "--audit-log",
            s(&log),
            "examples/actions/refund-small.json",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0));
    let line = std::fs::read_to_string(&log).expect("log");
    assert!(line.contains(",\"record\":\"decision\",\"format\":\"gatehouse.audit-record/1\","));
    let mut record: Value = serde_json::from_str(&line).expect("record");
    record.as_object_mut().expect("object").remove("seq");
    record.as_object_mut().expect("object").remove("prev");
    let without = {
        let mut r = record.clone();
        r.as_object_mut().expect("object").remove("format");
        r
    };
    assert!(gatehouse::audit::record::AuditRecord::from_value(without).is_ok());
    record["format"] = json!("gatehouse.audit-record/2");
    let err = gatehouse::audit::record::AuditRecord::from_value(record.clone())
        .expect_err("another format is refused");
    assert!(err.contains("unsupported record format"), "{err}");
    assert!(!validator("audit-record").is_valid(&record));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A log written by gatehouse before the format field existed (the binary
/// of commit eca9c68: `eval --jsonl --audit-log` over examples/actions
/// with `--now 2026-11-22T09:00:00Z`, one redacted `eval`, one `verify
/// --allow-unsigned`), chained.
const PRE_FORMAT_LOG: &str = "tests/fixtures/audit/pre-format.jsonl";

#[test]
fn logs_written_before_the_format_field_still_validate_verify_and_replay() {
    let text = std::fs::read_to_string(root().join(PRE_FORMAT_LOG)).expect("fixture");
    let mut records = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("JSON");
        if v.get("record").is_some() {
            assert!(
                v.get("format").is_none(),
                "written before the field: {line}"
            );
            assert_valid("audit-record", &v, "a record of an older log");
            records += 1;
        }
    }
    assert!(records >= 10, "{records} older records checked");
    let out = gatehouse(
        &["audit", "verify", PRE_FORMAT_LOG, "--format", "json"],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the chain of an older log holds"
    );
    assert_eq!(doc(&out, "older log")["status"], "intact");
    let out = gatehouse(
        &[
            "replay",
            PRE_FORMAT_LOG,
            "--policy",
            "policies/ai-agent-actions",
            "--format",
            "json",
        ],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "an older log replays without a determinism bug: {}",
        text_of(&out)
    );
    let report = doc(&out, "older replay");
    assert!(report["summary"]["identical"].as_u64().unwrap_or(0) > 5);
    assert_eq!(report["summary"]["determinism_bugs"], 0);
}

fn text_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
