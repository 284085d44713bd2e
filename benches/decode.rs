//! Criterion benchmarks of reading an action from JSON text, over the scale
//! corpus (benches/scale.rs: the peers' 15-rule matrix, 1 000 generated
//! actions of about 350 bytes): the slow path (serde_json `Value`, then
//! `decode::decode`; with and without the reader's structural check) against
//! serde_json's visitors driven by the schema (`decode_json`), and the
//! hand-written one-pass reader (`wire`), alone, followed by the decision,
//! and with the action digest (`wire+digest`, what
//! `Policy::decode_json_digest` runs, against `two_pass`: `decode_json`
//! then `action_digest_text`, what it ran before).
//!
//! The decoders are crate-internal; they are reached through the hidden
//! `gatehouse::__bench` re-export. Run: `cargo bench --bench decode`. Each
//! iteration reads the whole corpus: divide the time by 1 000 for one input.

mod common;

use common::*;

use std::hint::black_box;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatehouse::audit::digest_text::{DigestScratch, push_action_digest_text};
use gatehouse::input::{Syntax, parse};
use gatehouse::{__bench, EvalOptions, Policy};
use serde_json::Value;

fn benches(c: &mut Criterion) {
    let policy = Policy::from_source("matrix.gate", MATRIX).expect("the matrix compiles");
    let texts: Vec<String> = corpus(0).iter().map(Value::to_string).collect();
    let options = EvalOptions::default();
    for t in &texts {
        let v = parse(t, Syntax::Json).expect("the corpus is valid JSON");
        let slow = __bench::slow(&policy, &v, false).expect("the corpus fits the schema");
        let fast = __bench::fast(&policy, t, false).expect("the fast path decodes the corpus");
        assert_eq!(fast.slots, slow.slots);
        assert_eq!(fast.evidence, slow.evidence);
        let wire = __bench::wire(&policy, t, false).expect("the reader decodes the corpus");
        assert_eq!(wire.slots, slow.slots);
        assert_eq!(wire.evidence, slow.evidence);
    }
    let mut scratch = DigestScratch::new();
    let mut digest = String::new();
    let bytes: usize = texts.iter().map(String::len).sum();
    eprintln!(
        "corpus: {CORPUS} inputs, {} bytes on average",
        bytes / CORPUS
    );

    // The machine may be shared: besides criterion's statistics, print the
    // fastest of many passes over the corpus (scheduling noise only ever
    // adds time), per input.
    if std::env::var_os("DECODE_FLOOR").is_some() {
        let floor = |name: &str, f: &dyn Fn(&str)| {
            let mut best = f64::MAX;
            for _ in 0..300 {
                let start = Instant::now();
                for t in &texts {
                    f(black_box(t));
                }
                best = best.min(start.elapsed().as_secs_f64());
            }
            eprintln!(
                "{name:>22}: {:6.0} ns per input (fastest pass)",
                best * 1e9 / CORPUS as f64
            );
        };
        floor("ignored_any", &|t| {
            black_box(serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok());
        });
        floor("value+decode", &|t| {
            let v: Value = serde_json::from_str(t).expect("valid");
            black_box(__bench::slow(&policy, &v, false).is_ok());
        });
        floor("parse+decode", &|t| {
            let v = parse(t, Syntax::Json).expect("valid");
            black_box(__bench::slow(&policy, &v, false).is_ok());
        });
        floor("decode_json", &|t| {
            black_box(__bench::fast(&policy, t, false).is_some());
        });
        floor("wire", &|t| {
            black_box(__bench::wire(&policy, t, false).is_some());
        });
        floor("decode_json+decide", &|t| {
            let d = __bench::fast(&policy, t, false).expect("decoded");
            black_box(__bench::decide(&policy, &d, &options));
        });
        floor("evaluate_json", &|t| {
            black_box(policy.evaluate_json(t));
        });
    }

    let mut group = c.benchmark_group("decode");
    group.sample_size(30);
    group.throughput(Throughput::Elements(CORPUS as u64));
    let id = |name: &str| BenchmarkId::new(name, CORPUS);
    // The floor: serde_json reading the text into nothing.
    group.bench_with_input(id("ignored_any"), &texts, |b, texts| {
        b.iter(|| {
            for t in texts {
                black_box(serde_json::from_str::<serde::de::IgnoredAny>(black_box(t)).is_ok());
            }
        })
    });
    group.bench_with_input(id("value+decode"), &texts, |b, texts| {
        b.iter(|| {
            for t in texts {
                let v: Value = serde_json::from_str(black_box(t)).expect("valid");
                black_box(__bench::slow(&policy, &v, false).is_ok());
            }
        })
    });
    group.bench_with_input(id("parse+decode"), &texts, |b, texts| {
        b.iter(|| {
            for t in texts {
                let v = parse(black_box(t), Syntax::Json).expect("valid");
                black_box(__bench::slow(&policy, &v, false).is_ok());
            }
        })
    });
    group.bench_with_input(id("decode_json"), &texts, |b, texts| {
        b.iter(|| {
            for t in texts {
                black_box(__bench::fast(&policy, black_box(t), false).is_some());
            }
        })
    });
    group.bench_with_input(id("wire"), &texts, |b, texts| {
        b.iter(|| {
            for t in texts {
                black_box(__bench::wire(&policy, black_box(t), false).is_some());
            }
        })
    });
    // JSON text -> slots + action digest: before (two passes) and now.
    group.bench_with_input(id("two_pass"), &texts, |b, texts| {
        b.iter(|| {
            for t in texts {
                digest.clear();
                black_box(__bench::fast(&policy, black_box(t), false).is_some());
                push_action_digest_text(t, &mut scratch, &mut digest);
                black_box(&digest);
            }
        })
    });
    group.bench_with_input(id("wire+digest"), &texts, |b, texts| {
        b.iter(|| {
            for t in texts {
                digest.clear();
                let d =
                    __bench::wire_digest(&policy, black_box(t), false, &mut scratch, &mut digest);
                black_box(d.is_some());
                black_box(&digest);
            }
        })
    });
    group.bench_with_input(id("parse+decode+decide"), &texts, |b, texts| {
        b.iter(|| {
            for t in texts {
                let v = parse(black_box(t), Syntax::Json).expect("valid");
                let d = __bench::slow(&policy, &v, false).expect("fits");
                black_box(__bench::decide(&policy, &d, &options));
            }
        })
    });
    group.bench_with_input(id("decode_json+decide"), &texts, |b, texts| {
        b.iter(|| {
            for t in texts {
                let d = __bench::fast(&policy, black_box(t), false).expect("decoded");
                black_box(__bench::decide(&policy, &d, &options));
            }
        })
    });
    group.bench_with_input(id("wire+decide"), &texts, |b, texts| {
        b.iter(|| {
            for t in texts {
                let d = __bench::wire(&policy, black_box(t), false).expect("decoded");
                black_box(__bench::decide(&policy, &d, &options));
            }
        })
    });
    group.bench_with_input(id("evaluate_json"), &texts, |b, texts| {
        b.iter(|| {
            for t in texts {
                black_box(policy.evaluate_json(black_box(t)));
            }
        })
    });
    group.finish();
}

criterion_group!(decode, benches);
criterion_main!(decode);
