//! The API surface through the real binary: the OpenAPI document against
//! the routes the server answers, and bad input at every endpoint. Every
//! refusal is RFC 9457 problem+json with type, title, status, detail and
//! a stable code (`assert_problem`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use reqwest::Method;
use serde_json::{Value as Json, json};

use crate::harness::{Answer, Client, Options, Server, assert_problem, example, shipped_policy};

/// A small body limit and batch size, so 413s are cheap to provoke.
fn small_limits() -> Server {
    Server::start_with(Options {
        config: Some("[limits]\nbody_bytes = 4096\nbatch_size = 3\n".into()),
        ..Options::default()
    })
}

/// A request id that is well formed but names no request.
const ABSENT: &str = "req_0000000000007000800000000000beef";

fn send_text(client: &Client, method: Method, path: &str, ctype: &str, body: &str) -> Answer {
    client.send(
        client
            .request(method, path)
            .header("content-type", ctype)
            .body(body.to_owned()),
    )
}

/// The `(method, path)` pairs of the served OpenAPI document.
fn documented(doc: &Json) -> BTreeSet<(Method, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            out.insert((method, path.clone()));
        }
    }
    out
}

#[test]
fn the_served_openapi_document_is_the_checked_in_one_and_every_route_in_it_answers() {
    let server = Server::start();
    let anonymous = server.anonymous();
    let served = anonymous.send(anonymous.request(Method::GET, "/openapi.json"));
    assert_eq!(served.status, 200, "{}", served.text);
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/gatehouse-server/openapi.json");
    assert_eq!(served.text, std::fs::read_to_string(file).unwrap());
    assert_eq!(served.json["openapi"], "3.1.0");
    let routes = documented(&served.json);
    assert!(routes.len() >= 20, "{routes:?}");

    // Every documented operation is routed: none answers "no route" or
    // "method not allowed"; every other method on a documented path is 405.
    let admin = server.as_token(&server.admin);
    let paths: BTreeSet<&String> = routes.iter().map(|(_, p)| p).collect();
    for path in paths {
        let concrete = path.replace("{id}", ABSENT);
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            let a = send_text(&admin, method.clone(), &concrete, "application/json", "{}");
            if routes.contains(&(method.clone(), path.clone())) {
                assert_ne!(a.status, 405, "{method} {path}: {}", a.text);
                assert_ne!(a.json["code"], "NO_ROUTE", "{method} {path}: {}", a.text);
            } else {
                assert_problem(&a, 405, "METHOD_NOT_ALLOWED");
                // RFC 9110: a 405 says which methods the path takes.
                let allow = a.headers["allow"].to_str().unwrap().to_owned();
                for (m, p) in &routes {
                    if p == path {
                        assert!(allow.contains(m.as_str()), "{path}: allow {allow}");
                    }
                }
            }
        }
    }
}

#[test]
fn unknown_routes_are_404_problems_and_bad_ids_are_404_at_every_id_route() {
    let server = Server::start();
    let admin = server.as_token(&server.admin);
    let a = admin.send(admin.request(Method::GET, "/v1/nothing-here"));
    assert_problem(&a, 404, "NO_ROUTE");
    let a = admin.send(admin.request(Method::GET, "/v2/requests"));
    assert_problem(&a, 404, "NO_ROUTE");

    let long = format!("req_{}", "a".repeat(5000));
    for id in [
        "nope",
        "req_XYZ",
        ABSENT,
        long.as_str(),
        "req_%00",
        "..%2F..%2Fetc",
    ] {
        for (method, tail) in [
            (Method::GET, ""),
            (Method::GET, "/audit"),
            (Method::GET, "/wait?timeout=0"),
            (Method::GET, "/events"),
            (Method::POST, "/decisions"),
            (Method::POST, "/cancel"),
            (Method::POST, "/claim"),
            (Method::POST, "/executed"),
            (Method::POST, "/verified"),
        ] {
            let body = if tail == "/decisions" {
                json!({"decision": "approve", "reason": "ok"})
            } else {
                json!({})
            };
            let a = send_text(
                &admin,
                method.clone(),
                &format!("/v1/requests/{id}{tail}"),
                "application/json",
                &body.to_string(),
            );
            assert_problem(&a, 404, "NOT_FOUND");
            assert!(
                a.text.len() < 1024,
                "the id is not echoed whole: {}",
                a.text.len()
            );
        }
    }
    let a = admin.send(admin.request(Method::DELETE, "/v1/admin/keys/ghk_000000000000"));
    assert_problem(&a, 404, "NOT_FOUND");
}

