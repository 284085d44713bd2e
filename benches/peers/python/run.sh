#!/usr/bin/env bash
# gatehouse from Python beside cedarpy and opa-eval on the peers matrix:
# builds the gatehouse-py wheel and the Rust baseline, installs the wheel
# with the pinned peers into a fresh virtualenv, checks agreement, times,
# prints one table and writes benches/peers/python/results.md.
# See benches/peers/python/README.md. Never run by cargo test or CI (the
# agreement test, crates/gatehouse-python/tests/test_peers_agreement.py, is).
#
#   benches/peers/python/run.sh              # 10 000 inputs, 7 passes, 15 and 1015 rules
#   benches/peers/python/run.sh --quick      # 1 000 inputs, 3 short passes
#   benches/peers/python/run.sh --profile    # py-spy profile of gatehouse `evaluate` per call
#   PROFILE_PATH='cedarpy `is_authorized`, per call (parsed' run.sh --profile   # another path
#
# Other flags go to bench.py (--inputs N, --passes N, --min-ms MS,
# --sizes 15,1015,10015, --no-write, --output FILE). Builds go to
# $CARGO_TARGET_DIR (default: target/ of the repository), the virtualenv
# to $CARGO_TARGET_DIR/python-bench.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python=${PYTHON:-python3}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
venv="$CARGO_TARGET_DIR/python-bench"
wheels="$CARGO_TARGET_DIR/python-bench-wheels"
reqs="$root/crates/gatehouse-python/tests/requirements.txt"

profile=""
args=()
for a in "$@"; do
  case "$a" in
    --profile) profile=1 ;;
    *) args+=("$a") ;;
  esac
done

echo "== the virtualenv, with maturin and the pinned peers (cedarpy, opa-eval, pyarrow, py-spy)"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "maturin>=1.9,<2" -r "$reqs"

echo "== maturin build --release (the gatehouse-py wheel)"
rm -rf "$wheels"
"$venv/bin/maturin" build --release --quiet --locked \
  --manifest-path "$root/crates/gatehouse-python/Cargo.toml" --out "$wheels"
"$venv/bin/pip" install --quiet --no-deps --force-reinstall "$wheels"/gatehouse_py-*.whl

echo "== the Rust baseline (benches/peers/python/rust: the engine alone, same corpus)"
# Its own workspace and lock file; a target dir of its own so the two
# builds never wait on each other's lock.
CARGO_TARGET_DIR="$CARGO_TARGET_DIR/python-bench-rust" \
  cargo build --release --locked --quiet --manifest-path "$here/rust/Cargo.toml"
baseline="$CARGO_TARGET_DIR/python-bench-rust/release/rust-baseline"

cd "$here"
if [ -n "$profile" ]; then
  out="$CARGO_TARGET_DIR/python-bench-profile.txt"
  path="${PROFILE_PATH:-gatehouse \`Policy.evaluate\`}"
  echo "== py-spy: 20 s of $path (dict inputs, native frames), to $out"
  "$venv/bin/py-spy" record --native --format raw --rate 250 --output "$out" -- \
    "$venv/bin/python" bench.py --only "$path" --seconds 20 "${args[@]}"
  "$venv/bin/python" bench.py --summarize "$out"
  exit 0
fi
GATEHOUSE_BENCH_RUN_SH=1 exec "$venv/bin/python" bench.py --rust-baseline "$baseline" "${args[@]}"
