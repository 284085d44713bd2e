//! A driver for instruction counts of the wire-to-answer path
//! (docs/performance.md, "Round two"): decides the scale corpus
//! (benches/common, the peers' 15-rule matrix plus `extra` generated rules)
//! three times through `JsonDecider::write_json`, then three times through
//! `decode_json` + `Verdict::decide`, each pass in a function of its own so
//! that callgrind can count one of them:
//!
//! ```sh
//! cargo build --release -p gatehouse-engine --example profile_json_decider
//! valgrind --tool=callgrind --toggle-collect='profile_json_decider::write_pass' \
//!     target/release/examples/profile_json_decider 0
//! callgrind_annotate --inclusive=yes callgrind.out.*   # divide by 3 000
//! ```

#[path = "../../../benches/common/mod.rs"]
mod common;

use gatehouse::{EvalOptions, JsonDecider, Policy, Verdict};

/// One pass of `JsonDecider::write_json` over the texts.
#[inline(never)]
fn write_pass(decider: &mut JsonDecider<'_>, texts: &[String], out: &mut Vec<u8>) -> usize {
    let mut bytes = 0;
    for text in texts {
        out.clear();
        decider.write_json(text, out);
        bytes += out.len();
    }
    bytes
}

/// One pass of `decode_json` and `Verdict::decide` over the texts.
#[inline(never)]
fn verdict_pass(policy: &Policy, verdict: &mut Verdict<'_>, texts: &[String]) -> usize {
    let mut sum = 0;
    for text in texts {
        if let Ok(input) = policy.decode_json(text) {
            sum += verdict.decide(&input).outcome() as usize;
        }
    }
    sum
}

fn main() {
    let extra: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let Ok(policy) = Policy::from_source("matrix.gate", common::policy_text(extra)) else {
        eprintln!("the matrix does not compile");
        std::process::exit(2);
    };
    let texts: Vec<String> = common::corpus(extra)
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut decider = policy.json_decider(EvalOptions::default());
    let mut verdict = policy.verdict();
    let mut out = Vec::with_capacity(4096);
    let mut check = 0;
    for _ in 0..3 {
        check += write_pass(&mut decider, &texts, &mut out);
        check += verdict_pass(&policy, &mut verdict, &texts);
    }
    let mean = texts.iter().map(String::len).sum::<usize>() / texts.len().max(1);
    println!(
        "{} inputs of {mean} bytes on average (checksum {check})",
        texts.len()
    );
}
