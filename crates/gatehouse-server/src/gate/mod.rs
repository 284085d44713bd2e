//! The gate: the service's shared state (store, policies, trust store,
//! signing key, change notifications) and the operations the API, the
//! sweeper and the tests call. Every operation that changes a request goes
//! through [`crate::lifecycle::next`] and one [`Store::update`] transaction.

mod batch;
mod claim;
mod expiry;
#[cfg(test)]
mod feed_tests;
mod policies;
mod records;
mod requests;
mod review;
pub mod samples;
mod shadow;
#[cfg(test)]
mod swap_tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use ed25519_dalek::SigningKey;
use gatehouse::trust::TrustStore;
use gatehouse::values::Timestamp;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::auth::Principal;
use crate::config::ServerConfig;
use crate::error::GateError;
use crate::metrics::Metrics;
use crate::store::Store;

pub use batch::MAX_BATCH_REVIEW;
pub use policies::LoadedPolicy;
pub use records::{may_see_shadow, view, view_for};
pub use requests::{ApprovalBody, ReviewDecision};
pub(crate) use requests::{live_approvals, parse_json, read_body, verify_options};
pub use shadow::{ShadowRecord, policy_ref};

/// A request changed: its id, its new state's name and version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeNote {
    /// The request.
    pub id: String,
    /// Its new state.
    pub state: String,
    /// Its new version.
    pub version: i64,
}

/// The `state` of the note announcing that an API key was revoked (the
/// note's `id` is the key's id, never a request's): every long-poll and
/// event stream held with that key ends at once.
pub const KEY_REVOKED: &str = "key_revoked";

/// The `state` of the note saying that notes may have been missed (the
/// store's feed was interrupted, or this replica fell behind it): every
/// long-poll and event stream reads its request again, and checks that its
/// key is still live. The note's `id` is empty.
pub const RESYNC: &str = "resync";

/// How the policy set and trust store were last loaded.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReloadStatus {
    /// The last reload's error, when the new files did not check clean
    /// (the previous set stays in force).
    pub error: Option<String>,
    /// When the current set was loaded (RFC 3339).
    pub loaded_at: String,
    /// How many reloads succeeded.
    pub reloads: u64,
}

/// The service's shared state.
pub struct Gate {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The configuration it started with.
    pub config: ServerConfig,
    current: RwLock<Arc<LoadedPolicy>>,
    /// Orders claims against reloads. A claim holds it shared from reading
    /// the policy in force until its change is committed; a reload holds it
    /// exclusively to swap the set in force. So a claim is always judged by
    /// the set in force when it commits: once a reload has answered, no
    /// claim judged by the set it replaced can still commit.
    swap: tokio::sync::RwLock<()>,
    /// Every policy set this process has used, by digest.
    by_digest: Mutex<HashMap<String, Arc<gatehouse::Policy>>>,
    trust: RwLock<Option<Arc<TrustStore>>>,
    /// Signs the approval credentials the gate issues.
    pub signing_key: SigningKey,
    changes: broadcast::Sender<ChangeNote>,
    reload: RwLock<ReloadStatus>,
    /// Counters and histograms for `/metrics`.
    pub metrics: Metrics,
    rate: Mutex<crate::rate::RateLimiter>,
    /// Set when shutdown begins: `/ready` answers 503.
    pub draining: AtomicBool,
    /// Turns true once when shutdown begins; long-polls and event streams
    /// watch it to end at once instead of holding shutdown for their wait.
    drain: tokio::sync::watch::Sender<bool>,
    /// Live API keys by hash, so authentication skips the database.
    pub keys: crate::key_cache::KeyCache,
    /// Long-polls and event streams held, by person (waits.rs).
    pub waits: crate::waits::WaitCounts,
    /// The secret that makes the sample draw unpredictable to agents
    /// (`[autonomy] sample_key_file`); `None`: the public draw, which
    /// anyone with the policy can compute (docs/service-operations.md).
    sample_key: Option<[u8; 32]>,
    /// The shadow (candidate) policy set, recorded beside the enforced
    /// one and never enforced (shadow.rs).
    shadow: RwLock<Option<Arc<LoadedPolicy>>>,
    /// The last shadow reload's error (the previous shadow set stays).
    shadow_error: RwLock<Option<String>>,
}

