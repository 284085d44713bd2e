//! `gatehouse eval --jsonl` end to end: the release binary deciding a file
//! of JSON lines against the shipped matrix (`policies/ai-agent-actions`),
//! output to a sink. The lines are the sample actions of
//! `examples/actions/` (all but the deliberately invalid one), compacted,
//! with the amount varied, repeated to `LINES` lines.
//!
//! Run: `cargo bench --bench jsonl` (docs/performance.md). Throughput is
//! reported in decisions per second (criterion's `elem/s`).

use std::hint::black_box;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

const LINES: usize = 200_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample actions, compacted; the invalid sample is left out so the
/// bench times decisions, not refusals.
fn samples() -> Vec<Value> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("examples/actions"))
        .expect("examples/actions")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| !p.ends_with("invalid-input.json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).expect("reads")).expect("JSON"))
        .collect()
}

fn corpus() -> PathBuf {
    let path = std::env::temp_dir().join(format!("gatehouse-bench-{LINES}.jsonl"));
    let samples = samples();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("creates"));
    for i in 0..LINES {
        let mut v = samples[i % samples.len()].clone();
        if let Some(amount) = v.pointer_mut("/action/amount") {
            *amount = Value::from((i * 7_919) % 200_000);
        }
        serde_json::to_writer(&mut out, &v).expect("writes");
        out.write_all(b"\n").expect("writes");
    }
    out.flush().expect("flushes");
    path
}

fn benches(c: &mut Criterion) {
    let input = corpus();
    let policy = root().join("policies/ai-agent-actions");
    let mut group = c.benchmark_group("jsonl");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("eval-jsonl-ai-agent-actions", |b| {
        b.iter(|| {
            let status = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
                .args(["eval", "--jsonl", "--policy"])
                .arg(&policy)
                .arg(&input)
                .stdout(Stdio::null())
                .status()
                .expect("runs");
            black_box(status.code())
        })
    });
    group.finish();
    let _ = std::fs::remove_file(&input);
}

criterion_group!(jsonl_benches, benches);
criterion_main!(jsonl_benches);
