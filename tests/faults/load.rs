//! The load: agents proposing actions, reviewers approving and rejecting
//! what waits, executors racing each other for every approved action from
//! different replicas at once (the double-claim attack). Every client
//! talks to a random replica, retries through another on 503 or a dead
//! connection where a retry is safe (an `Idempotency-Key` makes it so), and
//! records what it was acknowledged ([`crate::history`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::history::{Ack, History};

/// A seeded generator (SplitMix64): the run prints its seed, and
/// `GATEHOUSE_FAULTS_SEED` replays the same choices (the timing of a
/// machine under load is never replayed exactly).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// The generator of one thread of a run: `stream` keeps threads apart.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        r.next();
        r
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next() % (hi - lo)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 100) < percent
    }

    /// A pause of `lo..hi` milliseconds.
    pub fn pause(&mut self, lo: u64, hi: u64) {
        std::thread::sleep(Duration::from_millis(self.range(lo, hi)));
    }
}

/// The API keys of the cast.
#[derive(Clone, Debug)]
pub struct Cast {
    /// `(identity, key)` of each agent (scope `request`).
    pub agents: Vec<(String, String)>,
    /// `(identity, key)` of each reviewer (role `reviewer`).
    pub reviewers: Vec<(String, String)>,
    /// `(identity, key)` of the director (role `director`: escalations).
    pub director: (String, String),
    /// `(identity, key)` of each executor (scope `execute`).
    pub executors: Vec<(String, String)>,
    /// A key with `read` (the checker's).
    pub reader: String,
}

/// What every client thread shares.
pub struct World {
    /// Each replica's base URL, by number.
    pub bases: Vec<String>,
    /// What the clients recorded.
    pub history: History,
    /// Set when the load must stop.
    pub stop: AtomicBool,
    /// The run's seed.
    pub seed: u64,
    http: reqwest::blocking::Client,
    actions: AtomicU64,
}

/// One attempt's answer, or why there was none.
pub enum Reply {
    /// The replica answered.
    Answer {
        /// The HTTP status.
        status: u16,
        /// The body as JSON (`Null` when it is not).
        json: Json,
    },
    /// No answer: connection refused or cut, or the client's timeout.
    None,
}

