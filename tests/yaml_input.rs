//! YAML is refused in bounded, linear time (issue 12, promise 5), and YAML
//! numbers are read exactly or refused (issue 12, part of 12).
//!
//! Before the pre-scan, 800 KB of nested flow collections ran for minutes
//! in the YAML parser before the depth limit could answer. These tests
//! assert the depth error, not the time; docs/reliability.md gives the
//! measured times.

use gatehouse::input::{MAX_INPUT_DEPTH, Syntax, parse};
use proptest::prelude::*;

const SIZE: usize = 800 * 1024;

fn depth_error(text: &str) -> String {
    match parse(text, Syntax::Yaml) {
        Ok(v) => panic!(
            "accepted: {}",
            &v.to_string()[..80.min(v.to_string().len())]
        ),
        Err(errors) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            let e = &errors[0];
            assert!(
                e.message
                    .contains(&format!("nested more than {MAX_INPUT_DEPTH} levels deep")),
                "{e}"
            );
            e.to_string()
        }
    }
}

#[test]
fn deep_flow_sequences_get_the_depth_error() {
    depth_error(&format!("x: {}", "[".repeat(SIZE)));
    depth_error(&"[".repeat(SIZE));
}

#[test]
fn deep_flow_mappings_get_the_depth_error() {
    depth_error(&format!("x: {}", "{".repeat(SIZE)));
    depth_error(&"{a: ".repeat(SIZE / 4));
}

#[test]
fn mixed_flow_nesting_gets_the_depth_error() {
    depth_error(&format!("x: {}", "[{a: ".repeat(SIZE / 5)));
    depth_error(&"[[{".repeat(SIZE / 3));
}

#[test]
fn brackets_in_quoted_strings_do_not_count() {
    let brackets = "[{".repeat(SIZE / 2);
    let v = parse(&format!("x: \"{brackets}\"\n"), Syntax::Yaml).unwrap();
    assert_eq!(v["x"].as_str().map(str::len), Some(SIZE));
    let v = parse(&format!("x: '{brackets}'\n"), Syntax::Yaml).unwrap();
    assert_eq!(v["x"].as_str().map(str::len), Some(SIZE));
}

#[test]
fn deep_block_mappings_and_sequences_get_the_depth_error() {
    // About 1 250 levels of one-space indentation fill 800 KB.
    let mut text = String::new();
    let mut level = 0;
    while text.len() < SIZE {
        text.push_str(&" ".repeat(level));
        text.push_str("k:\n");
        level += 1;
    }
    depth_error(&text);
    depth_error(&"- ".repeat(SIZE / 2));
}

/// The approvals file and a test suite go through the same reader; a suite
/// is refused with the depth error too, not parsed for minutes.
#[test]
fn a_deep_suite_file_is_refused_with_the_depth_error() {
    let dir = std::env::temp_dir().join(format!("gatehouse-deep-suite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let policy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/simple-router");
    std::fs::copy(policy.join("router.gate"), dir.join("router.gate")).unwrap();
    std::fs::write(
        dir.join("deep.test.yaml"),
        format!("cases:\n  - input: {}\n", "[".repeat(SIZE)),
    )
    .unwrap();
    let report = gatehouse_cli::testing::run_set(&dir, None);
    let text = format!("{report:?}");
    assert!(
        text.contains(&format!("nested more than {MAX_INPUT_DEPTH} levels deep")),
        "{}",
        &text[..2000.min(text.len())]
    );
}

/// A JSON-like value nested `depth` levels.
fn nested(depth: usize, leaf: serde_json::Value, kinds: &[bool]) -> serde_json::Value {
    let mut v = leaf;
    for i in 0..depth {
        v = if kinds.get(i % kinds.len().max(1)).copied().unwrap_or(false) {
            serde_json::json!({ "k": v, "s": "a: [b" })
        } else {
            serde_json::json!(["x [", v])
        };
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The pre-scan never refuses what the converter accepts, in block
    /// style (serde_yaml's output) and flow style (JSON is YAML), and in
    /// flow style it refuses exactly what is too deep.
    #[test]
    fn the_prescan_agrees_with_the_depth_limit(
        depth in 0usize..(MAX_INPUT_DEPTH + 8),
        kinds in proptest::collection::vec(any::<bool>(), 1..6),
    ) {
        let value = nested(depth, serde_json::json!("'[{"), &kinds);
        let flow = serde_json::to_string(&value).unwrap();
        let block = serde_yaml::to_string(&value).unwrap();
        let within = depth <= MAX_INPUT_DEPTH;
        prop_assert_eq!(gatehouse::input::check_yaml_nesting(&flow).is_ok(), within);
        if within {
            prop_assert!(gatehouse::input::check_yaml_nesting(&block).is_ok(), "{}", block);
            prop_assert_eq!(parse(&block, Syntax::Yaml).unwrap(), value);
        } else {
            prop_assert!(parse(&block, Syntax::Yaml).is_err());
        }
    }
}

/// `-1e-400` used to become `-0` (no longer negative, so a rule on negative
/// amounts stopped firing); numbers a double changes are now refused, with
/// their line and column, and exact ones read as written.
#[test]
fn yaml_numbers_are_read_exactly_or_refused() {
    for (text, line, col) in [
        ("action:\n  amount: -1e-400\n", 2, 11),
        ("action:\n  amount: 123456789012345678901\n", 2, 11),
        ("action: {amount: 1e-400}\n", 1, 18),
        (
            "- 0.10000000000000000000001 # more digits than a double holds\n",
            1,
            3,
        ),
    ] {
        let errors = parse(text, Syntax::Yaml).unwrap_err();
        assert_eq!(errors.len(), 1, "{text}: {errors:?}");
        let e = errors[0].to_string();
        assert!(
            e.contains(&format!("line {line} column {col}: `"))
                && e.contains("cannot be read exactly as a number"),
            "{text}: {e}"
        );
    }
    let v = parse(
        "action:\n  amount: -0.1\n  big: 1e300\n  label: 1e-400 apples\n  quoted: \"-1e-400\"\n",
        Syntax::Yaml,
    )
    .unwrap();
    assert_eq!(v["action"]["amount"].to_string(), "-0.1");
    assert_eq!(v["action"]["big"].as_f64(), Some(1e300));
    assert_eq!(v["action"]["label"], "1e-400 apples");
    assert_eq!(v["action"]["quoted"], "-1e-400");
}

#[test]
fn an_inexact_yaml_amount_blocks_as_invalid_input() {
    let policy = gatehouse::Policy::load(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/simple-router"),
    )
    .unwrap();
    let doc = parse(
        "action:\n  type: send\n  scope: external\n  amount: -1e-400\nrequester:\n  id: a\n",
        Syntax::Yaml,
    );
    let decision = match doc {
        Ok(doc) => policy.evaluate(&doc),
        Err(errors) => policy.invalid_input(errors),
    };
    assert_eq!(decision.outcome, gatehouse::Outcome::Block, "{decision:?}");
}
