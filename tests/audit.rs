//! Audit records and replay: `eval --audit-log`, redaction, the log reader
//! after a crash, and `gatehouse replay` through the real binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use gatehouse::Policy;
use gatehouse::audit::digest::action_digest;
use gatehouse::audit::log::{AuditLog, LogContents, LogEntry, LogReader, read_log};
use gatehouse::audit::record::{AuditRecord, DecisionRecord, VerificationEvent};
use gatehouse::audit::redact::Redaction;
use gatehouse::audit::replay::{ReplayResult, Replayer, replay_decision};
use gatehouse::values::Timestamp;
use serde_json::{Value, json};

const V1: &str = "tests/fixtures/audit/refunds-v1";
const V2: &str = "tests/fixtures/audit/refunds-v2";
const ACTIONS: &str = "tests/fixtures/audit/actions.jsonl";
const NOW: &str = "2026-11-22T09:00:00Z";

fn gatehouse() -> Command {
    let mut cmd = Command::cargo_bin("gatehouse").expect("binary");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GATEHOUSE_POLICY")
        .env("NO_COLOR", "1");
    cmd
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = gatehouse().args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("audit")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A printed decision document without its leading format field: what the
/// audit record nests (the field belongs to top-level documents only).
fn unversioned(line: &str) -> String {
    let prefix = "{\"format\":\"gatehouse.decision/1\",";
    assert!(line.starts_with(prefix), "a decision document: {line}");
    line.replacen(prefix, "{", 1)
}

fn decisions(log: &LogContents) -> Vec<&DecisionRecord> {
    log.records
        .iter()
        .filter_map(|r| match &r.record {
            AuditRecord::Decision(d) => Some(d),
            _ => None,
        })
        .collect()
}

/// Record ids and temporary paths vary from run to run.
fn normalize(text: &str, dir: &Path) -> String {
    let ids = regex::Regex::new(r"(dec|ver)_[0-9a-f]{32}").unwrap();
    ids.replace_all(
        &text.replace(&dir.display().to_string(), "[dir]"),
        "${1}_[id]",
    )
    .into_owned()
}

#[test]
fn eval_appends_one_record_per_decision_before_printing_it() {
    let dir = scratch("eval_appends");
    let log = dir.join("audit.jsonl");
    let log_arg = log.to_str().unwrap();
    let (code, single, _) = run(&[
        "eval",
        "-p",
        V1,
        "--now",
        NOW,
        "--compact",
        "--audit-log",
        log_arg,
        "tests/fixtures/cli/refund-large.json",
    ]);
    assert_eq!(
        code, 3,
        "the cli fixture does not match this schema: still recorded"
    );
    let (code, stream, _) = run(&[
        "eval",
        "-p",
        V1,
        "--now",
        NOW,
        "--jsonl",
        "--audit-log",
        log_arg,
        ACTIONS,
    ]);
    assert_eq!(code, 0);

    let contents = read_log(&log).unwrap();
    assert!(contents.bad_lines.is_empty() && contents.torn_tail.is_none());
    let records = decisions(&contents);
    assert_eq!(records.len(), 7);
    let printed: Vec<&str> = single.lines().chain(stream.lines()).collect();
    let policy = Policy::load(V1).unwrap();
    for (record, printed) in records.iter().zip(&printed) {
        // what was printed is exactly what was recorded
        assert_eq!(
            serde_json::to_string(&record.decision).unwrap(),
            unversioned(printed)
        );
        assert_eq!(record.time, NOW);
        assert_eq!(record.options.now.as_deref(), Some(NOW));
        assert_eq!(record.policy.digest, policy.digest());
        assert_eq!(record.action_digest, Some(action_digest(&record.input)));
        assert_eq!(
            record.decision["action_digest"],
            json!(record.action_digest)
        );
        assert!(record.redacted.is_empty());
        assert_eq!(json!(record.outcome), record.decision["outcome"]);
    }
    let mut ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 7, "ids are unique");
    // the raw text of the log: one object per line, the chain fields
    // first, then "record" and "format"
    let text = std::fs::read_to_string(&log).unwrap();
    for (i, l) in text.lines().enumerate() {
        let head = format!(r#"{{"seq":{},"prev":"sha256:"#, i + 1);
        assert!(l.starts_with(&head), "{l}");
        assert!(
            l.contains(r#","record":"decision","format":"gatehouse.audit-record/1","id":"dec_"#),
            "{l}"
        );
    }
    assert!(text.ends_with('\n'));
}

#[test]
fn without_now_the_clock_is_recorded_and_replay_uses_no_clock() {
    let dir = scratch("without_now");
    let log = dir.join("audit.jsonl");
    let (code, _, _) = run(&[
        "eval",
        "-p",
        V1,
        "--jsonl",
        "--audit-log",
        log.to_str().unwrap(),
        ACTIONS,
    ]);
    assert_eq!(code, 0);
    let contents = read_log(&log).unwrap();
    for r in decisions(&contents) {
        assert_eq!(r.options.now, None);
        let time = Timestamp::parse(&r.time).expect("an RFC 3339 time");
        assert!(time.unix_seconds() > 1_700_000_000, "the system clock");
        assert!(r.time.ends_with('Z'));
        assert_eq!(r.decision["timeout"]["expires_at"], Value::Null);
    }
    let (code, out, _) = run(&["replay", log.to_str().unwrap(), "-p", V1]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("6 decision records: 6 identical, 0 determinism bugs"),
        "{out}"
    );
}

#[test]
fn redaction_drops_or_hashes_fields_and_the_digest_stays_of_the_full_input() {
    let dir = scratch("redaction");
    let (drop, hash, none) = (
        dir.join("drop.jsonl"),
        dir.join("hash.jsonl"),
        dir.join("none.jsonl"),
    );
    for (log, extra) in [
        (&drop, vec!["--redact", "requester.id,agent.owner"]),
        (
            &hash,
            vec![
                "--redact",
                "requester.id",
                "--redact",
                "$.agent.owner",
                "--redact-mode",
                "hash",
            ],
        ),
        (&none, vec!["--no-audit-input"]),
    ] {
        let mut args = vec!["eval", "-p", V1, "--jsonl", "--now", NOW, "--audit-log"];
        args.push(log.to_str().unwrap());
        args.extend(extra);
        args.push(ACTIONS);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
    }
    let originals: Vec<Value> = std::fs::read_to_string(ACTIONS)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let dropped = read_log(&drop).unwrap();
    for (r, original) in decisions(&dropped).iter().zip(&originals) {
        assert_eq!(r.redacted, ["$.requester.id", "$.agent.owner"]);
        assert_eq!(r.input["requester"], json!({}));
        assert_eq!(r.input["action"], original["action"]);
        assert_eq!(r.action_digest, Some(action_digest(original)));
        let text = serde_json::to_string(r).unwrap();
        assert!(
            !text.contains("u-1042") && !text.contains("u-2001"),
            "{text}"
        );
    }

    let hashed = read_log(&hash).unwrap();
    let d = decisions(&hashed);
    let pseudonym = action_digest(&json!("u-1042"));
    assert_eq!(d[0].input["requester"]["id"], json!(pseudonym));
    assert_eq!(d[0].redacted, ["$.requester.id", "$.agent.owner"]);
    // the forbidden approvers the decision names carry the same pseudonym
    let forbidden = &d[3].decision["approvals"]["forbidden_approvers"];
    assert_eq!(
        forbidden[0],
        json!({"attribute": "requester.id", "identity": pseudonym})
    );
    assert!(!std::fs::read_to_string(&hash).unwrap().contains("u-1042"));

    let left_out = read_log(&none).unwrap();
    for r in decisions(&left_out) {
        assert_eq!(r.input, Value::Null);
        assert_eq!(r.redacted, ["$"]);
        assert!(r.action_digest.is_some());
    }
    // none of these can be replayed, and replay says so
    for log in [&drop, &hash, &none] {
        let (code, out, _) = run(&["replay", log.to_str().unwrap(), "-p", V1]);
        assert_eq!(code, 0);
        assert!(out.contains("6 cannot be replayed"), "{out}");
    }
}

#[test]
fn redaction_options_need_an_audit_log_and_valid_paths() {
    let (code, _, err) = run(&["eval", "-p", V1, "--redact", "requester.id", ACTIONS]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["eval", "-p", V1, "--no-audit-input", ACTIONS]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&[
        "eval",
        "-p",
        V1,
        "--audit-log",
        "x.jsonl",
        "--redact",
        "a..b",
        ACTIONS,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("empty key"), "{err}");
    assert!(!Path::new("x.jsonl").exists());
}

#[test]
fn an_unwritable_audit_log_exits_4_and_prints_no_decision() {
    let dir = scratch("unwritable");
    for target in [dir.clone(), dir.join("no/such/dir/audit.jsonl")] {
        let (code, out, err) = run(&[
            "eval",
            "-p",
            V1,
            "--jsonl",
            "--audit-log",
            target.to_str().unwrap(),
            ACTIONS,
        ]);
        assert_eq!(code, 4, "{err}");
        assert!(out.is_empty(), "no decision without its record: {out}");
        assert!(err.contains("audit log"), "{err}");
    }
    let (_, help, _) = run(&["eval", "--help"]);
    // the prose wraps at the terminal's width: compare words
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("4 the audit log could not be written"));
}

#[cfg(target_os = "linux")]
#[test]
fn a_failing_write_exits_4_before_the_decision_is_printed() {
    // /dev/full accepts the open and fails every write with ENOSPC
    let (code, out, err) = run(&[
        "eval",
        "-p",
        V1,
        "--audit-log",
        "/dev/full",
        "tests/fixtures/cli/refund-large.json",
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("cannot write the audit log"), "{err}");
}

/// A log with every kind of line replay distinguishes: identical
/// decisions, a tampered decision, a tampered input, a redacted record, a
/// verification, a line that is not a record and a torn tail.
fn mixed_log(dir: &Path) -> PathBuf {
    let log = dir.join("audit.jsonl");
    let log_arg = log.to_str().unwrap();
    let (code, _, _) = run(&[
        "eval",
        "-p",
        V1,
        "--jsonl",
        "--now",
        NOW,
        "--audit-log",
        log_arg,
        ACTIONS,
    ]);
    assert_eq!(code, 0);
    let (code, _, _) = run(&[
        "eval",
        "-p",
        V1,
        "--now",
        NOW,
        "--audit-log",
        log_arg,
        "--redact",
        "requester.id",
        "tests/fixtures/audit/refund-large.json",
    ]);
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // line 4: the recorded decision says auto where the policy says explicit
    // (in both places a record states its outcome, so the record agrees
    // with itself and only re-evaluating shows the difference)
    let mut tampered: Value = serde_json::from_str(&lines[3]).unwrap();
    tampered["decision"]["outcome"] = json!("auto");
    tampered["outcome"] = json!("auto");
    lines[3] = serde_json::to_string(&tampered).unwrap();
    // line 5: the recorded input no longer matches its digest
    let mut altered: Value = serde_json::from_str(&lines[4]).unwrap();
    altered["input"]["action"]["amount"] = json!(25);
    lines[4] = serde_json::to_string(&altered).unwrap();
    let first: Value = serde_json::from_str(&lines[0]).unwrap();
    let policy = Policy::load(V1).unwrap();
    let verification = AuditRecord::verification(
        VerificationEvent {
            policy: &serde_json::from_value(first["policy"].clone()).unwrap(),
            action_digest: first["action_digest"].as_str().unwrap(),
            decision_id: first["id"].as_str(),
            input: Some(&first["input"]),
            approvals: json!([]),
            verification: json!({"verdict": "execute"}),
        },
        &Redaction::KeepAll,
        Timestamp::parse(NOW).unwrap(),
    );
    assert_eq!(
        verification.policy().expect("a policy").digest,
        policy.digest()
    );
    lines.push(verification.to_json_line().unwrap());
    lines.push("this line is not a record".into());
    let mut out = lines.join("\n");
    out.push_str("\n{\"record\":\"decision\",\"id\":\"dec_");
    std::fs::write(&log, out).unwrap();
    log
}

#[test]
fn replay_under_the_recorded_policy_finds_determinism_bugs() {
    let dir = scratch("replay_same");
    let log = mixed_log(&dir);
    let (code, out, _) = run(&["replay", log.to_str().unwrap(), "--policy", V1]);
    assert_eq!(code, 1, "a determinism bug and a corrupt record: {out}");
    insta::assert_snapshot!(normalize(&out, &dir));
}

#[test]
fn replay_under_another_policy_tells_what_would_change() {
    let dir = scratch("replay_other");
    let log = mixed_log(&dir);
    let (code, out, _) = run(&["replay", log.to_str().unwrap(), "--policy", V2]);
    assert_eq!(code, 1, "the corrupt record still fails: {out}");
    insta::assert_snapshot!(normalize(&out, &dir));
}

#[test]
fn replay_as_json() {
    let dir = scratch("replay_json");
    let log = mixed_log(&dir);
    let (code, out, _) = run(&[
        "replay",
        log.to_str().unwrap(),
        "--policy",
        V2,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    let s = &report["summary"];
    assert_eq!(
        (
            s["decisions"].as_u64(),
            s["changed"].as_u64(),
            s["unchanged"].as_u64()
        ),
        (Some(7), Some(3), Some(2))
    );
    assert_eq!(s["digest_mismatches"], 1);
    assert_eq!(s["cannot_replay"], 1);
    assert_eq!(s["verifications"], 1);
    assert_eq!(s["bad_lines"], 1);
    assert_eq!(s["torn_tail"], true);
    assert_eq!(report["torn_tail"]["line"], 10);
    assert_eq!(
        report["transitions"],
        json!([{"from": "auto", "to": "explicit", "count": 2}])
    );
    let records = report["records"].as_array().unwrap();
    let lines: Vec<u64> = records
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(
        lines,
        [3, 4, 5, 6, 7, 8],
        "unchanged records are only counted"
    );
    let changed = &records[0];
    assert_eq!(changed["status"], "changed");
    assert_eq!(
        (changed["then"].as_str(), changed["now"].as_str()),
        (Some("auto"), Some("explicit"))
    );
    assert_eq!(changed["replayed"]["policy"]["version"], "1.1.0");
}

#[test]
fn replay_needs_a_policy_and_a_readable_log() {
    let (code, _, err) = run(&["replay", "whatever.jsonl"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["replay", "no/such/log.jsonl", "-p", V1]);
    assert_eq!(code, 3);
    assert!(err.contains("cannot read the audit log"), "{err}");
}

#[test]
fn a_policy_loaded_from_another_path_replays_identically() {
    let dir = scratch("other_path");
    let log = dir.join("audit.jsonl");
    let (code, _, _) = run(&[
        "eval",
        "-p",
        V1,
        "--jsonl",
        "--now",
        NOW,
        "--audit-log",
        log.to_str().unwrap(),
        ACTIONS,
    ]);
    assert_eq!(code, 0);
    let elsewhere = dir.join("policy");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::copy(
        Path::new(V1).join("refunds.gate"),
        elsewhere.join("refunds.gate"),
    )
    .unwrap();
    let (code, out, _) = run(&[
        "replay",
        log.to_str().unwrap(),
        "-p",
        elsewhere.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("6 identical, 0 determinism bugs"), "{out}");
    // rule locations carry file names only: nothing differs, not even paths
    assert!(!out.contains("apart from the directory"), "{out}");
}

/// The crash test: the real binary streams decisions into the log and is
/// killed mid-stream (three times, into the same log). Every complete
/// record is intact and re-evaluates identically; a torn tail, if the kill
/// landed inside a write, is reported and repaired by the next writer.
#[test]
fn killing_the_writer_mid_stream_leaves_every_complete_record_intact() {
    let dir = scratch("crash");
    let log = dir.join("audit.jsonl");
    let policy = Policy::load(V1).unwrap();
    let actions: Vec<String> = std::fs::read_to_string(ACTIONS)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let kills = 3;
    let mut printed: Vec<String> = Vec::new();
    for round in 0..kills {
        let before = read_log(&log).map(|c| c.records.len()).unwrap_or(0);
        let mut child = Process::new(env!("CARGO_BIN_EXE_gatehouse"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("GATEHOUSE_POLICY")
            .args(["eval", "-p", V1, "--jsonl", "--audit-log"])
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let lines = actions.clone();
        // far more actions than are decided before the kill
        let feeder = std::thread::spawn(move || {
            for i in 0..1_000_000usize {
                let line = &lines[i % lines.len()];
                if writeln!(stdin, "{line}").is_err() {
                    break;
                }
            }
        });
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            out
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let target = before + 200 + round * 50;
        loop {
            let n = std::fs::read(&log)
                .map(|b| b.iter().filter(|c| **c == b'\n').count())
                .unwrap_or(0);
            if n >= target || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "killed mid-stream, not finished");
        feeder.join().unwrap();
        let out = reader.join().unwrap();
        // only complete lines: the kill may cut the output too
        let text = String::from_utf8_lossy(&out);
        let complete = text.rsplit_once('\n').map_or("", |(done, _)| done);
        printed.extend(complete.lines().filter(|l| !l.is_empty()).map(unversioned));
    }

    let contents = read_log(&log).unwrap();
    let records = decisions(&contents);
    eprintln!(
        "{} records, {} decisions printed, {} bad lines, torn tail: {:?}",
        records.len(),
        printed.len(),
        contents.bad_lines.len(),
        contents.torn_tail
    );
    assert!(records.len() >= 200, "{} records", records.len());
    // a torn line can only be where a writer was killed
    assert!(contents.bad_lines.len() + usize::from(contents.torn_tail.is_some()) <= kills);
    for bad in &contents.bad_lines {
        assert!(bad.error.starts_with("malformed JSON"), "{bad:?}");
    }
    for r in &records {
        assert!(r.has_full_input());
        assert_eq!(
            replay_decision(&policy, r),
            ReplayResult::Identical,
            "record {} is intact",
            r.id
        );
    }
    // whatever was printed was recorded first, in the same order
    let recorded: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(&r.decision).unwrap())
        .collect();
    let mut at = 0;
    for line in &printed {
        let found = recorded[at..].iter().position(|r| r == line);
        assert!(
            found.is_some(),
            "a printed decision without its record: {line}"
        );
        at += found.unwrap() + 1;
    }
}

/// The deterministic crash: a partial line written on purpose.
#[test]
fn a_torn_last_line_is_reported_and_the_next_append_starts_a_new_line() {
    let dir = scratch("torn");
    let log = dir.join("audit.jsonl");
    let policy = Policy::load(V1).unwrap();
    let options = gatehouse::EvalOptions::default();
    let time = Timestamp::parse(NOW).unwrap();
    let record = |amount: u32| {
        let input = json!({"action": {"type": "refund", "amount": amount},
                           "requester": {"id": "u-1"}, "agent": {"owner": "u-2"}});
        let d = policy.evaluate_with(&input, &options);
        AuditRecord::decision(&d, Some(&input), &options, &Redaction::KeepAll, time)
    };
    let (a, b, c) = (record(10), record(2000), record(30000));
    let mut writer = AuditLog::open(&log).unwrap();
    writer.append(&a).unwrap();
    writer.append(&b).unwrap();
    drop(writer);
    // the first 100 bytes of a third record, as a crash mid-write leaves them
    let line = c.to_json_line().unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(&line.as_bytes()[..100])
        .unwrap();

    let contents = read_log(&log).unwrap();
    assert_eq!(contents.records.len(), 2);
    assert_eq!(contents.records[0].record, a);
    assert_eq!(contents.records[1].record, b);
    assert!(contents.bad_lines.is_empty());
    let torn = contents.torn_tail.expect("the torn tail is reported");
    assert_eq!((torn.line, torn.bytes), (3, 100));

    // the streaming reader sees the same, entry by entry
    let entries: Vec<LogEntry> = LogReader::open(&log)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(matches!(entries.last(), Some(LogEntry::TornTail(_))));

    // the next writer ends the torn line first: the new record is intact
    AuditLog::append_to(&log, &c).unwrap();
    let contents = read_log(&log).unwrap();
    assert_eq!(contents.records.len(), 3);
    assert_eq!(contents.records[2].record, c);
    assert_eq!(contents.records[2].line, 4);
    assert!(contents.torn_tail.is_none());
    assert_eq!(contents.bad_lines.len(), 1);
    assert_eq!(contents.bad_lines[0].line, 3);

    let mut replayer = Replayer::new(&policy);
    for e in LogReader::open(&log).unwrap() {
        replayer.push(e.unwrap());
    }
    let report = replayer.finish();
    assert_eq!(report.summary.identical, 3);
    assert!(!report.has_failures());
}

#[test]
fn concurrent_writers_never_interleave_within_a_line() {
    let dir = scratch("concurrent");
    let log = dir.join("audit.jsonl");
    let policy = Policy::load(V1).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let (log, policy) = (&log, &policy);
            s.spawn(move || {
                let mut writer = AuditLog::open(log).unwrap();
                for i in 0..50u32 {
                    let input = json!({"action": {"type": "refund", "amount": t * 1000 + i},
                                       "requester": {"id": "u-1"}, "agent": {"owner": "u-2"}});
                    let d = policy.evaluate(&input);
                    let r = AuditRecord::decision(
                        &d,
                        Some(&input),
                        &gatehouse::EvalOptions::default(),
                        &Redaction::KeepAll,
                        Timestamp::now_utc(),
                    );
                    writer.append(&r).unwrap();
                }
            });
        }
    });
    let contents = read_log(&log).unwrap();
    assert_eq!(contents.records.len(), 200);
    assert!(contents.bad_lines.is_empty() && contents.torn_tail.is_none());
    let reader = BufReader::new(std::fs::File::open(&log).unwrap());
    assert_eq!(reader.lines().count(), 200);
}

#[test]
fn docs_describe_every_record_field_and_replay_count() {
    // the record chapter of the book, and docs/schemas.md for the format field
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/audit-records.md"
    ))
    .unwrap()
        + &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schemas.md"))
            .unwrap();
    let dir = scratch("docs");
    let log = mixed_log(&dir);
    let contents = read_log(&log).unwrap();
    let mut kinds = 0;
    for r in &contents.records {
        let v = serde_json::to_value(&r.record).unwrap();
        for key in v.as_object().unwrap().keys() {
            assert!(
                docs.contains(&format!("| `{key}` |")),
                "docs/audit-records.md: `{key}`"
            );
        }
        kinds |= if matches!(r.record, AuditRecord::Decision(_)) {
            1
        } else {
            2
        };
    }
    assert_eq!(kinds, 3, "both kinds of record were checked");
    let (_, out, _) = run(&[
        "replay",
        log.to_str().unwrap(),
        "-p",
        V1,
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&out).unwrap();
    for key in report["summary"].as_object().unwrap().keys() {
        assert!(
            docs.contains(&format!("`{key}`")),
            "docs/audit-records.md: summary `{key}`"
        );
    }
}

#[test]
fn strict_evaluations_replay_strictly() {
    let dir = scratch("strict");
    let log = dir.join("audit.jsonl");
    let input = dir.join("extra.json");
    std::fs::write(
        &input,
        r#"{"action": {"type": "read", "note": "undeclared"}, "requester": {"id": "u"}, "agent": {"owner": "o"}}"#,
    )
    .unwrap();
    let (code, out, _) = run(&[
        "eval",
        "-p",
        V1,
        "--strict",
        "--audit-log",
        log.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("rejected by --strict"));
    let contents = read_log(&log).unwrap();
    assert!(decisions(&contents)[0].options.strict);
    let (code, out, _) = run(&["replay", log.to_str().unwrap(), "-p", V1]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 identical, 0 determinism bugs"), "{out}");
}
