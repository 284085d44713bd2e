//! Helpers shared by tests/chain.rs and tests/chain_mutations.rs: real
//! logs written through the library, the chain check and replay in memory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use gatehouse::EvalOptions;
use gatehouse::Policy;
use gatehouse::audit::chain::{ChainReport, ChainStatus, LineHash, parse_hash};
use gatehouse::audit::log::{AuditLog, LogReader};
use gatehouse::audit::record::{AuditRecord, VerificationEvent};
use gatehouse::audit::redact::{FieldPath, RedactMode, Redaction};
use gatehouse::audit::replay::Replayer;
use gatehouse::values::Timestamp;
use serde_json::{Value, json};

pub const V1: &str = "tests/fixtures/audit/refunds-v1";
pub const ACTIONS: &str = "tests/fixtures/audit/actions.jsonl";
pub const LARGE: &str = "tests/fixtures/audit/refund-large.json";
pub const NOW: &str = "2026-11-22T09:00:00Z";

pub fn gatehouse() -> Command {
    let mut cmd = Command::cargo_bin("gatehouse").expect("binary");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GATEHOUSE_POLICY")
        .env("NO_COLOR", "1");
    cmd
}

pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = gatehouse().args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("chain")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn policy() -> Policy {
    Policy::load(Path::new(env!("CARGO_MANIFEST_DIR")).join(V1)).unwrap()
}

pub fn actions() -> Vec<Value> {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(ACTIONS))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A decision record of `input` (amount offset by `n`, so records differ).
pub fn decision(p: &Policy, input: &Value, redaction: &Redaction) -> AuditRecord {
    let options = EvalOptions::default()
        .with_now(Timestamp::parse(NOW))
        .with_strict(false);
    let d = p.evaluate_with(input, &options);
    AuditRecord::decision(
        &d,
        Some(input),
        &options,
        redaction,
        Timestamp::parse(NOW).unwrap(),
    )
}

pub fn verification(p: &Policy, input: &Value, verdict: &str) -> AuditRecord {
    let d = p.evaluate(input);
    let digest = d.action_digest.clone().unwrap();
    AuditRecord::verification(
        VerificationEvent {
            policy: &d.policy,
            action_digest: &digest,
            decision_id: Some("dec_00000000000000000000000000000000"),
            input: Some(input),
            approvals: json!([{"approver": "carol", "roles": ["support_lead"]}]),
            verification: json!({"verdict": verdict}),
        },
        &Redaction::KeepAll,
        Timestamp::parse(NOW).unwrap(),
    )
}

/// A real log written through the library: every action of the fixture
/// decided, one redacted decision, and two verifications.
pub fn real_log(path: &Path) {
    let p = policy();
    let mut log = AuditLog::open(path).unwrap();
    let inputs = actions();
    for input in &inputs {
        log.append(&decision(&p, input, &Redaction::KeepAll))
            .unwrap();
    }
    let hide = Redaction::fields(
        vec![FieldPath::parse("requester.id").unwrap()],
        RedactMode::Hash,
    );
    log.append(&decision(&p, &inputs[3], &hide)).unwrap();
    log.append(&verification(&p, &inputs[3], "pending"))
        .unwrap();
    log.append(&verification(&p, &inputs[4], "execute"))
        .unwrap();
}

pub fn chain_of(bytes: &[u8], checkpoint: Option<(u64, LineHash)>) -> ChainReport {
    let mut reader = LogReader::with_checkpoint(bytes, checkpoint);
    for entry in &mut reader {
        entry.unwrap();
    }
    reader.finish()
}

/// What `replay` (the library under the CLI) makes of a log.
pub fn replay_fails(p: &Policy, bytes: &[u8]) -> bool {
    let mut reader = LogReader::new(bytes);
    let mut replayer = Replayer::new(p);
    for entry in &mut reader {
        replayer.push(entry.unwrap());
    }
    replayer.finish_with(Some(reader.finish())).has_failures()
}

pub fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    let text = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

pub fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = lines.join(&b'\n');
    out.push(b'\n');
    out
}

pub fn checkpoint_of(bytes: &[u8]) -> (u64, LineHash) {
    let report = chain_of(bytes, None);
    assert_eq!(report.status, ChainStatus::Intact, "{report:#?}");
    let head = report.head.unwrap();
    (head.seq, parse_hash(&head.head).unwrap())
}