/// Every endpoint that reads a body, with the body it takes when valid.
fn body_endpoints(id: &str) -> Vec<(String, Json)> {
    vec![
        ("/v1/decide".into(), example("refund-small.json")),
        ("/v1/requests".into(), example("refund-small.json")),
        (
            format!("/v1/requests/{id}/decisions"),
            json!({"decision": "approve", "reason": "checked"}),
        ),
        (format!("/v1/requests/{id}/cancel"), json!({"reason": "no"})),
        (
            format!("/v1/requests/{id}/claim"),
            example("refund-small.json"),
        ),
        (
            format!("/v1/requests/{id}/executed"),
            json!({"result": "ok"}),
        ),
        (
            format!("/v1/requests/{id}/verified"),
            json!({"matched": true}),
        ),
        (
            "/v1/admin/keys".into(),
            json!({"identity": "x", "scopes": ["read"]}),
        ),
    ]
}

#[test]
fn bad_bodies_are_refused_with_problems_at_every_endpoint_that_reads_one() {
    let server = small_limits();
    let admin = server.as_token(&server.admin);
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let id = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deep = format!("{}{}", "[".repeat(1500), "]".repeat(1500));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(600), "}".repeat(600));
    let oversized = json!({"padding": "x".repeat(10_000)}).to_string();
    for (path, good) in body_endpoints(&id) {
        // Not JSON, duplicate keys, too deep: 400 INVALID_JSON. (Decide is
        // the exception: it answers such text as `eval` does, a `block`
        // decision, except for a batch, which must parse.)
        for bad in [
            "{".to_owned(),
            "{\"a\": 1, \"a\": 2}".to_owned(),
            deep_object.clone(),
            "\u{feff}nonsense".to_owned(),
        ] {
            let a = send_text(&admin, Method::POST, &path, "application/json", &bad);
            if path == "/v1/decide" {
                assert_eq!(a.status, 200, "{path} {bad:.40}: {}", a.text);
                assert_eq!(a.json["outcome"], "block", "{}", a.text);
                assert_eq!(a.json["reasons"][0]["code"], "INVALID_INPUT", "{}", a.text);
            } else {
                assert_problem(&a, 400, "INVALID_JSON");
            }
        }
        let a = send_text(&admin, Method::POST, &path, "application/json", &deep);
        assert_problem(&a, 400, "INVALID_JSON");
        // Wrong media type.
        for ctype in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/xml",
        ] {
            let a = send_text(&admin, Method::POST, &path, ctype, &good.to_string());
            assert_problem(&a, 415, "UNSUPPORTED_MEDIA_TYPE");
        }
        // Over the body limit (4096 bytes here).
        let a = send_text(&admin, Method::POST, &path, "application/json", &oversized);
        assert_problem(&a, 413, "BODY_TOO_LARGE");
        // Bytes that are not UTF-8.
        let a = admin.send(
            admin
                .request(Method::POST, &path)
                .header("content-type", "application/json")
                .body(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']),
        );
        assert_problem(&a, 400, "INVALID_JSON");
    }
}

