//! The store contract: one body per behaviour, run against both stores
//! (`<test>::sqlite` and `<test>::postgres`). PostgreSQL runs in a fresh
//! database on `GATEHOUSE_TEST_DATABASE_URL` (see test_support.rs).

use serde_json::json;

use super::test_support::{Subject, chain_is_whole, change, record, row};
use crate::error::GateError;
use crate::lifecycle::State;
use crate::store::{
    ApiKeyRow, AuditEvent, IdempotencyKey, IdempotentAnswer, ListFilter, Notice, RequestRow,
    SEARCH_SCAN, SearchFilter, SessionRow,
};

/// One test module per behaviour, with a test for each store.
macro_rules! contract {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let s = super::Subject::sqlite().await;
                super::bodies::$name(&s).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(s) =
                    super::Subject::postgres(concat!(stringify!($name), "::postgres")).await
                else {
                    return;
                };
                super::bodies::$name(&s).await;
            }
        }
    };
}

contract!(by_deadline_lists_the_soonest_first_and_keeps_them_under_the_limit);
contract!(actionable_by_keeps_the_roles_requests_and_the_open_ones);
contract!(list_bounded_stops_at_the_byte_budget_in_order);
contract!(list_filters_narrow_and_page_by_id);
contract!(search_filters_match_what_the_decision_and_reviews_recorded);
contract!(a_search_examines_at_most_one_window);
contract!(a_creation_range_moves_the_window_to_it);
contract!(changes_chain_their_records_and_bump_the_version);
contract!(a_refused_or_failed_change_writes_nothing);
contract!(keys_policies_and_sessions_round_trip);
contract!(deliveries_are_written_with_the_change_and_settled);
contract!(due_lists_pending_requests_past_their_deadline);
contract!(audit_pages_are_bounded_by_lines_and_bytes);

fn ids(rows: Vec<RequestRow>) -> Vec<String> {
    rows.into_iter().map(|r| r.id).collect()
}

/// The search tests' rows: the `n`th request (ids sort by `n`, one a
/// second), firing `rule`, reviewed by `approver`.
mod planted {
    use super::*;

    pub(super) fn created_of(n: u64) -> i64 {
        1_796_083_200 + i64::try_from(n).unwrap_or(0)
    }

    pub(super) fn id_of(n: u64) -> String {
        format!("req_{:012x}{n:020x}", created_of(n) * 1000)
    }

    pub(super) fn row(n: u64, agent: &str, rule: &str, approver: Option<&str>) -> RequestRow {
        let mut r = super::row(&id_of(n));
        r.state = if approver.is_some() {
            State::Approved
        } else {
            State::Pending
        };
        r.created_unix = created_of(n);
        r.agent = agent.into();
        r.decision = json!({
            "outcome": "explicit",
            "rules": [{"name": "base", "determining": false}, {"name": rule, "determining": true}],
            "reasons": [{"code": format!("{}_CODE", rule.to_uppercase()), "message": "m"}],
        });
        r.approvals = approver
            .map(|a| vec![json!({"review": "approve", "approval": {"approver": a}})])
            .unwrap_or_default();
        r
    }

    pub(super) fn filter(f: impl FnOnce(&mut SearchFilter)) -> SearchFilter {
        let mut out = SearchFilter {
            limit: 50,
            ..SearchFilter::default()
        };
        f(&mut out);
        out
    }
}

mod bodies {
    use super::planted::{created_of, filter, id_of};
    use super::*;

    /// `by_deadline` gives the soonest deadlines (none last, then by id),
    /// and its limit keeps the most urgent: the console's queue relies on it.
    pub(super) async fn by_deadline_lists_the_soonest_first_and_keeps_them_under_the_limit(
        s: &Subject,
    ) {
        let store = s.store();
        for (id, deadline) in [
            ("req_a", Some(300)),
            ("req_b", None),
            ("req_c", Some(100)),
            ("req_d", Some(200)),
            ("req_e", None),
        ] {
            let mut c = change(id);
            c.row.deadline_unix = deadline;
            store.create(c).await.expect("create");
        }
        let all = ListFilter {
            states: vec![State::Pending],
            limit: 10,
            by_deadline: true,
            ..Default::default()
        };
        let listed = store.list(&all).await.expect("list");
        assert_eq!(ids(listed), ["req_c", "req_d", "req_a", "req_b", "req_e"]);
        let two = ListFilter { limit: 2, ..all };
        assert_eq!(
            ids(store.list(&two).await.expect("list")),
            ["req_c", "req_d"]
        );
    }