impl Gate {
    /// A gate over a store, with the policy set, trust store and signing
    /// key already loaded.
    pub fn new(
        store: Arc<dyn Store>,
        config: ServerConfig,
        policy: LoadedPolicy,
        trust: Option<TrustStore>,
        signing_key: SigningKey,
    ) -> Gate {
        let (changes, _) = broadcast::channel(1024);
        let mut by_digest = HashMap::new();
        by_digest.insert(policy.policy.digest().to_owned(), policy.policy.clone());
        Gate {
            store,
            config,
            current: RwLock::new(Arc::new(policy)),
            swap: tokio::sync::RwLock::new(()),
            by_digest: Mutex::new(by_digest),
            trust: RwLock::new(trust.map(Arc::new)),
            signing_key,
            changes,
            reload: RwLock::new(ReloadStatus {
                error: None,
                loaded_at: Timestamp::now_utc().to_string(),
                reloads: 0,
            }),
            metrics: Metrics::default(),
            rate: Mutex::new(crate::rate::RateLimiter::default()),
            draining: AtomicBool::new(false),
            drain: tokio::sync::watch::channel(false).0,
            keys: crate::key_cache::KeyCache::default(),
            waits: crate::waits::WaitCounts::default(),
            sample_key: None,
            shadow: RwLock::new(None),
            shadow_error: RwLock::new(None),
        }
    }

    /// The gate with a sample key: every decision's sample draw is keyed
    /// with it. Every replica must hold the same key, or they would sample
    /// different actions of one policy.
    pub fn with_sample_key(mut self, key: Option<[u8; 32]>) -> Gate {
        self.sample_key = key;
        self
    }

    /// The options every decision the gate makes is evaluated with: the
    /// time, and the sample key.
    pub(crate) fn eval_options(&self, now: Timestamp) -> gatehouse::EvalOptions {
        gatehouse::EvalOptions::default()
            .with_now(now)
            .with_sample_key(self.sample_key)
    }

    /// The current time (the engine never reads the clock; the gate does,
    /// here only).
    pub fn now(&self) -> Timestamp {
        Timestamp::now_utc()
    }

