//! Operations: `/metrics` parses as Prometheus text and its counters move
//! with the flows; `/health` and `/ready` on a healthy service (the
//! degraded health of a refused reload is in reload.rs; `/ready` while
//! draining is in durability.rs).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Options, Server, example, shipped_policy};
use crate::webhooks::{Receiver, Reply, webhook_toml};

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The parsed exposition: `TYPE` by family, and the samples in order.
struct Exposition {
    types: HashMap<String, String>,
    samples: Vec<Sample>,
}

impl Exposition {
    /// The value of `name` with exactly these labels (0 when absent).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map_or(0.0, |s| s.value)
    }

    /// Whether a sample with exactly these labels was exposed at all.
    fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .any(|s| s.name == name && s.labels == want)
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses the Prometheus text format 0.0.4, failing on anything a
/// scraper would reject: a bad name, label or value, a sample before its
/// family's `TYPE`, a family typed twice, a histogram whose buckets are
/// not cumulative or whose `+Inf` bucket differs from its count.
fn parse_prometheus(text: &str) -> Exposition {
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    let mut types = HashMap::new();
    let mut samples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(valid_name(name), "{at}");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "{at}"
                    );
                    assert!(
                        types.insert(name.to_owned(), kind.to_owned()).is_none(),
                        "{at}: typed twice"
                    );
                }
                (Some("HELP"), Some(name), Some(_)) => assert!(valid_name(name), "{at}"),
                _ => {}
            }
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => panic!("{at}: no value"),
        };
        assert!(valid_name(name), "{at}");
        let mut labels = BTreeMap::new();
        let rest = if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let end;
            loop {
                let (i, c) = *chars.peek().unwrap_or_else(|| panic!("{at}: unclosed"));
                if c == '}' {
                    end = i;
                    break;
                }
                let start = i;
                while chars.peek().is_some_and(|(_, c)| *c != '=') {
                    chars.next();
                }
                let (eq, _) = chars.next().unwrap_or_else(|| panic!("{at}: no ="));
                let label = &body[start..eq];
                assert!(valid_name(label) && !label.starts_with("__"), "{at}");
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{at}");
                let mut value = String::new();
                loop {
                    match chars.next().unwrap_or_else(|| panic!("{at}: open quote")).1 {
                        '"' => break,
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => panic!("{at}: bad escape {other:?}"),
                        },
                        c => value.push(c),
                    }
                }
                assert!(labels.insert(label.to_owned(), value).is_none(), "{at}");
                if chars.peek().is_some_and(|(_, c)| *c == ',') {
                    chars.next();
                }
            }
            &body[end + 1..]
        } else {
            rest
        };
        let mut parts = rest.trim_start_matches(' ').split(' ');
        let value = parts.next().unwrap_or("");
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().unwrap_or_else(|_| panic!("{at}: bad value")),
        };
        if let Some(ts) = parts.next() {
            ts.parse::<i64>()
                .unwrap_or_else(|_| panic!("{at}: bad timestamp"));
        }
        assert!(parts.next().is_none(), "{at}: trailing text");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "{at}: no TYPE before it");
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    // Histograms: cumulative buckets ending in +Inf == _count.
    for (family, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let buckets: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.name == format!("{family}_bucket"))
            .collect();
        assert!(!buckets.is_empty(), "{family}: no buckets");
        let mut last = (f64::NEG_INFINITY, 0.0);
        for b in &buckets {
            let le = &b.labels["le"];
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            assert!(le > last.0 && b.value >= last.1, "{family}: not cumulative");
            last = (le, b.value);
        }
        assert_eq!(last.0, f64::INFINITY, "{family}: no +Inf bucket");
        let count = samples
            .iter()
            .find(|s| s.name == format!("{family}_count"))
            .unwrap_or_else(|| panic!("{family}: no _count"));
        assert_eq!(count.value, last.1, "{family}: +Inf bucket != count");
    }
    Exposition { types, samples }
}

fn scrape(server: &Server) -> Exposition {
    let a = server
        .anonymous()
        .send(server.anonymous().request(reqwest::Method::GET, "/metrics"));
    assert_eq!(a.status, 200, "{}", a.text);
    let ct = a.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    parse_prometheus(&a.text)
}

#[test]
fn the_parser_rejects_what_a_scraper_rejects() {
    // The parser is what the metrics test trusts: it must refuse bad text.
    for bad in [
        "x 1\n",                                   // no TYPE
        "# TYPE x counter\nx{a=\"1} 1\n",          // open quote
        "# TYPE x counter\nx one\n",               // bad value
        "# TYPE x counter\n# TYPE x gauge\nx 1\n", // typed twice
        "# TYPE 1x counter\n",                     // bad name
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 1\n",
        "# TYPE x counter\nx 1", // no final newline
    ] {
        let refused = std::panic::catch_unwind(|| parse_prometheus(bad)).is_err();
        assert!(refused, "accepted: {bad:?}");
    }
    let ok = parse_prometheus("# HELP x X.\n# TYPE x counter\nx{a=\"q\\\"\"} 3\n");
    assert_eq!(ok.get("x", &[("a", "q\"")]), 3.0);
}

