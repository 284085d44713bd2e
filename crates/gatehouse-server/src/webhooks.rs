//! Webhooks: the outbox deliverer.
//!
//! Every transition writes one `deliveries` row per receiver that wants
//! the state entered, in the same transaction as the transition (the
//! outbox), so an announced change is never lost and an unannounced one
//! never committed. This task sends those rows: `POST` of the JSON payload
//! with
//!
//! - `Gatehouse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
//!   keyed with the receiver's secret (read once at start from the
//!   environment variable its `secret_env` names);
//! - `Idempotency-Key: <delivery id>`, the same on every attempt, so a
//!   receiver can drop the duplicates at-least-once delivery implies;
//! - `Gatehouse-Event: request.<state>`.
//!
//! A 2xx answer is delivered; anything else (another status, a redirect,
//! a timeout, a refused connection) is retried with exponential backoff and
//! jitter until `max_attempts`, then given up (recorded in the row, logged,
//! counted). Attempts in flight are bounded (`webhook_concurrency`) and
//! each has a timeout. A row in flight when the process dies is sent again
//! after the restart, with the same idempotency key.
//!
//! Secrets never reach a log line, and neither does a receiver's path or
//! query (chat webhook URLs carry their own secret there): logs name a
//! receiver by scheme, host and port only.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac as _};
use rand_core::{OsRng, RngCore as _};
use sha2::Sha256;
use tokio::sync::Semaphore;

use crate::config::WebhookConfig;
use crate::gate::Gate;
use crate::lifecycle::State;
use crate::store::Delivery;

/// The longest the deliverer sleeps between looks at the outbox when no
/// change wakes it (retries due later are found by this look).
const POLL: Duration = Duration::from_millis(200);

/// The longest pause between reads of the outbox while they fail (the
/// database is away).
const OUTBOX_RETRY_MAX: Duration = Duration::from_secs(10);

/// The pause after a failed read of the outbox: double the last one, at
/// least [`POLL`], at most [`OUTBOX_RETRY_MAX`].
fn outbox_retry_pause(last: Duration) -> Duration {
    last.saturating_mul(2).clamp(POLL, OUTBOX_RETRY_MAX)
}

/// How long a finished attempt is remembered against outbox reads that
/// began before it was recorded; far longer than any one read takes.
const STALE_READ: Duration = Duration::from_secs(60);

/// A configured receiver with its secret.
#[derive(Clone)]
pub struct Receiver {
    /// The receiver's configuration.
    pub config: WebhookConfig,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed, not even by a debug log.
        f.debug_struct("Receiver")
            .field("url", &redact(&self.config.url))
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The receivers by URL, each with its secret, checked at start.
#[derive(Clone, Default)]
pub struct Receivers {
    by_url: HashMap<String, Receiver>,
}

impl std::fmt::Debug for Receivers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_url.values()).finish()
    }
}

impl Receivers {
    /// Checks every `[[webhook]]` and reads its secret from the
    /// environment: refused when a URL is not `http(s)://host...`, a URL
    /// appears twice, an event is not a state, a bound is zero, or the
    /// secret's variable is not named, unset or empty (the error names the
    /// variable, never a value).
    pub fn from_config(configs: &[WebhookConfig]) -> Result<Receivers, String> {
        Receivers::from_config_with(configs, |name| std::env::var(name).ok())
    }

