//! Criterion benchmark of the decision JSON that `eval --jsonl` writes:
//! `Verdict::write_json` (src/eval/render_json.rs, serialized straight from
//! the verdict) against serde_json serializing the owned `Decision`
//! (`Verdict::to_decision`, then `serde_json::to_writer`), over the corpus
//! of benches/scale.rs (1 000 generated actions, decided beforehand).
//!
//! `json_decider.*` time the whole wire path from JSON text (decoding and
//! the action digest included): `JsonDecider::write_json` and the owned
//! `JsonDecider::decide`.
//!
//! Run: `cargo bench --bench render`.

mod common;

use common::*;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatehouse::{EvalOptions, Policy};
use serde_json::Value;

const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn benches(c: &mut Criterion) {
    let policy = Policy::from_source("matrix.gate", policy_text(0)).expect("the matrix compiles");
    let texts: Vec<String> = corpus(0).iter().map(Value::to_string).collect();
    let inputs: Vec<gatehouse::Input<'_>> = texts
        .iter()
        .map(|t| policy.decode_json(t).expect("fits"))
        .collect();
    let options = EvalOptions::default();
    let mut verdict = policy.verdict();
    let mut out = Vec::with_capacity(4096);
    // Both paths write the same bytes (tests/alloc.rs holds them to it).
    for input in &inputs {
        verdict.decide(input);
        out.clear();
        verdict
            .write_json(input, &options, Some(DIGEST), &mut out)
            .expect("writes");
        let mut d = verdict.to_decision(input, &options);
        d.set_action_digest(Some(DIGEST.to_owned()), &options);
        assert_eq!(out, serde_json::to_vec(&d).expect("serializes"));
    }

    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(CORPUS as u64));
    let id = |name: &str| BenchmarkId::new(name, CORPUS);
    group.bench_function(id("write_json"), |b| {
        b.iter(|| {
            for input in &inputs {
                verdict.decide(input);
                out.clear();
                let _ = verdict.write_json(input, &options, Some(DIGEST), &mut out);
                black_box(out.len());
            }
        })
    });
    group.bench_function(id("to_decision+serde_json"), |b| {
        b.iter(|| {
            for input in &inputs {
                verdict.decide(input);
                out.clear();
                let mut d = verdict.to_decision(input, &options);
                d.set_action_digest(Some(DIGEST.to_owned()), &options);
                let _ = serde_json::to_writer(&mut out, &d);
                black_box(out.len());
            }
        })
    });
    // Issue 19's path: JSON text in, the decision with its action digest
    // written out (decode + digest + decide + write).
    let mut decider = policy.json_decider(options);
    group.bench_function(id("json_decider.write_json"), |b| {
        b.iter(|| {
            for text in &texts {
                out.clear();
                black_box(decider.write_json(text, &mut out));
            }
        })
    });
    group.bench_function(id("json_decider.decide"), |b| {
        b.iter(|| {
            for text in &texts {
                black_box(decider.decide(text));
            }
        })
    });
    // The floor both include: deciding alone.
    group.bench_function(id("decide"), |b| {
        b.iter(|| {
            for input in &inputs {
                black_box(verdict.decide(input).outcome());
            }
        })
    });
    group.finish();
}

criterion_group!(render_benches, benches);
criterion_main!(render_benches);
