//! Empty: this crate exists for its tests (`tests/serde_json_defaults.rs`),
//! which build the engine the way a user's program does.