#[test]
fn metrics_parse_as_prometheus_text_and_move_with_the_flows() {
    // Tier 5 (robot operations) times out in 2 s here, so an expiry
    // happens during the test; a receiver that always fails gives a
    // webhook failure.
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    for entry in std::fs::read_dir(shipped_policy()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap();
        let text = if name == "main.gate" {
            assert!(text.contains("timeout  1h then block"));
            text.replace("timeout  1h then block", "timeout  2s then block")
        } else {
            text
        };
        std::fs::write(policies.join(name), text).unwrap();
    }
    let hook = Receiver::start(|_| Reply::Status(500));
    let server = Server::start_with(Options {
        policy: Some(policies),
        config: Some(format!(
            "sweep_interval_ms = 100\n{}",
            webhook_toml(
                &hook.url,
                "GH_TEST_HOOK_SECRET",
                "events = [\"approved\"]\nmax_attempts = 1"
            )
        )),
        env: vec![("GH_TEST_HOOK_SECRET".into(), "s".into())],
        ..Options::default()
    });
    let agent =
        server.as_token(&server.key("agent-refunds", &["decide", "request", "execute"], &[]));
    let lead = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));

    let m = scrape(&server);
    for (family, kind) in [
        ("gatehouse_decisions_total", "counter"),
        ("gatehouse_requests_created_total", "counter"),
        ("gatehouse_transitions_total", "counter"),
        ("gatehouse_pending_requests", "gauge"),
        ("gatehouse_time_to_decision_seconds", "histogram"),
        ("gatehouse_expiries_total", "counter"),
        ("gatehouse_webhook_deliveries_total", "counter"),
        ("gatehouse_webhook_failures_total", "counter"),
        ("gatehouse_webhook_backlog", "gauge"),
        ("gatehouse_reload_failures_total", "counter"),
    ] {
        assert_eq!(
            m.types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    assert_eq!(
        m.get("gatehouse_decisions_total", &[("outcome", "explicit")]),
        0.0
    );
    assert_eq!(m.get("gatehouse_time_to_decision_seconds_count", &[]), 0.0);

    // decide
    let (status, _) = agent.post("/v1/decide", &example("refund-small.json"));
    assert_eq!(status, 200);
    let (status, _) = agent.post("/v1/decide", &json!([example("internal-summary.json")]));
    assert_eq!(status, 200);
    let m = scrape(&server);
    assert_eq!(
        m.get("gatehouse_decisions_total", &[("outcome", "explicit")]),
        1.0
    );
    assert_eq!(
        m.get("gatehouse_decisions_total", &[("outcome", "auto")]),
        1.0
    );

    // create
    let request = agent.create(&example("refund-small.json"));
    let id = request["id"].as_str().unwrap();
    let m = scrape(&server);
    assert_eq!(
        m.get(
            "gatehouse_requests_created_total",
            &[("outcome", "explicit")]
        ),
        1.0
    );
    assert_eq!(m.get("gatehouse_pending_requests", &[("tier", "3")]), 1.0);
    assert_eq!(
        m.get("gatehouse_transitions_total", &[("state", "pending")]),
        1.0
    );

    // approve: a human decision, timed; the webhook for `approved` fails
    let (status, body) = lead.review(id, "approve", "checked");
    assert_eq!(status, 200, "{body}");
    let m = scrape(&server);
    assert_eq!(
        m.get("gatehouse_transitions_total", &[("state", "approved")]),
        1.0
    );
    assert_eq!(m.get("gatehouse_time_to_decision_seconds_count", &[]), 1.0);
    assert_eq!(
        m.get(
            "gatehouse_time_to_decision_seconds_bucket",
            &[("le", "+Inf")]
        ),
        1.0
    );
    assert_eq!(m.get("gatehouse_pending_requests", &[("tier", "3")]), 0.0);
    // A tier with nothing pending is a zero, not a missing line: every tier
    // of the shipped policy is exposed.
    for tier in ["0", "1", "2", "3", "4", "5"] {
        assert!(
            m.has("gatehouse_pending_requests", &[("tier", tier)]),
            "tier {tier}"
        );
    }

    // expire: a tier-5 request passes its 2 s deadline and is blocked
    let robot = agent.create(&example("robot-operation.json"));
    assert_eq!(robot["state"], "pending", "{robot}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let m = loop {
        let m = scrape(&server);
        if m.get("gatehouse_expiries_total", &[]) >= 1.0 {
            break m;
        }
        assert!(Instant::now() < deadline, "no expiry counted");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(m.get("gatehouse_expiries_total", &[]), 1.0);
    assert_eq!(
        m.get("gatehouse_transitions_total", &[("state", "blocked")]),
        1.0
    );

    // webhook failure (one attempt, then given up)
    hook.wait_for(1);
    let deadline = Instant::now() + Duration::from_secs(60);
    let m = loop {
        let m = scrape(&server);
        if m.get(
            "gatehouse_webhook_deliveries_total",
            &[("result", "given_up")],
        ) >= 1.0
        {
            break m;
        }
        assert!(Instant::now() < deadline, "no webhook failure counted");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(m.get("gatehouse_webhook_failures_total", &[]), 1.0);
    assert_eq!(m.get("gatehouse_webhook_backlog", &[]), 0.0, "given up");
    assert_eq!(
        m.get(
            "gatehouse_webhook_deliveries_total",
            &[("result", "delivered")]
        ),
        0.0
    );
}

#[test]
fn health_and_ready_answer_without_credentials_on_a_healthy_service() {
    let server = Server::start();
    let (status, health) = server.anonymous().get("/health");
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["policy"]["name"], "ai-agent-actions");
    assert!(
        health["policy"]["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:") && d.len() == 71),
        "{health}"
    );
    assert!(health["reload"]["error"].is_null());
    assert_eq!(health["reload"]["reloads"], 0);
    let (status, ready) = server.anonymous().get("/ready");
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ready");
    // The digest /health reports is the one decisions are made under.
    let agent = server.as_token(&server.key("agent", &["decide"], &[]));
    let (_, d) = agent.post("/v1/decide", &example("refund-small.json"));
    assert_eq!(d["policy"]["digest"], health["policy"]["digest"]);
}
