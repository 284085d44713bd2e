//! Property tests: exact decimals round-trip, and neither the parser nor the
//! evaluator panics or fails open on arbitrary input.

use gatehouse::values::Decimal;
use gatehouse::{Outcome, Policy};
use proptest::prelude::*;

fn matrix() -> &'static Policy {
    static POLICY: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        Policy::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/ai-agent-actions"
        ))
        .expect("loads")
    })
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        prop_oneof![
            Just("refund".to_owned()),
            Just("production".to_owned()),
            Just("pii".to_owned()),
            "[a-z_]{0,8}",
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("action".to_owned()),
                    Just("type".to_owned()),
                    Just("amount".to_owned()),
                    Just("evidence".to_owned()),
                    Just("requester".to_owned()),
                    Just("id".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn decimals_round_trip_through_text(mantissa in any::<i64>(), scale in 0u32..=18) {
        let text = if scale == 0 {
            mantissa.to_string()
        } else {
            let digits = format!("{:0>width$}", mantissa.unsigned_abs(), width = scale as usize + 1);
            let (int, frac) = digits.split_at(digits.len() - scale as usize);
            format!("{}{int}.{frac}", if mantissa < 0 { "-" } else { "" })
        };
        let d = Decimal::parse(&text).expect("in range");
        prop_assert!(d.is_exact());
        prop_assert_eq!(Decimal::parse(&d.to_string()).expect("reparses"), d);
    }

    #[test]
    fn decimal_order_matches_integer_order(a in any::<i64>(), b in any::<i64>()) {
        let (da, db) = (Decimal::from_i64(a), Decimal::from_i64(b));
        prop_assert_eq!(da.cmp(&db), a.cmp(&b));
    }

    #[test]
    fn the_parser_never_panics(text in "\\PC{0,200}") {
        let _ = Policy::from_source("fuzz.gate", text);
    }

    #[test]
    fn the_parser_never_panics_on_policy_like_text(
        words in prop::collection::vec(prop_oneof![
            Just("policy"), Just("\"p\""), Just("version"), Just("rule"), Just("r"), Just("when"),
            Just("then"), Just("tier"), Just("1"), Just("{"), Just("}"), Just("("), Just(")"),
            Just("a.b"), Just("=="), Just("and"), Just("not"), Just("because"), Just("X"),
            Just("schema"), Just(":"), Just("number"), Just("?"), Just(","), Just("["), Just("]"),
        ], 0..60)
    ) {
        let _ = Policy::from_source("fuzz.gate", words.join(" "));
    }

    #[test]
    fn evaluation_never_panics_and_invalid_input_blocks(input in json_value()) {
        let d = matrix().evaluate(&input);
        if !d.input_errors.is_empty() {
            prop_assert_eq!(d.outcome, Outcome::Block);
            prop_assert_eq!(d.reason_codes(), vec!["INVALID_INPUT"]);
        }
    }
}

/// Fail closed: taking evidence away never makes a decision less strict.
#[test]
fn removing_evidence_never_lowers_the_outcome() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/actions");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("samples").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let input: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let full = matrix().evaluate(&input);
        let Some(evidence) = input.get("evidence").and_then(|e| e.as_object()) else {
            continue;
        };
        for key in evidence.keys() {
            let mut less = input.clone();
            if let Some(e) = less.get_mut("evidence").and_then(|e| e.as_object_mut()) {
                e.remove(key);
            }
            let d = matrix().evaluate(&less);
            assert!(
                d.outcome >= full.outcome,
                "{}: removing `{key}` lowered {} to {}",
                path.display(),
                full.outcome,
                d.outcome
            );
            checked += 1;
        }
    }
    assert!(
        checked > 20,
        "the samples carry evidence to remove ({checked})"
    );
}
