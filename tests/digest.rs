//! Property tests of the action digest: reordering keys, reformatting and
//! re-spelling numbers never change it; changing any leaf always does.

use gatehouse::audit::digest::action_digest;
use proptest::prelude::*;
use serde_json::Value;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-1_000_000i64..1_000_000).prop_map(Value::from),
        (-1_000_000i64..1_000_000, 0u32..4).prop_map(|(m, s)| {
            let text = format!("{}", m as f64 / 10f64.powi(s as i32));
            serde_json::from_str(&text).unwrap_or(Value::Null)
        }),
        "[a-zé\\n\" ]{0,6}".prop_map(Value::from),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The same document written differently: keys in reverse order, numbers
/// re-spelled (`2` as `2.0e0`), pretty-printed.
fn respell(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .rev()
                .map(|(k, v)| format!("{} :\n  {}", Value::String(k.clone()), respell(v)))
                .collect();
            format!("{{ {} }}", parts.join(" ,\n"))
        }
        Value::Array(items) => format!(
            "[ {} ]",
            items.iter().map(respell).collect::<Vec<_>>().join(" , ")
        ),
        Value::Number(n) => {
            let text = n.to_string();
            if text.contains(['.', 'e', 'E']) {
                format!("{text}0")
            } else {
                format!("{text}.00e0")
            }
        }
        other => other.to_string(),
    }
}

/// Every path to a leaf.
fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                leaves(x, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                path.push(i.to_string());
                leaves(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn leaf_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v);
    };
    let next = match v {
        Value::Object(m) => m.get_mut(first)?,
        Value::Array(items) => items.get_mut(first.parse::<usize>().ok()?)?,
        _ => return None,
    };
    leaf_mut(next, rest)
}

proptest! {
    #[test]
    fn key_order_whitespace_and_number_spelling_do_not_change_the_digest(doc in document()) {
        let text = respell(&doc);
        let again: Value = serde_json::from_str(&text).expect("respelled JSON parses");
        prop_assert_eq!(action_digest(&doc), action_digest(&again), "{}", text);
    }

    #[test]
    fn changing_any_leaf_changes_the_digest(doc in document(), pick in any::<prop::sample::Index>()) {
        let mut paths = Vec::new();
        leaves(&doc, &mut Vec::new(), &mut paths);
        prop_assume!(!paths.is_empty());
        let path = pick.get(&paths).clone();
        let mut changed = doc.clone();
        let slot = leaf_mut(&mut changed, &path).expect("leaf");
        *slot = match slot {
            Value::Null => Value::Bool(false),
            Value::Bool(b) => Value::Bool(!*b),
            Value::Number(_) => {
                let text = format!("{}1", slot.to_string().trim_end_matches('0'));
                serde_json::from_str(&text).unwrap_or(Value::Null)
            }
            Value::String(s) => Value::String(format!("{s}x")),
            _ => Value::Null,
        };
        prop_assume!(changed != doc);
        prop_assert_ne!(action_digest(&doc), action_digest(&changed));
    }
}
