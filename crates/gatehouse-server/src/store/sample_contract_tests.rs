//! The store contract for sampled review (both stores, as in
//! contract_tests.rs): the `sample_state` column follows the body's
//! `sample_review.state` through every write, and lists filter and order
//! by it.

use serde_json::json;

use super::test_support::{Subject, change};
use crate::store::{Change, ListFilter, RequestRow};

macro_rules! contract {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let s = super::Subject::sqlite().await;
                super::$name(&s).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(s) =
                    super::Subject::postgres(concat!(stringify!($name), "::postgres")).await
                else {
                    return;
                };
                super::$name(&s).await;
            }
        }
    };
}

contract!(the_sample_state_follows_the_body_and_lists_filter_by_it);

fn sampled(id: &str, state: &str) -> Change {
    let mut c = change(id);
    c.row.sample_review = Some(json!({"state": state, "rate": "5%", "ppm": 50000}));
    c
}

fn ids(rows: Vec<RequestRow>) -> Vec<String> {
    rows.into_iter().map(|r| r.id).collect()
}

async fn the_sample_state_follows_the_body_and_lists_filter_by_it(s: &Subject) {
    let store = s.store();
    store.create(sampled("req_a", "open")).await.expect("a");
    store.create(change("req_b")).await.expect("b");
    store.create(sampled("req_c", "open")).await.expect("c");
    let list = |states: Option<Vec<&str>>, oldest_first: bool| {
        let store = store.clone();
        let filter = ListFilter {
            sample_states: states.map(|v| v.into_iter().map(str::to_owned).collect()),
            oldest_first,
            limit: 10,
            ..ListFilter::default()
        };
        async move { ids(store.list(&filter).await.expect("list")) }
    };
    assert_eq!(list(Some(vec!["open"]), false).await, ["req_c", "req_a"]);
    assert_eq!(list(Some(vec!["open"]), true).await, ["req_a", "req_c"]);
    assert_eq!(list(None, true).await, ["req_a", "req_b", "req_c"]);
    assert!(list(Some(vec![]), false).await.is_empty());
    assert!(list(Some(vec!["confirmed"]), false).await.is_empty());

    // A verdict written through `update` moves the column with the body.
    store
        .update("req_a", &mut |mut row| {
            row.sample_review = Some(json!({"state": "confirmed", "reviewer": "rita"}));
            Ok(Change {
                row,
                events: Vec::new(),
                remember: None,
                notify: Vec::new(),
            })
        })
        .await
        .expect("update");
    assert_eq!(list(Some(vec!["open"]), false).await, ["req_c"]);
    assert_eq!(list(Some(vec!["confirmed"]), false).await, ["req_a"]);
    assert_eq!(
        list(Some(vec!["confirmed", "rejected", "open"]), true).await,
        ["req_a", "req_c"]
    );
    // A body whose state is not text (or no review at all) is in no
    // sample list: the column is NULL, never a guess.
    store
        .update("req_c", &mut |mut row| {
            row.sample_review = Some(json!({"state": 7}));
            Ok(Change {
                row,
                events: Vec::new(),
                remember: None,
                notify: Vec::new(),
            })
        })
        .await
        .expect("update");
    assert!(list(Some(vec!["open"]), false).await.is_empty());
    // The bounded list (the console's) answers the same.
    let (rows, cut) = store
        .list_bounded(
            &ListFilter {
                sample_states: Some(vec!["confirmed".into()]),
                oldest_first: true,
                limit: 10,
                ..ListFilter::default()
            },
            1 << 20,
        )
        .await
        .expect("bounded");
    assert_eq!(ids(rows), ["req_a"]);
    assert!(!cut);
    let a = store.get("req_a").await.expect("get").expect("a");
    assert_eq!(
        a.sample_review.as_ref().and_then(|r| r.get("reviewer")),
        Some(&json!("rita"))
    );
}
