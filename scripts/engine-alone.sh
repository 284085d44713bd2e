#!/usr/bin/env bash
# The engine as a user's build compiles it: serde_json with its default
# features (no `arbitrary_precision`, no `preserve_order`; the CLI turns
# those on for itself only, and `cargo test` at the workspace root unifies
# them into the engine). Run from anywhere; CI calls it next to the
# workspace tests, so both configurations of the engine are tested.
#
# 1. the engine's own tests and doc tests, alone (serde_json defaults);
# 2. clippy on the engine alone, every target;
# 3. tests/downstream: a crate outside the workspace that depends on the
#    engine as a user does, with its own Cargo.lock (--locked: it must not
#    drift from the root one).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked -p gatehouse-engine
cargo clippy --locked -p gatehouse-engine --all-targets -- -D warnings
# The workspace's target dir (artifacts of other features sit side by side),
# never a target/ inside tests/downstream.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" \
  cargo test --locked --manifest-path tests/downstream/Cargo.toml
