//! The load driver of the replica benchmark: decisions and request
//! lifecycles per second over one or more `gatehouse serve` replicas,
//! the load spread over them round-robin from a fixed number of
//! keep-alive connections. Driven by `run.sh`, which starts the replicas
//! and the database; see benches/replicas/README.md.
//!
//! ```text
//! replica-bench decide    --replicas URL[,URL...] --key KEY --actions DIR  [load flags]
//! replica-bench lifecycle --replicas URL[,URL...] --agent-key KEY --approver-key KEY
//!                         --action FILE [load flags]
//!   load flags: --label NAME --run N --connections C --seconds S --warmup S --out FILE.jsonl
//! replica-bench report --in FILE.jsonl [--out TABLE.md]
//! ```
//!
//! `decide` sends `POST /v1/decide` with the example actions in turn.
//! `lifecycle` runs, per connection, request after request through
//! create (`POST /v1/requests`, agent key) -> approve (`POST
//! /v1/requests/{id}/decisions`, approver key) -> claim (`POST
//! .../claim`, agent key) -> complete (`POST .../executed`, agent key);
//! a lifecycle counts when complete is acknowledged with state
//! `executed`. Each HTTP request goes to the next replica in turn
//! (connection c's k-th request to replica (c + k) mod n), so the four
//! steps of one lifecycle land on different replicas whenever there are
//! several: every step reads what another process wrote.
//!
//! A run appends one JSON line of figures to `--out`; `report` takes the
//! median of each figure over the runs of a (label, mode) and prints the
//! Markdown table. Bounded: every thread stops at the deadline; latencies
//! are kept as microseconds (at most one `u32` per request).

#[path = "../../peers/http/src/http.rs"]
mod http;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use http::{Conn, Url};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("decide") => load(Mode::Decide, &parse(&args[1..])),
        Some("lifecycle") => load(Mode::Lifecycle, &parse(&args[1..])),
        Some("report") => report(&args[1..]),
        _ => die("usage: replica-bench decide|lifecycle|report ... (see src/main.rs)"),
    }
}

fn die(message: &str) -> ! {
    eprintln!("replica-bench: {message}");
    std::process::exit(2)
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Decide,
    Lifecycle,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Decide => "decide",
            Mode::Lifecycle => "lifecycle",
        }
    }
}

struct Options {
    replicas: Vec<Url>,
    key: Option<String>,
    agent_key: Option<String>,
    approver_key: Option<String>,
    /// Decide: one body per example action. Lifecycle: the one action.
    bodies: Vec<String>,
    label: String,
    run: u32,
    connections: usize,
    seconds: f64,
    warmup: f64,
    out: Option<String>,
}

fn parse(args: &[String]) -> Options {
    let mut o = Options {
        replicas: Vec::new(),
        key: None,
        agent_key: None,
        approver_key: None,
        bodies: Vec::new(),
        label: "gatehouse".into(),
        run: 1,
        connections: 32,
        seconds: 10.0,
        warmup: 2.0,
        out: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| die(&format!("{flag} needs a value")));
        let number = || {
            value
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .unwrap_or_else(|| die(&format!("{flag} {value}: not a number")))
        };
        match flag.as_str() {
            "--replicas" => {
                o.replicas = value
                    .split(',')
                    .map(|u| Url::parse(u).unwrap_or_else(|e| die(&e)))
                    .collect()
            }
            "--key" => o.key = Some(value.clone()),
            "--agent-key" => o.agent_key = Some(value.clone()),
            "--approver-key" => o.approver_key = Some(value.clone()),
            "--actions" => o.bodies.extend(actions_in(value)),
            "--action" => o.bodies.push(read_json(value)),
            "--label" => o.label = value.clone(),
            "--run" => o.run = number() as u32,
            "--connections" => o.connections = (number() as usize).max(1),
            "--seconds" => o.seconds = number().max(0.1),
            "--warmup" => o.warmup = number(),
            "--out" => o.out = Some(value.clone()),
            _ => die(&format!("unknown flag {flag}")),
        }
    }
    if o.replicas.is_empty() {
        die("--replicas URL[,URL...] is required");
    }
    if o.bodies.is_empty() {
        die("give --actions DIR (decide) or --action FILE (lifecycle)");
    }
    o
}

/// A file's JSON, re-serialized (so a body is one line of valid JSON).
fn read_json(path: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| die(&format!("{path}: {e}")));
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| die(&format!("{path}: {e}")));
    value.to_string()
}

/// Every `*.json` file of a directory, sorted by name.
fn actions_in(dir: &str) -> Vec<String> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| die(&format!("{dir}: {e}")))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| read_json(&p.to_string_lossy()))
        .collect()
}

/// One connection per replica and the round-robin position.
struct Spread<'a> {
    urls: &'a [Url],
    conns: Vec<Conn>,
    next: usize,
}

