//! The writer's transaction survives its caller being cancelled: a
//! transaction left open, or committed without the cached chain head
//! moving, never makes the next one fail or fork the chain.

use std::time::Duration;

use gatehouse::audit::chain::{ChainLink, GENESIS_HASH, hash_line, hash_text};
use serde_json::json;

use super::SqliteStore;
use crate::lifecycle::State;
use crate::store::{AuditEvent, Change, RequestRow, Store as _};

/// A store in a fresh directory under the system's temp dir (removed by
/// the guard).
struct TempStore {
    dir: std::path::PathBuf,
    store: SqliteStore,
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn temp_store(name: &str) -> TempStore {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!(
        "gatehouse-sqlite-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open(&dir.join("t.db"), false)
        .await
        .expect("open");
    TempStore { dir, store }
}

fn row(id: &str) -> RequestRow {
    RequestRow {
        id: id.to_owned(),
        state: State::Pending,
        created_at: "2026-01-01T00:00:00Z".into(),
        created_unix: 1_767_225_600,
        updated_at: "2026-01-01T00:00:00Z".into(),
        deadline: None,
        deadline_unix: None,
        requester: "agent".into(),
        agent: "agent".into(),
        outcome: "explicit".into(),
        tier: Some(1),
        roles: vec!["reviewer".into()],
        action_digest: "sha256:00".into(),
        policy_digest: "sha256:00".into(),
        input: json!({}),
        decision: json!({}),
        approvals: Vec::new(),
        escalated_to: None,
        escalations: 0,
        execution: None,
        verification: None,
        version: 1,
    }
}

fn change(id: &str) -> Change {
    Change {
        row: row(id),
        events: vec![AuditEvent {
            request_id: id.to_owned(),
            record: json!({"record": "test", "request": id}).to_string(),
        }],
        remember: None,
        notify: Vec::new(),
    }
}

/// Checks `seq` counts from 1 and each `prev` is the hash of the line
/// before; gives the number of lines.
async fn chain_is_whole(store: &SqliteStore) -> usize {
    let (lines, _) = store.audit_after(0, 1000, usize::MAX).await.expect("audit");
    let mut prev = GENESIS_HASH;
    for (i, (seq, line)) in lines.iter().enumerate() {
        assert_eq!(*seq, i64::try_from(i + 1).unwrap(), "{lines:?}");
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        assert_eq!(v["prev"], hash_text(&prev), "{lines:?}");
        prev = hash_line(line.as_bytes());
    }
    lines.len()
}

#[tokio::test]
async fn a_transaction_whose_caller_was_cancelled_is_rolled_back_by_the_next() {
    let t = temp_store("cancelled").await;
    t.store.create(change("req_a")).await.expect("first");
    // A caller cancelled inside its transaction (a client gone, a request
    // timeout): the row and its record are written, COMMIT never comes.
    let cancelled = tokio::time::timeout(Duration::from_millis(100), async {
        let mut writer = t.store.writer.lock().await;
        writer
            .transaction(async |conn, head| {
                super::write_row(conn, &row("req_lost"), true).await?;
                let head = super::append_events(conn, head, &change("req_lost")).await?;
                std::future::pending::<()>().await;
                Ok(((), head))
            })
            .await
    })
    .await;
    assert!(cancelled.is_err(), "the transaction was cut off");
    // The next change commits and links to the last committed record.
    t.store
        .create(change("req_b"))
        .await
        .expect("after a cancel");
    assert_eq!(chain_is_whole(&t.store).await, 2);
    assert!(t.store.get("req_lost").await.expect("get").is_none());
    assert!(t.store.get("req_b").await.expect("get").is_some());
}

#[tokio::test]
async fn a_commit_the_cache_missed_is_read_back_before_the_next_link() {
    let t = temp_store("missed").await;
    t.store.create(change("req_a")).await.expect("first");
    {
        // What a caller cancelled between COMMIT and moving the head
        // leaves: a committed record the cached head does not know.
        let mut writer = t.store.writer.lock().await;
        let (seq, prev) = writer.head;
        let line = ChainLink::after(u64::try_from(seq).unwrap(), prev)
            .line(r#"{"record":"test","request":"req_x"}"#)
            .expect("a line");
        sqlx::query("INSERT INTO audit (seq, request_id, line, hash) VALUES (?, ?, ?, ?)")
            .bind(seq + 1)
            .bind("req_x")
            .bind(&line)
            .bind(hash_text(&hash_line(line.as_bytes())))
            .execute(&mut writer.conn)
            .await
            .expect("insert");
        writer.in_doubt = true;
    }
    t.store
        .create(change("req_b"))
        .await
        .expect("after the missed commit");
    assert_eq!(chain_is_whole(&t.store).await, 3);
}

// The list, search, chain and outbox behaviours both stores share are in
// contract_tests.rs, run against SQLite and PostgreSQL.
