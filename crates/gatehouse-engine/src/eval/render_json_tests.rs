//! The hand-written decision JSON (src/eval/render_json.rs, from the
//! fragments of src/eval/render_fragments.rs) against serde_json writing
//! the owned decision, on generated policies whose every free-text string
//! (file, policy name and version, reason messages, tier names, role
//! titles, conditions) and generated inputs whose identities carry quotes,
//! backslashes, control characters, DEL, non-ASCII and `</script>`. Fails
//! on the first byte the two paths write differently.

use proptest::prelude::*;

use super::render_fragments::{escape_into, u64_into};
use crate::Policy;
use crate::eval::{DocumentFormat, EvalOptions, write_document};

/// Text a policy string may hold (raw: the policy source escapes only `"`,
/// `\` and newlines), biased toward what JSON must escape.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\t".to_owned()),
        Just("\r".to_owned()),
        Just("\u{8}\u{c}\u{1}\u{1f}\u{7f}".to_owned()),
        Just("</script>".to_owned()),
        Just("é€😀\u{2028}".to_owned()),
        Just("\u{feff}".to_owned()),
        "[a-z ]{0,6}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..5).prop_map(|v| v.concat())
}

/// A string literal of the policy language.
fn lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn policy_text(s: &[String; 8]) -> String {
    let [name, version, m1, m2, t0, t1, title, cond] = s.each_ref().map(|x| lit(x));
    format!(
        r#"policy {name} version {version}
schema {{
  action.amount: number?
  action.kind: enum {{ note, refund, wire }}
  requester.id: string?
  agent.owners: set of string?
  change_window.open: bool?
}}
evidence {{ plan, diff }}
role lead {title} limit action.amount <= 100 escalate to boss
role boss "Boss" limit action.amount <= 1000
role peer {title}
reason SMALL {m1}
reason BIG {m2}
tier 0 {t0} {{ outcome auto  sample 50% for review }}
tier 1 {t1} {{
  outcome explicit
  approve lead
  evidence plan otherwise queue
  timeout 24h then escalate to peer
  forbid approval by requester.id, agent.owners
  require change_window.open
  require {cond}
}}
tier 2 {t0} {{ outcome dual  approve lead and peer  distinct people, roles  timeout 4h then reject }}
rule small when action.amount < 10 then tier 0, sample 100% for review because SMALL
rule big when action.amount > 50 then tier 1 because BIG, SMALL
rule wire when action.kind == wire then tier 2, evidence diff because BIG
default tier 0
"#
    )
}

fn input(amount: Option<u32>, kind: usize, id: Option<&str>, owners: &[String]) -> String {
    let kind_name = ["note", "refund", "wire"].get(kind % 3).copied();
    let mut action = serde_json::json!({ "kind": kind_name });
    if let Some(a) = amount {
        action["amount"] = a.into();
    }
    let mut doc = serde_json::json!({
        "action": action,
        "agent": { "owners": owners },
        "change_window": { "open": kind.is_multiple_of(2) },
        "evidence": if kind.is_multiple_of(4) { serde_json::json!({"plan": "p"}) } else { serde_json::json!({}) },
    });
    if let Some(id) = id {
        doc["requester"] = serde_json::json!({ "id": id });
    }
    doc.to_string()
}

/// Both paths' bytes for one text (decided with and without a digest).
fn compare(policy: &Policy, text: &str, options: &EvalOptions) -> Result<(), TestCaseError> {
    let Ok(decoded) = policy.decode_json_with(text, options) else {
        return Ok(());
    };
    let mut verdict = policy.verdict();
    verdict.decide(&decoded);
    for digest in [None, Some("sha256:0f\"\\\u{1}")] {
        let mut fast = Vec::new();
        verdict
            .write_json(&decoded, options, digest, &mut fast)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut owned = verdict.to_decision(&decoded, options);
        owned.set_action_digest(digest.map(str::to_owned), options);
        let mut slow = Vec::new();
        write_document(&mut slow, &DocumentFormat::DECISION, &owned, false)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&slow)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn written_json_is_the_owned_decisions(
        strings in proptest::array::uniform8(hostile()),
        file in hostile(),
        inputs in proptest::collection::vec(
            (proptest::option::of(0u32..2000), 0usize..6, proptest::option::of(hostile()),
             proptest::collection::vec(hostile(), 0..3)),
            1..6,
        ),
        now in proptest::option::of(0i64..4_000_000_000),
    ) {
        let file = format!("{}.gate", file.replace(['/', '\\'], "_"));
        // Not every generated text is a valid policy (a check may refuse a
        // string); those cases test nothing and are skipped.
        let Ok(policy) = Policy::from_source(&file, policy_text(&strings)) else {
            return Ok(());
        };
        let mut options = EvalOptions::default();
        if let Some(secs) = now {
            options = options.with_now(crate::values::Timestamp::from_unix_nanos(i128::from(secs) * 1_000_000_000));
        }
        for (amount, kind, id, owners) in &inputs {
            compare(&policy, &input(*amount, *kind, id.as_deref(), owners), &options)?;
        }
    }

    #[test]
    fn escaping_is_serde_jsons(s in any::<String>(), n in any::<u64>()) {
        let mut ours = Vec::new();
        escape_into(&mut ours, &s);
        let theirs = serde_json::to_string(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(format!("\"{}\"", String::from_utf8_lossy(&ours)), theirs);
        let mut number = Vec::new();
        u64_into(&mut number, n);
        prop_assert_eq!(String::from_utf8_lossy(&number), n.to_string());
    }
}

/// The generated policies must compile often enough to test anything.
#[test]
fn the_template_compiles_with_hostile_strings() {
    let strings = [
        "p\"\\</script>",
        "1\t\u{1}",
        "m\r\n",
        "é😀\u{7f}",
        "t\u{8}",
        "\u{c}",
        "x\"y",
        "c\\",
    ]
    .map(str::to_owned);
    let policy = Policy::from_source("f\"\u{1}.gate", policy_text(&strings));
    assert!(policy.is_ok(), "{:?}", policy.err());
}