    /// `actionable_by` keeps the requests one of the roles can act on, and
    /// those any reviewer can (no roles listed); `%` and `_` in a role name
    /// are literal.
    pub(super) async fn actionable_by_keeps_the_roles_requests_and_the_open_ones(s: &Subject) {
        let store = s.store();
        for (id, roles) in [
            ("req_a", vec!["finance"]),
            ("req_b", vec![]),
            ("req_c", vec!["support_lead", "ops"]),
            ("req_d", vec!["supportXlead"]),
        ] {
            let mut c = change(id);
            c.row.roles = roles.into_iter().map(str::to_owned).collect();
            store.create(c).await.expect("create");
        }
        let list = async |roles: &[&str]| {
            let filter = ListFilter {
                limit: 10,
                actionable_by: Some(roles.iter().map(|r| (*r).to_owned()).collect()),
                ..Default::default()
            };
            let mut ids = ids(store.list(&filter).await.expect("list"));
            ids.sort();
            ids
        };
        assert_eq!(list(&["support_lead"]).await, ["req_b", "req_c"]);
        assert_eq!(list(&["finance", "ops"]).await, ["req_a", "req_b", "req_c"]);
        assert_eq!(list(&[]).await, ["req_b"]);
        let role = ListFilter {
            limit: 10,
            role: Some("support_lead".into()),
            ..Default::default()
        };
        assert_eq!(ids(store.list(&role).await.expect("list")), ["req_c"]);
    }

    /// `list_bounded` keeps the list's order and stops once the bodies read
    /// pass the budget, saying rows were left unread.
    pub(super) async fn list_bounded_stops_at_the_byte_budget_in_order(s: &Subject) {
        let store = s.store();
        for i in 0..100i64 {
            let mut c = change(&format!("req_{i:03}"));
            c.row.deadline_unix = Some(10_000 - i);
            c.row.input = json!({"pad": "x".repeat(4_000)});
            store.create(c).await.expect("create");
        }
        let filter = ListFilter {
            states: vec![State::Pending],
            limit: 1_000,
            by_deadline: true,
            ..Default::default()
        };
        let (all, cut) = store.list_bounded(&filter, usize::MAX).await.expect("list");
        assert_eq!(all.len(), 100);
        assert!(!cut);
        assert_eq!(all[0].id, "req_099", "soonest deadline first");
        let (some, cut) = store.list_bounded(&filter, 50_000).await.expect("list");
        assert!(cut, "rows were left unread");
        assert!(some.len() < 100 && some.len() >= 12, "{}", some.len());
        let want: Vec<String> = all.iter().take(some.len()).map(|r| r.id.clone()).collect();
        assert_eq!(ids(some), want, "the soonest ones, in order");
    }

