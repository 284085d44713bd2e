//! The fault-injection run (issue 17's proof; docs/faults.md): three
//! `gatehouse serve` replicas on one PostgreSQL database, a bounded load of
//! agents, reviewers and executors on localhost, replicas killed with
//! SIGKILL and restarted at random moments, the database restarted once
//! (`pg_ctl restart -m immediate`). Afterwards the checker reads the whole
//! history and proves the properties listed in checker.rs; the run prints
//! the operations and faults it survived.
//!
//! `GATEHOUSE_FAULTS_SECONDS` (default 60) sets how long the load runs,
//! `GATEHOUSE_FAULTS_SEED` replays a seed, `GATEHOUSE_TEST_PG_BIN` names
//! the PostgreSQL binaries, and `GATEHOUSE_TEST_POSTGRES=off` skips the run
//! (saying so). It asserts no timing: only the properties.

mod checker;
mod checker_tests;
mod cluster;
mod history;
mod load;
mod replicas;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::load::{Cast, Rng, World};
use crate::replicas::{Replicas, Setup};

const REPLICAS: usize = 3;
const AGENTS: usize = 4;
const REVIEWERS: usize = 3;
const EXECUTORS: usize = 3;

/// The faults injected, counted.
#[derive(Debug, Default)]
struct Faults {
    replicas: usize,
    kills: AtomicU64,
    restarts: AtomicU64,
    died_alone: AtomicU64,
    db_restarts: AtomicU64,
}

