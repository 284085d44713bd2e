//! Criterion benchmarks: compile the shipped policy sets, evaluate their
//! sample actions from a decoded `serde_json::Value`, and from JSON text.
//!
//! Run: `cargo bench --bench evaluate` (docs/performance.md has figures).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse::Policy;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.json` sample under `dir` that parses, as (name, text, value).
/// `refund-large` (the README's sample) is put first when present.
fn samples(dir: &Path) -> Vec<(String, String, serde_json::Value)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.extension().is_some_and(|e| e == "json")
            && let Ok(text) = std::fs::read_to_string(&p)
            && let Ok(v) = serde_json::from_str(&text)
        {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, text, v));
        }
    }
    if let Some(i) = out.iter().position(|(n, _, _)| n == "refund-large") {
        let refund = out.remove(i);
        out.insert(0, refund);
    }
    out
}

fn benches(c: &mut Criterion) {
    let sets = [
        (
            "ai-agent-actions",
            root().join("policies/ai-agent-actions"),
            root().join("examples/actions"),
        ),
        (
            "simple-router",
            root().join("policies/simple-router"),
            root().join("examples/router"),
        ),
    ];
    for (name, policy_dir, sample_dir) in sets {
        let Ok(policy) = Policy::load(&policy_dir) else {
            eprintln!("skipping {name}: the policy does not load");
            continue;
        };
        c.bench_function(&format!("compile/{name}"), |b| {
            b.iter(|| Policy::load(black_box(&policy_dir)).map(|p| p.digest().len()))
        });
        let inputs = samples(&sample_dir);
        if inputs.is_empty() {
            continue;
        }
        let mut group = c.benchmark_group(format!("evaluate/{name}"));
        // One representative action, for a per-decision figure.
        if let Some((sample, text, value)) = inputs.first() {
            group.bench_function(format!("decoded-value/{sample}"), |b| {
                b.iter(|| policy.evaluate(black_box(value)))
            });
            group.bench_function(format!("json-text/{sample}"), |b| {
                b.iter(|| {
                    let v: serde_json::Value =
                        serde_json::from_str(black_box(text)).unwrap_or_default();
                    policy.evaluate(&v)
                })
            });
        }
        group.bench_function("decoded-value (all samples)", |b| {
            b.iter(|| {
                for (_, _, v) in &inputs {
                    black_box(policy.evaluate(black_box(v)));
                }
            })
        });
        group.bench_function("json-text (all samples)", |b| {
            b.iter(|| {
                for (_, text, _) in &inputs {
                    let v: serde_json::Value =
                        serde_json::from_str(black_box(text)).unwrap_or_default();
                    black_box(policy.evaluate(&v));
                }
            })
        });
        group.finish();
        println!("{name}: {} samples per iteration", inputs.len());
    }
}

criterion_group!(gatehouse_benches, benches);
criterion_main!(gatehouse_benches);
