#!/usr/bin/env bash
# The Python package's tests, the way a user gets the package:
#
#   bash scripts/python-test.sh            # build the wheel, install it, pytest
#   bash scripts/python-test.sh -k client  # extra arguments go to pytest
#
# 1. a virtualenv in target/python/venv (made once) with maturin, pytest
#    and the test dependencies pinned in crates/gatehouse-python/tests/requirements.txt
#    (httpx, pyarrow, ray[data], openai-agents, langgraph, cedarpy, opa-eval);
# 2. `maturin build --release` of crates/gatehouse-python into target/wheels:
#    one abi3 wheel for CPython 3.10 and later;
# 3. that wheel installed into a FRESH virtualenv (target/python/fresh, made
#    again on every run with the pinned test dependencies), so nothing of
#    the source tree is importable by accident;
# 4. the gatehouse binary built (the client tests start `gatehouse serve`,
#    the history tests compare with `gatehouse diff` and `replay`);
# 5. pytest on crates/gatehouse-python/tests, in the fresh virtualenv.
# Nothing is skipped: a missing tool is installed, or the step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-python3}
tools="$root/target/python/venv"
fresh="$root/target/python/fresh"
reqs="$root/crates/gatehouse-python/tests/requirements.txt"

if [ ! -x "$tools/bin/maturin" ] || [ "$reqs" -nt "$tools/.installed" ]; then
  echo "== python: the build and test tools into target/python/venv"
  "$python" -m venv "$tools"
  "$tools/bin/pip" install --quiet --upgrade pip
  "$tools/bin/pip" install --quiet "maturin>=1.9,<2"
  "$tools/bin/pip" download --quiet --dest "$root/target/python/wheelhouse" -r "$reqs"
  touch "$tools/.installed"
fi

echo "== python: maturin build --release (the gatehouse-py wheel)"
rm -rf "$root/target/wheels"
"$tools/bin/maturin" build --release --quiet --locked \
  --manifest-path crates/gatehouse-python/Cargo.toml --out "$root/target/wheels"
wheel=$(ls "$root"/target/wheels/gatehouse_py-*.whl)
echo "built $wheel"

echo "== python: a fresh virtualenv with the wheel and the test dependencies"
rm -rf "$fresh"
"$python" -m venv "$fresh"
"$fresh/bin/pip" install --quiet --no-index --find-links "$root/target/python/wheelhouse" -r "$reqs"
"$fresh/bin/pip" install --quiet --no-deps "$wheel"

echo "== python: the gatehouse binary the tests drive"
cargo build --locked --quiet --bin gatehouse
export GATEHOUSE_BIN="${GATEHOUSE_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/gatehouse}"
# The history test writes and replays a million audit records with the CLI:
# a debug build would take most of an hour there.
cargo build --locked --quiet --release --bin gatehouse
export GATEHOUSE_RELEASE_BIN="${GATEHOUSE_RELEASE_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/gatehouse}"

echo "== python: pytest"
cd "$root/crates/gatehouse-python/tests"
"$fresh/bin/python" -m pytest -q -p no:cacheprovider "$@"
