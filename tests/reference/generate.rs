//! proptest strategies for differential testing: random well-typed policy
//! sets (rendered to `.gate` text) and inputs that fit them, mostly.
//!
//! Strategies produce *seeds*: plain numbers and small vectors that say
//! which choice to make. [`build`] resolves a seed into policy text against
//! the schema it generates (an operator valid for the attribute's type, a
//! literal of that type, a tier that is declared, ...), and [`build_input`]
//! resolves an input seed against the built policy. Seeds shrink toward
//! the first choice of every pool and toward fewer rules, tiers and
//! attributes, so a failure shrinks toward a small policy.
//!
//! Literal pools are shared between the policy and the inputs, so inputs
//! land on, just above and just below the policy's thresholds, on matching
//! and non-matching prefixes, and so on.

use gatehouse::EvalOptions;
use gatehouse::values::Timestamp;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Map, Value as Json};

// ----------------------------------------------------------------- pools --

/// Attribute types, as the generator knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Bool,
    Number,
    Str,
    EnumA,
    EnumB,
    Duration,
    Timestamp,
    SetStr,
    SetEnum,
}

const TYPES: [Ty; 9] = [
    Ty::Bool,
    Ty::Number,
    Ty::Str,
    Ty::EnumA,
    Ty::EnumB,
    Ty::Duration,
    Ty::Timestamp,
    Ty::SetStr,
    Ty::SetEnum,
];

/// `approve` is a keyword elsewhere but a fine enum value.
const ENUM_A: &[&str] = &["low", "mid", "high", "approve"];
const ENUM_B: &[&str] = &["red", "green", "blue"];

/// Parents of attributes. `note` and `index` start like the keywords `not`
/// and `in`.
const PREFIXES: &[&str] = &[
    "action",
    "requester",
    "ctx.window",
    "",
    "model",
    "note",
    "index",
];

const NUM_LITS: &[&str] = &[
    "1000",
    "0",
    "50",
    "0.7",
    "1_000",
    "1000.00",
    "10_000",
    "-5",
    "1000.50",
    "99999999999999999999",
    "0.000000000000000001",
];
const LIMIT_LITS: &[&str] = &[
    "1000", "10_000", "25000", "1000.50", "50", "0", "-5", "1000", "10_000",
];
const STR_LITS: &[&str] = &[
    "crm",
    "",
    "prod",
    "prod-eu",
    "alice",
    "bob",
    "INC123",
    "a#b",
    "q\"uote",
    "back\\slash",
    "naïve",
    "eu",
];
const REGEXES: &[&str] = &[
    "^prod",
    "eu$",
    "^INC\\d+$",
    "(?i)crm",
    "a|b",
    "",
    "^$",
    "\\.",
    "[0-9]{3}",
    "ï",
];
const DUR_LITS: &[&str] = &[
    "1h", "0s", "30m", "1h30m", "90m", "24h", "2d", "1d12h", "5400s", "59m59s",
];
const TIMEOUTS: &[&str] = &["24h", "30m", "4h", "72h", "1d12h", "90s", "7d"];
const TS_LITS: &[&str] = &[
    "2026-11-22T18:00:00Z",
    "2026-11-22T19:00:00+01:00",
    "2026-11-22T18:00:00.250Z",
    "2026-01-01T00:00:00Z",
    "2027-06-30T12:30:00-07:00",
];
const SET_ELEMS: &[&str] = &["alice", "bob", "carol", "admin", "oncall", ""];

const EVIDENCE: &[&str] = &[
    "source_citation",
    "diff",
    "rollback_plan",
    "impact_estimate",
    "customer_record",
];
const ROLES: &[&str] = &[
    "support_lead",
    "finance_approver",
    "finance_director",
    "security_approver",
    "reviewer",
    "data_owner",
];
const TITLES: &[&str] = &["Support lead", "Finance \"approver\"", "Director", ""];
const MESSAGES: &[&str] = &[
    "refund above the limit",
    "touches personal data",
    "the model is unsure",
    "quotes \"outside\" sources",
    "refund above the limit",
    "tab\there",
];
const BUILTIN_CODES: &[&str] = &[
    "NO_RULE_MATCHED",
    "EVIDENCE_MISSING",
    "INVALID_INPUT",
    "APPROVER_ESCALATED",
    "APPROVER_NOT_ELIGIBLE",
    "APPROVER_LIMIT_EXCEEDED",
];
const TIER_IDS: &[u32] = &[0, 1, 2, 3, 4, 5, 10, 4_294_967_295];
const TIER_NAMES: &[&str] = &[
    "naïve ünïcode",
    "no external effect",
    "low business effect",
    "financial",
    "security \"or\" production",
    "",
];
const OUTCOMES: &[&str] = &["auto", "queue", "explicit", "dual", "block"];
/// Outcomes as tiers and rules ask for them: `block` less often, or most
/// decisions would be `block`.
const ASKED_OUTCOMES: &[&str] = &[
    "auto", "queue", "explicit", "dual", "block", "auto", "queue", "explicit", "dual",
];
const RAISED_OUTCOMES: &[&str] = &[
    "auto", "queue", "explicit", "dual", "block", "auto", "queue", "explicit", "dual", "auto",
    "queue", "explicit", "queue",
];
const REQUIRE_TEXTS: &[&str] = &["human-supervised execution", "a named engineer watches"];
const FILE_NAMES: &[&str] = &[
    "main.gate",
    "b.gate",
    "a.gate",
    "Z.gate",
    "10-x.gate",
    "9-y.gate",
];
const DIRS: &[&str] = &["", "policies/set/", ""];

