//! The policy sets the gate decides with: the one in force, and every
//! earlier one a held request was decided under (kept in the store by
//! digest, so a request is judged by its own policy after a reload or a
//! restart).
//!
//! A reload replaces the set in force only when the new files compile with
//! no error; otherwise the old set stays and the error is kept for
//! `/health` and the log.

use std::path::Path;
use std::sync::Arc;

use gatehouse::Policy;
use serde_json::{Value as Json, json};

use super::Gate;
use crate::error::GateError;

/// A compiled policy set and the sources it came from.
pub struct LoadedPolicy {
    /// The compiled set.
    pub policy: Arc<Policy>,
    /// `[{"name": ..., "text": ...}]`, what the store keeps under the digest.
    pub sources: Json,
}

impl LoadedPolicy {
    /// Reads and compiles the set at `path` (a `.gate` file or a
    /// directory). The error lists every diagnostic, as `check` prints them.
    pub fn load(path: &Path) -> Result<LoadedPolicy, String> {
        let files = gatehouse::loader::read_set(path).map_err(|d| d.to_string())?;
        let sources = Json::Array(
            files
                .iter()
                .map(|f| json!({"name": f.name, "text": f.text}))
                .collect(),
        );
        let policy = Policy::from_files(files).map_err(|d| d.to_string())?;
        Ok(LoadedPolicy {
            policy: Arc::new(policy),
            sources,
        })
    }

    /// Compiles stored sources.
    fn from_sources(sources: &Json) -> Result<Policy, String> {
        let files = sources
            .as_array()
            .ok_or("stored policy sources are not a list")?
            .iter()
            .map(|f| {
                let name = f.get("name").and_then(Json::as_str);
                let text = f.get("text").and_then(Json::as_str);
                match (name, text) {
                    (Some(n), Some(t)) => Ok((n.to_owned(), t.to_owned())),
                    _ => Err("a stored policy file has no name or text".to_owned()),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Policy::from_sources(files).map_err(|d| d.to_string())
    }
}

impl Gate {
    /// The policy set with this digest: the one in force, one used earlier
    /// by this process, or one kept in the store. Refused (500) when none
    /// is found or the stored one no longer compiles to the same digest.
    pub async fn policy_by_digest(&self, digest: &str) -> Result<Arc<Policy>, GateError> {
        if let Some(p) = self
            .by_digest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(digest)
        {
            return Ok(p.clone());
        }
        let sources = self.store.policy_sources(digest).await?.ok_or_else(|| {
            GateError::store(format!(
                "the policy set `{digest}` a request was decided under is not in the store"
            ))
        })?;
        let policy = LoadedPolicy::from_sources(&sources).map_err(GateError::store)?;
        if policy.digest() != digest {
            return Err(GateError::store(format!(
                "the stored policy set `{digest}` now compiles to `{}`",
                policy.digest()
            )));
        }
        let policy = Arc::new(policy);
        self.by_digest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(digest.to_owned(), policy.clone());
        Ok(policy)
    }

    /// Keeps the set in force in the store (so requests decided under it
    /// can be judged by it after a restart).
    pub async fn save_current_policy(&self) -> Result<(), GateError> {
        let current = self.policy();
        self.store
            .save_policy(current.policy.digest(), &current.sources)
            .await
    }

    /// Reloads the policy set from the configured path (and the trust
    /// store, when one is configured). `Ok(true)` when the set in force
    /// changed; `Err` (the old set stays) when the new one does not check
    /// clean. The shadow set, when configured, is reloaded too.
    pub async fn reload(&self) -> Result<bool, String> {
        // The shadow set first and on its own: its failure is logged and
        // counted, never the enforced reload's (see shadow.rs).
        self.reload_shadow();
        let result = self.try_reload().await;
        let mut status = self.reload.write().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(changed) => {
                status.error = None;
                if *changed {
                    status.reloads += 1;
                    status.loaded_at = self.now().to_string();
                    tracing::info!(digest = %self.policy().policy.digest(), "policy set reloaded");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "reload refused; the previous policy set stays in force");
                status.error = Some(e.clone());
            }
        }
        result
    }

    async fn try_reload(&self) -> Result<bool, String> {
        let loaded = LoadedPolicy::load(&self.config.policy)?;
        if let Some(path) = &self.config.trust {
            let trust = gatehouse::trust::TrustStore::load(path).map_err(|e| e.to_string())?;
            self.set_trust(Some(trust));
        }
        if loaded.policy.digest() == self.policy().policy.digest() {
            return Ok(false);
        }
        self.store
            .save_policy(loaded.policy.digest(), &loaded.sources)
            .await
            .map_err(|e| e.detail)?;
        self.by_digest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(loaded.policy.digest().to_owned(), loaded.policy.clone());
        // Waits for claims judging by the set in force to commit, and keeps
        // new ones from reading it until the swap is done (see `swap`).
        let _no_claim = self.swap.write().await;
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        *current = Arc::new(loaded);
        Ok(true)
    }
}