    /// Every list filter narrows; ids page newest first.
    pub(super) async fn list_filters_narrow_and_page_by_id(s: &Subject) {
        let store = s.store();
        for (i, id) in ["req_1", "req_2", "req_3", "req_4"].into_iter().enumerate() {
            let mut c = change(id);
            let i = i64::try_from(i).expect("small");
            c.row.tier = Some(i % 2);
            c.row.agent = format!("agent-{}", i % 2);
            c.row.requester = format!("user-{i}");
            c.row.created_unix = 1_000 + i;
            if i == 3 {
                c.row.state = State::Approved;
            }
            store.create(c).await.expect("create");
        }
        let list = async |f: ListFilter| {
            ids(store
                .list(&ListFilter { limit: 10, ..f })
                .await
                .expect("list"))
        };
        assert_eq!(
            list(ListFilter::default()).await,
            ["req_4", "req_3", "req_2", "req_1"]
        );
        assert_eq!(
            list(ListFilter {
                states: vec![State::Approved],
                ..Default::default()
            })
            .await,
            ["req_4"]
        );
        assert_eq!(
            list(ListFilter {
                tier: Some(1),
                ..Default::default()
            })
            .await,
            ["req_4", "req_2"]
        );
        assert_eq!(
            list(ListFilter {
                agent: Some("agent-0".into()),
                ..Default::default()
            })
            .await,
            ["req_3", "req_1"]
        );
        assert_eq!(
            list(ListFilter {
                created_before: Some(1_001),
                ..Default::default()
            })
            .await,
            ["req_2", "req_1"]
        );
        assert_eq!(
            list(ListFilter {
                created_after: Some(1_001),
                ..Default::default()
            })
            .await,
            ["req_4", "req_3"]
        );
        assert_eq!(
            list(ListFilter {
                before_id: Some("req_3".into()),
                ..Default::default()
            })
            .await,
            ["req_2", "req_1"]
        );
        assert_eq!(
            list(ListFilter {
                after_id: Some("req_2".into()),
                ..Default::default()
            })
            .await,
            ["req_4", "req_3"]
        );
        assert_eq!(
            list(ListFilter {
                requesters: Some(vec!["user-0".into(), "user-2".into()]),
                ..Default::default()
            })
            .await,
            ["req_3", "req_1"]
        );
        assert!(
            list(ListFilter {
                requesters: Some(vec![]),
                ..Default::default()
            })
            .await
            .is_empty()
        );
        assert_eq!(
            ids(store
                .list(&ListFilter {
                    limit: 1,
                    ..Default::default()
                })
                .await
                .expect("list")),
            ["req_4"]
        );
        let mut tiers = store.pending_by_tier().await.expect("tiers");
        tiers.sort();
        assert_eq!(tiers, [(Some(0), 2), (Some(1), 1)]);
    }

    pub(super) async fn search_filters_match_what_the_decision_and_reviews_recorded(s: &Subject) {
        s.plant(
            [
                planted::row(1, "a", "r1", Some("alice")),
                planted::row(2, "b", "r2", None),
                planted::row(3, "a", "r2", Some("bob")),
            ]
            .into_iter(),
        )
        .await;
        let store = s.store();
        let found = async |f: SearchFilter| -> Vec<String> {
            ids(store.search(&f).await.expect("search").rows)
        };
        assert_eq!(
            found(filter(|f| f.rule = Some("r2".into()))).await,
            [id_of(3), id_of(2)]
        );
        assert_eq!(
            found(filter(|f| f.rule = Some("base".into()))).await.len(),
            3,
            "a rule that fired without determining counts"
        );
        assert_eq!(
            found(filter(|f| f.reason = Some("R1_CODE".into()))).await,
            [id_of(1)]
        );
        assert_eq!(
            found(filter(|f| f.approver = Some("bob".into()))).await,
            [id_of(3)]
        );
        assert!(
            found(filter(|f| f.approver = Some("%".into())))
                .await
                .is_empty(),
            "no patterns"
        );
        assert!(
            found(filter(|f| f.approver = Some("\"bob\"".into())))
                .await
                .is_empty()
        );
        let pending_b = found(filter(|f| {
            f.agent = Some("b".into());
            f.state = Some(State::Pending);
        }))
        .await;
        assert_eq!(pending_b, [id_of(2)]);
        assert_eq!(
            found(filter(|f| f.outcome = Some("explicit".into())))
                .await
                .len(),
            3
        );
        let time = found(filter(|f| {
            f.created_after = Some(1_796_083_202);
            f.created_before = Some(1_796_083_203);
        }))
        .await;
        assert_eq!(time, [id_of(2)], "[after, before)");
    }

