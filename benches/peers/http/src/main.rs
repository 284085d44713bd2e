//! Decisions per second over HTTP keep-alive: `gatehouse serve` beside
//! Cerbos and cedar-agent, on the 15-rule matrix and the corpus of the peers
//! harness (benches/peers). Driven by `run-http.sh`, which starts the
//! servers; see benches/peers/http/README.md.
//!
//! ```text
//! http-bench cedar-policies OUT.json       # matrix.cedar as cedar-agent's policy file
//! http-bench run --gatehouse URL,TOKEN --cerbos URL --cedar URL
//!                [--create-full URL,TOKEN] [--create-normal URL,TOKEN]
//!                [--inputs N] [--seconds S] [--warmup S] [--connections C] [--output FILE]
//! ```
//!
//! `run` first checks that the three servers give the same outcome on every
//! input (and exits 1 on the first disagreement, timing nothing), then runs
//! a bounded load against each: C keep-alive connections, one thread each,
//! each sending the corpus in turn (from its own offset) for S seconds after
//! a warm-up. Latency is per request, from the first byte written to the
//! last byte read. The load generator shares the cores with the server, as
//! wrk does on one machine.

#[path = "../../src/corpus.rs"]
#[allow(dead_code)]
mod corpus;
mod http;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use http::Conn;

const LEVELS: [&str; 5] = ["auto", "queue", "explicit", "dual", "block"];
const MATRIX_CEDAR: &str = include_str!("../../policies/matrix.cedar");

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("cedar-policies") => {
            let out = args
                .get(1)
                .unwrap_or_else(|| die("cedar-policies OUT.json"));
            std::fs::write(out, cedar_agent_policies().to_string())
                .unwrap_or_else(|e| die(&format!("{out}: {e}")));
        }
        Some("run") => run(&args[1..]),
        _ => die("usage: http-bench cedar-policies OUT.json | http-bench run ..."),
    }
}

fn die(message: &str) -> ! {
    eprintln!("http-bench: {message}");
    std::process::exit(2)
}

/// matrix.cedar split into one policy per `@id`, as cedar-agent loads them
/// (`[{id, content}]`). cedar-agent 0.2 embeds Cedar 2.4, which has no
/// `e has a.b` (Cedar 4): each such test is spelled as two `has`.
fn cedar_agent_policies() -> Value {
    let mut policies = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in MATRIX_CEDAR.lines() {
        let line = line.trim_end();
        if line.starts_with("//") || line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("@id(\"") {
            if let Some(done) = current.take() {
                policies.push(done);
            }
            let id = rest.split('"').next().unwrap_or_default().to_owned();
            current = Some((id, String::new()));
            continue;
        }
        if let Some((_, content)) = current.as_mut() {
            content.push_str(line);
            content.push('\n');
        }
    }
    policies.extend(current);
    assert_eq!(policies.len(), 17, "15 rules and 2 evidence policies");
    let rewritten: Vec<Value> = policies
        .into_iter()
        .map(|(id, content)| {
            let content = content
                .replace(
                    "context has change_window.open",
                    "context has change_window && context.change_window has open",
                )
                .replace(
                    "context has evidence.impact_estimate",
                    "context has evidence && context.evidence has impact_estimate",
                )
                .replace(
                    "context has evidence.rollback_plan",
                    "context has evidence && context.evidence has rollback_plan",
                );
            json!({"id": id, "content": content})
        })
        .collect();
    Value::Array(rewritten)
}

/// The level of each Cedar policy id, from its `@level` annotation.
fn cedar_levels() -> BTreeMap<String, u8> {
    let mut levels = BTreeMap::new();
    for line in MATRIX_CEDAR.lines() {
        let Some(rest) = line.strip_prefix("@id(\"") else {
            continue;
        };
        let id = rest.split('"').next().unwrap_or_default();
        let level = line
            .split("@level(\"")
            .nth(1)
            .and_then(|l| l.split('"').next())
            .and_then(level_of)
            .unwrap_or_else(|| die(&format!("no @level on {id}")));
        levels.insert(id.to_owned(), level);
    }
    levels
}

fn level_of(name: &str) -> Option<u8> {
    LEVELS.iter().position(|l| *l == name).map(|i| i as u8)
}

/// One server under test: how to ask it about one input, and how to read
/// the outcome from its answer.
struct Target {
    name: String,
    url: http::Url,
    token: Option<String>,
    path: &'static str,
    /// The request bodies, one per input.
    bodies: Vec<String>,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Gatehouse,
    Cerbos,
    Cedar,
    Create,
}