    /// The policy set in force now.
    pub fn policy(&self) -> Arc<LoadedPolicy> {
        match self.current.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The trust store, when one is configured.
    pub fn trust(&self) -> Option<Arc<TrustStore>> {
        match self.trust.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the trust store (after a reload checked it).
    pub fn set_trust(&self, trust: Option<TrustStore>) {
        let mut slot = self.trust.write().unwrap_or_else(|p| p.into_inner());
        *slot = trust.map(Arc::new);
    }

    /// The last reload's status.
    pub fn reload_status(&self) -> ReloadStatus {
        self.reload
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Subscribes to request changes (for long-polls and event streams).
    pub fn subscribe(&self) -> broadcast::Receiver<ChangeNote> {
        self.changes.subscribe()
    }

    /// What follows every committed change of a request: the metrics move
    /// and waiters are woken.
    pub(crate) fn committed(&self, row: &crate::store::RequestRow, now: Timestamp) {
        self.metrics.transition(row, now);
        self.announce(row);
    }

    /// Announces a committed change.
    pub(crate) fn announce(&self, row: &crate::store::RequestRow) {
        // No receiver is not an error: nobody is waiting.
        let _ = self.changes.send(ChangeNote {
            id: row.id.clone(),
            state: row.state.as_str().to_owned(),
            version: row.version,
        });
    }

    /// Announces a committed key revocation: the waits held with the key
    /// end (see [`KEY_REVOKED`]). Call after the store committed it.
    pub fn announce_revoked(&self, key_id: &str) {
        // No receiver is not an error: nobody is waiting.
        let _ = self.changes.send(ChangeNote {
            id: key_id.to_owned(),
            state: KEY_REVOKED.to_owned(),
            version: 0,
        });
    }

    /// Announces that notes may have been missed (see [`RESYNC`]): every
    /// waiter reads its request again.
    pub fn announce_resync(&self) {
        // No receiver is not an error: nobody is waiting.
        let _ = self.changes.send(ChangeNote {
            id: String::new(),
            state: RESYNC.to_owned(),
            version: 0,
        });
    }

    /// Applies one note from the store's feed (changes committed by other
    /// replicas sharing the database) to this replica: a request's change
    /// wakes its waiters here as a local change does; a revoked key leaves
    /// the key cache and its waits end; a resync drops every cached key
    /// and makes every waiter read again.
    pub fn apply_note(&self, note: crate::store::StoreNote) {
        use crate::store::StoreNote;
        match note {
            StoreNote::Request { id, state, version } => {
                // No receiver is not an error: nobody is waiting.
                let _ = self.changes.send(ChangeNote { id, state, version });
            }
            StoreNote::KeyRevoked { id } => {
                // First the cache (with its generation bump, so a lookup
                // that read the row before the revocation inserts nothing),
                // then the waits: after this no request here authenticates
                // with the key.
                self.keys.invalidate();
                self.announce_revoked(&id);
            }
            StoreNote::Resync => {
                // A revocation may have been among the missed notes.
                self.keys.invalidate();
                self.announce_resync();
            }
        }
    }

    /// Refuses (429, with `Retry-After`) a caller over their rate: one
    /// bucket per person (see [`crate::rate`]), so two keys of one person
    /// share it.
    pub fn check_rate(&self, principal: &Principal) -> Result<(), GateError> {
        let limits = &self.config.limits;
        if limits.rate_per_second == 0 {
            return Ok(());
        }
        let rate = f64::from(limits.rate_per_second);
        let burst = f64::from(limits.rate_burst.max(limits.rate_per_second));
        let mut buckets = self.rate.lock().unwrap_or_else(|p| p.into_inner());
        let person = crate::gate::records::person_key(&principal.id);
        buckets
            .take(&person, Instant::now(), rate, burst)
            .map_err(|wait| {
                let mut e =
                    GateError::new(429, "RATE_LIMITED", "too many requests from this caller");
                e.retry_after = Some(wait);
                e
            })
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Begins shutdown: `/ready` answers 503 from now on and every
    /// long-poll and event stream answers and ends.
    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
        self.drain.send_replace(true);
    }

    /// Resolves once shutdown has begun (at once when it already has).
    pub async fn until_draining(&self) {
        let mut rx = self.drain.subscribe();
        // `wait_for` looks at the current value first, so a shutdown that
        // began before this call is not missed; the sender lives as long
        // as the gate, so the error case cannot happen while it is borrowed.
        let _ = rx.wait_for(|draining| *draining).await;
    }
}

/// Follows the store's feed ([`Store::feed`]) until the task is aborted
/// (at shutdown): every note is applied with [`Gate::apply_note`]. A
/// store without a feed (SQLite: one process owns it) returns at once.
/// Notes dropped because this task fell behind count as a resync: waiters
/// read again, so no decision is missed. Reconnecting to the database is
/// the store's work (it sends [`crate::store::StoreNote::Resync`] when it
/// is back); should its sender close, the feed is asked for again after a
/// pause that doubles up to [`FEED_RETRY_MAX`].
pub async fn follow_feed(gate: Arc<Gate>) {
    use tokio::sync::broadcast::error::RecvError;
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        let Some(mut feed) = gate.store.feed() else {
            return;
        };
        loop {
            match feed.recv().await {
                Ok(note) => {
                    gate.apply_note(note);
                    pause = std::time::Duration::from_millis(100);
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "store feed: fell behind; every waiter reads again");
                    gate.apply_note(crate::store::StoreNote::Resync);
                }
                Err(RecvError::Closed) => break,
            }
        }
        tracing::warn!("store feed: closed; subscribing again");
        // Whatever happened while it was closed is unknown here.
        gate.apply_note(crate::store::StoreNote::Resync);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(FEED_RETRY_MAX);
    }
}

/// The longest pause before the feed is asked for again after it closed.
pub const FEED_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// The key a person is known by across spellings (for rate limits and
/// idempotency keys: `Alice` and `alice` share them).
pub fn person_key_of(identity: &str) -> String {
    records::person_key(identity)
}

impl Gate {
    /// `POST /v1/decide`: the decision JSON for one action (an object) or
    /// an array of them (a batch, at most `limits.batch_size`). Text that
    /// is not JSON is decided as `eval` decides it: `block`,
    /// `INVALID_INPUT`.
    pub fn decide(&self, text: &str) -> Result<String, GateError> {
        let loaded = self.policy();
        let policy = &loaded.policy;
        // The public sample draw, never the sample key: this answer is
        // stateless and open to every `decide` caller, so a keyed draw here
        // would let an agent try variants of an action until one is not
        // sampled (docs/service.md, "The sample key").
        let options = gatehouse::EvalOptions::default().with_now(self.now());
        let format = &gatehouse::eval::DocumentFormat::DECISION;
        let mut out = Vec::with_capacity(2048);
        if text.trim_start().starts_with('[') {
            let batch = parse_json(text)?;
            let items = batch.as_array().map(Vec::as_slice).unwrap_or_default();
            if items.len() > self.config.limits.batch_size {
                return Err(GateError::new(
                    413,
                    "BATCH_TOO_LARGE",
                    format!(
                        "{} actions; a batch holds at most {}",
                        items.len(),
                        self.config.limits.batch_size
                    ),
                ));
            }
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let d = policy.evaluate_with(item, &options);
                self.metrics.decided(d.outcome.as_str());
                gatehouse::eval::write_document(&mut out, format, &d, false)
                    .map_err(|e| GateError::internal(e.to_string()))?;
            }
            out.push(b']');
        } else {
            decide_one(policy, text, &options, &self.metrics, &mut out)?;
        }
        String::from_utf8(out).map_err(|e| GateError::internal(e.to_string()))
    }
}

