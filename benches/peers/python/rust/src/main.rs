//! The Rust engine's own throughput on exactly the inputs the Python
//! benchmark decides, so `bench.py` can set Python's paths beside it in one
//! run (issue 16: Arrow batch evaluation within 2x of the Rust engine).
//!
//! Usage: `rust-baseline POLICY.gate CORPUS.jsonl PASSES MIN_MS`. It reads
//! the policy text and one compact JSON document per line (written by
//! `bench.py` from `corpus.py`), then times two loops on one thread, as
//! `benches/peers/src/main.rs` does:
//!
//! - `verdict`: `policy.decode_json(text)` then `verdict.decide(&input)`
//!   (the allocation-free core from JSON text);
//! - `decision`: `policy.evaluate_json(text)` (the owned `Decision` with
//!   names, messages and the action digest: what a binding must hand out).
//!
//! Each pass repeats the whole corpus until it has lasted `MIN_MS`; the
//! output is one JSON object per loop on stdout with every pass's
//! nanoseconds per decision and the outcome counts (a cross-check that it
//! decided what Python decided).

use std::hint::black_box;
use std::time::Instant;

use gatehouse::Policy;

fn passes(count: usize, min_ms: u64, n: usize, mut body: impl FnMut()) -> Vec<f64> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        let mut rounds = 0u64;
        loop {
            body();
            rounds += 1;
            if start.elapsed().as_millis() as u64 >= min_ms {
                break;
            }
        }
        out.push(start.elapsed().as_nanos() as f64 / (rounds as f64 * n as f64));
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: rust-baseline POLICY.gate CORPUS.jsonl PASSES MIN_MS");
        std::process::exit(2);
    }
    let source = std::fs::read_to_string(&args[1]).expect("the policy file reads");
    let corpus = std::fs::read_to_string(&args[2]).expect("the corpus file reads");
    let count: usize = args[3].parse().expect("PASSES is a number");
    let min_ms: u64 = args[4].parse().expect("MIN_MS is a number");
    let texts: Vec<&str> = corpus.lines().filter(|l| !l.is_empty()).collect();
    assert!(!texts.is_empty(), "the corpus is empty");
    let policy = match Policy::from_source("matrix.gate", source) {
        Ok(p) => p,
        Err(e) => panic!("the policy does not compile: {e:?}"),
    };

    // Outcome counts (auto..block), and a refusal check: every corpus
    // input must decode, or the timed loop would skip work.
    let mut counts = [0usize; 5];
    let mut verdict = policy.verdict();
    for t in &texts {
        let input = policy.decode_json(t).expect("every corpus input decodes");
        counts[verdict.decide(&input).outcome() as usize] += 1;
    }

    let n = texts.len();
    let v = passes(count, min_ms, n, || {
        for t in &texts {
            if let Ok(input) = policy.decode_json(black_box(t)) {
                black_box(verdict.decide(&input).outcome());
            }
        }
    });
    let d = passes(count, min_ms, n, || {
        for t in &texts {
            black_box(policy.evaluate_json(black_box(t)).outcome);
        }
    });
    let fmt = |xs: &[f64]| {
        xs.iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    println!(
        "{{\"inputs\":{n},\"outcomes\":[{}],\"verdict_ns\":[{}],\"decision_ns\":[{}]}}",
        counts.map(|c| c.to_string()).join(","),
        fmt(&v),
        fmt(&d)
    );
}
