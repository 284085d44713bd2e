//! The tamper-evident audit log (issue 12, promises 10 and 11): locked
//! appends from many writers and processes, torn writes, `gatehouse audit
//! verify` and `checkpoint`, the bounded line reader, `diff` on chained
//! logs. The mutation suite is in tests/chain_mutations.rs.

mod chain_common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use chain_common::*;
use gatehouse::audit::chain::{ChainLink, ChainStatus, Checkpoint, hash_line, hash_text};
use gatehouse::audit::log::{AuditLog, LogReader, read_log};
use gatehouse::audit::redact::Redaction;
use serde_json::{Value, json};

// ------------------------------------------------------------ promise 10 --

/// Promise 10: a writer that already had the log open used to glue its next
/// record onto the fragment another writer left when it was killed: the
/// record was printed, then unreadable. Fails on the code before the lock.
#[test]
fn a_writer_holding_the_log_never_glues_onto_a_crashed_writers_fragment() {
    let dir = scratch("glue");
    let path = dir.join("audit.jsonl");
    let p = policy();
    let inputs = actions();
    let mut survivor = AuditLog::open(&path).unwrap();
    survivor
        .append(&decision(&p, &inputs[0], &Redaction::KeepAll))
        .unwrap();
    // another process, killed mid-write: the first 90 bytes of its record
    let mut crashed = OpenOptions::new().append(true).open(&path).unwrap();
    let first = lines_of(&std::fs::read(&path).unwrap()).remove(0);
    let whole = ChainLink::after(1, hash_line(&first))
        .line(
            &decision(&p, &inputs[1], &Redaction::KeepAll)
                .to_json_line()
                .unwrap(),
        )
        .unwrap();
    crashed.write_all(&whole.as_bytes()[..90]).unwrap();
    drop(crashed);
    survivor
        .append(&decision(&p, &inputs[2], &Redaction::KeepAll))
        .unwrap();
    survivor
        .append(&decision(&p, &inputs[3], &Redaction::KeepAll))
        .unwrap();
    let contents = read_log(&path).unwrap();
    assert_eq!(
        contents.records.len(),
        3,
        "every record the survivor wrote is readable: {contents:#?}"
    );
    assert_eq!(
        contents.bad_lines.len(),
        1,
        "the fragment is a line of its own"
    );
    assert_eq!(contents.bad_lines[0].line, 2);
    let report = contents.chain;
    assert_eq!(report.status, ChainStatus::TornWrite, "{report:#?}");
    assert_eq!(report.torn_writes.len(), 1);
    assert!(!report.torn_writes[0].at_end);
    assert_eq!(report.chained, 3);
}

#[test]
fn threads_with_their_own_handles_extend_one_chain() {
    let dir = scratch("threads");
    let path = dir.join("audit.jsonl");
    let p = policy();
    let inputs = actions();
    std::thread::scope(|s| {
        for t in 0..4usize {
            let (path, p, inputs) = (&path, &p, &inputs);
            s.spawn(move || {
                let mut log = AuditLog::open(path).unwrap().without_fsync();
                for i in 0..40 {
                    let r = decision(p, &inputs[(t + i) % inputs.len()], &Redaction::KeepAll);
                    log.append(&r).unwrap();
                }
            });
        }
    });
    let contents = read_log(&path).unwrap();
    assert_eq!(contents.records.len(), 160);
    assert_eq!(
        contents.chain.status,
        ChainStatus::Intact,
        "{:#?}",
        contents.chain
    );
    let seqs: Vec<u64> = contents
        .records
        .iter()
        .map(|r| r.chain.unwrap().seq)
        .collect();
    assert_eq!(seqs, (1..=160).collect::<Vec<u64>>());
}

