//! Criterion benchmarks of the rule index (src/compile/index.rs) on the
//! policies of benches/scale.rs: the peers harness's 15-rule matrix, alone
//! and with generated rules (`action.target == "sys:<k>"`), over the same
//! deterministic corpus of 1 000 actions (one in ten aimed at a generated
//! rule).
//!
//! - `index/build/matrix/<rules>`: building the index of a checked set.
//! - `index/candidates/matrix/<rules>`: `RuleIndex::candidates` for every
//!   action of the corpus (divide by 1 000 for one decision), `out` reused.
//! - `index/linear/../<rules>` and `index/indexed/../<rules>`: finding the
//!   rules whose `when` holds, by testing every rule, or by testing the
//!   candidates of an index built whatever the size (no
//!   `MIN_INDEXED_RULES`). Also for small policies: the matrix's first 1, 4
//!   and 8 rules, and `spread` (each rule tests its own enum attribute, the
//!   index's worst shape). These set `MIN_INDEXED_RULES`.
//!
//! Run: `cargo bench --bench index`.

mod common;

use common::*;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatehouse::compile::index::RuleIndex;
use gatehouse::compile::{Program, compile};
use gatehouse::eval::decode::{Slot, decode};
use gatehouse::source::SourceFile;
use serde_json::{Value, json};

/// Parsed, checked and compiled, through the public stages, keeping the
/// first `keep` rules.
fn program(text: &str, keep: usize) -> Program {
    let file = SourceFile::new("matrix.gate", text);
    let ast = gatehouse::syntax::parse(&file).expect("the policy parses");
    let (mut set, _warnings) = gatehouse::check::check(vec![ast]).expect("the policy checks");
    set.rules.truncate(keep);
    compile(set)
}

/// `n` rules, each testing its own enum attribute (`x.e<i> == a`), and a
/// corpus of random values: the index's worst shape, one rule per lookup.
fn spread(n: usize) -> (Program, Vec<Value>) {
    let mut text = String::from("policy \"spread\" version \"1\"\nschema {\n");
    for i in 0..n {
        text.push_str(&format!("  x.e{i}: enum {{ a, b, c, d }}\n"));
    }
    text.push_str("}\ntier 0 \"none\" { outcome auto }\n");
    for i in 0..n {
        text.push_str(&format!("rule r{i} when x.e{i} == a then tier 0\n"));
    }
    let mut rng = Lcg(7);
    let inputs = (0..CORPUS)
        .map(|_| {
            let x: serde_json::Map<String, Value> = (0..n)
                .map(|i| (format!("e{i}"), json!(rng.pick(&["a", "b", "c", "d"]))))
                .collect();
            json!({ "x": x })
        })
        .collect();
    (program(&text, usize::MAX), inputs)
}

fn decoded<'a>(program: &Program, inputs: &'a [Value]) -> Vec<Vec<Slot<'a>>> {
    inputs
        .iter()
        .map(|v| {
            decode(&program.set, &program.decoder, v, false)
                .expect("the corpus fits the schema")
                .slots
        })
        .collect()
}

/// Rules whose `when` holds, testing every rule: today's evaluator.
fn linear(program: &Program, slots: &[Slot<'_>]) -> usize {
    program
        .set
        .rules
        .iter()
        .filter(|r| gatehouse::__bench::holds(&r.when, slots))
        .count()
}

/// Rules whose `when` holds, testing the candidates only.
fn indexed(program: &Program, index: &RuleIndex, slots: &[Slot<'_>], out: &mut Vec<u32>) -> usize {
    index.candidates(slots, out);
    out.iter()
        .filter(|&&i| {
            program
                .set
                .rules
                .get(i as usize)
                .is_some_and(|r| gatehouse::__bench::holds(&r.when, slots))
        })
        .count()
}

/// One policy and corpus: `build` and `candidates` with the index as
/// compiled, `linear` and `indexed` with an index of every rule.
fn bench_case(c: &mut Criterion, name: &str, program: &Program, inputs: &[Value], all: bool) {
    let rules = program.set.rules.len();
    let slots = decoded(program, inputs);
    let forced = RuleIndex::build_with(&program.set, 0);
    let mut out = Vec::with_capacity(rules);
    for s in &slots {
        assert_eq!(
            linear(program, s),
            indexed(program, &forced, s, &mut out),
            "the index finds every rule that holds"
        );
    }
    let id = |what: &str| BenchmarkId::new(format!("{what}/{name}"), rules);
    let mut group = c.benchmark_group("index");
    group.sample_size(20);
    if all {
        group.bench_function(id("build"), |b| {
            b.iter(|| RuleIndex::build(black_box(&program.set)))
        });
    }
    group.throughput(Throughput::Elements(inputs.len() as u64));
    if all {
        group.bench_function(id("candidates"), |b| {
            b.iter(|| {
                for s in &slots {
                    program.index.candidates(black_box(s), &mut out);
                    black_box(&out);
                }
            })
        });
    }
    group.bench_function(id("linear"), |b| {
        b.iter(|| {
            for s in &slots {
                black_box(linear(program, black_box(s)));
            }
        })
    });
    group.bench_function(id("indexed"), |b| {
        b.iter(|| {
            for s in &slots {
                black_box(indexed(program, &forced, black_box(s), &mut out));
            }
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    // The policies of benches/scale.rs, and the matrix with 17 more rules.
    for extra in [0, 1_000, 10_000, 17] {
        let program = program(&policy_text(extra), usize::MAX);
        bench_case(c, "matrix", &program, &corpus(extra), extra != 17);
    }
    // Small policies, for `MIN_INDEXED_RULES`: the matrix's first rules, and
    // the one-rule-per-attribute shape.
    let matrix = policy_text(0);
    for keep in [1, 4, 8] {
        bench_case(c, "matrix", &program(&matrix, keep), &corpus(0), false);
    }
    for n in [4, 8, 15, 32] {
        let (program, inputs) = spread(n);
        bench_case(c, "spread", &program, &inputs, false);
    }
}

criterion_group!(index_benches, benches);
criterion_main!(index_benches);
