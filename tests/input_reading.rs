//! How an input document is read (issue 12, part of 12): the format comes
//! from the file extension or `--input-format`, text with two byte order
//! marks is refused, and `--strict` lists a capped number of unknown fields.

use assert_cmd::Command;
use gatehouse::input::{Syntax, parse};

const POLICY: &str = "policies/simple-router";

fn eval(args: &[&str], stdin: Option<&str>) -> (i32, String) {
    let mut cmd = Command::cargo_bin("gatehouse").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GATEHOUSE_POLICY")
        .env("NO_COLOR", "1")
        .args(["eval", "--policy", POLICY])
        .args(args);
    if let Some(text) = stdin {
        cmd.write_stdin(text);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gatehouse-input-reading-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const YAML_ACTION: &str =
    "action:\n  type: send\n  scope: external\n  amount: 5000\nrequester:\n  id: agent\n";

#[test]
fn more_than_one_byte_order_mark_is_refused() {
    let json = "{\"action\": {\"type\": \"read\", \"scope\": \"internal\"}, \"requester\": {\"id\": \"a\"}}";
    for syntax in [Syntax::Detect, Syntax::Json, Syntax::Yaml] {
        assert!(
            parse(&format!("\u{feff}{json}"), syntax).is_ok(),
            "{syntax:?}"
        );
        let errors = parse(&format!("\u{feff}\u{feff}{json}"), syntax).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].message.contains("more than one byte order mark"),
            "{syntax:?}: {}",
            errors[0]
        );
    }
}

#[test]
fn input_format_flag_overrides_the_extension_and_detection() {
    let dir = scratch("format");
    // YAML in a file named `.json`: the extension says JSON, so it is
    // invalid input, unless the flag says otherwise.
    let misnamed = dir.join("action.json");
    std::fs::write(&misnamed, YAML_ACTION).unwrap();
    let path = misnamed.to_str().unwrap();
    let (code, out) = eval(&[path], None);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("INVALID_INPUT"), "{out}");
    let (code, out) = eval(&["--input-format", "yaml", path], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"outcome\": \"explicit\""), "{out}");
    // And the other way: a YAML file read as JSON is refused.
    let yaml = dir.join("action.yaml");
    std::fs::write(&yaml, YAML_ACTION).unwrap();
    let (code, out) = eval(&["--input-format", "json", yaml.to_str().unwrap()], None);
    assert_eq!(code, 3, "{out}");
    // stdin: detection by default, the flag when given.
    let (code, out) = eval(&["--input-format", "yaml"], Some(YAML_ACTION));
    assert_eq!(code, 0, "{out}");
    let (code, out) = eval(&["--input-format", "json"], Some(YAML_ACTION));
    assert_eq!(code, 3, "{out}");
    let (code, _) = eval(&["--input-format", "toml"], Some(YAML_ACTION));
    assert_eq!(code, 2);
}

#[test]
fn strict_lists_twenty_unknown_fields_and_counts_the_rest() {
    let mut text = String::from(
        "{\"action\": {\"type\": \"read\", \"scope\": \"internal\"}, \"requester\": {\"id\": \"a\"}",
    );
    for i in 0..100_000 {
        text.push_str(&format!(", \"unknown_{i}\": 1"));
    }
    text.push('}');
    assert!(text.len() > 1_000_000);
    let (code, out) = eval(&["--strict", "--compact"], Some(&text));
    assert_eq!(code, 3);
    assert!(out.len() < 10_000, "{} bytes of output", out.len());
    let decision: serde_json::Value = serde_json::from_str(&out).unwrap();
    let errors = decision["input_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 21, "{errors:?}");
    assert_eq!(errors[0]["path"], "$.unknown_0");
    assert_eq!(errors[19]["path"], "$.unknown_19");
    assert_eq!(errors[20]["path"], "$");
    assert!(
        errors[20]["message"]
            .as_str()
            .unwrap()
            .starts_with("99980 more unknown fields"),
        "{}",
        errors[20]
    );
}
