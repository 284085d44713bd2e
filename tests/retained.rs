//! The heap a compiled policy keeps (issue 19), counted by a counting global
//! allocator (`stats_alloc`, as in tests/alloc.rs): the peers' 15-rule
//! matrix alone and with 1 000 and 10 000 generated `target == "sys:<k>"`
//! rules (benches/common). The policy's source text is made before counting
//! starts and moved in, so the figures are what compiling adds to it.
//!
//! Prints the bytes per generated rule (docs/performance.md quotes them) and
//! fails when the 10 015-rule policy keeps more than twice what it kept when
//! this test was written, so a regression in the compiled size is caught.
//!
//! Runs without the test harness (`harness = false` in Cargo.toml): one
//! thread, so no other test's allocations are counted.

#[path = "../benches/common/mod.rs"]
mod common;

use std::alloc::System;

use gatehouse::Policy;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes the 10 015-rule policy kept when this test was written (see the
/// output of `cargo test --test retained`), times two.
const BOUND_10_015: usize = 2 * 6_200_000;

/// Live bytes a compiled policy holds beyond its source text.
fn retained(extra: usize) -> (usize, usize) {
    let text = common::policy_text(extra);
    let text_len = text.len();
    let region = Region::new(GLOBAL);
    let policy = Policy::from_source("matrix.gate", text).expect("the matrix compiles");
    let stats = region.change();
    // `stats_alloc` counts a reallocation's growth in `bytes_allocated`
    // and its shrinking in `bytes_deallocated` already.
    let live = stats
        .bytes_allocated
        .saturating_sub(stats.bytes_deallocated);
    drop(policy);
    (live, text_len)
}

fn main() {
    let mut sizes = Vec::new();
    for extra in [0, 1_000, 10_000] {
        let (live, text) = retained(extra);
        println!(
            "retained: {} rules keep {live} bytes of heap beyond their {text}-byte source",
            15 + extra
        );
        sizes.push(live);
    }
    let (Some(&small), Some(&large)) = (sizes.first(), sizes.last()) else {
        unreachable!("three sizes were measured")
    };
    println!(
        "retained: {} bytes per generated rule (10 015 against 15 rules)",
        (large - small) / 10_000
    );
    assert!(
        large <= BOUND_10_015,
        "the 10 015-rule policy keeps {large} bytes; the bound is {BOUND_10_015}"
    );
}
