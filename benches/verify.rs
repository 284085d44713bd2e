//! Criterion benchmarks of `Policy::verify` against the number of approval
//! records: 10, 1 000 and 100 000 (`MAX_APPROVALS`), for three shapes:
//!
//! - `dual`: `approve sec and change` with distinct people and roles, every
//!   record eligible, from distinct people;
//! - `wide`: the issue-12 shape, "6 of a, b" plus an added `c` nobody holds
//!   (the old backtracking took 26 s at 24 records): pending, so the matcher
//!   must prove no better filling exists;
//! - `repeat`: the same few people approving over and over with look-alike
//!   spellings (normalization and folding records into people).
//!
//! Run: `cargo bench --bench verify`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatehouse::Policy;
use gatehouse::audit::verify::{Approval, ApprovalKind, Verdict, VerifyOptions};
use gatehouse::values::Timestamp;
use serde_json::{Value, json};

const POLICY: &str = r#"policy "bench" version "1"
schema {
  action.type: enum { deploy, wide }
  requester.id: string
}
role a
role b
role c
role sec
role change
reason R "r"
tier 0 "none" { outcome auto }
tier 4 "prod" {
  outcome dual
  approve sec and change
  timeout 4h then reject
  forbid approval by requester.id
  distinct people, roles
}
tier 5 "wide" { outcome explicit  approve 6 of a, b }
rule deploy when action.type == deploy then tier 4 because R
rule wide when action.type == wide then tier 5, approve c because R
default tier 0 because R
"#;

const SIZES: [usize; 3] = [10, 1_000, 100_000];

fn approval(who: String, role: &str, digest: &str) -> Approval {
    Approval {
        approver: who,
        roles: vec![role.to_owned()],
        decision: ApprovalKind::Approve,
        reason: Some("checked the change".into()),
        action_digest: Some(digest.to_owned()),
        action_digests: Vec::new(),
        given_at: "2026-11-22T09:30:00Z".into(),
        expires_at: None,
    }
}

fn shape(p: &Policy, name: &str, n: usize) -> (Value, Vec<Approval>, Verdict) {
    let kind = if name == "wide" { "wide" } else { "deploy" };
    let input = json!({"action": {"type": kind}, "requester": {"id": "alice"}});
    let digest = p.evaluate(&input).action_digest.unwrap_or_default();
    let approvals: Vec<Approval> = (0..n)
        .map(|i| match name {
            "dual" => approval(format!("p{i}"), ["sec", "change"][i % 2], &digest),
            "wide" => approval(format!("p{i}"), ["a", "b"][i % 2], &digest),
            _ => {
                let spelling = ["kim", "Kim", "\u{FF4B}im", "lee", "LEE\u{200D}"][i % 5];
                approval(spelling.to_owned(), ["sec", "change"][i % 2], &digest)
            }
        })
        .collect();
    let expected = if name == "wide" {
        Verdict::Pending
    } else {
        Verdict::Execute
    };
    (input, approvals, expected)
}

fn benches(c: &mut Criterion) {
    let p = Policy::from_source("bench.gate", POLICY).expect("the bench policy compiles");
    let options = VerifyOptions::new(Timestamp::parse("2026-11-22T10:00:00Z").expect("time"))
        .with_requested_at(Timestamp::parse("2026-11-22T09:00:00Z"));
    for name in ["dual", "wide", "repeat"] {
        let mut group = c.benchmark_group(format!("verify-{name}"));
        group.sample_size(10);
        for n in SIZES {
            let (input, approvals, expected) = shape(&p, name, n);
            assert_eq!(p.verify(&input, &approvals, &options).verdict, expected);
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &approvals, |b, a| {
                b.iter(|| black_box(p.verify(black_box(&input), black_box(a), &options)))
            });
        }
        group.finish();
    }
}

criterion_group!(verify_benches, benches);
criterion_main!(verify_benches);