#[test]
fn three_replicas_survive_kills_and_a_database_restart() {
    if std::env::var("GATEHOUSE_TEST_POSTGRES").as_deref() == Ok("off") {
        println!(
            "faults: did not run (GATEHOUSE_TEST_POSTGRES=off): the fault-injection run needs PostgreSQL"
        );
        return;
    }
    let seed = env_number("GATEHOUSE_FAULTS_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(17)
    });
    let seconds = env_number("GATEHOUSE_FAULTS_SECONDS").unwrap_or(60);
    println!("faults: seed {seed} (GATEHOUSE_FAULTS_SEED={seed} replays it), {seconds} s of load");
    // `GATEHOUSE_FAULTS_STORE=sqlite`: one replica on SQLite, killed and
    // restarted, no database restart (for working on the run itself).
    let sqlite = std::env::var("GATEHOUSE_FAULTS_STORE").as_deref() == Ok("sqlite");
    let cluster = if sqlite {
        None
    } else {
        Some(cluster::Cluster::start().unwrap_or_else(|e| {
            panic!(
                "faults: cannot start a PostgreSQL cluster: {e}\n(run ./scripts/test, which installs PostgreSQL, \
                 or set GATEHOUSE_TEST_PG_BIN; GATEHOUSE_TEST_POSTGRES=off skips this run)"
            )
        }))
    };
    let count = if sqlite { 1 } else { REPLICAS };
    let dir = tempfile::tempdir().expect("temp dir");
    let setup = Setup {
        policy: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/faults/fixtures/faults.gate"),
        config: replicas::write_config(dir.path()),
        database_url: cluster.as_ref().map(cluster::Cluster::url),
        root: dir.path().to_owned(),
    };
    let mut replicas = Replicas::new(setup, count);
    let admin = match replicas.start(0) {
        Ok(Some(token)) => token,
        other => panic!("replica 0: no admin token ({other:?})\n{}", replicas.logs()),
    };
    for i in 1..count {
        if let Err(e) = replicas.start(i) {
            panic!("{e}\n{}", replicas.logs());
        }
    }
    let world = World::new(replicas.bases(), seed);
    let cast = make_cast(&world, &admin);
    let replicas = Mutex::new(replicas);
    let faults = Faults {
        replicas: count,
        ..Faults::default()
    };
    let run = Duration::from_secs(seconds);
    let started = Instant::now();
    std::thread::scope(|s| {
        for (i, (identity, key)) in cast.agents.iter().enumerate() {
            let world = &world;
            s.spawn(move || load::agent(world, i, identity, key));
        }
        for (i, (identity, key)) in cast.reviewers.iter().enumerate() {
            let world = &world;
            s.spawn(move || load::reviewer(world, i, "reviewer", identity, key));
        }
        let (director, director_key) = &cast.director;
        let world_ref = &world;
        s.spawn(move || load::reviewer(world_ref, 99, "director", director, director_key));
        s.spawn(|| load::executors(&world, &cast.executors));
        s.spawn(|| killer(&world, &replicas, &faults, run));
        if let Some(cluster) = &cluster {
            let faults = &faults;
            s.spawn(move || {
                // The database restarts once, somewhere in the middle third.
                let mut rng = Rng::new(seed, 7);
                let at = run.as_millis() as u64;
                std::thread::sleep(Duration::from_millis(rng.range(at / 3, 2 * at / 3)));
                if let Err(e) = cluster.restart_immediate() {
                    panic!("the database did not restart: {e}");
                }
                faults.db_restarts.fetch_add(1, Ordering::SeqCst);
            });
        }
        std::thread::sleep(run);
        world.stop.store(true, Ordering::SeqCst);
    });
    let loaded = started.elapsed();
    // Every replica runs again before the history is read (the killer
    // left them running; one that died by itself is counted and started).
    {
        let mut replicas = replicas.lock().unwrap_or_else(|p| p.into_inner());
        for i in 0..count {
            if !replicas.running(i) {
                faults.died_alone.fetch_add(1, Ordering::SeqCst);
                replicas.start(i).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    let settled = settle(&world, &cast.reader);
    let evidence = gather(&world, &cast.reader);
    let chain_file = dir.path().join("chain.jsonl");
    std::fs::write(&chain_file, evidence.chain.join("\n") + "\n").expect("write the chain");
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["audit", "verify", "--require-chain"])
        .arg(&chain_file)
        .output()
        .expect("run gatehouse audit verify");
    let verdict = checker::check(&evidence);
    let recorded = world.history.snapshot();
    let start_failures = replicas
        .lock()
        .map(|r| r.start_failures.clone())
        .unwrap_or_default();
    report(&recorded, &faults, &verdict, loaded, &cli);
    println!("  replica start attempts refused: {start_failures:?}");
    let logs = replicas.lock().map(|r| r.logs()).unwrap_or_default();
    assert!(
        settled,
        "requests still waited past their deadline 90 s after the load stopped\n{logs}"
    );
    assert!(
        cli.status.success(),
        "gatehouse audit verify refused the exported chain:\n{}{}",
        String::from_utf8_lossy(&cli.stdout),
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(
        verdict.violations.is_empty(),
        "the checker found {} violation(s) (seed {seed}):\n{}\n{logs}",
        verdict.violations.len(),
        verdict.violations.join("\n")
    );
    // The run never touches the database behind the gate's back, so a
    // replica that refuses to start because "the database was edited" is a
    // false alarm: a restart that fails while the database is up (a start
    // while the database itself restarts may fail, and is retried).
    let false_alarms: Vec<&String> = start_failures
        .keys()
        .filter(|reason| reason.contains("was edited"))
        .collect();
    assert!(
        false_alarms.is_empty(),
        "a replica refused to start, saying the database was edited, while nobody edited it: {false_alarms:?}"
    );
    // A run that did nothing proves nothing: the load and the faults
    // happened (not a timing assertion: counts of what was done).
    let acks = recorded.acks_by_kind();
    assert!(
        acks.get("create").copied().unwrap_or(0) > 0,
        "no request was created"
    );
    assert!(
        acks.get("claim").copied().unwrap_or(0) > 0,
        "nothing was claimed"
    );
    assert_eq!(
        faults.db_restarts.load(Ordering::SeqCst),
        u64::from(cluster.is_some())
    );
    assert!(
        faults.kills.load(Ordering::SeqCst) > 0,
        "no replica was killed"
    );
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}=`{text}` is not a whole number")),
    )
}

/// The keys of the cast, made through the admin API (roles given with the
/// key: the run has no trust store).
fn make_cast(world: &World, admin: &str) -> Cast {
    let make = |identity: &str, scopes: &[&str], roles: &[&str]| -> (String, String) {
        let body = json!({"identity": identity, "scopes": scopes, "roles": roles});
        let mut rng = Rng::new(world.seed, 1);
        let answer = world.call_retrying(
            &mut rng,
            20,
            admin,
            reqwest::Method::POST,
            "/v1/admin/keys",
            Some(&body),
            None,
        );
        match answer {
            Some((201, json)) => (
                identity.to_owned(),
                json["key"].as_str().unwrap_or_default().to_owned(),
            ),
            other => panic!("cannot make a key for {identity}: {other:?}"),
        }
    };
    Cast {
        agents: (0..AGENTS)
            .map(|i| make(&format!("agent-{i}"), &["request"], &[]))
            .collect(),
        reviewers: ["rita", "rob", "ruth"]
            .iter()
            .take(REVIEWERS)
            .map(|n| make(n, &["approve"], &["reviewer"]))
            .collect(),
        director: make("dora", &["approve"], &["director"]),
        executors: (0..EXECUTORS)
            .map(|i| make(&format!("executor-{i}"), &["execute"], &[]))
            .collect(),
        reader: make("auditor", &["read"], &[]).1,
    }
}

