//! The fuzz targets' bodies live in `bodies.rs`, shared with the replay test
//! `tests/fuzz_corpus.rs` of the root crate, so the two cannot drift.

#[path = "bodies.rs"]
pub mod bodies;
