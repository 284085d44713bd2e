//! The store checks the audit chain's head before it extends it: a
//! database whose last rows were edited is refused at open, with an error
//! that says so; an untouched one goes on where it stopped. Edits further
//! back are for `gatehouse audit verify` on the export (tests/serve/audit.rs
//! drives that through the real binaries; here the engine's log reader,
//! which that command runs, judges the chain).

use std::path::Path;

use gatehouse::audit::chain::{ChainStatus, GENESIS, hash_line, hash_text};
use gatehouse::audit::log::LogContents;
use gatehouse::audit::record::{AuditRecord, TransitionActor, TransitionEvent};
use gatehouse::values::Timestamp;
use gatehouse_server::store::{AuditEvent, Change, RequestRow, SqliteStore, Store as _};
use serde_json::json;
use sqlx::Connection as _;

fn row(id: &str) -> RequestRow {
    serde_json::from_value(json!({
        "id": id, "state": "pending", "created_at": "2026-11-22T09:00:00Z",
        "created_unix": 0, "updated_at": "2026-11-22T09:00:00Z", "deadline": null,
        "deadline_unix": null, "requester": "agent", "agent": "agent", "outcome": "explicit",
        "tier": 3, "roles": ["lead"], "action_digest": "sha256:aa", "policy_digest": "sha256:bb",
        "input": {}, "decision": {}, "approvals": [], "escalated_to": null, "escalations": 0,
        "execution": null, "verification": null, "version": 1
    }))
    .expect("a request row")
}

/// A new request with one transition record whose detail is `{"n": n}`.
fn change(n: usize) -> Change {
    let id = format!("req_{n:032x}");
    let record = AuditRecord::transition(
        TransitionEvent {
            request: &id,
            event: "queue",
            from: "decided",
            to: "pending",
            actor: TransitionActor::new("agent", "api_key", None),
            reason: None,
            policy_digest: "sha256:bb",
            action_digest: "sha256:aa",
            detail: json!({"n": n}),
        },
        Timestamp::parse("2026-11-22T09:00:00Z").unwrap(),
    );
    Change {
        row: row(&id),
        events: vec![AuditEvent {
            request_id: id,
            record: record.to_json_line().unwrap(),
        }],
        remember: None,
        notify: Vec::new(),
    }
}

/// Opens (creating) a store and adds requests `from..to`, one record each.
async fn store_with(path: &Path, from: usize, to: usize) -> SqliteStore {
    let store = SqliteStore::open(path, false).await.expect("opens");
    for n in from..to {
        store.create(change(n)).await.expect("created");
    }
    store
}

/// Runs one statement on the file, as someone holding it would.
async fn edit(path: &Path, statement: &str) {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let done = sqlx::query(statement).execute(&mut conn).await.unwrap();
    assert_eq!(done.rows_affected(), 1, "{statement}");
    conn.close().await.unwrap();
}

/// The exported chain (GET /v1/audit's lines) as the engine's log reader
/// judges it.
async fn exported(store: &SqliteStore) -> LogContents {
    let mut text = String::new();
    for (_, line) in store.audit_after(0, 10_000, usize::MAX).await.unwrap().0 {
        text.push_str(&line);
        text.push('\n');
    }
    LogContents::read(text.as_bytes()).unwrap()
}

async fn refused(path: &Path) -> String {
    match SqliteStore::open(path, false).await {
        Ok(_) => panic!("a store with an edited chain head opened"),
        Err(e) => e.detail,
    }
}

/// Rewrites row `seq`'s line with `edit` and its hash column to match, as
/// someone who knows the scheme would.
async fn forge(path: &Path, seq: i64, edit_line: impl Fn(&str) -> String) {
    let store = SqliteStore::open(path, false).await.expect("opens");
    let (_, line) = store
        .audit_after(seq - 1, 1, usize::MAX)
        .await
        .unwrap()
        .0
        .remove(0);
    drop(store);
    let forged = edit_line(&line);
    assert_ne!(forged, line);
    let hash = hash_text(&hash_line(forged.as_bytes()));
    edit(
        path,
        &format!(
            "UPDATE audit SET line = '{}', hash = '{hash}' WHERE seq = {seq}",
            forged.replace('\'', "''")
        ),
    )
    .await;
}