impl Target {
    fn outcome(&self, answer: &str, levels: &BTreeMap<String, u8>) -> Result<u8, String> {
        let v: Value = serde_json::from_str(answer).map_err(|e| format!("{e}: {answer}"))?;
        match self.kind {
            Kind::Gatehouse | Kind::Create => v["outcome"]
                .as_str()
                .and_then(level_of)
                .ok_or_else(|| format!("no outcome in {answer}")),
            Kind::Cerbos => {
                let actions = &v["results"][0]["actions"];
                if !actions.is_object() {
                    return Err(format!("no actions in {answer}"));
                }
                let mut level = 0;
                for (i, name) in LEVELS.iter().enumerate() {
                    if actions[*name] == "EFFECT_ALLOW" {
                        level = i as u8;
                    }
                }
                Ok(level)
            }
            Kind::Cedar => {
                let errors = v["diagnostics"]["errors"].as_array().map_or(0, Vec::len);
                if errors > 0 {
                    return Err(format!("policy evaluation errors: {answer}"));
                }
                let reasons = v["diagnostics"]["reason"]
                    .as_array()
                    .ok_or_else(|| format!("no diagnostics in {answer}"))?;
                let mut level = 0;
                for id in reasons {
                    let id = id.as_str().unwrap_or_default();
                    let l = levels
                        .get(id)
                        .ok_or_else(|| format!("unknown policy {id}"))?;
                    level = level.max(*l);
                }
                Ok(level)
            }
        }
    }
}

fn bodies(kind: Kind, values: &[Value], texts: &[String]) -> Vec<String> {
    match kind {
        Kind::Gatehouse | Kind::Create => texts.to_vec(),
        Kind::Cerbos => values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                json!({
                    "requestId": i.to_string(),
                    "principal": {"id": "agent", "roles": ["agent"]},
                    "resources": [{
                        "actions": LEVELS,
                        "resource": {"kind": "action", "id": i.to_string(), "attr": v},
                    }],
                })
                .to_string()
            })
            .collect(),
        Kind::Cedar => values
            .iter()
            .map(|v| {
                json!({
                    "principal": "Agent::\"agent\"",
                    "action": "Action::\"propose\"",
                    "resource": "Target::\"target\"",
                    "context": v,
                })
                .to_string()
            })
            .collect(),
    }
}

struct Options {
    targets: Vec<Target>,
    inputs: usize,
    seconds: f64,
    warmup: f64,
    connections: usize,
    output: Option<String>,
}

fn parse(args: &[String]) -> Options {
    let mut o = Options {
        targets: Vec::new(),
        inputs: 2_000,
        seconds: 10.0,
        warmup: 2.0,
        connections: 32,
        output: None,
    };
    let mut specs = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| die(&format!("{flag} needs a value")));
        let number = || {
            value
                .parse::<f64>()
                .unwrap_or_else(|_| die(&format!("{flag} {value}: not a number")))
        };
        match flag.as_str() {
            "--gatehouse" => specs.push(("gatehouse /v1/decide", Kind::Gatehouse, value)),
            "--cerbos" => specs.push(("Cerbos CheckResources", Kind::Cerbos, value)),
            "--cedar" => specs.push(("cedar-agent is_authorized", Kind::Cedar, value)),
            "--create-full" => specs.push(("gatehouse create, sync=full", Kind::Create, value)),
            "--create-normal" => specs.push(("gatehouse create, sync=normal", Kind::Create, value)),
            "--inputs" => o.inputs = number() as usize,
            "--seconds" => o.seconds = number(),
            "--warmup" => o.warmup = number(),
            "--connections" => o.connections = number() as usize,
            "--output" => o.output = Some(value.clone()),
            _ => die(&format!("unknown flag {flag}")),
        }
    }
    let (values, texts) = corpus::generate(o.inputs.max(1));
    for (name, kind, spec) in specs {
        let (url, token) = match spec.split_once(',') {
            Some((u, t)) => (u, Some(t.to_owned())),
            None => (spec.as_str(), None),
        };
        let path = match kind {
            Kind::Gatehouse => "/v1/decide",
            Kind::Create => "/v1/requests",
            Kind::Cerbos => "/api/check/resources",
            Kind::Cedar => "/v1/is_authorized",
        };
        o.targets.push(Target {
            name: name.to_owned(),
            url: http::Url::parse(url).unwrap_or_else(|e| die(&e)),
            token,
            path,
            bodies: bodies(kind, &values, &texts),
            kind,
        });
    }
    o.connections = o.connections.max(1);
    o
}