// Input values near the literals above.
const NUM_INPUTS: &[&str] = &[
    "1000",
    "0",
    "0.0",
    "-0.01",
    "49.99",
    "50",
    "50.00",
    "50.01",
    "0.69",
    "0.7",
    "0.70",
    "0.71",
    "999.99",
    "1000.00",
    "1e3",
    "1000.01",
    "1000.0000000000000000001",
    "999.9999999999999999999",
    "1000.5",
    "1000.50",
    "1000.49",
    "1000.51",
    "10000",
    "1.0e4",
    "10000.01",
    "9999.99",
    "-5",
    "-5.0",
    "-4.99",
    "-5.01",
    "25000",
    "25000.00",
    "99999999999999999999",
    "100000000000000000000",
    "0.000000000000000001",
    "0.0000000000000000009",
    "2.5e3",
];
const NUM_INVALID: &[&str] = &["1e21", "-100000000000000000001", "123456789012345678901234"];
const STR_INPUTS: &[&str] = &[
    "crm",
    "",
    "CRM",
    " crm",
    "prod",
    "prod-eu",
    "preprod-eu",
    "eu",
    "alice",
    "bob",
    "INC123",
    "inc123",
    "INC12a",
    "a#b",
    "q\"uote",
    "back\\slash",
    "naïve",
    "b",
    "x.y",
    "0",
];
const DUR_INPUTS: &[&str] = &[
    "\"1h\"",
    "\"0s\"",
    "\"30m\"",
    "\"60m\"",
    "\"3600s\"",
    "\"1h30m\"",
    "\"90m\"",
    "\"24h\"",
    "\"1d\"",
    "\"2d\"",
    "\"1d12h\"",
    "\"36h\"",
    "\"59m59s\"",
    "\"5400s\"",
    "0",
    "1800",
    "3600",
    "5400",
    "86400",
    "172800",
    "1799",
    "-0",
];
const DUR_INVALID: &[&str] = &[
    "\"30m1h\"",
    "\"1h1h\"",
    "\"1.5h\"",
    "\"\"",
    "\"abc\"",
    "\"1H\"",
    "-5",
    "5400.0",
    "1e3",
    "99999999999999999999",
];
const TS_INPUTS: &[&str] = &[
    "2026-11-22T18:00:00Z",
    "2026-11-22T19:00:00+01:00",
    "2026-11-22T17:59:59Z",
    "2026-11-22T18:00:01Z",
    "2026-11-22T18:00:00.250Z",
    "2026-11-22T18:00:00.249999999Z",
    "2026-11-22t18:00:00z",
    "2026-11-22 18:00:00Z",
    "2026-01-01T00:00:00Z",
    "2025-12-31T23:59:59Z",
    "2027-06-30T12:30:00-07:00",
    "2027-06-30T19:30:00Z",
    "2027-06-30T19:30:00.000000001Z",
];
const TS_INVALID: &[&str] = &[
    "2026-11-22T18:00:00",
    "2026-11-22",
    "yesterday",
    "2026-13-01T00:00:00Z",
];
const NOW: &[&str] = &[
    "2026-11-22T18:00:00Z",
    "2026-11-22T18:00:00.5+05:30",
    "1970-01-01T00:00:00Z",
    "2026-12-31T23:00:00-03:00",
];
const EVIDENCE_VALUES: &[&str] = &[
    "\"text\"",
    "null",
    "false",
    "true",
    "\"\"",
    "\"   \"",
    "0",
    "1.5",
    "[]",
    "[1]",
    "{}",
    "{\"a\":1}",
    "\"\\t\"",
];
const EXTRA_KEYS: &[&str] = &["zzz", "odd key", "1st", "type2", "ünï", "f99"];

fn pick<T: Copy>(pool: &[T], n: impl Into<u64>) -> T {
    *pick_ref(pool, n)
}

fn pick_ref<T>(pool: &[T], n: impl Into<u64>) -> &T {
    &pool[(n.into() % pool.len() as u64) as usize]
}

/// A string literal in policy syntax.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{text} is JSON: {e}"))
}

// ----------------------------------------------------------------- seeds --

/// A test on one attribute, resolved against the attribute's type.
#[derive(Clone, Debug)]
pub struct PredSeed {
    attr: u16,
    op: u8,
    a: u16,
    b: u8,
    list: Vec<u16>,
    quote: bool,
}

/// A condition.
#[derive(Clone, Debug)]
pub enum ExprSeed {
    Pred(PredSeed),
    Not(Box<ExprSeed>),
    And(Vec<ExprSeed>),
    Or(Vec<ExprSeed>),
}

#[derive(Clone, Debug)]
pub struct ApproveSeed {
    kind: u8,
    count: u8,
    roles: Vec<u16>,
}

#[derive(Clone, Debug)]
pub struct ConsSeed {
    tier: Option<u16>,
    raise: Option<(u8, bool)>,
    evidence: Vec<Vec<u16>>,
    approve: Vec<ApproveSeed>,
    /// `sample N% for review`, from [`SHARES`].
    sample: Option<u8>,
    rotate: u8,
}

/// Shares for `sample N% for review`, in the spellings people write
/// (leading and trailing zeros included: the rate is canonical), in
/// ascending order of value ([`raise_samples`] relies on it).
const SHARES: &[&str] = &[
    "0.0001", "0.5", "1", "5", "05", "5.50", "10", "12.25", "50", "99.9999", "100",
];

/// The same seed with every `sample` clause taken out.
pub fn without_samples(seed: &PolicySeed) -> PolicySeed {
    map_samples(seed, |_| None)
}

/// The same seed with every share raised (two steps up [`SHARES`], at most
/// to 100%).
pub fn raise_samples(seed: &PolicySeed) -> PolicySeed {
    map_samples(seed, |s| {
        let i = s as usize % SHARES.len();
        Some((i + 2).min(SHARES.len() - 1) as u8)
    })
}

fn map_samples(seed: &PolicySeed, f: impl Fn(u8) -> Option<u8>) -> PolicySeed {
    let mut out = seed.clone();
    for t in &mut out.tiers {
        t.sample = t.sample.and_then(&f);
    }
    for r in &mut out.rules {
        r.cons.sample = r.cons.sample.and_then(&f);
    }
    if let Some((cons, _)) = &mut out.default {
        cons.sample = cons.sample.and_then(&f);
    }
    out
}

