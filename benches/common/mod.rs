//! What the benches share: the peers' 15-rule matrix, its variants with
//! generated rules, and the deterministic corpus of actions they decide
//! (benches/scale.rs describes them). Each bench uses a part.
#![allow(
    dead_code,
    reason = "each bench includes this module and uses a part of it"
)]

use serde_json::{Value, json};

pub const MATRIX: &str = include_str!("../peers/policies/matrix.gate");

pub const CORPUS: usize = 1_000;

pub fn policy_text(extra: usize) -> String {
    let mut text = String::from(MATRIX);
    for k in 0..extra {
        text.push_str(&format!(
            "reason SYS_{k} \"access to system {k}\"\n\
             rule sys_{k} when action.target == \"sys:{k}\" then tier 3 because SYS_{k}\n"
        ));
    }
    text
}

/// A fixed-seed linear congruential generator: the same corpus every run.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    pub fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next(from.len() as u64) as usize]
    }
}

pub fn corpus(extra: usize) -> Vec<Value> {
    let mut rng = Lcg(0x5ca1e);
    (0..CORPUS)
        .map(|_| {
            let target = if extra > 0 && rng.next(10) == 0 {
                format!("sys:{}", rng.next(extra as u64))
            } else {
                rng.pick(&["crm", "billing", "prod/api", "staging/web", "iam/roles", "docs"])
                    .to_owned()
            };
            let mut action = json!({
                "type": rng.pick(&["read", "summarize", "draft", "send", "update", "delete", "refund", "pay", "deploy"]),
                "scope": rng.pick(&["internal", "external"]),
                "target": target,
                "data_classes": [rng.pick(&["public", "internal", "pii", "financial"])],
            });
            if rng.next(4) > 0 {
                action["amount"] = json!(rng.next(150_000));
            }
            let mut input = json!({
                "action": action,
                "model": { "confidence": rng.next(101) },
                "change_window": { "open": rng.next(2) == 0 },
                "requester": { "id": "u-1" },
                "agent": { "owner": "u-2" },
            });
            if rng.next(3) > 0 {
                input["evidence"] = json!({ "impact_estimate": "x", "rollback_plan": "y" });
            }
            input
        })
        .collect()
}