impl<'a> Spread<'a> {
    fn new(urls: &'a [Url], start: usize) -> Spread<'a> {
        let conns = urls
            .iter()
            .map(|u| Conn::open(u).unwrap_or_else(|e| die(&format!("{}: {e}", u.authority))))
            .collect();
        Spread {
            urls,
            conns,
            next: start,
        }
    }

    /// POSTs to the next replica in turn.
    fn post(&mut self, path: &str, key: &str, body: &str) -> Result<(u16, String), String> {
        let at = self.next % self.urls.len();
        self.next = self.next.wrapping_add(1);
        self.conns[at].post(&self.urls[at], path, Some(key), body)
    }
}

/// What one thread measured.
#[derive(Default)]
struct Tally {
    /// Per decision, or per whole lifecycle (create sent -> complete read).
    latencies: Vec<u32>,
    /// HTTP requests answered in the measured window.
    requests: usize,
    /// Failed requests (any status but the expected one), whole run.
    errors: usize,
    /// The first failure's status and body.
    first_error: Option<String>,
    /// Lifecycles completed over the whole run, warm-up included (the
    /// script divides the database's counters by it).
    completed_total: usize,
}

impl Tally {
    fn failed(&mut self, what: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what);
        }
    }
}

fn micros(since: Instant) -> u32 {
    u32::try_from(since.elapsed().as_micros()).unwrap_or(u32::MAX)
}

/// One decision per iteration.
fn decide_thread(o: &Options, c: usize, measure_from: Instant, end: Instant) -> Tally {
    let key = o
        .key
        .as_deref()
        .unwrap_or_else(|| die("decide needs --key"));
    let mut spread = Spread::new(&o.replicas, c);
    let mut t = Tally::default();
    let mut i = c * o.bodies.len() / o.connections;
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let body = &o.bodies[i % o.bodies.len()];
        i += 1;
        match spread.post("/v1/decide", key, body) {
            Ok((200, _)) if sent >= measure_from => {
                t.latencies.push(micros(sent));
                t.requests += 1;
            }
            Ok((200, _)) => {}
            Ok((status, answer)) => t.failed(format!("decide answered {status}: {answer}")),
            Err(e) => t.failed(format!("decide: {e}")),
        }
    }
    t
}

/// The id of a created request, and that its state is `pending`.
fn created_id(answer: &str) -> Option<String> {
    let v: Value = serde_json::from_str(answer).ok()?;
    if v["state"] != "pending" {
        return None;
    }
    v["id"].as_str().map(str::to_owned)
}

fn state_is(answer: &str, state: &str) -> bool {
    serde_json::from_str::<Value>(answer).is_ok_and(|v| v["state"] == state)
}

/// One lifecycle per iteration; a failed step abandons that request (it
/// stays where it stopped; the run reports the failure count).
fn lifecycle_thread(o: &Options, c: usize, measure_from: Instant, end: Instant) -> Tally {
    let agent = o.agent_key.as_deref().unwrap_or_else(|| die("--agent-key"));
    let approver = o
        .approver_key
        .as_deref()
        .unwrap_or_else(|| die("--approver-key"));
    let action = &o.bodies[0];
    let approve = json!({"decision": "approve", "reason": "replica benchmark"}).to_string();
    let complete = json!({"result": "succeeded", "tool_call_id": "bench"}).to_string();
    let mut spread = Spread::new(&o.replicas, c);
    let mut t = Tally::default();
    'lifecycles: loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let id = match spread.post("/v1/requests", agent, action) {
            Ok((201, answer)) => match created_id(&answer) {
                Some(id) => id,
                None => {
                    t.failed(format!("create: not pending: {answer}"));
                    continue;
                }
            },
            Ok((status, answer)) => {
                t.failed(format!("create answered {status}: {answer}"));
                continue;
            }
            Err(e) => {
                t.failed(format!("create: {e}"));
                continue;
            }
        };
        let steps = [
            (
                format!("/v1/requests/{id}/decisions"),
                approver,
                &approve,
                "approved",
            ),
            (
                format!("/v1/requests/{id}/claim"),
                agent,
                action,
                "executing",
            ),
            (
                format!("/v1/requests/{id}/executed"),
                agent,
                &complete,
                "executed",
            ),
        ];
        for (path, key, body, state) in &steps {
            match spread.post(path, key, body) {
                Ok((200, answer)) if state_is(&answer, state) => {}
                Ok((status, answer)) => {
                    t.failed(format!("{path} answered {status}: {answer}"));
                    continue 'lifecycles;
                }
                Err(e) => {
                    t.failed(format!("{path}: {e}"));
                    continue 'lifecycles;
                }
            }
        }
        t.completed_total += 1;
        if sent >= measure_from {
            t.latencies.push(micros(sent));
            t.requests += 4;
        }
    }
    t
}