/// What one worker thread reuses from one `/v1/decide` to the next: the
/// digest scratch and text, which otherwise cost allocations per call.
/// (The [`gatehouse::Verdict`] borrows the policy, which a reload may
/// replace, so it is made per call: one small allocation.)
struct DecideScratch {
    scratch: gatehouse::audit::digest_text::DigestScratch,
    digest: String,
}

thread_local! {
    static DECIDE_SCRATCH: std::cell::RefCell<DecideScratch> =
        std::cell::RefCell::new(DecideScratch {
            scratch: gatehouse::audit::digest_text::DigestScratch::new(),
            digest: String::new(),
        });
}

/// One action's decision JSON into `out`: the fast path of `gatehouse
/// eval --jsonl` (JSON text straight into the policy's slots with the
/// action digest in the same pass, the allocation-free verdict, the JSON
/// written from the verdict), byte for byte what
/// [`gatehouse::Policy::evaluate_json_with`] and `write_document` give
/// (`Verdict::write_json`'s contract; the serve test `decide_matches_eval`
/// pins it against the CLI). Text the decoder refuses takes the owned path,
/// which gives the exact input errors.
fn decide_one(
    policy: &gatehouse::Policy,
    text: &str,
    options: &gatehouse::EvalOptions,
    metrics: &Metrics,
    out: &mut Vec<u8>,
) -> Result<(), GateError> {
    let format = &gatehouse::eval::DocumentFormat::DECISION;
    DECIDE_SCRATCH.with(|cell| {
        // Not re-entrant: nothing below calls back into decide. Should it
        // ever be borrowed, fresh scratch is correct, only slower.
        let mut fresh;
        let mut held = cell.try_borrow_mut();
        let s: &mut DecideScratch = match held.as_deref_mut() {
            Ok(s) => s,
            Err(_) => {
                fresh = DecideScratch {
                    scratch: gatehouse::audit::digest_text::DigestScratch::new(),
                    digest: String::new(),
                };
                &mut fresh
            }
        };
        s.digest.clear();
        let Ok(input) = policy.decode_json_digest(text, options, &mut s.scratch, &mut s.digest)
        else {
            let d = policy.evaluate_json_with(text, options);
            metrics.decided(d.outcome.as_str());
            return gatehouse::eval::write_document(out, format, &d, false)
                .map_err(|e| GateError::internal(e.to_string()));
        };
        let mut verdict = policy.verdict();
        verdict.decide(&input);
        metrics.decided(verdict.outcome().as_str());
        verdict
            .write_json(&input, options, Some(&s.digest), out)
            .map_err(|e| GateError::internal(e.to_string()))
    })
}
