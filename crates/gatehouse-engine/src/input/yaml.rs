//! YAML text -> JSON value. Read through `serde_yaml::Value`, whose mappings
//! refuse duplicate keys, then converted here so that nothing without a JSON
//! equivalent slips through as something else: `.nan` and `.inf` would
//! become `null` (absent!) through serde_json's own conversion; they are
//! refused, as are non-string keys, tagged values and excess depth.
//!
//! Non-integer numbers are read as binary doubles by the YAML parser; a
//! number the double does not hold exactly (`-1e-400`, which would become
//! `-0`) is refused before parsing (`yaml_number`), so a YAML number is
//! either the number written or an error.

use serde_yaml::Value as Yaml;

use super::error_at;
use crate::eval::InputError;
use crate::eval::decode::push_key;
use crate::limits::MAX_INPUT_DEPTH;

type Json = serde_json::Value;

pub(super) fn parse(text: &str) -> Result<Json, Vec<InputError>> {
    // Bound nesting before the parser runs: its cost grows with the square
    // of the open flow collections (see `yaml_depth`). The same pass
    // refuses numbers the parser would change (`yaml_number`).
    super::yaml_depth::prescan(text)?;
    let yaml: Yaml = serde_yaml::from_str(text)
        .map_err(|e| vec![error_at("$", format!("malformed YAML: {e}"))])?;
    let mut errors = Vec::new();
    let mut path = String::from("$");
    let json = convert(yaml, &mut path, 0, &mut errors);
    if errors.is_empty() {
        Ok(json)
    } else {
        Err(errors)
    }
}

fn convert(yaml: Yaml, path: &mut String, depth: usize, errors: &mut Vec<InputError>) -> Json {
    match yaml {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(b),
        Yaml::Number(n) => number(&n, path, errors),
        Yaml::String(s) => Json::String(s),
        Yaml::Sequence(items) => {
            if deeper_than_allowed(path, depth, errors) {
                return Json::Null;
            }
            let base = path.len();
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                path.truncate(base);
                path.push_str(&format!("[{i}]"));
                out.push(convert(item, path, depth + 1, errors));
            }
            path.truncate(base);
            Json::Array(out)
        }
        Yaml::Mapping(map) => {
            if deeper_than_allowed(path, depth, errors) {
                return Json::Null;
            }
            let base = path.len();
            let mut out = serde_json::Map::with_capacity(map.len());
            for (key, value) in map {
                path.truncate(base);
                let Yaml::String(key) = key else {
                    errors.push(error_at(
                        path.clone(),
                        format!("a mapping key must be a string, found {}", kind(&key)),
                    ));
                    continue;
                };
                push_key(path, &key);
                let value = convert(value, path, depth + 1, errors);
                out.insert(key, value);
            }
            path.truncate(base);
            Json::Object(out)
        }
        Yaml::Tagged(tagged) => {
            errors.push(error_at(
                path.clone(),
                format!("tagged value `{}` has no JSON equivalent", tagged.tag),
            ));
            Json::Null
        }
    }
}

fn deeper_than_allowed(path: &str, depth: usize, errors: &mut Vec<InputError>) -> bool {
    if depth < MAX_INPUT_DEPTH {
        return false;
    }
    errors.push(error_at(
        path,
        format!("nested more than {MAX_INPUT_DEPTH} levels deep (mappings and sequences)"),
    ));
    true
}

fn number(n: &serde_yaml::Number, path: &str, errors: &mut Vec<InputError>) -> Json {
    if let Some(i) = n.as_i64() {
        return Json::from(i);
    }
    if let Some(u) = n.as_u64() {
        return Json::from(u);
    }
    match n.as_f64().and_then(serde_json::Number::from_f64) {
        Some(f) => Json::Number(f),
        None => {
            errors.push(error_at(path, format!("`{n}` is not a finite number")));
            Json::Null
        }
    }
}

fn kind(yaml: &Yaml) -> &'static str {
    match yaml {
        Yaml::Null => "null",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "a string",
        Yaml::Sequence(_) => "a sequence",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn converts_ordinary_documents() {
        let v =
            parse("action:\n  type: refund\n  amount: 12.5\n  tags: [a, b]\n  n: null\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"action": {"type": "refund", "amount": 12.5, "tags": ["a", "b"], "n": null}})
        );
    }

    #[test]
    fn refuses_what_json_cannot_say() {
        let dup = errors("action:\n  amount: 5\n  amount: 50000\n");
        assert_eq!(dup.len(), 1);
        assert!(
            dup[0].contains("duplicate entry with key \"amount\""),
            "{dup:?}"
        );
        for (text, path) in [
            ("action:\n  amount: .nan\n", "$.action.amount"),
            ("action:\n  amount: -.inf\n", "$.action.amount"),
            ("action:\n  1: x\n", "$.action"),
            ("action:\n  amount: !money 5\n", "$.action.amount"),
        ] {
            let e = errors(text);
            assert_eq!(e.len(), 1, "{text}: {e:?}");
            assert!(e[0].starts_with(&format!("{path}: ")), "{text}: {e:?}");
        }
    }

    #[test]
    fn refuses_excess_depth() {
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        let e = errors(&deep);
        assert_eq!(e.len(), 1, "{e:?}");
        let ok = format!(
            "{}1{}",
            "[".repeat(MAX_INPUT_DEPTH),
            "]".repeat(MAX_INPUT_DEPTH)
        );
        assert!(errors(&ok).is_empty());
    }
}
