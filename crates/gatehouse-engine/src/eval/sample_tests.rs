//! `sample N% for review`: which share applies, the draw, its published
//! test vectors, convergence to the stated share, and that every path that
//! decides writes the same `sample`.

use serde_json::json;

use super::sample::{is_sampled, sample_draw, sampled};
use crate::Policy;
use crate::eval::{Decision, DocumentFormat, EvalOptions, Outcome, write_document};

const POLICY: &str = r#"policy "s" version "1"
schema { action.amount: number  action.kind: enum { note, refund, wire }  action.flag: bool? }
role lead
reason SMALL "small"
reason NOTE "note"
reason WIRE "wire"
tier 0 "none" { outcome auto  sample 1% for review }
tier 1 "low" { outcome auto  sample 5% for review }
tier 2 "money" { outcome explicit  approve lead  sample 50% for review }
rule small when action.amount < 100 then tier 1, sample 10% for review because SMALL
rule note when action.kind == note then tier 0, sample 10% for review because NOTE
rule wire when action.kind == wire then tier 2 because WIRE
rule flagged when action.flag then sample 100% for review
default tier 0
"#;

fn policy() -> Policy {
    Policy::from_source("s.gate", POLICY).unwrap()
}

const KEY: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31,
];

/// The vectors published in docs/decisions.md ("Sampled review"): each
/// digest is `sha256:` + SHA-256 of `gatehouse sample vector N`, the key is
/// the bytes 0x00..0x1f; a second implementation checks itself here.
const VECTORS: [(&str, u64, u64); 3] = [
    (
        "sha256:a445d7ec360e8d852fd68775268808b000309fccd772fb39358df3e6b2d647f8",
        5_272_656_316_303_697_502,
        12_149_950_033_121_171_374,
    ),
    (
        "sha256:39a37aca49d7672afafe01c637291c0346a13db04fb3db375bf981442deb59e7",
        7_593_768_001_334_297_202,
        667_220_261_921_302_647,
    ),
    (
        "sha256:888594d8246356c3c6986ba50a19a961e8f22b00eed670bb2e40bb723ac81c68",
        33_491_961_651_581_549,
        5_839_415_849_258_739_181,
    ),
];

#[test]
fn published_vectors() {
    let sampled_at_5 = [(false, false), (false, true), (true, false)];
    for ((digest, no_key, with_key), (s_plain, s_key)) in VECTORS.iter().zip(sampled_at_5) {
        assert_eq!(sample_draw(None, digest), *no_key, "{digest}");
        assert_eq!(sample_draw(Some(&KEY), digest), *with_key, "{digest}");
        assert_eq!(is_sampled(50_000, *no_key), s_plain, "{digest}");
        assert_eq!(is_sampled(50_000, *with_key), s_key, "{digest}");
    }
    // the threshold at 5%: 50 000 * 2^64 / 10^6 = 922 337 203 685 477 580.8
    assert!(is_sampled(50_000, 922_337_203_685_477_580));
    assert!(!is_sampled(50_000, 922_337_203_685_477_581));
    assert!(is_sampled(1_000_000, u64::MAX));
    assert!(!is_sampled(0, 0));
}

/// 20 000 distinct actions land within 6 standard deviations of the share
/// (deterministic: the digests are those of fixed documents).
#[test]
fn the_sampled_share_converges() {
    let n = 20_000u32;
    let digests: Vec<String> = (0..n)
        .map(|i| crate::audit::digest::action_digest(&json!({"action": {"n": i}})))
        .collect();
    for ppm in [50_000u32, 5_000] {
        for key in [None, Some(&KEY)] {
            let hits = digests
                .iter()
                .filter(|d| is_sampled(ppm, sample_draw(key, d)))
                .count() as f64;
            let p = f64::from(ppm) / 1e6;
            let mean = f64::from(n) * p;
            let sigma = (f64::from(n) * p * (1.0 - p)).sqrt();
            assert!(
                (hits - mean).abs() <= 6.0 * sigma,
                "{hits} sampled of {n} at {p}, expected {mean} ± {}",
                6.0 * sigma
            );
        }
    }
}