/// SIGKILLs a random replica at random moments and starts it again after
/// a random pause (one replica down at a time); a replica that died by
/// itself is counted and started too.
fn killer(world: &World, replicas: &Mutex<Replicas>, faults: &Faults, run: Duration) {
    let count = world.bases.len();
    let mut rng = Rng::new(world.seed, 5);
    let lock = || replicas.lock().unwrap_or_else(|p| p.into_inner());
    let started = Instant::now();
    // The last seconds are left without kills, so that the load ends with
    // every replica up (the settle phase needs none of this).
    while started.elapsed() + Duration::from_secs(3) < run {
        rng.pause(1_500, 5_000);
        let i = rng.range(0, count as u64) as usize;
        {
            let mut r = lock();
            for j in 0..count {
                if !r.running(j) {
                    faults.died_alone.fetch_add(1, Ordering::SeqCst);
                    r.start(j).unwrap_or_else(|e| panic!("{e}\n{}", r.logs()));
                    faults.restarts.fetch_add(1, Ordering::SeqCst);
                }
            }
            if r.kill(i) {
                faults.kills.fetch_add(1, Ordering::SeqCst);
            }
        }
        rng.pause(200, 3_000);
        let mut r = lock();
        r.start(i).unwrap_or_else(|e| panic!("{e}\n{}", r.logs()));
        faults.restarts.fetch_add(1, Ordering::SeqCst);
    }
}

/// How far ahead a deadline counts as "soon": the short tiers wait
/// seconds, the long one an hour.
const SOON: i64 = 600;

/// Waits (up to 90 s, polling) until no waiting request has a deadline
/// passed or due within [`SOON`]: the sweepers caught up with every short
/// deadline, and with the load stopped nothing changes any more, so the
/// history read next is the final one. Whether that happened.
fn settle(world: &World, reader: &str) -> bool {
    cluster::wait_until(Duration::from_secs(90), || {
        let now = unix_now();
        let mut rng = Rng::new(world.seed, 9);
        let Some(pending) = list_all(world, &mut rng, reader, "state=pending") else {
            return false;
        };
        !pending
            .iter()
            .any(|r| r["deadline_unix"].as_i64().is_some_and(|d| d < now + SOON))
    })
}

