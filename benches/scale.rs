//! Criterion benchmarks of how cost grows with the rule count: the peers
//! harness's 15-rule matrix (benches/peers/policies/matrix.gate) alone and
//! with 1 000 and 10 000 generated rules (`target == "sys:<k>"`, the shape
//! the comparison uses), compiled, and evaluated over a
//! deterministic corpus of 1 000 generated actions (one in ten aimed at a
//! generated rule), from decoded values and from JSON text.
//!
//! Run: `cargo bench --bench scale` (README, "Performance").

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatehouse::{EvalOptions, Policy};
use serde_json::{Value, json};

const MATRIX: &str = include_str!("peers/policies/matrix.gate");
const CORPUS: usize = 1_000;

fn policy_text(extra: usize) -> String {
    let mut text = String::from(MATRIX);
    for k in 0..extra {
        text.push_str(&format!(
            "reason SYS_{k} \"access to system {k}\"\n\
             rule sys_{k} when action.target == \"sys:{k}\" then tier 3 because SYS_{k}\n"
        ));
    }
    text
}

/// A fixed-seed linear congruential generator: the same corpus every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next(from.len() as u64) as usize]
    }
}

fn corpus(extra: usize) -> Vec<Value> {
    let mut rng = Lcg(0x5ca1e);
    (0..CORPUS)
        .map(|_| {
            let target = if extra > 0 && rng.next(10) == 0 {
                format!("sys:{}", rng.next(extra as u64))
            } else {
                rng.pick(&["crm", "billing", "prod/api", "staging/web", "iam/roles", "docs"])
                    .to_owned()
            };
            let mut action = json!({
                "type": rng.pick(&["read", "summarize", "draft", "send", "update", "delete", "refund", "pay", "deploy"]),
                "scope": rng.pick(&["internal", "external"]),
                "target": target,
                "data_classes": [rng.pick(&["public", "internal", "pii", "financial"])],
            });
            if rng.next(4) > 0 {
                action["amount"] = json!(rng.next(150_000));
            }
            let mut input = json!({
                "action": action,
                "model": { "confidence": rng.next(101) },
                "change_window": { "open": rng.next(2) == 0 },
                "requester": { "id": "u-1" },
                "agent": { "owner": "u-2" },
            });
            if rng.next(3) > 0 {
                input["evidence"] = json!({ "impact_estimate": "x", "rollback_plan": "y" });
            }
            input
        })
        .collect()
}

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