#[test]
fn unknown_and_ill_typed_fields_are_422_with_their_json_path() {
    let server = Server::start();
    let admin = server.as_token(&server.admin);
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let id = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = [
        (
            format!("/v1/requests/{id}/decisions"),
            json!({"decision": "approve", "reason": "ok", "approver": "mallory"}),
            "$.approver",
        ),
        (
            format!("/v1/requests/{id}/decisions"),
            json!({"decision": "maybe", "reason": "ok"}),
            "$.decision",
        ),
        (
            format!("/v1/requests/{id}/decisions"),
            json!({"decision": "approve", "reason": 7}),
            "$.reason",
        ),
        (
            format!("/v1/requests/{id}/decisions"),
            json!({"decision": "approve", "reason": "x".repeat(5000)}),
            "$.reason",
        ),
        (
            format!("/v1/requests/{id}/cancel"),
            json!({"reason": "no", "force": true}),
            "$.force",
        ),
        (
            "/v1/admin/keys".to_owned(),
            json!({"identity": "x", "scopes": ["read"], "admin": true}),
            "$.admin",
        ),
        (
            "/v1/admin/keys".to_owned(),
            json!({"identity": "x", "scopes": ["read", "root"]}),
            "$.scopes[1]",
        ),
        (
            format!("/v1/requests/{id}/executed"),
            json!(["not", "an", "object"]),
            "$",
        ),
    ];
    for (path, body, at) in cases {
        let a = admin.send(
            admin
                .request(Method::POST, &path)
                .header("content-type", "application/json")
                .body(body.to_string()),
        );
        assert_problem(&a, 422, "INVALID_BODY");
        let paths: Vec<&str> = a.json["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("errors in {}", a.text))
            .iter()
            .filter_map(|e| e["path"].as_str())
            .collect();
        assert_eq!(paths, [at], "{path}: {}", a.text);
    }
    // Nothing of the refused reviews stuck.
    let (_, request) = admin.get(&format!("/v1/requests/{id}"));
    assert_eq!(request["state"], "pending");
    assert_eq!(request["approvals"], json!([]));
}

#[test]
fn bad_query_parameters_are_refused() {
    let server = Server::start();
    let admin = server.as_token(&server.admin);
    let id = admin.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (query, name) in [
        ("state=bogus", "query.state"),
        ("state=pending,", "query.state"),
        ("tier=-1", "query.tier"),
        ("tier=one", "query.tier"),
        ("limit=-5", "query.limit"),
        ("limit=99999999999999999999", "query.limit"),
        ("min_age=soon", "query.min_age"),
        ("max_age=1e3", "query.max_age"),
        ("before=nope", "query.before"),
        ("colour=red", "query.colour"),
        ("agent=%ZZ", "query.agent"),
        ("agent=%FF", "query.agent"),
    ] {
        let a = admin.send(admin.request(Method::GET, &format!("/v1/requests?{query}")));
        assert_problem(&a, 422, "INVALID_BODY");
        assert_eq!(a.json["errors"][0]["path"], name, "{query}: {}", a.text);
    }
    let huge = format!("/v1/requests?agent={}", "a".repeat(5000));
    let a = admin.send(admin.request(Method::GET, &huge));
    assert_eq!(a.status / 100, 4, "{}", a.text);
    for query in [
        "timeout=soon",
        "state=bogus",
        "since_version=x",
        "colour=red",
    ] {
        let a = admin.send(admin.request(Method::GET, &format!("/v1/requests/{id}/wait?{query}")));
        assert_problem(&a, 400, "INVALID_QUERY");
    }
    for query in ["after=x", "limit=-1", "colour=red"] {
        let a = admin.send(admin.request(Method::GET, &format!("/v1/audit?{query}")));
        assert_problem(&a, 400, "INVALID_QUERY");
    }
}

#[test]
fn credentials_are_checked_before_anything_else() {
    let server = Server::start();
    let anonymous = server.anonymous();
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    for (method, path) in [
        (Method::POST, "/v1/decide"),
        (Method::POST, "/v1/requests"),
        (Method::GET, "/v1/requests"),
        (Method::GET, "/v1/audit"),
        (Method::POST, "/v1/admin/reload"),
    ] {
        let a = send_text(&anonymous, method.clone(), path, "text/plain", "{");
        assert_problem(&a, 401, "UNAUTHENTICATED");
        assert!(a.headers.get("www-authenticate").is_some());
        let bad = server.as_token("ghk_000000000000.00");
        let a = send_text(&bad, method.clone(), path, "application/json", "{}");
        assert_problem(&a, 401, "UNAUTHENTICATED");
    }
    // Authenticated without the scope: 403.
    let a = send_text(
        &reader,
        Method::POST,
        "/v1/decide",
        "application/json",
        "{}",
    );
    assert_eq!(a.status, 403, "{}", a.text);
    assert!(a.json["code"].is_string());
}

/// The decision `gatehouse eval` writes for an example action.
fn eval_of(path: &Path) -> Json {
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("eval")
        .arg("--compact")
        .arg("--policy")
        .arg(shipped_policy())
        .arg(path)
        .output()
        .expect("run gatehouse eval");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("eval output: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// A decision without `timeout.expires_at`: the service decides at its
/// clock's now (so a timeout has an end), `eval` without `--now` at none.
/// Everything else must be the same; the service's end is checked to be a
/// timestamp.
fn without_clock(mut decision: Json) -> Json {
    if let Some(timeout) = decision.get_mut("timeout").and_then(Json::as_object_mut)
        && let Some(end) = timeout.remove("expires_at")
    {
        assert!(
            end.is_null() || end.as_str().is_some_and(|t| t.ends_with('Z')),
            "{end}"
        );
    }
    decision
}

#[test]
fn decide_answers_what_eval_answers_for_one_action_and_for_a_batch() {
    let server = small_limits();
    let decider = server.as_token(&server.key("ci", &["decide"], &[]));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/actions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let mut actions = Vec::new();
    let mut expected = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let want = eval_of(file);
        let a = send_text(
            &decider,
            Method::POST,
            "/v1/decide",
            "application/json",
            &text,
        );
        assert_eq!(a.status, 200, "{}: {}", file.display(), a.text);
        assert_eq!(
            without_clock(a.json),
            without_clock(want.clone()),
            "{}",
            file.display()
        );
        if let Ok(action) = serde_json::from_str::<Json>(&text) {
            actions.push(action);
            expected.push(want);
        }
    }
    // Batches of up to 3 (the configured batch_size): the same decisions,
    // in order.
    for (chunk, want) in actions.chunks(3).zip(expected.chunks(3)) {
        let (status, got) = decider.post("/v1/decide", &Json::Array(chunk.to_vec()));
        assert_eq!(status, 200, "{got}");
        let got: Vec<Json> = got
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .map(without_clock)
            .collect();
        let want: Vec<Json> = want.iter().cloned().map(without_clock).collect();
        assert_eq!(got, want);
    }
    let (status, got) = decider.post("/v1/decide", &json!([]));
    assert_eq!((status, got), (200, json!([])));
    // Over the batch limit: 413.
    let four = Json::Array(vec![json!({}); 4]);
    let a = send_text(
        &decider,
        Method::POST,
        "/v1/decide",
        "application/json",
        &four.to_string(),
    );
    assert_problem(&a, 413, "BATCH_TOO_LARGE");
}

/// A validator for one of the document's component schemas (OpenAPI 3.1
/// schemas are JSON Schema 2020-12; `$ref`s resolve inside the document).
fn component(doc: &Json, name: &str) -> jsonschema::Validator {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    jsonschema::draft202012::new(&schema).expect("a valid schema")
}

fn assert_valid(validator: &jsonschema::Validator, what: &str, value: &Json) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?}\n{value}");
}