    /// [`Receivers::from_config`] with the environment given (tests).
    pub fn from_config_with(
        configs: &[WebhookConfig],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Receivers, String> {
        let mut by_url = HashMap::new();
        for (i, c) in configs.iter().enumerate() {
            let at = format!("[[webhook]] #{} ({})", i + 1, redact(&c.url));
            let url = reqwest::Url::parse(&c.url).map_err(|e| format!("{at}: url: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(format!("{at}: url must be http:// or https:// with a host"));
            }
            // Only resting states are ever entered at the end of a change;
            // `expired` or `decided` would silently never fire. Besides
            // states, `sample_reviewed` selects the verdicts on sampled
            // actions (which move no state).
            let sample = crate::gate::samples::SAMPLE_REVIEWED;
            for e in &c.events {
                if e != sample && !State::ALL.iter().any(|s| s.is_resting() && s.as_str() == e) {
                    return Err(format!(
                        "{at}: events: `{e}` is not a state a request rests in (one of {}) nor `{sample}`",
                        State::ALL
                            .iter()
                            .filter(|s| s.is_resting())
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            if c.max_attempts == 0 || c.timeout_ms == 0 || c.retry_base_ms == 0 {
                return Err(format!(
                    "{at}: max_attempts, timeout_ms and retry_base_ms must be above 0"
                ));
            }
            let Some(var) = c.secret_env.as_deref().filter(|v| !v.is_empty()) else {
                return Err(format!(
                    "{at}: secret_env is required (the environment variable holding the signing secret)"
                ));
            };
            let secret = env(var).unwrap_or_default();
            if secret.is_empty() {
                return Err(format!(
                    "{at}: the environment variable `{var}` (secret_env) is unset or empty"
                ));
            }
            let receiver = Receiver {
                config: c.clone(),
                secret: secret.into_bytes(),
            };
            if by_url.insert(c.url.clone(), receiver).is_some() {
                return Err(format!("{at}: the same url is configured twice"));
            }
        }
        Ok(Receivers { by_url })
    }

    /// Whether no receiver is configured.
    pub fn is_empty(&self) -> bool {
        self.by_url.is_empty()
    }
}

/// A receiver's URL as logs show it: scheme, host and port, no path or
/// query (which may carry a secret).
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}", u.scheme()),
            (Some(h), None) => format!("{}://{h}", u.scheme()),
            _ => "<invalid url>".to_owned(),
        },
        Err(_) => "<invalid url>".to_owned(),
    }
}

/// The `Gatehouse-Signature` header's value for `body` at `t` (Unix
/// seconds): `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &[u8], t: i64, body: &str) -> String {
    // HMAC takes a key of any length: new_from_slice cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delay before attempt `attempts + 1` (after `attempts` failures):
/// `base * 2^(attempts-1)` capped at `max`, times a random factor in
/// [0.5, 1.0] so receivers that failed together do not retry together.
pub fn backoff(config: &WebhookConfig, attempts: i64, random: u32) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let full = config
        .retry_base_ms
        .saturating_mul(1u64 << exp)
        .min(config.retry_max_ms.max(config.retry_base_ms));
    let jitter = 0.5 + f64::from(random) / f64::from(u32::MAX) / 2.0;
    Duration::from_millis((full as f64 * jitter) as u64)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Delivers the outbox until the task is aborted. Wakes on every change
/// the gate announces and at least every 200 ms (`POLL`).
pub async fn run(gate: Arc<Gate>, receivers: Receivers) {
    if receivers.is_empty() {
        return;
    }
    let receivers = Arc::new(receivers);
    let http = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: cannot build the HTTP client; nothing will be delivered");
            return;
        }
    };
    let permits = Arc::new(Semaphore::new(gate.config.webhook_concurrency.max(1)));
    // Rows being attempted now: a row is never attempted twice at once.
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    // When each row's last attempt was recorded. A read of the outbox that
    // began before that moment may predate the record (the row still due,
    // or due at its old time): such a row is skipped until a later read.
    let finished: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut changes = gate.subscribe();
    // While the outbox cannot be read (the database is away) the pause
    // doubles up to OUTBOX_RETRY_MAX and changes do not cut it short: an
    // outage costs a log line per pause, not a spin.
    let mut unreadable = Duration::ZERO;
    loop {
        let limit = u32::try_from(gate.config.webhook_concurrency.max(1) * 4).unwrap_or(64);
        let read_at = Instant::now();
        match gate.store.deliveries_due(now_ms(), limit).await {
            Ok(due) => {
                unreadable = Duration::ZERO;
                {
                    let mut finished = finished.lock().unwrap_or_else(|p| p.into_inner());
                    finished.retain(|_, at| read_at.duration_since(*at) < STALE_READ);
                }
                for delivery in due {
                    let stale = finished
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&delivery.id)
                        .is_some_and(|at| *at >= read_at);
                    if stale
                        || !in_flight
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(delivery.id.clone())
                    {
                        continue;
                    }
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        return;
                    };
                    let (gate, receivers, http, in_flight, finished) = (
                        gate.clone(),
                        receivers.clone(),
                        http.clone(),
                        in_flight.clone(),
                        finished.clone(),
                    );
                    tokio::spawn(async move {
                        let id = delivery.id.clone();
                        attempt(&gate, &receivers, &http, delivery).await;
                        finished
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(id.clone(), Instant::now());
                        in_flight
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&id);
                        drop(permit);
                    });
                }
            }
            Err(e) => {
                unreadable = outbox_retry_pause(unreadable);
                tracing::error!(error = %e.detail, retry_in_ms = unreadable.as_millis() as u64, "webhooks: cannot read the outbox");
                tokio::time::sleep(unreadable).await;
                continue;
            }
        }
        tokio::select! {
            _ = changes.recv() => {},
            () = tokio::time::sleep(POLL) => {},
        }
    }
}

