//! Criterion benchmarks of how cost grows with the rule count: the peers
//! harness's 15-rule matrix (benches/peers/policies/matrix.gate) alone and
//! with 1 000 and 10 000 generated rules (`target == "sys:<k>"`, the shape
//! the comparison uses), compiled, and evaluated over a
//! deterministic corpus of 1 000 generated actions (one in ten aimed at a
//! generated rule), from decoded values and from JSON text.
//!
//! Run: `cargo bench --bench scale` (docs/performance.md).

mod common;

use common::*;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatehouse::{EvalOptions, Policy};
use serde_json::Value;

fn benches(c: &mut Criterion) {
    for extra in [0, 1_000, 10_000] {
        let rules = 15 + extra;
        let text = policy_text(extra);
        let policy = Policy::from_source("matrix.gate", text.clone()).expect("the matrix compiles");
        let inputs = corpus(extra);
        let texts: Vec<String> = inputs.iter().map(Value::to_string).collect();
        assert!(
            inputs
                .iter()
                .all(|v| policy.evaluate(v).input_errors.is_empty()),
            "the generated corpus fits the schema"
        );

        let mut group = c.benchmark_group("scale");
        group.sample_size(10);
        group.bench_with_input(BenchmarkId::new("compile", rules), &text, |b, text| {
            b.iter(|| {
                Policy::from_source("matrix.gate", black_box(text.as_str()))
                    .map(|p| p.digest().len())
            })
        });
        group.throughput(Throughput::Elements(CORPUS as u64));
        // The allocation-free core: inputs decoded once, one reused verdict.
        let decoded: Vec<gatehouse::Input<'_>> = inputs
            .iter()
            .map(|v| policy.decode(v, &EvalOptions::default()).expect("fits"))
            .collect();
        let mut verdict = policy.verdict();
        group.bench_with_input(BenchmarkId::new("verdict", rules), &decoded, |b, inputs| {
            b.iter(|| {
                for input in inputs {
                    black_box(verdict.decide(black_box(input)).outcome());
                }
            })
        });
        // JSON text -> typed slots -> verdict: the wire-to-answer path.
        group.bench_with_input(
            BenchmarkId::new("json-verdict", rules),
            &texts,
            |b, texts| {
                b.iter(|| {
                    for t in texts {
                        if let Ok(input) = policy.decode_json(black_box(t)) {
                            black_box(verdict.decide(&input).outcome());
                        }
                    }
                })
            },
        );
        // The owned decision, with names, messages and the action digest.
        group.bench_with_input(
            BenchmarkId::new("decoded-value", rules),
            &inputs,
            |b, inputs| {
                b.iter(|| {
                    for v in inputs {
                        black_box(policy.evaluate(black_box(v)));
                    }
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("json-text", rules), &texts, |b, texts| {
            b.iter(|| {
                for t in texts {
                    black_box(policy.evaluate_json(black_box(t)));
                }
            })
        });
        group.finish();
    }
}

criterion_group!(scale_benches, benches);
criterion_main!(scale_benches);