/// Every request a list query matches, page by page (`None` when a page
/// could not be read).
fn list_all(world: &World, rng: &mut Rng, reader: &str, query: &str) -> Option<Vec<Json>> {
    let mut out = Vec::new();
    let mut before: Option<String> = None;
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("{query}&")
    };
    loop {
        let path = match &before {
            Some(b) => format!("/v1/requests?{query}limit=500&before={b}"),
            None => format!("/v1/requests?{query}limit=500"),
        };
        let Some((200, page)) =
            world.call_retrying(rng, 20, reader, reqwest::Method::GET, &path, None, None)
        else {
            return None;
        };
        out.extend(page["requests"].as_array().cloned().unwrap_or_default());
        match page["next_before"].as_str() {
            Some(b) => before = Some(b.to_owned()),
            None => return Some(out),
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Reads the evidence: the whole audit chain (page by page), every request
/// (listed page by page, and any acknowledged one the lists missed).
fn gather(world: &World, reader: &str) -> checker::Evidence {
    let mut rng = Rng::new(world.seed, 11);
    let mut get = |path: &str| -> Json {
        match world.call_retrying(&mut rng, 20, reader, reqwest::Method::GET, path, None, None) {
            Some((200, json)) => json,
            Some((404, _)) => Json::Null,
            other => panic!("GET {path}: {other:?}"),
        }
    };
    let now_unix = unix_now();
    // The chain is read before and after the requests: the same length
    // both times shows nothing moved while the history was read (settled).
    let chain = export_chain(world, reader);
    let mut requests = BTreeMap::new();
    let mut lister = Rng::new(world.seed, 12);
    let listed = list_all(world, &mut lister, reader, "").expect("every request, listed");
    for r in listed {
        if let Some(id) = r["id"].as_str() {
            requests.insert(id.to_owned(), r);
        }
    }
    let again = export_chain(world, reader);
    assert_eq!(
        again.len(),
        chain.len(),
        "the audit chain grew while the history was read: the run did not settle"
    );
    let mut named: Vec<String> = world
        .history
        .snapshot()
        .acks
        .iter()
        .map(|a| ack_id(a).to_owned())
        .collect();
    named.extend(chain.iter().filter_map(|l| {
        serde_json::from_str::<Json>(l).ok()?["request"]
            .as_str()
            .map(str::to_owned)
    }));
    for id in named {
        if let std::collections::btree_map::Entry::Vacant(slot) = requests.entry(id) {
            let r = get(&format!("/v1/requests/{}", slot.key()));
            if !r.is_null() {
                slot.insert(r);
            }
        }
    }
    checker::Evidence {
        acks: world.history.snapshot().acks,
        requests,
        chain,
        now_unix,
        sweep_grace: 2,
        policy: Some(fault_policy()),
    }
}

/// The run's policy, compiled as the replicas compile it.
fn fault_policy() -> std::sync::Arc<gatehouse::Policy> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/faults/fixtures/faults.gate");
    let files = gatehouse::loader::read_set(&path).expect("the fault policy reads");
    std::sync::Arc::new(gatehouse::Policy::from_files(files).expect("the fault policy compiles"))
}

fn ack_id(ack: &history::Ack) -> &str {
    use history::Ack;
    match ack {
        Ack::Created { id, .. }
        | Ack::Reviewed { id, .. }
        | Ack::Claimed { id, .. }
        | Ack::Executed { id }
        | Ack::Cancelled { id } => id,
    }
}

/// The audit chain's lines, following `Link: rel="next"` to the end.
fn export_chain(world: &World, reader: &str) -> Vec<String> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let mut lines = Vec::new();
    let mut after = 0u64;
    // Each page from the next replica in turn (five tries each): the
    // pages of one chain join whichever replica serves them.
    let mut turn = 0usize;
    loop {
        let (more, text) = (0..5)
            .find_map(|_| {
                turn += 1;
                let base = &world.bases[turn % world.bases.len()];
                let url = format!("{base}/v1/audit?after={after}&limit=10000");
                let response = http.get(&url).bearer_auth(reader).send().ok()?;
                if response.status().as_u16() != 200 {
                    std::thread::sleep(Duration::from_millis(300));
                    return None;
                }
                let more = response
                    .headers()
                    .get("link")
                    .and_then(|l| l.to_str().ok())
                    .is_some_and(|l| l.contains("rel=\"next\""));
                Some((more, response.text().ok()?))
            })
            .unwrap_or_else(|| panic!("GET /v1/audit?after={after}: no replica answered 200"));
        let before = lines.len();
        lines.extend(text.lines().map(str::to_owned));
        if !more || lines.len() == before {
            return lines;
        }
        after = lines
            .last()
            .and_then(|l| serde_json::from_str::<Json>(l).ok())
            .and_then(|j| j["seq"].as_u64())
            .expect("a chained line has a seq");
    }
}

fn report(
    recorded: &history::Recorded,
    faults: &Faults,
    verdict: &checker::Verdict,
    loaded: Duration,
    cli: &std::process::Output,
) {
    let n = |a: &AtomicU64| a.load(Ordering::SeqCst);
    println!("faults: report");
    println!(
        "  load: {:.0} s, {} replica(s), {AGENTS} agents, {REVIEWERS} reviewers + 1 director, {EXECUTORS} executors racing each claim",
        loaded.as_secs_f64(),
        faults.replicas
    );
    println!("  acknowledged: {:?}", recorded.acks_by_kind());
    println!("  unknown outcomes: {:?}", recorded.unknown);
    println!("  refused: {:?}", recorded.refused);
    println!(
        "  attempts: {} ({} without an answer; 503s by code: {:?})",
        recorded.attempts, recorded.no_answer, recorded.unavailable
    );
    println!(
        "  faults: {} replica kills (SIGKILL), {} replica starts after a kill, {} replicas that died by themselves, {} database restarts (immediate)",
        n(&faults.kills),
        n(&faults.restarts),
        n(&faults.died_alone),
        n(&faults.db_restarts)
    );
    println!(
        "  requests: {}, by final state: {:?}",
        verdict.requests, verdict.by_state
    );
    println!("  transition records by event: {:?}", verdict.by_event);
    println!(
        "  audit chain: {} lines; gatehouse audit verify: {}",
        verdict.chain_lines,
        String::from_utf8_lossy(&cli.stdout).trim()
    );
    println!(
        "  verdict: {}",
        if verdict.violations.is_empty() {
            "every property holds".to_owned()
        } else {
            format!("{} violation(s)", verdict.violations.len())
        }
    );
}
