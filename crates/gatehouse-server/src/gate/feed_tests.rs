//! What a note from the store's feed (a change another replica committed)
//! does to this replica: [`Gate::apply_note`]. The function is new, so
//! these tests fail on the old code by construction; the end-to-end proof
//! (two real processes on one PostgreSQL database) is tests/serve/replicas.rs.

use std::path::Path;
use std::sync::Arc;

use super::{Gate, KEY_REVOKED, LoadedPolicy, RESYNC};
use crate::config::ServerConfig;
use crate::store::{ApiKeyRow, SqliteStore, StoreNote};

async fn gate(dir: &Path) -> Gate {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/ai-agent-actions");
    let store = SqliteStore::open(&dir.join("gate.db"), false)
        .await
        .expect("a store");
    let config = ServerConfig {
        policy: policies.clone(),
        data_dir: dir.to_owned(),
        ..ServerConfig::default()
    };
    let loaded = LoadedPolicy::load(&policies).expect("the shipped set loads");
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    Gate::new(Arc::new(store), config, loaded, None, key)
}

fn cached_key(gate: &Gate) {
    let generation = gate.keys.get("h").expect_err("empty");
    gate.keys.insert(
        generation,
        Arc::new(ApiKeyRow {
            id: "ghk_a".into(),
            hash: "h".into(),
            identity: "agent".into(),
            scopes: vec!["request".into()],
            roles: vec![],
            created_at: "2026-01-01T00:00:00Z".into(),
            revoked: false,
        }),
    );
    assert!(gate.keys.get("h").is_ok());
}

#[tokio::test]
async fn a_request_note_wakes_this_replicas_waiters() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let gate = gate(dir.path()).await;
    let mut notes = gate.subscribe();
    gate.apply_note(StoreNote::Request {
        id: "req_1".into(),
        state: "approved".into(),
        version: 3,
    });
    let note = notes.try_recv().expect("a note");
    assert_eq!(
        (note.id.as_str(), note.state.as_str(), note.version),
        ("req_1", "approved", 3)
    );
}

#[tokio::test]
async fn a_revocation_elsewhere_empties_the_key_cache_and_ends_its_waits() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let gate = gate(dir.path()).await;
    cached_key(&gate);
    let mut notes = gate.subscribe();
    gate.apply_note(StoreNote::KeyRevoked { id: "ghk_a".into() });
    assert!(
        gate.keys.get("h").is_err(),
        "the revoked key is still cached"
    );
    let note = notes.try_recv().expect("a note");
    assert_eq!(
        (note.id.as_str(), note.state.as_str()),
        ("ghk_a", KEY_REVOKED)
    );
}

#[tokio::test]
async fn a_resync_empties_the_key_cache_and_wakes_every_waiter() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let gate = gate(dir.path()).await;
    cached_key(&gate);
    let mut first = gate.subscribe();
    let mut second = gate.subscribe();
    gate.apply_note(StoreNote::Resync);
    assert!(gate.keys.get("h").is_err(), "a key outlived a resync");
    for notes in [&mut first, &mut second] {
        assert_eq!(notes.try_recv().expect("a note").state, RESYNC);
    }
}
