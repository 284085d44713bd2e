#!/usr/bin/env bash
# gatehouse serve beside Cerbos and cedar-agent over HTTP keep-alive, on the
# peers harness's 15-rule matrix and corpus: checks that the three servers
# give the same outcome on every input, then runs a bounded load against each
# (and against request creation, sync=full and sync=normal) and writes one
# table to benches/peers/http-results.md. See benches/peers/http/README.md.
#
#   benches/peers/http/run-http.sh                 # 2 000 inputs, 10 s per server
#   benches/peers/http/run-http.sh --seconds 3     # any flag goes to http-bench run
#
# Installs what it needs under target/ of the repository: Cerbos 0.51 (the
# PDP binary ships in the npm package `cerbos`) and cedar-agent 0.2 (cargo
# install) into target/peers-tools; builds gatehouse and the load generator
# with --release into $CARGO_TARGET_DIR (default target/peers-http). Servers
# listen on 127.0.0.1 only and are stopped on exit. Never part of cargo test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tools="$root/target/peers-tools"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/peers-http}"
mkdir -p "$tools"

cerbos="$tools/node_modules/.bin/cerbos"
if [[ ! -x "$cerbos" ]]; then
  npm install --no-audit --no-fund --prefix "$tools" cerbos@0.51.0 >&2
fi
cedar="$tools/bin/cedar-agent"
if [[ ! -x "$cedar" ]]; then
  # Without --locked, as for the published figures (the crate ships an old
  # Cargo.lock; the resolved versions are what built with this toolchain).
  cargo install cedar-agent --version 0.2.0 --root "$tools" >&2
fi
cargo build --release --locked --manifest-path "$root/Cargo.toml" -p gatehouse-cli --bin gatehouse >&2
cargo build --release --locked --manifest-path "$here/Cargo.toml" >&2
gatehouse="$CARGO_TARGET_DIR/release/gatehouse"
bench="$CARGO_TARGET_DIR/release/http-bench"

work="$(mktemp -d)"
pids=()
cleanup() {
  # Each server by its id (and any child it started), never by name.
  for pid in "${pids[@]}"; do
    pkill -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() { # port name
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "run-http.sh: $2 did not start; its log:" >&2
  cat "$work/$2.log" >&2 || true
  exit 1
}

# gatehouse: one server per store setting, each in its own data dir, with
# no rate limit (the default 200/s per key would measure the limiter).
# Sets $started to "URL,KEY"; not called in $(...), whose subshell would
# lose the pid and leave the server running after the script.
start_gatehouse() { # name sync
  local dir="$work/$1"
  mkdir -p "$dir"
  printf '[store]\nsync = "%s"\n\n[limits]\nrate_per_second = 0\n' "$2" >"$dir/serve.toml"
  GATEHOUSE_LOG=warn "$gatehouse" serve --policy "$root/benches/peers/policies/matrix.gate" \
    --listen 127.0.0.1:0 --data-dir "$dir/data" --config "$dir/serve.toml" \
    >"$dir/stdout" 2>"$work/$1.log" &
  pids+=($!)
  for _ in $(seq 1 300); do
    if grep -q '^development admin token' "$dir/stdout" && grep -q '^gatehouse serve: listening on' "$dir/stdout"; then
      break
    fi
    sleep 0.1
  done
  local url token
  url="$(sed -n 's/^gatehouse serve: listening on //p' "$dir/stdout" | head -1)"
  token="$(sed -n 's/^development admin token (shown once, keep it): //p' "$dir/stdout" | head -1)"
  if [[ -z "$url" || -z "$token" ]]; then
    echo "run-http.sh: gatehouse ($1) did not start:" >&2
    cat "$dir/stdout" "$work/$1.log" >&2
    exit 1
  fi
  # A key with only the scope the run needs, as an agent would hold.
  local scope=decide
  [[ "$1" == create-* ]] && scope=request
  local key
  key="$(curl -sf -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"identity\":\"bench-agent\",\"scopes\":[\"$scope\"],\"roles\":[]}" "$url/v1/admin/keys" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
  started="$url,$key"
}
start_gatehouse decide full
decide="$started"
start_gatehouse create-full full
create_full="$started"
start_gatehouse create-normal normal
create_normal="$started"

# Cerbos: the matrix as a resource policy, disk storage, no telemetry.
mkdir -p "$work/cerbos-policies"
cp "$here/policies/matrix.yaml" "$work/cerbos-policies/"
cerbos_port="$(free_port)"
grpc_port="$(free_port)"
cat >"$work/cerbos.yaml" <<YAML
server:
  httpListenAddr: "127.0.0.1:$cerbos_port"
  grpcListenAddr: "127.0.0.1:$grpc_port"
storage:
  driver: disk
  disk:
    directory: "$work/cerbos-policies"
    watchForChanges: false
telemetry:
  disabled: true
YAML
# The platform binary itself when the package has one (the npm wrapper is
# a node process that would stand between the script and the server).
cerbos_bin="$(find "$tools/node_modules/@cerbos" -maxdepth 2 -type f -name 'cerbos-*' -perm -u+x 2>/dev/null | head -1)"
CERBOS_NO_TELEMETRY=1 "${cerbos_bin:-$cerbos}" server --config="$work/cerbos.yaml" --log-level=error >"$work/cerbos.log" 2>&1 &
pids+=($!)
wait_port "$cerbos_port" cerbos

# cedar-agent: matrix.cedar, one policy per @id (http-bench writes the file).
"$bench" cedar-policies "$work/cedar-policies.json"
cedar_port="$(free_port)"
"$cedar" --addr 127.0.0.1 --port "$cedar_port" --policies "$work/cedar-policies.json" \
  --log-level error >"$work/cedar.log" 2>&1 &
pids+=($!)
wait_port "$cedar_port" cedar
sleep 1 # cedar-agent loads the policy file after it listens

out="$root/benches/peers/http-results.md"
"$bench" run --gatehouse "$decide" --cerbos "http://127.0.0.1:$cerbos_port" \
  --cedar "http://127.0.0.1:$cedar_port" \
  --create-full "$create_full" --create-normal "$create_normal" \
  --output "$work/table.md" "$@"
{
  echo "# gatehouse serve beside Cerbos and cedar-agent, over HTTP"
  echo
  echo "Written by \`benches/peers/http/run-http.sh${*:+ $*}\` on $(date -u +%Y-%m-%d) ($(nproc) cores;"
  echo "Cerbos $("$cerbos" --version 2>/dev/null | head -1), cedar-agent $("$cedar" --version | awk '{print $2}'), gatehouse $("$gatehouse" --version | awk '{print $2}'))."
  echo "See benches/peers/http/README.md for what each row measures."
  echo
  cat "$work/table.md"
} >"$out"
echo "wrote $out" >&2
