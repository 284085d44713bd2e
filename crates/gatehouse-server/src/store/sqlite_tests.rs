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

/// `by_deadline` gives the soonest deadlines (none last, then by id), and
/// its limit keeps the most urgent: the console's queue relies on it.
#[tokio::test]
async fn by_deadline_lists_the_soonest_first_and_keeps_them_under_the_limit() {
    let t = temp_store("by-deadline").await;
    for (id, deadline) in [
        ("req_a", Some(300)),
        ("req_b", None),
        ("req_c", Some(100)),
        ("req_d", Some(200)),
        ("req_e", None),
    ] {
        let mut c = change(id);
        c.row.deadline_unix = deadline;
        t.store.create(c).await.expect("create");
    }
    let ids = |rows: Vec<RequestRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let all = crate::store::ListFilter {
        states: vec![State::Pending],
        limit: 10,
        by_deadline: true,
        ..Default::default()
    };
    let listed = t.store.list(&all).await.expect("list");
    assert_eq!(ids(listed), ["req_c", "req_d", "req_a", "req_b", "req_e"]);
    let two = crate::store::ListFilter { limit: 2, ..all };
    assert_eq!(
        ids(t.store.list(&two).await.expect("list")),
        ["req_c", "req_d"]
    );
}

/// `actionable_by` keeps the requests one of the roles can act on, and
/// those any reviewer can (no roles listed); `%` and `_` in a role name
/// are literal.
#[tokio::test]
async fn actionable_by_keeps_the_roles_requests_and_the_open_ones() {
    let t = temp_store("actionable").await;
    for (id, roles) in [
        ("req_a", vec!["finance"]),
        ("req_b", vec![]),
        ("req_c", vec!["support_lead", "ops"]),
        ("req_d", vec!["supportXlead"]),
    ] {
        let mut c = change(id);
        c.row.roles = roles.into_iter().map(str::to_owned).collect();
        t.store.create(c).await.expect("create");
    }
    let store = &t.store;
    let list = async |roles: &[&str]| {
        let filter = crate::store::ListFilter {
            limit: 10,
            actionable_by: Some(roles.iter().map(|r| (*r).to_owned()).collect()),
            ..Default::default()
        };
        let mut ids: Vec<String> = store
            .list(&filter)
            .await
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(list(&["support_lead"]).await, ["req_b", "req_c"]);
    assert_eq!(list(&["finance", "ops"]).await, ["req_a", "req_b", "req_c"]);
    assert_eq!(list(&[]).await, ["req_b"]);
}

/// `list_bounded` keeps the list's order and stops once the bodies read
/// pass the budget, saying rows were left unread.
#[tokio::test]
async fn list_bounded_stops_at_the_byte_budget_in_order() {
    let t = temp_store("bounded").await;
    // 100 requests of about 4 KB each, deadlines in reverse id order.
    for i in 0..100i64 {
        let mut c = change(&format!("req_{i:03}"));
        c.row.deadline_unix = Some(10_000 - i);
        c.row.input = json!({"pad": "x".repeat(4_000)});
        t.store.create(c).await.expect("create");
    }
    let filter = crate::store::ListFilter {
        states: vec![State::Pending],
        limit: 1_000,
        by_deadline: true,
        ..Default::default()
    };
    let (all, cut) = t
        .store
        .list_bounded(&filter, usize::MAX)
        .await
        .expect("list");
    assert_eq!(all.len(), 100);
    assert!(!cut);
    assert_eq!(all[0].id, "req_099", "soonest deadline first");
    let (some, cut) = t.store.list_bounded(&filter, 50_000).await.expect("list");
    assert!(cut, "rows were left unread");
    assert!(some.len() < 100 && some.len() >= 12, "{}", some.len());
    let want: Vec<String> = all.iter().take(some.len()).map(|r| r.id.clone()).collect();
    let got: Vec<String> = some.iter().map(|r| r.id.clone()).collect();
    assert_eq!(got, want, "the soonest ones, in order");
}
