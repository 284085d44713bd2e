//! Migrations on real databases: from empty, twice, from version 1 with
//! data, from two tasks at once, and a newer database refused. Also a
//! database restart under a live store (a throwaway cluster of its own).

use super::super::PgStore;
use crate::store::Store as _;
use crate::store::test_support::{PgDatabase, chain_is_whole, change, pg_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_from_empty_then_again_changes_nothing() {
    let Some(db) = PgDatabase::create("migrate_empty").await else {
        return;
    };
    let first = PgStore::migrate(&db.url, &pg_config())
        .await
        .expect("migrates");
    assert_eq!(
        (first.store, first.from, first.to),
        ("postgres", 0, super::LATEST)
    );
    assert_eq!(first.applied.len(), 3, "{:?}", first.applied);
    let again = PgStore::migrate(&db.url, &pg_config())
        .await
        .expect("migrates");
    assert_eq!((again.from, again.to), (super::LATEST, super::LATEST));
    assert!(again.applied.is_empty());
    let store = PgStore::open(&db.url, &pg_config()).await.expect("opens");
    store.create(change("req_a")).await.expect("create");
    assert_eq!(chain_is_whole(&store).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_database_with_data_is_upgraded_and_its_chain_goes_on() {
    let Some(db) = PgDatabase::create("migrate_v1").await else {
        return;
    };
    // A version-1 database with rows and a chain of 3 records, written as
    // a version-1 gate wrote them: the tables of migration 1 only.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect(&db.url)
        .await
        .expect("connects");
    let report = super::apply(&pool, 1).await.expect("version 1");
    assert_eq!(report.to, 1);
    {
        use crate::store::sqlite::{AuditLine, chain_lines};
        let mut head = (0, gatehouse::audit::chain::GENESIS_HASH);
        let mut tx = pool.begin().await.expect("begin");
        for n in 0..3 {
            let c = change(&format!("req_{n}"));
            write_version_1_row(&mut tx, &c.row).await;
            let mut lines: Vec<AuditLine<'_>> = Vec::new();
            head = chain_lines(head, &c, &mut lines).expect("lines");
            for l in &lines {
                sqlx::query(
                    "INSERT INTO audit (seq, request_id, line, hash) VALUES ($1, $2, $3, $4)",
                )
                .bind(l.seq)
                .bind(l.request_id)
                .bind(&l.line)
                .bind(&l.hash)
                .execute(&mut *tx)
                .await
                .expect("audit");
            }
        }
        sqlx::query("INSERT INTO deliveries (id, receiver, body, next_ms) VALUES ('whd_1', 'https://r.example', '{}', 0)")
            .execute(&mut *tx)
            .await
            .expect("delivery");
        tx.commit().await.expect("commit");
    }
    let report = PgStore::migrate(&db.url, &pg_config())
        .await
        .expect("upgrades");
    assert_eq!((report.from, report.to, report.applied.len()), (1, 3, 2));
    let store = PgStore::open(&db.url, &pg_config()).await.expect("opens");
    assert!(
        store.get("req_1").await.expect("get").is_some(),
        "rows survive"
    );
    assert_eq!(store.deliveries_due(1, 10).await.expect("due").len(), 1);
    store.create(change("req_3")).await.expect("create");
    assert_eq!(
        chain_is_whole(&store).await,
        4,
        "the chain goes on at seq 4"
    );
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_migrating_at_once_apply_each_migration_once() {
    let Some(db) = PgDatabase::create("migrate_race").await else {
        return;
    };
    let config = pg_config();
    let (x, y) = tokio::join!(
        PgStore::migrate(&db.url, &config),
        PgStore::migrate(&db.url, &config)
    );
    let (x, y) = (x.expect("x"), y.expect("y"));
    let mut all: Vec<String> = x.applied.iter().chain(&y.applied).cloned().collect();
    all.sort();
    assert_eq!(all.len(), 3, "each once: {x:?} {y:?}");
    all.dedup();
    assert_eq!(all.len(), 3, "each once: {x:?} {y:?}");
    assert_eq!((x.to, y.to), (3, 3));
    let (a, b) = tokio::join!(
        PgStore::open(&db.url, &config),
        PgStore::open(&db.url, &config)
    );
    a.expect("a opens");
    b.expect("b opens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_newer_than_the_binary_is_refused() {
    let Some(db) = PgDatabase::create("migrate_newer").await else {
        return;
    };
    let store = PgStore::open(&db.url, &pg_config()).await.expect("opens");
    sqlx::query("INSERT INTO gate_schema (version) VALUES (7)")
        .execute(store.pool())
        .await
        .expect("a newer gate was here");
    drop(store);
    let e = PgStore::open(&db.url, &pg_config())
        .await
        .err()
        .expect("refused");
    assert!(
        e.detail.contains("version 7") && e.detail.contains("up to 3"),
        "{}",
        e.detail
    );
    let e = PgStore::migrate(&db.url, &pg_config())
        .await
        .expect_err("refused");
    assert!(e.detail.contains("version 7"), "{}", e.detail);
}

/// Writes `row` as a version-1 or -2 gate did: the columns of migration
/// 1 only (no `sample_state`, which the current `write_row` also writes).
async fn write_version_1_row(conn: &mut sqlx::PgConnection, row: &crate::store::RequestRow) {
    let body = serde_json::to_string(row).expect("body");
    sqlx::query("INSERT INTO requests (state, created_at, created_unix, updated_at, deadline, deadline_unix, requester, agent, outcome, tier, roles, action_digest, policy_digest, body, version, id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)")
        .bind(row.state.as_str())
        .bind(&row.created_at)
        .bind(row.created_unix)
        .bind(&row.updated_at)
        .bind(&row.deadline)
        .bind(row.deadline_unix)
        .bind(&row.requester)
        .bind(&row.agent)
        .bind(&row.outcome)
        .bind(row.tier)
        .bind(",")
        .bind(&row.action_digest)
        .bind(&row.policy_digest)
        .bind(body)
        .bind(row.version)
        .bind(&row.id)
        .execute(conn)
        .await
        .expect("a version-1 row");
}

/// A version-2 database (the last before sampled review) with rows, one
/// of them holding a sample review in its body, migrates to version 3:
/// the column is filled from the bodies, the index exists, sample lists
/// answer from it, and the chain goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_2_database_with_rows_migrates_to_version_3() {
    let Some(db) = PgDatabase::create("migrate_v2").await else {
        return;
    };
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect(&db.url)
        .await
        .expect("connects");
    assert_eq!(super::apply(&pool, 2).await.expect("version 2").to, 2);
    {
        use crate::store::sqlite::{AuditLine, chain_lines};
        let mut head = (0, gatehouse::audit::chain::GENESIS_HASH);
        let mut tx = pool.begin().await.expect("begin");
        for n in 0..2 {
            let mut c = change(&format!("req_{n}"));
            if n == 1 {
                c.row.sample_review = Some(serde_json::json!({"state": "open", "ppm": 50000}));
            }
            write_version_1_row(&mut tx, &c.row).await;
            let mut lines: Vec<AuditLine<'_>> = Vec::new();
            head = chain_lines(head, &c, &mut lines).expect("lines");
            for l in &lines {
                sqlx::query(
                    "INSERT INTO audit (seq, request_id, line, hash) VALUES ($1, $2, $3, $4)",
                )
                .bind(l.seq)
                .bind(l.request_id)
                .bind(&l.line)
                .bind(&l.hash)
                .execute(&mut *tx)
                .await
                .expect("audit");
            }
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2")
                .bind(head.0)
                .bind(gatehouse::audit::chain::hash_text(&head.1))
                .execute(&mut *tx)
                .await
                .expect("head");
        }
        tx.commit().await.expect("commit");
    }
    let report = PgStore::migrate(&db.url, &pg_config())
        .await
        .expect("upgrades");
    assert_eq!((report.from, report.to, report.applied.len()), (2, 3, 1));
    let states: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, sample_state FROM requests ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("rows");
    assert_eq!(
        states,
        [
            ("req_0".into(), None),
            ("req_1".into(), Some("open".into()))
        ]
    );
    let indexed: bool = sqlx::query_scalar("SELECT to_regclass('requests_sample') IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("index");
    assert!(indexed);
    let store = PgStore::open(&db.url, &pg_config()).await.expect("opens");
    let open = store
        .list(&crate::store::ListFilter {
            sample_states: Some(vec!["open".into()]),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, "req_1");
    store.create(change("req_2")).await.expect("create");
    assert_eq!(chain_is_whole(&store).await, 3, "the chain goes on");
    pool.close().await;
}

/// A throwaway cluster of this test's own (the shared server must not be
/// restarted): initdb as the `postgres` user on a free port.
struct Cluster {
    dir: std::path::PathBuf,
    port: u16,
}

/// Runs a PostgreSQL tool: as the `postgres` user when this runs as root
/// (PostgreSQL refuses root), else as this user.
fn as_postgres(args: &[&str]) -> std::process::Output {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let mut command = if root {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).args(args);
        c
    } else {
        let mut c = std::process::Command::new(args[0]);
        c.args(&args[1..]);
        c
    };
    command.output().expect("the PostgreSQL tools run")
}

/// Where `initdb` and `pg_ctl` are: `GATEHOUSE_TEST_PG_BIN`, else
/// Debian's PostgreSQL 15.
fn bin() -> String {
    std::env::var("GATEHOUSE_TEST_PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into())
}

impl Cluster {
    fn start() -> Cluster {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("gh_pg_cluster_{}", crate::ids::new_id("")));
        std::fs::create_dir_all(&dir).expect("dir");
        // Only root needs to (and can) hand the directory to `postgres`.
        let _ = std::process::Command::new("chown")
            .args(["postgres:postgres", &dir.display().to_string()])
            .status();
        let data = dir.join("data").display().to_string();
        let init = as_postgres(&[
            &format!("{}/initdb", bin()),
            "-D",
            &data,
            "-A",
            "trust",
            "-U",
            "postgres",
        ]);
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let cluster = Cluster { dir, port };
        cluster.ctl("start");
        cluster
    }

    fn ctl(&self, what: &str) {
        let data = self.dir.join("data").display().to_string();
        let log = self.dir.join("log").display().to_string();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let out = as_postgres(&[
            &format!("{}/pg_ctl", bin()),
            "-D",
            &data,
            "-l",
            &log,
            "-o",
            &opts,
            "-w",
            "-m",
            "fast",
            what,
        ]);
        assert!(
            out.status.success(),
            "pg_ctl {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = as_postgres(&[
            &format!("{}/pg_ctl", bin()),
            "-D",
            &data,
            "-m",
            "immediate",
            "stop",
        ]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The database stops under a live store (503 `STORE_UNAVAILABLE`, the
/// change not made), comes back, and the same store works again without
/// being reopened; the feed says Resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_database_is_503_meanwhile_and_the_same_store_recovers() {
    if crate::store::test_support::server_url("restart").is_none() {
        return;
    }
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .expect("starts");
    let config = crate::config::StoreConfig {
        connect_timeout_ms: 1_000,
        ..pg_config()
    };
    let store = PgStore::open(&cluster.url(), &config).await.expect("opens");
    let mut feed = store.feed().expect("feed");
    store.create(change("req_a")).await.expect("create");
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.ctl("stop");
        cluster
    })
    .await
    .expect("stops");
    let e = store
        .create(change("req_b"))
        .await
        .expect_err("the database is down");
    assert_eq!(
        (e.status, e.code),
        (503, "STORE_UNAVAILABLE"),
        "{}",
        e.detail
    );
    assert_eq!(store.ping().await.expect_err("down").status, 503);
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.ctl("start");
        cluster
    })
    .await
    .expect("starts again");
    // The pool reconnects by itself; the first attempts may still find
    // connections that died with the server, so allow a few.
    let mut done = Err(e);
    for _ in 0..50 {
        done = store.create(change("req_b")).await;
        if done.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    done.expect("the same store works again");
    assert!(store.get("req_b").await.expect("get").is_some());
    assert_eq!(chain_is_whole(&store).await, 2);
    let resync = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            if let Ok(crate::store::StoreNote::Resync) = feed.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(resync.is_ok(), "the feed announced a Resync");
    drop(store);
    drop(cluster);
}
