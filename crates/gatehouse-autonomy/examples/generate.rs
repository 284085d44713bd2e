//! Writes a generated service audit history with planted rates to stdout
//! (the performance measurement in docs/autonomy.md):
//! `cargo run --release -p gatehouse-autonomy --example generate -- SEED RULES MIN MAX > history.jsonl`.

#[path = "../tests/support/history.rs"]
mod history;

use std::io::Write as _;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (seed, rules, min, max) = match args.as_slice() {
        [s, r, a, b] => (*s, *r as usize, *a, *b),
        _ => (1, 30, 50, 5000),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    history::generate(seed, rules, (min, max), |line| {
        failed |= writeln!(out, "{line}").is_err();
    });
    if failed || out.flush().is_err() {
        std::process::exit(101);
    }
}