/// Runs the load and appends the figures to `--out`.
fn load(mode: Mode, o: &Options) {
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(o.warmup);
    let end = measure_from + Duration::from_secs_f64(o.seconds);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..o.connections)
            .map(|c| {
                scope.spawn(move || match mode {
                    Mode::Decide => decide_thread(o, c, measure_from, end),
                    Mode::Lifecycle => lifecycle_thread(o, c, measure_from, end),
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| die("a load thread panicked")))
            .collect()
    });
    let mut all: Vec<u32> = Vec::new();
    let (mut requests, mut errors, mut completed_total) = (0, 0, 0);
    let mut first_error = None;
    for t in tallies {
        all.extend(t.latencies);
        requests += t.requests;
        errors += t.errors;
        completed_total += t.completed_total;
        first_error = first_error.or(t.first_error);
    }
    all.sort_unstable();
    let line = json!({
        "label": o.label,
        "mode": mode.name(),
        "replicas": o.replicas.len(),
        "run": o.run,
        "connections": o.connections,
        "seconds": o.seconds,
        "per_second": all.len() as f64 / o.seconds,
        "http_per_second": requests as f64 / o.seconds,
        "p50_ms": quantile(&all, 0.50),
        "p99_ms": quantile(&all, 0.99),
        "count": all.len(),
        "completed_total": completed_total,
        "errors": errors,
        "first_error": first_error.map(|e| e.chars().take(300).collect::<String>()),
    });
    eprintln!(
        "{} {} x{} run {}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
        o.label,
        mode.name(),
        o.replicas.len(),
        o.run,
        line["per_second"].as_f64().unwrap_or(0.0),
        line["p50_ms"].as_f64().unwrap_or(f64::NAN),
        line["p99_ms"].as_f64().unwrap_or(f64::NAN),
        errors
    );
    if let Some(e) = line["first_error"].as_str() {
        eprintln!("  first error: {e}");
    }
    println!("{line}");
    if let Some(path) = &o.out {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|e| die(&format!("{path}: {e}")));
        writeln!(file, "{line}").unwrap_or_else(|e| die(&format!("{path}: {e}")));
    }
}

/// The q-quantile of sorted microseconds, in milliseconds (`None`: no
/// sample).
fn quantile(sorted: &[u32], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let at = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(f64::from(sorted[at]) / 1000.0)
}

/// The median of some figures (the mean of the middle two for an even
/// count).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// The table of medians, one row per (mode, label), in the order first
/// seen in the runs file.
fn report(args: &[String]) {
    let mut input = None;
    let mut output = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| die(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--in" => input = Some(value.clone()),
            "--out" => output = Some(value.clone()),
            _ => die(&format!("unknown flag {flag}")),
        }
    }
    let input = input.unwrap_or_else(|| die("report --in RUNS.jsonl"));
    let text = std::fs::read_to_string(&input).unwrap_or_else(|e| die(&format!("{input}: {e}")));
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| die(&format!("{e}: {line}")));
        let key = (
            v["mode"].as_str().unwrap_or("?").to_owned(),
            v["label"].as_str().unwrap_or("?").to_owned(),
        );
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(v);
    }
    order.sort_by_key(|(mode, _)| mode != "decide");
    let mut table = String::from(
        "| measured | store, replicas | per second (median) | runs: per second | p50 ms | p99 ms | HTTP requests/s | errors |\n\
         |---|---|---:|---|---:|---:|---:|---:|\n",
    );
    for key in &order {
        let runs = &groups[key];
        let figure = |name: &str| median(runs.iter().filter_map(|r| r[name].as_f64()).collect());
        let each: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.0}", r["per_second"].as_f64().unwrap_or(f64::NAN)))
            .collect();
        let errors: u64 = runs.iter().filter_map(|r| r["errors"].as_u64()).sum();
        let what = if key.0 == "decide" {
            "decisions"
        } else {
            "lifecycles"
        };
        table.push_str(&format!(
            "| {what} | {} | {:.0} | {} | {:.2} | {:.2} | {:.0} | {errors} |\n",
            key.1,
            figure("per_second"),
            each.join(", "),
            figure("p50_ms"),
            figure("p99_ms"),
            figure("http_per_second"),
        ));
    }
    print!("{table}");
    if let Some(path) = output {
        std::fs::write(&path, &table).unwrap_or_else(|e| die(&format!("{path}: {e}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        // A run without a figure (NaN) does not count.
        assert_eq!(median(vec![f64::NAN, 5.0, 1.0, 3.0]), 3.0);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn quantiles_are_read_from_the_sorted_microseconds_in_milliseconds() {
        let sorted: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(quantile(&sorted, 0.50), Some(50.0));
        assert_eq!(quantile(&sorted, 0.99), Some(99.0));
        assert_eq!(quantile(&[7], 0.99), Some(0.007));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn a_lifecycle_step_counts_only_with_the_state_it_must_reach() {
        assert_eq!(
            created_id(r#"{"id":"req_1","state":"pending"}"#).as_deref(),
            Some("req_1")
        );
        // Created but not waiting for people (e.g. decided auto): not a
        // lifecycle this benchmark can complete.
        assert_eq!(created_id(r#"{"id":"req_1","state":"approved"}"#), None);
        assert_eq!(created_id("not json"), None);
        assert!(state_is(r#"{"state":"executed"}"#, "executed"));
        assert!(!state_is(r#"{"state":"executing"}"#, "executed"));
        assert!(!state_is("", "executed"));
    }
}