#[test]
fn answers_match_the_documents_schemas() {
    let server = Server::start();
    let (_, doc) = server.anonymous().get("/openapi.json");
    let agent = server.as_token(&server.key("agent-refunds", &["request", "execute"], &[]));
    let lead = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let request = component(&doc, "Request");
    let problem = component(&doc, "Problem");

    let mut answers = vec![("pending", agent.create(&example("refund-small.json")))];
    answers.push(("blocked", agent.create(&example("invalid-input.json"))));
    answers.push(("approved", agent.create(&example("internal-summary.json"))));
    let id = answers[0].1["id"].as_str().unwrap().to_owned();
    let (_, approved) = lead.review(&id, "approve", "order checked");
    answers.push(("reviewed", approved));
    let (_, claimed) = agent.claim(&id, &example("refund-small.json"));
    answers.push(("claimed", claimed));
    for (what, answer) in &answers {
        assert_valid(&request, what, answer);
    }
    let (_, list) = agent.get("/v1/requests");
    assert_valid(&component(&doc, "RequestList"), "list", &list);
    let (_, health) = server.anonymous().get("/health");
    assert_valid(&component(&doc, "Health"), "health", &health);

    let mut problems = vec![agent.post_text("/v1/requests", "{")];
    problems.push(agent.post_text(&format!("/v1/requests/{id}/claim"), "{}"));
    problems.push(lead.post_text(
        &format!("/v1/requests/{id}/decisions"),
        r#"{"decision":"approve","extra":1}"#,
    ));
    problems.push(server.anonymous().post_text("/v1/requests", "{}"));
    for answer in &problems {
        assert!(answer.status >= 400, "{}", answer.text);
        assert_valid(&problem, &answer.text, &answer.json);
    }
    // The validator does check: a document that breaks the schema fails.
    assert!(!request.is_valid(&json!({"id": "x"})));
    assert!(!problem.is_valid(&json!({"status": 400})));
}