/// Whether the seed writes any `sample` clause.
pub fn has_samples(seed: &PolicySeed) -> bool {
    seed.tiers.iter().any(|t| t.sample.is_some())
        || seed.rules.iter().any(|r| r.cons.sample.is_some())
        || seed
            .default
            .as_ref()
            .is_some_and(|(c, _)| c.sample.is_some())
}

#[derive(Clone, Debug)]
pub enum RequireSeed {
    Text(u8),
    Cond(ExprSeed),
}

#[derive(Clone, Debug)]
pub struct TierSeed {
    id: u16,
    name: u8,
    outcome: u8,
    approve: Option<ApproveSeed>,
    evidence: Option<(Vec<u16>, u8)>,
    timeout: Option<(u8, u8, u16)>,
    forbid: Vec<u16>,
    distinct: u8,
    requires: Vec<RequireSeed>,
    sample: Option<u8>,
    rotate: u8,
}

#[derive(Clone, Debug)]
pub struct RuleSeed {
    description: Option<u8>,
    when: ExprSeed,
    unless: Vec<ExprSeed>,
    cons: ConsSeed,
    because: Vec<u16>,
    multiline: bool,
}

#[derive(Clone, Debug)]
pub struct RoleSeed {
    title: Option<u8>,
    limit: Option<(bool, u8, u16)>,
    escalate: Option<(u16, bool)>,
}

#[derive(Clone, Debug)]
pub struct AttrSeed {
    ty: u8,
    optional: bool,
    prefix: u8,
}

/// Everything a generated policy set is built from.
#[derive(Clone, Debug)]
pub struct PolicySeed {
    combine: u8,
    description: bool,
    amount_optional: bool,
    attrs: Vec<AttrSeed>,
    schema_blocks: u8,
    evidence: u8,
    roles: Vec<RoleSeed>,
    reasons: Vec<u8>,
    tiers: Vec<TierSeed>,
    rules: Vec<RuleSeed>,
    default: Option<(ConsSeed, Vec<u16>)>,
    files: u8,
    dir: u8,
    placement: Vec<u16>,
    comments: u16,
}

fn pred_seed() -> impl Strategy<Value = PredSeed> {
    (
        any::<u16>(),
        any::<u8>(),
        any::<u16>(),
        any::<u8>(),
        vec(any::<u16>(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(attr, op, a, b, list, quote)| PredSeed {
            attr,
            op,
            a,
            b,
            list,
            quote,
        })
}

fn expr_seed() -> impl Strategy<Value = ExprSeed> {
    pred_seed()
        .prop_map(ExprSeed::Pred)
        .prop_recursive(3, 10, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| ExprSeed::Not(Box::new(e))),
                vec(inner.clone(), 2..4).prop_map(ExprSeed::And),
                vec(inner, 2..4).prop_map(ExprSeed::Or),
            ]
        })
}

fn approve_seed() -> impl Strategy<Value = ApproveSeed> {
    (any::<u8>(), 1u8..4, vec(any::<u16>(), 1..4)).prop_map(|(kind, count, roles)| ApproveSeed {
        kind,
        count,
        roles,
    })
}

fn cons_seed() -> impl Strategy<Value = ConsSeed> {
    (
        prop::option::weighted(0.6, any::<u16>()),
        prop::option::weighted(0.4, (any::<u8>(), any::<bool>())),
        vec(vec(any::<u16>(), 1..3), 0..2),
        vec(approve_seed(), 0..2),
        prop::option::weighted(0.3, any::<u8>()),
        any::<u8>(),
    )
        .prop_map(
            |(tier, raise, evidence, approve, sample, rotate)| ConsSeed {
                tier,
                raise,
                evidence,
                approve,
                sample,
                rotate,
            },
        )
}

fn tier_seed() -> impl Strategy<Value = TierSeed> {
    (
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        prop::option::weighted(0.7, approve_seed()),
        prop::option::weighted(0.4, (vec(any::<u16>(), 1..3), any::<u8>())),
        prop::option::weighted(0.5, (any::<u8>(), any::<u8>(), any::<u16>())),
        vec(any::<u16>(), 0..3),
        any::<u8>(),
        vec(
            prop_oneof![
                any::<u8>().prop_map(RequireSeed::Text),
                expr_seed().prop_map(RequireSeed::Cond),
            ],
            0..3,
        ),
        prop::option::weighted(0.4, any::<u8>()),
        any::<u8>(),
    )
        .prop_map(
            |(
                id,
                name,
                outcome,
                approve,
                evidence,
                timeout,
                forbid,
                distinct,
                requires,
                sample,
                rotate,
            )| {
                TierSeed {
                    id,
                    name,
                    outcome,
                    approve,
                    evidence,
                    timeout,
                    forbid,
                    distinct,
                    requires,
                    sample,
                    rotate,
                }
            },
        )
}