/// One attempt of one delivery, and its outcome recorded in the store.
async fn attempt(gate: &Gate, receivers: &Receivers, http: &reqwest::Client, d: Delivery) {
    let Some(receiver) = receivers.by_url.get(&d.receiver) else {
        // Its receiver was removed from the configuration: nobody to send to.
        tracing::warn!(delivery = %d.id, receiver = %redact(&d.receiver), "webhook receiver no longer configured; delivery given up");
        record(gate, &d, Some("receiver no longer configured"), None).await;
        return;
    };
    let event = serde_json::from_str::<serde_json::Value>(&d.body)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_default();
    let t = now_ms() / 1000;
    let sent = http
        .post(&receiver.config.url)
        .timeout(Duration::from_millis(receiver.config.timeout_ms))
        .header("content-type", "application/json")
        .header(
            "gatehouse-signature",
            signature(&receiver.secret, t, &d.body),
        )
        .header("idempotency-key", &d.id)
        .header("gatehouse-event", event)
        .body(d.body.clone())
        .send()
        .await;
    let error = match sent {
        Ok(r) if r.status().is_success() => None,
        Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
        // Without the URL: reqwest's error text would print it whole.
        Err(e) => Some(if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connect() {
            "cannot connect".to_owned()
        } else {
            "request failed".to_owned()
        }),
    };
    let who = redact(&receiver.config.url);
    match error {
        // Recorded before counted: a scrape that sees the count sees the
        // outbox as it is after the attempt.
        None => {
            record(gate, &d, None, None).await;
            gate.metrics
                .webhook_delivered
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(delivery = %d.id, receiver = %who, "webhook delivered");
        }
        Some(error) => {
            let attempts = d.attempts + 1;
            if attempts >= i64::from(receiver.config.max_attempts) {
                record(gate, &d, Some(&error), None).await;
                failed(gate);
                gate.metrics
                    .webhook_given_up
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(delivery = %d.id, receiver = %who, attempts, %error, "webhook delivery given up");
            } else {
                let delay = backoff(&receiver.config, attempts, OsRng.next_u32());
                tracing::warn!(delivery = %d.id, receiver = %who, attempts, %error, retry_in_ms = delay.as_millis() as u64, "webhook attempt failed; will retry");
                let at =
                    now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                record(gate, &d, Some(&error), Some(at)).await;
                failed(gate);
            }
        }
    }
}