fn decide(p: &Policy, input: serde_json::Value, options: &EvalOptions) -> Decision {
    let d = p.evaluate_with(&input, options);
    // every path gives the same decision
    let text = input.to_string();
    assert_eq!(p.evaluate_json_with(&text, options), d, "evaluate_json");
    assert_eq!(p.try_evaluate(&input, options).unwrap(), d, "try_evaluate");
    let decoded = p.decode_json(&text).unwrap();
    let mut verdict = p.verdict();
    verdict.decide(&decoded);
    let mut fast = Vec::new();
    verdict
        .write_json(&decoded, options, d.action_digest.as_deref(), &mut fast)
        .unwrap();
    let mut slow = Vec::new();
    write_document(&mut slow, &DocumentFormat::DECISION, &d, false).unwrap();
    assert_eq!(
        String::from_utf8(fast).unwrap(),
        String::from_utf8(slow).unwrap(),
        "write_json"
    );
    assert_eq!(
        verdict.sampled(options, d.action_digest.as_deref()),
        d.sample.as_ref().map(|s| s.sampled)
    );
    d
}

#[test]
fn the_highest_share_applies_ties_to_the_tier_then_the_first_rule() {
    let p = policy();
    let o = EvalOptions::default();
    // tier 1 (5%) raised by the rule's 10%
    let d = decide(&p, json!({"action": {"amount": 5, "kind": "refund"}}), &o);
    let s = d.sample.unwrap();
    assert_eq!(
        (s.rate.as_str(), s.ppm, s.rule.as_deref(), s.tier),
        ("10%", 100_000, Some("small"), Some(1))
    );
    // two rules at 10%: the first in source order
    let d = decide(&p, json!({"action": {"amount": 5, "kind": "note"}}), &o);
    assert_eq!(d.sample.unwrap().rule.as_deref(), Some("small"));
    // the default's tier 0 (1%): the tier's own share
    let d = decide(&p, json!({"action": {"amount": 500, "kind": "refund"}}), &o);
    let s = d.sample.unwrap();
    assert_eq!((s.rate.as_str(), s.rule, s.tier), ("1%", None, Some(0)));
    // 100% always samples, with the reason naming rate and rule
    let d = decide(
        &p,
        json!({"action": {"amount": 500, "kind": "refund", "flag": true}}),
        &o,
    );
    let s = d.sample.clone().unwrap();
    assert!(s.sampled);
    assert_eq!(s.rule.as_deref(), Some("flagged"));
    let r = d.reasons.last().unwrap();
    assert_eq!(r.code, "SAMPLED_FOR_REVIEW");
    assert!(
        r.message.contains("100%") && r.message.contains("rule flagged"),
        "{}",
        r.message
    );
}

#[test]
fn only_auto_decisions_are_sampled() {
    let p = policy();
    let d = decide(
        &p,
        json!({"action": {"amount": 5, "kind": "wire", "flag": true}}),
        &EvalOptions::default(),
    );
    assert_eq!(d.outcome, Outcome::Explicit);
    assert_eq!(d.sample, None);
    assert!(!d.has_reason("SAMPLED_FOR_REVIEW"));
    let json = serde_json::to_value(&d).unwrap();
    assert!(json.get("sample").is_none());
}

#[test]
fn sample_changes_nothing_else_and_the_key_changes_the_draw() {
    let p = policy();
    let plain = EvalOptions::default();
    let keyed = EvalOptions::default().with_sample_key(Some(KEY));
    let mut differ = 0;
    for i in 0..400 {
        let input = json!({"action": {"amount": 5 + i, "kind": "refund"}});
        let a = decide(&p, input.clone(), &plain);
        let b = decide(&p, input, &keyed);
        let (sa, sb) = (a.sample.clone().unwrap(), b.sample.clone().unwrap());
        assert_eq!(
            sa.sampled,
            sampled(sa.ppm, None, a.action_digest.as_deref())
        );
        assert_eq!(
            sb.sampled,
            sampled(sb.ppm, Some(&KEY), b.action_digest.as_deref())
        );
        assert_eq!(a.has_reason("SAMPLED_FOR_REVIEW"), sa.sampled);
        differ += usize::from(sa.sampled != sb.sampled);
        let strip = |mut d: Decision| {
            d.sample = None;
            d.reasons.retain(|r| r.code != "SAMPLED_FOR_REVIEW");
            d
        };
        assert_eq!(strip(a), strip(b));
    }
    assert!(differ > 0, "the key never changed a draw in 400 actions");
}

#[test]
fn the_key_is_not_in_debug_output() {
    let text = format!(
        "{:?}",
        EvalOptions::default().with_sample_key(Some([0xab; 32]))
    );
    assert!(
        !text.contains("171") && !text.to_lowercase().contains("ab, ab"),
        "{text}"
    );
    assert!(text.contains("redacted"));
}