fn rule_seed() -> impl Strategy<Value = RuleSeed> {
    (
        prop::option::weighted(0.3, any::<u8>()),
        expr_seed(),
        vec(expr_seed(), 0..3),
        cons_seed(),
        vec(any::<u16>(), 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(description, when, unless, cons, because, multiline)| RuleSeed {
                description,
                when,
                unless,
                cons,
                because,
                multiline,
            },
        )
}

fn role_seed() -> impl Strategy<Value = RoleSeed> {
    (
        prop::option::of(any::<u8>()),
        prop::option::weighted(0.5, (any::<bool>(), any::<u8>(), any::<u16>())),
        prop::option::weighted(0.7, (any::<u16>(), any::<bool>())),
    )
        .prop_map(|(title, limit, escalate)| RoleSeed {
            title,
            limit,
            escalate,
        })
}

fn attr_seed() -> impl Strategy<Value = AttrSeed> {
    (any::<u8>(), any::<bool>(), any::<u8>()).prop_map(|(ty, optional, prefix)| AttrSeed {
        ty,
        optional,
        prefix,
    })
}

/// A random policy set.
pub fn policy_seed() -> impl Strategy<Value = PolicySeed> {
    (
        (
            any::<u8>(),
            any::<bool>(),
            any::<bool>(),
            vec(attr_seed(), 1..10),
            any::<u8>(),
            0u8..=5,
            vec(role_seed(), 0..6),
            vec(any::<u8>(), 0..5),
        ),
        (
            vec(tier_seed(), 1..=6),
            vec(rule_seed(), 0..=12),
            prop::option::weighted(0.75, (cons_seed(), vec(any::<u16>(), 0..2))),
            any::<u8>(),
            any::<u8>(),
            vec(any::<u16>(), 48),
            any::<u16>(),
        ),
    )
        .prop_map(
            |(
                (
                    combine,
                    description,
                    amount_optional,
                    attrs,
                    schema_blocks,
                    evidence,
                    roles,
                    reasons,
                ),
                (tiers, rules, default, files, dir, placement, comments),
            )| PolicySeed {
                combine,
                description,
                amount_optional,
                attrs,
                schema_blocks,
                evidence,
                roles,
                reasons,
                tiers,
                rules,
                default,
                files,
                dir,
                placement,
                comments,
            },
        )
}

// ---------------------------------------------------------------- policy --

/// A declared attribute of a built policy.
#[derive(Clone, Debug)]
pub struct AttrSpec {
    pub path: String,
    pub ty: Ty,
    pub optional: bool,
}

/// A built policy set: its files, and what inputs need to know of it.
#[derive(Clone, Debug)]
pub struct Built {
    pub sources: Vec<(String, String)>,
    pub attrs: Vec<AttrSpec>,
    pub evidence: Vec<String>,
}

impl Built {
    /// Every file, for failure messages.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (name, text) in &self.sources {
            out.push_str(&format!("----- {name}\n{text}\n"));
        }
        out
    }
}

fn type_text(ty: Ty) -> String {
    let enum_text = |values: &[&str]| format!("enum {{ {} }}", values.join(", "));
    match ty {
        Ty::Bool => "bool".into(),
        Ty::Number => "number".into(),
        Ty::Str => "string".into(),
        Ty::EnumA => enum_text(ENUM_A),
        Ty::EnumB => enum_text(ENUM_B),
        Ty::Duration => "duration".into(),
        Ty::Timestamp => "timestamp".into(),
        Ty::SetStr => "set of string".into(),
        Ty::SetEnum => format!("set of {}", enum_text(ENUM_A)),
    }
}

/// Resolves seeds against what has been declared.
struct Ctx<'a> {
    attrs: &'a [AttrSpec],
    evidence: &'a [String],
    roles: &'a [String],
    reasons: &'a [String],
    tiers: &'a [u32],
}

