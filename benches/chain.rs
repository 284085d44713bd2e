//! Criterion benchmarks of the chained audit log: append throughput (with
//! the fsync every real append does, without it, and reopening the log for
//! every record as `gatehouse eval` does per run), and chain-verify
//! throughput over a 100 000-record log (`gatehouse audit verify`, which
//! also reads every record whole).
//!
//! Run: `cargo bench --bench chain`. The logs are written under
//! `target/` (about 100 MB for the verify log).

use std::hint::black_box;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gatehouse::audit::chain::ChainStatus;
use gatehouse::audit::log::{AuditLog, LogReader};
use gatehouse::audit::record::AuditRecord;
use gatehouse::audit::redact::Redaction;
use gatehouse::values::Timestamp;
use gatehouse::{EvalOptions, Policy};
use serde_json::{Value, json};

const VERIFY_RECORDS: usize = 100_000;

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-chain");
    std::fs::create_dir_all(&d).expect("bench dir");
    d
}

/// Decision records of the refunds fixture, amounts varied.
fn records(n: usize) -> Vec<AuditRecord> {
    let p =
        Policy::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit/refunds-v1"))
            .expect("fixture compiles");
    let now = Timestamp::parse("2026-11-22T09:00:00Z").expect("time");
    let options = EvalOptions::default()
        .with_now(Some(now))
        .with_strict(false);
    (0..n)
        .map(|i| {
            let input: Value = json!({"action": {"type": "refund", "amount": (i % 5000) as u64},
                "requester": {"id": format!("u-{}", i % 97)}, "agent": {"owner": "u-2001"},
                "evidence": {"impact_estimate": "one order"}});
            let d = p.evaluate_with(&input, &options);
            AuditRecord::decision(&d, Some(&input), &options, &Redaction::KeepAll, now)
        })
        .collect()
}

fn verify(path: &Path) -> usize {
    let file = std::fs::File::open(path).expect("log");
    let mut reader = LogReader::new(BufReader::with_capacity(1 << 16, file));
    for e in &mut reader {
        black_box(e.expect("reads"));
    }
    let report = reader.finish();
    assert_eq!(report.status, ChainStatus::Intact);
    report.records
}

fn benches(c: &mut Criterion) {
    let sample = records(1_000);
    let line_bytes = sample[0].to_json_line().expect("json").len();
    eprintln!("record line: about {line_bytes} bytes");

    let mut group = c.benchmark_group("chain-append");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    for (name, sync) in [("append (fsync)", true), ("append (no fsync)", false)] {
        let path = dir().join(format!("append-{sync}.jsonl"));
        let _ = std::fs::remove_file(&path);
        let mut log = AuditLog::open(&path).expect("open");
        if !sync {
            log = log.without_fsync();
        }
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % sample.len();
                log.append(black_box(&sample[i])).expect("append");
            })
        });
    }
    // a new writer per record (as one `gatehouse eval` run): the last
    // record is found by reading the log backwards, not from a cache
    let path = dir().join("append-reopen.jsonl");
    let _ = std::fs::remove_file(&path);
    let mut i = 0;
    group.bench_function("open+append (no fsync)", |b| {
        b.iter(|| {
            i = (i + 1) % sample.len();
            let mut log = AuditLog::open(&path).expect("open").without_fsync();
            log.append(black_box(&sample[i])).expect("append");
        })
    });
    group.finish();

    let path = dir().join("verify-100k.jsonl");
    let _ = std::fs::remove_file(&path);
    {
        let mut log = AuditLog::open(&path).expect("open").without_fsync();
        for i in 0..VERIFY_RECORDS {
            log.append(&sample[i % sample.len()]).expect("append");
        }
    }
    assert_eq!(verify(&path), VERIFY_RECORDS);
    let mut group = c.benchmark_group("chain-verify");
    group.throughput(Throughput::Elements(VERIFY_RECORDS as u64));
    group.sample_size(10);
    group.bench_function("verify 100k records", |b| b.iter(|| verify(&path)));
    group.finish();
}

criterion_group!(chain, benches);
criterion_main!(chain);
