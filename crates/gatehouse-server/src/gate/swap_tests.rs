//! A reload racing a claim: the claim read the policy in force, then a
//! reload swapped in a stricter set and answered, then the claim committed.
//! Before the `swap` lock the claim was granted under the replaced (looser)
//! set after the reload had answered that the stricter one was in force.
//!
//! The race is made deterministic with a store whose next `update` waits
//! until the test releases it: the claim is held between its read of the
//! policy and its commit while the reload runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio::sync::Notify;

use super::{Gate, LoadedPolicy};
use crate::auth::{AuthMethod, Principal, Scope};
use crate::config::ServerConfig;
use crate::error::GateError;
use crate::store::{
    ApiKeyRow, Change, Delivery, IdempotencyKey, IdempotentAnswer, ListFilter, RequestRow,
    SqliteStore, Store,
};

/// A SQLite store whose next `update` (once `stall` is set) announces
/// itself on `entered` and waits for `release` before doing its work.
struct Stalling {
    inner: SqliteStore,
    stall: AtomicBool,
    entered: Notify,
    release: Notify,
}

#[async_trait]
impl Store for Stalling {
    async fn create(&self, change: Change) -> Result<(), GateError> {
        self.inner.create(change).await
    }
    async fn update(
        &self,
        id: &str,
        apply: &mut (dyn FnMut(RequestRow) -> Result<Change, GateError> + Send),
    ) -> Result<RequestRow, GateError> {
        if self.stall.swap(false, Ordering::SeqCst) {
            self.entered.notify_one();
            self.release.notified().await;
        }
        self.inner.update(id, apply).await
    }
    async fn get(&self, id: &str) -> Result<Option<RequestRow>, GateError> {
        self.inner.get(id).await
    }
    async fn list(&self, filter: &ListFilter) -> Result<Vec<RequestRow>, GateError> {
        self.inner.list(filter).await
    }
    async fn search(
        &self,
        filter: &crate::store::SearchFilter,
    ) -> Result<crate::store::SearchPage, GateError> {
        self.inner.search(filter).await
    }
    async fn due(&self, now_unix: i64, limit: u32) -> Result<Vec<String>, GateError> {
        self.inner.due(now_unix, limit).await
    }
    async fn idempotent(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotentAnswer>, GateError> {
        self.inner.idempotent(key).await
    }
    async fn audit_after(
        &self,
        seq: i64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<(Vec<(i64, String)>, bool), GateError> {
        self.inner.audit_after(seq, limit, max_bytes).await
    }
    async fn audit_of(&self, request_id: &str) -> Result<Vec<(i64, String)>, GateError> {
        self.inner.audit_of(request_id).await
    }
    async fn insert_key(&self, key: &ApiKeyRow) -> Result<(), GateError> {
        self.inner.insert_key(key).await
    }
    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRow>, GateError> {
        self.inner.key_by_hash(hash).await
    }
    async fn keys(&self) -> Result<Vec<ApiKeyRow>, GateError> {
        self.inner.keys().await
    }
    async fn revoke_key(&self, id: &str) -> Result<bool, GateError> {
        self.inner.revoke_key(id).await
    }
    async fn save_policy(&self, digest: &str, sources: &Json) -> Result<(), GateError> {
        self.inner.save_policy(digest, sources).await
    }
    async fn policy_sources(&self, digest: &str) -> Result<Option<Json>, GateError> {
        self.inner.policy_sources(digest).await
    }
    async fn pending_by_tier(&self) -> Result<Vec<(Option<i64>, i64)>, GateError> {
        self.inner.pending_by_tier().await
    }
    async fn deliveries_waiting(&self) -> Result<i64, GateError> {
        self.inner.deliveries_waiting().await
    }
    async fn deliveries_due(&self, now_ms: i64, limit: u32) -> Result<Vec<Delivery>, GateError> {
        self.inner.deliveries_due(now_ms, limit).await
    }
    async fn delivery_done(
        &self,
        id: &str,
        error: Option<&str>,
        retry_at_ms: Option<i64>,
    ) -> Result<(), GateError> {
        self.inner.delivery_done(id, error, retry_at_ms).await
    }
    async fn insert_session(
        &self,
        session: &crate::store::SessionRow,
        now_unix: i64,
    ) -> Result<(), GateError> {
        self.inner.insert_session(session, now_unix).await
    }
    async fn session(
        &self,
        hash: &str,
        now_unix: i64,
    ) -> Result<Option<crate::store::SessionRow>, GateError> {
        self.inner.session(hash, now_unix).await
    }
    async fn delete_session(&self, hash: &str) -> Result<bool, GateError> {
        self.inner.delete_session(hash).await
    }
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn principal(id: &str, scopes: &[Scope], roles: &[&str]) -> Principal {
    Principal {
        id: id.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        scopes: scopes.to_vec(),
        method: AuthMethod::ApiKey,
        key_id: None,
    }
}

/// The shipped refund rule's approver line (asserted present, so an edit
/// of the shipped set fails this test loudly).
const REFUND_LEAD: &str = "then tier 3, approve support_lead\n  because REFUND\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_answered_is_in_force_for_every_claim_committed_after_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).expect("a policy directory");
    for entry in std::fs::read_dir(repository().join("policies/ai-agent-actions")).expect("shipped")
    {
        let path = entry.expect("an entry").path();
        std::fs::copy(&path, policies.join(path.file_name().expect("a name"))).expect("a copy");
    }
    let store = Arc::new(Stalling {
        inner: SqliteStore::open(&dir.path().join("gate.db"), false)
            .await
            .expect("a store"),
        stall: AtomicBool::new(false),
        entered: Notify::new(),
        release: Notify::new(),
    });
    let config = ServerConfig {
        policy: policies.clone(),
        data_dir: dir.path().to_owned(),
        ..ServerConfig::default()
    };
    let loaded = LoadedPolicy::load(&policies).expect("the shipped set loads");
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let gate = Arc::new(Gate::new(store.clone(), config, loaded, None, key));
    gate.save_current_policy().await.expect("saved");

    let agent = principal("agent-refunds", &[Scope::Request, Scope::Execute], &[]);
    let lead = principal("alice", &[Scope::Approve], &["support_lead"]);
    let action = std::fs::read_to_string(repository().join("examples/actions/refund-small.json"))
        .expect("the example action");
    let (_, created) = gate
        .create_request(&agent, &action, None)
        .await
        .expect("created");
    let created: Json = serde_json::from_str(&created).expect("JSON");
    let id = created["id"].as_str().expect("an id").to_owned();
    let review = r#"{"decision": "approve", "reason": "damaged in transit"}"#;
    let (_, approved) = gate
        .review(&lead, &id, review, None)
        .await
        .expect("approved");
    assert!(approved.contains(r#""state":"approved""#), "{approved}");

    // The stricter set on disk: refunds now need finance.
    let finance = policies.join("finance.gate");
    let text = std::fs::read_to_string(&finance).expect("finance.gate");
    assert!(
        text.contains(REFUND_LEAD),
        "finance.gate lacks {REFUND_LEAD:?}"
    );
    let stricter = "then tier 3, approve finance_approver\n  because REFUND\n";
    std::fs::write(&finance, text.replace(REFUND_LEAD, stricter)).expect("written");

    let order = Arc::new(AtomicUsize::new(0));
    store.stall.store(true, Ordering::SeqCst);
    let claim = {
        let (gate, order, id) = (gate.clone(), order.clone(), id.clone());
        tokio::spawn(async move {
            let result = gate.claim(&agent, &id, &action).await;
            (order.fetch_add(1, Ordering::SeqCst), result)
        })
    };
    tokio::time::timeout(Duration::from_secs(60), store.entered.notified())
        .await
        .expect("the claim reaches the store");
    let mut reload = {
        let (gate, order) = (gate.clone(), order.clone());
        tokio::spawn(async move {
            let result = gate.reload().await;
            (order.fetch_add(1, Ordering::SeqCst), result)
        })
    };
    // The old code let the reload finish here while the claim was held; the
    // fixed one holds the reload until the claim commits. Either way the
    // claim is then released.
    let early = tokio::time::timeout(Duration::from_secs(2), &mut reload).await;
    store.release.notify_one();
    let (reload_at, reloaded) = match early {
        Ok(done) => done.expect("the reload task"),
        Err(_) => reload.await.expect("the reload task"),
    };
    let (claim_at, claimed) = claim.await.expect("the claim task");
    assert_eq!(reloaded, Ok(true), "the stricter set is loaded");
    if reload_at < claim_at {
        // Committed after the reload answered: judged by the stricter set.
        let refused = claimed.expect_err("a claim after the reload needs finance's approval");
        assert_eq!(refused.code, "REAPPROVAL_REQUIRED", "{refused:?}");
    } else {
        let granted = claimed.expect("a claim committed before the reload is judged by its set");
        assert!(granted.contains(r#""state":"executing""#), "{granted}");
    }
}