/// Another process holding the database's write lock, so that no request
/// can be created until it lets go.
enum Locker {
    /// SQLite: Python's sqlite3 module (python3 is required by
    /// scripts/test and CI already) in `BEGIN EXCLUSIVE`.
    Sqlite(std::process::Child),
    /// PostgreSQL: a connection in a transaction holding `requests` in
    /// ACCESS EXCLUSIVE mode (every insert and read of it waits).
    Postgres(crate::harness::store::Sql),
}

impl Locker {
    /// Takes the lock; returns once it is held.
    fn lock(server: &Server) -> Locker {
        if crate::harness::store::on_postgres() {
            let mut db = server.sql();
            db.execute("BEGIN");
            db.execute("LOCK TABLE requests IN ACCESS EXCLUSIVE MODE");
            return Locker::Postgres(db);
        }
        let db = server.data_dir().join("gatehouse.db");
        let mut locker = Command::new("python3")
            .arg("-c")
            .arg(
                "import sqlite3, sys\n\
                 c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
                 c.execute('BEGIN EXCLUSIVE')\n\
                 print('locked', flush=True)\n\
                 sys.stdin.read()\n",
            )
            .arg(&db)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 is needed (CI installs it for scripts/consumers.sh)");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(locker.stdout.as_mut().expect("stdout")),
            &mut line,
        )
        .expect("the locker answers");
        assert_eq!(line.trim(), "locked");
        Locker::Sqlite(locker)
    }

    /// Lets go of the lock (the transaction ends with the connection).
    fn release(self) {
        match self {
            Locker::Sqlite(mut child) => {
                drop(child.stdin.take());
                let _ = child.wait();
            }
            Locker::Postgres(db) => db.close(),
        }
    }
}

#[test]
fn a_request_over_the_time_limit_is_a_503_problem_and_the_service_stays_up() {
    // The store waits up to 10 s for a database lock; the request limit
    // here is 300 ms. Another process holds the write lock (see Locker),
    // so a create cannot finish in time. The 503 is logged from a runtime
    // worker thread: before src/cli/serve.rs wrote logs through a
    // duplicate of stderr, that log line waited forever for the stderr
    // lock the CLI's main thread holds, and this request never answered.
    let server = Server::start_with(Options {
        config: Some("[limits]\nrequest_timeout_ms = 300\n".into()),
        ..Options::default()
    });
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let locker = Locker::lock(&server);
    let action = example("refund-small.json").to_string();
    let first = send_text(
        &agent,
        Method::POST,
        "/v1/requests",
        "application/json",
        &action,
    );
    let second = send_text(
        &agent,
        Method::POST,
        "/v1/requests",
        "application/json",
        &action,
    );
    let (status, _) = server.anonymous().get("/health");
    locker.release();
    for a in [&first, &second] {
        assert_problem(a, 503, "REQUEST_TIMEOUT");
        assert_eq!(a.headers["retry-after"], "1");
    }
    assert_eq!(
        status, 200,
        "the service answers while the database is locked"
    );
    // The lock gone, the service answers again.
    let (status, _) = agent.get("/v1/requests");
    assert_eq!(status, 200);
}
