//! `gatehouse autonomy` end to end through a real `gatehouse serve`:
//! requests created and answered over HTTP, then the report read from the
//! store (`--data-dir`, and `--database-url` on PostgreSQL) and from the
//! exported chain (`GET /v1/audit`) is the same document, and the console's
//! Autonomy section shows exactly the numbers the command computes.

use std::process::Command;

use serde_json::{Value as Json, json};

use crate::console_client::Console;
use crate::harness::{Server, example};

fn autonomy(args: &[std::ffi::OsString]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("autonomy")
        .args(args)
        .output()
        .expect("gatehouse runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The whole chain as one JSONL text (one page: the history is small).
fn export(server: &Server) -> String {
    let admin = server.as_token(&server.admin);
    let a = admin.send(admin.request(reqwest::Method::GET, "/v1/audit?limit=1000"));
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.headers.get("link").is_none(), "one page");
    a.text
}

#[test]
fn store_and_export_give_the_same_report_and_the_console_shows_it() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-svc", &["request"], &[]));
    let lead = server.as_token(&server.key("lead", &["approve"], &["support_lead"]));
    let _viewer = server.key("viewer", &["approve"], &["support_lead"]);
    let mut refund = example("refund-small.json");
    refund["agent"]["id"] = json!("agent-y");
    // One approved, three rejected, one sent back: the refund rule's
    // rejection rate has a Clopper-Pearson lower bound above 10%.
    let answers = ["approve", "reject", "reject", "reject", "request_changes"];
    for (i, decision) in answers.iter().enumerate() {
        refund["action"]["amount"] = json!(100 + i);
        let made = agent.create(&refund);
        let id = made["id"].as_str().expect("id");
        assert_eq!(lead.review(id, decision, "checked").0, 200);
    }
    let summary = example("internal-summary.json");
    assert_eq!(agent.create(&summary)["state"], "approved");

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    std::fs::write(&log, export(&server)).unwrap();

    let mut args: Vec<std::ffi::OsString> = server.store_args();
    args.extend(["--format".into(), "json".into()]);
    let (code, from_store, err) = autonomy(&args);
    assert_eq!(code, 0, "{err}");
    let (code, from_file, err) = autonomy(&[log.clone().into(), "--format".into(), "json".into()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        from_store, from_file,
        "the store and the export are one history"
    );

    let report: Json = serde_json::from_str(&from_file).unwrap();
    assert_eq!(report["format"], "gatehouse.autonomy/1");
    assert_eq!(report["input"]["requests"], 6);
    assert_eq!(report["input"]["malformed"], 0);
    let refund_rule = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "refund")
        .expect("the refund rule");
    assert_eq!(refund_rule["human_decided"], 5);
    assert_eq!(refund_rule["approved"], 1);
    assert_eq!(refund_rule["rejected"], 3);
    assert_eq!(refund_rule["changes_requested"], 1);
    let less = report["candidates"]["less"].as_array().unwrap();
    assert!(less.iter().any(|c| c["key"] == "refund"), "{less:?}");

    // From the store, without --policy: the store's copy of the policy the
    // history names decides the relax diffs.
    let mut low = server.store_args();
    for a in [
        "--format",
        "json",
        "--min-cases",
        "1",
        "--max-rejection-rate",
        "1",
    ] {
        low.push(a.into());
    }
    let (code, out, err) = autonomy(&low);
    assert_eq!(code, 0, "{err}");
    let low: Json = serde_json::from_str(&out).unwrap();
    let refund_more = low["candidates"]["more"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "refund")
        .expect("refund is a candidate at these thresholds");
    assert_eq!(refund_more["relax"]["inputs"], 6, "{refund_more}");
    assert_eq!(
        refund_more["relax"]["policy_digest"],
        low["policies"][0]["digest"]
    );

    // --fail-on less: exit 1 for CI.
    let (code, _, _) = autonomy(&[log.clone().into(), "--fail-on".into(), "less".into()]);
    assert_eq!(code, 1);

    // The console: the same candidates with the same numbers.
    let c = Console::signed_in(&server, "viewer");
    let page = c.get("/console/overview");
    assert_eq!(page.status, 200, "{}", page.text);
    let start = page
        .text
        .find("<section id=\"autonomy\"")
        .expect("an Autonomy section");
    let section = &page.text[start..];
    let section = &section[..section.find("</section>").unwrap()];
    for c in less {
        let dimension = c["dimension"].as_str().unwrap();
        let key = c["key"].as_str().unwrap();
        let expected = format!(
            "<tr data-candidate=\"{dimension}:{key}\" data-decided=\"{}\" data-overridden=\"{}\" data-lower=\"{}\"",
            c["human_decided"], c["overridden"], c["lower_bound"]
        );
        assert!(section.contains(&expected), "{expected} in {section}");
    }
    assert_eq!(
        section.matches("<tr data-candidate=").count(),
        less.len() + report["candidates"]["more"].as_array().unwrap().len()
    );
    assert!(section.contains("data-count=\"shadow-differs\""));
    assert!(section.contains("data-count=\"open-samples\""));
}

#[test]
fn bad_arguments_and_unreadable_histories() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = autonomy(&[]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = autonomy(&["--data-dir".into(), dir.path().into()]);
    assert_eq!(code, 2, "no database: {err}");
    assert!(err.contains("no gatehouse database"), "{err}");
    let (code, _, err) = autonomy(&["--database-url".into(), "mysql://x".into()]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = autonomy(&[dir.path().join("missing.jsonl").into()]);
    assert_eq!(code, 3);
    let log = dir.path().join("bad.jsonl");
    std::fs::write(&log, "not json\n{\"record\": 1}\n").unwrap();
    let (code, out, err) = autonomy(&[log.into(), "--format".into(), "json".into()]);
    assert_eq!(code, 0, "bad lines are counted, not fatal");
    assert!(err.contains("warning: 2 line(s)"), "{err}");
    let report: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(report["input"]["malformed"], 2);
}
