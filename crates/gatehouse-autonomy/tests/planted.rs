//! Generated histories with planted rejection rates: the report counts
//! exactly what was emitted, finds the planted zero-rate rules that have
//! enough cases, never proposes one whose bound exceeds the threshold, and
//! names the auto rules whose samples were rejected.

mod support;

use gatehouse_autonomy::{BoundMethod, Dimension, Ingest, LessReason, Options, Report, stats};
use proptest::prelude::*;
use support::history::{History, history};

fn report(h: &History, options: Options) -> Report {
    let mut ingest = Ingest::new(options);
    for line in &h.lines {
        ingest.push_line(line.as_bytes());
    }
    ingest.finish()
}

fn check(h: &History, method: BoundMethod) -> Report {
    let mut options = Options::default();
    options.method = method;
    let r = report(h, options.clone());
    assert_eq!(r.input.malformed, 0);
    assert_eq!(
        r.input.requests,
        h.rules.iter().map(|p| p.volume).sum::<u64>()
    );
    for p in &h.rules {
        let g = r
            .rules
            .iter()
            .find(|g| g.key == p.name)
            .expect("every rule reported");
        // The counts are what the generator emitted, not estimates.
        assert_eq!(g.counts.volume, p.volume, "{}", p.name);
        assert_eq!(g.counts.human_decided, p.decided, "{}", p.name);
        assert_eq!(g.counts.overridden(), p.overridden, "{}", p.name);
        assert_eq!(g.counts.sample_rejected, p.sample_rejected, "{}", p.name);
        let more = r
            .candidates
            .more
            .iter()
            .any(|c| c.dimension == Dimension::Rule && c.key == p.name);
        let (_, upper) = stats::interval(method, p.overridden, p.decided, options.confidence);
        // Never proposed above the threshold; always proposed below it when
        // held with enough cases (the rule is exactly the definition).
        let qualifies =
            p.held && p.decided >= options.min_cases && upper <= options.max_rejection_rate;
        assert_eq!(
            more, qualifies,
            "{} p={} {}/{} upper={upper}",
            p.name, p.p, p.overridden, p.decided
        );
        // A planted zero rate with enough cases is always found.
        if p.held && p.p == 0.0 && p.decided >= 200 {
            assert!(
                more,
                "{} planted 0 with {} cases not proposed",
                p.name, p.decided
            );
        }
        // A planted 5% or 20% rule is never proposed with enough cases.
        if p.p >= 0.05 && p.decided >= 300 {
            assert!(!more, "{} planted {} proposed", p.name, p.p);
        }
        let less = r
            .candidates
            .less
            .iter()
            .find(|c| c.dimension == Dimension::Rule && c.key == p.name);
        if !p.held && p.sample_rejected > 0 {
            let c = less.expect("an auto rule with a rejected sample is a less-candidate");
            assert_eq!(c.reason, LessReason::SampleRejected);
            assert!(!c.evidence.is_empty());
        }
    }
    r
}

#[test]
fn thirty_rules_planted_rates() {
    // 30 rules of 50 to 2000 actions (about 110 000 lines): enough cases
    // for the zero and low rates to be told apart, small enough for CI.
    let h = history(18, 30, (50, 2000));
    let r = check(&h, BoundMethod::ClopperPearson);
    // The seed plants zero-rate held rules with enough cases: some are found.
    assert!(
        r.candidates
            .more
            .iter()
            .any(|c| c.dimension == Dimension::Rule)
    );
    assert!(
        r.candidates
            .less
            .iter()
            .any(|c| c.reason == LessReason::RejectionRate)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]
    #[test]
    fn never_proposes_above_the_bound(seed in any::<u64>()) {
        let h = history(seed, 12, (50, 800));
        check(&h, BoundMethod::ClopperPearson);
        check(&h, BoundMethod::Wilson);
    }
}

#[test]
fn the_same_history_gives_the_same_report() {
    // Read twice: the same JSON, byte for byte (no hash-map order leaks).
    let h = history(7, 6, (50, 200));
    let a = serde_json::to_string(&report(&h, Options::default())).unwrap();
    let b = serde_json::to_string(&report(&h, Options::default())).unwrap();
    assert_eq!(a, b);
}
