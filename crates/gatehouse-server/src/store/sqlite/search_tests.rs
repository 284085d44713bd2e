//! The SQLite search against planted rows: what each filter matches, the
//! window's bound, the query plans that keep it, and the measurement
//! behind the documented cost.

mod filters {
    use std::time::Instant;

    use serde_json::json;

    use crate::lifecycle::State;
    use crate::store::SqliteStore;
    use crate::store::{RequestRow, SEARCH_SCAN, SearchFilter, Store as _};

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
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-search-{name}-{}-{}",
            std::process::id(),
            crate::ids::new_id("")
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let store = SqliteStore::open(&dir.join("t.db"), false)
            .await
            .expect("open");
        TempStore { dir, store }
    }

    /// When the `n`th request was made: one a second.
    fn created_of(n: u64) -> i64 {
        1_796_083_200 + i64::try_from(n).unwrap_or(0)
    }

    /// The `n`th request's id: a UUIDv7-like id of its time (ids sort by
    /// creation time, as the gate's do).
    fn id_of(n: u64) -> String {
        format!("req_{:012x}{n:020x}", created_of(n) * 1000)
    }

    /// A stored row: the `n`th request (ids sort by `n`), with a decision
    /// firing `rule`, reviewed by `approver`, and `pad` bytes of input.
    fn row(n: u64, agent: &str, rule: &str, approver: Option<&str>, pad: usize) -> RequestRow {
        RequestRow {
            id: id_of(n),
            state: if approver.is_some() {
                State::Approved
            } else {
                State::Pending
            },
            created_at: "2026-12-01T00:00:00Z".into(),
            created_unix: created_of(n),
            updated_at: "2026-12-01T00:00:00Z".into(),
            deadline: None,
            deadline_unix: None,
            requester: "u-1".into(),
            agent: agent.into(),
            outcome: "explicit".into(),
            tier: Some(2),
            roles: vec![],
            action_digest: "sha256:00".into(),
            policy_digest: "sha256:00".into(),
            input: json!({"action": {"type": "refund", "summary": "x".repeat(pad)}}),
            decision: json!({
                "outcome": "explicit",
                "rules": [{"name": "base", "determining": false}, {"name": rule, "determining": true}],
                "reasons": [{"code": format!("{}_CODE", rule.to_uppercase()), "message": "m"}],
            }),
            approvals: approver
                .map(|a| vec![json!({"review": "approve", "approval": {"approver": a}})])
                .unwrap_or_default(),
            escalated_to: None,
            escalations: 0,
            execution: None,
            verification: None,
            version: 1,
        }
    }

    /// Writes rows straight into the table (the search reads only it).
    async fn plant(store: &SqliteStore, rows: impl Iterator<Item = RequestRow>) {
        let mut writer = store.writer.lock().await;
        sqlx::query("BEGIN")
            .execute(&mut writer.conn)
            .await
            .expect("begin");
        for r in rows {
            crate::store::sqlite::write_row(&mut writer.conn, &r, true)
                .await
                .expect("insert");
        }
        sqlx::query("COMMIT")
            .execute(&mut writer.conn)
            .await
            .expect("commit");
    }

    fn filter(f: impl FnOnce(&mut SearchFilter)) -> SearchFilter {
        let mut out = SearchFilter {
            limit: 50,
            ..SearchFilter::default()
        };
        f(&mut out);
        out
    }

    #[tokio::test]
    async fn filters_match_what_the_decision_and_reviews_recorded() {
        let t = temp_store("filters").await;
        plant(
            &t.store,
            [
                row(1, "a", "r1", Some("alice"), 0),
                row(2, "b", "r2", None, 0),
                row(3, "a", "r2", Some("bob"), 0),
            ]
            .into_iter(),
        )
        .await;
        let ids = |p: crate::store::SearchPage| -> Vec<String> {
            p.rows.into_iter().map(|r| r.id).collect()
        };
        let s = &t.store;
        let r1 = ids(s
            .search(&filter(|f| f.rule = Some("r2".into())))
            .await
            .expect("search"));
        assert_eq!(r1, [id_of(3), id_of(2)]);
        let base = ids(s
            .search(&filter(|f| f.rule = Some("base".into())))
            .await
            .expect("search"));
        assert_eq!(
            base.len(),
            3,
            "a rule that fired without determining counts"
        );
        let reason = ids(s
            .search(&filter(|f| f.reason = Some("R1_CODE".into())))
            .await
            .expect("search"));
        assert_eq!(reason, [id_of(1)]);
        let bob = ids(s
            .search(&filter(|f| f.approver = Some("bob".into())))
            .await
            .expect("search"));
        assert_eq!(bob, [id_of(3)]);
        let none = ids(s
            .search(&filter(|f| f.approver = Some("%".into())))
            .await
            .expect("search"));
        assert!(none.is_empty(), "no patterns");
        let pending_a = ids(s
            .search(&filter(|f| {
                f.agent = Some("b".into());
                f.state = Some(State::Pending);
            }))
            .await
            .expect("search"));
        assert_eq!(pending_a, [id_of(2)]);
        let time = ids(s
            .search(&filter(|f| {
                f.created_after = Some(1_796_083_202);
                f.created_before = Some(1_796_083_203);
            }))
            .await
            .expect("search"));
        assert_eq!(time, [id_of(2)], "[after, before)");
    }

    #[tokio::test]
    async fn a_search_examines_at_most_one_window() {
        let t = temp_store("window").await;
        let scan = u64::from(SEARCH_SCAN);
        // The 3 oldest fire `rare`; the newest SEARCH_SCAN do not.
        plant(
            &t.store,
            (1..=scan + 3).map(|n| row(n, "a", if n <= 3 { "rare" } else { "common" }, None, 0)),
        )
        .await;
        let first = t
            .store
            .search(&filter(|f| f.rule = Some("rare".into())))
            .await
            .expect("search");
        assert!(first.rows.is_empty());
        assert_eq!(first.scanned, SEARCH_SCAN);
        assert!(first.window_ended);
        assert_eq!(first.next_before, Some(id_of(4)));
        let second = t
            .store
            .search(&filter(|f| {
                f.rule = Some("rare".into());
                f.before_id = first.next_before.clone();
            }))
            .await
            .expect("search");
        assert_eq!(second.rows.len(), 3);
        assert_eq!(second.scanned, 3);
        assert_eq!((second.next_before, second.window_ended), (None, false));
        // A full page says where the next starts, whatever the window.
        let page = t
            .store
            .search(&filter(|f| f.limit = 2))
            .await
            .expect("search");
        assert_eq!(page.rows.len(), 2);
        assert_eq!(page.next_before, Some(id_of(scan + 2)));
        assert!(!page.window_ended);
    }

    #[tokio::test]
    async fn a_creation_range_moves_the_window_to_it() {
        let t = temp_store("range").await;
        let scan = u64::from(SEARCH_SCAN);
        plant(&t.store, (1..=2 * scan).map(|n| row(n, "a", "r", None, 0))).await;
        // Old requests are found at once, not after the newer windows.
        let old = t
            .store
            .search(&filter(|f| f.created_before = Some(created_of(4))))
            .await
            .expect("search");
        let ids: Vec<String> = old.rows.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, [id_of(3), id_of(2), id_of(1)]);
        assert_eq!(old.next_before, None);
        // A range's start ends the window: nothing older is looked at.
        let recent = t
            .store
            .search(&filter(|f| {
                f.created_after = Some(created_of(2 * scan - 1));
                f.rule = Some("none".into());
            }))
            .await
            .expect("search");
        assert!(recent.rows.is_empty());
        assert!(
            recent.scanned <= 2 + 2 * 60,
            "within the range and its margin"
        );
        assert_eq!((recent.next_before, recent.window_ended), (None, false));
    }

    /// The measurement behind [`SEARCH_SCAN`]'s documented cost: 100 000
    /// requests of ~2 KB. A measurement, not a check (no timed
    /// assertion); run it with
    /// `cargo test -p gatehouse-server --lib measure_search -- --ignored --nocapture`.
    #[tokio::test]
    #[ignore = "a measurement (prints timings): run with --ignored --nocapture"]
    async fn measure_search_on_100k() {
        let t = temp_store("measure").await;
        let total = 100_000u64;
        plant(
            &t.store,
            (1..=total).map(|n| {
                let rule = if n <= 10 { "rare" } else { "common" };
                let approver = (n % 7 == 0).then_some("alice");
                row(n, if n % 2 == 0 { "a" } else { "b" }, rule, approver, 1800)
            }),
        )
        .await;
        for (name, f) in [
            (
                "rule=rare (window exhausted)",
                filter(|f| f.rule = Some("rare".into())),
            ),
            (
                "reason=RARE_CODE (window exhausted)",
                filter(|f| f.reason = Some("RARE_CODE".into())),
            ),
            (
                "approver=nobody (window exhausted)",
                filter(|f| f.approver = Some("nobody".into())),
            ),
            (
                "agent=c (column, window exhausted)",
                filter(|f| f.agent = Some("c".into())),
            ),
            (
                "rule=common (page of 50)",
                filter(|f| f.rule = Some("common".into())),
            ),
            (
                "approver=alice (page of 50)",
                filter(|f| f.approver = Some("alice".into())),
            ),
            ("no filter (page of 200)", filter(|f| f.limit = 200)),
        ] {
            let started = Instant::now();
            let runs = 5;
            let mut page = None;
            for _ in 0..runs {
                page = Some(t.store.search(&f).await.expect("search"));
            }
            let page = page.expect("ran");
            println!(
                "{name}: {:?} per call, {} rows, {} examined",
                started.elapsed() / runs,
                page.rows.len(),
                page.scanned
            );
        }
        // The overview's read of a window with no request in it: the id
        // bound stops the scan at once; without it the whole table is read.
        for after_id in [Some(id_of(total)), None] {
            let started = Instant::now();
            let rows = t
                .store
                .list(&crate::store::ListFilter {
                    created_after: Some(i64::MAX - 1),
                    after_id: after_id.clone(),
                    limit: crate::console::overview::OVERVIEW_MAX,
                    ..Default::default()
                })
                .await
                .expect("list");
            println!(
                "overview, empty window, id bound {}: {} rows in {:?}",
                after_id.is_some(),
                rows.len(),
                started.elapsed()
            );
        }
        // The overview's read and aggregation at its cap (10 000 rows).
        let started = Instant::now();
        let rows = t
            .store
            .list(&crate::store::ListFilter {
                created_after: Some(0),
                after_id: Some(id_of(total - 12_000)),
                limit: crate::console::overview::OVERVIEW_MAX,
                ..Default::default()
            })
            .await
            .expect("list");
        let read = started.elapsed();
        let o = crate::console::review_stats::aggregate(&rows, &rows, 1_796_000_000, 1_796_300_000);
        println!(
            "overview: read {} rows in {read:?}, aggregated in {:?} ({} rules)",
            rows.len(),
            started.elapsed() - read,
            o.per_rule.len()
        );
    }
}

