#!/usr/bin/env bash
# gatehouse against Cedar, Rego (regorus) and hand-written Rust: checks that
# every engine agrees on every input, then prints one table and writes it to
# benches/peers/results.md. See benches/peers/README.md.
#
#   benches/peers/run.sh            # the full run (about 10 minutes on 2 cores)
#   benches/peers/run.sh --quick    # a smoke run (fewer inputs and passes)
#
# Other flags: --inputs N, --sizes 15,1015,10015, --no-memory, --no-write,
# --output FILE. The build goes to $CARGO_TARGET_DIR (default: the root
# crate's target/peers), never into the root crate's own build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/../../target/peers}"
cargo build --release --locked --manifest-path "$here/Cargo.toml"
exec "$CARGO_TARGET_DIR/release/gatehouse-peers" "$@"