    pub(super) async fn a_search_examines_at_most_one_window(s: &Subject) {
        let scan = u64::from(SEARCH_SCAN);
        // The 3 oldest fire `rare`; the newest SEARCH_SCAN do not.
        s.plant(
            (1..=scan + 3)
                .map(|n| planted::row(n, "a", if n <= 3 { "rare" } else { "common" }, None)),
        )
        .await;
        let store = s.store();
        let first = store
            .search(&filter(|f| f.rule = Some("rare".into())))
            .await
            .expect("search");
        assert!(first.rows.is_empty());
        assert_eq!(first.scanned, SEARCH_SCAN);
        assert!(first.window_ended);
        assert_eq!(first.next_before, Some(id_of(4)));
        let second = store
            .search(&filter(|f| {
                f.rule = Some("rare".into());
                f.before_id = first.next_before.clone();
            }))
            .await
            .expect("search");
        assert_eq!(second.rows.len(), 3);
        assert_eq!(second.scanned, 3);
        assert_eq!((second.next_before, second.window_ended), (None, false));
        let page = store
            .search(&filter(|f| f.limit = 2))
            .await
            .expect("search");
        assert_eq!(page.rows.len(), 2);
        assert_eq!(page.next_before, Some(id_of(scan + 2)));
        assert!(!page.window_ended);
    }