#[tokio::test]
async fn a_fresh_chain_starts_at_one_on_genesis_and_goes_on_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    drop(store_with(&path, 0, 2).await);
    let store = store_with(&path, 2, 3).await;
    let (lines, more) = store.audit_after(0, 100, usize::MAX).await.unwrap();
    let seqs: Vec<i64> = lines.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert!(!more);
    assert!(
        lines[0]
            .1
            .starts_with(&format!("{{\"seq\":1,\"prev\":\"{GENESIS}\",")),
        "{}",
        lines[0].1
    );
    let log = exported(&store).await;
    assert_eq!(log.chain.status, ChainStatus::Intact, "{:?}", log.chain);
    assert_eq!(log.records.len(), 3);
    assert!(log.bad_lines.is_empty(), "{:?}", log.bad_lines);
}

#[tokio::test]
async fn an_edited_last_line_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    drop(store_with(&path, 0, 3).await);
    edit(
        &path,
        r#"UPDATE audit SET line = replace(line, '"n":2', '"n":7') WHERE seq = 3"#,
    )
    .await;
    let e = refused(&path).await;
    assert!(
        e.contains("seq 3") && e.contains("does not match its stored hash") && e.contains("edited"),
        "{e}"
    );
}

#[tokio::test]
async fn a_last_line_rechained_to_another_seq_is_refused_even_with_its_hash_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    drop(store_with(&path, 0, 3).await);
    forge(&path, 3, |l| l.replacen("{\"seq\":3,", "{\"seq\":9,", 1)).await;
    let e = refused(&path).await;
    assert!(e.contains("is written as seq 9"), "{e}");
}

#[tokio::test]
async fn an_edited_second_to_last_line_is_refused_even_with_its_hash_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    drop(store_with(&path, 0, 3).await);
    forge(&path, 2, |l| l.replacen("\"n\":1", "\"n\":5", 1)).await;
    let e = refused(&path).await;
    assert!(e.contains("does not link to the record before it"), "{e}");
}

#[tokio::test]
async fn an_edited_middle_line_is_found_in_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    drop(store_with(&path, 0, 5).await);
    forge(&path, 2, |l| l.replacen("\"n\":1", "\"n\":4", 1)).await;
    // The head (seq 5) and the row after the edit are untouched: the store
    // opens; the exported chain does not hold.
    let store = SqliteStore::open(&path, false).await.expect("opens");
    let log = exported(&store).await;
    assert_eq!(log.chain.status, ChainStatus::Tampered, "{:?}", log.chain);
}

#[tokio::test]
async fn a_page_is_bounded_by_lines_and_bytes_and_says_whether_more_follow() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    let store = store_with(&path, 0, 5).await;
    let seqs = |page: &[(i64, String)]| page.iter().map(|(s, _)| *s).collect::<Vec<_>>();
    let (page, more) = store.audit_after(0, 2, usize::MAX).await.unwrap();
    assert_eq!((seqs(&page), more), (vec![1, 2], true));
    let (page, more) = store.audit_after(3, 2, usize::MAX).await.unwrap();
    assert_eq!((seqs(&page), more), (vec![4, 5], false), "exactly the end");
    // One byte allowed: each page still holds its first line.
    let (page, more) = store.audit_after(0, 100, 1).await.unwrap();
    assert_eq!((seqs(&page), more), (vec![1], true));
    let one = page[0].1.len();
    let (page, more) = store.audit_after(1, 100, 2 * one + 2).await.unwrap();
    assert_eq!((seqs(&page), more), (vec![2, 3], true));
    let (page, more) = store.audit_after(5, 100, 1).await.unwrap();
    assert_eq!((seqs(&page), more), (vec![], false));
}