/// Several processes of the real binary append at once (`eval --jsonl
/// --audit-log` and `verify --audit-log`), while a simulated crash leaves
/// fragments: one consistent chain, every record readable, and the only
/// findings are torn writes.
#[test]
#[clippy::msrv = "1.89"]
fn concurrent_processes_and_crashes_keep_one_chain() {
    let dir = scratch("processes");
    let path = dir.join("audit.jsonl");
    let approvals = dir.join("approvals.json");
    std::fs::write(&approvals, "[]").unwrap();
    let bin = assert_cmd::cargo::cargo_bin("gatehouse");
    let root = env!("CARGO_MANIFEST_DIR");
    let (evals, rounds, verifies) = (3, 4, 6);
    let mut children = Vec::new();
    for _ in 0..evals {
        let (bin, path) = (bin.clone(), path.clone());
        children.push(std::thread::spawn(move || {
            for _ in 0..rounds {
                let status = Process::new(&bin)
                    .current_dir(root)
                    .args(["eval", "-p", V1, "--jsonl", "--now", NOW, "--audit-log"])
                    .arg(&path)
                    .arg(ACTIONS)
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
                assert_eq!(status.code(), Some(0));
            }
        }));
    }
    {
        let (bin, path, approvals) = (bin.clone(), path.clone(), approvals.clone());
        children.push(std::thread::spawn(move || {
            for _ in 0..verifies {
                let status = Process::new(&bin)
                    .current_dir(root)
                    .args(["verify", "-p", V1, "--input", LARGE, "--now", NOW])
                    .arg("--approvals")
                    .arg(&approvals)
                    .arg("--audit-log")
                    .arg(&path)
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
                assert_eq!(status.code(), Some(1), "pending: no approvals");
            }
        }));
    }
    // a writer killed mid-write holds the lock while it writes, and the
    // lock goes with the process: a fragment with no newline
    let fragments = 3;
    for k in 0..fragments {
        std::thread::sleep(std::time::Duration::from_millis(40 + 30 * k));
        let f = loop {
            if let Ok(f) = OpenOptions::new().append(true).open(&path) {
                break f;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        f.lock().unwrap();
        // it was writing the record after the last one
        let text = std::fs::read(&path).unwrap();
        let next = text
            .split(|b| *b == b'\n')
            .rev()
            .find_map(|l| serde_json::from_slice::<Value>(l).ok())
            .map_or(1, |v| v["seq"].as_u64().unwrap() + 1);
        (&f).write_all(format!(r#"{{"seq":{next},"prev":"sha256:0f3a"#).as_bytes())
            .unwrap();
        f.unlock().unwrap();
    }
    for c in children {
        c.join().unwrap();
    }
    let expected = evals * rounds * 6 + verifies;
    let contents = read_log(&path).unwrap();
    assert_eq!(
        contents.records.len(),
        expected as usize,
        "{:#?}",
        contents.bad_lines
    );
    let chain = &contents.chain;
    assert!(chain.problems.is_empty(), "{chain:#?}");
    assert_eq!(chain.chained, expected as usize);
    assert_eq!(chain.head.as_ref().unwrap().seq, expected as u64);
    // every fragment is a torn write (two may share a line, if no record
    // came between them)
    assert!(!chain.torn_writes.is_empty() && chain.torn_writes.len() <= fragments as usize);
    let (code, out, _) = run(&["audit", "verify", path.to_str().unwrap()]);
    assert_eq!(code, 7, "torn writes, not tampering: {out}");
    assert!(out.contains("torn write"), "{out}");
}

// ------------------------------------------------------------------ CLI --

fn write_log(dir: &Path) -> PathBuf {
    let path = dir.join("audit.jsonl");
    real_log(&path);
    path
}

#[test]
fn audit_verify_names_the_first_bad_record_with_its_exit_code() {
    let dir = scratch("cli_verify");
    let path = write_log(&dir);
    let log = path.to_str().unwrap();
    let (code, out, _) = run(&["audit", "verify", log]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("chain intact: 9 records, last seq 9 at line 9"),
        "{out}"
    );

    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[2] = lines[2].replace("\"amount\":700.00", "\"amount\":7.00");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (code, out, _) = run(&["audit", "verify", log]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("TAMPERED: first bad record at line 3 (seq 3): this record does not hash to the `prev` of the next record (line 4, seq 4)"),
        "{out}"
    );
    let (code, out, _) = run(&["audit", "verify", log, "--format", "json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "tampered");
    assert_eq!(v["problems"][0]["line"], 3);
    assert_eq!(v["problems"][0]["seq"], 3);
    assert_eq!(v["problems"][0]["kind"], "edited");

    // a deleted record
    lines.remove(4);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (_, out, _) = run(&["audit", "verify", log, "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "missing"
                && p["line"] == 5
                && p["message"].as_str().unwrap().contains("seq 5 is missing")),
        "{v:#}"
    );
}

#[test]
fn a_torn_last_line_is_a_torn_write_not_tampering() {
    let dir = scratch("cli_torn");
    let path = write_log(&dir);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"seq":10,"prev":"sha256:12"#).unwrap();
    let (code, out, _) = run(&["audit", "verify", path.to_str().unwrap()]);
    assert_eq!(code, 7, "{out}");
    assert!(out.contains("torn write at line 10"), "{out}");
    // the next append ends the line; the fragment is in the middle now,
    // and the chain links across it
    AuditLog::append_to(
        &path,
        &decision(&policy(), &actions()[0], &Redaction::KeepAll),
    )
    .unwrap();
    let (code, out, _) = run(&[
        "audit",
        "verify",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 7, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["torn_writes"],
        json!([{"line": 10, "bytes": 27, "at_end": false}])
    );
    assert_eq!(v["head"]["seq"], 10);
    assert_eq!(v["head"]["line"], 11);
    // a fragment naming another seq than the record after it was not left
    // by a crash (the crashed writer was writing that record's seq)
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        good.replace(
            r#"{"seq":10,"prev":"sha256:12"#,
            r#"{"seq":3,"prev":"sha256:12"#,
        ),
    )
    .unwrap();
    let (code, out, _) = run(&["audit", "verify", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("line 10 (seq 3): a fragment of a record with seq 3"),
        "{out}"
    );
    std::fs::write(&path, good).unwrap();
    // a fragment the chain does not link across is tampering
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(8);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (code, out, _) = run(&["audit", "verify", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn checkpoints_detect_truncation_below_them() {
    let dir = scratch("cli_checkpoint");
    let path = write_log(&dir);
    let log = path.to_str().unwrap();
    let (code, out, err) = run(&["audit", "checkpoint", log]);
    assert_eq!(code, 0, "{err}");
    let (cp, _) = Checkpoint::parse(&out).unwrap();
    assert_eq!(cp.seq, 9);
    let cp_path = dir.join("cp.json");
    std::fs::write(&cp_path, &out).unwrap();
    let cp_arg = cp_path.to_str().unwrap();
    let (code, out, _) = run(&["audit", "verify", log, "--checkpoint", cp_arg]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("checkpoint seq 9 matches line 9"), "{out}");
    // appending more is fine
    AuditLog::append_to(
        &path,
        &decision(&policy(), &actions()[0], &Redaction::KeepAll),
    )
    .unwrap();
    let (code, _, _) = run(&["audit", "verify", log, "--checkpoint", cp_arg]);
    assert_eq!(code, 0);
    // dropping the last two records: the chain alone cannot tell
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, lines[..8].join("\n") + "\n").unwrap();
    let (code, _, _) = run(&["audit", "verify", log]);
    assert_eq!(code, 0, "tail truncation needs a checkpoint");
    let (code, out, _) = run(&["audit", "verify", log, "--checkpoint", cp_arg]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the checkpoint covers seq 9, but the log ends at seq 8"),
        "{out}"
    );
    // a tampered log gets no checkpoint; a bad checkpoint file is exit 3
    std::fs::write(&path, lines[1..].join("\n") + "\n").unwrap();
    assert_eq!(run(&["audit", "checkpoint", log]).0, 1);
    std::fs::write(&cp_path, "{\"seq\": 1}").unwrap();
    assert_eq!(run(&["audit", "verify", log, "--checkpoint", cp_arg]).0, 3);
    assert_eq!(run(&["audit", "verify", "no/such/log.jsonl"]).0, 3);
}

#[test]
fn unchained_and_mixed_logs() {
    let dir = scratch("cli_unchained");
    let path = dir.join("old.jsonl");
    let p = policy();
    // what a gatehouse before the chain wrote: records, one per line
    let old: Vec<String> = actions()
        .iter()
        .map(|i| decision(&p, i, &Redaction::KeepAll).to_json_line().unwrap())
        .collect();
    std::fs::write(&path, old.join("\n") + "\n").unwrap();
    let log = path.to_str().unwrap();
    let (code, out, _) = run(&["audit", "verify", log]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("6 of 6 records are unchained"), "{out}");
    let (code, _, err) = run(&["audit", "verify", log, "--require-chain"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        run(&["replay", log, "-p", V1]).0,
        0,
        "replay reads old logs"
    );
    // a new writer continues it: the chain starts at seq 1, linked to the
    // last unchained record
    AuditLog::append_to(&path, &decision(&p, &actions()[0], &Redaction::KeepAll)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let report = chain_of(&bytes, None);
    assert_eq!(
        (report.status, report.chained, report.unchained),
        (ChainStatus::Unchained, 1, 6)
    );
    let last: Value = serde_json::from_slice(lines_of(&bytes).last().unwrap()).unwrap();
    assert_eq!(last["seq"], 1);
    assert_eq!(
        last["prev"],
        json!(hash_text(&hash_line(old[5].as_bytes())))
    );
    // dropping the last unchained record is seen at the seam
    let mut lines = lines_of(&bytes);
    lines.remove(5);
    assert_eq!(chain_of(&join(&lines), None).status, ChainStatus::Tampered);
    // an unchained record after the chain began is tampering
    let mut with_old = bytes.clone();
    with_old.extend_from_slice(old[0].as_bytes());
    with_old.push(b'\n');
    let report = chain_of(&with_old, None);
    assert_eq!(report.problems[0].kind, "unchained_after_chain");
}

#[test]
fn help_has_examples_and_exit_codes() {
    let (code, out, _) = run(&["audit", "verify", "--help"]);
    assert_eq!(code, 0);
    for needle in [
        "Examples:",
        "--checkpoint",
        "Exit codes: 0",
        "7 the chain holds but",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    let (code, out, _) = run(&["audit", "checkpoint", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Examples:"));
}

/// Replay (and the chain check) refuse a line longer than the limit without
/// reading it whole, and go on with the next line.
#[test]
fn an_over_limit_line_is_skipped_unread() {
    use gatehouse::audit::log::{LineReader, MAX_LINE_BYTES};
    use std::io::Read;
    // 256 MiB of one line, then a record: read with a 1 KiB limit (the
    // memory held does not grow with the line, so 2 GB is no different)
    let huge = std::io::repeat(b'x').take(256 << 20);
    let rest = std::io::Cursor::new(b"\n{\"a\":1}\n".to_vec());
    let mut lines = LineReader::new(std::io::BufReader::new(huge.chain(rest)), 1024);
    let mut buf = Vec::new();
    let first = lines.next_line(&mut buf).unwrap().unwrap();
    assert!(first.too_long && first.complete);
    assert_eq!(first.len, 256 << 20);
    assert!(buf.capacity() <= 64 * 1024, "held {} bytes", buf.capacity());
    let second = lines.next_line(&mut buf).unwrap().unwrap();
    assert!(!second.too_long);
    assert_eq!(buf, b"{\"a\":1}");
    assert_eq!(MAX_LINE_BYTES, 64 << 20);

    // the log reader at its real limit: the line is a bad line, the
    // record after it is read
    let p = policy();
    let record = decision(&p, &actions()[0], &Redaction::KeepAll)
        .to_json_line()
        .unwrap();
    let over = std::io::repeat(b'{').take(MAX_LINE_BYTES as u64 + 1);
    let after = std::io::Cursor::new(format!("\n{record}\n").into_bytes());
    let mut reader = LogReader::new(std::io::BufReader::new(over.chain(after)));
    let entries: Vec<_> = (&mut reader).map(Result::unwrap).collect();
    assert_eq!(entries.len(), 2);
    assert!(
        matches!(&entries[0], gatehouse::audit::log::LogEntry::Bad(b) if b.error.contains("longer than"))
    );
    assert!(matches!(
        &entries[1],
        gatehouse::audit::log::LogEntry::Record(_)
    ));
}

/// `diff` reads chained logs as it read unchained ones: the chain fields
/// are two more fields of a record.
#[test]
fn diff_reads_a_chained_log() {
    let dir = scratch("diff");
    let path = write_log(&dir);
    let (code, out, err) = run(&[
        "diff",
        V1,
        "tests/fixtures/audit/refunds-v2",
        "--inputs",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    // 7 decision records, 1 of them redacted; 2 verifications
    assert_eq!(v["inputs"], 6, "{v:#}");
    assert_eq!(v["no_input_recorded"], 1, "{v:#}");
    assert_eq!(v["other_records"], 2, "{v:#}");
    assert_eq!(v["unreadable_lines"], json!([]), "{v:#}");
}

/// A new writer finds the last record by reading backwards: across lines
/// longer than its 64 KiB block, and when only the last newline is missing
/// (the record is whole, so the chain goes on from it).
#[test]
fn a_new_writer_finds_the_last_record_from_the_end() {
    let dir = scratch("tail");
    let path = dir.join("audit.jsonl");
    let p = policy();
    for i in 0..4 {
        let mut input = actions()[1].clone();
        input["note"] = json!("n".repeat(50_000 * (i + 1)));
        // a new writer each time: no cache
        AuditLog::append_to(&path, &decision(&p, &input, &Redaction::KeepAll)).unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 4 * 65_536);
    assert_eq!(bytes.pop(), Some(b'\n'));
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(chain_of(&bytes, None).status, ChainStatus::Intact);
    AuditLog::append_to(&path, &decision(&p, &actions()[0], &Redaction::KeepAll)).unwrap();
    let contents = read_log(&path).unwrap();
    assert_eq!(
        contents.chain.status,
        ChainStatus::Intact,
        "{:#?}",
        contents.chain
    );
    assert_eq!(contents.chain.head.unwrap().seq, 5);
    assert_eq!(contents.records.len(), 5);
}
