//! What every client of the run recorded: the operations it was
//! **acknowledged** (a 2xx answer: the gate promised them), the ones
//! refused (a 4xx: nothing happened, by the gate's word), and the ones whose
//! outcome is unknown (a connection cut, a timeout, 503s until the client
//! gave up: they may or may not have happened, and the checker allows
//! either).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// An acknowledged operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ack {
    /// `POST /v1/requests` answered 2xx under this idempotency key.
    Created {
        /// The `Idempotency-Key` the agent sent (unique per action).
        key: String,
        /// The request's id in the answer.
        id: String,
        /// Its state in the answer.
        state: String,
    },
    /// `POST /v1/requests/{id}/decisions` answered 200.
    Reviewed {
        /// The request.
        id: String,
        /// Who reviewed (the key's identity).
        approver: String,
        /// `approve` or `reject`.
        review: String,
        /// The request's state in the answer.
        state: String,
    },
    /// `POST /v1/requests/{id}/claim` answered 200: this executor may run it.
    Claimed {
        /// The request.
        id: String,
        /// Which executor (identity) was granted it.
        executor: String,
    },
    /// `POST /v1/requests/{id}/executed` answered 200.
    Executed {
        /// The request.
        id: String,
    },
    /// `POST /v1/requests/{id}/cancel` answered 200.
    Cancelled {
        /// The request.
        id: String,
    },
}

impl Ack {
    /// The kind's name, for the report.
    pub fn kind(&self) -> &'static str {
        match self {
            Ack::Created { .. } => "create",
            Ack::Reviewed { .. } => "review",
            Ack::Claimed { .. } => "claim",
            Ack::Executed { .. } => "executed",
            Ack::Cancelled { .. } => "cancel",
        }
    }
}

/// Everything the clients recorded, shared by their threads.
#[derive(Debug, Default)]
pub struct History {
    inner: Mutex<Recorded>,
}

/// The recorded history (a copy is what the checker reads).
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    /// Acknowledged operations, in the order the answers arrived.
    pub acks: Vec<Ack>,
    /// Refusals by `kind code` (`claim ALREADY_CLAIMED`).
    pub refused: BTreeMap<String, u64>,
    /// Operations given up with an unknown outcome, by kind.
    pub unknown: BTreeMap<String, u64>,
    /// 503 answers seen (each attempt), by problem code.
    pub unavailable: BTreeMap<String, u64>,
    /// Attempts that got no answer (connection refused or cut, timeout).
    pub no_answer: u64,
    /// Attempts in all.
    pub attempts: u64,
}

impl History {
    /// Records an acknowledged operation.
    pub fn ack(&self, ack: Ack) {
        self.with(|r| r.acks.push(ack));
    }

    /// Records a refusal (a 4xx) of an operation of `kind`.
    pub fn refused(&self, kind: &str, code: &str) {
        self.with(|r| *r.refused.entry(format!("{kind} {code}")).or_default() += 1);
    }

    /// Records an operation given up with an unknown outcome.
    pub fn unknown(&self, kind: &str) {
        self.with(|r| *r.unknown.entry(kind.to_owned()).or_default() += 1);
    }

    /// Records one attempt's result: a status (503s counted by code) or
    /// no answer at all.
    pub fn attempt(&self, status: Option<u16>, code: &str) {
        self.with(|r| {
            r.attempts += 1;
            match status {
                None => r.no_answer += 1,
                Some(503) => *r.unavailable.entry(code.to_owned()).or_default() += 1,
                Some(_) => {}
            }
        });
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> Recorded {
        self.inner.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn with(&self, f: impl FnOnce(&mut Recorded)) {
        // A poisoned lock means a client thread panicked: the run fails
        // on that thread's join anyway; recording goes on.
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard);
    }
}

impl Recorded {
    /// Acknowledged operations by kind.
    pub fn acks_by_kind(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for a in &self.acks {
            *out.entry(a.kind()).or_default() += 1;
        }
        out
    }
}