impl Ctx<'_> {
    fn enum_values(ty: Ty) -> &'static [&'static str] {
        match ty {
            Ty::EnumB => ENUM_B,
            _ => ENUM_A,
        }
    }

    fn enum_literal(&self, ty: Ty, n: u16, quoted: bool) -> String {
        let v = pick(Self::enum_values(ty), n);
        if quoted { quote(v) } else { v.to_owned() }
    }

    fn literal(&self, ty: Ty, n: u16, quoted: bool) -> String {
        match ty {
            Ty::Bool => pick(&["true", "false"], n).to_owned(),
            Ty::Number => pick(NUM_LITS, n).to_owned(),
            Ty::Str | Ty::SetStr => quote(pick(STR_LITS, n)),
            Ty::EnumA | Ty::EnumB | Ty::SetEnum => self.enum_literal(ty, n, quoted),
            Ty::Duration => pick(DUR_LITS, n).to_owned(),
            Ty::Timestamp => quote(pick(TS_LITS, n)),
        }
    }

    fn list(&self, ty: Ty, items: &[u16], quoted: bool) -> String {
        let parts: Vec<String> = items
            .iter()
            .enumerate()
            .map(|(i, n)| self.literal(ty, *n, quoted && i % 2 == 0))
            .collect();
        format!("[{}]", parts.join(", "))
    }

    fn set_list(&self, ty: Ty, items: &[u16], quoted: bool) -> String {
        let parts: Vec<String> = items
            .iter()
            .map(|n| match ty {
                Ty::SetStr => quote(pick(SET_ELEMS, *n)),
                _ => self.enum_literal(ty, *n, quoted),
            })
            .collect();
        let trailing = if quoted && !parts.is_empty() { "," } else { "" };
        format!("[{}{trailing}]", parts.join(", "))
    }

    fn predicate(&self, p: &PredSeed) -> String {
        let attr = &self.attrs[p.attr as usize % self.attrs.len()];
        let path = &attr.path;
        let ty = attr.ty;
        let same_type: Vec<&AttrSpec> = self.attrs.iter().filter(|a| a.ty == ty).collect();
        let other = same_type[p.a as usize % same_type.len()].path.clone();
        let eq_ops = ["==", "!="];
        let all_ops = ["==", "!=", "<", "<=", ">", ">="];
        let lit = self.literal(ty, p.a, p.quote);
        match ty {
            Ty::Bool => match p.op % 6 {
                0 => path.clone(),
                1 | 2 => format!("{path} {} {lit}", pick(&eq_ops, p.b)),
                3 => format!("{path} exists"),
                4 => format!("{path} missing"),
                _ => format!("{path} {} {other}", pick(&eq_ops, p.b)),
            },
            Ty::Number | Ty::Duration | Ty::Timestamp => match p.op % 9 {
                0..=2 => format!("{path} {} {lit}", pick(&all_ops, p.b)),
                3 => format!("{path} in {}", self.list(ty, &p.list, p.quote)),
                4 => format!("{path} not in {}", self.list(ty, &p.list, p.quote)),
                5 => format!("{path} exists"),
                6 => format!("{path} missing"),
                _ => format!("{path} {} {other}", pick(&all_ops, p.b)),
            },
            Ty::Str => match p.op % 12 {
                0 | 1 => format!("{path} {} {lit}", pick(&eq_ops, p.b)),
                2 => format!("{path} in {}", self.list(ty, &p.list, false)),
                3 => format!("{path} not in {}", self.list(ty, &p.list, false)),
                4 => format!("{path} contains {lit}"),
                5 | 6 => format!("{path} matches {}", quote(pick(REGEXES, p.a))),
                7 => format!("{path} starts_with {lit}"),
                8 => format!("{path} ends_with {lit}"),
                9 => format!("{path} exists"),
                10 => format!("{path} missing"),
                _ => format!("{path} {} {other}", pick(&eq_ops, p.b)),
            },
            Ty::EnumA | Ty::EnumB => match p.op % 8 {
                0 | 1 => format!("{path} {} {lit}", pick(&eq_ops, p.b)),
                2 => format!("{path} in {}", self.list(ty, &p.list, p.quote)),
                3 => format!("{path} not in {}", self.list(ty, &p.list, p.quote)),
                4 => format!("{path} exists"),
                5 => format!("{path} missing"),
                _ => format!("{path} {} {other}", pick(&eq_ops, p.b)),
            },
            Ty::SetStr | Ty::SetEnum => match p.op % 6 {
                0 | 1 => {
                    let elem = match ty {
                        Ty::SetStr => quote(pick(SET_ELEMS, p.a)),
                        _ => self.enum_literal(ty, p.a, p.quote),
                    };
                    format!("{path} contains {elem}")
                }
                2 => format!(
                    "{path} contains any {}",
                    self.set_list(ty, &p.list, p.quote)
                ),
                3 => format!(
                    "{path} contains all {}",
                    self.set_list(ty, &p.list, p.quote)
                ),
                4 => format!("{path} exists"),
                _ => format!("{path} missing"),
            },
        }
    }

    fn expr(&self, e: &ExprSeed) -> String {
        let nested = |e: &ExprSeed| match e {
            ExprSeed::And(_) | ExprSeed::Or(_) => format!("({})", self.expr(e)),
            _ => self.expr(e),
        };
        match e {
            ExprSeed::Pred(p) => self.predicate(p),
            ExprSeed::Not(inner) => format!("not {}", nested(inner)),
            ExprSeed::And(parts) => parts.iter().map(nested).collect::<Vec<_>>().join(" and "),
            ExprSeed::Or(parts) => parts.iter().map(nested).collect::<Vec<_>>().join(" or "),
        }
    }

    /// `a`, `a and b`, `a or b`, `N of a, b`; `None` when no role exists.
    fn approvers(&self, a: &ApproveSeed) -> Option<String> {
        if self.roles.is_empty() {
            return None;
        }
        let mut names: Vec<&str> = Vec::new();
        for r in &a.roles {
            let name = pick_ref(self.roles, *r).as_str();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Some(match a.kind % 4 {
            1 if names.len() > 1 => names.join(" and "),
            2 if names.len() > 1 => names.join(" or "),
            3 => format!("{} of {}", a.count, names.join(", ")),
            _ => names[0].to_owned(),
        })
    }

    fn evidence_list(&self, items: &[u16]) -> Option<String> {
        if self.evidence.is_empty() {
            return None;
        }
        let mut names: Vec<&str> = Vec::new();
        for i in items {
            let name = pick_ref(self.evidence, *i).as_str();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Some(names.join(", "))
    }

    fn consequences(&self, c: &ConsSeed) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(t) = c.tier {
            parts.push(format!("tier {}", pick(self.tiers, t)));
        }
        if let Some((o, at_least)) = c.raise {
            let o = pick(RAISED_OUTCOMES, o);
            parts.push(if at_least {
                format!("at least {o}")
            } else {
                o.to_owned()
            });
        }
        for e in &c.evidence {
            if let Some(list) = self.evidence_list(e) {
                parts.push(format!("evidence {list}"));
            }
        }
        for a in &c.approve {
            if let Some(a) = self.approvers(a) {
                parts.push(format!("approve {a}"));
            }
        }
        if parts.is_empty() {
            parts.push(format!("at least {}", pick(OUTCOMES, c.rotate)));
        }
        let n = parts.len();
        parts.rotate_left(c.rotate as usize % n);
        // Last, so that taking it out (`without_samples`) leaves the other
        // consequences as they were, in the same order.
        if let Some(s) = c.sample {
            parts.push(format!("sample {}% for review", pick(SHARES, s)));
        }
        parts.join(", ")
    }

    fn because(&self, codes: &[u16]) -> Option<String> {
        let mut names: Vec<&str> = Vec::new();
        for c in codes {
            let code = if self.reasons.is_empty() || c % 5 == 0 {
                pick(BUILTIN_CODES, *c / 5)
            } else {
                pick_ref(self.reasons, *c).as_str()
            };
            if !names.contains(&code) {
                names.push(code);
            }
        }
        (!names.is_empty()).then(|| names.join(", "))
    }
}