mod plans {
    use sqlx::Row as _;

    use super::super::{Bounds, edge_sql, page_sql};
    use crate::lifecycle::State;
    use crate::store::SearchFilter;
    use crate::store::SqliteStore;

    /// SQLite's plan for `sql` (every parameter bound as text).
    async fn plan(store: &SqliteStore, sql: &str) -> String {
        let params = sql.matches('?').count();
        let text = format!("EXPLAIN QUERY PLAN {sql}");
        let mut raw = sqlx::query(&text);
        for _ in 0..params {
            raw = raw.bind("x");
        }
        let rows = raw.fetch_all(&store.readers).await.expect("plan");
        rows.iter()
            .map(|r| r.get::<String, _>(3))
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// Every filter combination reads the window through an index range
    /// (never a scan of the table): the bound is the plan's, not luck's.
    #[tokio::test]
    async fn searches_read_an_index_range() {
        let dir = std::env::temp_dir().join(format!("gatehouse-plans-{}", crate::ids::new_id("")));
        std::fs::create_dir_all(&dir).expect("dir");
        let store = SqliteStore::open(&dir.join("t.db"), false)
            .await
            .expect("open");
        let all = SearchFilter {
            agent: Some("a".into()),
            rule: Some("r".into()),
            reason: Some("c".into()),
            approver: Some("p".into()),
            outcome: Some("dual".into()),
            created_after: Some(1),
            created_before: Some(2),
            before_id: Some("req_1".into()),
            ..SearchFilter::default()
        };
        for f in [
            SearchFilter::default(),
            all.clone(),
            SearchFilter {
                state: Some(State::Pending),
                ..SearchFilter::default()
            },
            SearchFilter {
                state: Some(State::Pending),
                ..all.clone()
            },
        ] {
            // The window's extent: from an index alone, in index order
            // (the LIMIT stops it), no sort.
            let edge = plan(&store, &edge_sql(&f, &Bounds::of(&f))).await;
            assert!(edge.contains("USING COVERING INDEX"), "{f:?}: {edge}");
            assert!(!edge.contains("TEMP B-TREE"), "{f:?}: {edge}");
            // The page: a range of an index, bounded below by the window's
            // oldest id, in index order (stops at the limit), no sort.
            let page = plan(&store, &page_sql(&f, &Bounds::of(&f))).await;
            assert!(
                page.starts_with("SEARCH requests USING INDEX"),
                "{f:?}: {page}"
            );
            assert!(page.contains("id>?"), "{f:?}: {page}");
            assert!(!page.contains("TEMP B-TREE"), "{f:?}: {page}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