    pub(super) async fn a_creation_range_moves_the_window_to_it(s: &Subject) {
        let scan = u64::from(SEARCH_SCAN);
        s.plant((1..=2 * scan).map(|n| planted::row(n, "a", "r", None)))
            .await;
        let store = s.store();
        let old = store
            .search(&filter(|f| f.created_before = Some(created_of(4))))
            .await
            .expect("search");
        assert_eq!(ids(old.rows), [id_of(3), id_of(2), id_of(1)]);
        assert_eq!(old.next_before, None);
        let recent = store
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

    /// Creations and updates append records to one chain the engine's
    /// verifier accepts; each update bumps the version; `audit_of` gives a
    /// request's own records.
    pub(super) async fn changes_chain_their_records_and_bump_the_version(s: &Subject) {
        let store = s.store();
        store.create(change("req_a")).await.expect("create");
        store.create(change("req_b")).await.expect("create");
        let updated = store
            .update("req_a", &mut |mut r| {
                r.state = State::Approved;
                Ok(crate::store::Change {
                    events: vec![AuditEvent {
                        request_id: r.id.clone(),
                        record: record(&r.id, "pending", "approved"),
                    }],
                    row: r,
                    remember: None,
                    notify: Vec::new(),
                })
            })
            .await
            .expect("update");
        assert_eq!((updated.state, updated.version), (State::Approved, 2));
        let read = store.get("req_a").await.expect("get").expect("exists");
        assert_eq!(read, updated, "what is read is what was written");
        assert_eq!(chain_is_whole(&*store).await, 3);
        let of_a: Vec<i64> = store
            .audit_of("req_a")
            .await
            .expect("audit")
            .iter()
            .map(|l| l.0)
            .collect();
        assert_eq!(of_a, [1, 3]);
        assert!(store.get("req_none").await.expect("get").is_none());
        let missing = store
            .update("req_none", &mut |r| {
                Ok(crate::store::Change {
                    row: r,
                    events: vec![],
                    remember: None,
                    notify: vec![],
                })
            })
            .await;
        assert_eq!(missing.expect_err("no such request").status, 404);
    }

    /// A refused change (apply says no), a duplicate id and a duplicate
    /// idempotency key leave nothing behind: no row, no record, no answer.
    pub(super) async fn a_refused_or_failed_change_writes_nothing(s: &Subject) {
        let store = s.store();
        let key = IdempotencyKey {
            principal: "p".into(),
            key: "k".into(),
        };
        let answer = IdempotentAnswer {
            fingerprint: "f".into(),
            status: 201,
            body: "{}".into(),
        };
        let mut first = change("req_a");
        first.remember = Some((key.clone(), answer.clone()));
        store.create(first).await.expect("create");
        assert_eq!(
            store.idempotent(&key).await.expect("read"),
            Some(answer.clone())
        );

        let duplicate = store
            .create(change("req_a"))
            .await
            .expect_err("the id exists");
        assert_eq!((duplicate.status, duplicate.code), (409, "REQUEST_EXISTS"));
        let mut same_key = change("req_b");
        same_key.remember = Some((
            key.clone(),
            IdempotentAnswer {
                body: "other".into(),
                ..answer.clone()
            },
        ));
        store.create(same_key).await.expect_err("the key exists");
        assert!(
            store.get("req_b").await.expect("get").is_none(),
            "nothing half-written"
        );
        assert_eq!(store.idempotent(&key).await.expect("read"), Some(answer));

        let refused = store
            .update("req_a", &mut |_| Err(GateError::conflict("NO", "refused")))
            .await
            .expect_err("refused");
        assert_eq!(refused.code, "NO");
        // The row is written before the records are linked: a record that
        // is not a JSON object fails the change after the row's UPDATE,
        // which must be rolled back with it.
        let failed = store
            .update("req_a", &mut |r| {
                Ok(crate::store::Change {
                    row: r,
                    events: vec![AuditEvent {
                        request_id: "req_a".into(),
                        record: "[1]".into(),
                    }],
                    remember: None,
                    notify: vec![],
                })
            })
            .await;
        assert!(
            failed.is_err(),
            "a record that is not an object fails the change"
        );
        assert_eq!(
            store.get("req_a").await.expect("get").expect("row").version,
            1
        );
        assert_eq!(chain_is_whole(&*store).await, 1);
    }

    pub(super) async fn keys_policies_and_sessions_round_trip(s: &Subject) {
        let store = s.store();
        let key = |id: &str, at: &str| ApiKeyRow {
            id: id.into(),
            hash: format!("hash-{id}"),
            identity: "ci".into(),
            scopes: vec!["requests:create".into(), "requests:read".into()],
            roles: vec!["lead".into()],
            created_at: at.into(),
            revoked: false,
        };
        store
            .insert_key(&key("ghk_b", "2026-01-02"))
            .await
            .expect("insert");
        store
            .insert_key(&key("ghk_a", "2026-01-02"))
            .await
            .expect("insert");
        store
            .insert_key(&key("ghk_c", "2026-01-01"))
            .await
            .expect("insert");
        assert!(
            store.insert_key(&key("ghk_a", "2026-01-03")).await.is_err(),
            "ids are unique"
        );
        let listed: Vec<String> = store
            .keys()
            .await
            .expect("keys")
            .into_iter()
            .map(|k| k.id)
            .collect();
        assert_eq!(listed, ["ghk_c", "ghk_a", "ghk_b"], "by creation, then id");
        assert_eq!(
            store.key_by_hash("hash-ghk_a").await.expect("read"),
            Some(key("ghk_a", "2026-01-02"))
        );
        assert!(store.revoke_key("ghk_a").await.expect("revoke"));
        assert!(!store.revoke_key("ghk_zz").await.expect("revoke"));
        assert!(
            store
                .key_by_hash("hash-ghk_a")
                .await
                .expect("read")
                .expect("kept")
                .revoked
        );

        let sources = json!({"main.yaml": "rules: []"});
        store.save_policy("sha256:p", &sources).await.expect("save");
        store
            .save_policy("sha256:p", &sources)
            .await
            .expect("saving again is fine");
        assert_eq!(
            store.policy_sources("sha256:p").await.expect("read"),
            Some(sources)
        );
        assert_eq!(store.policy_sources("sha256:q").await.expect("read"), None);

        let session = |hash: &str, expires: i64| SessionRow {
            hash: hash.into(),
            identity: "alice".into(),
            method: "oidc".into(),
            csrf: "c".into(),
            created_unix: 100,
            expires_unix: expires,
        };
        store
            .insert_session(&session("old", 150), 100)
            .await
            .expect("insert");
        store
            .insert_session(&session("new", 500), 200)
            .await
            .expect("insert (prunes old)");
        assert_eq!(
            store.session("new", 200).await.expect("read"),
            Some(session("new", 500))
        );
        assert_eq!(
            store.session("new", 500).await.expect("read"),
            None,
            "expired"
        );
        assert_eq!(
            store.session("old", 100).await.expect("read"),
            None,
            "pruned"
        );
        assert!(store.delete_session("new").await.expect("delete"));
        assert!(!store.delete_session("new").await.expect("delete"));
    }

    /// Outbox rows are written with the change, handed out when due, and
    /// settled: delivered (removed), retried later, or given up (kept).
    pub(super) async fn deliveries_are_written_with_the_change_and_settled(s: &Subject) {
        let store = s.store();
        let mut c = change("req_a");
        c.notify = [
            "https://a.example/hook",
            "https://b.example/hook",
            "https://c.example/hook",
        ]
        .into_iter()
        .map(|r| Notice {
            receiver: r.into(),
            body: format!("{{\"to\":\"{r}\"}}"),
        })
        .collect();
        store.create(c).await.expect("create");
        assert_eq!(store.deliveries_waiting().await.expect("count"), 3);
        let due = store.deliveries_due(1_000, 10).await.expect("due");
        assert_eq!(due.len(), 3);
        assert!(
            due.iter()
                .all(|d| d.attempts == 0 && d.body.contains(&d.receiver))
        );
        store
            .delivery_done(&due[0].id, None, None)
            .await
            .expect("delivered");
        store
            .delivery_done(&due[1].id, Some("503"), Some(5_000))
            .await
            .expect("retry");
        store
            .delivery_done(&due[2].id, Some("410"), None)
            .await
            .expect("given up");
        assert_eq!(store.deliveries_waiting().await.expect("count"), 1);
        assert!(
            store
                .deliveries_due(4_999, 10)
                .await
                .expect("due")
                .is_empty()
        );
        let again = store.deliveries_due(5_000, 10).await.expect("due");
        assert_eq!(again.len(), 1);
        assert_eq!(
            (again[0].id.as_str(), again[0].attempts),
            (due[1].id.as_str(), 1)
        );
    }

    pub(super) async fn due_lists_pending_requests_past_their_deadline(s: &Subject) {
        let store = s.store();
        for (id, deadline, state) in [
            ("req_a", Some(300), State::Pending),
            ("req_b", Some(100), State::Pending),
            ("req_c", Some(50), State::Approved),
            ("req_d", None, State::Pending),
            ("req_e", Some(900), State::Pending),
        ] {
            let mut c = change(id);
            c.row.deadline_unix = deadline;
            c.row.state = state;
            store.create(c).await.expect("create");
        }
        assert_eq!(store.due(300, 10).await.expect("due"), ["req_b", "req_a"]);
        assert_eq!(store.due(300, 1).await.expect("due"), ["req_b"]);
        assert!(store.due(99, 10).await.expect("due").is_empty());
    }

    pub(super) async fn audit_pages_are_bounded_by_lines_and_bytes(s: &Subject) {
        let store = s.store();
        for n in 0..5 {
            store
                .create(change(&format!("req_{n}")))
                .await
                .expect("create");
        }
        let seqs = |page: &[(i64, String)]| page.iter().map(|(s, _)| *s).collect::<Vec<_>>();
        let (page, more) = store.audit_after(0, 2, usize::MAX).await.expect("page");
        assert_eq!((seqs(&page), more), (vec![1, 2], true));
        let (page, more) = store.audit_after(3, 2, usize::MAX).await.expect("page");
        assert_eq!((seqs(&page), more), (vec![4, 5], false), "exactly the end");
        let (page, more) = store.audit_after(0, 100, 1).await.expect("page");
        assert_eq!((seqs(&page), more), (vec![1], true));
        let one = page[0].1.len();
        let (page, more) = store.audit_after(1, 100, 2 * one + 2).await.expect("page");
        assert_eq!((seqs(&page), more), (vec![2, 3], true));
        let (page, more) = store.audit_after(5, 100, 1).await.expect("page");
        assert_eq!((seqs(&page), more), (vec![], false));
    }
}
