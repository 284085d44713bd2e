//! A seeded generator of service audit histories with planted rates, in
//! the format the gate writes (decision record, then `decide`, then
//! `queue` or `auto_approve`, then the people's answers), shared by the
//! tests and the `generate` example (the performance measurement).

#![allow(dead_code, reason = "each user takes what it needs")]

use std::fmt::Write as _;

/// splitmix64: small, seeded, the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The planted rejection probabilities, cycled over the rules.
pub const PLANTED: [f64; 5] = [0.0, 0.005, 0.01, 0.05, 0.20];

/// One generated rule and what was emitted for it.
#[derive(Clone, Debug, Default)]
pub struct Planted {
    pub name: String,
    pub p: f64,
    /// Held rules are `explicit` in tier 3; the others `auto` in tier 0
    /// with a share sampled and reviewed after the fact.
    pub held: bool,
    pub volume: u64,
    pub decided: u64,
    pub overridden: u64,
    pub sample_rejected: u64,
    pub sample_reviewed: u64,
}

/// A history: its lines and the truth behind them.
pub struct History {
    pub lines: Vec<String>,
    pub rules: Vec<Planted>,
}

/// `rules` rules, volumes uniform in `volumes`; every seventh rule (6, 13,
/// ...) is auto, the others held.
pub fn generate(
    seed: u64,
    rules: usize,
    volumes: (u64, u64),
    mut emit: impl FnMut(&str),
) -> Vec<Planted> {
    let mut rng = Rng::new(seed);
    let mut planted: Vec<Planted> = (0..rules)
        .map(|i| Planted {
            name: format!("rule_{i:02}"),
            p: PLANTED[i % PLANTED.len()],
            held: i % 7 != 6,
            volume: volumes.0 + rng.below(volumes.1 - volumes.0 + 1),
            ..Planted::default()
        })
        .collect();
    let mut remaining: Vec<u64> = planted.iter().map(|p| p.volume).collect();
    let total: u64 = remaining.iter().sum();
    let start: i64 = 1_795_000_000; // 2026-11-18
    let mut line = String::with_capacity(1024);
    for n in 0..total {
        // Pick a rule with volume left, in proportion to what is left.
        let mut pick = rng.below(remaining.iter().sum());
        let mut r = 0;
        for (i, left) in remaining.iter().enumerate() {
            if pick < *left {
                r = i;
                break;
            }
            pick -= left;
        }
        remaining[r] -= 1;
        let rule = &mut planted[r];
        let t = start + (n as i64) * 20;
        let time = timestamp(t);
        let req = format!("req_{n:032x}");
        let digest = format!("sha256:{:064x}", rng.next());
        let agent = format!("agent-{}", rng.below(4));
        let (outcome, tier, tier_name) = if rule.held {
            ("explicit", 3, "financial or customer impact")
        } else {
            ("auto", 0, "no external effect")
        };
        line.clear();
        let _ = write!(
            line,
            r#"{{"record":"decision","format":"gatehouse.audit-record/1","id":"dec_{n:032x}","time":"{time}","policy":{{"name":"generated","version":"1","digest":"sha256:00"}},"action_digest":"{digest}","input":{{"action":{{"target":"t{}"}},"agent":{{"id":"{agent}"}}}},"redacted":[],"outcome":"{outcome}","options":{{"now":null,"strict":false}},"decision":{{"outcome":"{outcome}","tier":{{"id":{tier},"name":"{tier_name}"}},"reasons":[],"rules":[{{"name":"{}","location":"g.gate:1:1","determining":true,"outcome":"{outcome}","tier":{tier},"reasons":[]}}]}}}}"#,
            r % 3,
            rule.name
        );
        emit(&line);
        emit(&transition(
            &req,
            "decide",
            "requested",
            "decided",
            &time,
            &agent,
            &digest,
            &format!(r#"{{"outcome":"{outcome}","reasons":[]}}"#),
        ));
        if rule.held {
            emit(&transition(
                &req, "queue", "decided", "pending", &time, &agent, &digest, "{}",
            ));
            let reviewer = format!("reviewer-{}", rng.below(3));
            let later = timestamp(t + 60 + rng.below(3600) as i64);
            rule.decided += 1;
            let event = if rng.unit() < rule.p {
                rule.overridden += 1;
                if rng.below(2) == 0 {
                    ("reject", "rejected")
                } else {
                    ("request_changes", "changes_requested")
                }
            } else {
                ("approve_complete", "approved")
            };
            emit(&transition(
                &req, event.0, "pending", event.1, &later, &reviewer, &digest, "{}",
            ));
        } else {
            let sampled = rng.below(10) == 0;
            let detail = if sampled {
                r#"{"sample":{"ppm":100000,"rate":"10%","rule":null,"sampled":true,"tier":0}}"#
            } else {
                "{}"
            };
            emit(&transition(
                &req,
                "auto_approve",
                "decided",
                "approved",
                &time,
                &agent,
                &digest,
                detail,
            ));
            if sampled {
                let later = timestamp(t + 600);
                rule.sample_reviewed += 1;
                let verdict = if rng.unit() < rule.p {
                    rule.sample_rejected += 1;
                    "reject"
                } else {
                    "confirm"
                };
                emit(&transition(
                    &req,
                    "sample_review",
                    "approved",
                    "approved",
                    &later,
                    "auditor",
                    &digest,
                    &format!(r#"{{"note":"","verdict":"{verdict}"}}"#),
                ));
            }
        }
    }
    planted
}

/// A whole history in memory.
pub fn history(seed: u64, rules: usize, volumes: (u64, u64)) -> History {
    let mut lines = Vec::new();
    let rules = generate(seed, rules, volumes, |l| lines.push(l.to_owned()));
    History { lines, rules }
}

#[allow(clippy::too_many_arguments, reason = "a record's fields")]
fn transition(
    req: &str,
    event: &str,
    from: &str,
    to: &str,
    time: &str,
    actor: &str,
    digest: &str,
    detail: &str,
) -> String {
    format!(
        r#"{{"record":"transition","format":"gatehouse.audit-record/1","id":"evt_x","time":"{time}","request":"{req}","event":"{event}","from":"{from}","to":"{to}","actor":{{"id":"{actor}","method":"api_key"}},"reason":null,"policy_digest":"sha256:00","action_digest":"{digest}","detail":{detail}}}"#
    )
}

/// RFC 3339 of Unix seconds (UTC), days from the civil calendar.
pub fn timestamp(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's days_from_civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}