#[test]
fn without_a_digest_the_action_is_sampled() {
    let p = policy();
    let input = p
        .decode_json(r#"{"action": {"amount": 500, "kind": "refund"}}"#)
        .unwrap();
    let mut v = p.verdict();
    v.decide(&input);
    let d = v.to_decision(&input, &EvalOptions::default());
    assert!(d.sample.unwrap().sampled);
    assert_eq!(v.sampled(&EvalOptions::default(), None), Some(true));
}

/// A recorded sampled decision replays identically with its key; with its
/// `sample` edited or dropped it is a difference, and without the key it
/// is one exactly where the two draws disagree.
#[test]
fn replay_reproduces_sample_and_flags_an_edited_one() {
    use crate::audit::record::AuditRecord;
    use crate::audit::redact::Redaction;
    use crate::audit::replay::{ReplayResult, replay_decision_with};
    use crate::values::Timestamp;
    let p = policy();
    let keyed = EvalOptions::default().with_sample_key(Some(KEY));
    let time = Timestamp::parse("2026-12-05T00:00:00Z").unwrap();
    for i in 0..40 {
        let input = json!({"action": {"amount": 1000 + i, "kind": "refund", "flag": i % 2 == 0}});
        let d = p.evaluate_with(&input, &keyed);
        let AuditRecord::Decision(record) =
            AuditRecord::decision(&d, Some(&input), &keyed, &Redaction::KeepAll, time)
        else {
            panic!("a decision record");
        };
        assert_eq!(
            replay_decision_with(&p, &record, Some(KEY)),
            ReplayResult::Identical
        );
        // without the key the draw is another one: identical only when
        // both draws agree
        let plain = p.evaluate_with(&input, &EvalOptions::default());
        assert_eq!(
            replay_decision_with(&p, &record, None) == ReplayResult::Identical,
            plain.sample == d.sample
        );
        for edit in [
            |s: &mut serde_json::Value| s["sampled"] = json!(!s["sampled"].as_bool().unwrap()),
            |s: &mut serde_json::Value| s["rate"] = json!("99%"),
            |s: &mut serde_json::Value| s["rule"] = json!("no_such_rule"),
        ] {
            let mut edited = record.clone();
            edit(&mut edited.decision["sample"]);
            assert_ne!(
                replay_decision_with(&p, &edited, Some(KEY)),
                ReplayResult::Identical
            );
        }
        let mut dropped = record.clone();
        dropped.decision.as_object_mut().unwrap().remove("sample");
        assert_ne!(
            replay_decision_with(&p, &dropped, Some(KEY)),
            ReplayResult::Identical
        );
    }
}

/// A role or evidence named `sample` compiled before sampling existed and
/// still does: `sample` starts a clause only when a share follows it, also
/// right after a comma-separated list of roles.
#[test]
fn a_role_or_evidence_named_sample_still_compiles() {
    let source = r#"policy "s" version "1"
schema { action.kind: enum { a, b, c } }
evidence { sample }
role sample
role lead
tier 0 "none" { outcome auto }
tier 1 "held" { outcome explicit  approve sample  evidence sample }
tier 2 "two" { outcome dual  approve 2 of lead, sample }
rule held when action.kind == a then tier 1, approve lead or sample, evidence sample
rule two when action.kind == b then tier 2, approve 2 of lead, sample, sample 5% for review
rule auto when action.kind == c then tier 0, sample 100% for review
default tier 0
"#;
    let p = Policy::from_source("s.gate", source).unwrap_or_else(|e| panic!("{e:?}"));
    let d = decide(
        &p,
        json!({"action": {"kind": "c"}}),
        &EvalOptions::default(),
    );
    let s = d.sample.expect("a sample clause after a role named sample");
    assert_eq!((s.ppm, s.rule.as_deref()), (1_000_000, Some("auto")));
    // The list `lead, sample` ended before `sample 5% for review`, which
    // is the rule's clause (ineffective on a dual tier: no sample).
    let d = decide(
        &p,
        json!({"action": {"kind": "b"}}),
        &EvalOptions::default(),
    );
    assert_eq!((d.outcome, d.sample), (Outcome::Dual, None));
    let held = json!({"action": {"kind": "a"}, "evidence": {"sample": "s"}});
    let d = decide(&p, held, &EvalOptions::default());
    assert_eq!(d.outcome, Outcome::Explicit);
    let roles: Vec<&str> = d
        .approvals
        .iter()
        .flat_map(|a| a.groups.iter())
        .flat_map(|g| g.roles.iter().map(|r| r.name.as_str()))
        .collect();
    assert!(roles.contains(&"sample"), "{roles:?}");
}