/// Renders a policy seed to `.gate` files.
pub fn build(seed: &PolicySeed) -> Built {
    // Schema: `action.amount` (for role limits) and the generated ones.
    let mut attrs = vec![AttrSpec {
        path: "action.amount".into(),
        ty: Ty::Number,
        optional: seed.amount_optional,
    }];
    for (i, a) in seed.attrs.iter().enumerate() {
        let prefix = pick(PREFIXES, a.prefix);
        attrs.push(AttrSpec {
            path: if prefix.is_empty() {
                format!("g{i}")
            } else {
                format!("{prefix}.f{i}")
            },
            ty: pick(&TYPES, a.ty),
            optional: a.optional,
        });
    }
    let evidence: Vec<String> = EVIDENCE[..seed.evidence as usize]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let roles: Vec<String> = ROLES[..seed.roles.len()]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let reasons: Vec<String> = (0..seed.reasons.len()).map(|i| format!("R{i}")).collect();
    let mut tiers: Vec<u32> = Vec::new();
    for t in &seed.tiers {
        let mut k = t.id as usize;
        while tiers.contains(&TIER_IDS[k % TIER_IDS.len()]) {
            k += 1;
        }
        tiers.push(TIER_IDS[k % TIER_IDS.len()]);
    }
    let ctx = Ctx {
        attrs: &attrs,
        evidence: &evidence,
        roles: &roles,
        reasons: &reasons,
        tiers: &tiers,
    };

    // Declarations, in generation order; each goes to one file.
    let mut decls: Vec<String> = Vec::new();
    let blocks = 1 + seed.schema_blocks as usize % 3;
    for b in 0..blocks {
        let lines: Vec<String> = attrs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % blocks == b)
            .map(|(_, a)| {
                format!(
                    "  {}: {}{}\n",
                    a.path,
                    type_text(a.ty),
                    if a.optional { "?" } else { "" }
                )
            })
            .collect();
        decls.push(format!("schema {{\n{}}}", lines.concat()));
    }
    if !evidence.is_empty() {
        decls.push(format!("evidence {{ {}, }}", evidence.join(", ")));
    }
    let numbers: Vec<&AttrSpec> = attrs.iter().filter(|a| a.ty == Ty::Number).collect();
    for (i, r) in seed.roles.iter().enumerate() {
        let mut text = format!("role {}", roles[i]);
        if let Some(t) = r.title {
            text.push_str(&format!(" {}", quote(pick(TITLES, t))));
        }
        if let Some((inclusive, value, attr)) = r.limit {
            text.push_str(&format!(
                " limit {} {} {}",
                numbers[attr as usize % numbers.len()].path,
                if inclusive { "<=" } else { "<" },
                pick(LIMIT_LITS, value)
            ));
        }
        // Escalation only to a later role: chains always end.
        if let Some((to, with_to)) = r.escalate {
            let later = roles.len() - i - 1;
            if later > 0 {
                text.push_str(&format!(
                    " escalate{} {}",
                    if with_to { " to" } else { "" },
                    roles[i + 1 + to as usize % later]
                ));
            }
        }
        decls.push(text);
    }
    for (i, m) in seed.reasons.iter().enumerate() {
        decls.push(format!("reason R{i} {}", quote(pick(MESSAGES, *m))));
    }
    let identities: Vec<&AttrSpec> = attrs
        .iter()
        .filter(|a| matches!(a.ty, Ty::Str | Ty::SetStr))
        .collect();
    for (t, id) in seed.tiers.iter().zip(&tiers) {
        let outcome = pick(ASKED_OUTCOMES, t.outcome);
        let mut clauses = vec![format!("outcome {outcome}")];
        if outcome != "block"
            && let Some(a) = t.approve.as_ref().and_then(|a| ctx.approvers(a))
        {
            clauses.push(format!("approve {a}"));
        }
        if let Some((fields, otherwise)) = &t.evidence
            && let Some(list) = ctx.evidence_list(fields)
        {
            clauses.push(match otherwise % 3 {
                0 => format!("evidence {list}"),
                1 => format!("evidence {list} otherwise queue"),
                _ => format!("evidence {list} otherwise block"),
            });
        }
        if let Some((after, then, role)) = t.timeout {
            let then = match then % 4 {
                0 => "reject".to_owned(),
                1 => "block".to_owned(),
                _ if roles.is_empty() => "reject".to_owned(),
                2 => format!("escalate to {}", pick_ref(&roles, role)),
                _ => format!("escalate {}", pick_ref(&roles, role)),
            };
            clauses.push(format!("timeout {} then {then}", pick(TIMEOUTS, after)));
        }
        if !identities.is_empty() && !t.forbid.is_empty() {
            let mut paths: Vec<&str> = Vec::new();
            for f in &t.forbid {
                let p = identities[*f as usize % identities.len()].path.as_str();
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
            clauses.push(format!("forbid approval by {}", paths.join(", ")));
        }
        match t.distinct % 6 {
            1 => clauses.push("distinct people".into()),
            2 => clauses.push("distinct roles".into()),
            3 => clauses.push("distinct people, roles".into()),
            4 => clauses.push("distinct roles, people".into()),
            _ => {}
        }
        for r in &t.requires {
            clauses.push(match r {
                RequireSeed::Text(n) => format!("require {}", quote(pick(REQUIRE_TEXTS, *n))),
                RequireSeed::Cond(e) => format!("require {}", ctx.expr(e)),
            });
        }
        let n = clauses.len();
        clauses.rotate_left(t.rotate as usize % n);
        if let Some(s) = t.sample {
            clauses.push(format!("sample {}% for review", pick(SHARES, s)));
        }
        let one_line = t.rotate % 2 == 0;
        decls.push(if one_line {
            format!(
                "tier {id} {} {{ {} }}",
                quote(pick(TIER_NAMES, t.name)),
                clauses.join("  ")
            )
        } else {
            format!(
                "tier {id} {} {{\n  {}\n}}",
                quote(pick(TIER_NAMES, t.name)),
                clauses.join("\n  ")
            )
        });
    }
    for (i, r) in seed.rules.iter().enumerate() {
        let sep = if r.multiline { "\n  " } else { " " };
        let name = if i % 3 == 2 {
            format!("rule-{i}")
        } else {
            format!("rule_{i}")
        };
        let mut text = format!("rule {name}");
        if let Some(d) = r.description {
            text.push_str(&format!(" {}", quote(pick(MESSAGES, d))));
        }
        text.push_str(&format!("{sep}when {}", ctx.expr(&r.when)));
        for u in &r.unless {
            text.push_str(&format!("{sep}unless {}", ctx.expr(u)));
        }
        text.push_str(&format!("{sep}then {}", ctx.consequences(&r.cons)));
        if let Some(codes) = ctx.because(&r.because) {
            text.push_str(&format!("{sep}because {codes}"));
        }
        decls.push(text);
    }
    if let Some((cons, because)) = &seed.default {
        let mut text = format!("default {}", ctx.consequences(cons));
        if let Some(codes) = ctx.because(because) {
            text.push_str(&format!(" because {codes}"));
        }
        decls.push(text);
    }

    // Files: the header in one, every declaration in one.
    let files = 1 + seed.files as usize % 3;
    let first_name = seed.files as usize / 3;
    let dir = pick(DIRS, seed.dir);
    let names: Vec<String> = (0..files)
        .map(|i| format!("{dir}{}", FILE_NAMES[(first_name + i) % FILE_NAMES.len()]))
        .collect();
    let mut texts: Vec<String> = vec![String::new(); files];
    let header_file = seed.placement[0] as usize % files;
    texts[header_file].push_str(&format!(
        "# generated\npolicy \"differential\" version \"{}\"{}{}\n",
        seed.combine,
        match seed.combine % 3 {
            0 => "",
            1 => " combine strictest",
            _ => " combine first-match",
        },
        if seed.description {
            "\n  description \"a \\\"generated\\\" policy\""
        } else {
            ""
        }
    ));
    for (i, d) in decls.iter().enumerate() {
        let f = seed.placement[(i + 1) % seed.placement.len()] as usize % files;
        let bit = |k: usize| seed.comments & (1 << (k % 16)) != 0;
        if bit(i) {
            texts[f].push_str("\n# a comment with \"quotes\" and rule words: when then\n");
        } else if bit(i + 5) && bit(i + 11) && texts[f].ends_with('\n') {
            // On the same line as the declaration before it (columns > 1).
            texts[f].pop();
            texts[f].push_str("   ");
        }
        texts[f].push_str(d);
        texts[f].push('\n');
    }
    // Windows line ends in some files.
    for (i, text) in texts.iter_mut().enumerate() {
        if seed.placement[47 - i].is_multiple_of(4) {
            *text = text.replace('\n', "\r\n");
        }
    }
    Built {
        sources: names.into_iter().zip(texts).collect(),
        attrs,
        evidence,
    }
}

