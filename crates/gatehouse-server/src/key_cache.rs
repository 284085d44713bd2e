//! The API keys recently seen, in memory, so that authenticating a request
//! does not read SQLite every time (a `/v1/decide` costs tens of
//! microseconds; a database read would be most of it).
//!
//! Invariants:
//! - Only keys that were **not revoked** when read are kept; an unknown or
//!   revoked key is always looked up in the store again (so a key created
//!   after a miss works at once, and an attacker guessing keys cannot fill
//!   the cache: only real keys enter it).
//! - A revocation clears the cache **after** the store committed it, and
//!   bumps a generation counter. A lookup that began before the revocation
//!   (it may have read the row while it was still live) inserts nothing,
//!   because the generation it read has changed. So once `revoke` returns,
//!   no request authenticates with the revoked key.
//! - Bounded: at most [`KeyCache::CAPACITY`] entries; when full, it is
//!   cleared and refills from the store (keys are few; this is the
//!   simplest eviction that cannot grow).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::store::ApiKeyRow;

/// Live API keys by the SHA-256 hash of their text.
#[derive(Default)]
pub struct KeyCache {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    by_hash: HashMap<String, Arc<ApiKeyRow>>,
    generation: u64,
}

impl KeyCache {
    /// The most keys kept at once.
    pub const CAPACITY: usize = 10_000;

    /// The cached live key with this hash, or the generation to hand to
    /// [`KeyCache::insert`] after reading the store.
    pub fn get(&self, hash: &str) -> Result<Arc<ApiKeyRow>, u64> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        match inner.by_hash.get(hash) {
            Some(row) => Ok(row.clone()),
            None => Err(inner.generation),
        }
    }

    /// Keeps a key read from the store at `generation`, unless it is
    /// revoked or a revocation happened since the read began.
    pub fn insert(&self, generation: u64, row: Arc<ApiKeyRow>) {
        if row.revoked {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.generation != generation {
            return;
        }
        if inner.by_hash.len() >= Self::CAPACITY {
            inner.by_hash.clear();
        }
        inner.by_hash.insert(row.hash.clone(), row);
    }

    /// Forgets every key: call after the store committed a revocation (or
    /// any other change to a stored key).
    pub fn invalidate(&self) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        inner.by_hash.clear();
        inner.generation = inner.generation.wrapping_add(1);
    }

    /// How many keys are kept (for tests).
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_hash
            .len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(hash: &str, revoked: bool) -> Arc<ApiKeyRow> {
        Arc::new(ApiKeyRow {
            id: format!("ghk_{hash}"),
            hash: hash.to_owned(),
            identity: "agent".to_owned(),
            scopes: vec!["decide".to_owned()],
            roles: vec![],
            created_at: "2026-01-01T00:00:00Z".to_owned(),
            revoked,
        })
    }

    #[test]
    fn keeps_live_keys_and_never_revoked_ones() {
        let cache = KeyCache::default();
        let generation = cache.get("a").expect_err("empty");
        cache.insert(generation, row("a", false));
        cache.insert(generation, row("b", true));
        assert_eq!(cache.get("a").expect("cached").id, "ghk_a");
        assert!(cache.get("b").is_err(), "a revoked key is never cached");
    }

    #[test]
    fn a_lookup_that_raced_a_revocation_inserts_nothing() {
        let cache = KeyCache::default();
        let generation = cache.get("a").expect_err("empty");
        // The store read the row while live; the revocation commits and
        // invalidates before the insert.
        cache.invalidate();
        cache.insert(generation, row("a", false));
        assert!(cache.get("a").is_err());
        assert!(cache.is_empty());
    }

    #[test]
    fn invalidate_forgets_every_key() {
        let cache = KeyCache::default();
        let generation = cache.get("a").expect_err("empty");
        cache.insert(generation, row("a", false));
        cache.invalidate();
        assert!(cache.get("a").is_err());
    }

    #[test]
    fn stays_bounded() {
        let cache = KeyCache::default();
        for i in 0..KeyCache::CAPACITY + 5 {
            let generation = cache.get("x").expect_err("absent");
            cache.insert(generation, row(&format!("k{i}"), false));
        }
        assert!(cache.len() <= KeyCache::CAPACITY);
        assert!(cache.get(&format!("k{}", KeyCache::CAPACITY + 4)).is_ok());
    }
}
