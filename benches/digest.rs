//! Criterion benchmarks of the action digest: from JSON text the tree way
//! (`input::parse`, then `action_digest`) against straight from the text
//! (`digest_text::action_digest_text`), over the corpus of benches/scale.rs
//! (1 000 generated actions, ~300 bytes each) and a few single inputs.
//!
//! Run: `cargo bench --bench digest`.

mod common;

use common::*;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatehouse::audit::digest::action_digest;
use gatehouse::audit::digest_text::{DigestScratch, action_digest_text};
use gatehouse::input::{Syntax, parse};
use serde_json::Value;

/// Off the corpus's beaten path: decimals, an exponent, escapes, non-ASCII
/// and astral keys, deeper nesting.
const RICH: &str = r#"{"action": {"type": "refund", "amount": 1250.75, "fee": 1.5E2,
  "note": "line\nbreak \"quoted\" caf\u00e9", "tags": ["a", "b\t", "\ud83d\ude00"],
  "target": "billing/eu"}, "model": {"confidence": 0.93, "name": "m-7"},
  "\ufb01": 1, "😀": 2, "zé": {"x": [1, [2, [3, {"y": null, "w": true}]]]},
  "requester": {"id": "u-1", "groups": ["ops", "finance"]}}"#;

fn tree_digest(text: &str) -> Option<String> {
    parse(text, Syntax::Json).ok().map(|v| action_digest(&v))
}

fn benches(c: &mut Criterion) {
    let inputs = corpus(0);
    let texts: Vec<String> = inputs.iter().map(Value::to_string).collect();
    let mut scratch = DigestScratch::new();
    for t in texts.iter().map(String::as_str).chain([RICH]) {
        assert_eq!(
            Some(action_digest_text(t, &mut scratch)),
            tree_digest(t),
            "the two paths agree on {t}"
        );
    }

    let mut group = c.benchmark_group("digest-corpus");
    group.throughput(Throughput::Elements(CORPUS as u64));
    group.bench_function("parse+action_digest", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(tree_digest(black_box(t)));
            }
        })
    });
    // The tree part alone, from documents parsed beforehand.
    group.bench_function("action_digest(value)", |b| {
        b.iter(|| {
            for v in &inputs {
                black_box(action_digest(black_box(v)));
            }
        })
    });
    group.bench_function("action_digest_text", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(action_digest_text(black_box(t), &mut scratch));
            }
        })
    });
    group.finish();

    // Single inputs: the shortest, a median-length and the longest of the
    // corpus, and the rich document.
    let mut by_len: Vec<&str> = texts.iter().map(String::as_str).collect();
    by_len.sort_by_key(|t| t.len());
    let singles = [
        ("shortest", by_len[0]),
        ("median", by_len[by_len.len() / 2]),
        ("longest", by_len[by_len.len() - 1]),
        ("rich", RICH),
    ];
    let mut group = c.benchmark_group("digest-single");
    for (name, text) in singles {
        let id = format!("{name}-{}B", text.len());
        group.bench_with_input(
            BenchmarkId::new("parse+action_digest", &id),
            text,
            |b, t| b.iter(|| tree_digest(black_box(t))),
        );
        group.bench_with_input(BenchmarkId::new("action_digest_text", &id), text, |b, t| {
            b.iter(|| action_digest_text(black_box(t), &mut scratch))
        });
    }
    group.finish();
}

criterion_group!(digest_benches, benches);
criterion_main!(digest_benches);