// ----------------------------------------------------------------- input --

#[derive(Clone, Debug)]
pub struct ValSeed {
    presence: u8,
    pick: u16,
}

/// Everything an input is built from.
#[derive(Clone, Debug)]
pub struct InputSeed {
    corrupt: bool,
    values: Vec<ValSeed>,
    parents: Vec<u8>,
    evidence: (u8, Vec<u8>, bool),
    extras: Vec<(u8, u8)>,
    now: Option<u8>,
    strict: bool,
}

/// A random input (and evaluation options) for a built policy.
pub fn input_seed() -> impl Strategy<Value = InputSeed> {
    (
        prop::bool::weighted(0.2),
        vec(
            (any::<u8>(), any::<u16>()).prop_map(|(presence, pick)| ValSeed { presence, pick }),
            12,
        ),
        vec(any::<u8>(), 8),
        (any::<u8>(), vec(any::<u8>(), 6), prop::bool::weighted(0.2)),
        vec((any::<u8>(), any::<u8>()), 0..3),
        prop::option::of(any::<u8>()),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(corrupt, values, parents, evidence, extras, now, strict)| InputSeed {
                corrupt,
                values,
                parents,
                evidence,
                extras,
                now,
                strict,
            },
        )
}

/// A valid value of a type.
fn valid_value(ty: Ty, n: u16) -> Json {
    match ty {
        Ty::Bool => Json::Bool(n.is_multiple_of(2)),
        Ty::Number => json(pick(NUM_INPUTS, n)),
        Ty::Str => Json::String(pick(STR_INPUTS, n).to_owned()),
        Ty::EnumA | Ty::EnumB => Json::String(pick(Ctx::enum_values(ty), n).to_owned()),
        Ty::Duration => json(pick(DUR_INPUTS, n)),
        Ty::Timestamp => Json::String(pick(TS_INPUTS, n).to_owned()),
        Ty::SetStr | Ty::SetEnum => {
            let len = n % 5;
            let mut state = u32::from(n / 5);
            let items = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345) % 65_536;
                    let s = match ty {
                        Ty::SetStr => pick(SET_ELEMS, state),
                        _ => pick(ENUM_A, state),
                    };
                    Json::String(s.to_owned())
                })
                .collect();
            Json::Array(items)
        }
    }
}

/// A value of the right JSON kind that the type still rejects.
fn invalid_value(ty: Ty, n: u16) -> Json {
    match ty {
        Ty::Bool => Json::String("true".into()),
        Ty::Number => json(pick(NUM_INVALID, n)),
        Ty::Str => json("[\"crm\"]"),
        Ty::EnumA | Ty::EnumB => Json::String(pick(&["unknown", "Low", ""], n).to_owned()),
        Ty::Duration => json(pick(DUR_INVALID, n)),
        Ty::Timestamp => Json::String(pick(TS_INVALID, n).to_owned()),
        Ty::SetStr => json(pick(&["[\"alice\", 5]", "[null]", "[[]]"], n)),
        Ty::SetEnum => json(pick(&["[\"low\", \"nope\"]", "[true]"], n)),
    }
}

/// A value of another JSON kind.
fn wrong_value(ty: Ty, n: u16) -> Json {
    match ty {
        Ty::Bool => json(pick(&["1", "\"false\"", "[]"], n)),
        Ty::Number => json(pick(&["\"250\"", "true", "{}"], n)),
        Ty::Str => json(pick(&["5", "true", "{\"a\": 1}"], n)),
        Ty::EnumA | Ty::EnumB => json(pick(&["3", "[\"low\"]", "false"], n)),
        Ty::Duration => json(pick(&["true", "[\"1h\"]", "{}"], n)),
        Ty::Timestamp => json(pick(&["1700000000", "true"], n)),
        Ty::SetStr | Ty::SetEnum => json(pick(&["\"alice\"", "{}", "7"], n)),
    }
}

fn set_path(root: &mut Map<String, Json>, segments: &[&str], value: Json) {
    let (last, parents) = segments.split_last().expect("a path");
    let mut at = root;
    for key in parents {
        let entry = at
            .entry((*key).to_owned())
            .or_insert_with(|| Json::Object(Map::new()));
        at = match entry {
            Json::Object(o) => o,
            _ => return,
        };
    }
    at.insert((*last).to_owned(), value);
}