fn failed(gate: &Gate) {
    gate.metrics
        .webhook_failures
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

async fn record(gate: &Gate, d: &Delivery, error: Option<&str>, retry_at: Option<i64>) {
    if let Err(e) = gate.store.delivery_done(&d.id, error, retry_at).await {
        // The row stays due: it is attempted again (at-least-once).
        tracing::error!(delivery = %d.id, error = %e.detail, "webhooks: cannot record an attempt");
    }
}

/// The longest `timeout_ms` a receiver may have when replicas share a
/// PostgreSQL store: half the delivery lease
/// ([`crate::store::DELIVERY_LEASE_MS`]), so an attempt ends
/// (sent or timed out) well before another replica may take the delivery.
pub const MAX_SHARED_TIMEOUT_MS: u64 = 60_000;

/// Refuses, on a shared store, a receiver whose attempt may outlive the
/// delivery's lease: a receiver slower than the lease would get the same
/// delivery from a second replica while the first still waits on it (two
/// sends in a run where no replica failed). SQLite, one process, has no
/// such bound.
pub fn check_lease(configs: &[WebhookConfig], shared_store: bool) -> Result<(), String> {
    if !shared_store {
        return Ok(());
    }
    match configs
        .iter()
        .enumerate()
        .find(|(_, c)| c.timeout_ms > MAX_SHARED_TIMEOUT_MS)
    {
        Some((i, c)) => Err(format!(
            "[[webhook]] #{} ({}): timeout_ms = {} is over {MAX_SHARED_TIMEOUT_MS} with a PostgreSQL store: a delivery is leased to one replica for {} ms, and an attempt must end well before another replica may send it again",
            i + 1,
            redact(&c.url),
            c.timeout_ms,
            crate::store::DELIVERY_LEASE_MS
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, env: Option<&str>) -> WebhookConfig {
        WebhookConfig {
            url: url.into(),
            secret_env: env.map(Into::into),
            events: vec![],
            max_attempts: 5,
            retry_base_ms: 1_000,
            retry_max_ms: 8_000,
            timeout_ms: 1_000,
        }
    }

    /// With replicas on PostgreSQL a receiver slower than the lease
    /// would be sent one delivery twice in a run where no replica failed
    /// (the old code accepted any `timeout_ms`): over half the lease is
    /// refused there, and the lease is indeed twice the bound.
    #[test]
    fn a_timeout_over_half_the_lease_is_refused_on_a_shared_store() {
        assert_eq!(
            i64::try_from(2 * super::MAX_SHARED_TIMEOUT_MS).ok(),
            Some(crate::store::DELIVERY_LEASE_MS)
        );
        let mut slow = config("https://hooks.example.com/x", Some("S"));
        slow.timeout_ms = super::MAX_SHARED_TIMEOUT_MS + 1;
        let e = super::check_lease(std::slice::from_ref(&slow), true).expect_err("refused");
        assert!(e.contains("timeout_ms") && e.contains("#1"), "{e}");
        assert!(super::check_lease(std::slice::from_ref(&slow), false).is_ok());
        slow.timeout_ms = super::MAX_SHARED_TIMEOUT_MS;
        assert!(super::check_lease(&[slow], true).is_ok());
    }

    /// `sample_reviewed` (the verdicts on sampled actions) is taken
    /// beside the resting states; look-alikes of it and passing states are
    /// refused at start.
    #[test]
    fn sample_reviewed_is_an_event_and_its_look_alikes_are_not() {
        let env = |_: &str| Some("secret".to_owned());
        let mut c = config("https://hooks.example.com/x", Some("S"));
        c.events = vec!["sample_reviewed".into(), "approved".into()];
        assert!(Receivers::from_config_with(std::slice::from_ref(&c), env).is_ok());
        assert!(c.wants("sample_reviewed") && !c.wants("pending"));
        for bad in [
            "sample_review",
            "Sample_Reviewed",
            "sample_reviewed ",
            "expired",
        ] {
            c.events = vec![bad.into()];
            let Err(e) = Receivers::from_config_with(std::slice::from_ref(&c), env) else {
                panic!("`{bad}` was taken");
            };
            assert!(e.contains("sample_reviewed") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn signature_is_hmac_sha256_of_t_dot_body() {
        // RFC 4231-independent check: recompute with the hmac crate.
        let s = signature(b"k", 1700000000, "{}");
        let mut mac = <Hmac<Sha256>>::new_from_slice(b"k").unwrap();
        mac.update(b"1700000000.{}");
        let want = hex::encode(mac.finalize().into_bytes());
        assert_eq!(s, format!("t=1700000000,v1={want}"));
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_half_to_full() {
        let c = config("http://h", Some("X"));
        assert_eq!(backoff(&c, 1, u32::MAX), Duration::from_millis(1_000));
        assert_eq!(backoff(&c, 2, u32::MAX), Duration::from_millis(2_000));
        assert_eq!(backoff(&c, 3, 0), Duration::from_millis(2_000));
        assert_eq!(backoff(&c, 60, u32::MAX), Duration::from_millis(8_000));
        assert_eq!(
            backoff(&c, i64::MAX, u32::MAX),
            Duration::from_millis(8_000)
        );
    }

    #[test]
    fn start_is_refused_without_a_usable_secret_or_url() {
        let env = |n: &str| (n == "SET").then(|| "s3cret".to_owned());
        let empty = |n: &str| (n == "EMPTY").then(String::new);
        assert!(Receivers::from_config_with(&[config("http://h/x", Some("SET"))], env).is_ok());
        for (c, want) in [
            (config("http://h/x", None), "secret_env is required"),
            (config("http://h/x", Some("UNSET")), "`UNSET`"),
            (config("ftp://h/x", Some("SET")), "http://"),
            (config("not a url", Some("SET")), "url"),
        ] {
            let e = Receivers::from_config_with(&[c], env).unwrap_err();
            assert!(e.contains(want), "{e}");
            assert!(!e.contains("s3cret"));
        }
        let e =
            Receivers::from_config_with(&[config("http://h/x", Some("EMPTY"))], empty).unwrap_err();
        assert!(e.contains("unset or empty"), "{e}");
        for event in ["approvedd", "expired", "decided"] {
            let mut bad = config("http://h/x", Some("SET"));
            bad.events = vec![event.into()];
            assert!(Receivers::from_config_with(&[bad], env).is_err(), "{event}");
        }
        let mut good = config("http://h/x", Some("SET"));
        good.events = vec!["pending".into(), "verified".into(), "cancelled".into()];
        assert!(Receivers::from_config_with(&[good], env).is_ok());
        let twice = [
            config("http://h/x", Some("SET")),
            config("http://h/x", Some("SET")),
        ];
        assert!(Receivers::from_config_with(&twice, env).is_err());
    }

    /// While the outbox cannot be read, reads back off to a bound (the
    /// old loop read again at every change note and every 200 ms).
    #[test]
    fn failed_outbox_reads_back_off_to_a_bound() {
        let mut pause = Duration::ZERO;
        let mut pauses = Vec::new();
        for _ in 0..12 {
            pause = outbox_retry_pause(pause);
            pauses.push(pause);
        }
        assert_eq!(pauses[0], POLL);
        assert_eq!(pauses[1], POLL * 2);
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*pauses.last().expect("pauses"), OUTBOX_RETRY_MAX);
    }

    #[test]
    fn logs_show_no_path_or_query() {
        assert_eq!(
            redact("https://hooks.example.com/services/T0/B0/SECRET?token=x"),
            "https://hooks.example.com"
        );
        assert_eq!(redact("http://127.0.0.1:9/x"), "http://127.0.0.1:9");
        assert_eq!(redact("::"), "<invalid url>");
    }
}
