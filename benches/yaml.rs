//! Criterion benchmarks of refusing pathological YAML (issue 12, promise
//! 5): 800 KB of nested flow collections, mixed, and block-nested mappings
//! are refused by the linear pre-scan (`input::check_yaml_nesting`) before
//! the YAML parser sees them; before it, the parser ran for minutes. Also an
//! 800 KB quoted string of brackets, which is accepted (the pre-scan must
//! not count inside quotes) and so measures the parser too.
//!
//! Run: `cargo bench --bench yaml`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gatehouse::input::{Syntax, parse};

const SIZE: usize = 800 * 1024;

fn block_nested() -> String {
    let mut text = String::new();
    let mut level = 0;
    while text.len() < SIZE {
        text.push_str(&" ".repeat(level));
        text.push_str("k:\n");
        level += 1;
    }
    text
}

fn benches(c: &mut Criterion) {
    let cases = [
        ("flow_sequences", format!("x: {}", "[".repeat(SIZE)), false),
        ("flow_mappings", "{".repeat(SIZE), false),
        ("mixed", "[{a: ".repeat(SIZE / 5), false),
        ("block_nested", block_nested(), false),
        (
            "quoted_brackets",
            format!("x: \"{}\"\n", "[".repeat(SIZE)),
            true,
        ),
    ];
    let mut group = c.benchmark_group("yaml_refusal");
    for (name, text, accepted) in &cases {
        assert_eq!(parse(text, Syntax::Yaml).is_ok(), *accepted, "{name}");
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| parse(black_box(text), Syntax::Yaml).is_ok())
        });
    }
    group.finish();
}

criterion_group!(yaml, benches);
criterion_main!(yaml);