/// The object at a path, when every step is an object.
fn object_at<'m>(
    root: &'m mut Map<String, Json>,
    segments: &[&str],
) -> Option<&'m mut Map<String, Json>> {
    let mut at = root;
    for key in segments {
        at = match at.get_mut(*key) {
            Some(Json::Object(o)) => o,
            _ => return None,
        };
    }
    Some(at)
}

/// Builds an input (and options) for a built policy from a seed.
pub fn build_input(built: &Built, seed: &InputSeed) -> (Json, EvalOptions) {
    let mut root = Map::new();
    // A few unknown fields first, sometimes, so declared and undeclared
    // keys mix in the objects' order.
    let extra = |root: &mut Map<String, Json>, (place, key): (u8, u8)| {
        let key = pick(EXTRA_KEYS, key);
        match place % 3 {
            0 => {
                root.insert(key.to_owned(), Json::from(1));
            }
            _ => {
                let prefix = pick(&["action", "ctx.window", "requester"], place / 3);
                let mut segments: Vec<&str> = prefix.split('.').collect();
                segments.push(key);
                set_path(root, &segments, Json::from("x"));
            }
        }
    };
    // Unknown fields are ignored, or rejected under `strict`: only corrupt
    // inputs have them then.
    let extras: &[(u8, u8)] = if seed.strict && !seed.corrupt {
        &[]
    } else {
        &seed.extras
    };
    for (i, e) in extras.iter().enumerate() {
        if i % 2 == 0 {
            extra(&mut root, *e);
        }
    }
    for (i, a) in built.attrs.iter().enumerate() {
        let v = &seed.values[i % seed.values.len()];
        let roll = v.presence % 10;
        let value = if seed.corrupt {
            match roll {
                0 => None,
                1 => Some(Json::Null),
                2 => Some(wrong_value(a.ty, v.pick)),
                3 => Some(invalid_value(a.ty, v.pick)),
                _ => Some(valid_value(a.ty, v.pick)),
            }
        } else if a.optional {
            match roll {
                0 | 1 => None,
                2 => Some(Json::Null),
                _ => Some(valid_value(a.ty, v.pick)),
            }
        } else {
            Some(valid_value(a.ty, v.pick))
        };
        let segments: Vec<&str> = a.path.split('.').collect();
        match value {
            Some(value) => set_path(&mut root, &segments, value),
            // Parents exist even when the attribute does not.
            None if segments.len() > 1 => set_path(
                &mut root,
                &segments[..segments.len() - 1],
                Json::Object(Map::new()),
            ),
            None => {}
        }
    }
    for (i, e) in extras.iter().enumerate() {
        if i % 2 == 1 {
            extra(&mut root, *e);
        }
    }
    // Parent objects: sometimes absent, null, or (corrupt) not an object.
    let parents = [
        "action",
        "requester",
        "ctx",
        "ctx.window",
        "model",
        "note",
        "index",
    ];
    for (j, parent) in parents.iter().enumerate() {
        let mode = seed.parents[j % seed.parents.len()] % 16;
        let below: Vec<&AttrSpec> = built
            .attrs
            .iter()
            .filter(|a| a.path.starts_with(&format!("{parent}.")))
            .collect();
        if below.is_empty() {
            continue;
        }
        let allowed = seed.corrupt || below.iter().all(|a| a.optional);
        let replacement = match mode {
            0 if allowed => Some(None),
            1 if allowed => Some(Some(Json::Null)),
            2 if seed.corrupt => Some(Some(json(pick(&["5", "\"x\"", "[]"], j as u16)))),
            _ => None,
        };
        let Some(replacement) = replacement else {
            continue;
        };
        let segments: Vec<&str> = parent.split('.').collect();
        let (last, up) = segments.split_last().expect("a path");
        if let Some(at) = object_at(&mut root, up) {
            match replacement {
                None => {
                    at.shift_remove(*last);
                }
                Some(v) => {
                    at.insert((*last).to_owned(), v);
                }
            }
        }
    }
    // Evidence.
    let (mode, fields, unknown) = &seed.evidence;
    match mode % 10 {
        0 => {}
        1 => {
            root.insert("evidence".into(), Json::Null);
        }
        2 if seed.corrupt => {
            root.insert(
                "evidence".into(),
                json(pick(&["[\"x\"]", "\"x\"", "true"], *mode)),
            );
        }
        _ => {
            let mut pack = Map::new();
            if *unknown && (seed.corrupt || !seed.strict) {
                pack.insert("unknown_ev".into(), Json::from("x"));
            }
            for (k, name) in built.evidence.iter().enumerate() {
                // Present (the first value) most of the time.
                let n = EVIDENCE_VALUES.len();
                let choice = fields[k % fields.len()] as usize % (4 * n + 2);
                if choice < 3 * n {
                    pack.insert(name.clone(), json(EVIDENCE_VALUES[0]));
                } else if choice < 4 * n {
                    pack.insert(name.clone(), json(EVIDENCE_VALUES[choice - 3 * n]));
                }
            }
            root.insert("evidence".into(), Json::Object(pack));
        }
    }
    let input = if seed.corrupt && seed.values[0].presence == 255 {
        // Now and then, not an object at all.
        json("[1, 2]")
    } else {
        Json::Object(root)
    };
    let options = EvalOptions::default()
        .with_now(
            seed.now
                .map(|n| Timestamp::parse(pick(NOW, n)).expect("a valid time")),
        )
        .with_strict(seed.strict)
        // a service's secret key, now and then
        .with_sample_key(seed.values[1].presence.is_multiple_of(3).then(|| {
            let mut key = [0u8; 32];
            for (i, b) in key.iter_mut().enumerate() {
                *b = (seed.values[1].pick as usize + i) as u8;
            }
            key
        }));
    (input, options)
}