/// Every decision server gives every input the same outcome.
fn agree(o: &Options, levels: &BTreeMap<String, u8>) {
    let deciders: Vec<&Target> = o
        .targets
        .iter()
        .filter(|t| t.kind != Kind::Create)
        .collect();
    let mut conns: Vec<Conn> = deciders
        .iter()
        .map(|t| Conn::open(&t.url).unwrap_or_else(|e| die(&format!("{}: {e}", t.name))))
        .collect();
    let mut counts = [0usize; 5];
    for i in 0..o.inputs {
        let mut answers = Vec::new();
        for (t, conn) in deciders.iter().zip(conns.iter_mut()) {
            let (status, body) = conn
                .post(&t.url, t.path, t.token.as_deref(), &t.bodies[i])
                .unwrap_or_else(|e| die(&format!("{}: {e}", t.name)));
            if status != 200 {
                die(&format!("{} answered {status}: {body}", t.name));
            }
            let outcome = t
                .outcome(&body, levels)
                .unwrap_or_else(|e| die(&format!("{} on input {i}: {e}", t.name)));
            answers.push(outcome);
        }
        if answers.windows(2).any(|w| w[0] != w[1]) {
            eprintln!("disagreement on input {i}: {}", deciders[0].bodies[i]);
            for (t, a) in deciders.iter().zip(&answers) {
                eprintln!("  {}: {}", t.name, LEVELS[*a as usize]);
            }
            std::process::exit(1);
        }
        if let Some(a) = answers.first() {
            counts[*a as usize] += 1;
        }
    }
    let spread: Vec<String> = LEVELS
        .iter()
        .zip(counts)
        .map(|(l, c)| format!("{l} {c}"))
        .collect();
    eprintln!(
        "agreement: {} servers, {} inputs, same outcome on every one ({})",
        deciders.len(),
        o.inputs,
        spread.join(", ")
    );
}

/// One load run's figures.
struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: usize,
}

/// C connections, one thread each, for `seconds` (after `warmup`), each
/// sending the bodies in turn from its own offset. Bounded: every thread
/// stops at the deadline; latencies are kept as microseconds.
fn load(t: &Target, o: &Options) -> Figures {
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(o.warmup);
    let end = measure_from + Duration::from_secs_f64(o.seconds);
    let results: Vec<Vec<u32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..o.connections)
            .map(|c| {
                scope.spawn(move || {
                    let mut conn =
                        Conn::open(&t.url).unwrap_or_else(|e| die(&format!("{}: {e}", t.name)));
                    let mut latencies = Vec::with_capacity(1 << 16);
                    let mut i = c * t.bodies.len() / o.connections;
                    loop {
                        let sent = Instant::now();
                        if sent >= end {
                            break;
                        }
                        let body = &t.bodies[i % t.bodies.len()];
                        let (status, answer) = conn
                            .post(&t.url, t.path, t.token.as_deref(), body)
                            .unwrap_or_else(|e| die(&format!("{}: {e}", t.name)));
                        if status != 200 && status != 201 {
                            die(&format!(
                                "{} answered {status} under load: {answer}",
                                t.name
                            ));
                        }
                        if sent >= measure_from {
                            let micros = sent.elapsed().as_micros();
                            latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                        }
                        i += 1;
                    }
                    latencies
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| die("a load thread panicked")))
            .collect()
    });
    let mut all: Vec<u32> = results.into_iter().flatten().collect();
    all.sort_unstable();
    let pick = |q: f64| -> f64 {
        if all.is_empty() {
            return f64::NAN;
        }
        let at = ((all.len() as f64 * q).ceil() as usize).clamp(1, all.len()) - 1;
        f64::from(all[at]) / 1000.0
    };
    Figures {
        per_second: all.len() as f64 / o.seconds,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        requests: all.len(),
    }
}

fn run(args: &[String]) {
    let o = parse(args);
    if o.targets.is_empty() {
        die("name at least one server (--gatehouse, --cerbos, --cedar, --create-*)");
    }
    let levels = cedar_levels();
    agree(&o, &levels);
    let mut rows = Vec::new();
    for t in &o.targets {
        eprintln!(
            "load: {} ({} connections, {} s)",
            t.name, o.connections, o.seconds
        );
        let f = load(t, &o);
        eprintln!(
            "  {:.0}/s, p50 {:.2} ms, p99 {:.2} ms ({} requests)",
            f.per_second, f.p50_ms, f.p99_ms, f.requests
        );
        rows.push((t, f));
    }
    let cerbos = rows
        .iter()
        .find(|(t, _)| t.kind == Kind::Cerbos)
        .map(|(_, f)| f.per_second);
    let mut table = String::new();
    table.push_str(
        "| server | requests/s | p50 ms | p99 ms | × Cerbos |\n|---|---:|---:|---:|---:|\n",
    );
    for (t, f) in &rows {
        let ratio = cerbos.map_or("–".to_owned(), |c| format!("{:.1}", f.per_second / c));
        table.push_str(&format!(
            "| {} | {:.0} | {:.2} | {:.2} | {} |\n",
            t.name, f.per_second, f.p50_ms, f.p99_ms, ratio
        ));
    }
    let setup = format!(
        "{} inputs of the peers corpus, agreement checked first; {} keep-alive connections, \
         {} s measured after {} s of warm-up, per server in turn; load generator and servers \
         on the same {} cores.",
        o.inputs,
        o.connections,
        o.seconds,
        o.warmup,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("{table}\n{setup}");
    if let Some(path) = &o.output {
        std::fs::write(path, format!("{table}\n{setup}\n"))
            .unwrap_or_else(|e| die(&format!("{path}: {e}")));
    }
}
