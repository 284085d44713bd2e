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