impl World {
    /// A world for these replicas.
    pub fn new(bases: Vec<String>, seed: u64) -> World {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(4)
            .build()
            .expect("an HTTP client");
        World {
            bases,
            history: History::default(),
            stop: AtomicBool::new(false),
            seed,
            http,
            actions: AtomicU64::new(0),
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// One HTTP attempt on replica `replica`, counted in the history.
    pub fn call(
        &self,
        replica: usize,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Json>,
        idempotency_key: Option<&str>,
    ) -> Reply {
        let base = &self.bases[replica % self.bases.len()];
        let mut request = self
            .http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let answer = request.send().and_then(|r| {
            let status = r.status().as_u16();
            r.text().map(|text| (status, text))
        });
        match answer {
            Ok((status, text)) => {
                let json: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
                self.history
                    .attempt(Some(status), json["code"].as_str().unwrap_or("-"));
                Reply::Answer { status, json }
            }
            Err(_) => {
                self.history.attempt(None, "");
                Reply::None
            }
        }
    }

    /// Calls until a replica gives an answer that is not a server error
    /// (5xx: unavailable, timed out, a store error; or no answer at all),
    /// each attempt on a random replica, at most `attempts` times. `None`:
    /// the outcome is unknown. Safe only for operations a retry cannot
    /// repeat (an `Idempotency-Key`, or a step the lifecycle allows once).
    #[expect(clippy::too_many_arguments, reason = "one call's parts")]
    pub fn call_retrying(
        &self,
        rng: &mut Rng,
        attempts: u32,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Json>,
        idempotency_key: Option<&str>,
    ) -> Option<(u16, Json)> {
        for _ in 0..attempts {
            let replica = rng.range(0, self.bases.len() as u64) as usize;
            match self.call(replica, token, method.clone(), path, body, idempotency_key) {
                Reply::Answer { status, json } if status < 500 => return Some((status, json)),
                _ => rng.pause(100, 400),
            }
        }
        None
    }

    /// Records a final answer of an operation of `kind`: the ack when 2xx
    /// (built by `ack` from the body), else the refusal, or the unknown
    /// outcome when there was none.
    fn settle(&self, kind: &str, answer: Option<(u16, Json)>, ack: impl FnOnce(&Json) -> Ack) {
        match answer {
            Some((status, json)) if (200..300).contains(&status) => self.history.ack(ack(&json)),
            Some((_, json)) => self
                .history
                .refused(kind, json["code"].as_str().unwrap_or("-")),
            None => self.history.unknown(kind),
        }
    }

    /// Lists requests in `state` from a random replica (`[]` on any failure).
    fn list(&self, rng: &mut Rng, token: &str, query: &str) -> Vec<Json> {
        let replica = rng.range(0, self.bases.len() as u64) as usize;
        match self.call(
            replica,
            token,
            reqwest::Method::GET,
            &format!("/v1/requests?{query}"),
            None,
            None,
        ) {
            Reply::Answer { status: 200, json } => {
                json["requests"].as_array().cloned().unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }
}

/// The action kinds of the fault policy, weighted: `read` is auto,
/// `draft` queued (rejected at 3 s), `update` one approval (blocked at
/// 4 s), `deploy` two (escalated at 5 s), `purge` blocked, `archive` one
/// approval within an hour.
const KINDS: &[(&str, u64)] = &[
    ("read", 15),
    ("draft", 20),
    ("update", 20),
    ("deploy", 25),
    ("purge", 5),
    ("archive", 15),
];

fn pick_kind(rng: &mut Rng) -> &'static str {
    let total: u64 = KINDS.iter().map(|(_, w)| w).sum();
    let mut n = rng.range(0, total);
    for (kind, weight) in KINDS {
        if n < *weight {
            return kind;
        }
        n -= weight;
    }
    "read"
}

/// An agent: proposes actions (each under its own idempotency key,
/// retried through any replica until answered), and now and then cancels
/// one of its requests that waits.
pub fn agent(world: &World, index: usize, identity: &str, key: &str) {
    let mut rng = Rng::new(world.seed, 100 + index as u64);
    let mut n = 0u64;
    while !world.stopped() {
        n += 1;
        let number = world.actions.fetch_add(1, Ordering::SeqCst);
        let kind = pick_kind(&mut rng);
        let action = json!({
            "action": {"type": kind},
            "requester": {"id": identity},
            "agent": {"id": identity, "owner": "olga"},
            "ticket": number,
        });
        let idem = format!("{identity}-{n}");
        // One create in ten is sent twice at the same instant, through two
        // replicas, under its one key (a client's retry racing its first
        // try): both answers must name one request.
        let copies = if rng.chance(10) { 2 } else { 1 };
        let barrier = Barrier::new(copies);
        let seeds: Vec<u64> = (0..copies).map(|_| rng.next()).collect();
        std::thread::scope(|s| {
            for seed in seeds {
                let (barrier, action, idem) = (&barrier, &action, &idem);
                s.spawn(move || {
                    let mut rng = Rng::new(seed, 0);
                    barrier.wait();
                    let answer = world.call_retrying(
                        &mut rng,
                        30,
                        key,
                        reqwest::Method::POST,
                        "/v1/requests",
                        Some(action),
                        Some(idem),
                    );
                    world.settle("create", answer, |j| Ack::Created {
                        key: idem.clone(),
                        id: j["id"].as_str().unwrap_or_default().to_owned(),
                        state: j["state"].as_str().unwrap_or_default().to_owned(),
                    });
                });
            }
        });
        if rng.chance(10) {
            cancel_one(world, &mut rng, identity, key);
        }
        rng.pause(50, 250);
    }
}

fn cancel_one(world: &World, rng: &mut Rng, identity: &str, key: &str) {
    let waiting = world.list(
        rng,
        key,
        &format!("state=pending&agent={identity}&limit=20"),
    );
    let Some(request) = waiting.get(rng.range(0, waiting.len() as u64) as usize) else {
        return;
    };
    let id = request["id"].as_str().unwrap_or_default().to_owned();
    // A retry after a cancel that committed is refused (`REQUEST_FINAL`):
    // the lifecycle makes the retry safe, and only a 2xx is an ack.
    let answer = world.call_retrying(
        rng,
        10,
        key,
        reqwest::Method::POST,
        &format!("/v1/requests/{id}/cancel"),
        Some(&json!({"reason": "no longer needed"})),
        None,
    );
    world.settle("cancel", answer, |_| Ack::Cancelled { id: id.clone() });
}

/// A reviewer (or the director, with `role = "director"`): reads what
/// waits for its role, and approves (mostly) or rejects some of it,
/// leaving the rest to its deadline.
pub fn reviewer(world: &World, index: usize, role: &str, identity: &str, key: &str) {
    let mut rng = Rng::new(world.seed, 200 + index as u64);
    while !world.stopped() {
        rng.pause(100, 600);
        let waiting = world.list(
            &mut rng,
            key,
            &format!("state=pending&role={role}&limit=100"),
        );
        // Some requests nobody reviews (by their ticket number, so a
        // replay neglects the same ones): their deadlines must act. The
        // director neglects fewer, so escalations end both ways.
        let neglected = if role == "director" { 3 } else { 4 };
        let chosen: Vec<&Json> = waiting
            .iter()
            .filter(|r| {
                r["input"]["ticket"]
                    .as_u64()
                    .is_some_and(|t| t % neglected != 0)
            })
            .filter(|_| rng.chance(35))
            .take(6)
            .collect();
        for request in chosen {
            if world.stopped() {
                return;
            }
            let id = request["id"].as_str().unwrap_or_default().to_owned();
            let review = if rng.chance(85) { "approve" } else { "reject" };
            let body = json!({
                "decision": review,
                "reason": format!("{identity} looked at it"),
                "action_digest": request["action_digest"],
            });
            // One key per review given: the same person may come back to
            // the request with another mind (refused: they reviewed it).
            let idem = format!("{identity}-{id}-{review}");
            let answer = world.call_retrying(
                &mut rng,
                20,
                key,
                reqwest::Method::POST,
                &format!("/v1/requests/{id}/decisions"),
                Some(&body),
                Some(&idem),
            );
            world.settle("review", answer, |j| Ack::Reviewed {
                id: id.clone(),
                approver: identity.to_owned(),
                review: review.to_owned(),
                state: j["state"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }
}

/// The executors: for every approved request, every executor claims it at
/// the same moment, each through another replica. At most one may be
/// granted; the one granted reports the execution.
pub fn executors(world: &World, executors: &[(String, String)]) {
    let mut rng = Rng::new(world.seed, 300);
    while !world.stopped() {
        rng.pause(100, 300);
        let Some((_, lister)) = executors.first() else {
            return;
        };
        let approved = world.list(&mut rng, lister, "state=approved&limit=50");
        for request in approved {
            if world.stopped() {
                return;
            }
            race_claims(world, &mut rng, executors, &request);
        }
    }
}

fn race_claims(world: &World, rng: &mut Rng, executors: &[(String, String)], request: &Json) {
    let id = request["id"].as_str().unwrap_or_default().to_owned();
    let input = request["input"].clone();
    let barrier = Arc::new(Barrier::new(executors.len()));
    let offset = rng.range(0, world.bases.len() as u64) as usize;
    let granted: Vec<Option<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = executors
            .iter()
            .enumerate()
            .map(|(j, (identity, key))| {
                let barrier = barrier.clone();
                let (id, input) = (&id, &input);
                s.spawn(move || {
                    barrier.wait();
                    // One attempt: a claim has no idempotency key, so a
                    // retry after a lost answer could not tell a grant
                    // from a refusal; a lost answer is an unknown outcome.
                    let reply = world.call(
                        offset + j,
                        key,
                        reqwest::Method::POST,
                        &format!("/v1/requests/{id}/claim"),
                        Some(input),
                        None,
                    );
                    let answer = match reply {
                        Reply::Answer { status, json } if status < 500 => Some((status, json)),
                        _ => None,
                    };
                    let won = matches!(&answer, Some((200, _)));
                    world.settle("claim", answer, |_| Ack::Claimed {
                        id: id.clone(),
                        executor: identity.clone(),
                    });
                    won.then(|| key.clone())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    for key in granted.into_iter().flatten() {
        let answer = world.call_retrying(
            rng,
            10,
            &key,
            reqwest::Method::POST,
            &format!("/v1/requests/{id}/executed"),
            Some(&json!({"result": "succeeded", "tool_call_id": format!("call-{id}")})),
            None,
        );
        world.settle("executed", answer, |_| Ack::Executed { id: id.clone() });
    }
}
