//! The deterministic input corpus: a fixed-seed LCG, no `rand`.
//!
//! Every input is valid for every engine: no `null` (Cedar has none), whole
//! numbers only (Cedar's plain JSON context has 64-bit integers and no
//! decimals), evidence either absent, `""` or non-blank text (Cedar cannot
//! trim, so whitespace-only strings are left out). The draws are spread so
//! that each of the 15 rules, EVIDENCE_MISSING and NO_RULE_MATCHED occur on
//! a good share of the inputs, and amounts hit every threshold exactly.

use serde_json::{Map, Value, json};

/// The seed of the corpus. Change it and every figure changes a little.
pub const SEED: u64 = 0x6761_7465_686f_7573; // "gatehous"

/// `sys:<k>` targets are drawn with `k < SYS_RANGE`: with 1 000 extra rules
/// about 1 in 35 inputs hits one, with 10 000 about 1 in 4.
pub const SYS_RANGE: u64 = 12_000;

/// Knuth's MMIX LCG; the high bits are the good ones.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const TYPES: &[&str] = &[
    "read",
    "read",
    "summarize",
    "draft",
    "send",
    "send",
    "update",
    "delete",
    "refund",
    "refund",
    "refund",
    "pay",
    "deploy",
];
const AMOUNTS_AT_THRESHOLDS: &[i64] = &[
    0, 1, 99, 100, 101, 999, 1000, 1001, 9999, 10_000, 10_001, 99_999, 100_000, 100_001, 250_000,
];
const CLASSES: &[&str] = &["public", "internal", "pii", "phi", "financial"];
const PLAIN_TARGETS: &[&str] = &[
    "crm:accounts",
    "crm:tickets",
    "wiki:handbook",
    "payments:eu",
    "email:outbound",
    "repo:gatehouse",
    "production:notes", // not "prod:": a prefix test must not match it
    "iam",              // no colon: not "iam:"
];

/// One input document.
pub fn input(rng: &mut Lcg, i: usize) -> Value {
    let kind = *rng.pick(TYPES);
    let scope = if rng.chance(50) {
        "internal"
    } else {
        "external"
    };
    let target = match rng.below(100) {
        0..=17 => format!("prod:{}", *rng.pick(&["db", "api", "queue", "config"])),
        18..=27 => format!("iam:role-{}", rng.below(50)),
        28..=57 => format!("sys:{}", rng.below(SYS_RANGE)),
        _ => rng.pick(PLAIN_TARGETS).to_string(),
    };
    let mut action = Map::new();
    action.insert("type".into(), json!(kind));
    action.insert("scope".into(), json!(scope));
    action.insert("target".into(), json!(target));
    // A quarter have no amount (AMOUNT_MISSING for refunds and payments).
    if !rng.chance(25) {
        let amount = if rng.chance(35) {
            *rng.pick(AMOUNTS_AT_THRESHOLDS)
        } else {
            match rng.below(4) {
                0 => rng.below(1_000) as i64,
                1 => rng.below(12_000) as i64,
                2 => rng.below(120_000) as i64,
                _ => rng.below(300_000) as i64,
            }
        };
        action.insert("amount".into(), json!(amount));
    }
    let classes: Vec<&str> = CLASSES.iter().copied().filter(|_| rng.chance(18)).collect();
    action.insert("data_classes".into(), json!(classes));
    if rng.chance(50) {
        action.insert("summary".into(), json!(format!("proposed action #{i}")));
    }

    let mut doc = Map::new();
    doc.insert("action".into(), Value::Object(action));
    // Mostly confident models; about a fifth below 70 percent.
    let confidence = if rng.chance(20) {
        rng.below(70)
    } else if rng.chance(10) {
        *rng.pick(&[69, 70, 71])
    } else {
        70 + rng.below(31)
    };
    doc.insert("model".into(), json!({ "confidence": confidence }));
    if !rng.chance(30) {
        doc.insert("change_window".into(), json!({ "open": rng.chance(50) }));
    }
    doc.insert(
        "requester".into(),
        json!({ "id": format!("user-{}", rng.below(500)) }),
    );
    doc.insert(
        "agent".into(),
        json!({ "owner": format!("owner-{}", rng.below(40)) }),
    );
    if !rng.chance(20) {
        let mut ev = Map::new();
        for field in ["impact_estimate", "rollback_plan", "source_citation"] {
            match rng.below(100) {
                0..=29 => {}
                30..=44 => {
                    ev.insert(field.into(), json!(""));
                }
                _ => {
                    ev.insert(field.into(), json!(format!("{field} for #{i}")));
                }
            }
        }
        doc.insert("evidence".into(), Value::Object(ev));
    }
    Value::Object(doc)
}

/// The first `n` inputs of the corpus (a prefix of the full corpus for any
/// `n`), as decoded values and as compact JSON text.
pub fn generate(n: usize) -> (Vec<Value>, Vec<String>) {
    let mut rng = Lcg::new(SEED);
    let values: Vec<Value> = (0..n).map(|i| input(&mut rng, i)).collect();
    let texts = values
        .iter()
        .map(|v| serde_json::to_string(v).expect("a corpus input serializes"))
        .collect();
    (values, texts)
}
