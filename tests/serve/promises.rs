//! Documented promises checked against the running service (docs/service.md,
//! docs/service-auth.md, docs/service-operations.md): each test names the
//! sentence it pins.

use serde_json::json;

use crate::harness::{example, Server};

/// docs/service.md, Lists: "`next_before` is null on the last page". A last
/// page holding exactly `limit` requests answered the id of its last
/// request, and the page it pointed to was empty.
#[test]
fn next_before_is_null_on_a_last_page_that_is_exactly_full() {
    let server = Server::start();
    let admin = server.as_token(&server.admin);
    let older = admin.create(&example("refund-small.json"))["id"].clone();
    let newer = admin.create(&example("refund-large.json"))["id"].clone();

    let (status, whole) = admin.get("/v1/requests?limit=2");
    assert_eq!(status, 200, "{whole}");
    assert_eq!(whole["requests"].as_array().map(Vec::len), Some(2), "{whole}");
    assert_eq!(whole["next_before"], json!(null), "{whole}");

    // A page that is not the last one still points at the next.
    let (status, first) = admin.get("/v1/requests?limit=1");
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["requests"][0]["id"], newer, "{first}");
    assert_eq!(first["next_before"], newer, "{first}");
    let before = newer.as_str().expect("id");
    let (status, last) = admin.get(&format!("/v1/requests?limit=1&before={before}"));
    assert_eq!(status, 200, "{last}");
    assert_eq!(last["requests"][0]["id"], older, "{last}");
    assert_eq!(last["next_before"], json!(null), "{last}");
}

/// docs/service-operations.md, Configuration: "every configuration key"
/// is in its table. The keys are read from the service itself (the
/// unknown-key error lists the ones it takes), so a key added to the
/// configuration without a row here fails this test; `drain_ms` had none.
#[test]
fn every_configuration_key_has_a_row_in_the_operations_guide() {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/service-operations.md"),
    )
    .expect("read docs/service-operations.md");
    for (table, prefix) in [
        ("", ""),
        ("[limits]\n", "[limits] "),
        ("[store]\n", "[store] "),
        ("[approvals]\n", "[approvals] "),
        ("[[webhook]]\n", "[[webhook]] "),
    ] {
        let keys = keys_the_service_takes(table);
        assert!(!keys.is_empty(), "{table}: {keys:?}");
        for key in keys {
            if ["store", "limits", "approvals", "webhook"].contains(&key.as_str()) {
                continue; // tables, each checked on its own
            }
            let row = format!("| `{prefix}{key}` |");
            assert!(guide.contains(&row), "docs/service-operations.md lacks {row}");
        }
    }
}

/// The keys `gatehouse serve` takes in one table, from its refusal of an
/// unknown key there ("unknown field `…`, expected one of `a`, `b`").
fn keys_the_service_takes(table: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("serve.toml");
    std::fs::write(&path, format!("{table}no_such_key_x3 = 1\n")).expect("write config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .arg("--policy")
        .arg(crate::harness::shipped_policy())
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&path)
        .env_remove("GATEHOUSE_CONFIG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run gatehouse serve");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let list = stderr
        .split_once("expected one of ")
        .or_else(|| stderr.split_once("expected "))
        .map(|(_, rest)| rest.lines().next().unwrap_or(""))
        .unwrap_or_else(|| panic!("no key list in: {stderr}"));
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}
